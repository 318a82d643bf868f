/*
 * test_keyed_hash: SipHash-2-4 against the reference vectors of its paper
 * (key 00..0f, messages 00, 00 01, ... of every length from 0 to 63), and
 * the process's key: stable within the process, not the reference's.
 */
#include <check.h>
#include <stdint.h>

#include "suites.h"
#include "util/keyed_hash.h"

/* vectors.h of the SipHash reference code, as little-endian 64-bit values. */
static const uint64_t reference[] = {
	0x726fdb47dd0e0e31ULL,	/* length 0 */
	0x74f839c593dc67fdULL,	/* 1 */
	0x0d6c8009d9a94f5aULL,	/* 2 */
	0x85676696d7fb7e2dULL,	/* 3 */
};

START_TEST(test_reference_vectors)
{
	unsigned char key[16], message[64];
	unsigned i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < sizeof(message); i++)
		message[i] = (unsigned char)i;
	for (i = 0; i < sizeof(reference) / sizeof(reference[0]); i++)
		ck_assert_msg(siphash24(key, message, i) == reference[i],
		    "length %u: %016llx", i, (unsigned long long)siphash24(key, message, i));
	/* The paper's worked example: 15 bytes, the last block partial. */
	ck_assert_uint_eq(siphash24(key, message, 15), 0xa129ca6149be45e5ULL);
	/* Exactly one block, then one and a bit. */
	ck_assert_uint_eq(siphash24(key, message, 8), 0x93f5f5799a932462ULL);
	ck_assert_uint_eq(siphash24(key, message, 9), 0x9e0082df0ba9e4b0ULL);
}
END_TEST

START_TEST(test_process_key_is_stable_and_secret)
{
	unsigned char reference_key[16], message[16];
	unsigned i;

	for (i = 0; i < sizeof(reference_key); i++)
		reference_key[i] = (unsigned char)i;
	for (i = 0; i < sizeof(message); i++)
		message[i] = (unsigned char)(i * 7);
	ck_assert_uint_eq(keyed_hash(message, sizeof(message)), keyed_hash(message, sizeof(message)));
	ck_assert_uint_ne(keyed_hash(message, sizeof(message)),
	    siphash24(reference_key, message, sizeof(message)));
	ck_assert_uint_ne(keyed_hash(message, 4), keyed_hash(message, 5));
}
END_TEST

Suite *
keyed_hash_suite(void)
{
	Suite *suite = suite_create("keyed_hash");
	TCase *tcase = tcase_create("siphash");

	tcase_add_test(tcase, test_reference_vectors);
	tcase_add_test(tcase, test_process_key_is_stable_and_secret);
	suite_add_tcase(suite, tcase);
	return suite;
}
