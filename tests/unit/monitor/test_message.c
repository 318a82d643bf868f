/*
 * test_message: the monitor's wire format — every message round-trips, and
 * whatever a worker could send that is not a valid message is refused.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "monitor/login_failures.h"
#include "monitor/message.h"
#include "suites.h"

static struct evbuffer *buffer;

static void
setup(void)
{
	buffer = evbuffer_new();
	ck_assert_ptr_nonnull(buffer);
}

static void
teardown(void)
{
	evbuffer_free(buffer);
}

static void
add_header(uint32_t type, uint32_t length, uint32_t id)
{
	struct message_header header = { type, length, id };

	ck_assert_int_eq(evbuffer_add(buffer, &header, sizeof(header)), 0);
}

START_TEST(test_authenticate_round_trip)
{
	struct message_authenticate body;
	struct message message;

	memset(&body, 0, sizeof(body));
	strcpy(body.user, "alice");
	strcpy(body.password, "s3cret");
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATE, 77, &body), 0);
	ck_assert_uint_eq(evbuffer_get_length(buffer),
	    sizeof(struct message_header) + sizeof(body));
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(message.header.type, MESSAGE_AUTHENTICATE);
	ck_assert_uint_eq(message.header.id, 77);
	ck_assert_str_eq(message.body.authenticate.user, "alice");
	ck_assert_str_eq(message.body.authenticate.password, "s3cret");
	ck_assert_uint_eq(evbuffer_get_length(buffer), 0);
	ck_assert_int_eq(message_take(buffer, &message), 0);
}
END_TEST

START_TEST(test_authenticated_round_trip)
{
	struct message_authenticated body;
	struct message message;

	memset(&body, 0, sizeof(body));
	strcpy(body.name, "bob");
	strcpy(body.home, "/home/bob");
	body.has_account = 1;
	body.uid = 1001;
	body.gid = 1002;
	body.group_count = 2;
	body.groups[0] = 1002;
	body.groups[1] = 27;
	strcpy(body.shell, "anon");
	body.quota_bytes = (uint64_t)5 << 40;
	body.max_rate_up = USER_LIMIT_UNSET;
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATED, 5, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_int_eq(message.body.authenticated.error, 0);
	ck_assert_str_eq(message.body.authenticated.home, "/home/bob");
	ck_assert_uint_eq(message.body.authenticated.uid, 1001);
	ck_assert_uint_eq(message.body.authenticated.groups[1], 27);
	ck_assert_str_eq(message.body.authenticated.shell, "anon");
	ck_assert_uint_eq(message.body.authenticated.quota_bytes, (uint64_t)5 << 40);
	ck_assert_uint_eq(message.body.authenticated.max_rate_up, USER_LIMIT_UNSET);
}
END_TEST

START_TEST(test_hand_off_carries_the_balancer_front)
{
	static struct message_hand_off body;	/* too big for the stack of a test */
	struct sockaddr_in *peer = (struct sockaddr_in *)&body.peer;
	struct sockaddr_in *front = (struct sockaddr_in *)&body.front;
	struct message message;

	memset(&body, 0, sizeof(body));
	peer->sin_family = AF_INET;
	body.peer_length = sizeof(*peer);
	ck_assert_int_eq(message_put(buffer, MESSAGE_HAND_OFF, 3, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(message.body.hand_off.front_length, 0);

	front->sin_family = AF_INET;
	front->sin_addr.s_addr = htonl(0x7f000009);
	body.front_length = sizeof(*front);
	ck_assert_int_eq(message_put(buffer, MESSAGE_HAND_OFF, 4, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(((struct sockaddr_in *)&message.body.hand_off.front)->sin_addr.s_addr,
	    htonl(0x7f000009));

	/* A length that is not its family's. */
	body.front_length = sizeof(struct sockaddr_in6);
	ck_assert_int_eq(message_put(buffer, MESSAGE_HAND_OFF, 5, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
}
END_TEST

START_TEST(test_messages_come_one_at_a_time)
{
	struct message_admit admit;
	struct message_admitted admitted = { MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS, 0 };
	struct message message;

	memset(&admit, 0, sizeof(admit));
	admit.address.length = 4;
	ck_assert_int_eq(message_put(buffer, MESSAGE_ADMIT, 1, &admit), 0);
	ck_assert_int_eq(message_put(buffer, MESSAGE_ADMITTED, 2, &admitted), 0);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(message.header.type, MESSAGE_ADMIT);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(message.header.type, MESSAGE_ADMITTED);
	ck_assert_uint_eq(message.body.admitted.verdict, MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS);
}
END_TEST

START_TEST(test_partial_message_waits)
{
	struct message_ready ready = { 3 };
	struct message message;
	unsigned char bytes[64];
	size_t total, i;

	ck_assert_int_eq(message_put(buffer, MESSAGE_READY, 9, &ready), 0);
	total = evbuffer_get_length(buffer);
	ck_assert_uint_le(total, sizeof(bytes));
	ck_assert_int_eq(evbuffer_remove(buffer, bytes, total), (int)total);
	/* Byte by byte: nothing is taken, and nothing consumed, until the last one. */
	for (i = 0; i < total - 1; i++) {
		ck_assert_int_eq(evbuffer_add(buffer, &bytes[i], 1), 0);
		ck_assert_int_eq(message_take(buffer, &message), 0);
		ck_assert_uint_eq(evbuffer_get_length(buffer), i + 1);
	}
	ck_assert_int_eq(evbuffer_add(buffer, &bytes[total - 1], 1), 0);
	ck_assert_int_eq(message_take(buffer, &message), 1);
	ck_assert_uint_eq(message.body.ready.listeners, 3);
}
END_TEST

START_TEST(test_unknown_type_refused)
{
	struct message message;
	static const uint32_t types[] = { 0, MESSAGE_TYPE_END, 0xffffffffu };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		evbuffer_drain(buffer, evbuffer_get_length(buffer));
		add_header(types[i], 4, 1);
		ck_assert_int_eq(message_take(buffer, &message), -EPROTO);
		/* Nothing consumed: the caller decides (the monitor kills the worker). */
		ck_assert_uint_eq(evbuffer_get_length(buffer), sizeof(struct message_header));
	}
	ck_assert_uint_eq(message_body_size(0), 0);
	ck_assert_int_eq(message_put(buffer, MESSAGE_TYPE_END, 1, &message), -EINVAL);
}
END_TEST

START_TEST(test_wrong_length_refused_before_the_body)
{
	struct message message;

	/* An oversized claim is refused from the header alone, without waiting for 4 GiB. */
	add_header(MESSAGE_AUTHENTICATE, 0xfffffff0u, 1);
	ck_assert_int_eq(message_take(buffer, &message), -EMSGSIZE);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	add_header(MESSAGE_ADMIT, sizeof(struct message_admit) - 1, 1);
	ck_assert_int_eq(message_take(buffer, &message), -EMSGSIZE);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	add_header(MESSAGE_ADMIT, 0, 1);
	ck_assert_int_eq(message_take(buffer, &message), -EMSGSIZE);
}
END_TEST

START_TEST(test_unterminated_strings_refused)
{
	struct message_authenticate body;
	struct message message;

	memset(&body, 'A', sizeof(body));
	body.password[0] = '\0';
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATE, 1, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	memset(&body, 0, sizeof(body));
	memset(body.password, 'p', sizeof(body.password));
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATE, 1, &body), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
}
END_TEST

START_TEST(test_fields_out_of_range_refused)
{
	struct message_authenticated authenticated;
	struct message_admit admit;
	struct message_admitted admitted = { MESSAGE_VERDICT_END, 0 };
	struct message_drain drain = { MESSAGE_DRAIN_REASON_END };
	struct message message;

	memset(&authenticated, 0, sizeof(authenticated));
	authenticated.group_count = CHECKER_GROUPS_MAX + 1;
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATED, 1, &authenticated), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	authenticated.group_count = 0;
	authenticated.error = 13;	/* errors are negative */
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATED, 1, &authenticated), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	/* A shell that would be a path: the realm never loads modules on a store's word. */
	authenticated.error = 0;
	strcpy(authenticated.shell, "../evil");
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATED, 1, &authenticated), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	memset(authenticated.shell, 'x', sizeof(authenticated.shell));
	ck_assert_int_eq(message_put(buffer, MESSAGE_AUTHENTICATED, 1, &authenticated), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	memset(authenticated.shell, 0, sizeof(authenticated.shell));
	{
		struct message_failure_counted counted = { LOGIN_FAILURES_MAX_DELAY_MS, 0 };

		ck_assert_int_eq(message_put(buffer, MESSAGE_FAILURE_COUNTED, 1, &counted), 0);
		ck_assert_int_eq(message_take(buffer, &message), 1);
		counted.delay_ms++;	/* longer than any delay the monitor gives */
		ck_assert_int_eq(message_put(buffer, MESSAGE_FAILURE_COUNTED, 1, &counted), 0);
		ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
		evbuffer_drain(buffer, evbuffer_get_length(buffer));
	}
	memset(&admit, 0, sizeof(admit));
	admit.address.length = 5;
	ck_assert_int_eq(message_put(buffer, MESSAGE_ADMIT, 1, &admit), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	ck_assert_int_eq(message_put(buffer, MESSAGE_ADMITTED, 1, &admitted), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
	evbuffer_drain(buffer, evbuffer_get_length(buffer));
	ck_assert_int_eq(message_put(buffer, MESSAGE_DRAIN, 1, &drain), 0);
	ck_assert_int_eq(message_take(buffer, &message), -EINVAL);
}
END_TEST

START_TEST(test_address_of_peers)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 }, mapped = { .sin6_family = AF_INET6 };
	struct sockaddr_un local = { .sun_family = AF_UNIX };
	struct message_address address;

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7", &mapped.sin6_addr), 1);
	message_address_from((struct sockaddr *)&v4, &address);
	ck_assert_uint_eq(address.length, 4);
	ck_assert_mem_eq(address.bytes, &v4.sin_addr, 4);
	/* An IPv4 client counts the same whichever socket family accepted it. */
	message_address_from((struct sockaddr *)&mapped, &address);
	ck_assert_uint_eq(address.length, 4);
	ck_assert_mem_eq(address.bytes, &v4.sin_addr, 4);
	message_address_from((struct sockaddr *)&v6, &address);
	ck_assert_uint_eq(address.length, 16);
	ck_assert_mem_eq(address.bytes, &v6.sin6_addr, 16);
	message_address_from((struct sockaddr *)&local, &address);
	ck_assert_uint_eq(address.length, 0);
}
END_TEST

Suite *
message_suite(void)
{
	Suite *suite = suite_create("message");
	TCase *tcase = tcase_create("codec");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_authenticate_round_trip);
	tcase_add_test(tcase, test_authenticated_round_trip);
	tcase_add_test(tcase, test_hand_off_carries_the_balancer_front);
	tcase_add_test(tcase, test_messages_come_one_at_a_time);
	tcase_add_test(tcase, test_partial_message_waits);
	tcase_add_test(tcase, test_unknown_type_refused);
	tcase_add_test(tcase, test_wrong_length_refused_before_the_body);
	tcase_add_test(tcase, test_unterminated_strings_refused);
	tcase_add_test(tcase, test_fields_out_of_range_refused);
	tcase_add_test(tcase, test_address_of_peers);
	suite_add_tcase(suite, tcase);
	return suite;
}
