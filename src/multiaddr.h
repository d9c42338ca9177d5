/*
 * multiaddr.h - the multiaddrs peerlock uses (L1): /ip4 /ip6 /dns4 /dns6
 * /dns with /tcp and an optional /p2p, plus host:port for local ends.
 */
#ifndef PEERLOCK_MULTIADDR_H
#define PEERLOCK_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "peerid.h"

enum ma_host { MA_IP4, MA_IP6, MA_DNS, MA_DNS4, MA_DNS6 };

enum {
	MULTIADDR_DNS_MAX = 253,	/* longest DNS name we accept */
	MULTIADDR_STR_MAX = 448,	/* text form incl. /p2p/ and NUL */
	MULTIADDR_BYTES_MAX = 320,	/* binary form incl. /p2p/ */
	MULTIADDR_SOCKADDR_MAX = 56	/* "[" INET6_ADDRSTRLEN "]:65535" */
};

struct multiaddr {
	enum ma_host kind;
	char host[256];		/* literal address or DNS name, NUL-ended */
	uint16_t port;
	bool has_peer;
	struct peer_id peer;	/* valid if has_peer */
};

/*
 * Parse a text multiaddr ("/ip4/1.2.3.4/tcp/4001/p2p/12D3...", /ipfs/ is
 * accepted as an alias of /p2p/, the peer ID may be base58btc or CIDv1) or
 * a local "host:port" / "[v6]:port" form (a non-literal host is MA_DNS).
 * Port 0 is accepted; callers that need a dialable port check it.  IP
 * literals are stored in canonical inet_ntop form.  Returns 0, or -1 with
 * out zeroed and a "multiaddr: ..." reason in err (errlen bytes).
 */
int multiaddr_parse(const char *s, struct multiaddr *out, char *err,
    size_t errlen);

/*
 * Canonical text form ("/ip4/.../tcp/.../p2p/<base58btc>") into buf (cap
 * bytes, MULTIADDR_STR_MAX always suffices; truncated if smaller).
 * Returns buf.
 */
char *multiaddr_to_string(const struct multiaddr *ma, char *buf, size_t cap);

/*
 * Binary multiaddr (uvarint(code) || value per component) into out (cap
 * bytes, MULTIADDR_BYTES_MAX always suffices).  Returns the length, or -1
 * if cap is too small or ma is invalid.
 */
int multiaddr_to_bytes(const struct multiaddr *ma, uint8_t *out, size_t cap);

struct sockaddr;

/*
 * The socket address of an IP literal multiaddr (ip4/ip6) into ss and
 * *len; false for a name (dns, dns4, dns6), which needs a lookup.
 */
bool multiaddr_literal(const struct multiaddr *ma,
    struct sockaddr_storage *ss, socklen_t *len);

/*
 * A socket address as text for logs and listings: "1.2.3.4:5",
 * "[::1]:5" (brackets, so the port is unambiguous), "-" for NULL or
 * another family.  Into buf (cap bytes, MULTIADDR_SOCKADDR_MAX always
 * suffices).  Returns buf.
 */
char *multiaddr_fmt_sockaddr(const struct sockaddr *sa, char *buf,
    size_t cap);

#endif
