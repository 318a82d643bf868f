/*
 * monitor/message: framing and checking of the monitor's requests and answers.
 * Nothing a worker sends is trusted: every length, string and count is checked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "monitor/login_failures.h"
#include "monitor/message.h"

size_t
message_body_size(uint32_t type)
{
	switch (type) {
	case MESSAGE_AUTHENTICATE:
		return sizeof(struct message_authenticate);
	case MESSAGE_AUTHENTICATED:
		return sizeof(struct message_authenticated);
	case MESSAGE_ADMIT:
		return sizeof(struct message_admit);
	case MESSAGE_ADMITTED:
		return sizeof(struct message_admitted);
	case MESSAGE_SESSION_ENDED:
	case MESSAGE_LOGOUT:
		return sizeof(struct message_session_ended);
	case MESSAGE_READY:
		return sizeof(struct message_ready);
	case MESSAGE_DRAIN:
		return sizeof(struct message_drain);
	case MESSAGE_HAND_OFF:
		return sizeof(struct message_hand_off);
	case MESSAGE_HANDED_OFF:
		return sizeof(struct message_handed_off);
	case MESSAGE_LOGIN:
		return sizeof(struct message_login);
	case MESSAGE_LOGGED_IN:
		return sizeof(struct message_logged_in);
	case MESSAGE_LOGIN_FAILED:
		return sizeof(struct message_login_failed);
	case MESSAGE_FAILURE_COUNTED:
		return sizeof(struct message_failure_counted);
	default:
		return 0;
	}
}

int
message_put(struct evbuffer *output, uint32_t type, uint32_t id, const void *body)
{
	struct message_header header;
	size_t size = message_body_size(type);

	if (size == 0)
		return -EINVAL;
	header.type = type;
	header.length = (uint32_t)size;
	header.id = id;
	/* One add of both parts would need a copy; two adds are one write either way. */
	if (evbuffer_expand(output, sizeof(header) + size) != 0 ||
	    evbuffer_add(output, &header, sizeof(header)) != 0 ||
	    evbuffer_add(output, body, size) != 0)
		return -ENOMEM;
	return 0;
}

int
message_send(struct bufferevent *channel, uint32_t type, uint32_t id, const void *body)
{
	struct evbuffer *output = bufferevent_get_output(channel);
	struct message_header header;
	size_t size = message_body_size(type), total = sizeof(header) + size;
	struct iovec parts[2] = { { &header, sizeof(header) }, { (void *)body, size } };
	struct msghdr message = { .msg_iov = parts, .msg_iovlen = 2 };
	ssize_t sent;

	if (size == 0)
		return -EINVAL;
	if (evbuffer_get_length(output) > 0)
		return message_put(output, type, id, body);
	header.type = type;
	header.length = (uint32_t)size;
	header.id = id;
	sent = sendmsg((int)bufferevent_getfd(channel), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		sent = 0;	/* full, or broken: the bufferevent finds out which */
	if ((size_t)sent == total)
		return 0;
	if ((size_t)sent < sizeof(header) &&
	    evbuffer_add(output, (const char *)&header + sent, sizeof(header) - (size_t)sent) != 0)
		return -ENOMEM;
	sent = (size_t)sent < sizeof(header) ? 0 : sent - (ssize_t)sizeof(header);
	if (evbuffer_add(output, (const char *)body + sent, size - (size_t)sent) != 0)
		return -ENOMEM;
	return 0;
}

static int
string_is_terminated(const char *text, size_t size)
{
	return memchr(text, '\0', size) != NULL;
}

static int
address_is_valid(const struct message_address *address)
{
	return address->length == 0 || address->length == 4 || address->length == 16;
}

static int
socket_address_is_valid(const struct sockaddr_storage *address, uint32_t length)
{
	if (address->ss_family == AF_INET)
		return length == sizeof(struct sockaddr_in);
	if (address->ss_family == AF_INET6)
		return length == sizeof(struct sockaddr_in6);
	/* A control connection on a socketpair or pipe (inetd tests). */
	return address->ss_family == AF_UNIX && length <= sizeof(*address);
}

static int
hand_off_is_valid(const struct message_hand_off *hand_off)
{
	return socket_address_is_valid(&hand_off->peer, hand_off->peer_length) &&
	    (hand_off->local_length == 0 ||
	    socket_address_is_valid(&hand_off->local, hand_off->local_length)) &&
	    (hand_off->front_length == 0 ||
	    socket_address_is_valid(&hand_off->front, hand_off->front_length)) &&
	    (hand_off->flags & ~(uint32_t)MESSAGE_SESSION_FLAGS_ALL) == 0 &&
	    hand_off->input_length <= sizeof(hand_off->input);
}

int
message_validate(const struct message *message)
{
	const union message_body *body = &message->body;

	switch (message->header.type) {
	case MESSAGE_AUTHENTICATE:
		if (!string_is_terminated(body->authenticate.user, sizeof(body->authenticate.user)) ||
		    !string_is_terminated(body->authenticate.password,
		    sizeof(body->authenticate.password)) ||
		    !address_is_valid(&body->authenticate.address))
			return -EINVAL;
		return 0;
	case MESSAGE_AUTHENTICATED:
		if (!string_is_terminated(body->authenticated.name,
		    sizeof(body->authenticated.name)) ||
		    !string_is_terminated(body->authenticated.home,
		    sizeof(body->authenticated.home)) ||
		    !string_is_terminated(body->authenticated.shell,
		    sizeof(body->authenticated.shell)) ||
		    (body->authenticated.shell[0] != '\0' &&
		    !user_shell_name_is_valid(body->authenticated.shell)) ||
		    body->authenticated.has_account > 1 || body->authenticated.read_only > 1 ||
		    body->authenticated.group_count > CHECKER_GROUPS_MAX ||
		    body->authenticated.error > 0)
			return -EINVAL;
		return 0;
	case MESSAGE_ADMIT:
		return address_is_valid(&body->admit.address) ? 0 : -EINVAL;
	case MESSAGE_SESSION_ENDED:
	case MESSAGE_LOGOUT:
		return address_is_valid(&body->session_ended.address) &&
		    body->session_ended.logged_in <= 1 && body->session_ended.anonymous <= 1 &&
		    string_is_terminated(body->session_ended.user,
		    sizeof(body->session_ended.user)) ? 0 : -EINVAL;
	case MESSAGE_ADMITTED:
		return body->admitted.verdict < MESSAGE_VERDICT_END ? 0 : -EINVAL;
	case MESSAGE_LOGIN:
		return address_is_valid(&body->login.address) && body->login.anonymous <= 1 &&
		    string_is_terminated(body->login.user, sizeof(body->login.user)) ? 0 : -EINVAL;
	case MESSAGE_LOGGED_IN:
		return body->logged_in.verdict < MESSAGE_LOGIN_VERDICT_END ? 0 : -EINVAL;
	case MESSAGE_LOGIN_FAILED:
		return address_is_valid(&body->login_failed.address) ? 0 : -EINVAL;
	case MESSAGE_FAILURE_COUNTED:
		return body->failure_counted.delay_ms <= LOGIN_FAILURES_MAX_DELAY_MS &&
		    body->failure_counted.banned_for <= MESSAGE_BAN_SECONDS_MAX ? 0 : -EINVAL;
	case MESSAGE_READY:
		return 0;
	case MESSAGE_DRAIN:
		return body->drain.reason < MESSAGE_DRAIN_REASON_END ? 0 : -EINVAL;
	case MESSAGE_HAND_OFF:
		return hand_off_is_valid(&body->hand_off) ? 0 : -EINVAL;
	case MESSAGE_HANDED_OFF:
		return body->handed_off.error <= 0 && body->handed_off.pid >= 0 ? 0 : -EINVAL;
	default:
		return -EPROTO;
	}
}

int
message_take(struct evbuffer *input, struct message *out)
{
	struct message_header header;
	struct evbuffer_ptr body_start;
	size_t size;
	int error;

	if (evbuffer_get_length(input) < sizeof(header))
		return 0;
	evbuffer_copyout(input, &header, sizeof(header));
	size = message_body_size(header.type);
	if (size == 0)
		return -EPROTO;
	if (header.length != size)
		return -EMSGSIZE;
	if (evbuffer_get_length(input) < sizeof(header) + size)
		return 0;
	memset(out, 0, sizeof(*out));
	out->header = header;
	evbuffer_ptr_set(input, &body_start, sizeof(header), EVBUFFER_PTR_SET);
	evbuffer_copyout_from(input, &body_start, &out->body, size);
	error = message_validate(out);
	if (error != 0)
		return error;
	evbuffer_drain(input, sizeof(header) + size);
	return 1;
}

void
message_address_from(const struct sockaddr *peer, struct message_address *out)
{
	memset(out, 0, sizeof(*out));
	if (peer->sa_family == AF_INET) {
		memcpy(out->bytes, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		out->length = 4;
	} else if (peer->sa_family == AF_INET6) {
		const struct in6_addr *address = &((const struct sockaddr_in6 *)peer)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(address)) {
			memcpy(out->bytes, &address->s6_addr[12], 4);
			out->length = 4;
		} else {
			memcpy(out->bytes, address, 16);
			out->length = 16;
		}
	}
}

void
message_address_text(const struct message_address *address, char *text, size_t size)
{
	if (size == 0)
		return;
	if (address->length == 4 || address->length == 16) {
		if (inet_ntop(address->length == 4 ? AF_INET : AF_INET6, address->bytes, text,
		    (socklen_t)size) != NULL)
			return;
	}
	snprintf(text, size, "local");
}
