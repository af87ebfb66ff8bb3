/*
 * crc32.h - CRC-32 (IEEE 802.3, as zlib's crc32) for journal record checksums.
 */
#ifndef SWB_CRC32_H
#define SWB_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t swb_crc32(const void *data, size_t len);

#endif
