/*
 * proxy/crc32c: bit by bit. A header is at most a kilobyte and checksummed
 * once; a table would be faster and is not needed.
 */
#include "proxy/crc32c.h"

/* The Castagnoli polynomial, reflected. */
#define CRC32C_POLYNOMIAL 0x82F63B78u

uint32_t
crc32c(uint32_t crc, const void *data, size_t length)
{
	const unsigned char *bytes = data;
	size_t i;
	int bit;

	crc = ~crc;
	for (i = 0; i < length; i++) {
		crc ^= bytes[i];
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (CRC32C_POLYNOMIAL & (0u - (crc & 1u)));
	}
	return ~crc;
}
