/*
 * tlsrec.c - TLS 1.3 record protection for one direction, sans I/O (L1).
 *
 * The TLS module's second wolfSSL file: tls.c runs the handshake through
 * <wolfssl/ssl.h>, this one uses only wolfCrypt primitives (AES-GCM,
 * ChaCha20-Poly1305, HKDF), the same ones wolfSSL's own record layer
 * calls, with the same assembly.
 *
 * AES-GCM needs an expanded key (wolfCrypt's Aes, about 1.1 KB).  A
 * direction keeps only its 16 or 32 raw key bytes; the expanded form
 * lives in one per-thread slot, tagged with the key generation it holds,
 * and is rebuilt when another key is used (a few hundred nanoseconds
 * against several microseconds for a full record).  An idle tunnel thus
 * costs no expanded key at all.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include <sodium.h>
#include <string.h>

#include "tlsrec.h"

/* The per-thread expanded AES key (see the top of the file). */
static _Thread_local struct {
	Aes aes;
	uint64_t gen;			/* 0: empty */
	bool init;
} tlsrec_gcm;

static uint64_t tlsrec_gen_next;

/* Wipe the per-thread expanded key if it holds generation gen. */
static void
tlsrec_forget(uint64_t gen)
{
	if (gen == 0 || tlsrec_gcm.gen != gen)
		return;
	sodium_memzero(&tlsrec_gcm.aes, sizeof(tlsrec_gcm.aes));
	tlsrec_gcm.gen = 0;
	tlsrec_gcm.init = false;
}

int
tlsrec_suite_from_name(const char *name, enum tlsrec_suite *suite)
{
	static const struct {
		const char *iana, *wolf;
		enum tlsrec_suite suite;
	} names[] = {
		{ "TLS_AES_128_GCM_SHA256", "TLS13-AES128-GCM-SHA256",
		    TLSREC_AES_128_GCM_SHA256 },
		{ "TLS_AES_256_GCM_SHA384", "TLS13-AES256-GCM-SHA384",
		    TLSREC_AES_256_GCM_SHA384 },
		{ "TLS_CHACHA20_POLY1305_SHA256",
		    "TLS13-CHACHA20-POLY1305-SHA256",
		    TLSREC_CHACHA20_POLY1305_SHA256 },
	};
	size_t i;

	for (i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]);
	    i++) {
		if (strcmp(name, names[i].iana) == 0 ||
		    strcmp(name, names[i].wolf) == 0) {
			*suite = names[i].suite;
			return 0;
		}
	}
	return -1;
}

size_t
tlsrec_hash_len(enum tlsrec_suite suite)
{
	return suite == TLSREC_AES_256_GCM_SHA384 ? 48 : 32;
}

/*
 * HKDF-Expand-Label(secret, "tls13 " label, "", outlen) (RFC 8446 7.1)
 * with the suite's hash.
 */
static int
tlsrec_expand(enum tlsrec_suite suite, const uint8_t *secret, size_t slen,
    const char *label, uint8_t *out, size_t outlen)
{
	uint8_t info[2 + 1 + 6 + 16 + 1];
	size_t llen = strlen(label), n = 0;

	if (llen > 16)
		return -1;
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;			/* empty context */
	return wc_HKDF_Expand(suite == TLSREC_AES_256_GCM_SHA384 ? WC_SHA384 :
	    WC_SHA256, secret, (word32)slen, info, (word32)n, out,
	    (word32)outlen) == 0 ? 0 : -1;
}

/* Derive key and IV from d->secret; new generation, sequence 0. */
static int
tlsrec_derive(struct tlsrec_dir *d)
{
	d->key_len = d->suite == TLSREC_AES_128_GCM_SHA256 ? 16 : 32;
	if (tlsrec_expand(d->suite, d->secret, d->secret_len, "key", d->key,
	    d->key_len) != 0 ||
	    tlsrec_expand(d->suite, d->secret, d->secret_len, "iv", d->iv,
	    TLSREC_IV) != 0)
		return -1;
	d->seq = 0;
	d->gen = __atomic_add_fetch(&tlsrec_gen_next, 1, __ATOMIC_RELAXED);
	return 0;
}

int
tlsrec_init(struct tlsrec_dir *d, enum tlsrec_suite suite,
    const uint8_t *secret, size_t len)
{
	tlsrec_wipe(d);
	if (len != tlsrec_hash_len(suite))
		return -1;
	d->suite = suite;
	d->secret_len = (uint8_t)len;
	memcpy(d->secret, secret, len);
	return tlsrec_derive(d);
}

int
tlsrec_update(struct tlsrec_dir *d)
{
	uint8_t next[TLSREC_SECRET_MAX];
	int r;

	r = tlsrec_expand(d->suite, d->secret, d->secret_len, "traffic upd",
	    next, d->secret_len);
	if (r == 0) {
		tlsrec_forget(d->gen);
		memcpy(d->secret, next, d->secret_len);
		r = tlsrec_derive(d);
	}
	sodium_memzero(next, sizeof(next));
	return r;
}

/* This record's nonce: the IV XOR the sequence number, big-endian. */
static void
tlsrec_nonce(const struct tlsrec_dir *d, uint8_t nonce[static TLSREC_IV])
{
	int i;

	memcpy(nonce, d->iv, TLSREC_IV);
	for (i = 0; i < 8; i++)
		nonce[TLSREC_IV - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

/* The expanded AES key of d, from the per-thread slot; NULL on error. */
static Aes *
tlsrec_aes(const struct tlsrec_dir *d)
{
	if (tlsrec_gcm.gen == d->gen)
		return &tlsrec_gcm.aes;
	if (!tlsrec_gcm.init) {
		if (wc_AesInit(&tlsrec_gcm.aes, NULL, INVALID_DEVID) != 0)
			return NULL;
		tlsrec_gcm.init = true;
	}
	tlsrec_gcm.gen = 0;
	if (wc_AesGcmSetKey(&tlsrec_gcm.aes, d->key, d->key_len) != 0)
		return NULL;
	tlsrec_gcm.gen = d->gen;
	return &tlsrec_gcm.aes;
}

int
tlsrec_seal(struct tlsrec_dir *d, uint8_t type, uint8_t *rec, size_t len)
{
	uint8_t nonce[TLSREC_IV], *body = rec + TLSREC_HDR;
	size_t blen = len + 1 + TLSREC_TAG;
	Aes *aes;
	int r;

	if (len > TLSREC_MAX_SEAL || d->seq == UINT64_MAX)
		return -1;
	rec[0] = TLSREC_APPDATA;
	rec[1] = 0x03;
	rec[2] = 0x03;
	rec[3] = (uint8_t)(blen >> 8);
	rec[4] = (uint8_t)blen;
	body[len] = type;
	tlsrec_nonce(d, nonce);
	if (d->suite == TLSREC_CHACHA20_POLY1305_SHA256)
		r = wc_ChaCha20Poly1305_Encrypt(d->key, nonce, rec, TLSREC_HDR,
		    body, (word32)(len + 1), body, body + len + 1);
	else if ((aes = tlsrec_aes(d)) == NULL)
		r = -1;
	else
		r = wc_AesGcmEncrypt(aes, body, body, (word32)(len + 1), nonce,
		    TLSREC_IV, body + len + 1, TLSREC_TAG, rec, TLSREC_HDR);
	if (r != 0)
		return -1;
	d->seq++;
	return (int)(TLSREC_HDR + blen);
}

size_t
tlsrec_hdr_len(const uint8_t hdr[static TLSREC_HDR])
{
	return (size_t)hdr[3] << 8 | hdr[4];
}

int
tlsrec_body_len(const uint8_t hdr[static TLSREC_HDR])
{
	int blen = (int)tlsrec_hdr_len(hdr);

	if (hdr[0] != TLSREC_APPDATA || hdr[1] != 0x03 || hdr[2] != 0x03 ||
	    blen < 1 + TLSREC_TAG || blen > TLSREC_MAX_CIPHERTEXT)
		return -1;
	return blen;
}

int
tlsrec_open(struct tlsrec_dir *d, const uint8_t hdr[static TLSREC_HDR],
    uint8_t *body, size_t blen, uint8_t *type)
{
	uint8_t nonce[TLSREC_IV];
	size_t n;
	Aes *aes;
	int r;

	if (blen < 1 + TLSREC_TAG || blen > TLSREC_MAX_CIPHERTEXT ||
	    d->seq == UINT64_MAX)
		return TLSREC_E_AUTH;
	n = blen - TLSREC_TAG;
	tlsrec_nonce(d, nonce);
	if (d->suite == TLSREC_CHACHA20_POLY1305_SHA256)
		r = wc_ChaCha20Poly1305_Decrypt(d->key, nonce, hdr, TLSREC_HDR,
		    body, (word32)n, body + n, body);
	else if ((aes = tlsrec_aes(d)) == NULL)
		r = -1;
	else
		r = wc_AesGcmDecrypt(aes, body, body, (word32)n, nonce,
		    TLSREC_IV, body + n, TLSREC_TAG, hdr, TLSREC_HDR);
	if (r != 0)
		return TLSREC_E_AUTH;
	d->seq++;
	if (n > TLSREC_MAX_INNER)
		return TLSREC_E_OVERFLOW;
	/* strip the zero padding; the last non-zero byte is the type */
	while (n > 0 && body[n - 1] == 0)
		n--;
	if (n == 0)
		return TLSREC_E_NOTYPE;
	*type = body[n - 1];
	return (int)(n - 1);
}

void
tlsrec_wipe(struct tlsrec_dir *d)
{
	tlsrec_forget(d->gen);
	sodium_memzero(d, sizeof(*d));
}
