/*
 * aead.h - ChaCha20-Poly1305 (RFC 8439, 96-bit nonce) for Noise, with
 * the implementation chosen once per process (L0).
 *
 * Two implementations compute the same function: libsodium's
 * crypto_aead_chacha20poly1305_ietf and one built here from wolfCrypt's
 * ChaCha20 and Poly1305 (AVX2 assembly in the wolfSSL that
 * contrib/build-wolfssl.sh builds).  aead_select() picks one at startup;
 * every aead_seal()/aead_open() then uses it.  tests/unit/test_aead.c
 * proves the two byte-identical; docs/benchmarks.md has the speeds.
 *
 * The choice is one process-wide variable: set it before the event loop
 * (and before any other thread seals), never while frames are in flight.
 */
#ifndef PEERLOCK_AEAD_H
#define PEERLOCK_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	AEAD_KEY_LEN = 32,
	AEAD_NONCE_LEN = 12,
	AEAD_TAG_LEN = 16,
	AEAD_MAX_LEN = 1 << 30		/* far above any Noise message */
};

enum aead_impl {
	AEAD_AUTO,	/* the fastest this build and CPU have */
	AEAD_SODIUM,	/* libsodium */
	AEAD_WOLFCRYPT	/* wolfCrypt's ChaCha20 and Poly1305 */
};

/*
 * Whether impl can run here: libsodium always; wolfCrypt when the
 * linked wolfSSL was built with ChaCha20 and Poly1305 (HAVE_CHACHA,
 * HAVE_POLY1305).  AEAD_AUTO is always available.
 */
bool aead_available(enum aead_impl impl);

/*
 * Whether wolfCrypt would run its AVX2 assembly here: the wolfSSL has
 * the x86-64 assembly (USE_INTEL_SPEEDUP) and this CPU and kernel
 * support AVX2.  That is the rule AEAD_AUTO follows.
 */
bool aead_wolfcrypt_asm(void);

/*
 * Use impl from now on (AEAD_AUTO: wolfCrypt if aead_wolfcrypt_asm(),
 * else libsodium).  Returns 0, or -1 if impl is not available (the
 * choice is then unchanged).  Before any call, libsodium is used.
 */
int aead_select(enum aead_impl impl);

/*
 * Parse "auto", "sodium" (or "libsodium") or "wolfcrypt" into *impl.
 * NULL or "" means auto.  Returns 0, or -1 for anything else.
 */
int aead_parse(const char *name, enum aead_impl *impl);

/* The implementation in use: AEAD_SODIUM or AEAD_WOLFCRYPT. */
enum aead_impl aead_current(void);

/* "libsodium" or "wolfcrypt": the short name of impl (auto: "auto"). */
const char *aead_name(enum aead_impl impl);

/*
 * One line on the implementation in use and what wolfCrypt's code is
 * here, e.g. "wolfcrypt (AVX2 assembly)" or "libsodium (wolfCrypt
 * here: portable C)", into buf (cap bytes; 64 suffice).
 * Returns buf.
 */
char *aead_describe(char *buf, size_t cap);

/*
 * Seal in[0..len) into out: len bytes of ciphertext, then the 16-byte
 * tag.  in may equal out (in place); other overlaps are not allowed.
 * ad may be NULL when adlen is 0.  Returns 0, or -1 if len or adlen
 * exceeds AEAD_MAX_LEN or the library failed (out is then wiped).
 */
int aead_seal(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out);

/*
 * Open in[0..clen) (ciphertext then tag, clen >= 16) into out
 * (clen - 16 bytes); in may equal out.  The tag is checked in constant
 * time before anything is decrypted: on failure (-1) out holds no
 * plaintext (libsodium zeroes it, wolfCrypt leaves it untouched).
 * Returns 0 or -1.
 */
int aead_open(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out);

/*
 * The same with an explicit implementation, whatever aead_select()
 * chose (tests and benchmarks).  -1 also if impl is not available.
 */
int aead_seal_with(enum aead_impl impl, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out);
int aead_open_with(enum aead_impl impl, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out);

#endif
