/*
 * test_link: a worker's requests to the monitor over a real socketpair, with
 * the test playing the monitor — answers matched by number, cancellation,
 * a monitor that goes away or speaks nonsense, and the password checker
 * that asks it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "monitor/link.h"
#include "monitor/message.h"
#include "portal/checkers/checkers.h"
#include "suites.h"

#define MAX_ANSWERS 8

static struct event_base *base;
static struct monitor_link *link_under_test;
static int monitor_end = -1;	/* the test's end: it plays the monitor */
static struct evbuffer *monitor_input;	/* what the monitor read and did not take yet */

static struct {
	int calls;
	int got_null;
	struct message message;
} answers[MAX_ANSWERS];
static int lost_calls;
static int drain_calls;
static unsigned drain_reason;

static void
on_drain(void *owner, unsigned reason)
{
	ck_assert_ptr_eq(owner, &lost_calls);
	drain_calls++;
	drain_reason = reason;
}

static void
on_lost(void *owner)
{
	ck_assert_ptr_eq(owner, &lost_calls);
	lost_calls++;
}

static void
setup(void)
{
	struct monitor_link_events events = { &lost_calls, on_drain, on_lost };
	int pair[2];

	memset(answers, 0, sizeof(answers));
	lost_calls = drain_calls = 0;
	/* As in ftpd: writing to a monitor that is gone is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	monitor_input = evbuffer_new();
	ck_assert_ptr_nonnull(monitor_input);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	link_under_test = monitor_link_new(base, pair[0], &events);
	ck_assert_ptr_nonnull(link_under_test);
	monitor_end = pair[1];
}

static void
teardown(void)
{
	monitor_link_free(link_under_test);
	evbuffer_free(monitor_input);
	if (monitor_end >= 0)
		close(monitor_end);
	monitor_end = -1;
	event_base_free(base);
}

static void
record_answer(void *arg, const struct message *answer)
{
	int slot = (int)(intptr_t)arg;

	answers[slot].calls++;
	if (answer == NULL)
		answers[slot].got_null = 1;
	else
		answers[slot].message = *answer;
}

/* Runs the worker's loop until nothing is left to do right now. */
static void
spin(void)
{
	int i;

	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* The monitor's side: reads the next request the worker sent. */
static void
monitor_reads(struct message *request)
{
	int status;

	spin();
	while ((status = message_take(monitor_input, request)) == 0)
		ck_assert_int_gt(evbuffer_read(monitor_input, monitor_end, 4096), 0);
	ck_assert_int_eq(status, 1);
}

static void
monitor_writes(uint32_t type, uint32_t id, const void *body)
{
	struct evbuffer *output = evbuffer_new();

	ck_assert_int_eq(message_put(output, type, id, body), 0);
	while (evbuffer_get_length(output) > 0)
		ck_assert_int_gt(evbuffer_write(output, monitor_end), 0);
	evbuffer_free(output);
	spin();
}

static struct message_admit
admit_of(unsigned char last)
{
	struct message_admit admit;

	memset(&admit, 0, sizeof(admit));
	admit.address.length = 4;
	admit.address.bytes[3] = last;
	return admit;
}

START_TEST(test_answers_are_matched_by_number)
{
	struct message_admit first = admit_of(1), second = admit_of(2);
	struct message_admitted yes = { MESSAGE_ADMIT_OK, 0 }, no = { MESSAGE_ADMIT_TOO_MANY_USERS, 0 };
	struct message request_one, request_two;

	ck_assert_ptr_nonnull(monitor_link_request(link_under_test, MESSAGE_ADMIT, &first,
	    record_answer, (void *)0));
	ck_assert_ptr_nonnull(monitor_link_request(link_under_test, MESSAGE_ADMIT, &second,
	    record_answer, (void *)1));
	monitor_reads(&request_one);
	monitor_reads(&request_two);
	ck_assert_uint_eq(request_one.body.admit.address.bytes[3], 1);
	ck_assert_uint_eq(request_two.body.admit.address.bytes[3], 2);
	ck_assert_uint_ne(request_one.header.id, request_two.header.id);
	/* Answered the other way round. */
	monitor_writes(MESSAGE_ADMITTED, request_two.header.id, &no);
	ck_assert_int_eq(answers[1].calls, 1);
	ck_assert_int_eq(answers[0].calls, 0);
	monitor_writes(MESSAGE_ADMITTED, request_one.header.id, &yes);
	ck_assert_int_eq(answers[0].calls, 1);
	ck_assert_uint_eq(answers[0].message.body.admitted.verdict, MESSAGE_ADMIT_OK);
	ck_assert_uint_eq(answers[1].message.body.admitted.verdict, MESSAGE_ADMIT_TOO_MANY_USERS);
	/* An answer nobody waits for (a stale number) is ignored. */
	monitor_writes(MESSAGE_ADMITTED, request_one.header.id, &yes);
	ck_assert_int_eq(answers[0].calls, 1);
	ck_assert_int_eq(lost_calls, 0);
}
END_TEST

START_TEST(test_cancelled_request_is_not_answered)
{
	struct message_admit admit = admit_of(3);
	struct message_admitted yes = { MESSAGE_ADMIT_OK, 0 };
	struct monitor_request *request;
	struct message seen;

	request = monitor_link_request(link_under_test, MESSAGE_ADMIT, &admit, record_answer,
	    (void *)0);
	ck_assert_ptr_nonnull(request);
	monitor_reads(&seen);
	monitor_request_cancel(request);
	monitor_writes(MESSAGE_ADMITTED, seen.header.id, &yes);
	ck_assert_int_eq(answers[0].calls, 0);
}
END_TEST

START_TEST(test_monitor_gone_answers_everyone_null)
{
	struct message_admit admit = admit_of(4);

	ck_assert_ptr_nonnull(monitor_link_request(link_under_test, MESSAGE_ADMIT, &admit,
	    record_answer, (void *)0));
	ck_assert_ptr_nonnull(monitor_link_request(link_under_test, MESSAGE_ADMIT, &admit,
	    record_answer, (void *)1));
	close(monitor_end);
	monitor_end = -1;
	spin();
	ck_assert_int_eq(answers[0].calls, 1);
	ck_assert_int_eq(answers[0].got_null, 1);
	ck_assert_int_eq(answers[1].got_null, 1);
	ck_assert_int_eq(lost_calls, 1);
	/* Later requests are answered at once, and tell() says why. */
	ck_assert_ptr_null(monitor_link_request(link_under_test, MESSAGE_ADMIT, &admit,
	    record_answer, (void *)2));
	ck_assert_int_eq(answers[2].got_null, 1);
	ck_assert_int_eq(monitor_link_tell(link_under_test, MESSAGE_SESSION_ENDED, &admit), -EPIPE);
	ck_assert_int_eq(lost_calls, 1);
}
END_TEST

START_TEST(test_nonsense_from_the_monitor_is_a_loss)
{
	struct message_admit admit = admit_of(5);
	struct message_header header = { 999, 4, 1 };

	ck_assert_ptr_nonnull(monitor_link_request(link_under_test, MESSAGE_ADMIT, &admit,
	    record_answer, (void *)0));
	ck_assert_int_eq(write(monitor_end, &header, sizeof(header)), (int)sizeof(header));
	spin();
	ck_assert_int_eq(lost_calls, 1);
	ck_assert_int_eq(answers[0].got_null, 1);
}
END_TEST

START_TEST(test_drain_is_delivered)
{
	struct message_drain drain = { MESSAGE_DRAIN_STOP };

	monitor_writes(MESSAGE_DRAIN, 0, &drain);
	ck_assert_int_eq(drain_calls, 1);
	ck_assert_uint_eq(drain_reason, MESSAGE_DRAIN_STOP);
}
END_TEST

/* --- the checker that asks the monitor --- */

static int check_calls;
static int check_error;
static struct avatar_id *check_id;

static void
checked(void *arg, int error, struct avatar_id *id)
{
	ck_assert_ptr_eq(arg, &check_calls);
	check_calls++;
	check_error = error;
	check_id = id;
}

START_TEST(test_checker_asks_the_monitor)
{
	struct checker *checker = checker_monitor_new(link_under_test);
	struct message_authenticated answer;
	struct message request;

	check_calls = 0;
	check_id = NULL;
	ck_assert_ptr_nonnull(checker);
	ck_assert_ptr_nonnull(checker->ops->check(checker, "carol", "pw", NULL, checked, &check_calls));
	monitor_reads(&request);
	ck_assert_uint_eq(request.header.type, MESSAGE_AUTHENTICATE);
	ck_assert_str_eq(request.body.authenticate.user, "carol");
	ck_assert_str_eq(request.body.authenticate.password, "pw");
	memset(&answer, 0, sizeof(answer));
	strcpy(answer.name, "carol");
	strcpy(answer.home, "/srv/carol");
	answer.has_account = 1;
	answer.uid = 2001;
	answer.gid = 2002;
	answer.group_count = 1;
	answer.groups[0] = 2002;
	monitor_writes(MESSAGE_AUTHENTICATED, request.header.id, &answer);
	ck_assert_int_eq(check_calls, 1);
	ck_assert_int_eq(check_error, 0);
	ck_assert_str_eq(check_id->name, "carol");
	ck_assert_str_eq(check_id->home, "/srv/carol");
	ck_assert_ptr_nonnull(check_id->account);
	ck_assert_uint_eq(check_id->account->uid, 2001);
	ck_assert_int_eq(check_id->account->group_count, 1);
	avatar_id_free(check_id);

	/* A wrong password comes back as the monitor's error, without an id. */
	ck_assert_ptr_nonnull(checker->ops->check(checker, "carol", "bad", NULL, checked, &check_calls));
	monitor_reads(&request);
	memset(&answer, 0, sizeof(answer));
	answer.error = -EACCES;
	monitor_writes(MESSAGE_AUTHENTICATED, request.header.id, &answer);
	ck_assert_int_eq(check_calls, 2);
	ck_assert_int_eq(check_error, -EACCES);
	ck_assert_ptr_null(check_id);
	checker_free(checker);
}
END_TEST

START_TEST(test_checker_refuses_impossible_names_itself)
{
	struct checker *checker = checker_monitor_new(link_under_test);
	struct checker_request *request;
	char buffer[8];

	check_calls = 0;
	ck_assert_ptr_null(checker->ops->check(checker, "a:b", "pw", NULL, checked, &check_calls));
	ck_assert_int_eq(check_calls, 1);
	ck_assert_int_eq(check_error, -EACCES);
	/* Nothing reached the monitor. */
	spin();
	ck_assert_int_eq(recv(monitor_end, buffer, sizeof(buffer), MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* A cancelled check is never answered, even when the monitor answers. */
	request = checker->ops->check(checker, "dave", "pw", NULL, checked, &check_calls);
	ck_assert_ptr_nonnull(request);
	checker->ops->cancel(request);
	close(monitor_end);
	monitor_end = -1;
	spin();
	ck_assert_int_eq(check_calls, 1);
	checker_free(checker);
}
END_TEST

Suite *
link_suite(void)
{
	Suite *suite = suite_create("link");
	TCase *tcase = tcase_create("requests");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_answers_are_matched_by_number);
	tcase_add_test(tcase, test_cancelled_request_is_not_answered);
	tcase_add_test(tcase, test_monitor_gone_answers_everyone_null);
	tcase_add_test(tcase, test_nonsense_from_the_monitor_is_a_loss);
	tcase_add_test(tcase, test_drain_is_delivered);
	tcase_add_test(tcase, test_checker_asks_the_monitor);
	tcase_add_test(tcase, test_checker_refuses_impossible_names_itself);
	suite_add_tcase(suite, tcase);
	return suite;
}
