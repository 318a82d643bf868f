/*
 * fuzz/message: what a worker sends the monitor, on arbitrary bytes. Workers
 * run unprivileged and serve clients; the monitor runs as root and believes
 * only what its decoder (src/monitor/message.c) lets through, and only about
 * sessions the worker was given. This target runs that decoder and the
 * session tables its requests change (src/monitor/limits.c), with the checks
 * the monitor's request handlers make (src/monitor/requests.c), and the
 * failure table of the bans (src/monitor/login_failures.c).
 *
 * Beyond not crashing: a message taken is whole (header and the body its
 * type has), its strings end inside their arrays and its addresses are of a
 * valid length, and it encodes back to the bytes it came from; a decoding
 * error stops the stream as the monitor cuts the worker off. When the worker
 * dies, taking away everything it was counted for leaves the monitor's table
 * empty, whatever it sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config/config.h"
#include "monitor/limits.h"
#include "monitor/login_failures.h"
#include "monitor/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "message: %s\n", what);
	abort();
}

static void
check_terminated(const char *text, size_t size, const char *what)
{
	if (memchr(text, '\0', size) == NULL)
		fail(what);
}

static void
check_address(const struct message_address *address)
{
	char text[64];

	if (address->length != 0 && address->length != 4 && address->length != 16)
		fail("an address of a length no family has");
	message_address_text(address, text, sizeof(text));
	check_terminated(text, sizeof(text), "an address text without its end");
}

/* The fields the decoder promises, per type. */
static void
check_fields(const struct message *message)
{
	const union message_body *body = &message->body;

	switch (message->header.type) {
	case MESSAGE_AUTHENTICATE:
		check_terminated(body->authenticate.user, sizeof(body->authenticate.user),
		    "a user name without its end");
		check_terminated(body->authenticate.password, sizeof(body->authenticate.password),
		    "a password without its end");
		check_address(&body->authenticate.address);
		break;
	case MESSAGE_AUTHENTICATED:
		check_terminated(body->authenticated.name, sizeof(body->authenticated.name),
		    "a name without its end");
		check_terminated(body->authenticated.home, sizeof(body->authenticated.home),
		    "a home without its end");
		check_terminated(body->authenticated.shell, sizeof(body->authenticated.shell),
		    "a shell without its end");
		if (body->authenticated.shell[0] != '\0' &&
		    !user_shell_name_is_valid(body->authenticated.shell))
			fail("a shell name that is no plain name");
		if (body->authenticated.group_count > CHECKER_GROUPS_MAX)
			fail("more groups than an account may have");
		break;
	case MESSAGE_ADMIT:
		check_address(&body->admit.address);
		break;
	case MESSAGE_SESSION_ENDED:
	case MESSAGE_LOGOUT:
		check_address(&body->session_ended.address);
		check_terminated(body->session_ended.user, sizeof(body->session_ended.user),
		    "an ended session's user without its end");
		break;
	case MESSAGE_LOGIN:
		check_address(&body->login.address);
		check_terminated(body->login.user, sizeof(body->login.user),
		    "a login's user without its end");
		break;
	case MESSAGE_LOGIN_FAILED:
		check_address(&body->login_failed.address);
		break;
	case MESSAGE_HAND_OFF:
		if (body->hand_off.input_length > sizeof(body->hand_off.input))
			fail("more pending input than a hand-off holds");
		break;
	default:
		break;
	}
}

/* What requests.c does with each request, on the tables alone. */
static void
apply(const struct message *message, struct limits *monitor, struct limits *worker,
    struct login_failures *failures, const struct config *config)
{
	static const struct config no_limits;
	const union message_body *body = &message->body;
	const struct login_failure_policy policy = { 3, 60, 0 };
	const char *user;
	unsigned banned_for;

	switch (message->header.type) {
	case MESSAGE_ADMIT:
		if (limits_admit(monitor, &body->admit.address, config) == MESSAGE_ADMIT_OK)
			limits_admit(worker, &body->admit.address, &no_limits);
		break;
	case MESSAGE_LOGIN:
		user = body->login.anonymous ? NULL : body->login.user;
		if (limits_not_logged_in_from(worker, &body->login.address) == 0)
			break;	/* the monitor cuts the worker off */
		if (limits_login(monitor, &body->login.address, user, config) == MESSAGE_LOGIN_OK)
			limits_login(worker, &body->login.address, user, &no_limits);
		break;
	case MESSAGE_SESSION_ENDED:
		user = body->session_ended.anonymous ? NULL : body->session_ended.user;
		if (limits_remove(worker, &body->session_ended.address,
		    (int)body->session_ended.logged_in, user) == 0)
			limits_remove(monitor, &body->session_ended.address,
			    (int)body->session_ended.logged_in, user);
		break;
	case MESSAGE_LOGOUT:
		user = body->session_ended.anonymous ? NULL : body->session_ended.user;
		if (body->session_ended.logged_in &&
		    limits_logout(worker, &body->session_ended.address, user) == 0)
			limits_logout(monitor, &body->session_ended.address, user);
		break;
	case MESSAGE_AUTHENTICATE:
		login_failures_record(failures, &body->authenticate.address, 1000, &policy,
		    &banned_for);
		break;
	case MESSAGE_LOGIN_FAILED:
		if (limits_sessions_from(worker, &body->login_failed.address) != 0)
			login_failures_record(failures, &body->login_failed.address, 1000, &policy,
			    &banned_for);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *input = evbuffer_new(), *again = evbuffer_new();
	struct login_failures *failures = login_failures_new(64);
	struct limits monitor, worker;
	struct message message;
	struct config config;
	unsigned char raw[sizeof(struct message_header) + sizeof(union message_body)];
	size_t whole;
	int status;

	if (input == NULL || again == NULL || failures == NULL || config_init(&config) != 0)
		fail("out of memory");
	config.max_clients = 8;
	config.max_clients_per_ip = 3;
	config.max_prelogin_per_ip = 2;
	config.max_sessions_per_user = 2;
	limits_init(&monitor);
	limits_init(&worker);
	evbuffer_add(input, data, size);
	while (evbuffer_get_length(input) > 0) {
		size_t before = evbuffer_get_length(input);

		/* The bytes a message would be taken from, to compare its encoding with. */
		if (evbuffer_copyout(input, raw, sizeof(raw)) < 0)
			fail("evbuffer_copyout");
		status = message_take(input, &message);
		if (status <= 0)
			break;	/* wants more, or the monitor would cut the worker off */
		whole = sizeof(struct message_header) + message.header.length;
		if (message.header.length != message_body_size(message.header.type) ||
		    before - evbuffer_get_length(input) != whole)
			fail("a message taken is not exactly its header and body");
		check_fields(&message);
		if (message_put(again, message.header.type, message.header.id, &message.body) != 0)
			fail("a message taken does not encode");
		if (evbuffer_get_length(again) != whole ||
		    memcmp(evbuffer_pullup(again, -1), raw, whole) != 0)
			fail("a message encodes to other bytes than it came from");
		evbuffer_drain(again, whole);
		apply(&message, &monitor, &worker, failures, &config);
	}
	/* The worker dies: what it was counted for goes with it, and nothing else remains. */
	limits_subtract(&monitor, &worker);
	if (monitor.total != 0)
		fail("sessions still counted after the worker that had them died");
	limits_clear(&monitor);
	limits_clear(&worker);
	login_failures_free(failures);
	config_free(&config);
	evbuffer_free(input);
	evbuffer_free(again);
	return 0;
}
