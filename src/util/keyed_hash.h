/*
 * util/keyed_hash: SipHash-2-4 under a key drawn once per process, for
 * tables whose keys a client chooses (its address, the name it logs in
 * with). An unkeyed hash lets a client with many addresses (an IPv6 /64)
 * pick keys that all fall in one bucket and turn every lookup into a walk
 * of the whole table; nobody can aim at buckets whose key they do not know.
 */
#ifndef FTPD_KEYED_HASH_H
#define FTPD_KEYED_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of data under the 16-byte key (the reference function, for tests). */
uint64_t siphash24(const unsigned char key[16], const void *data, size_t length);

/* SipHash-2-4 under this process's key, drawn from getrandom at first use. */
uint64_t keyed_hash(const void *data, size_t length);

#endif
