/*
 * test_ascii: the ascii part: TYPE A line-end conversion in both directions,
 * with every input also fed split at every position and byte by byte.
 */
#include <check.h>

#include "suites.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "dtp/ascii.h"


/* An input of known length: the cases contain NUL bytes. */
struct bytes {
	const char *data;
	size_t length;
};

#define BYTES(literal) { literal, sizeof(literal) - 1 }

/* The converted output, owned by the caller. */
struct output {
	char *data;
	size_t length;
};

static struct output
take_output(struct evbuffer *buffer)
{
	struct output output;

	output.length = evbuffer_get_length(buffer);
	output.data = malloc(output.length + 1);
	ck_assert_ptr_nonnull(output.data);
	ck_assert_int_eq(evbuffer_remove(buffer, output.data, output.length),
	    (int)output.length);
	output.data[output.length] = '\0';
	return output;
}

static void
assert_bytes_equal(const struct output *actual, const char *expected, size_t length,
    const char *what)
{
	ck_assert_msg(actual->length == length, "%s: length %zu, expected %zu", what,
	    actual->length, length);
	ck_assert_msg(memcmp(actual->data, expected, length) == 0, "%s: bytes differ", what);
}

enum direction { TO_NETWORK, FROM_NETWORK };

/* Converts in as the chunks that end at each of cuts[0..count), then the rest. */
static struct output
convert_in_chunks(enum direction direction, const char *in, size_t length,
    const size_t *cuts, size_t count)
{
	struct ascii_state state;
	struct evbuffer *out = evbuffer_new();
	struct output output;
	size_t start = 0, i;

	ck_assert_ptr_nonnull(out);
	ascii_init(&state);
	for (i = 0; i <= count; i++) {
		size_t end = i < count ? cuts[i] : length;

		if (direction == TO_NETWORK)
			ascii_to_network(&state, in + start, end - start, out);
		else
			ascii_from_network(&state, in + start, end - start, out);
		start = end;
	}
	if (direction == FROM_NETWORK)
		ascii_network_finish(&state, out);
	output = take_output(out);
	evbuffer_free(out);
	return output;
}

static struct output
convert_whole(enum direction direction, const char *in, size_t length)
{
	return convert_in_chunks(direction, in, length, NULL, 0);
}

static struct output
convert_byte_by_byte(enum direction direction, const char *in, size_t length)
{
	size_t *cuts = calloc(length + 1, sizeof(*cuts));
	struct output output;
	size_t i;

	ck_assert_ptr_nonnull(cuts);
	for (i = 0; i < length; i++)
		cuts[i] = i;
	output = convert_in_chunks(direction, in, length, cuts, length);
	free(cuts);
	return output;
}

/*
 * The whole-buffer result must not depend on how the input is cut: every
 * single cut, every pair of cuts (empty chunks included) and byte by byte.
 */
static void
assert_split_invariant(enum direction direction, const char *in, size_t length)
{
	struct output whole = convert_whole(direction, in, length), split;
	size_t cuts[2];
	char what[64];

	for (cuts[0] = 0; cuts[0] <= length; cuts[0]++) {
		split = convert_in_chunks(direction, in, length, cuts, 1);
		snprintf(what, sizeof(what), "cut at %zu", cuts[0]);
		assert_bytes_equal(&split, whole.data, whole.length, what);
		free(split.data);
		for (cuts[1] = cuts[0]; cuts[1] <= length; cuts[1]++) {
			split = convert_in_chunks(direction, in, length, cuts, 2);
			snprintf(what, sizeof(what), "cuts at %zu and %zu", cuts[0], cuts[1]);
			assert_bytes_equal(&split, whole.data, whole.length, what);
			free(split.data);
		}
	}
	split = convert_byte_by_byte(direction, in, length);
	assert_bytes_equal(&split, whole.data, whole.length, "byte by byte");
	free(split.data);
	free(whole.data);
}

/* --- local to network ------------------------------------------------- */

struct conversion_case {
	struct bytes in;
	struct bytes expected;
};

static const struct conversion_case to_network_cases[] = {
	{ BYTES(""), BYTES("") },
	{ BYTES("no line end"), BYTES("no line end") },
	{ BYTES("a\nb"), BYTES("a\r\nb") },
	{ BYTES("\n"), BYTES("\r\n") },
	{ BYTES("\n\n\n"), BYTES("\r\n\r\n\r\n") },
	{ BYTES("line one\nline two\n"), BYTES("line one\r\nline two\r\n") },
	/* already CRLF: not doubled */
	{ BYTES("a\r\nb\r\n"), BYTES("a\r\nb\r\n") },
	{ BYTES("\r\n\n"), BYTES("\r\n\r\n") },
	{ BYTES("\r\r\n"), BYTES("\r\r\n") },
	/* lone CRs are data */
	{ BYTES("\r"), BYTES("\r") },
	{ BYTES("a\rb\n"), BYTES("a\rb\r\n") },
	{ BYTES("\n\r"), BYTES("\r\n\r") },
	{ BYTES("\r\n\r\r\n\n\r"), BYTES("\r\n\r\r\n\r\n\r") },
	/* binary-ish bytes pass through */
	{ BYTES("\0\n\xff\r\0\n"), BYTES("\0\r\n\xff\r\0\r\n") },
};

START_TEST(test_to_network)
{
	const struct conversion_case *c = &to_network_cases[_i];
	struct output output = convert_whole(TO_NETWORK, c->in.data, c->in.length);

	assert_bytes_equal(&output, c->expected.data, c->expected.length, "whole");
	free(output.data);
	assert_split_invariant(TO_NETWORK, c->in.data, c->in.length);
}
END_TEST

/* ascii_network_size agrees with what ascii_to_network produces, chunk by chunk. */
START_TEST(test_network_size)
{
	const struct conversion_case *c = &to_network_cases[_i];
	struct ascii_state state;
	size_t cut, total;

	ascii_init(&state);
	ck_assert_uint_eq(ascii_network_size(&state, c->in.data, c->in.length),
	    c->expected.length);
	for (cut = 0; cut <= c->in.length; cut++) {
		ascii_init(&state);
		total = ascii_network_size(&state, c->in.data, cut);
		total += ascii_network_size(&state, c->in.data + cut, c->in.length - cut);
		ck_assert_msg(total == c->expected.length, "cut at %zu: %zu, expected %zu",
		    cut, total, c->expected.length);
	}
	ascii_init(&state);
	for (cut = 0, total = 0; cut < c->in.length; cut++)
		total += ascii_network_size(&state, c->in.data + cut, 1);
	ck_assert_uint_eq(total, c->expected.length);
}
END_TEST

/* A CR ending one chunk keeps the LF starting the next from being doubled. */
START_TEST(test_to_network_state_crosses_chunks)
{
	struct ascii_state state;
	struct evbuffer *out = evbuffer_new();
	struct output output;

	ck_assert_ptr_nonnull(out);
	ascii_init(&state);
	ascii_to_network(&state, "a\r", 2, out);
	ck_assert_int_eq(state.last_was_cr, 1);
	ascii_to_network(&state, "", 0, out);	/* an empty chunk changes nothing */
	ck_assert_int_eq(state.last_was_cr, 1);
	ascii_to_network(&state, "\nb", 2, out);
	ck_assert_int_eq(state.last_was_cr, 0);
	ascii_to_network(&state, "\n", 1, out);
	output = take_output(out);
	assert_bytes_equal(&output, "a\r\nb\r\n", 6, "chunks");
	free(output.data);
	evbuffer_free(out);
}
END_TEST

/* --- network to local ------------------------------------------------- */

static const struct conversion_case from_network_cases[] = {
	{ BYTES(""), BYTES("") },
	{ BYTES("no line end"), BYTES("no line end") },
	{ BYTES("a\r\nb"), BYTES("a\nb") },
	{ BYTES("\r\n"), BYTES("\n") },
	{ BYTES("\r\n\r\n\r\n"), BYTES("\n\n\n") },
	{ BYTES("line one\r\nline two\r\n"), BYTES("line one\nline two\n") },
	/* a bare LF is kept as it is */
	{ BYTES("a\nb\n"), BYTES("a\nb\n") },
	/* a lone CR is kept, also at the very end (flushed by finish) */
	{ BYTES("a\rb"), BYTES("a\rb") },
	{ BYTES("\r"), BYTES("\r") },
	{ BYTES("x\r"), BYTES("x\r") },
	{ BYTES("\r\r"), BYTES("\r\r") },
	{ BYTES("\r\r\n"), BYTES("\r\n") },
	{ BYTES("\r\r\r\n\r"), BYTES("\r\r\n\r") },
	{ BYTES("\n\r"), BYTES("\n\r") },
	{ BYTES("\r\n\r"), BYTES("\n\r") },
	/* binary-ish data with lone CRs and NULs */
	{ BYTES("\0\r\0\r\n\xff\r\r\xfe\r\n\r"), BYTES("\0\r\0\n\xff\r\r\xfe\n\r") },
};

START_TEST(test_from_network)
{
	const struct conversion_case *c = &from_network_cases[_i];
	struct output output = convert_whole(FROM_NETWORK, c->in.data, c->in.length);

	assert_bytes_equal(&output, c->expected.data, c->expected.length, "whole");
	free(output.data);
	assert_split_invariant(FROM_NETWORK, c->in.data, c->in.length);
}
END_TEST

/* A trailing CR is held back until the next chunk or finish decides. */
START_TEST(test_from_network_holds_trailing_cr)
{
	struct ascii_state state;
	struct evbuffer *out = evbuffer_new();
	struct output output;

	ck_assert_ptr_nonnull(out);
	ascii_init(&state);
	ascii_from_network(&state, "abc\r", 4, out);
	ck_assert_uint_eq(evbuffer_get_length(out), 3);
	ascii_from_network(&state, "", 0, out);
	ck_assert_uint_eq(evbuffer_get_length(out), 3);
	ascii_from_network(&state, "\ndef\r", 5, out);
	output = take_output(out);
	assert_bytes_equal(&output, "abc\ndef", 7, "before finish");
	free(output.data);

	ascii_network_finish(&state, out);
	output = take_output(out);
	assert_bytes_equal(&output, "\r", 1, "finish");
	free(output.data);

	/* finish with nothing held adds nothing, and may be repeated */
	ascii_network_finish(&state, out);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
	evbuffer_free(out);
}
END_TEST

/* --- generated data: split invariance and round trips -------------------- */

/* Deterministic bytes biased towards CR and LF so that every pairing occurs. */
static void
generate(char *out, size_t length, unsigned seed)
{
	static const char alphabet[] = { '\r', '\n', '\r', '\n', 'a', '\0', '\xff', ' ' };
	unsigned state = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < length; i++) {
		state = state * 1103515245u + 12345u;
		out[i] = alphabet[(state >> 16) % sizeof(alphabet)];
	}
}

#define GENERATED_CASES 40
#define GENERATED_LENGTH 48

START_TEST(test_generated_split_invariance)
{
	char data[GENERATED_LENGTH];

	generate(data, sizeof(data), (unsigned)_i);
	assert_split_invariant(TO_NETWORK, data, sizeof(data));
	assert_split_invariant(FROM_NETWORK, data, sizeof(data));
}
END_TEST

/*
 * Sending then receiving gives the local bytes back, except that a CR the
 * file had right before an LF is taken for part of a line end: on the wire
 * every LF comes after a CR, and the receiver removes exactly those CRs.
 */
START_TEST(test_round_trip)
{
	char data[GENERATED_LENGTH], expected[GENERATED_LENGTH];
	struct output network, local;
	size_t i, expected_length = 0, cut;
	struct ascii_state state;

	generate(data, sizeof(data), (unsigned)_i + 1000);
	for (i = 0; i < sizeof(data); i++) {
		if (data[i] == '\r' && i + 1 < sizeof(data) && data[i + 1] == '\n')
			continue;
		expected[expected_length++] = data[i];
	}

	network = convert_whole(TO_NETWORK, data, sizeof(data));
	ascii_init(&state);
	ck_assert_uint_eq(ascii_network_size(&state, data, sizeof(data)), network.length);
	for (i = 0; i < network.length; i++) {
		if (network.data[i] == '\n')
			ck_assert_msg(i > 0 && network.data[i - 1] == '\r', "bare LF at %zu", i);
	}
	for (cut = 0; cut <= network.length; cut++) {
		local = convert_in_chunks(FROM_NETWORK, network.data, network.length, &cut, 1);
		assert_bytes_equal(&local, expected, expected_length, "round trip");
		free(local.data);
	}
	free(network.data);
}
END_TEST

/* Text without CRs survives the round trip exactly. */
START_TEST(test_round_trip_plain_text)
{
	static const char text[] = "first line\nsecond line\n\nlast line without end";
	struct output network = convert_whole(TO_NETWORK, text, strlen(text));
	struct output local = convert_whole(FROM_NETWORK, network.data, network.length);

	assert_bytes_equal(&network,
	    "first line\r\nsecond line\r\n\r\nlast line without end",
	    strlen(text) + 3, "network");
	assert_bytes_equal(&local, text, strlen(text), "local");
	free(network.data);
	free(local.data);
}
END_TEST

/* A large buffer: the conversion is not limited to small chunks. */
START_TEST(test_large_buffer)
{
	size_t lines = 100000, i;
	char *data = malloc(lines * 2);
	struct output network, local;

	ck_assert_ptr_nonnull(data);
	for (i = 0; i < lines; i++) {
		data[2 * i] = 'x';
		data[2 * i + 1] = '\n';
	}
	network = convert_whole(TO_NETWORK, data, lines * 2);
	ck_assert_uint_eq(network.length, lines * 3);
	local = convert_whole(FROM_NETWORK, network.data, network.length);
	assert_bytes_equal(&local, data, lines * 2, "large");
	free(local.data);
	free(network.data);
	free(data);
}
END_TEST

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

Suite *
ascii_suite(void)
{
	Suite *suite = suite_create("ascii");
	TCase *tcase;

	tcase = tcase_create("to_network");
	tcase_add_loop_test(tcase, test_to_network, 0, COUNT(to_network_cases));
	tcase_add_loop_test(tcase, test_network_size, 0, COUNT(to_network_cases));
	tcase_add_test(tcase, test_to_network_state_crosses_chunks);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("from_network");
	tcase_add_loop_test(tcase, test_from_network, 0, COUNT(from_network_cases));
	tcase_add_test(tcase, test_from_network_holds_trailing_cr);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("generated");
	tcase_add_loop_test(tcase, test_generated_split_invariance, 0, GENERATED_CASES);
	tcase_add_loop_test(tcase, test_round_trip, 0, GENERATED_CASES);
	tcase_add_test(tcase, test_round_trip_plain_text);
	tcase_add_test(tcase, test_large_buffer);
	suite_add_tcase(suite, tcase);

	return suite;
}
