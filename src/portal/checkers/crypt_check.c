/*
 * portal/checkers/crypt_check: crypt_rn with its state on the heap, and a
 * comparison whose time reveals no common prefix.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portal/checkers/crypt_check.h"

int
crypt_hash_is_locked(const char *hash)
{
	return hash[0] == '!' || hash[0] == '*';
}

/* Compares every byte whatever the first difference, so timing reveals no prefix. */
static int
constant_time_equal(const char *a, const char *b, size_t length)
{
	volatile unsigned char difference = 0;
	size_t i;

	for (i = 0; i < length; i++)
		difference |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return difference == 0;
}

int
crypt_check(const char *password, const char *setting, const char *hash)
{
	struct crypt_data *state;
	const char *computed;
	int match = 0;

	/* 32 KiB of state, some of it derived from the password: heap, zeroed before free. */
	state = calloc(1, sizeof(*state));
	if (state == NULL)
		return -ENOMEM;
	computed = crypt_rn(password, setting, state, sizeof(*state));
	if (hash != NULL && computed != NULL && strlen(computed) == strlen(hash))
		match = constant_time_equal(computed, hash, strlen(hash));
	explicit_bzero(state, sizeof(*state));
	free(state);
	return match;
}
