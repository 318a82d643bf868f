/*
 * monitor/link: requests to the monitor, matched to their answers by number.
 * Losing the monitor answers every pending request with NULL, once.
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log/log.h"
#include "monitor/link.h"
#include "util/attributes.h"

struct monitor_request {
	struct monitor_request *previous;
	struct monitor_request *next;
	struct monitor_link *link;
	uint32_t id;
	monitor_answer_fn answer;
	void *arg;
};

struct monitor_link {
	struct bufferevent *channel;
	struct monitor_link_events events;
	/* Oldest first: answers come back in order, so the search is short. */
	struct monitor_request *pending;
	struct monitor_request *pending_last;
	uint32_t next_id;
	int lost;
};

static void
request_unlink(struct monitor_request *request)
{
	if (request->previous != NULL)
		request->previous->next = request->next;
	else
		request->link->pending = request->next;
	if (request->next != NULL)
		request->next->previous = request->previous;
	else
		request->link->pending_last = request->previous;
}

static void
link_lost(struct monitor_link *link, const char *why)
{
	if (link->lost)
		return;
	link->lost = 1;
	log_error("the monitor is gone (%s)", why);
	bufferevent_disable(link->channel, EV_READ | EV_WRITE);
	while (link->pending != NULL) {
		struct monitor_request *request = link->pending;

		request_unlink(request);
		request->answer(request->arg, NULL);
		free(request);
	}
	if (link->events.lost != NULL)
		link->events.lost(link->events.owner);
}

static void
deliver(struct monitor_link *link, const struct message *message)
{
	struct monitor_request *request;

	if (message->header.type == MESSAGE_DRAIN) {
		if (link->events.drain != NULL)
			link->events.drain(link->events.owner, message->body.drain.reason);
		return;
	}
	for (request = link->pending; request != NULL; request = request->next)
		if (request->id == message->header.id)
			break;
	/* The answer to a cancelled request. */
	if (request == NULL)
		return;
	request_unlink(request);
	request->answer(request->arg, message);
	free(request);
}

static void
link_readable(struct bufferevent *channel, void *arg)
{
	struct monitor_link *link = arg;
	struct evbuffer *input = bufferevent_get_input(channel);
	struct message message;
	int status;

	while (!link->lost && (status = message_take(input, &message)) != 0) {
		if (status < 0) {
			link_lost(link, "malformed message");
			return;
		}
		deliver(link, &message);
	}
}

static void
link_event(struct bufferevent *channel UNUSED, short what, void *arg)
{
	struct monitor_link *link = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		link_lost(link, (what & BEV_EVENT_EOF) ? "end of its socket" :
		    "error on its socket");
}

struct monitor_link *
monitor_link_new(struct event_base *base, int fd, const struct monitor_link_events *events)
{
	struct monitor_link *link = calloc(1, sizeof(*link));

	if (link == NULL)
		return NULL;
	link->channel = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (link->channel == NULL) {
		free(link);
		return NULL;
	}
	link->events = *events;
	link->next_id = 1;
	bufferevent_setcb(link->channel, link_readable, NULL, link_event, link);
	/* Writing is enabled from the start: a write event waits only when output does. */
	bufferevent_enable(link->channel, EV_READ);
	return link;
}

void
monitor_link_free(struct monitor_link *link)
{
	if (link == NULL)
		return;
	while (link->pending != NULL) {
		struct monitor_request *request = link->pending;

		request_unlink(request);
		free(request);
	}
	bufferevent_free(link->channel);
	free(link);
}

static struct monitor_request *
request_new(struct monitor_link *link, monitor_answer_fn answer, void *arg)
{
	struct monitor_request *request;

	if (link->lost) {
		answer(arg, NULL);
		return NULL;
	}
	request = calloc(1, sizeof(*request));
	if (request == NULL) {
		answer(arg, NULL);
		return NULL;
	}
	request->link = link;
	request->id = link->next_id++;
	request->answer = answer;
	request->arg = arg;
	return request;
}

static void
request_wait(struct monitor_link *link, struct monitor_request *request)
{
	request->previous = link->pending_last;
	if (request->previous != NULL)
		request->previous->next = request;
	else
		link->pending = request;
	link->pending_last = request;
}

struct monitor_request *
monitor_link_request(struct monitor_link *link, uint32_t type, const void *body,
    monitor_answer_fn answer, void *arg)
{
	struct monitor_request *request = request_new(link, answer, arg);

	if (request == NULL)
		return NULL;
	if (message_send(link->channel, type, request->id, body) != 0) {
		free(request);
		answer(arg, NULL);
		return NULL;
	}
	request_wait(link, request);
	return request;
}

struct monitor_request *
monitor_link_expect(struct monitor_link *link, uint32_t *id, monitor_answer_fn answer, void *arg)
{
	struct monitor_request *request = request_new(link, answer, arg);

	if (request == NULL)
		return NULL;
	*id = request->id;
	request_wait(link, request);
	return request;
}

void
monitor_request_cancel(struct monitor_request *request)
{
	if (request == NULL)
		return;
	request_unlink(request);
	free(request);
}

int
monitor_link_tell(struct monitor_link *link, uint32_t type, const void *body)
{
	if (link->lost)
		return -EPIPE;
	return message_send(link->channel, type, 0, body);
}

int
monitor_link_fd(const struct monitor_link *link)
{
	return (int)bufferevent_getfd(link->channel);
}
