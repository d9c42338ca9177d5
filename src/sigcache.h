/*
 * sigcache.h - identity signatures this node has already verified (L1).
 *
 * A libp2p peer signs its Noise static key once and sends the same
 * signature in every handshake, so a node that verified it once can
 * skip the check on the next connection: the result cannot change for
 * the same key, message and signature bytes.  An Ed25519 check costs
 * about 40 us, a quarter of a handshake's crypto on each side.
 *
 * Only signatures that verified are remembered, as a BLAKE2b-256 digest
 * of the three inputs and their lengths: a hit for any other bytes takes
 * a BLAKE2b collision.  SIGCACHE_SLOTS digests, the oldest replaced
 * first; no allocation after creation, no I/O, one thread.
 */
#ifndef PEERLOCK_SIGCACHE_H
#define PEERLOCK_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGCACHE_SLOTS 64
#define SIGCACHE_DIGEST 32

struct sigcache;

/* An empty cache, or NULL when out of memory. */
struct sigcache *sigcache_new(void);
/* Free; NULL is a no-op. */
void sigcache_free(struct sigcache *c);

/* The digest that names one (public key, message, signature) triple. */
void sigcache_digest(const uint8_t *key, size_t keylen, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen,
    uint8_t d[SIGCACHE_DIGEST]);

/* Whether d was added and not yet replaced.  Counts hits and misses. */
bool sigcache_has(struct sigcache *c, const uint8_t d[SIGCACHE_DIGEST]);

/* Remember d (a triple that verified). */
void sigcache_add(struct sigcache *c, const uint8_t d[SIGCACHE_DIGEST]);

/* Lookups so far that hit and that missed. */
void sigcache_stats(const struct sigcache *c, uint64_t *hits,
    uint64_t *misses);

#endif
