/*
 * multiaddr.h - the multiaddrs peerlock uses (L1): /ip4 /ip6 /dns4 /dns6
 * /dns with /tcp and an optional /p2p, plus host:port for local ends.
 */
#ifndef PEERLOCK_MULTIADDR_H
#define PEERLOCK_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

enum ma_host { MA_IP4, MA_IP6, MA_DNS, MA_DNS4, MA_DNS6 };

struct multiaddr {
	enum ma_host kind;
	char host[256];		/* literal address or DNS name, NUL-ended */
	uint16_t port;
	bool has_peer;
	struct peer_id peer;	/* valid if has_peer */
};

/*
 * Parse a text multiaddr ("/ip4/1.2.3.4/tcp/4001/p2p/12D3...") or a
 * "host:port" / "[v6]:port" form.  On failure returns -1 and writes the
 * reason into err.
 */
int multiaddr_parse(const char *s, struct multiaddr *out, char *err,
    size_t errlen);

/* Canonical text form ("/ip4/.../tcp/.../p2p/...") into buf.  Returns buf. */
char *multiaddr_to_string(const struct multiaddr *ma, char *buf, size_t cap);

/* Binary multiaddr encoding into out; returns length or -1. */
int multiaddr_to_bytes(const struct multiaddr *ma, uint8_t *out, size_t cap);

#endif
