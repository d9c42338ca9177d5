/*
 * test_aead.c - the two ChaCha20-Poly1305 implementations of aead.c
 * compute the same function: RFC 8439's vectors through both; for random
 * keys, nonces, AD and every length 0..1100 plus the boundaries around
 * 2^11..2^16, Noise's 65519/65535 and 70000, and random lengths, the
 * sealed bytes (ciphertext and tag) are identical, each opens the
 * other's output in and out of place, and both reject a flipped bit in
 * the tag, the ciphertext or the AD, or the wrong nonce, without
 * releasing plaintext.  Also the selection rule and its names.
 *
 * Without wolfCrypt ChaCha20-Poly1305 (a wolfSSL built without it) the
 * test is skipped (exit 77) with a message.  The random seed is printed;
 * AEAD_TEST_SEED=<hex, 64 digits> replays a run.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "vec.h"

enum {
	MAXLEN = 70000,		/* > NOISE_MAX_MSG, as the task asks */
	EXHAUSTIVE = 1100,	/* every length 0..EXHAUSTIVE */
	NRANDOM = 64,		/* random lengths in 0..MAXLEN */
	SENTINEL = 0xa5
};

static uint8_t seed[randombytes_SEEDBYTES];
static uint64_t draws;

static uint8_t pt[MAXLEN], ad[512];
static uint8_t cs[MAXLEN + AEAD_TAG_LEN], cw[MAXLEN + AEAD_TAG_LEN];
static uint8_t ip[MAXLEN + AEAD_TAG_LEN], out[MAXLEN + AEAD_TAG_LEN];

/* Lengths at powers of two and the Noise limits, +-17 around each. */
static const size_t bounds[] = {
	2048, 4096, 8192, 16384, 32768, 65519, 65535, 65536, MAXLEN
};

/* Deterministic random bytes: the run's seed and a draw counter. */
static void
rnd(void *buf, size_t len)
{
	uint8_t s[randombytes_SEEDBYTES];
	size_t i;

	memcpy(s, seed, sizeof(s));
	for (i = 0; i < 8; i++)
		s[i] ^= (uint8_t)(draws >> (8 * i));
	draws++;
	randombytes_buf_deterministic(buf, len, s);
}

/* A random number below n. */
static size_t
rnd_below(size_t n)
{
	uint32_t v;

	rnd(&v, sizeof(v));
	return n == 0 ? 0 : v % n;
}

/* Seed from AEAD_TEST_SEED or fresh randomness; print it. */
static void
seed_init(void)
{
	const char *e = getenv("AEAD_TEST_SEED");
	char hex[2 * sizeof(seed) + 1];
	size_t n;

	if (sodium_init() < 0)
		abort();
	if (e == NULL || sodium_hex2bin(seed, sizeof(seed), e, strlen(e),
	    NULL, &n, NULL) != 0 || n != sizeof(seed))
		randombytes_buf(seed, sizeof(seed));
	sodium_bin2hex(hex, sizeof(hex), seed, sizeof(seed));
	printf("test_aead: AEAD_TEST_SEED=%s\n", hex);
}

/* The length the test (index) i checks: all small ones, then the rest. */
static size_t
length_at(int i)
{
	size_t nb = sizeof(bounds) / sizeof(bounds[0]);
	size_t j, b, v;

	if (i <= EXHAUSTIVE)
		return (size_t)i;
	j = (size_t)(i - EXHAUSTIVE - 1);
	if (j < nb * 35) {
		b = bounds[j / 35];
		v = b + j % 35 - 17;
		return v > MAXLEN ? MAXLEN : v;
	}
	return rnd_below(MAXLEN + 1);
}

/* How many lengths length_at() yields. */
static int
length_count(void)
{
	return EXHAUSTIVE + 1 +
	    (int)(sizeof(bounds) / sizeof(bounds[0])) * 35 + NRANDOM;
}

/*
 * A failed open into out (prefilled with SENTINEL) released nothing:
 * libsodium zeroes out, wolfCrypt leaves it untouched.
 */
static void
assert_no_plaintext(enum aead_impl impl, size_t len)
{
	int want = impl == AEAD_SODIUM ? 0 : SENTINEL;
	size_t i;

	/* one assertion, not one per byte: each costs Check a write */
	for (i = 0; i < len && out[i] == want; i++)
		;
	ck_assert_msg(i == len, "%s: byte %zu of %zu after a failed open is "
	    "0x%02x, not 0x%02x", aead_name(impl), i, len, out[i], want);
}

/* Both implementations reject c (clen bytes) under key/nonce/ad. */
static void
assert_rejected(const uint8_t *key, const uint8_t *nonce, size_t adlen,
    const uint8_t *c, size_t clen, const char *what)
{
	static const enum aead_impl impls[] = { AEAD_SODIUM, AEAD_WOLFCRYPT };
	size_t k;

	for (k = 0; k < 2; k++) {
		memset(out, SENTINEL, clen);
		ck_assert_msg(aead_open_with(impls[k], key, nonce, ad, adlen,
		    c, clen, out) == -1, "%s opened a frame with %s (%zu "
		    "bytes)", aead_name(impls[k]), what, clen);
		assert_no_plaintext(impls[k], clen - AEAD_TAG_LEN);
	}
}

/* One length: identical seals, cross opens, in place, tampering. */
static void
check_length(size_t len)
{
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], bad[AEAD_NONCE_LEN];
	size_t adlen, clen, pos;

	ck_assert_uint_le(len, MAXLEN);
	if (len > MAXLEN)
		return;	/* not reached: tells the compiler the range */
	clen = len + AEAD_TAG_LEN;
	rnd(key, sizeof(key));
	rnd(nonce, sizeof(nonce));
	/* no AD (transport), 32 bytes (handshake: h), or any length */
	adlen = len % 3 == 0 ? 0 : len % 3 == 1 ? 32 : rnd_below(sizeof(ad));
	rnd(ad, adlen);
	rnd(pt, len);

	ck_assert_int_eq(aead_seal_with(AEAD_SODIUM, key, nonce, ad, adlen,
	    pt, len, cs), 0);
	ck_assert_int_eq(aead_seal_with(AEAD_WOLFCRYPT, key, nonce, ad, adlen,
	    pt, len, cw), 0);
	ck_assert_msg(memcmp(cs, cw, clen) == 0, "length %zu, ad %zu: "
	    "libsodium and wolfCrypt sealed different bytes", len, adlen);

	/* in place: the same bytes */
	memcpy(ip, pt, len);
	ck_assert_int_eq(aead_seal_with(AEAD_WOLFCRYPT, key, nonce, ad, adlen,
	    ip, len, ip), 0);
	ck_assert_mem_eq(ip, cs, clen);
	memcpy(ip, pt, len);
	ck_assert_int_eq(aead_seal_with(AEAD_SODIUM, key, nonce, ad, adlen,
	    ip, len, ip), 0);
	ck_assert_mem_eq(ip, cw, clen);

	/* each opens the other's, out of place and in place */
	memset(out, SENTINEL, clen);
	ck_assert_int_eq(aead_open_with(AEAD_WOLFCRYPT, key, nonce, ad, adlen,
	    cs, clen, out), 0);
	ck_assert_mem_eq(out, pt, len);
	memset(out, SENTINEL, clen);
	ck_assert_int_eq(aead_open_with(AEAD_SODIUM, key, nonce, ad, adlen,
	    cw, clen, out), 0);
	ck_assert_mem_eq(out, pt, len);
	ck_assert_int_eq(aead_open_with(AEAD_WOLFCRYPT, key, nonce, ad, adlen,
	    ip, clen, ip), 0);
	ck_assert_mem_eq(ip, pt, len);

	/* a flipped bit in the tag, the ciphertext, the AD; another nonce */
	pos = len + rnd_below(AEAD_TAG_LEN);
	cs[pos] ^= (uint8_t)(1u << rnd_below(8));
	assert_rejected(key, nonce, adlen, cs, clen, "a flipped tag bit");
	memcpy(cs, cw, clen);
	if (len > 0) {
		pos = rnd_below(len);
		cs[pos] ^= (uint8_t)(1u << rnd_below(8));
		assert_rejected(key, nonce, adlen, cs, clen,
		    "a flipped ciphertext bit");
		memcpy(cs, cw, clen);
	}
	if (adlen > 0) {
		pos = rnd_below(adlen);
		ad[pos] ^= 0x80;
		assert_rejected(key, nonce, adlen, cs, clen,
		    "a flipped AD bit");
		ad[pos] ^= 0x80;
	}
	memcpy(bad, nonce, sizeof(bad));
	bad[rnd_below(sizeof(bad))] ^= 0x01;
	assert_rejected(key, bad, adlen, cs, clen, "the wrong nonce");
	/* and the original still opens with both */
	ck_assert_int_eq(aead_open_with(AEAD_SODIUM, key, nonce, ad, adlen,
	    cw, clen, out), 0);
	ck_assert_mem_eq(out, pt, len);
}

/* A slice of the lengths (Check's per-test timeout). */
START_TEST(test_identical)
{
	int i, n = length_count(), per = (n + 7) / 8;

	draws = (uint64_t)_i << 40;	/* a random stream per slice */
	for (i = _i * per; i < n && i < (_i + 1) * per; i++)
		check_length(length_at(i));
}
END_TEST

/* RFC 8439 vectors through both implementations. */
START_TEST(test_rfc8439)
{
	static const enum aead_impl impls[] = { AEAD_SODIUM, AEAD_WOLFCRYPT };
	json_t *root = vec_load("rfc8439-aead.json");
	json_t *v = json_array_get(json_object_get(root, "vectors"),
	    (size_t)_i);
	uint8_t *key, *nonce, *a, *p, *c, *t;
	size_t kl, nl, al, pl, cl, tl, k;

	ck_assert_ptr_nonnull(v);
	key = vec_hex(vec_str(v, "key"), &kl);
	nonce = vec_hex(vec_str(v, "nonce"), &nl);
	a = vec_hex(vec_str(v, "aad"), &al);
	p = vec_hex(vec_str(v, "plaintext"), &pl);
	c = vec_hex(vec_str(v, "ciphertext"), &cl);
	t = vec_hex(vec_str(v, "tag"), &tl);
	ck_assert_uint_eq(kl, AEAD_KEY_LEN);
	ck_assert_uint_eq(nl, AEAD_NONCE_LEN);
	ck_assert_uint_eq(cl, pl);
	ck_assert_uint_eq(tl, AEAD_TAG_LEN);
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(aead_seal_with(impls[k], key, nonce, a, al, p,
		    pl, cs), 0);
		ck_assert_msg(memcmp(cs, c, cl) == 0 &&
		    memcmp(cs + cl, t, tl) == 0, "%s: %s differs",
		    aead_name(impls[k]), vec_str(v, "source"));
		ck_assert_int_eq(aead_open_with(impls[k], key, nonce, a, al,
		    cs, cl + tl, out), 0);
		ck_assert_mem_eq(out, p, pl);
	}
	free(key);
	free(nonce);
	free(a);
	free(p);
	free(c);
	free(t);
	json_decref(root);
}
END_TEST

/* Short inputs and oversize lengths fail before any library call. */
START_TEST(test_bounds)
{
	static const uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN];
	static const enum aead_impl impls[] = { AEAD_SODIUM, AEAD_WOLFCRYPT };
	size_t k;

	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(aead_open_with(impls[k], key, nonce, NULL, 0,
		    cs, AEAD_TAG_LEN - 1, out), -1);
		ck_assert_int_eq(aead_open_with(impls[k], key, nonce, NULL, 0,
		    cs, 0, out), -1);
		ck_assert_int_eq(aead_seal_with(impls[k], key, nonce, NULL, 0,
		    pt, (size_t)AEAD_MAX_LEN + 1, cs), -1);
		ck_assert_int_eq(aead_seal_with(impls[k], key, nonce, ad,
		    (size_t)AEAD_MAX_LEN + 1, pt, 1, cs), -1);
	}
	ck_assert_int_eq(aead_seal_with(AEAD_AUTO, key, nonce, NULL, 0, pt, 1,
	    cs), -1);
}
END_TEST

/* Names, parsing and the AEAD_AUTO rule; aead_seal follows the choice. */
START_TEST(test_select)
{
	static const uint8_t key[AEAD_KEY_LEN] = { 1 };
	static const uint8_t nonce[AEAD_NONCE_LEN] = { 2 };
	enum aead_impl impl;
	char d[64];

	ck_assert_int_eq(aead_current(), AEAD_SODIUM);	/* the default */
	ck_assert_int_eq(aead_parse(NULL, &impl), 0);
	ck_assert_int_eq(impl, AEAD_AUTO);
	ck_assert_int_eq(aead_parse("", &impl), 0);
	ck_assert_int_eq(impl, AEAD_AUTO);
	ck_assert_int_eq(aead_parse("sodium", &impl), 0);
	ck_assert_int_eq(impl, AEAD_SODIUM);
	ck_assert_int_eq(aead_parse("libsodium", &impl), 0);
	ck_assert_int_eq(impl, AEAD_SODIUM);
	ck_assert_int_eq(aead_parse("wolfcrypt", &impl), 0);
	ck_assert_int_eq(impl, AEAD_WOLFCRYPT);
	ck_assert_int_eq(aead_parse("openssl", &impl), -1);
	ck_assert_int_eq(aead_parse("WolfCrypt ", &impl), -1);

	ck_assert_int_eq(aead_select(AEAD_AUTO), 0);
	ck_assert_int_eq(aead_current(), aead_wolfcrypt_asm() ?
	    AEAD_WOLFCRYPT : AEAD_SODIUM);
	printf("test_aead: auto chose %s\n", aead_describe(d, sizeof(d)));
	ck_assert_int_eq(aead_select(AEAD_WOLFCRYPT), 0);
	ck_assert_int_eq(aead_current(), AEAD_WOLFCRYPT);
	ck_assert_str_eq(aead_name(aead_current()), "wolfcrypt");
	ck_assert_ptr_nonnull(strstr(aead_describe(d, sizeof(d)),
	    "wolfcrypt ("));
	ck_assert_int_eq(aead_select(AEAD_SODIUM), 0);
	ck_assert_str_eq(aead_name(aead_current()), "libsodium");
	ck_assert_ptr_nonnull(strstr(aead_describe(d, sizeof(d)),
	    "libsodium ("));

	/* aead_seal is whichever was selected: same bytes, both work */
	memset(pt, 7, 100);
	ck_assert_int_eq(aead_seal(key, nonce, NULL, 0, pt, 100, cs), 0);
	ck_assert_int_eq(aead_select(AEAD_WOLFCRYPT), 0);
	ck_assert_int_eq(aead_seal(key, nonce, NULL, 0, pt, 100, cw), 0);
	ck_assert_mem_eq(cs, cw, 100 + AEAD_TAG_LEN);
	ck_assert_int_eq(aead_open(key, nonce, NULL, 0, cs, 100 + AEAD_TAG_LEN,
	    out), 0);
	ck_assert_mem_eq(out, pt, 100);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tv, *ti;

	seed_init();
	if (!aead_available(AEAD_WOLFCRYPT)) {
		printf("SKIP test_aead: the linked wolfSSL has no ChaCha20 and "
		    "Poly1305 (HAVE_CHACHA, HAVE_POLY1305): only libsodium "
		    "seals Noise frames, nothing to compare\n");
		return 77;
	}
	s = suite_create("aead");
	tv = tcase_create("vectors");
	ti = tcase_create("identical");
	tcase_add_loop_test(tv, test_rfc8439, 0, 2);
	tcase_add_test(tv, test_bounds);
	tcase_add_test(tv, test_select);
	suite_add_tcase(s, tv);
	tcase_set_timeout(ti, 120);
	tcase_add_loop_test(ti, test_identical, 0, 8);
	suite_add_tcase(s, ti);
	return vec_run(s);
}
