/*
 * varint.h - multiformats unsigned varint (L0).
 *
 * Little-endian groups of 7 bits, 0x80 = "more bytes follow", at most
 * VARINT_MAX_LEN (9) bytes, so values are < 2^63.  Decoding enforces
 * the minimal encoding (multistream-select.md section 1).
 */
#ifndef PEERLOCK_VARINT_H
#define PEERLOCK_VARINT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Encode v (< 2^63) into out; returns the number of bytes (1..9), or 0
 * if v does not fit in 63 bits (nothing written then).
 */
size_t varint_encode(uint64_t v, uint8_t out[static 9]);

/*
 * Decode a minimal unsigned varint from buf[0..len).
 * Returns bytes consumed (>0) and sets *v; 0 if more input is needed;
 * -1 if the encoding is invalid (non-minimal, longer than maxlen bytes,
 * or over 63 bits).  maxlen caps the encoded length (1..9; larger
 * values are treated as 9, 0 as 1).  *v is untouched unless > 0 is
 * returned.
 */
int varint_decode(const uint8_t *buf, size_t len, size_t maxlen, uint64_t *v);

#endif
