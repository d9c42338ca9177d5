/*
 * aead.c - ChaCha20-Poly1305 (RFC 8439) through libsodium or wolfCrypt,
 * chosen once per process.
 *
 * wolfCrypt's one-shot wc_ChaCha20Poly1305_Decrypt() writes the
 * plaintext before it checks the tag, and its setup leaves the Poly1305
 * one-time key on the stack.  So the wolfCrypt side is composed here
 * from the two primitives, as RFC 8439 section 2.8 defines the AEAD:
 *
 *   otk  = ChaCha20(key, nonce, counter 0)[0..32)
 *   ct   = ChaCha20(key, nonce, counter 1..) XOR pt
 *   tag  = Poly1305(otk, ad || pad16 || ct || pad16 ||
 *                        LE64(|ad|) || LE64(|ct|))
 *
 * Open computes the tag over the ciphertext first, compares it in
 * constant time and only then decrypts, as libsodium does.  The cipher
 * and MAC states and the one-time key live on the stack and are wiped
 * before return.
 *
 * This is the third file with wolfCrypt headers (after the TLS modules
 * and keys.c); it uses only <wolfssl/wolfcrypt/{chacha,poly1305}.h>.
 */
#include "aead.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#if defined(HAVE_CHACHA) && defined(HAVE_POLY1305)
#include <wolfssl/wolfcrypt/chacha.h>
#include <wolfssl/wolfcrypt/poly1305.h>
#define AEAD_HAVE_WOLFCRYPT 1
#endif

/*
 * wolfCrypt's x86-64 ChaCha20 and Poly1305 assembly, which dispatches
 * to AVX2 code by CPUID at run time (chacha.c, poly1305.c).
 */
#if defined(AEAD_HAVE_WOLFCRYPT) && defined(USE_INTEL_SPEEDUP) && \
    defined(WOLFSSL_X86_64_BUILD) && !defined(NO_CHACHA_ASM) && \
    !defined(NO_AVX2_SUPPORT) && defined(__x86_64__) && defined(__GNUC__)
#define AEAD_HAVE_WOLFCRYPT_ASM 1
#endif

/* The implementation in use (see aead.h: libsodium until selected). */
static enum aead_impl aead_impl = AEAD_SODIUM;

/* Whether impl can run in this build. */
bool
aead_available(enum aead_impl impl)
{
	switch (impl) {
	case AEAD_AUTO:
	case AEAD_SODIUM:
		return true;
	case AEAD_WOLFCRYPT:
#ifdef AEAD_HAVE_WOLFCRYPT
		return true;
#else
		return false;
#endif
	}
	return false;
}

/* wolfCrypt has the assembly and the CPU runs AVX2. */
bool
aead_wolfcrypt_asm(void)
{
#ifdef AEAD_HAVE_WOLFCRYPT_ASM
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") != 0;
#else
	return false;
#endif
}

/* Choose the implementation; AEAD_AUTO follows aead_wolfcrypt_asm(). */
int
aead_select(enum aead_impl impl)
{
	if (impl == AEAD_AUTO)
		impl = aead_wolfcrypt_asm() ? AEAD_WOLFCRYPT : AEAD_SODIUM;
	if (!aead_available(impl))
		return -1;
	aead_impl = impl;
	return 0;
}

/* "auto", "sodium"/"libsodium", "wolfcrypt"; NULL or "" is auto. */
int
aead_parse(const char *name, enum aead_impl *impl)
{
	if (name == NULL || *name == '\0' || strcmp(name, "auto") == 0)
		*impl = AEAD_AUTO;
	else if (strcmp(name, "sodium") == 0 ||
	    strcmp(name, "libsodium") == 0)
		*impl = AEAD_SODIUM;
	else if (strcmp(name, "wolfcrypt") == 0)
		*impl = AEAD_WOLFCRYPT;
	else
		return -1;
	return 0;
}

/* The implementation in use. */
enum aead_impl
aead_current(void)
{
	return aead_impl;
}

/* Short name. */
const char *
aead_name(enum aead_impl impl)
{
	switch (impl) {
	case AEAD_AUTO:
		return "auto";
	case AEAD_SODIUM:
		return "libsodium";
	case AEAD_WOLFCRYPT:
		return "wolfcrypt";
	}
	return "?";
}

/* What wolfCrypt's ChaCha20-Poly1305 runs on this machine. */
static const char *
aead_wolfcrypt_code(void)
{
#if !defined(AEAD_HAVE_WOLFCRYPT)
	return "none in this wolfSSL";
#elif !defined(AEAD_HAVE_WOLFCRYPT_ASM)
	return "portable C";
#else
	return aead_wolfcrypt_asm() ? "AVX2 assembly" :
	    "x86-64 assembly without AVX2";
#endif
}

/* One line for the log, `peerlock version` and the metrics. */
char *
aead_describe(char *buf, size_t cap)
{
	if (aead_impl == AEAD_WOLFCRYPT)
		snprintf(buf, cap, "wolfcrypt (%s)", aead_wolfcrypt_code());
	else
		snprintf(buf, cap, "libsodium (wolfCrypt here: %s)",
		    aead_wolfcrypt_code());
	return buf;
}

/* libsodium seal; its API takes the tag right after the ciphertext. */
static int
sodium_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	return crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len,
	    ad, adlen, NULL, nonce, key) == 0 ? 0 : -1;
}

/* libsodium open: tag first, then decryption (out zeroed on failure). */
static int
sodium_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out)
{
	return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in,
	    clen, ad, adlen, nonce, key) == 0 ? 0 : -1;
}

#ifdef AEAD_HAVE_WOLFCRYPT
/*
 * Key the cipher for nonce at block 1 and the MAC with the one-time key
 * from block 0.  0 or -1; the caller wipes both states either way.
 */
static int
wc_start(ChaCha *cc, Poly1305 *mac, const uint8_t *key,
    const uint8_t *nonce)
{
	uint8_t otk[AEAD_KEY_LEN];
	int r;

	memset(otk, 0, sizeof(otk));
	r = wc_Chacha_SetKey(cc, key, AEAD_KEY_LEN);
	if (r == 0)
		r = wc_Chacha_SetIV(cc, nonce, 0);
	if (r == 0)
		r = wc_Chacha_Process(cc, otk, otk, sizeof(otk));
	if (r == 0)
		r = wc_Poly1305SetKey(mac, otk, sizeof(otk));
	if (r == 0)
		r = wc_Chacha_SetIV(cc, nonce, 1);
	sodium_memzero(otk, sizeof(otk));
	return r == 0 ? 0 : -1;
}

/* The RFC 8439 tag over ad and the ciphertext ct[0..len). */
static int
wc_tag(Poly1305 *mac, const uint8_t *ad, size_t adlen, const uint8_t *ct,
    size_t len, uint8_t tag[static AEAD_TAG_LEN])
{
	int r = 0;

	if (adlen > 0) {
		r = wc_Poly1305Update(mac, ad, (word32)adlen);
		if (r == 0)
			r = wc_Poly1305_Pad(mac, (word32)adlen);
	}
	if (r == 0 && len > 0) {
		r = wc_Poly1305Update(mac, ct, (word32)len);
		if (r == 0)
			r = wc_Poly1305_Pad(mac, (word32)len);
	}
	if (r == 0)
		r = wc_Poly1305_EncodeSizes(mac, (word32)adlen, (word32)len);
	if (r == 0)
		r = wc_Poly1305Final(mac, tag);
	return r == 0 ? 0 : -1;
}

/* wolfCrypt seal: encrypt, then MAC the ciphertext. */
static int
wc_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	ChaCha cc;
	Poly1305 mac;
	int r;

	r = wc_start(&cc, &mac, key, nonce);
	if (r == 0 && len > 0 &&
	    wc_Chacha_Process(&cc, out, in, (word32)len) != 0)
		r = -1;
	if (r == 0)
		r = wc_tag(&mac, ad, adlen, out, len, out + len);
	sodium_memzero(&cc, sizeof(cc));
	sodium_memzero(&mac, sizeof(mac));
	if (r != 0)
		sodium_memzero(out, len + AEAD_TAG_LEN);
	return r;
}

/* wolfCrypt open: MAC the ciphertext, compare, only then decrypt. */
static int
wc_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out)
{
	uint8_t tag[AEAD_TAG_LEN];
	size_t len = clen - AEAD_TAG_LEN;
	ChaCha cc;
	Poly1305 mac;
	int r;

	r = wc_start(&cc, &mac, key, nonce);
	if (r == 0)
		r = wc_tag(&mac, ad, adlen, in, len, tag);
	if (r == 0 && crypto_verify_16(tag, in + len) != 0)
		r = -1;
	if (r == 0 && len > 0 &&
	    wc_Chacha_Process(&cc, out, in, (word32)len) != 0) {
		sodium_memzero(out, len);
		r = -1;
	}
	sodium_memzero(&cc, sizeof(cc));
	sodium_memzero(&mac, sizeof(mac));
	sodium_memzero(tag, sizeof(tag));
	return r;
}
#endif

/* Seal with impl. */
int
aead_seal_with(enum aead_impl impl, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	if (len > AEAD_MAX_LEN || adlen > AEAD_MAX_LEN)
		return -1;
	switch (impl) {
	case AEAD_SODIUM:
		return sodium_seal(key, nonce, ad, adlen, in, len, out);
	case AEAD_WOLFCRYPT:
#ifdef AEAD_HAVE_WOLFCRYPT
		return wc_seal(key, nonce, ad, adlen, in, len, out);
#else
		break;
#endif
	case AEAD_AUTO:
		break;
	}
	return -1;
}

/* Open with impl. */
int
aead_open_with(enum aead_impl impl, const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out)
{
	if (clen < AEAD_TAG_LEN || clen - AEAD_TAG_LEN > AEAD_MAX_LEN ||
	    adlen > AEAD_MAX_LEN)
		return -1;
	switch (impl) {
	case AEAD_SODIUM:
		return sodium_open(key, nonce, ad, adlen, in, clen, out);
	case AEAD_WOLFCRYPT:
#ifdef AEAD_HAVE_WOLFCRYPT
		return wc_open(key, nonce, ad, adlen, in, clen, out);
#else
		break;
#endif
	case AEAD_AUTO:
		break;
	}
	return -1;
}

/* Seal with the selected implementation. */
int
aead_seal(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	return aead_seal_with(aead_impl, key, nonce, ad, adlen, in, len, out);
}

/* Open with the selected implementation. */
int
aead_open(const uint8_t key[static AEAD_KEY_LEN],
    const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t clen, uint8_t *out)
{
	return aead_open_with(aead_impl, key, nonce, ad, adlen, in, clen,
	    out);
}
