/*
 * iptable.h - per-source-IP counters for connection limits (L0).
 * A fixed-capacity open-addressing table: no allocation after creation,
 * entries disappear when both counters reach zero.
 */
#ifndef PEERLOCK_IPTABLE_H
#define PEERLOCK_IPTABLE_H

#include <stdint.h>
#include <sys/socket.h>

struct iptable;

/* Counters of one address. */
struct ipcount {
	unsigned conns;		/* open connections */
	unsigned handshakes;	/* of which still handshaking */
};

/* A table for at most cap distinct addresses.  NULL on failure. */
struct iptable *iptable_new(unsigned cap);
void iptable_free(struct iptable *t);

/*
 * Add dconns/dhs (may be negative) to the counters of sa's group (see
 * iptable_key: an IPv4 address, or an IPv6 /64) and return the new values in
 * *out.  Returns 0, or -1 if the table is full for a new address (nothing
 * changed).
 */
int iptable_add(struct iptable *t, const struct sockaddr *sa, int dconns,
    int dhs, struct ipcount *out);

/* Current counters of sa (zero if absent). */
struct ipcount iptable_get(const struct iptable *t, const struct sockaddr *sa);

/*
 * The 16-byte form of sa's address, the table's key: IPv6 as is, IPv4 as
 * ::ffff:a.b.c.d (also PROXY v2's form of a mixed pair).  -1 if sa is
 * not AF_INET or AF_INET6.
 */
int iptable_addr16(const struct sockaddr *sa, uint8_t k[static 16]);

/*
 * The table's key for sa: the 16-byte form (iptable_addr16), with the
 * interface half of a native IPv6 address cleared, so that one /64 (what
 * a single host or customer is usually given) counts as one source.
 * IPv4 and IPv4-mapped IPv6 stay per address.  -1 if not IP.
 */
int iptable_key(const struct sockaddr *sa, uint8_t k[static 16]);

/*
 * Make room for at least cap distinct addresses (a reload that raised
 * max_connections), keeping every counter.  Shrinking is a no-op (the
 * limits themselves bound what is tracked).  0, or -1 when out of memory
 * (the table is unchanged).
 */
int iptable_grow(struct iptable *t, unsigned cap);

/* Max distinct addresses (groups) the table holds. */
unsigned iptable_cap(const struct iptable *t);

/* Number of addresses tracked. */
unsigned iptable_size(const struct iptable *t);

#endif
