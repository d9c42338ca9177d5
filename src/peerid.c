/*
 * peerid.c - libp2p peer IDs (peer-ids.md sections 3-5).
 *
 * A peer ID is a multihash: identity (00 len pk) for serialized public
 * keys of at most 42 bytes, sha2-256 (12 20 digest) otherwise.  Text
 * forms: bare base58btc of the multihash ("12D3KooW...", "Qm..."), or a
 * multibase base32 CIDv1 "b" || base32(01 72 multihash).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "peerid.h"

enum {
	MH_IDENTITY = 0x00,
	MH_SHA2_256 = 0x12,
	MH_SHA2_256_LEN = 32,
	MH_INLINE_MAX = 42,		/* go maxInlineKeyLength */
	CID_V1 = 0x01,
	CID_LIBP2P_KEY = 0x72,
	CID_PREFIX_LEN = 2		/* 01 72, both one-byte varints */
};

static const char b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Value of a base58btc character, or -1. */
static int
b58_value(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return (-1);
	p = strchr(b58_alphabet, c);
	return (p == NULL ? -1 : (int)(p - b58_alphabet));
}

/* Value of a lowercase RFC 4648 base32 character, or -1. */
static int
b32_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return (c - 'a');
	if (c >= '2' && c <= '7')
		return (c - '2' + 26);
	return (-1);
}

/*
 * base58btc: each leading zero byte becomes '1', the rest is the big-endian
 * number in base 58.  The digits are accumulated little-endian inside out.
 */
int
base58btc_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t z, nd, i, j;
	uint32_t carry;
	char t;

	if (out == NULL || cap == 0 || (in == NULL && len != 0))
		return (-1);
	for (z = 0; z < len && in[z] == 0; z++)
		;
	if (z + 1 > cap)
		return (-1);
	nd = 0;
	for (i = z; i < len; i++) {
		carry = in[i];
		for (j = 0; j < nd; j++) {
			carry += (uint32_t)(uint8_t)out[z + j] << 8;
			out[z + j] = (char)(carry % 58);
			carry /= 58;
		}
		while (carry != 0) {
			if (z + nd + 1 >= cap)
				return (-1);
			out[z + nd++] = (char)(carry % 58);
			carry /= 58;
		}
	}
	memset(out, '1', z);
	for (j = 0; j < nd / 2; j++) {
		t = out[z + j];
		out[z + j] = out[z + nd - 1 - j];
		out[z + nd - 1 - j] = t;
	}
	for (j = 0; j < nd; j++)
		out[z + j] = b58_alphabet[(uint8_t)out[z + j]];
	out[z + nd] = '\0';
	return (0);
}

/* Inverse of base58btc_encode; the bytes accumulate little-endian in out. */
int
base58btc_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t z, nb, j;
	uint32_t carry;
	int d;
	uint8_t t;

	if (in == NULL || out == NULL || outlen == NULL)
		return (-1);
	for (z = 0; p[z] == '1'; z++)
		;
	if (z > cap)
		return (-1);
	nb = 0;
	for (p += z; *p != '\0'; p++) {
		if ((d = b58_value(*p)) < 0)
			return (-1);
		carry = (uint32_t)d;
		for (j = 0; j < nb; j++) {
			carry += (uint32_t)out[j] * 58;
			out[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		while (carry != 0) {
			if (nb >= cap - z)
				return (-1);
			out[nb++] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
	}
	for (j = 0; j < nb / 2; j++) {
		t = out[j];
		out[j] = out[nb - 1 - j];
		out[nb - 1 - j] = t;
	}
	memmove(out + z, out, nb);
	memset(out, 0, z);
	*outlen = z + nb;
	return (0);
}

/* RFC 4648 base32, lowercase, no padding; NUL-terminated. */
int
base32_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (out == NULL || (in == NULL && len != 0))
		return (-1);
	if (len > (SIZE_MAX - 5) / 8 || (len * 8 + 4) / 5 + 1 > cap)
		return (-1);
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return (0);
}

/*
 * Strict inverse of base32_encode: rejects padding, uppercase, impossible
 * lengths and non-zero trailing bits.
 */
int
base32_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	if (in == NULL || out == NULL || outlen == NULL)
		return (-1);
	n = strlen(in);
	switch (n % 8) {
	case 1: case 3: case 6:
		return (-1);
	default:
		break;
	}
	for (; *p != '\0'; p++) {
		if ((v = b32_value(*p)) < 0)
			return (-1);
		acc = ((acc << 5) | (uint32_t)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return (-1);
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return (-1);
	*outlen = o;
	return (0);
}

/* Validate a multihash: identity (1..42 bytes) or sha2-256 (32 bytes). */
int
peer_id_from_bytes(const uint8_t *mh, size_t len, struct peer_id *out)
{
	size_t dlen;

	if (mh == NULL || out == NULL || len < 2 || len > PEER_ID_MAX)
		return (-1);
	/* Both varints must be single bytes: values < 0x80, minimal. */
	if ((mh[0] & 0x80) != 0 || (mh[1] & 0x80) != 0)
		return (-1);
	dlen = mh[1];
	if (len != 2 + dlen)
		return (-1);
	switch (mh[0]) {
	case MH_IDENTITY:
		if (dlen == 0 || dlen > MH_INLINE_MAX)
			return (-1);
		break;
	case MH_SHA2_256:
		if (dlen != MH_SHA2_256_LEN)
			return (-1);
		break;
	default:
		return (-1);
	}
	memcpy(out->mh, mh, len);
	out->len = len;
	return (0);
}

/* Identity multihash for short keys, sha2-256 otherwise. */
int
peer_id_from_pubkey_pb(const uint8_t *pb, size_t len, struct peer_id *out)
{
	if (pb == NULL || out == NULL || len == 0)
		return (-1);
	if (len <= MH_INLINE_MAX) {
		out->mh[0] = MH_IDENTITY;
		out->mh[1] = (uint8_t)len;
		memcpy(out->mh + 2, pb, len);
		out->len = 2 + len;
		return (0);
	}
	out->mh[0] = MH_SHA2_256;
	out->mh[1] = MH_SHA2_256_LEN;
	if (crypto_hash_sha256(out->mh + 2, pb, len) != 0)
		return (-1);
	out->len = 2 + MH_SHA2_256_LEN;
	return (0);
}

/* base58btc multihash ("1..." / "Qm...") or base32 CIDv1 ("b..."). */
int
peer_id_parse(const char *s, struct peer_id *out)
{
	uint8_t buf[CID_PREFIX_LEN + PEER_ID_MAX];
	size_t n, blen;

	if (s == NULL || out == NULL)
		return (-1);
	n = strnlen(s, PEER_ID_STR_MAX);
	if (n == 0 || n >= PEER_ID_STR_MAX)
		return (-1);
	if (s[0] == '1' || (s[0] == 'Q' && s[1] == 'm')) {
		if (base58btc_decode(s, buf, PEER_ID_MAX, &blen) == -1)
			return (-1);
		return (peer_id_from_bytes(buf, blen, out));
	}
	if (s[0] != 'b')
		return (-1);
	if (base32_decode(s + 1, buf, sizeof(buf), &blen) == -1)
		return (-1);
	if (blen < CID_PREFIX_LEN || buf[0] != CID_V1 ||
	    buf[1] != CID_LIBP2P_KEY)
		return (-1);
	return (peer_id_from_bytes(buf + CID_PREFIX_LEN,
	    blen - CID_PREFIX_LEN, out));
}

/* Legacy display form: base58btc of the multihash. */
char *
peer_id_to_string(const struct peer_id *id, char *buf, size_t cap)
{
	if (id == NULL || buf == NULL || id->len > PEER_ID_MAX)
		return (NULL);
	if (base58btc_encode(id->mh, id->len, buf, cap) == -1)
		return (NULL);
	return (buf);
}

/* CID form: "b" || base32(01 72 multihash). */
char *
peer_id_to_cid(const struct peer_id *id, char *buf, size_t cap)
{
	uint8_t cid[CID_PREFIX_LEN + PEER_ID_MAX];

	if (id == NULL || buf == NULL || cap < 2 || id->len > PEER_ID_MAX)
		return (NULL);
	cid[0] = CID_V1;
	cid[1] = CID_LIBP2P_KEY;
	memcpy(cid + CID_PREFIX_LEN, id->mh, id->len);
	buf[0] = 'b';
	if (base32_encode(cid, CID_PREFIX_LEN + id->len, buf + 1,
	    cap - 1) == -1)
		return (NULL);
	return (buf);
}

/* Peer IDs are public: a plain byte comparison is fine. */
bool
peer_id_equal(const struct peer_id *a, const struct peer_id *b)
{
	if (a == NULL || b == NULL)
		return (false);
	return (a->len == b->len && a->len <= PEER_ID_MAX &&
	    memcmp(a->mh, b->mh, a->len) == 0);
}

/* Whether id is one of set[0..n). */
bool
peer_id_in(const struct peer_id *set, size_t n, const struct peer_id *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (peer_id_equal(&set[i], id))
			return (true);
	return (false);
}

/* set[0..n) as text joined by " or ". */
char *
peer_id_list(const struct peer_id *set, size_t n, char *buf, size_t cap)
{
	char one[PEER_ID_STR_MAX];
	size_t i, len = 0;

	if (cap == 0)
		return (buf);
	buf[0] = '\0';
	for (i = 0; i < n && len < cap; i++) {
		if (peer_id_to_string(&set[i], one, sizeof(one)) == NULL)
			snprintf(one, sizeof(one), "?");
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
		    i > 0 ? " or " : "", one);
	}
	return (buf);
}
