/*
 * test_checker_postgresql: passwd_db without a database server — the key's
 * validation, the answers when nothing answers (a refused port, a silent one),
 * the queue's bound, cancelling, and the host lists looked up off the loop.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/postgresql.h"
#include "suites.h"
#include "util/worker_pool.h"

/* Every check of a test, and a few more than the queue holds. */
#define CHECKS_MAX (POSTGRESQL_QUEUE_MAX + 8)

static struct {
	struct config config;
	struct event_base *base;
	struct worker_pool *workers;
	struct checker *checker;
	int silent_fd;		/* a listener that never answers, or -1 */
} fixture;

struct check_result {
	int called;
	int error;
	struct avatar_id *id;
};

static struct check_result results[CHECKS_MAX];

static void
setup(void)
{
	char error[CONFIG_ERROR_SIZE];

	memset(&fixture, 0, sizeof(fixture));
	memset(results, 0, sizeof(results));
	fixture.silent_fd = -1;
	ck_assert_int_eq(config_init(&fixture.config), 0);
	ck_assert_int_eq(config_apply_override(&fixture.config, "anonymous=no", error), 0);
	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	fixture.workers = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.workers);
}

static void
teardown(void)
{
	int i;

	checker_free(fixture.checker);
	worker_pool_free(fixture.workers);
	/* A retired checker goes on the loop's next turn. */
	event_base_loop(fixture.base, EVLOOP_NONBLOCK);
	event_base_free(fixture.base);
	config_free(&fixture.config);
	for (i = 0; i < CHECKS_MAX; i++)
		avatar_id_free(results[i].id);
	if (fixture.silent_fd >= 0)
		close(fixture.silent_fd);
}

static void
record(void *arg, int error, struct avatar_id *id)
{
	struct check_result *result = arg;

	result->called++;
	result->error = error;
	result->id = id;
}

static double
seconds_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Runs the loop until the first count results are in, or seconds passed. */
static void
run_until_answered(int count, double seconds)
{
	double deadline = seconds_now() + seconds;
	int i, waiting;

	for (;;) {
		for (i = 0, waiting = 0; i < count; i++)
			waiting += results[i].called == 0;
		if (waiting == 0 || seconds_now() > deadline)
			return;
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	}
}

/* A loopback port where nothing listens: connections are refused. */
static int
refused_port(void)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	close(fd);
	return ntohs(address.sin_port);
}

/* A listener nobody accepts on: the kernel completes the handshakes, no byte comes back. */
static int
silent_port(void)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);

	fixture.silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fixture.silent_fd, 0);
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fixture.silent_fd, (struct sockaddr *)&address, sizeof(address)), 0);
	ck_assert_int_eq(listen(fixture.silent_fd, 64), 0);
	ck_assert_int_eq(getsockname(fixture.silent_fd, (struct sockaddr *)&address, &length), 0);
	return ntohs(address.sin_port);
}

/* How many connections reached the silent listener. */
static int
connections_made(void)
{
	int count = 0, fd;

	while ((fd = accept(fixture.silent_fd, NULL, NULL)) >= 0) {
		close(fd);
		count++;
	}
	return count;
}

static void
make_checker(const char *host, int port)
{
	char assignment[256], error[CONFIG_ERROR_SIZE];

	snprintf(assignment, sizeof(assignment),
	    "passwd_db=postgresql://ftpd@%s:%d/ftp?sslmode=disable", host, port);
	ck_assert_msg(config_apply_override(&fixture.config, assignment, error) == 0, "%s",
	    error);
	fixture.checker = checker_postgresql_new(&fixture.config, fixture.workers);
	ck_assert_ptr_nonnull(fixture.checker);
}

static struct checker_request *
start_check(int index, const char *user)
{
	return fixture.checker->ops->check(fixture.checker, user, "a password", NULL, record,
	    &results[index]);
}

/* --- the key --- */

static const char *const valid_uris[] = {
	"postgresql://ftpd@db.example.org/ftp",
	"postgres://ftpd:secret@127.0.0.1:5433/ftp?sslmode=require",
	"postgresql:///ftp?host=/var/run/postgresql",
	"postgresql://[::1]:5432,10.0.0.7:5433/ftp?target_session_attrs=read-write",
	"none",
};

static const char *const invalid_uris[] = {
	"mysql://db/ftp",
	"host=db dbname=ftp",
	"postgresql://db/ftp?no_such_option=1",
	"postgresql://[::1/ftp",
	"",
};

START_TEST(test_valid_uris_are_accepted)
{
	char assignment[512], error[CONFIG_ERROR_SIZE];

	snprintf(assignment, sizeof(assignment), "passwd_db=%s", valid_uris[_i]);
	ck_assert_msg(config_apply_override(&fixture.config, assignment, error) == 0,
	    "%s: %s", valid_uris[_i], error);
	ck_assert_int_eq(config_validate(&fixture.config, error), 0);
}
END_TEST

START_TEST(test_invalid_uris_are_refused)
{
	char assignment[512], error[CONFIG_ERROR_SIZE];

	snprintf(assignment, sizeof(assignment), "passwd_db=%s", invalid_uris[_i]);
	if (invalid_uris[_i][0] == '\0') {
		/* Empty means none, as for every optional key. */
		ck_assert_int_eq(config_apply_override(&fixture.config, assignment, error), 0);
		ck_assert_ptr_null(fixture.config.passwd_db);
		return;
	}
	ck_assert_int_eq(config_apply_override(&fixture.config, assignment, error), -EINVAL);
	ck_assert_msg(strstr(error, "passwd_db") != NULL && strstr(error, "postgresql://") != NULL,
	    "%s", error);
}
END_TEST

START_TEST(test_other_sources_of_users_are_excluded)
{
	static const char *const others[] = {
		"passwd_file=/dev/null", "system_users=yes", "login=shell",
	};
	static const char *const words[] = {
		"passwd_db and passwd_file", "passwd_db and system_users", "excludes passwd_db",
	};
	char error[CONFIG_ERROR_SIZE];

	ck_assert_int_eq(config_apply_override(&fixture.config,
	    "passwd_db=postgresql://db/ftp", error), 0);
	ck_assert_int_eq(config_apply_override(&fixture.config, others[_i], error), 0);
	ck_assert_int_eq(config_validate(&fixture.config, error), -EINVAL);
	ck_assert_msg(strstr(error, words[_i]) != NULL, "%s", error);
}
END_TEST

/* --- answers when the database does not --- */

START_TEST(test_invalid_names_answer_at_once)
{
	make_checker("127.0.0.1", refused_port());
	ck_assert_ptr_null(start_check(0, "bad/name"));
	ck_assert_ptr_null(start_check(1, ""));
	ck_assert_int_eq(results[0].called, 1);
	ck_assert_int_eq(results[0].error, -EACCES);
	ck_assert_int_eq(results[1].called, 1);
	ck_assert_int_eq(results[1].error, -EACCES);
}
END_TEST

START_TEST(test_refused_connection_answers_unreachable_at_once)
{
	double started;

	make_checker("127.0.0.1", refused_port());
	started = seconds_now();
	ck_assert_ptr_nonnull(start_check(0, "alice"));
	/* The caller is never answered inside check(). */
	ck_assert_int_eq(results[0].called, 0);
	run_until_answered(1, 5);
	ck_assert_int_eq(results[0].called, 1);
	ck_assert_int_eq(results[0].error, CHECKER_USERS_UNREACHABLE);
	ck_assert_ptr_null(results[0].id);
	ck_assert_msg(seconds_now() - started < 0.5, "took %.3f s", seconds_now() - started);

	/* Within the retry delay nothing is tried: the answer comes before check() returns. */
	ck_assert_ptr_null(start_check(1, "alice"));
	ck_assert_int_eq(results[1].called, 1);
	ck_assert_int_eq(results[1].error, CHECKER_USERS_UNREACHABLE);
}
END_TEST

START_TEST(test_names_are_looked_up_off_the_loop)
{
	/* localhost comes from /etc/hosts through the worker pool, then the port refuses. */
	make_checker("localhost", refused_port());
	ck_assert_ptr_nonnull(start_check(0, "alice"));
	run_until_answered(1, 10);
	ck_assert_int_eq(results[0].called, 1);
	ck_assert_int_eq(results[0].error, CHECKER_USERS_UNREACHABLE);
}
END_TEST

START_TEST(test_silent_database_answers_unreachable_within_the_limit)
{
	double started, took;

	make_checker("127.0.0.1", silent_port());
	started = seconds_now();
	ck_assert_ptr_nonnull(start_check(0, "alice"));
	run_until_answered(1, 5);
	took = seconds_now() - started;
	ck_assert_int_eq(results[0].called, 1);
	ck_assert_int_eq(results[0].error, CHECKER_USERS_UNREACHABLE);
	ck_assert_msg(took >= POSTGRESQL_ANSWER_MS / 1000.0 * 0.9 &&
	    took < POSTGRESQL_ANSWER_MS / 1000.0 + 0.5, "took %.3f s", took);
}
END_TEST

START_TEST(test_queue_and_pool_are_bounded)
{
	int i;

	make_checker("127.0.0.1", silent_port());
	for (i = 0; i < POSTGRESQL_QUEUE_MAX; i++)
		ck_assert_ptr_nonnull(start_check(i, "alice"));
	/* One more than the queue holds is answered at once. */
	ck_assert_ptr_null(start_check(POSTGRESQL_QUEUE_MAX, "alice"));
	ck_assert_int_eq(results[POSTGRESQL_QUEUE_MAX].called, 1);
	ck_assert_int_eq(results[POSTGRESQL_QUEUE_MAX].error, CHECKER_USERS_UNREACHABLE);

	run_until_answered(POSTGRESQL_QUEUE_MAX, 5);
	for (i = 0; i < POSTGRESQL_QUEUE_MAX; i++) {
		ck_assert_int_eq(results[i].called, 1);
		ck_assert_int_eq(results[i].error, CHECKER_USERS_UNREACHABLE);
	}
	i = connections_made();
	ck_assert_msg(i >= 1 && i <= POSTGRESQL_CONNECTIONS_MAX, "%d connections", i);
}
END_TEST

START_TEST(test_cancelled_checks_never_answer)
{
	struct checker_request *requests[8];
	double deadline;
	int i, waiting;

	make_checker("127.0.0.1", silent_port());
	for (i = 0; i < 8; i++)
		requests[i] = start_check(i, "alice");
	/* Some are connecting by now, some still wait. */
	event_base_loop(fixture.base, EVLOOP_NONBLOCK);
	for (i = 0; i < 8; i += 2)
		fixture.checker->ops->cancel(requests[i]);
	deadline = seconds_now() + 5;
	do {
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
		for (i = 1, waiting = 0; i < 8; i += 2)
			waiting += results[i].called == 0;
	} while (waiting > 0 && seconds_now() < deadline);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(results[i].called, i % 2);
		if (i % 2 == 1)
			ck_assert_int_eq(results[i].error, CHECKER_USERS_UNREACHABLE);
	}
}
END_TEST

START_TEST(test_freed_checker_answers_checks_still_running)
{
	int i;

	make_checker("127.0.0.1", silent_port());
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(start_check(i, "alice"));
	/* A reload replaces the checker: the logins in flight still get their answer. */
	checker_free(fixture.checker);
	fixture.checker = NULL;
	run_until_answered(4, 5);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(results[i].called, 1);
		ck_assert_int_eq(results[i].error, CHECKER_USERS_UNREACHABLE);
	}
}
END_TEST

/* --- host lists --- */

START_TEST(test_host_kinds)
{
	ck_assert(postgresql_target_host_is_name("db.example.org"));
	ck_assert(postgresql_target_host_is_name("localhost"));
	ck_assert(!postgresql_target_host_is_name("127.0.0.1"));
	ck_assert(!postgresql_target_host_is_name("::1"));
	ck_assert(!postgresql_target_host_is_name("/var/run/postgresql"));
	ck_assert(!postgresql_target_host_is_name("@abstract"));
	ck_assert(!postgresql_target_host_is_name(""));
}
END_TEST

START_TEST(test_resolved_lists_keep_hosts_with_addresses)
{
	char *hosts, *ports, *addresses, long_name[NI_MAXHOST + 1];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(postgresql_target_resolve("localhost,/run/pg,10.0.0.7", "1,2,3",
	    &hosts, &ports, &addresses), 0);
	ck_assert_str_eq(hosts, "localhost,/run/pg,10.0.0.7");
	ck_assert_str_eq(ports, "1,2,3");
	ck_assert_msg(strcmp(addresses, "127.0.0.1,,") == 0 || strcmp(addresses, "::1,,") == 0,
	    "%s", addresses);
	free(hosts);
	free(ports);
	free(addresses);

	{
		char list[NI_MAXHOST + 64];

		/* A host left out takes its own port along; a single port serves all. */
		snprintf(list, sizeof(list), "%s,10.0.0.7", long_name);
		ck_assert_int_eq(postgresql_target_resolve(list, "1,2", &hosts, &ports,
		    &addresses), 0);
		ck_assert_str_eq(hosts, "10.0.0.7");
		ck_assert_str_eq(ports, "2");
		ck_assert_str_eq(addresses, "");
		free(hosts);
		free(ports);
		free(addresses);
		ck_assert_int_eq(postgresql_target_resolve(list, "5432", &hosts, &ports,
		    &addresses), 0);
		ck_assert_str_eq(ports, "5432");
		free(hosts);
		free(ports);
		free(addresses);
		ck_assert_int_eq(postgresql_target_resolve(long_name, NULL, &hosts, &ports,
		    &addresses), -EHOSTUNREACH);
		ck_assert_ptr_null(hosts);
	}
}
END_TEST

Suite *
checker_postgresql_suite(void)
{
	Suite *suite = suite_create("checker_postgresql");
	TCase *key = tcase_create("key");
	TCase *unreachable = tcase_create("unreachable");
	TCase *hosts = tcase_create("hosts");
	TCase *all[] = { key, unreachable, hosts };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_set_timeout(all[i], 30);
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(suite, all[i]);
	}
	tcase_add_loop_test(key, test_valid_uris_are_accepted, 0,
	    sizeof(valid_uris) / sizeof(valid_uris[0]));
	tcase_add_loop_test(key, test_invalid_uris_are_refused, 0,
	    sizeof(invalid_uris) / sizeof(invalid_uris[0]));
	tcase_add_loop_test(key, test_other_sources_of_users_are_excluded, 0, 3);

	tcase_add_test(unreachable, test_invalid_names_answer_at_once);
	tcase_add_test(unreachable, test_refused_connection_answers_unreachable_at_once);
	tcase_add_test(unreachable, test_names_are_looked_up_off_the_loop);
	tcase_add_test(unreachable, test_silent_database_answers_unreachable_within_the_limit);
	tcase_add_test(unreachable, test_queue_and_pool_are_bounded);
	tcase_add_test(unreachable, test_cancelled_checks_never_answer);
	tcase_add_test(unreachable, test_freed_checker_answers_checks_still_running);

	tcase_add_test(hosts, test_host_kinds);
	tcase_add_test(hosts, test_resolved_lists_keep_hosts_with_addresses);
	return suite;
}
