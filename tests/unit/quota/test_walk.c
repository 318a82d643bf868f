/*
 * test_walk: the quota/walk part over the fs shell and a real tree: what
 * is counted, symlinks never followed, many entries, and a walk nobody wants.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "fs/fs.h"
#include "quota/walk.h"
#include "suites.h"

static struct {
	char root[64];
	char outside[64];
	struct event_base *base;
	struct ftpd_shell *shell;
	int wanted;
	int done_calls;
	int error;
	struct quota_usage usage;
} fixture;

static void
make_file(const char *name, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fixture.root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void
make_directory(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture.root, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
make_link(const char *target, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture.root, name);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void
setup(void)
{
	struct ftpd_shell_config config = { 0 };
	char path[128];

	memset(&fixture, 0, sizeof(fixture));
	strcpy(fixture.root, "/tmp/ftpd-walk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fixture.root));
	strcpy(fixture.outside, "/tmp/ftpd-walk-outside-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fixture.outside));
	snprintf(path, sizeof(path), "%s/big", fixture.outside);
	ck_assert_int_eq(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
	ck_assert_int_eq(truncate(path, 1 << 20), 0);
	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	config.root = fixture.root;
	config.user = "tester";
	ck_assert_int_eq(shell_fs_create(&config, &fixture.shell), 0);
	fixture.wanted = 1;
}

static void
teardown(void)
{
	char command[320];

	fixture.shell->ops->destroy(fixture.shell);
	event_base_free(fixture.base);
	snprintf(command, sizeof(command), "chmod -R u+rwx '%s'; rm -rf '%s' '%s'", fixture.root,
	    fixture.root, fixture.outside);
	ck_assert_int_eq(system(command), 0);
}

static int
wanted(void *arg)
{
	ck_assert_ptr_eq(arg, &fixture);
	return fixture.wanted;
}

static void
walked(void *arg, int error, const struct quota_usage *usage)
{
	ck_assert_ptr_eq(arg, &fixture);
	fixture.done_calls++;
	fixture.error = error;
	fixture.usage = *usage;
}

/* Walks the root to its end; returns the turns of the event loop it took. */
static int
walk(void)
{
	struct quota_walk_request request = {
		.base = fixture.base, .shell = fixture.shell, .wanted = wanted,
		.done = walked, .arg = &fixture,
	};
	int turns = 0;

	ck_assert_int_eq(quota_walk_start(&request), 0);
	ck_assert_int_eq(fixture.done_calls, 0);
	while (fixture.done_calls == 0 && turns < 100000) {
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
		turns++;
	}
	ck_assert_int_eq(fixture.done_calls, 1);
	return turns;
}

START_TEST(test_empty_home)
{
	walk();
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_int_eq(fixture.usage.known, 1);
	ck_assert_uint_eq(fixture.usage.bytes, 0);
	ck_assert_uint_eq(fixture.usage.files, 0);
}
END_TEST

START_TEST(test_counts_files_and_directories)
{
	make_file("a.bin", 1000);
	make_directory("sub");
	make_file("sub/b.bin", 234);
	make_directory("sub/deeper");
	make_file("sub/deeper/c.bin", 5);
	make_file("sub/deeper/empty", 0);
	make_directory("empty-dir");
	walk();
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_uint_eq(fixture.usage.bytes, 1239);
	/* 4 files and 3 directories; the home itself is not counted. */
	ck_assert_uint_eq(fixture.usage.files, 7);
}
END_TEST

START_TEST(test_symlinks_are_counted_not_followed)
{
	char path[128];

	make_directory("sub");
	make_file("sub/real.bin", 10);
	make_link("sub", "loop-to-sub");
	make_link(".", "sub/loop-to-root");
	snprintf(path, sizeof(path), "%s/big", fixture.outside);
	make_link(path, "outside-file");
	make_link(fixture.outside, "outside-dir");
	walk();
	ck_assert_int_eq(fixture.error, 0);
	/* Only the one real file's bytes: nothing through a link. */
	ck_assert_uint_eq(fixture.usage.bytes, 10);
	ck_assert_uint_eq(fixture.usage.files, 6);
}
END_TEST

START_TEST(test_many_entries_take_many_turns)
{
	char name[64];
	int i, turns;

	make_directory("many");
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "many/f%04d", i);
		make_file(name, 3);
	}
	turns = walk();
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_uint_eq(fixture.usage.files, 3001);
	ck_assert_uint_eq(fixture.usage.bytes, 9000);
	/* In batches: other sessions get their turns in between. */
	ck_assert_int_ge(turns, 10);
}
END_TEST

START_TEST(test_unreadable_directory_is_skipped)
{
	char path[128];

	if (geteuid() == 0)
		return;		/* root reads it all the same */
	make_file("a.bin", 7);
	make_directory("closed");
	make_file("closed/hidden.bin", 100);
	snprintf(path, sizeof(path), "%s/closed", fixture.root);
	ck_assert_int_eq(chmod(path, 0), 0);
	walk();
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_uint_eq(fixture.usage.bytes, 7);
	ck_assert_uint_eq(fixture.usage.files, 2);
}
END_TEST

START_TEST(test_walk_nobody_wants_stops)
{
	make_file("a.bin", 7);
	fixture.wanted = 0;
	walk();
	ck_assert_int_eq(fixture.error, -ECANCELED);
}
END_TEST

Suite *
quota_walk_suite(void)
{
	Suite *suite = suite_create("quota_walk");
	TCase *tcase = tcase_create("walk");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_empty_home);
	tcase_add_test(tcase, test_counts_files_and_directories);
	tcase_add_test(tcase, test_symlinks_are_counted_not_followed);
	tcase_add_test(tcase, test_many_entries_take_many_turns);
	tcase_add_test(tcase, test_unreadable_directory_is_skipped);
	tcase_add_test(tcase, test_walk_nobody_wants_stops);
	suite_add_tcase(suite, tcase);
	return suite;
}
