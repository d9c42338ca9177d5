/*
 * varint.c - multiformats unsigned varint (L0).
 */
#include "varint.h"

#include "wire.h"

/* Encode v as little-endian base-128 groups. */
size_t
varint_encode(uint64_t v, uint8_t out[static 9])
{
	size_t n = 0;

	if (v >> 63 != 0)
		return 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Decode one minimal varint of at most maxlen bytes. */
int
varint_decode(const uint8_t *buf, size_t len, size_t maxlen, uint64_t *v)
{
	uint64_t acc = 0;
	size_t i;

	if (maxlen == 0)
		maxlen = 1;
	if (maxlen > VARINT_MAX_LEN)
		maxlen = VARINT_MAX_LEN;
	for (i = 0; i < maxlen; i++) {
		if (i >= len)
			return 0;		/* truncated: need more */
		acc |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
		if ((buf[i] & 0x80) != 0)
			continue;
		/* A final zero group after others is a padded encoding. */
		if (buf[i] == 0 && i > 0)
			return -1;
		*v = acc;
		return (int)(i + 1);
	}
	return -1;				/* longer than maxlen */
}
