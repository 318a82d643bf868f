/*
 * test_checker_system: PAM logins of system accounts, against a real account
 * made with useradd (when run as root), a real worker pool and a real event loop.
 */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "suites.h"
#include "util/worker_pool.h"

/* Declared only here: the checker's hook for a shells file other than /etc/shells. */
void checker_system_set_shells_file(const char *path);

#define TEST_PASSWORD "Ftpd-test-Passw0rd-4711"
#define PAM_SERVICE_FILE "/etc/pam.d/ftpd"
#define PAM_SERVICE_SOURCE "conf/pam.d/ftpd"
#define FTPUSERS_FILE "/etc/ftpusers"

/*
 * The account lives for a whole test case and is made and removed by the
 * runner's process (an unchecked fixture): a test that fails ends its forked
 * process at once, without a checked teardown, and must not leave it behind.
 */
static struct {
	int ready;			/* the account exists and tests may use it */
	const char *skip_reason;
	char name[32];
	int installed_pam_service;	/* /etc/pam.d/ftpd is ours to remove */
	gid_t extra_group;		/* "users", given as a supplementary group */
	int has_extra_group;
	char directory[PATH_MAX];	/* for shells files, empty when not made */
	char shells_path[PATH_MAX];	/* in directory; the checker keeps a pointer to it */
} account;

/* Per test (checked fixture). */
static struct {
	struct config config;
	struct event_base *base;
	struct worker_pool *workers;
	struct checker *checker;
	pthread_t loop_thread;
} fixture;

struct check_result {
	int called;
	int error;
	struct avatar_id *id;
	pthread_t thread;
};

/* Full path of an administration tool, searched in PATH and then where it lives. */
static int
find_tool(const char *name, char output[PATH_MAX])
{
	const char *path = getenv("PATH");
	char directories[4096];
	char *directory, *saved;

	snprintf(directories, sizeof(directories), "%s:/usr/sbin:/sbin",
	    path != NULL ? path : "/usr/bin:/bin");
	for (directory = strtok_r(directories, ":", &saved); directory != NULL;
	    directory = strtok_r(NULL, ":", &saved)) {
		if (snprintf(output, PATH_MAX, "%s/%s", directory, name) >= PATH_MAX)
			continue;
		if (access(output, X_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * Runs argv[0], found as find_tool does, with no shell, feeding it input.
 * Its exit status, or -1; what it printed is shown only when it failed.
 */
static int
run_tool(const char *input, const char *const argv[])
{
	char path[PATH_MAX], output[2048];
	int input_pipe[2], output_pipe[2], status;
	ssize_t length;
	size_t used = 0;
	pid_t child;

	if (!find_tool(argv[0], path))
		return -1;
	if (pipe(input_pipe) != 0)
		return -1;
	if (pipe(output_pipe) != 0) {
		close(input_pipe[0]);
		close(input_pipe[1]);
		return -1;
	}
	child = fork();
	if (child == 0) {
		dup2(input_pipe[0], STDIN_FILENO);
		dup2(output_pipe[1], STDOUT_FILENO);
		dup2(output_pipe[1], STDERR_FILENO);
		close(input_pipe[0]);
		close(input_pipe[1]);
		close(output_pipe[0]);
		close(output_pipe[1]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(input_pipe[0]);
	close(output_pipe[1]);
	if (child > 0 && input != NULL &&
	    write(input_pipe[1], input, strlen(input)) != (ssize_t)strlen(input))
		fprintf(stderr, "%s: could not write its input\n", argv[0]);
	close(input_pipe[1]);
	/* These tools say a line or two: the pipe never fills while they wait on it. */
	while ((length = read(output_pipe[0], output + used, sizeof(output) - 1 - used)) > 0)
		used += (size_t)length;
	output[used] = '\0';
	close(output_pipe[0]);
	if (child < 0 || waitpid(child, &status, 0) != child)
		return -1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (status != 0)
		fprintf(stderr, "%s failed (%d): %s\n", argv[0], status, output);
	return status;
}

/* TOOL(input, "name", arguments...) */
#define TOOL(input, ...) run_tool((input), (const char *const[]){ __VA_ARGS__, NULL })

static int
copy_file(const char *from, const char *to)
{
	char buffer[4096];
	size_t length;
	FILE *in, *out;
	int error = 0;

	in = fopen(from, "r");
	if (in == NULL)
		return -1;
	out = fopen(to, "wx");
	if (out == NULL) {
		fclose(in);
		return -1;
	}
	while ((length = fread(buffer, 1, sizeof(buffer), in)) > 0)
		if (fwrite(buffer, 1, length, out) != length)
			error = -1;
	if (ferror(in))
		error = -1;
	fclose(in);
	if (fclose(out) != 0)
		error = -1;
	return error;
}

static void
account_setup(void)
{
	const char *temporary_root = getenv("TMPDIR");
	static const char *const tools[] = {
		"useradd", "usermod", "userdel", "chpasswd", "chage",
	};
	char tool_path[PATH_MAX];
	struct group *users;
	size_t i;
	int length;

	memset(&account, 0, sizeof(account));
	snprintf(account.name, sizeof(account.name), "ftpdtest%d", (int)getpid());
	snprintf(account.directory, sizeof(account.directory), "%s/ftpd-system-XXXXXX",
	    temporary_root != NULL ? temporary_root : "/tmp");
	if (mkdtemp(account.directory) == NULL) {
		account.directory[0] = '\0';
		account.skip_reason = "no temporary directory";
		return;
	}
	length = snprintf(account.shells_path, sizeof(account.shells_path), "%s/shells",
	    account.directory);
	if (length < 0 || (size_t)length >= sizeof(account.shells_path)) {
		account.skip_reason = "temporary directory path too long";
		return;
	}
	if (geteuid() != 0) {
		account.skip_reason = "not running as root (useradd and pam_unix need it)";
		return;
	}
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!find_tool(tools[i], tool_path)) {
			account.skip_reason = "useradd, usermod, userdel, chpasswd or chage missing";
			return;
		}
	}
	if (access(PAM_SERVICE_FILE, F_OK) != 0) {
		if (copy_file(PAM_SERVICE_SOURCE, PAM_SERVICE_FILE) == 0)
			account.installed_pam_service = 1;
		else
			fprintf(stderr, "checker_system: could not install %s from %s: "
			    "PAM falls back to its \"other\" service\n", PAM_SERVICE_FILE,
			    PAM_SERVICE_SOURCE);
	}
	users = getgrnam("users");
	if (users != NULL) {
		account.extra_group = users->gr_gid;
		account.has_extra_group = 1;
	}
	if (account.has_extra_group ?
	    TOOL(NULL, "useradd", "-m", "-s", "/bin/sh", "-G", "users", account.name) != 0 :
	    TOOL(NULL, "useradd", "-m", "-s", "/bin/sh", account.name) != 0) {
		account.skip_reason = "useradd failed";
		return;
	}
	account.ready = 1;
}

/* A test that failed while it held /etc/ftpusers leaves it behind: only ours is removed. */
static void
remove_our_ftpusers(void)
{
	char expected[64], content[64];
	size_t length;
	FILE *file;

	file = fopen(FTPUSERS_FILE, "r");
	if (file == NULL)
		return;
	length = fread(content, 1, sizeof(content) - 1, file);
	fclose(file);
	content[length] = '\0';
	snprintf(expected, sizeof(expected), "%s\n", account.name);
	if (strcmp(content, expected) == 0)
		unlink(FTPUSERS_FILE);
}

static void
account_teardown(void)
{
	if (account.ready && TOOL(NULL, "userdel", "-r", account.name) != 0)
		fprintf(stderr, "checker_system: could not remove user %s\n", account.name);
	if (geteuid() == 0)
		remove_our_ftpusers();
	if (account.installed_pam_service)
		unlink(PAM_SERVICE_FILE);
	if (account.directory[0] != '\0') {
		unlink(account.shells_path);
		rmdir(account.directory);
	}
	account.ready = 0;
}

/* Each test starts from a usable account, whatever the previous one changed. */
static void
reset_account(void)
{
	char line[128];

	ck_assert_int_eq(TOOL(NULL, "usermod", "-s", "/bin/sh", "-e", "", account.name), 0);
	snprintf(line, sizeof(line), "%s:%s\n", account.name, TEST_PASSWORD);
	/* Also unlocks, and makes the password changed today (not expired). */
	ck_assert_int_eq(TOOL(line, "chpasswd"), 0);
}

static void
setup(void)
{
	memset(&fixture, 0, sizeof(fixture));
	fixture.config.system_users = 1;
	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	fixture.workers = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.workers);
	fixture.checker = checker_system_new(fixture.workers);
	ck_assert_ptr_nonnull(fixture.checker);
	fixture.loop_thread = pthread_self();
	if (account.ready)
		reset_account();
}

static void
teardown(void)
{
	checker_system_set_shells_file("/etc/shells");
	worker_pool_free(fixture.workers);
	if (fixture.checker != NULL)
		checker_free(fixture.checker);
	if (fixture.base != NULL)
		event_base_free(fixture.base);
}

static int
skip_without_account(void)
{
	if (account.ready)
		return 0;
	printf("checker_system: test skipped: %s\n", account.skip_reason);
	return 1;
}

static void
check_done(void *arg, int error, struct avatar_id *id)
{
	struct check_result *result = arg;

	result->called++;
	result->error = error;
	result->id = id;
	result->thread = pthread_self();
}

static struct checker_request *
start_check(const char *user, const char *password, struct check_result *result)
{
	return fixture.checker->ops->check(fixture.checker, user, password, NULL, check_done,
	    result);
}

/* A check run to its end; the inputs are on the heap and freed as soon as check() returns. */
static struct check_result
check_login(const char *user, const char *password)
{
	struct check_result result = { 0 };
	char *user_copy = strdup(user), *password_copy = strdup(password);

	ck_assert_ptr_nonnull(user_copy);
	ck_assert_ptr_nonnull(password_copy);
	start_check(user_copy, password_copy, &result);
	free(user_copy);
	free(password_copy);
	while (result.called == 0)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(result.called, 1);
	ck_assert(pthread_equal(result.thread, fixture.loop_thread));
	if (result.error == 0)
		ck_assert_ptr_nonnull(result.id);
	else
		ck_assert_ptr_null(result.id);
	return result;
}

static void
assert_refused(const char *user, const char *password)
{
	ck_assert_int_eq(check_login(user, password).error, -EACCES);
}

static void
assert_accepted(const char *user, const char *password)
{
	struct check_result result = check_login(user, password);

	ck_assert_int_eq(result.error, 0);
	avatar_id_free(result.id);
}

static void
run_for(long milliseconds)
{
	struct timeval wait = { milliseconds / 1000, (milliseconds % 1000) * 1000 };

	event_base_loopexit(fixture.base, &wait);
	ck_assert_int_ge(event_base_dispatch(fixture.base), 0);
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static void
write_shells(const char *content)
{
	FILE *file;

	file = fopen(account.shells_path, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_ge(fputs(content, file), 0);
	ck_assert_int_eq(fclose(file), 0);
	checker_system_set_shells_file(account.shells_path);
}

/* --- refused before any lookup --- */

static const char *const invalid_names[] = {
	"",
	"has:colon",
	"has/slash",
	"new\nline",
	"carriage\rreturn",
	"tab\there",
	"escape\x1b[0m",
	"delete\x7f",
	/* CHECKER_USER_MAX + 1 bytes */
	"u1234567890123456789012345678901234567890123456789012345678901234",
};

START_TEST(test_invalid_names_answer_at_once)
{
	struct check_result result = { 0 };

	ck_assert_ptr_null(start_check(invalid_names[_i], "whatever", &result));
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, -EACCES);
	ck_assert_ptr_null(result.id);
}
END_TEST

START_TEST(test_too_long_password_answers_at_once)
{
	struct check_result result = { 0 };
	char password[CRYPT_MAX_PASSPHRASE_SIZE + 1];

	memset(password, 'p', sizeof(password) - 1);
	password[sizeof(password) - 1] = '\0';
	ck_assert_ptr_null(start_check("someone", password, &result));
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, -EACCES);

	/* One byte shorter is the longest a client may send: it goes to PAM. */
	memset(&result, 0, sizeof(result));
	password[CRYPT_MAX_PASSPHRASE_SIZE - 1] = '\0';
	ck_assert_ptr_nonnull(start_check("someone", password, &result));
	while (result.called == 0)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(result.called, 1);
	ck_assert_int_eq(result.error, -EACCES);
}
END_TEST

/* --- PAM --- */

START_TEST(test_unknown_user_is_refused)
{
	assert_refused("ftpd-no-such-user-4711", "whatever");
	assert_refused("ftpd-no-such-user-4711", "");
}
END_TEST

START_TEST(test_right_password_gives_the_account)
{
	struct check_result result;
	struct passwd *entry;
	int i, found_gid = 0, found_extra = 0;

	if (skip_without_account())
		return;
	entry = getpwnam(account.name);
	ck_assert_ptr_nonnull(entry);

	result = check_login(account.name, TEST_PASSWORD);
	ck_assert_int_eq(result.error, 0);
	ck_assert_str_eq(result.id->name, account.name);
	ck_assert_int_eq(result.id->anonymous, 0);
	ck_assert_ptr_nonnull(result.id->home);
	ck_assert_str_eq(result.id->home, entry->pw_dir);
	ck_assert_ptr_nonnull(result.id->account);
	ck_assert_uint_eq(result.id->account->uid, entry->pw_uid);
	ck_assert_uint_eq(result.id->account->gid, entry->pw_gid);
	ck_assert_int_ge(result.id->account->group_count, 1);
	ck_assert_int_le(result.id->account->group_count, CHECKER_GROUPS_MAX);
	for (i = 0; i < result.id->account->group_count; i++) {
		found_gid |= result.id->account->groups[i] == entry->pw_gid;
		found_extra |= account.has_extra_group &&
		    result.id->account->groups[i] == account.extra_group;
	}
	ck_assert(found_gid);
	ck_assert_int_eq(found_extra, account.has_extra_group);
	avatar_id_free(result.id);
}
END_TEST

START_TEST(test_wrong_password_is_refused_without_pam_delay)
{
	static const char *const wrong[] = {
		"wrong", "", TEST_PASSWORD "x", "ftpd-test-passw0rd-4711",
	};
	char other_case[sizeof(account.name)];
	struct timespec start;
	double milliseconds;
	size_t i;

	if (skip_without_account())
		return;
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		clock_gettime(CLOCK_MONOTONIC, &start);
		assert_refused(account.name, wrong[i]);
		milliseconds = elapsed_ms(&start);
		/* pam_unix asks for about 2 s (randomised); the session delays instead. */
		ck_assert_msg(milliseconds < 1000, "wrong password took %.0f ms", milliseconds);
		if (i == 0)
			printf("checker_system: wrong password refused in %.0f ms\n", milliseconds);
	}
	/* The name is case-sensitive. */
	strcpy(other_case, account.name);
	other_case[0] = 'F';
	assert_refused(other_case, TEST_PASSWORD);
}
END_TEST

START_TEST(test_empty_password_never_logs_in)
{
	struct check_result result;

	if (skip_without_account())
		return;
	/* Debian's common-auth says nullok; PAM_DISALLOW_NULL_AUTHTOK overrides it. */
	ck_assert_int_eq(TOOL(NULL, "usermod", "-p", "", account.name), 0);
	result = check_login(account.name, "");
	ck_assert_int_eq(result.error, -EACCES);
	assert_refused(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_shell_not_in_shells_is_refused)
{
	if (skip_without_account())
		return;
	ck_assert_int_eq(TOOL(NULL, "usermod", "-s", "/usr/sbin/nologin", account.name), 0);
	assert_refused(account.name, TEST_PASSWORD);
	ck_assert_int_eq(TOOL(NULL, "usermod", "-s", "/bin/false", account.name), 0);
	assert_refused(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_locked_account_is_refused)
{
	if (skip_without_account())
		return;
	ck_assert_int_eq(TOOL(NULL, "usermod", "-L", account.name), 0);
	assert_refused(account.name, TEST_PASSWORD);
	ck_assert_int_eq(TOOL(NULL, "usermod", "-U", account.name), 0);
	assert_accepted(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_expired_account_is_refused)
{
	if (skip_without_account())
		return;
	/* Only pam_acct_mgmt notices this: the password itself is right. */
	ck_assert_int_eq(TOOL(NULL, "usermod", "-e", "1970-01-02", account.name), 0);
	assert_refused(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_password_change_required_is_refused)
{
	if (skip_without_account())
		return;
	/* FTP cannot change a password, so an account that must is not let in. */
	ck_assert_int_eq(TOOL(NULL, "chage", "-d", "0", account.name), 0);
	assert_refused(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_shells_file_decides)
{
	struct check_result result;

	if (skip_without_account())
		return;
	write_shells("/bin/bash\n/bin/shell\n # /bin/sh\n/bin/s\n");
	assert_refused(account.name, TEST_PASSWORD);

	write_shells("# comment\n\n  /bin/sh  # the account's\r\n/bin/bash\n");
	result = check_login(account.name, TEST_PASSWORD);
	ck_assert_int_eq(result.error, 0);
	avatar_id_free(result.id);

	/* An unreadable list lets no one in. */
	checker_system_set_shells_file("/nonexistent/ftpd-shells");
	assert_refused(account.name, TEST_PASSWORD);
}
END_TEST

START_TEST(test_ftpusers_denies)
{
	char line[64];
	FILE *file;

	if (skip_without_account())
		return;
	if (!account.installed_pam_service || access(FTPUSERS_FILE, F_OK) == 0) {
		printf("checker_system: ftpusers test skipped: %s is not this test's "
		    "or %s exists\n", PAM_SERVICE_FILE, FTPUSERS_FILE);
		return;
	}
	snprintf(line, sizeof(line), "%s\n", account.name);
	file = fopen(FTPUSERS_FILE, "wx");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_ge(fputs(line, file), 0);
	ck_assert_int_eq(fclose(file), 0);
	assert_refused(account.name, TEST_PASSWORD);
	remove_our_ftpusers();
	assert_accepted(account.name, TEST_PASSWORD);
}
END_TEST

/* --- asynchrony --- */

enum cancel_moment {
	CANCEL_AT_ONCE,		/* queued or in PAM */
	CANCEL_AFTER_WORK,	/* work finished, done() not yet run */
	CANCEL_THEN_FREE_POOL,	/* shutdown right after cancel */
	CANCEL_MOMENTS
};

START_TEST(test_cancelled_check_never_answers)
{
	struct check_result results[4];
	struct checker_request *requests[4];
	const char *user = account.ready ? account.name : "ftpd-no-such-user-4711";
	size_t i;

	memset(results, 0, sizeof(results));
	for (i = 0; i < 4; i++) {
		/* The right password when there is an account: a cancelled id must be freed. */
		requests[i] = start_check(user, i % 2 ? "wrong" : TEST_PASSWORD, &results[i]);
		ck_assert_ptr_nonnull(requests[i]);
	}
	if (_i == CANCEL_AFTER_WORK)
		usleep(500 * 1000);	/* loop not running: results wait for it */
	for (i = 0; i < 4; i++)
		fixture.checker->ops->cancel(requests[i]);
	if (_i == CANCEL_THEN_FREE_POOL) {
		worker_pool_free(fixture.workers);
		fixture.workers = NULL;
	} else
		run_for(_i == CANCEL_AT_ONCE ? 800 : 100);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(results[i].called, 0);
}
END_TEST

START_TEST(test_pool_freed_under_a_check_still_answers)
{
	struct check_result result = { 0 };

	ck_assert_ptr_nonnull(start_check("ftpd-no-such-user-4711", "whatever", &result));
	worker_pool_free(fixture.workers);
	fixture.workers = NULL;
	ck_assert_int_eq(result.called, 1);
	ck_assert_ptr_null(result.id);
	ck_assert(result.error == -EACCES || result.error == -ECANCELED);
}
END_TEST


Suite *
checker_system_suite(void)
{
	Suite *suite = suite_create("checker_system");
	TCase *early = tcase_create("refused_at_once");
	TCase *pam = tcase_create("pam");
	TCase *asynchrony = tcase_create("asynchrony");
	TCase *all[] = { early, pam, asynchrony };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		/* useradd, chpasswd and hashing under ASan on a busy machine can be slow. */
		tcase_set_timeout(all[i], 60);
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(suite, all[i]);
	}
	tcase_add_unchecked_fixture(pam, account_setup, account_teardown);
	tcase_add_unchecked_fixture(asynchrony, account_setup, account_teardown);

	tcase_add_loop_test(early, test_invalid_names_answer_at_once, 0,
	    sizeof(invalid_names) / sizeof(invalid_names[0]));
	tcase_add_test(early, test_too_long_password_answers_at_once);

	tcase_add_test(pam, test_unknown_user_is_refused);
	tcase_add_test(pam, test_right_password_gives_the_account);
	tcase_add_test(pam, test_wrong_password_is_refused_without_pam_delay);
	tcase_add_test(pam, test_empty_password_never_logs_in);
	tcase_add_test(pam, test_shell_not_in_shells_is_refused);
	tcase_add_test(pam, test_locked_account_is_refused);
	tcase_add_test(pam, test_expired_account_is_refused);
	tcase_add_test(pam, test_password_change_required_is_refused);
	tcase_add_test(pam, test_shells_file_decides);
	tcase_add_test(pam, test_ftpusers_denies);

	tcase_add_loop_test(asynchrony, test_cancelled_check_never_answers, 0, CANCEL_MOMENTS);
	tcase_add_test(asynchrony, test_pool_freed_under_a_check_still_answers);
	return suite;
}
