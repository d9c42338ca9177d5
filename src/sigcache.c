/*
 * sigcache.c - identity signatures already verified; see sigcache.h.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sigcache.h"

struct sigcache {
	uint8_t slot[SIGCACHE_SLOTS][SIGCACHE_DIGEST];
	unsigned used;		/* slots filled, up to SIGCACHE_SLOTS */
	unsigned next;		/* the slot the next add replaces */
	uint64_t hits, misses;
};

/* An empty cache. */
struct sigcache *
sigcache_new(void)
{
	return calloc(1, sizeof(struct sigcache));
}

/* Free. */
void
sigcache_free(struct sigcache *c)
{
	free(c);
}

/* Hash one length-prefixed part into st. */
static void
sigcache_part(crypto_generichash_state *st, const uint8_t *p, size_t n)
{
	uint8_t len[8];
	uint64_t v = n;
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(v >> (8 * i));
	crypto_generichash_update(st, len, sizeof(len));
	if (n > 0)
		crypto_generichash_update(st, p, n);
}

/* BLAKE2b-256 of len(key) key len(msg) msg len(sig) sig. */
void
sigcache_digest(const uint8_t *key, size_t keylen, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen,
    uint8_t d[SIGCACHE_DIGEST])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SIGCACHE_DIGEST);
	sigcache_part(&st, key, keylen);
	sigcache_part(&st, msg, msglen);
	sigcache_part(&st, sig, siglen);
	crypto_generichash_final(&st, d, SIGCACHE_DIGEST);
}

/* Look d up. */
bool
sigcache_has(struct sigcache *c, const uint8_t d[SIGCACHE_DIGEST])
{
	unsigned i;

	for (i = 0; i < c->used; i++) {
		if (memcmp(c->slot[i], d, SIGCACHE_DIGEST) == 0) {
			c->hits++;
			return true;
		}
	}
	c->misses++;
	return false;
}

/* Remember d, replacing the oldest when full. */
void
sigcache_add(struct sigcache *c, const uint8_t d[SIGCACHE_DIGEST])
{
	memcpy(c->slot[c->next], d, SIGCACHE_DIGEST);
	c->next = (c->next + 1) % SIGCACHE_SLOTS;
	if (c->used < SIGCACHE_SLOTS)
		c->used++;
}

/* Counters. */
void
sigcache_stats(const struct sigcache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}
