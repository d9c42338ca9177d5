/*
 * noise.c - Noise_XX_25519_ChaChaPoly_SHA256 (Noise rev 34), sans-I/O.
 *
 * Pattern XX, as tokens:
 *
 *   msg 1  -> e
 *   msg 2  <- e, ee, s, es
 *   msg 3  -> s, se
 *
 * Wire sizes (no libp2p length prefix here; see frame.c):
 *
 *   msg 1 = e.pub(32) || payload                      >= 32
 *   msg 2 = e.pub(32) || ENC(s.pub)(48) || ENC(p)(+16) >= 96
 *   msg 3 = ENC(s.pub)(48) || ENC(p)(+16)              >= 64
 *
 * Primitives (noise.md section 4): SHA-256, HMAC-SHA256, HKDF as
 * t = HMAC(ck, ikm), o1 = HMAC(t, 0x01), o2 = HMAC(t, o1 || 0x02);
 * X25519 with an all-zero result rejected; ChaCha20-Poly1305 (IETF)
 * with nonce 00000000 || LE64(n), through aead.c (libsodium or
 * wolfCrypt, whichever aead_select() chose: the same bytes either way).
 * Handshake AD is h, transport AD is empty.  Every DH output lives
 * only inside mix_dh() (MixKey(DH(...))), which wipes it before
 * returning.
 */
#include "noise.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"

/* The protocol name is exactly HASHLEN bytes: used verbatim as h, ck. */
static const char noise_name[NOISE_HASH_LEN + 1] =
    "Noise_XX_25519_ChaChaPoly_SHA256";

enum {
	DH_LEN = 32,		/* X25519 key / output */
	NONCE_LEN = 12,		/* ChaCha20-Poly1305 IETF */
	MSG1_MIN = DH_LEN,
	MSG2_MIN = DH_LEN + DH_LEN + 2 * NOISE_TAG_LEN,
	MSG3_MIN = DH_LEN + 2 * NOISE_TAG_LEN
};

/* Where the handshake is: the next message, or its end. */
enum hs_state {
	HS_MSG1,	/* -> e */
	HS_MSG2,	/* <- e, ee, s, es */
	HS_MSG3,	/* -> s, se */
	HS_SPLIT,	/* all messages done; waiting for split */
	HS_DONE,	/* split done; secrets wiped */
	HS_FAILED	/* any error; every call fails from now on */
};

/* Noise SymmetricState: chaining key, handshake hash, cipher. */
struct symmetric {
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	struct noise_cipher c;
	bool has_key;
};

struct noise_hs {
	enum noise_role role;
	enum hs_state state;
	struct symmetric sym;
	uint8_t s_priv[DH_LEN];
	uint8_t s_pub[DH_LEN];
	uint8_t e_priv[DH_LEN];
	uint8_t e_pub[DH_LEN];
	uint8_t rs[DH_LEN];
	uint8_t re[DH_LEN];
	bool have_rs;
};

/* HMAC-SHA256 over d1 || d2 under a key of any length. */
static void
hmac2(const uint8_t *key, size_t keylen, const uint8_t *d1, size_t l1,
    const uint8_t *d2, size_t l2, uint8_t out[static NOISE_HASH_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	if (l1 > 0)
		crypto_auth_hmacsha256_update(&st, d1, l1);
	if (l2 > 0)
		crypto_auth_hmacsha256_update(&st, d2, l2);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Noise HKDF with two outputs; o1/o2 may alias ck. */
static void
hkdf2(const uint8_t ck[static NOISE_HASH_LEN], const uint8_t *ikm,
    size_t ikmlen, uint8_t o1[static NOISE_HASH_LEN],
    uint8_t o2[static NOISE_HASH_LEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t t[NOISE_HASH_LEN];
	uint8_t t1[NOISE_HASH_LEN];

	hmac2(ck, NOISE_HASH_LEN, ikm, ikmlen, NULL, 0, t);
	hmac2(t, sizeof(t), &one, 1, NULL, 0, t1);
	hmac2(t, sizeof(t), t1, sizeof(t1), &two, 1, o2);
	memcpy(o1, t1, sizeof(t1));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(t1, sizeof(t1));
}

/* X25519; fails (and zeroes out) on an all-zero, low-order result. */
static int
dh(uint8_t out[static DH_LEN], const uint8_t priv[static DH_LEN],
    const uint8_t pub[static DH_LEN])
{
	if (crypto_scalarmult(out, priv, pub) != 0 ||
	    sodium_is_zero(out, DH_LEN)) {
		sodium_memzero(out, DH_LEN);
		return -1;
	}
	return 0;
}

/* The 96-bit nonce: four zero bytes, then n little-endian. */
static void
nonce_put(uint8_t nonce[static NONCE_LEN], uint64_t n)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n++, ad, in) into out (len + 16 bytes); in may be out. */
static int
cipher_encrypt_ad(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];

	/* n = 2^64-1 is reserved: the counter is exhausted. */
	if (c->n == UINT64_MAX)
		return -1;
	nonce_put(nonce, c->n);
	if (aead_seal(c->k, nonce, ad, adlen, in, len, out) != 0)
		return -1;
	c->n++;
	return 0;
}

/* DECRYPT(k, n, ad, in) into out (clen - 16); n moves on success only. */
static int
cipher_decrypt_ad(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t clen, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];

	if (clen < NOISE_TAG_LEN || c->n == UINT64_MAX)
		return -1;
	nonce_put(nonce, c->n);
	if (aead_open(c->k, nonce, ad, adlen, in, clen, out) != 0)
		return -1;
	c->n++;
	return 0;
}

/* MixHash: h = SHA-256(h || data). */
static void
mix_hash(struct symmetric *sym, const uint8_t *data, size_t len)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, sym->h, sizeof(sym->h));
	if (len > 0)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, sym->h);
	sodium_memzero(&st, sizeof(st));
}

/* MixKey: ck, k = HKDF(ck, ikm, 2); n = 0. */
static void
mix_key(struct symmetric *sym, const uint8_t ikm[static DH_LEN])
{
	hkdf2(sym->ck, ikm, DH_LEN, sym->ck, sym->c.k);
	sym->c.n = 0;
	sym->has_key = true;
}

/* MixKey(DH(priv, pub)); the DH output is wiped here, whatever happens. */
static int
mix_dh(struct symmetric *sym, const uint8_t priv[static DH_LEN],
    const uint8_t pub[static DH_LEN])
{
	uint8_t k[DH_LEN];
	int ret = -1;

	if (dh(k, priv, pub) == 0) {
		mix_key(sym, k);
		ret = 0;
	}
	sodium_memzero(k, sizeof(k));
	return ret;
}

/* EncryptAndHash: out gets len (+16 once keyed) bytes; p != out. */
static int
encrypt_and_hash(struct symmetric *sym, const uint8_t *p, size_t len,
    uint8_t *out, size_t *outlen)
{
	if (sym->has_key) {
		if (cipher_encrypt_ad(&sym->c, sym->h, sizeof(sym->h), p, len,
		    out) != 0)
			return -1;
		len += NOISE_TAG_LEN;
	} else if (len > 0)
		memmove(out, p, len);
	mix_hash(sym, out, len);
	*outlen = len;
	return 0;
}

/* DecryptAndHash: hashes the ciphertext c, not the plaintext. */
static int
decrypt_and_hash(struct symmetric *sym, const uint8_t *c, size_t clen,
    uint8_t *out)
{
	if (sym->has_key) {
		if (cipher_decrypt_ad(&sym->c, sym->h, sizeof(sym->h), c, clen,
		    out) != 0)
			return -1;
	} else if (clen > 0)
		memmove(out, c, clen);
	mix_hash(sym, c, clen);
	return 0;
}

/* Message 1, initiator: -> e. */
static int
write_msg1(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	size_t clen;

	if (plen > NOISE_MAX_MSG - MSG1_MIN || cap < MSG1_MIN + plen)
		return -1;
	/* e */
	memcpy(out, hs->e_pub, DH_LEN);
	mix_hash(&hs->sym, hs->e_pub, DH_LEN);
	/* payload, in the clear: no key yet */
	if (encrypt_and_hash(&hs->sym, payload, plen, out + DH_LEN,
	    &clen) != 0)
		return -1;
	*outlen = DH_LEN + clen;
	return 0;
}

/* Message 1, responder: -> e. */
static int
read_msg1(struct noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t cap, size_t *plen)
{
	if (mlen < MSG1_MIN || mlen - MSG1_MIN > cap)
		return -1;
	/* e */
	memcpy(hs->re, msg, DH_LEN);
	mix_hash(&hs->sym, hs->re, DH_LEN);
	/* payload */
	if (decrypt_and_hash(&hs->sym, msg + DH_LEN, mlen - DH_LEN,
	    payload) != 0)
		return -1;
	*plen = mlen - DH_LEN;
	return 0;
}

/* Message 2, responder: <- e, ee, s, es. */
static int
write_msg2(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n, clen;

	if (plen > NOISE_MAX_MSG - MSG2_MIN || cap < MSG2_MIN + plen)
		return -1;
	/* e */
	memcpy(out, hs->e_pub, DH_LEN);
	mix_hash(&hs->sym, hs->e_pub, DH_LEN);
	n = DH_LEN;
	/* ee */
	if (mix_dh(&hs->sym, hs->e_priv, hs->re) != 0)
		return -1;
	/* s */
	if (encrypt_and_hash(&hs->sym, hs->s_pub, DH_LEN, out + n,
	    &clen) != 0)
		return -1;
	n += clen;
	/* es */
	if (mix_dh(&hs->sym, hs->s_priv, hs->re) != 0)
		return -1;
	/* payload */
	if (encrypt_and_hash(&hs->sym, payload, plen, out + n, &clen) != 0)
		return -1;
	*outlen = n + clen;
	return 0;
}

/* Message 2, initiator: <- e, ee, s, es. */
static int
read_msg2(struct noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t cap, size_t *plen)
{
	size_t n;

	if (mlen < MSG2_MIN || mlen - MSG2_MIN > cap)
		return -1;
	/* e */
	memcpy(hs->re, msg, DH_LEN);
	mix_hash(&hs->sym, hs->re, DH_LEN);
	n = DH_LEN;
	/* ee */
	if (mix_dh(&hs->sym, hs->e_priv, hs->re) != 0)
		return -1;
	/* s */
	if (decrypt_and_hash(&hs->sym, msg + n, DH_LEN + NOISE_TAG_LEN,
	    hs->rs) != 0)
		return -1;
	hs->have_rs = true;
	n += DH_LEN + NOISE_TAG_LEN;
	/* es */
	if (mix_dh(&hs->sym, hs->e_priv, hs->rs) != 0)
		return -1;
	/* payload */
	if (decrypt_and_hash(&hs->sym, msg + n, mlen - n, payload) != 0)
		return -1;
	*plen = mlen - MSG2_MIN;
	return 0;
}

/* Message 3, initiator: -> s, se. */
static int
write_msg3(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n, clen;

	if (plen > NOISE_MAX_MSG - MSG3_MIN || cap < MSG3_MIN + plen)
		return -1;
	/* s: still the es key, nonce 1 */
	if (encrypt_and_hash(&hs->sym, hs->s_pub, DH_LEN, out, &clen) != 0)
		return -1;
	n = clen;
	/* se */
	if (mix_dh(&hs->sym, hs->s_priv, hs->re) != 0)
		return -1;
	/* payload */
	if (encrypt_and_hash(&hs->sym, payload, plen, out + n, &clen) != 0)
		return -1;
	*outlen = n + clen;
	return 0;
}

/* Message 3, responder: -> s, se. */
static int
read_msg3(struct noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t cap, size_t *plen)
{
	size_t n;

	if (mlen < MSG3_MIN || mlen - MSG3_MIN > cap)
		return -1;
	/* s */
	if (decrypt_and_hash(&hs->sym, msg, DH_LEN + NOISE_TAG_LEN,
	    hs->rs) != 0)
		return -1;
	hs->have_rs = true;
	n = DH_LEN + NOISE_TAG_LEN;
	/* se */
	if (mix_dh(&hs->sym, hs->e_priv, hs->rs) != 0)
		return -1;
	/* payload */
	if (decrypt_and_hash(&hs->sym, msg + n, mlen - n, payload) != 0)
		return -1;
	*plen = mlen - MSG3_MIN;
	return 0;
}

/* Fill priv from a caller's key or fresh randomness; derive pub. */
static int
keypair(uint8_t priv[static DH_LEN], uint8_t pub[static DH_LEN],
    const uint8_t *given)
{
	if (given != NULL)
		memcpy(priv, given, DH_LEN);
	else
		randombytes_buf(priv, DH_LEN);
	return crypto_scalarmult_base(pub, priv);
}

/* A key pair from priv or fresh randomness; see noise.h. */
int
noise_keypair_init(struct noise_keypair *kp, const uint8_t *priv)
{
	if (sodium_init() < 0 || keypair(kp->priv, kp->pub, priv) != 0) {
		sodium_memzero(kp, sizeof(*kp));
		return -1;
	}
	return 0;
}

/* A handshake from private keys (NULL: fresh); see noise.h. */
struct noise_hs *
noise_hs_new(enum noise_role role, const uint8_t *prologue,
    size_t prologue_len, const uint8_t *s_priv, const uint8_t *e_priv)
{
	struct noise_keypair s, e;
	struct noise_hs *hs = NULL;

	if (noise_keypair_init(&s, s_priv) == 0 &&
	    noise_keypair_init(&e, e_priv) == 0)
		hs = noise_hs_new_keys(role, prologue, prologue_len, &s, &e);
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(&e, sizeof(e));
	return hs;
}

/* Allocate and initialise a handshake (InitializeSymmetric, MixHash). */
struct noise_hs *
noise_hs_new_keys(enum noise_role role, const uint8_t *prologue,
    size_t prologue_len, const struct noise_keypair *s,
    const struct noise_keypair *e)
{
	struct noise_hs *hs;

	if (sodium_init() < 0)
		return NULL;
	if (role != NOISE_INITIATOR && role != NOISE_RESPONDER)
		return NULL;
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	hs->role = role;
	hs->state = HS_MSG1;
	memcpy(hs->s_priv, s->priv, DH_LEN);
	memcpy(hs->s_pub, s->pub, DH_LEN);
	if (e != NULL) {
		memcpy(hs->e_priv, e->priv, DH_LEN);
		memcpy(hs->e_pub, e->pub, DH_LEN);
	} else if (keypair(hs->e_priv, hs->e_pub, NULL) != 0)
		goto fail;
	memcpy(hs->sym.h, noise_name, NOISE_HASH_LEN);
	memcpy(hs->sym.ck, noise_name, NOISE_HASH_LEN);
	mix_hash(&hs->sym, prologue, prologue_len);
	return hs;
fail:
	noise_hs_free(hs);
	return NULL;
}

/* Wipe everything, then free. */
void
noise_hs_free(struct noise_hs *hs)
{
	if (hs == NULL)
		return;
	sodium_memzero(hs, sizeof(*hs));
	free(hs);
}

/* Whose turn is it: derived from the state and our role. */
enum noise_action
noise_hs_next(const struct noise_hs *hs)
{
	bool initiator = hs->role == NOISE_INITIATOR;

	switch (hs->state) {
	case HS_MSG1:
	case HS_MSG3:
		return initiator ? NOISE_WRITE : NOISE_READ;
	case HS_MSG2:
		return initiator ? NOISE_READ : NOISE_WRITE;
	case HS_SPLIT:
		return NOISE_SPLIT;
	case HS_DONE:
	case HS_FAILED:
		break;
	}
	return NOISE_FAILED;
}

/* Drop every secret; h and the public keys stay readable. */
static void
hs_wipe(struct noise_hs *hs)
{
	sodium_memzero(hs->sym.ck, sizeof(hs->sym.ck));
	sodium_memzero(&hs->sym.c, sizeof(hs->sym.c));
	sodium_memzero(hs->s_priv, sizeof(hs->s_priv));
	sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
	hs->sym.has_key = false;
}

/* Wipe and mark the handshake unusable. */
static void
hs_fail(struct noise_hs *hs)
{
	hs_wipe(hs);
	hs->state = HS_FAILED;
}

/* After a message step returned rc: the next state, or failed for good. */
static int
hs_advance(struct noise_hs *hs, int rc)
{
	if (rc != 0)
		hs_fail(hs);
	else
		hs->state++;	/* MSG1 -> MSG2 -> MSG3 -> SPLIT */
	return rc;
}

/* Write the current message if it is ours to write. */
int
noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	int rc = -1;

	if (noise_hs_next(hs) != NOISE_WRITE)
		goto out;
	switch (hs->state) {
	case HS_MSG1:
		rc = write_msg1(hs, payload, plen, out, cap, outlen);
		break;
	case HS_MSG2:
		rc = write_msg2(hs, payload, plen, out, cap, outlen);
		break;
	case HS_MSG3:
		rc = write_msg3(hs, payload, plen, out, cap, outlen);
		break;
	default:
		break;
	}
out:
	return hs_advance(hs, rc);
}

/* Read the current message if it is ours to read. */
int
noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t cap, size_t *plen)
{
	int rc = -1;

	if (noise_hs_next(hs) != NOISE_READ || mlen > NOISE_MAX_MSG)
		goto out;
	switch (hs->state) {
	case HS_MSG1:
		rc = read_msg1(hs, msg, mlen, payload, cap, plen);
		break;
	case HS_MSG2:
		rc = read_msg2(hs, msg, mlen, payload, cap, plen);
		break;
	case HS_MSG3:
		rc = read_msg3(hs, msg, mlen, payload, cap, plen);
		break;
	default:
		break;
	}
out:
	return hs_advance(hs, rc);
}

/* Remote static key, once message 2 or 3 delivered it. */
const uint8_t *
noise_hs_remote_static(const struct noise_hs *hs)
{
	return hs->have_rs ? hs->rs : NULL;
}

/* Our static public key. */
const uint8_t *
noise_hs_local_static(const struct noise_hs *hs)
{
	return hs->s_pub;
}

/* Handshake hash h. */
const uint8_t *
noise_hs_hash(const struct noise_hs *hs)
{
	return hs->sym.h;
}

/* Split(): c1 = initiator->responder, c2 = responder->initiator. */
int
noise_hs_split(struct noise_hs *hs, struct noise_cipher *send,
    struct noise_cipher *recv)
{
	uint8_t k1[NOISE_KEY_LEN], k2[NOISE_KEY_LEN];
	int ret = -1;

	if (hs->state != HS_SPLIT) {
		hs_fail(hs);
		goto out;
	}
	hkdf2(hs->sym.ck, NULL, 0, k1, k2);
	if (hs->role == NOISE_INITIATOR) {
		memcpy(send->k, k1, sizeof(k1));
		memcpy(recv->k, k2, sizeof(k2));
	} else {
		memcpy(send->k, k2, sizeof(k2));
		memcpy(recv->k, k1, sizeof(k1));
	}
	send->n = 0;
	recv->n = 0;
	/* The handshake is spent: only h and the public keys remain. */
	hs_wipe(hs);
	hs->state = HS_DONE;
	ret = 0;
out:
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return ret;
}

/* Transport encrypt, empty AD. */
int
noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *in, size_t len,
    uint8_t *out)
{
	return cipher_encrypt_ad(c, NULL, 0, in, len, out);
}

/* Transport decrypt, empty AD. */
int
noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *in, size_t clen,
    uint8_t *out)
{
	return cipher_decrypt_ad(c, NULL, 0, in, clen, out);
}

/* Zero key and counter. */
void
noise_cipher_wipe(struct noise_cipher *c)
{
	sodium_memzero(c, sizeof(*c));
}
