/*
 * iptable.c - linear probing with backward-shift deletion, keyed by the
 * 16-byte (IPv4-mapped) address or IPv6 /64, hashed with a per-table random key so
 * a peer cannot aim at one probe chain.
 */
#include "iptable.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t addr[16];
	bool used;
	struct ipcount n;
};

struct iptable {
	struct slot *slots;
	unsigned mask;		/* capacity of slots - 1 (power of two) */
	unsigned used;
	unsigned cap;		/* max addresses (<= half the slots) */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* New table. */
struct iptable *
iptable_new(unsigned cap)
{
	struct iptable *t = calloc(1, sizeof(*t));
	unsigned n = 16;

	if (t == NULL || sodium_init() < 0)
		goto fail;
	while (n < 2 * cap && n < (1u << 30))
		n <<= 1;
	if ((t->slots = calloc(n, sizeof(*t->slots))) == NULL)
		goto fail;
	t->mask = n - 1;
	t->cap = cap < n / 2 ? cap : n / 2;
	randombytes_buf(t->key, sizeof(t->key));
	return t;
fail:
	free(t);
	return NULL;
}

/* Free. */
void
iptable_free(struct iptable *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

/* The 16-byte form of sa's address; see iptable.h. */
int
iptable_addr16(const struct sockaddr *sa, uint8_t k[static 16])
{
	if (sa->sa_family == AF_INET) {
		memset(k, 0, 10);
		k[10] = k[11] = 0xff;
		memcpy(k + 12, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(k, &((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* The key of sa: IPv6 grouped by /64; see iptable.h. */
int
iptable_key(const struct sockaddr *sa, uint8_t k[static 16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (iptable_addr16(sa, k) != 0)
		return -1;
	if (memcmp(k, mapped, sizeof(mapped)) != 0)
		memset(k + 8, 0, 8);	/* native IPv6: the /64 */
	return 0;
}

/* Home slot of k. */
static unsigned
ipt_home(const struct iptable *t, const uint8_t k[static 16])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(h, k, 16, t->key);
	memcpy(&v, h, sizeof(v));
	return v & t->mask;
}

/* Index of k's slot, or of the empty slot where it would go. */
static unsigned
ipt_find(const struct iptable *t, const uint8_t k[static 16])
{
	unsigned i = ipt_home(t, k);

	while (t->slots[i].used && memcmp(t->slots[i].addr, k, 16) != 0)
		i = (i + 1) & t->mask;
	return i;
}

/* Remove slot i, shifting later members of its cluster back. */
static void
ipt_remove(struct iptable *t, unsigned i)
{
	unsigned j = i, home;

	for (;;) {
		t->slots[i].used = false;
		for (;;) {
			j = (j + 1) & t->mask;
			if (!t->slots[j].used)
				goto done;
			home = ipt_home(t, t->slots[j].addr);
			/* may slot j move to the hole at i? */
			if (i <= j ? (home <= i || home > j) :
			    (home <= i && home > j))
				break;
		}
		t->slots[i] = t->slots[j];
		i = j;
	}
done:
	t->used--;
}

/* Adjust the counters of sa. */
int
iptable_add(struct iptable *t, const struct sockaddr *sa, int dconns,
    int dhs, struct ipcount *out)
{
	uint8_t k[16];
	unsigned i;
	struct slot *s;

	memset(out, 0, sizeof(*out));
	if (iptable_key(sa, k) != 0)
		return 0;		/* not IP (unix socket): not limited */
	i = ipt_find(t, k);
	s = &t->slots[i];
	if (!s->used) {
		if (dconns <= 0 && dhs <= 0)
			return 0;
		if (t->used >= t->cap)
			return -1;
		memcpy(s->addr, k, 16);
		s->used = true;
		memset(&s->n, 0, sizeof(s->n));
		t->used++;
	}
	s->n.conns = (unsigned)((int)s->n.conns + dconns);
	s->n.handshakes = (unsigned)((int)s->n.handshakes + dhs);
	*out = s->n;
	if (s->n.conns == 0 && s->n.handshakes == 0)
		ipt_remove(t, i);
	return 0;
}

/* Current counters. */
struct ipcount
iptable_get(const struct iptable *t, const struct sockaddr *sa)
{
	struct ipcount none = { 0, 0 };
	uint8_t k[16];
	unsigned i;

	if (iptable_key(sa, k) != 0)
		return none;
	i = ipt_find(t, k);
	return t->slots[i].used ? t->slots[i].n : none;
}

/* Rehash into a table for cap addresses; see iptable.h. */
int
iptable_grow(struct iptable *t, unsigned cap)
{
	struct slot *old = t->slots, *ns;
	unsigned n = 16, oldn = t->mask + 1, i, j;

	if (cap <= t->cap)
		return 0;
	while (n < 2 * cap && n < (1u << 30))
		n <<= 1;
	if (n <= oldn) {
		t->cap = cap < n / 2 ? cap : n / 2;
		return 0;
	}
	if ((ns = calloc(n, sizeof(*ns))) == NULL)
		return -1;
	t->slots = ns;
	t->mask = n - 1;
	for (i = 0; i < oldn; i++) {
		if (!old[i].used)
			continue;
		j = ipt_find(t, old[i].addr);
		t->slots[j] = old[i];
	}
	free(old);
	t->cap = cap < n / 2 ? cap : n / 2;
	return 0;
}

/* Capacity in addresses. */
unsigned
iptable_cap(const struct iptable *t)
{
	return t->cap;
}

/* Addresses tracked. */
unsigned
iptable_size(const struct iptable *t)
{
	return t->used;
}
