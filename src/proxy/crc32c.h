/*
 * proxy/crc32c: CRC-32C (Castagnoli), the checksum a PROXY v2 header may
 * carry in its PP2_TYPE_CRC32C field.
 */
#ifndef FTPD_PROXY_CRC32C_H
#define FTPD_PROXY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc carried on over length bytes; start with 0. crc32c(0, "123456789", 9) is 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *data, size_t length);

#endif
