/*
 * util/keyed_hash: SipHash-2-4 (Aumasson and Bernstein, 2012) and the
 * process's key. Only the monitor's loop thread hashes client-chosen keys,
 * so the key is drawn lazily without a lock.
 */
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/keyed_hash.h"

#define ROTATE(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIP_ROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTATE(v1, 13); v1 ^= v0; v0 = ROTATE(v0, 32);	\
	v2 += v3; v3 = ROTATE(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = ROTATE(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = ROTATE(v1, 17); v1 ^= v2; v2 = ROTATE(v2, 32);	\
} while (0)

/* Little-endian, whatever the host's order. */
static uint64_t
load64(const unsigned char *bytes)
{
	uint64_t value = 0;
	int i;

	for (i = 7; i >= 0; i--)
		value = (value << 8) | bytes[i];
	return value;
}

uint64_t
siphash24(const unsigned char key[16], const void *data, size_t length)
{
	const unsigned char *in = data, *end = in + (length & ~(size_t)7);
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t last = (uint64_t)length << 56, m;
	size_t left = length & 7;

	for (; in != end; in += 8) {
		m = load64(in);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	while (left-- > 0)
		last |= (uint64_t)in[left] << (8 * left);
	v3 ^= last;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
keyed_hash(const void *data, size_t length)
{
	static unsigned char key[16];
	static int drawn;

	if (!drawn) {
		if (getrandom(key, sizeof(key), GRND_NONBLOCK) != (ssize_t)sizeof(key)) {
			/* Before the pool is ready (early boot): still no key a client can know. */
			struct timespec now;
			uint64_t mix[2];

			clock_gettime(CLOCK_MONOTONIC, &now);
			mix[0] = (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 32);
			mix[1] = (uint64_t)now.tv_sec ^ (uint64_t)(uintptr_t)&now;
			memcpy(key, mix, sizeof(key));
		}
		drawn = 1;
	}
	return siphash24(key, data, length);
}
