/*
 * test_path: the path part: client paths and the working directory folded
 * into segments below the root, with escapes, NUL and over-long input refused.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "path/path.h"

Suite *path_suite(void);

/* Builds the working directory a case starts from, from its "/a/b" form. */
static struct path
make_cwd(const char *cwd)
{
	struct path root = PATH_ROOT, result;

	ck_assert_int_eq(path_resolve(&root, cwd, strlen(cwd), &result), 0);
	return result;
}

static void
assert_path_is(const struct path *path, const char *expected)
{
	char *string = path_to_string(path);

	ck_assert_ptr_nonnull(string);
	ck_assert_str_eq(string, expected);
	free(string);
}

struct resolve_case {
	const char *cwd;
	const char *input;
	size_t length;		/* 0: strlen(input); set for inputs with a NUL */
	int error;
	const char *expected;
};

static const struct resolve_case resolve_cases[] = {
	{ "/", "", 0, 0, "/" },
	{ "/a/b", "", 0, 0, "/a/b" },
	{ "/", "/", 0, 0, "/" },
	{ "/", "//", 0, 0, "/" },
	{ "/", "/.", 0, 0, "/" },
	{ "/", ".", 0, 0, "/" },
	{ "/", "..", 0, 0, "/" },
	{ "/", "../../etc/passwd", 0, 0, "/etc/passwd" },
	{ "/", "/a/../../b", 0, 0, "/b" },
	{ "/", "/../../../..", 0, 0, "/" },
	{ "/", "a//b/./c", 0, 0, "/a/b/c" },
	{ "/", "a/b/", 0, 0, "/a/b" },
	{ "/", "/a/b//", 0, 0, "/a/b" },
	{ "/", "./a/./", 0, 0, "/a" },
	{ "/", "~", 0, 0, "/~" },
	{ "/", "~/x", 0, 0, "/~/x" },
	{ "/", "~root", 0, 0, "/~root" },
	{ "/", "...", 0, 0, "/..." },
	{ "/", ".hidden", 0, 0, "/.hidden" },
	{ "/", "..a/a..", 0, 0, "/..a/a.." },
	{ "/", "a\\b", 0, 0, "/a\\b" },
	{ "/", "name with spaces", 0, 0, "/name with spaces" },
	{ "/", " lead/trail ", 0, 0, "/ lead/trail " },
	{ "/", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", 0, 0,
	    "/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac" },
	{ "/a/b", "c", 0, 0, "/a/b/c" },
	{ "/a/b", "c/d/", 0, 0, "/a/b/c/d" },
	{ "/a/b", "..", 0, 0, "/a" },
	{ "/a/b", "../c", 0, 0, "/a/c" },
	{ "/a/b", "../../..", 0, 0, "/" },
	{ "/a/b", "../../../x", 0, 0, "/x" },
	{ "/a/b", "/x", 0, 0, "/x" },
	{ "/a/b", "./c/../d", 0, 0, "/a/b/d" },
	{ "/a/b", "//x//y", 0, 0, "/x/y" },
	{ "/", "a\0b", 3, -EINVAL, NULL },
	{ "/", "a\0", 2, -EINVAL, NULL },
	{ "/", "\0", 1, -EINVAL, NULL },
	{ "/a", "../\0/..", 6, -EINVAL, NULL },
};

START_TEST(test_resolve_table)
{
	const struct resolve_case *test = &resolve_cases[_i];
	size_t length = test->length != 0 ? test->length : strlen(test->input);
	struct path cwd = make_cwd(test->cwd), result;
	int error;

	result.segments = (char **)&result;	/* must be overwritten */
	result.count = 99;
	error = path_resolve(&cwd, test->input, length, &result);
	ck_assert_msg(error == test->error, "case %d (%s): got %d, expected %d",
	    _i, test->input, error, test->error);
	if (test->error == 0) {
		assert_path_is(&result, test->expected);
	} else {
		ck_assert_ptr_null(result.segments);
		ck_assert_uint_eq(result.count, 0);
	}
	path_free(&result);
	path_free(&cwd);
}
END_TEST

/* Bounds: input built at run time, with the lengths at and past each limit. */
enum bound_kind {
	SEGMENT_AT_LIMIT,
	SEGMENT_PAST_LIMIT,
	LENGTH_AT_LIMIT,
	LENGTH_PAST_LIMIT,
	DEPTH_AT_LIMIT,
	DEPTH_PAST_LIMIT,
	DEPTH_PAST_LIMIT_THEN_BACK,
	CWD_AT_DEPTH_LIMIT_PLUS_ONE,
	CWD_AT_DEPTH_LIMIT_PLUS_ONE_MINUS_ONE,
	SEGMENT_PAST_LIMIT_THEN_BACK,
};

struct bound_case {
	enum bound_kind kind;
	int error;
};

static const struct bound_case bound_cases[] = {
	{ SEGMENT_AT_LIMIT, 0 },
	{ SEGMENT_PAST_LIMIT, -ENAMETOOLONG },
	{ LENGTH_AT_LIMIT, 0 },
	{ LENGTH_PAST_LIMIT, -ENAMETOOLONG },
	{ DEPTH_AT_LIMIT, 0 },
	{ DEPTH_PAST_LIMIT, -ENAMETOOLONG },
	{ DEPTH_PAST_LIMIT_THEN_BACK, 0 },
	{ CWD_AT_DEPTH_LIMIT_PLUS_ONE, -ENAMETOOLONG },
	{ CWD_AT_DEPTH_LIMIT_PLUS_ONE_MINUS_ONE, 0 },
	{ SEGMENT_PAST_LIMIT_THEN_BACK, -ENAMETOOLONG },
};

/* "a/a/.../a" with depth segments, then suffix. */
static char *
repeated_segments(size_t depth, const char *suffix)
{
	size_t suffix_length = strlen(suffix), i;
	char *input = malloc(depth * 2 + suffix_length + 1);

	ck_assert_ptr_nonnull(input);
	for (i = 0; i < depth; i++)
		memcpy(input + i * 2, "a/", 2);
	memcpy(input + depth * 2, suffix, suffix_length + 1);
	return input;
}

START_TEST(test_resolve_bounds)
{
	const struct bound_case *test = &bound_cases[_i];
	struct path cwd = PATH_ROOT, result;
	size_t expected_count = 0;
	char *input = NULL;
	int error;

	switch (test->kind) {
	case SEGMENT_AT_LIMIT:
	case SEGMENT_PAST_LIMIT:
	case SEGMENT_PAST_LIMIT_THEN_BACK: {
		size_t length = test->kind == SEGMENT_AT_LIMIT ? FTPD_NAME_MAX :
		    FTPD_NAME_MAX + 1;

		input = malloc(length + 4);
		ck_assert_ptr_nonnull(input);
		memset(input, 'x', length);
		/* ".." after it must not excuse the over-long name. */
		strcpy(input + length,
		    test->kind == SEGMENT_PAST_LIMIT_THEN_BACK ? "/.." : "");
		expected_count = 1;
		break;
	}
	case LENGTH_AT_LIMIT:
	case LENGTH_PAST_LIMIT: {
		size_t length = test->kind == LENGTH_AT_LIMIT ? PATH_MAX_LENGTH :
		    PATH_MAX_LENGTH + 1;

		input = malloc(length + 1);
		ck_assert_ptr_nonnull(input);
		memset(input, '/', length);
		input[length - 1] = 'z';
		input[length] = '\0';
		expected_count = 1;
		break;
	}
	case DEPTH_AT_LIMIT:
		input = repeated_segments(PATH_MAX_SEGMENTS, "");
		expected_count = PATH_MAX_SEGMENTS;
		break;
	case DEPTH_PAST_LIMIT:
		input = repeated_segments(PATH_MAX_SEGMENTS + 1, "");
		break;
	case DEPTH_PAST_LIMIT_THEN_BACK:
		input = repeated_segments(PATH_MAX_SEGMENTS + 1, "..");
		expected_count = PATH_MAX_SEGMENTS;
		break;
	case CWD_AT_DEPTH_LIMIT_PLUS_ONE:
	case CWD_AT_DEPTH_LIMIT_PLUS_ONE_MINUS_ONE: {
		char *cwd_input = repeated_segments(PATH_MAX_SEGMENTS, "");
		struct path root = PATH_ROOT;

		ck_assert_int_eq(path_resolve(&root, cwd_input, strlen(cwd_input),
		    &cwd), 0);
		free(cwd_input);
		input = strdup(test->kind == CWD_AT_DEPTH_LIMIT_PLUS_ONE ?
		    "b" : "b/..");
		ck_assert_ptr_nonnull(input);
		expected_count = PATH_MAX_SEGMENTS;
		break;
	}
	}
	error = path_resolve(&cwd, input, strlen(input), &result);
	ck_assert_int_eq(error, test->error);
	if (error == 0)
		ck_assert_uint_eq(result.count, expected_count);
	else
		ck_assert_ptr_null(result.segments);
	path_free(&result);
	path_free(&cwd);
	free(input);
}
END_TEST

START_TEST(test_resolve_does_not_read_past_length)
{
	struct path root = PATH_ROOT, result;

	/* Only the first three bytes are the argument; the rest is not read. */
	ck_assert_int_eq(path_resolve(&root, "abc/def", 3, &result), 0);
	assert_path_is(&result, "/abc");
	path_free(&result);
	ck_assert_int_eq(path_resolve(&root, NULL, 0, &result), 0);
	ck_assert_uint_eq(result.count, 0);
	path_free(&result);
}
END_TEST

START_TEST(test_resolve_copies_segments)
{
	struct path cwd = make_cwd("/one/two"), result;
	char input[] = "three";

	ck_assert_int_eq(path_resolve(&cwd, input, strlen(input), &result), 0);
	/* The result owns its strings: the cwd and the input may go away. */
	path_free(&cwd);
	memset(input, 'X', strlen(input));
	assert_path_is(&result, "/one/two/three");
	path_free(&result);
}
END_TEST

struct parent_case {
	const char *path;
	const char *parent;
	const char *basename;
};

static const struct parent_case parent_cases[] = {
	{ "/", "/", "/" },
	{ "/a", "/", "a" },
	{ "/a/b", "/a", "b" },
	{ "/a/b/c d", "/a/b", "c d" },
};

START_TEST(test_parent_and_basename)
{
	const struct parent_case *test = &parent_cases[_i];
	struct path path = make_cwd(test->path), parent;

	ck_assert_int_eq(path_parent(&path, &parent), 0);
	assert_path_is(&parent, test->parent);
	ck_assert_str_eq(path_basename(&path), test->basename);
	path_free(&parent);
	path_free(&path);
}
END_TEST

START_TEST(test_copy_is_deep)
{
	struct path original = make_cwd("/x/y/z"), copy, root = PATH_ROOT;

	ck_assert_int_eq(path_copy(&copy, &original), 0);
	ck_assert_uint_eq(copy.count, 3);
	ck_assert_ptr_ne(copy.segments, original.segments);
	ck_assert_ptr_ne(copy.segments[0], original.segments[0]);
	path_free(&original);
	assert_path_is(&copy, "/x/y/z");
	path_free(&copy);

	ck_assert_int_eq(path_copy(&copy, &root), 0);
	ck_assert_uint_eq(copy.count, 0);
	assert_path_is(&copy, "/");
	path_free(&copy);
}
END_TEST

START_TEST(test_view_and_free)
{
	struct path path = make_cwd("/a/b"), root = PATH_ROOT;
	struct ftpd_path view = path_view(&path);

	ck_assert_uint_eq(view.count, 2);
	ck_assert_str_eq(view.segments[0], "a");
	ck_assert_str_eq(view.segments[1], "b");
	view = path_view(&root);
	ck_assert_uint_eq(view.count, 0);
	assert_path_is(&root, "/");

	path_free(&path);
	ck_assert_ptr_null(path.segments);
	ck_assert_uint_eq(path.count, 0);
	/* Freeing twice, or freeing the root, is harmless. */
	path_free(&path);
	path_free(&root);
	path_free(NULL);
}
END_TEST

Suite *
path_suite(void)
{
	Suite *suite = suite_create("path");
	TCase *resolve = tcase_create("resolve");
	TCase *helpers = tcase_create("helpers");

	tcase_add_loop_test(resolve, test_resolve_table, 0,
	    sizeof(resolve_cases) / sizeof(resolve_cases[0]));
	tcase_add_loop_test(resolve, test_resolve_bounds, 0,
	    sizeof(bound_cases) / sizeof(bound_cases[0]));
	tcase_add_test(resolve, test_resolve_does_not_read_past_length);
	tcase_add_test(resolve, test_resolve_copies_segments);
	suite_add_tcase(suite, resolve);

	tcase_add_loop_test(helpers, test_parent_and_basename, 0,
	    sizeof(parent_cases) / sizeof(parent_cases[0]));
	tcase_add_test(helpers, test_copy_is_deep);
	tcase_add_test(helpers, test_view_and_free);
	suite_add_tcase(suite, helpers);
	return suite;
}
