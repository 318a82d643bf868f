/*
 * test_portal: the asynchronous login path — worker pool, anonymous and passwd_file
 * checkers, realm and portal — against a real event loop, real threads and real files.
 */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "portal/realm.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

struct fixture {
	char directory[PATH_MAX];
	char passwd_path[PATH_MAX];
	char anonymous_root[PATH_MAX];
	char home_root[PATH_MAX];
	char other_home[PATH_MAX];	/* bob's home, given on his line */
	struct config *config;
	struct event_base *base;
	struct worker_pool *workers;
	struct portal *portal;
	pthread_t loop_thread;
	char hash_alice[CRYPT_OUTPUT_SIZE];	/* $6$ of "alice-secret" */
	char hash_yvonne[CRYPT_OUTPUT_SIZE];	/* $y$ of "yvonne-secret" */
	char hash_bob[CRYPT_OUTPUT_SIZE];	/* $6$ of "bob-secret" */
	char hash_locked[CRYPT_OUTPUT_SIZE];	/* $6$ of "locked-secret" */
};

static struct fixture fixture;

/* A name of exactly CHECKER_USER_MAX bytes, the longest accepted. */
static const char longest_name[] =
    "u123456789012345678901234567890123456789012345678901234567890123";

struct login_result {
	int called;
	int error;
	struct avatar *avatar;
	pthread_t thread;
};

static void
make_hash(const char *prefix, const char *password, char output[CRYPT_OUTPUT_SIZE])
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *hash;

	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)));
	data = calloc(1, sizeof(*data));
	ck_assert_ptr_nonnull(data);
	hash = crypt_rn(password, setting, data, sizeof(*data));
	ck_assert_ptr_nonnull(hash);
	ck_assert_uint_lt(strlen(hash), CRYPT_OUTPUT_SIZE);
	strcpy(output, hash);
	free(data);
}

static void
join_path(char output[PATH_MAX], const char *parent, const char *name)
{
	int length = snprintf(output, PATH_MAX, "%s/%s", parent, name);

	ck_assert(length > 0 && length < PATH_MAX);
}

static void
make_directory(char output[PATH_MAX], const char *parent, const char *name)
{
	join_path(output, parent, name);
	ck_assert_int_eq(mkdir(output, 0755), 0);
}

/* Replaces the file at once, as an editor or a deploy script would. */
static void
write_passwd(const char *content)
{
	char temporary[PATH_MAX];
	FILE *file;

	join_path(temporary, fixture.directory, "passwd.new");
	file = fopen(temporary, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_ge(fputs(content, file), 0);
	ck_assert_int_eq(fclose(file), 0);
	ck_assert_int_eq(rename(temporary, fixture.passwd_path), 0);
}

static void
write_default_passwd(void)
{
	char content[8192];

	snprintf(content, sizeof(content),
	    "# test users\n"
	    "alice:%s\n"
	    "yvonne:%s\n"
	    "\n"
	    "   \t\n"
	    "bob:%s:%s\n"
	    "locked:!%s\n"
	    "starred:*\n"
	    "nocolon\n"
	    ":%s\n"
	    "carol:\n"
	    "dave:%s:relative/home\n"
	    "bad/name:%s\n"
	    "%s:%s\n"
	    "zed:%s\r\n",
	    fixture.hash_alice, fixture.hash_yvonne, fixture.hash_bob, fixture.other_home,
	    fixture.hash_locked, fixture.hash_alice, fixture.hash_alice, fixture.hash_alice,
	    longest_name, fixture.hash_alice, fixture.hash_alice);
	write_passwd(content);
}

/* A portal for the fixture's config: its own password checker, as a server on its own has. */
static struct portal *
portal_for_config(void)
{
	struct checker *password_checker;

	ck_assert_int_eq(portal_password_checker_new(fixture.config, fixture.workers,
	    &password_checker), 0);
	return portal_new(fixture.config, password_checker, NULL);
}

static void
start_portal(void)
{
	fixture.portal = portal_for_config();
	ck_assert_ptr_nonnull(fixture.portal);
}

static void
setup(void)
{
	const char *temporary_root = getenv("TMPDIR");
	char home[PATH_MAX];

	memset(&fixture, 0, sizeof(fixture));
	snprintf(fixture.directory, sizeof(fixture.directory), "%s/ftpd-portal-XXXXXX",
	    temporary_root != NULL ? temporary_root : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(fixture.directory));
	make_directory(fixture.anonymous_root, fixture.directory, "anon");
	make_directory(fixture.home_root, fixture.directory, "homes");
	make_directory(fixture.other_home, fixture.directory, "elsewhere");
	make_directory(home, fixture.home_root, "alice");
	make_directory(home, fixture.home_root, "yvonne");
	make_directory(home, fixture.home_root, "zed");
	make_directory(home, fixture.home_root, longest_name);
	join_path(fixture.passwd_path, fixture.directory, "passwd");

	make_hash("$6$", "alice-secret", fixture.hash_alice);
	make_hash("$y$", "yvonne-secret", fixture.hash_yvonne);
	make_hash("$6$", "bob-secret", fixture.hash_bob);
	make_hash("$6$", "locked-secret", fixture.hash_locked);
	write_default_passwd();

	/* By hand, as config.c is not part of this suite. */
	fixture.config = calloc(1, sizeof(*fixture.config));
	ck_assert_ptr_nonnull(fixture.config);
	fixture.config->anonymous = 1;
	fixture.config->anonymous_root = fixture.anonymous_root;
	fixture.config->passwd_file = fixture.passwd_path;
	fixture.config->home_root = fixture.home_root;
	fixture.config->shell = "fs";
	fixture.config->anonymous_shell = "anon";

	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	fixture.workers = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.workers);
	fixture.loop_thread = pthread_self();
}

static int
remove_entry(const char *path, const struct stat *stat UNUSED, int type UNUSED, struct FTW *walk UNUSED)
{
	return remove(path);
}

static void
remove_tree(const char *path)
{
	if (path[0] != '\0' && nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

static void
teardown(void)
{
	/* Sessions go first, then the portal, then the pool: the server's order. */
	portal_free(fixture.portal);
	worker_pool_free(fixture.workers);
	if (fixture.base != NULL)
		event_base_free(fixture.base);
	free(fixture.config);
	remove_tree(fixture.directory);
}

static void
login_done(void *arg, int error, struct avatar *avatar)
{
	struct login_result *result = arg;

	result->called++;
	result->error = error;
	result->avatar = avatar;
	result->thread = pthread_self();
}

static void
run_until_called(const struct login_result *result)
{
	while (result->called == 0)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
}

/* Runs the loop for a while, long enough for any $y$ crypt to end. */
static void
run_for(long milliseconds)
{
	struct timeval wait = { milliseconds / 1000, (milliseconds % 1000) * 1000 };

	event_base_loopexit(fixture.base, &wait);
	ck_assert_int_ge(event_base_dispatch(fixture.base), 0);
}

/* A login run to its end; the password is on the heap and freed as soon as login returns. */
static struct login_result
login(const char *user, const char *password)
{
	struct login_result result = { 0 };
	char *password_copy = strdup(password);

	ck_assert_ptr_nonnull(password_copy);
	portal_login(fixture.portal, user, password_copy, NULL, login_done, &result);
	free(password_copy);
	run_until_called(&result);
	ck_assert_int_eq(result.called, 1);
	ck_assert(pthread_equal(result.thread, fixture.loop_thread));
	if (result.error == 0)
		ck_assert_ptr_nonnull(result.avatar);
	else
		ck_assert_ptr_null(result.avatar);
	return result;
}

struct stat_result {
	int called;
	int error;
	uint64_t inode;
	uint64_t device;
};

static void
stat_done(void *arg, int error, const struct ftpd_stat *stat)
{
	struct stat_result *result = arg;

	result->called++;
	result->error = error;
	if (error == 0) {
		result->inode = stat->inode;
		result->device = stat->device;
	}
}

/* The directory a shell serves is the one whose inode its root has. */
static void
assert_shell_root(struct ftpd_shell *shell, const char *expected)
{
	struct ftpd_path root = { NULL, 0 };
	struct stat_result result = { 0 };
	struct stat expected_stat;

	ck_assert_int_eq(stat(expected, &expected_stat), 0);
	shell->ops->stat(shell, &root, stat_done, &result);
	while (result.called == 0)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(result.error, 0);
	ck_assert_uint_eq(result.inode, (uint64_t)expected_stat.st_ino);
	ck_assert_uint_eq(result.device, (uint64_t)expected_stat.st_dev);
}

struct done_result {
	int called;
	int error;
};

static void
operation_done(void *arg, int error)
{
	struct done_result *result = arg;

	result->called++;
	result->error = error;
}

/* Asks the shell to make a directory; returns its error. */
static int
shell_make_directory(struct ftpd_shell *shell, const char *name)
{
	const char *segments[] = { name };
	struct ftpd_path path = { segments, 1 };
	struct done_result result = { 0 };

	shell->ops->make_directory(shell, &path, operation_done, &result);
	while (result.called == 0)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	return result.error;
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* --- passwd_file users --- */

static const struct {
	const char *user;
	const char *password;
	const char *home_below_root;	/* NULL: the home given on the line */
} good_logins[] = {
	{ "alice", "alice-secret", "alice" },		/* $6$ */
	{ "yvonne", "yvonne-secret", "yvonne" },	/* $y$ */
	{ "bob", "bob-secret", NULL },			/* own home */
	{ "zed", "alice-secret", "zed" },		/* after malformed lines, CRLF */
	{ longest_name, "alice-secret", longest_name },
};

START_TEST(test_right_password_logs_in_to_home)
{
	struct login_result result;
	char expected_home[PATH_MAX];

	start_portal();
	result = login(good_logins[_i].user, good_logins[_i].password);
	ck_assert_int_eq(result.error, 0);
	ck_assert_str_eq(result.avatar->name, good_logins[_i].user);
	ck_assert_int_eq(result.avatar->anonymous, 0);
	if (good_logins[_i].home_below_root != NULL)
		join_path(expected_home, fixture.home_root, good_logins[_i].home_below_root);
	else
		snprintf(expected_home, sizeof(expected_home), "%s", fixture.other_home);
	assert_shell_root(result.avatar->shell, expected_home);
	avatar_logout(result.avatar);
}
END_TEST

START_TEST(test_password_user_may_write)
{
	struct login_result result;
	char created[PATH_MAX];
	struct stat created_stat;

	start_portal();
	result = login("bob", "bob-secret");
	ck_assert_int_eq(result.error, 0);
	ck_assert_int_eq(shell_make_directory(result.avatar->shell, "uploads"), 0);
	join_path(created, fixture.other_home, "uploads");
	ck_assert_int_eq(stat(created, &created_stat), 0);
	ck_assert(S_ISDIR(created_stat.st_mode));
	avatar_logout(result.avatar);
}
END_TEST

static const struct {
	const char *user;
	const char *password;
} refused_logins[] = {
	{ "alice", "wrong" },
	{ "alice", "" },
	{ "alice", "alice-secreT" },
	{ "alice", "yvonne-secret" },
	{ "yvonne", "alice-secret" },
	{ "Alice", "alice-secret" },		/* names are case-sensitive */
	{ "nobody", "alice-secret" },		/* unknown */
	{ "locked", "locked-secret" },		/* "!" before a good hash */
	{ "starred", "" },			/* "*" */
	{ "starred", "*" },
	{ "nocolon", "" },			/* malformed lines are skipped... */
	{ "carol", "" },
	{ "dave", "alice-secret" },		/* ...a relative home too */
	{ "", "alice-secret" },
};

START_TEST(test_wrong_credentials_are_refused)
{
	struct login_result result;

	start_portal();
	result = login(refused_logins[_i].user, refused_logins[_i].password);
	ck_assert_int_eq(result.error, -EACCES);
}
END_TEST

static const char *const invalid_names[] = {
	"a:b", "a/b", "a\tb", "a\nb", "a\x7f" "b", "\x1b[2J",
	"u1234567890123456789012345678901234567890123456789012345678901234",	/* 65 */
};

START_TEST(test_invalid_names_fail_without_a_lookup)
{
	struct login_result result = { 0 };
	struct portal_request *request;

	start_portal();
	ck_assert_uint_eq(strlen(invalid_names[6]), CHECKER_USER_MAX + 1);
	/* Answered before portal_login returns: no worker, so no file read. */
	request = portal_login(fixture.portal, invalid_names[_i], "alice-secret", NULL, login_done,
	    &result);
	ck_assert_ptr_null(request);
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, -EACCES);
	ck_assert_ptr_null(result.avatar);
}
END_TEST

START_TEST(test_edited_passwd_file_applies_at_next_login)
{
	struct login_result result;
	char hash[CRYPT_OUTPUT_SIZE], content[1024], home[PATH_MAX];

	start_portal();
	result = login("alice", "alice-secret");
	ck_assert_int_eq(result.error, 0);
	avatar_logout(result.avatar);

	make_hash("$y$", "alice-new", hash);
	snprintf(content, sizeof(content), "alice:%s\nnewcomer:%s\n", hash, fixture.hash_bob);
	write_passwd(content);

	ck_assert_int_eq(login("alice", "alice-secret").error, -EACCES);
	result = login("alice", "alice-new");
	ck_assert_int_eq(result.error, 0);
	avatar_logout(result.avatar);
	ck_assert_int_eq(login("yvonne", "yvonne-secret").error, -EACCES);	/* removed */

	make_directory(home, fixture.home_root, "newcomer");
	result = login("newcomer", "bob-secret");
	ck_assert_int_eq(result.error, 0);
	avatar_logout(result.avatar);
}
END_TEST

START_TEST(test_missing_passwd_file_refuses)
{
	start_portal();
	ck_assert_int_eq(unlink(fixture.passwd_path), 0);
	ck_assert_int_eq(login("alice", "alice-secret").error, -EACCES);
}
END_TEST

START_TEST(test_without_passwd_file_only_guests)
{
	struct login_result result = { 0 };

	fixture.config->passwd_file = NULL;
	start_portal();
	ck_assert_ptr_null(portal_login(fixture.portal, "alice", "alice-secret", NULL, login_done,
	    &result));
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, -EACCES);

	result = login("anonymous", "guest@");
	ck_assert_int_eq(result.error, 0);
	avatar_logout(result.avatar);
}
END_TEST

START_TEST(test_missing_home_is_an_error_not_a_refusal)
{
	char content[1024];

	snprintf(content, sizeof(content), "homeless:%s\n", fixture.hash_alice);
	write_passwd(content);
	start_portal();
	/* The right password got through the checker; the realm could not build the shell. */
	ck_assert_int_eq(login("homeless", "alice-secret").error, -ENOENT);
}
END_TEST

START_TEST(test_system_users_go_to_pam_not_the_passwd_file)
{
	fixture.config->system_users = 1;
	start_portal();
	/* alice is in the passwd file only: with system_users, PAM decides, and it has no such account. */
	ck_assert_int_eq(login("alice", "alice-secret").error, -EACCES);
}
END_TEST

START_TEST(test_system_users_shells_open_in_the_session_process)
{
	struct login_result result;
	struct avatar_id *id;
	struct avatar *avatar = NULL;

	fixture.config->system_users = 1;
	start_portal();
	/* Guests are served by the (unprivileged) worker: their shell opens at once. */
	result = login("anonymous", "guest@");
	ck_assert_int_eq(result.error, 0);
	ck_assert_ptr_null(result.avatar->account);
	assert_shell_root(result.avatar->shell, fixture.anonymous_root);
	avatar_logout(result.avatar);
	/* An account's shell waits for its own process, which opens it as the account. */
	ck_assert_int_eq(avatar_id_new("someone", fixture.anonymous_root, 0, &id), 0);
	id->account = calloc(1, sizeof(*id->account));
	ck_assert_ptr_nonnull(id->account);
	ck_assert_int_eq(portal_avatar(fixture.portal, id, &avatar), 0);
	ck_assert_ptr_null(id->account);		/* taken over */
	avatar_id_free(id);
	ck_assert_ptr_null(avatar->shell);
	ck_assert_ptr_nonnull(avatar->account);
	ck_assert_int_eq(portal_open_shell(fixture.portal, avatar, NULL), 0);
	assert_shell_root(avatar->shell, fixture.anonymous_root);
	avatar_logout(avatar);
}
END_TEST

/* --- guests --- */

static const char *const guest_names[] = { "anonymous", "ftp", "FTP", "AnOnYmOuS", "Ftp" };

START_TEST(test_anonymous_allowed)
{
	struct login_result result = { 0 };
	char refused[PATH_MAX];
	struct stat refused_stat;

	start_portal();
	ck_assert(portal_is_anonymous_user(guest_names[_i]));
	/* Nothing to wait for: the answer comes before portal_login returns. */
	ck_assert_ptr_null(portal_login(fixture.portal, guest_names[_i], "guest@example.org", NULL,
	    login_done, &result));
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, 0);
	ck_assert_ptr_nonnull(result.avatar);
	ck_assert_int_eq(result.avatar->anonymous, 1);
	ck_assert_str_eq(result.avatar->name, "anonymous");
	assert_shell_root(result.avatar->shell, fixture.anonymous_root);

	/* Read-only: the change fails and nothing appears. */
	ck_assert_int_ne(shell_make_directory(result.avatar->shell, "intruder"), 0);
	join_path(refused, fixture.anonymous_root, "intruder");
	ck_assert_int_eq(stat(refused, &refused_stat), -1);
	avatar_logout(result.avatar);
}
END_TEST

START_TEST(test_anonymous_disallowed)
{
	fixture.config->anonymous = 0;
	start_portal();
	ck_assert_int_eq(login(guest_names[_i], "guest@example.org").error, -EACCES);
}
END_TEST

START_TEST(test_guest_names)
{
	ck_assert(!portal_is_anonymous_user("anonymous1"));
	ck_assert(!portal_is_anonymous_user("ftpuser"));
	ck_assert(!portal_is_anonymous_user(""));
	ck_assert(!portal_is_anonymous_user("alice"));
	ck_assert(portal_is_anonymous_user("ANONYMOUS"));
}
END_TEST

/* --- asynchrony, cancellation, timing --- */

static void
count_tick(evutil_socket_t fd UNUSED, short events UNUSED, void *arg)
{
	(*(int *)arg)++;
}

START_TEST(test_loop_runs_while_crypt_works)
{
	struct timeval every_millisecond = { 0, 1000 };
	struct login_result result = { 0 };
	struct event *ticker;
	int ticks = 0;

	start_portal();
	ticker = event_new(fixture.base, -1, EV_PERSIST, count_tick, &ticks);
	ck_assert_ptr_nonnull(ticker);
	ck_assert_int_eq(event_add(ticker, &every_millisecond), 0);

	/* $y$ costs tens of milliseconds of CPU; the loop must not be the one paying. */
	ck_assert_ptr_nonnull(portal_login(fixture.portal, "yvonne", "yvonne-secret", NULL,
	    login_done, &result));
	ck_assert_int_eq(result.called, 0);
	run_until_called(&result);
	ck_assert_int_eq(result.error, 0);
	ck_assert_int_ge(ticks, 2);

	event_free(ticker);
	avatar_logout(result.avatar);
}
END_TEST

enum cancel_moment {
	CANCEL_AT_ONCE,			/* job queued or crypt running */
	CANCEL_AFTER_WORK,		/* work finished, done() not yet run */
	CANCEL_THEN_FREE_EVERYTHING,	/* shutdown right after cancel */
	CANCEL_MOMENTS
};

START_TEST(test_cancel_mid_login)
{
	struct login_result results[8];
	struct portal_request *requests[8];
	size_t i;

	memset(results, 0, sizeof(results));
	start_portal();
	for (i = 0; i < 8; i++) {
		requests[i] = portal_login(fixture.portal, i % 2 ? "yvonne" : "alice",
		    i % 2 ? "yvonne-secret" : "alice-secret", NULL, login_done, &results[i]);
		ck_assert_ptr_nonnull(requests[i]);
	}
	if (_i == CANCEL_AFTER_WORK)
		usleep(500 * 1000);	/* loop not running: results wait on the completed list */
	for (i = 0; i < 8; i++)
		portal_cancel(requests[i]);

	if (_i == CANCEL_THEN_FREE_EVERYTHING) {
		portal_free(fixture.portal);
		fixture.portal = NULL;
		worker_pool_free(fixture.workers);
		fixture.workers = NULL;
	} else
		run_for(_i == CANCEL_AT_ONCE ? 800 : 100);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(results[i].called, 0);
}
END_TEST

START_TEST(test_cancel_one_of_several)
{
	struct login_result kept = { 0 }, dropped = { 0 };
	struct portal_request *request;

	start_portal();
	request = portal_login(fixture.portal, "yvonne", "yvonne-secret", NULL, login_done, &dropped);
	ck_assert_ptr_nonnull(request);
	ck_assert_ptr_nonnull(portal_login(fixture.portal, "yvonne", "yvonne-secret", NULL,
	    login_done, &kept));
	portal_cancel(request);
	run_until_called(&kept);
	ck_assert_int_eq(kept.error, 0);
	run_for(300);
	ck_assert_int_eq(dropped.called, 0);
	ck_assert_int_eq(kept.called, 1);
	avatar_logout(kept.avatar);
}
END_TEST

START_TEST(test_portal_freed_with_logins_in_flight)
{
	struct login_result results[4];
	size_t i;

	memset(results, 0, sizeof(results));
	start_portal();
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(portal_login(fixture.portal, "yvonne", "yvonne-secret", NULL,
		    login_done, &results[i]));
	portal_free(fixture.portal);
	fixture.portal = NULL;
	run_for(300);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(results[i].called, 0);
}
END_TEST

START_TEST(test_pool_freed_under_a_login_still_answers)
{
	struct login_result result = { 0 };

	start_portal();
	ck_assert_ptr_nonnull(portal_login(fixture.portal, "yvonne", "yvonne-secret", NULL,
	    login_done, &result));
	/*
	 * Not cancelled by its owner, so the owner hears of it exactly once: the
	 * check's result if it had run, else a failure.
	 */
	worker_pool_free(fixture.workers);
	fixture.workers = NULL;
	ck_assert_int_eq(result.called, 1);
	if (result.error == 0) {
		ck_assert_ptr_nonnull(result.avatar);
		avatar_logout(result.avatar);
	} else {
		ck_assert_int_eq(result.error, -EACCES);
		ck_assert_ptr_null(result.avatar);
	}
}
END_TEST

/* The fastest of a few logins: load on the machine only ever adds time. */
static double
fastest_login_ms(const char *user, const char *password)
{
	struct login_result result;
	struct timespec start;
	double fastest = 0, sample;
	int i;

	for (i = 0; i < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &start);
		result = login(user, password);
		sample = elapsed_ms(&start);
		ck_assert_int_eq(result.error, -EACCES);
		if (i == 0 || sample < fastest)
			fastest = sample;
	}
	return fastest;
}

static const char *const timing_schemes[] = { "$y$", "$6$" };

START_TEST(test_unknown_user_takes_as_long_as_known)
{
	char first[CRYPT_OUTPUT_SIZE], second[CRYPT_OUTPUT_SIZE], content[2048];
	double known, unknown, locked;

	make_hash(timing_schemes[_i], "first-secret", first);
	make_hash(timing_schemes[_i], "second-secret", second);
	snprintf(content, sizeof(content), "first:%s\nsecond:%s\nlocked:!%s\n", first, second,
	    second);
	write_passwd(content);
	start_portal();

	/* What a prober compares: a wrong password for a real name against a made-up name. */
	known = fastest_login_ms("second", "guess");
	unknown = fastest_login_ms("stranger", "guess");
	locked = fastest_login_ms("locked", "second-secret");
	/* Loose bounds: the point is one crypt of the same cost, not a benchmark. */
	ck_assert_msg(unknown * 3 > known && unknown < known * 3,
	    "known %.2f ms, unknown %.2f ms", known, unknown);
	ck_assert_msg(locked * 3 > known && locked < known * 3,
	    "known %.2f ms, locked %.2f ms", known, locked);
}
END_TEST

/* --- realm --- */

START_TEST(test_realm_home_directories)
{
	struct avatar_id guest = { .name = "anonymous", .home = NULL, .anonymous = 1 };
	struct avatar_id own_home = { .name = "bob", .home = "/srv/bob", .anonymous = 0 };
	struct avatar_id plain = { .name = "alice", .home = NULL, .anonymous = 0 };
	struct avatar_id parent = { .name = "..", .home = NULL, .anonymous = 0 };
	struct avatar_id dot = { .name = ".", .home = NULL, .anonymous = 0 };
	struct realm *realm;
	char home[PATH_MAX], expected[PATH_MAX], tiny[8];

	realm = realm_new(fixture.config, NULL);
	ck_assert_ptr_nonnull(realm);
	ck_assert_int_eq(realm_home_directory(realm, &guest, home, sizeof(home)), 0);
	ck_assert_str_eq(home, fixture.anonymous_root);
	ck_assert_int_eq(realm_home_directory(realm, &own_home, home, sizeof(home)), 0);
	ck_assert_str_eq(home, "/srv/bob");
	ck_assert_int_eq(realm_home_directory(realm, &plain, home, sizeof(home)), 0);
	join_path(expected, fixture.home_root, "alice");
	ck_assert_str_eq(home, expected);
	ck_assert_int_eq(realm_home_directory(realm, &parent, home, sizeof(home)), -EACCES);
	ck_assert_int_eq(realm_home_directory(realm, &dot, home, sizeof(home)), -EACCES);
	ck_assert_int_eq(realm_home_directory(realm, &plain, tiny, sizeof(tiny)),
	    -ENAMETOOLONG);
	realm_free(realm);
}
END_TEST

START_TEST(test_realm_unknown_shell_fails_at_start)
{
	fixture.config->shell = "no-such-shell";
	ck_assert_ptr_null(realm_new(fixture.config, NULL));
	ck_assert_ptr_null(portal_for_config());
}
END_TEST

/* Guests' shell is loaded only when guests may log in. */
START_TEST(test_realm_anonymous_shell_only_with_anonymous)
{
	struct realm *realm;

	fixture.config->anonymous_shell = "no-such-guest-shell";
	ck_assert_ptr_null(realm_new(fixture.config, NULL));
	fixture.config->anonymous = 0;
	realm = realm_new(fixture.config, NULL);
	ck_assert_ptr_nonnull(realm);
	realm_free(realm);
}
END_TEST

/* --- worker pool --- */

#define MANY_JOBS 600

struct pool_job {
	int work_ran;			/* written by a worker */
	int done_calls;
	int cancelled;
	int cancel_requested;
	pthread_t done_thread;
	struct worker_job *handle;
};

struct pool_test {
	struct pool_job jobs[MANY_JOBS];
	int done_total;
	int work_total;			/* atomic */
	int resubmitted;
	struct worker_pool *pool;
	int in_work;			/* atomic: jobs inside work() now */
	int exclusive_calls;
	int exclusive_cancelled;
	int in_work_seen;		/* in_work when the exclusive call ran */
	int work_total_seen;
};

static struct pool_test pool_test;

static void
pool_job_work(void *arg)
{
	struct pool_job *job = arg;

	job->work_ran = 1;
	__atomic_add_fetch(&pool_test.work_total, 1, __ATOMIC_RELAXED);
}

static void
pool_job_slow_work(void *arg)
{
	__atomic_add_fetch(&pool_test.in_work, 1, __ATOMIC_SEQ_CST);
	usleep(20 * 1000);
	pool_job_work(arg);
	__atomic_sub_fetch(&pool_test.in_work, 1, __ATOMIC_SEQ_CST);
}

static void
exclusive_call(void *arg UNUSED, int cancelled)
{
	pool_test.exclusive_calls++;
	pool_test.exclusive_cancelled = cancelled;
	pool_test.in_work_seen = __atomic_load_n(&pool_test.in_work, __ATOMIC_SEQ_CST);
	pool_test.work_total_seen = __atomic_load_n(&pool_test.work_total, __ATOMIC_SEQ_CST);
	if (!cancelled)
		usleep(30 * 1000);	/* no job may start meanwhile */
	pool_test.in_work_seen += __atomic_load_n(&pool_test.in_work, __ATOMIC_SEQ_CST);
}

static void
pool_job_done(void *arg, int cancelled)
{
	struct pool_job *job = arg;

	job->done_calls++;
	job->cancelled = cancelled;
	job->done_thread = pthread_self();
	pool_test.done_total++;
}

START_TEST(test_pool_many_jobs_and_cancellation)
{
	size_t i;

	memset(&pool_test, 0, sizeof(pool_test));
	for (i = 0; i < MANY_JOBS; i++) {
		pool_test.jobs[i].handle = worker_pool_submit(fixture.workers, pool_job_work,
		    pool_job_done, &pool_test.jobs[i]);
		ck_assert_ptr_nonnull(pool_test.jobs[i].handle);
		if (i % 3 == 0) {
			worker_job_cancel(pool_test.jobs[i].handle);
			pool_test.jobs[i].cancel_requested = 1;
		}
	}
	while (pool_test.done_total < MANY_JOBS)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);

	for (i = 0; i < MANY_JOBS; i++) {
		const struct pool_job *job = &pool_test.jobs[i];

		ck_assert_int_eq(job->done_calls, 1);
		ck_assert(pthread_equal(job->done_thread, fixture.loop_thread));
		ck_assert_int_eq(job->cancelled, job->cancel_requested);
		if (!job->cancel_requested)
			ck_assert_int_eq(job->work_ran, 1);
	}
	ck_assert_int_ge(pool_test.work_total, MANY_JOBS - MANY_JOBS / 3);
	ck_assert_int_le(pool_test.work_total, MANY_JOBS);
}
END_TEST

static void
resubmitting_done(void *arg, int cancelled)
{
	struct pool_job *job = arg;

	pool_job_done(arg, cancelled);
	/* A done() may queue more work; the pool must not be locked while it runs. */
	if (job == &pool_test.jobs[0] && pool_test.resubmitted < 10) {
		pool_test.resubmitted++;
		ck_assert_ptr_nonnull(worker_pool_submit(pool_test.pool, pool_job_work,
		    resubmitting_done, job));
	}
}

START_TEST(test_pool_done_may_submit)
{
	memset(&pool_test, 0, sizeof(pool_test));
	pool_test.pool = fixture.workers;
	ck_assert_ptr_nonnull(worker_pool_submit(fixture.workers, pool_job_work,
	    resubmitting_done, &pool_test.jobs[0]));
	while (pool_test.done_total < 11)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(pool_test.jobs[0].done_calls, 11);
	ck_assert_int_eq(pool_test.work_total, 11);
}
END_TEST

START_TEST(test_pool_free_cancels_pending_jobs)
{
	const size_t count = 50;
	int cancelled = 0;
	size_t i;

	memset(&pool_test, 0, sizeof(pool_test));
	for (i = 0; i < count; i++)
		ck_assert_ptr_nonnull(worker_pool_submit(fixture.workers, pool_job_slow_work,
		    pool_job_done, &pool_test.jobs[i]));
	usleep(5 * 1000);	/* let the two threads start a job each */
	worker_pool_free(fixture.workers);
	fixture.workers = NULL;

	/* Every done() ran, without the loop; only work that never ran is cancelled. */
	ck_assert_int_eq(pool_test.done_total, (int)count);
	for (i = 0; i < count; i++) {
		ck_assert_int_eq(pool_test.jobs[i].done_calls, 1);
		ck_assert_int_eq(pool_test.jobs[i].cancelled, !pool_test.jobs[i].work_ran);
		cancelled += !pool_test.jobs[i].work_ran;
	}
	/* Running work finished; the rest never started. */
	ck_assert_int_le(pool_test.work_total, 4);
	ck_assert_int_eq(cancelled, (int)count - pool_test.work_total);
}
END_TEST

START_TEST(test_pool_exclusive_runs_while_no_job_runs)
{
	const size_t count = 8;
	size_t i;

	memset(&pool_test, 0, sizeof(pool_test));
	for (i = 0; i < count; i++)
		ck_assert_ptr_nonnull(worker_pool_submit(fixture.workers, pool_job_slow_work,
		    pool_job_done, &pool_test.jobs[i]));
	usleep(5 * 1000);	/* both threads are inside a job */
	ck_assert_int_eq(worker_pool_run_exclusive(fixture.workers, exclusive_call, NULL), 0);
	while (pool_test.done_total < (int)count)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);

	ck_assert_int_eq(pool_test.exclusive_calls, 1);
	ck_assert_int_eq(pool_test.exclusive_cancelled, 0);
	/* No job was inside work() when it started, nor while it ran. */
	ck_assert_int_eq(pool_test.in_work_seen, 0);
	/* It waited for the running jobs, and jobs went on after it. */
	ck_assert_int_ge(pool_test.work_total_seen, 2);
	ck_assert_int_lt(pool_test.work_total_seen, (int)count);
	ck_assert_int_eq(pool_test.work_total, (int)count);
}
END_TEST

START_TEST(test_pool_exclusive_on_an_idle_pool)
{
	memset(&pool_test, 0, sizeof(pool_test));
	ck_assert_int_eq(worker_pool_run_exclusive(fixture.workers, exclusive_call, NULL), 0);
	while (pool_test.exclusive_calls < 1)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(pool_test.exclusive_cancelled, 0);
	/* The pool works as before afterwards. */
	ck_assert_ptr_nonnull(worker_pool_submit(fixture.workers, pool_job_work, pool_job_done,
	    &pool_test.jobs[0]));
	while (pool_test.done_total < 1)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(pool_test.jobs[0].work_ran, 1);
}
END_TEST

START_TEST(test_pool_free_cancels_exclusive_calls)
{
	memset(&pool_test, 0, sizeof(pool_test));
	ck_assert_int_eq(worker_pool_run_exclusive(fixture.workers, exclusive_call, NULL), 0);
	worker_pool_free(fixture.workers);
	fixture.workers = NULL;
	ck_assert_int_eq(pool_test.exclusive_calls, 1);
	ck_assert_int_eq(pool_test.exclusive_cancelled, 1);
}
END_TEST

START_TEST(test_pool_zero_threads_means_one)
{
	struct worker_pool *pool;

	memset(&pool_test, 0, sizeof(pool_test));
	pool = worker_pool_new(fixture.base, 0);
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_nonnull(worker_pool_submit(pool, pool_job_work, pool_job_done,
	    &pool_test.jobs[0]));
	while (pool_test.done_total < 1)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(pool_test.jobs[0].cancelled, 0);
	ck_assert_int_eq(pool_test.jobs[0].work_ran, 1);
	worker_pool_free(pool);
}
END_TEST

Suite *portal_suite(void);

Suite *
portal_suite(void)
{
	Suite *suite = suite_create("portal");
	TCase *passwd = tcase_create("passwd_file");
	TCase *guests = tcase_create("anonymous");
	TCase *asynchrony = tcase_create("asynchrony");
	TCase *realm = tcase_create("realm");
	TCase *pool = tcase_create("worker_pool");
	TCase *all[] = { passwd, guests, asynchrony, realm, pool };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		/* crypt under ASan on a busy machine can be slow. */
		tcase_set_timeout(all[i], 60);
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(suite, all[i]);
	}

	tcase_add_loop_test(passwd, test_right_password_logs_in_to_home, 0,
	    sizeof(good_logins) / sizeof(good_logins[0]));
	tcase_add_test(passwd, test_password_user_may_write);
	tcase_add_loop_test(passwd, test_wrong_credentials_are_refused, 0,
	    sizeof(refused_logins) / sizeof(refused_logins[0]));
	tcase_add_loop_test(passwd, test_invalid_names_fail_without_a_lookup, 0,
	    sizeof(invalid_names) / sizeof(invalid_names[0]));
	tcase_add_test(passwd, test_edited_passwd_file_applies_at_next_login);
	tcase_add_test(passwd, test_missing_passwd_file_refuses);
	tcase_add_test(passwd, test_without_passwd_file_only_guests);
	tcase_add_test(passwd, test_missing_home_is_an_error_not_a_refusal);
	tcase_add_test(passwd, test_system_users_go_to_pam_not_the_passwd_file);
	tcase_add_test(passwd, test_system_users_shells_open_in_the_session_process);

	tcase_add_loop_test(guests, test_anonymous_allowed, 0,
	    sizeof(guest_names) / sizeof(guest_names[0]));
	tcase_add_loop_test(guests, test_anonymous_disallowed, 0,
	    sizeof(guest_names) / sizeof(guest_names[0]));
	tcase_add_test(guests, test_guest_names);

	tcase_add_test(asynchrony, test_loop_runs_while_crypt_works);
	tcase_add_loop_test(asynchrony, test_cancel_mid_login, 0, CANCEL_MOMENTS);
	tcase_add_test(asynchrony, test_cancel_one_of_several);
	tcase_add_test(asynchrony, test_portal_freed_with_logins_in_flight);
	tcase_add_test(asynchrony, test_pool_freed_under_a_login_still_answers);
	tcase_add_loop_test(asynchrony, test_unknown_user_takes_as_long_as_known, 0,
	    sizeof(timing_schemes) / sizeof(timing_schemes[0]));

	tcase_add_test(realm, test_realm_home_directories);
	tcase_add_test(realm, test_realm_unknown_shell_fails_at_start);
	tcase_add_test(realm, test_realm_anonymous_shell_only_with_anonymous);

	tcase_add_test(pool, test_pool_many_jobs_and_cancellation);
	tcase_add_test(pool, test_pool_done_may_submit);
	tcase_add_test(pool, test_pool_free_cancels_pending_jobs);
	tcase_add_test(pool, test_pool_zero_threads_means_one);
	tcase_add_test(pool, test_pool_exclusive_runs_while_no_job_runs);
	tcase_add_test(pool, test_pool_exclusive_on_an_idle_pool);
	tcase_add_test(pool, test_pool_free_cancels_exclusive_calls);
	return suite;
}
