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
 * Add dconns/dhs (may be negative) to the counters of sa (AF_INET or
 * AF_INET6; IPv4-mapped IPv6 counts as IPv4) and return the new values in
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

/* Number of addresses tracked. */
unsigned iptable_size(const struct iptable *t);

#endif
