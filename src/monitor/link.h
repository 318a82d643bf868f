/*
 * monitor/link: a worker's side of its socketpair to the monitor. Requests
 * are asynchronous: the answer comes back on the worker's loop, and the
 * worker never waits for the monitor.
 */
#ifndef FTPD_MONITOR_LINK_H
#define FTPD_MONITOR_LINK_H

#include <event2/event.h>

#include "monitor/message.h"

struct monitor_link;
struct monitor_request;

/* What the monitor tells a worker unasked. */
struct monitor_link_events {
	void *owner;
	/* MESSAGE_DRAIN: stop accepting; reason is enum message_drain_reason. */
	void (*drain)(void *owner, unsigned reason);
	/* The monitor is gone or spoke nonsense: no answer will come any more. */
	void (*lost)(void *owner);
};

/*
 * answer is the monitor's answer to the request, or NULL when the link was
 * lost first (every pending request is answered NULL then).
 */
typedef void (*monitor_answer_fn)(void *arg, const struct message *answer);

/* Takes over fd (one end of the socketpair). NULL when out of memory. */
struct monitor_link *monitor_link_new(struct event_base *base, int fd,
    const struct monitor_link_events *events);

/* Pending requests are dropped without an answer. */
void monitor_link_free(struct monitor_link *link);

/*
 * Sends a request of type (body: its struct) and calls answer once with
 * the monitor's reply. Returns the request, or NULL when answer already ran
 * with NULL (the link is lost, or out of memory).
 */
struct monitor_request *monitor_link_request(struct monitor_link *link, uint32_t type,
    const void *body, monitor_answer_fn answer, void *arg);

/*
 * Waits for an answer to a request the caller sends some other way (the
 * hand-off socket, with a descriptor): *id is the number to put in its
 * header. NULL when answer already ran with NULL.
 */
struct monitor_request *monitor_link_expect(struct monitor_link *link, uint32_t *id,
    monitor_answer_fn answer, void *arg);

/* The caller went away: answer will not run. */
void monitor_request_cancel(struct monitor_request *request);

/* Sends a message that has no answer. 0, or -EPIPE when the link is lost, -ENOMEM. */
int monitor_link_tell(struct monitor_link *link, uint32_t type, const void *body);

/* The descriptor of the socketpair's end, to keep it open across a fork. */
int monitor_link_fd(const struct monitor_link *link);

#endif
