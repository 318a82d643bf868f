/*
 * test_daemon: the pid file, detaching and the privilege drop, each in a forked child
 * where the process itself changes, with what it became reported back through a pipe.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config/config.h"
#include "server/daemon.h"
#include "suites.h"

#define MAX_GROUPS 64

static char directory[64];
static char pid_path[PATH_MAX];
static struct config config;

/* What a forked child found out about itself. */
struct report {
	int result;			/* of the call under test */
	int second_result;		/* of a follow-up call, where there is one */
	pid_t pid, sid;
	uid_t uid, euid, suid;
	gid_t gid, egid, sgid;
	int group_count;
	gid_t groups[MAX_GROUPS];
	int regained;			/* setuid(0), seteuid(0) or setgid(0) worked */
	int dumpable;
	int sees_marker;		/* "/marker" exists: the chroot happened */
};

static void
setup(void)
{
	strcpy(directory, "/tmp/ftpd-daemon-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(directory));
	/* Everyone may enter it, so an unprivileged child finds its pid file. */
	ck_assert_int_eq(chmod(directory, 0755), 0);
	snprintf(pid_path, sizeof(pid_path), "%s/ftpd.pid", directory);
	ck_assert_int_eq(config_init(&config), 0);
	free(config.user);
	config.user = NULL;
}

static void
teardown(void)
{
	char command[PATH_MAX + 16];

	config_free(&config);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	ck_assert_int_eq(system(command), 0);
}

static void
set_user(const char *name)
{
	free(config.user);
	config.user = strdup(name);
	ck_assert_ptr_nonnull(config.user);
}

/* The whole content of path, or "" when it cannot be read. */
static const char *
read_text(const char *path)
{
	static char text[256];
	FILE *file = fopen(path, "r");
	size_t got;

	text[0] = '\0';
	if (file == NULL)
		return text;
	got = fread(text, 1, sizeof(text) - 1, file);
	text[got] = '\0';
	fclose(file);
	return text;
}

static const char *
pid_text(pid_t pid)
{
	static char text[32];

	snprintf(text, sizeof(text), "%ld\n", (long)pid);
	return text;
}

/* Fills in who the calling process is now. */
static void
describe_self(struct report *report)
{
	report->pid = getpid();
	report->sid = getsid(0);
	getresuid(&report->uid, &report->euid, &report->suid);
	getresgid(&report->gid, &report->egid, &report->sgid);
	report->group_count = getgroups(MAX_GROUPS, report->groups);
	report->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	report->sees_marker = access("/marker", F_OK) == 0;
}

/* After a drop: any way back to root is a failure to report. */
static int
can_regain_root(void)
{
	return setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0 ||
	    setgroups(0, NULL) == 0;
}

typedef void (*child_body)(struct report *report);

/* Runs body in a forked child and returns its report; the child must exit 0. */
static struct report
in_child(child_body body)
{
	struct report report;
	int pipe_fds[2], status;
	pid_t child;

	ck_assert_int_eq(pipe(pipe_fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(pipe_fds[0]);
		memset(&report, 0, sizeof(report));
		body(&report);
		_exit(write(pipe_fds[1], &report, sizeof(report)) == (ssize_t)sizeof(report) ?
		    0 : 1);
	}
	close(pipe_fds[1]);
	ck_assert_int_eq(read(pipe_fds[0], &report, sizeof(report)), (ssize_t)sizeof(report));
	close(pipe_fds[0]);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return report;
}

static struct passwd
nobody(void)
{
	struct passwd *account = getpwnam("nobody");

	ck_assert_ptr_nonnull(account);
	ck_assert_uint_ne(account->pw_uid, 0);
	return *account;
}

/* The pid file. */

START_TEST(test_pid_file_written_and_removed)
{
	struct stat status;

	ck_assert_int_eq(daemon_write_pid_file(pid_path, &config), 0);
	ck_assert_str_eq(read_text(pid_path), pid_text(getpid()));
	ck_assert_int_eq(stat(pid_path, &status), 0);
	ck_assert_uint_eq(status.st_mode & 07777, 0644);
	daemon_remove_pid_file(pid_path);
	ck_assert_int_eq(access(pid_path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_pid_file_replaces_stale_content)
{
	FILE *file = fopen(pid_path, "w");

	ck_assert_ptr_nonnull(file);
	fputs("123456789012345\nleft over\n", file);
	ck_assert_int_eq(fclose(file), 0);
	ck_assert_int_eq(daemon_write_pid_file(pid_path, &config), 0);
	ck_assert_str_eq(read_text(pid_path), pid_text(getpid()));
}
END_TEST

START_TEST(test_pid_file_does_not_follow_symlink)
{
	char target[PATH_MAX];
	FILE *file;

	/* Whoever may write the directory must not make root write somewhere else. */
	snprintf(target, sizeof(target), "%s/target", directory);
	file = fopen(target, "w");
	ck_assert_ptr_nonnull(file);
	fputs("precious\n", file);
	ck_assert_int_eq(fclose(file), 0);
	ck_assert_int_eq(symlink(target, pid_path), 0);
	ck_assert_int_eq(daemon_write_pid_file(pid_path, &config), -ELOOP);
	ck_assert_str_eq(read_text(target), "precious\n");
}
END_TEST

START_TEST(test_pid_file_in_missing_directory)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/missing/ftpd.pid", directory);
	ck_assert_int_eq(daemon_write_pid_file(path, &config), -ENOENT);
}
END_TEST

START_TEST(test_pid_file_belongs_to_user)
{
	struct passwd account = nobody();
	struct stat status;

	/* Only root can hand the file over. */
	if (geteuid() != 0)
		return;
	set_user("nobody");
	ck_assert_int_eq(daemon_write_pid_file(pid_path, &config), 0);
	ck_assert_int_eq(stat(pid_path, &status), 0);
	ck_assert_uint_eq(status.st_uid, account.pw_uid);
	ck_assert_uint_eq(status.st_gid, account.pw_gid);
}
END_TEST

static void
become_nobody(struct report *report)
{
	struct passwd account = nobody();
	gid_t group = account.pw_gid;

	report->result = daemon_become("nobody", account.pw_uid, account.pw_gid, &group, 1);
}

/* Unprivileged, in a directory it may not write: the file cannot go, so it is emptied. */
static void
remove_pid_file_as_nobody(struct report *report)
{
	become_nobody(report);
	daemon_remove_pid_file(pid_path);
	report->second_result = access(pid_path, W_OK);
}

START_TEST(test_pid_file_emptied_when_not_removable)
{
	struct report report;
	struct stat status;

	if (geteuid() != 0)
		return;
	set_user("nobody");
	ck_assert_int_eq(daemon_write_pid_file(pid_path, &config), 0);
	report = in_child(remove_pid_file_as_nobody);
	ck_assert_int_eq(report.result, 0);
	ck_assert_int_eq(report.second_result, 0);
	ck_assert_int_eq(stat(pid_path, &status), 0);
	ck_assert_int_eq(status.st_size, 0);
}
END_TEST

/* Detaching. */

static int report_pipe = -1;

/* The detached child writes the pid file and says who it is before releasing the parent. */
static void
detach_and_serve(struct report *report)
{
	int result = daemon_detach();

	/* Only the detached grandchild gets here; the waiting parent exits in daemon_detach. */
	report->result = result;
	report->second_result = daemon_write_pid_file(pid_path, &config);
	describe_self(report);
	if (write(report_pipe, report, sizeof(*report)) != (ssize_t)sizeof(*report))
		_exit(1);
	daemon_ready();
	_exit(0);
}

static void
detach_and_die(struct report *report)
{
	report->result = daemon_detach();
	_exit(3);
}

/*
 * Forks a child running body, which detaches. Returns the exit status of
 * that child (the parent daemon_detach keeps waiting); *child is its pid.
 */
static int
run_detaching(child_body body, struct report *report, ssize_t *reported, pid_t *child)
{
	int pipe_fds[2], status;

	memset(report, 0, sizeof(*report));
	ck_assert_int_eq(pipe(pipe_fds), 0);
	*child = fork();
	ck_assert_int_ge(*child, 0);
	if (*child == 0) {
		struct report scratch;

		close(pipe_fds[0]);
		report_pipe = pipe_fds[1];
		memset(&scratch, 0, sizeof(scratch));
		body(&scratch);
		_exit(2);
	}
	close(pipe_fds[1]);
	ck_assert_int_eq(waitpid(*child, &status, 0), *child);
	ck_assert(WIFEXITED(status));
	/* The waiting parent is gone; what the detached process said is in the pipe. */
	*reported = read(pipe_fds[0], report, sizeof(*report));
	close(pipe_fds[0]);
	return WEXITSTATUS(status);
}

START_TEST(test_detach_waits_for_ready)
{
	struct report report;
	ssize_t reported;
	pid_t child;

	ck_assert_int_eq(run_detaching(detach_and_serve, &report, &reported, &child), 0);
	ck_assert_int_eq(reported, (ssize_t)sizeof(report));
	ck_assert_int_eq(report.result, 0);
	ck_assert_int_eq(report.second_result, 0);
	/* A new process, leading its own session, and the pid file names it. */
	ck_assert_int_gt(report.pid, 0);
	ck_assert_int_ne(report.pid, child);
	ck_assert_int_ne(report.pid, getpid());
	ck_assert_int_eq(report.sid, report.pid);
	ck_assert_int_ne(getsid(0), report.sid);
	ck_assert_str_eq(read_text(pid_path), pid_text(report.pid));
}
END_TEST

START_TEST(test_detach_fails_when_child_dies_first)
{
	struct report report;
	ssize_t reported;
	pid_t child;

	/* The start-up failed: whoever started ftpd must see a failure. */
	ck_assert_int_eq(run_detaching(detach_and_die, &report, &reported, &child), 1);
	ck_assert_int_eq(reported, 0);
}
END_TEST

START_TEST(test_ready_without_detach_keeps_stdio)
{
	struct stat before, after;

	/* In the foreground (inetd, systemd) daemon_ready leaves stderr alone. */
	ck_assert_int_eq(fstat(STDERR_FILENO, &before), 0);
	daemon_ready();
	ck_assert_int_eq(fstat(STDERR_FILENO, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	ck_assert_uint_eq(before.st_dev, after.st_dev);
}
END_TEST

/* Dropping privileges (root only). */

static int
expected_groups(const char *name, gid_t gid, gid_t groups[MAX_GROUPS])
{
	int count = MAX_GROUPS;

	ck_assert_int_ge(getgrouplist(name, gid, groups, &count), 0);
	return count;
}

static int
compare_gids(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static void
ck_assert_same_groups(gid_t *got, int got_count, gid_t *expected, int expected_count)
{
	int i;

	ck_assert_int_eq(got_count, expected_count);
	qsort(got, (size_t)got_count, sizeof(gid_t), compare_gids);
	qsort(expected, (size_t)expected_count, sizeof(gid_t), compare_gids);
	for (i = 0; i < got_count; i++)
		ck_assert_uint_eq(got[i], expected[i]);
}

static void
ck_assert_became(const struct report *report, uid_t uid, gid_t gid)
{
	ck_assert_uint_eq(report->uid, uid);
	ck_assert_uint_eq(report->euid, uid);
	ck_assert_uint_eq(report->suid, uid);
	ck_assert_uint_eq(report->gid, gid);
	ck_assert_uint_eq(report->egid, gid);
	ck_assert_uint_eq(report->sgid, gid);
	ck_assert_int_eq(report->regained, 0);
}

/* What a worker does: the identity looked up (by the monitor), then taken with the chroot. */
static void
drop(struct report *report)
{
	struct daemon_identity identity;

	report->result = daemon_identity_lookup(config.user, &identity);
	if (report->result == 0)
		report->result = daemon_take_identity(&identity, config.chroot);
	report->regained = can_regain_root();
	describe_self(report);
}

START_TEST(test_drop_privileges_to_user)
{
	struct passwd account = nobody();
	gid_t groups[MAX_GROUPS];
	struct report report;
	int count;

	if (geteuid() != 0)
		return;
	set_user("nobody");
	report = in_child(drop);
	ck_assert_int_eq(report.result, 0);
	ck_assert_became(&report, account.pw_uid, account.pw_gid);
	/* The user's own groups, not root's. */
	count = expected_groups("nobody", account.pw_gid, groups);
	ck_assert_same_groups(report.groups, report.group_count, groups, count);
	ck_assert_int_eq(report.sees_marker, 0);
	/* This process is unchanged. */
	ck_assert_uint_eq(geteuid(), 0);
}
END_TEST

START_TEST(test_drop_privileges_with_chroot)
{
	struct passwd account = nobody();
	char marker[PATH_MAX];
	struct report report;
	FILE *file;

	if (geteuid() != 0)
		return;
	snprintf(marker, sizeof(marker), "%s/marker", directory);
	file = fopen(marker, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(fclose(file), 0);
	set_user("nobody");
	free(config.chroot);
	config.chroot = strdup(directory);
	report = in_child(drop);
	ck_assert_int_eq(report.result, 0);
	ck_assert_int_eq(report.sees_marker, 1);
	ck_assert_became(&report, account.pw_uid, account.pw_gid);
}
END_TEST

START_TEST(test_drop_privileges_unknown_user)
{
	struct report report;

	if (geteuid() != 0)
		return;
	/* Never a silent stay-root. */
	set_user("ftpd-no-such-user-here");
	report = in_child(drop);
	ck_assert_int_eq(report.result, -ENOENT);
}
END_TEST

/* daemon_become: what a session process does after a system user logged in. */

static void
become_with_groups(struct report *report)
{
	struct passwd account = nobody();
	gid_t groups[2] = { account.pw_gid, 4242 };

	report->result = daemon_become("nobody", account.pw_uid, account.pw_gid, groups, 2);
	report->regained = can_regain_root();
	describe_self(report);
}

START_TEST(test_become_drops_for_good)
{
	struct passwd account = nobody();
	gid_t expected[2] = { account.pw_gid, 4242 };
	struct report report;

	if (geteuid() != 0)
		return;
	report = in_child(become_with_groups);
	ck_assert_int_eq(report.result, 0);
	ck_assert_became(&report, account.pw_uid, account.pw_gid);
	/* Exactly the groups given: nothing of root's stays. */
	ck_assert_same_groups(report.groups, report.group_count, expected, 2);
	/* Other processes of the user may not ptrace it. */
	ck_assert_int_eq(report.dumpable, 0);
}
END_TEST

static void
become_root(struct report *report)
{
	report->result = daemon_become("root", 0, 0, NULL, 0);
	describe_self(report);
}

START_TEST(test_become_refuses_root)
{
	struct report report = in_child(become_root);

	ck_assert_int_eq(report.result, -EPERM);
	/* Refused before anything changed. */
	ck_assert_uint_eq(report.euid, geteuid());
	ck_assert_uint_eq(report.egid, getegid());
}
END_TEST

Suite *
daemon_suite(void)
{
	Suite *suite = suite_create("daemon");
	TCase *pid_file = tcase_create("pid file");
	TCase *detach = tcase_create("detach");
	TCase *privileges = tcase_create("privileges");

	tcase_add_checked_fixture(pid_file, setup, teardown);
	tcase_add_test(pid_file, test_pid_file_written_and_removed);
	tcase_add_test(pid_file, test_pid_file_replaces_stale_content);
	tcase_add_test(pid_file, test_pid_file_does_not_follow_symlink);
	tcase_add_test(pid_file, test_pid_file_in_missing_directory);
	tcase_add_test(pid_file, test_pid_file_belongs_to_user);
	tcase_add_test(pid_file, test_pid_file_emptied_when_not_removable);
	suite_add_tcase(suite, pid_file);

	tcase_add_checked_fixture(detach, setup, teardown);
	tcase_add_test(detach, test_detach_waits_for_ready);
	tcase_add_test(detach, test_detach_fails_when_child_dies_first);
	tcase_add_test(detach, test_ready_without_detach_keeps_stdio);
	suite_add_tcase(suite, detach);

	tcase_add_checked_fixture(privileges, setup, teardown);
	tcase_add_test(privileges, test_drop_privileges_to_user);
	tcase_add_test(privileges, test_drop_privileges_with_chroot);
	tcase_add_test(privileges, test_drop_privileges_unknown_user);
	tcase_add_test(privileges, test_become_drops_for_good);
	tcase_add_test(privileges, test_become_refuses_root);
	suite_add_tcase(suite, privileges);
	return suite;
}
