/*
 * test_sigcache.c - the verified-signature cache: a hit only for the
 * exact triple, lengths keep the parts apart, the oldest entry goes
 * first when full.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>

#include "sigcache.h"
#include "vec.h"

/* Digest of key "k<i>", a fixed message and signature "s<i>". */
static void
dig(unsigned i, uint8_t d[SIGCACHE_DIGEST])
{
	uint8_t key[8] = { 'k', (uint8_t)i, (uint8_t)(i >> 8) };
	uint8_t sig[8] = { 's', (uint8_t)i, (uint8_t)(i >> 8) };
	static const uint8_t msg[] = "noise-libp2p-static-key:";

	sigcache_digest(key, sizeof(key), msg, sizeof(msg) - 1, sig,
	    sizeof(sig), d);
}

START_TEST(test_exact_triple_only)
{
	struct sigcache *c = sigcache_new();
	uint8_t d[SIGCACHE_DIGEST], e[SIGCACHE_DIGEST];
	uint8_t key[4] = { 1, 2, 3, 4 }, msg[4] = { 5, 6, 7, 8 },
	    sig[4] = { 9, 10, 11, 12 };
	uint64_t hits, misses;

	ck_assert_ptr_nonnull(c);
	sigcache_digest(key, 4, msg, 4, sig, 4, d);
	ck_assert(!sigcache_has(c, d));
	sigcache_add(c, d);
	ck_assert(sigcache_has(c, d));
	/* one bit of the signature, message or key differs: a miss */
	sig[3] ^= 1;
	sigcache_digest(key, 4, msg, 4, sig, 4, e);
	ck_assert(!sigcache_has(c, e));
	sig[3] ^= 1;
	msg[0] ^= 0x80;
	sigcache_digest(key, 4, msg, 4, sig, 4, e);
	ck_assert(!sigcache_has(c, e));
	msg[0] ^= 0x80;
	key[2] ^= 4;
	sigcache_digest(key, 4, msg, 4, sig, 4, e);
	ck_assert(!sigcache_has(c, e));
	key[2] ^= 4;
	/* the same twelve bytes split differently: a miss */
	sigcache_digest(key, 3, (const uint8_t[]){ 4, 5, 6, 7, 8 }, 5, sig,
	    4, e);
	ck_assert(!sigcache_has(c, e));
	sigcache_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(misses, 5);
	sigcache_free(c);
	sigcache_free(NULL);
}
END_TEST

START_TEST(test_oldest_replaced)
{
	struct sigcache *c = sigcache_new();
	uint8_t d[SIGCACHE_DIGEST];
	unsigned i;

	for (i = 0; i < SIGCACHE_SLOTS; i++) {
		dig(i, d);
		sigcache_add(c, d);
	}
	for (i = 0; i < SIGCACHE_SLOTS; i++) {
		dig(i, d);
		ck_assert(sigcache_has(c, d));
	}
	/* one more: entry 0 goes, the others stay */
	dig(SIGCACHE_SLOTS, d);
	sigcache_add(c, d);
	ck_assert(sigcache_has(c, d));
	dig(0, d);
	ck_assert(!sigcache_has(c, d));
	for (i = 1; i < SIGCACHE_SLOTS; i++) {
		dig(i, d);
		ck_assert(sigcache_has(c, d));
	}
	sigcache_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sigcache");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, test_exact_triple_only);
	tcase_add_test(tc, test_oldest_replaced);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
