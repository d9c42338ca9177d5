/*
 * noise.h - Noise_XX_25519_ChaChaPoly_SHA256, sans-I/O (L1).
 *
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 *
 * The handshake object knows nothing of libp2p: payloads are opaque
 * bytes and messages carry no length prefix.  The caller asks
 * noise_hs_next() what to do, does the I/O, and finally splits the
 * handshake into two cipher states.  Every secret is wiped on free.
 */
#ifndef PEERLOCK_NOISE_H
#define PEERLOCK_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum noise_role { NOISE_INITIATOR, NOISE_RESPONDER };

enum noise_action {
	NOISE_WRITE,	/* call noise_hs_write() */
	NOISE_READ,	/* call noise_hs_read() */
	NOISE_SPLIT,	/* handshake done: call noise_hs_split() */
	NOISE_FAILED	/* unusable; free it */
};

/* One direction's transport cipher: key and 64-bit nonce counter. */
struct noise_cipher {
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
};

struct noise_hs;

/* An X25519 key pair. */
struct noise_keypair {
	uint8_t priv[NOISE_KEY_LEN];
	uint8_t pub[NOISE_KEY_LEN];
};

/*
 * Fill kp from priv (NULL: fresh randomness) and derive the public key:
 * one X25519 base-point multiplication.  0, or -1 (kp wiped).
 */
int noise_keypair_init(struct noise_keypair *kp, const uint8_t *priv);

/*
 * New handshake with key pairs made beforehand: s is ours for good, e
 * must never be used again (NULL: a fresh one).  Saves the base-point
 * multiplications of noise_hs_new() where a node keeps its static pair
 * and makes ephemeral ones while it waits.  The keys are copied.
 */
struct noise_hs *noise_hs_new_keys(enum noise_role role,
    const uint8_t *prologue, size_t prologue_len,
    const struct noise_keypair *s, const struct noise_keypair *e);

/*
 * New handshake.  prologue may be NULL/0 (libp2p uses an empty one).
 * s_priv is our static X25519 private key; e_priv fixes the ephemeral
 * key (tests only).  Either may be NULL to generate a fresh key.  The
 * keys are copied.  Calls sodium_init() (idempotent), so it is safe as
 * the first libsodium use.  Returns NULL on failure.
 */
struct noise_hs *noise_hs_new(enum noise_role role, const uint8_t *prologue,
    size_t prologue_len, const uint8_t *s_priv, const uint8_t *e_priv);

/* Wipe all state and free; NULL is a no-op. */
void noise_hs_free(struct noise_hs *hs);

/*
 * What the caller must do next.  NOISE_FAILED after any error, and
 * also once noise_hs_split() has succeeded (the object is spent).
 */
enum noise_action noise_hs_next(const struct noise_hs *hs);

/*
 * Write the next handshake message carrying payload[0..plen) into out
 * (cap bytes); *outlen is set.  payload and out must not overlap.  The
 * message is 32 + plen, 96 + plen or 64 + plen bytes (messages 1..3)
 * and never more than NOISE_MAX_MSG.  Returns 0, or -1 on a wrong turn,
 * small cap or low-order DH result (state becomes FAILED).
 */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen);

/*
 * Read one whole handshake message msg[0..mlen) and put its decrypted
 * payload in payload (cap bytes); *plen is set.  Lengths are checked
 * exactly: message 1 >= 32, 2 >= 96, 3 >= 64 bytes, all <= NOISE_MAX_MSG.
 * Returns 0, or -1 on a wrong turn, wrong length, payload larger than
 * cap, low-order DH result or failed tag (state becomes FAILED).
 */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t mlen,
    uint8_t *payload, size_t cap, size_t *plen);

/* The remote static public key once received, else NULL. */
const uint8_t *noise_hs_remote_static(const struct noise_hs *hs);
/* Our static public key. */
const uint8_t *noise_hs_local_static(const struct noise_hs *hs);
/*
 * The handshake hash h (valid any time, also after split; final after
 * the last message).  Not secret: split keeps it, wipes ck and keys.
 */
const uint8_t *noise_hs_hash(const struct noise_hs *hs);

/*
 * Split into transport ciphers: send and recv are set for this side
 * (initiator sends with c1, responder with c2), both with n = 0.  Only
 * when noise_hs_next() says NOISE_SPLIT.  Afterwards ck, the cipher
 * state and our private keys are wiped and every further call fails.
 * Returns 0 or -1.
 */
int noise_hs_split(struct noise_hs *hs, struct noise_cipher *send,
    struct noise_cipher *recv);

/*
 * Transport encryption with empty AD: out gets len + 16 bytes; in may
 * equal out (in place).  Fails (-1) on nonce exhaustion (n would reach
 * the reserved 2^64-1), in which case the connection must close.
 */
int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *in,
    size_t len, uint8_t *out);
/*
 * Decrypt clen (>= 16) bytes into out (clen - 16 bytes); in may equal
 * out.  Returns 0, or -1 on a short input, failed tag or exhausted
 * nonce; a failure leaves n unchanged (and the connection must close).
 */
int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *in,
    size_t clen, uint8_t *out);
/* Wipe a cipher state. */
void noise_cipher_wipe(struct noise_cipher *c);

#endif
