/*
 * varint.h - multiformats unsigned varint (L0).
 */
#ifndef PEERLOCK_VARINT_H
#define PEERLOCK_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* Encode v (< 2^63) into out; returns the number of bytes (1..9). */
size_t varint_encode(uint64_t v, uint8_t out[static 9]);

/*
 * Decode a minimal unsigned varint from buf[0..len).
 * Returns bytes consumed (>0) and sets *v; 0 if more input is needed;
 * -1 if the encoding is invalid (non-minimal, longer than maxlen bytes,
 * or over 63 bits).  maxlen caps the encoded length (1..9).
 */
int varint_decode(const uint8_t *buf, size_t len, size_t maxlen, uint64_t *v);

#endif
