/*
 * proxyv2.h - the PROXY protocol v2 header an expose with
 * proxy_protocol = v2 sends its target before any data (haproxy's
 * proxy-protocol.txt, section 2.2): signature, PROXY over TCP with the
 * remote peer's address as source and our end of the encrypted
 * connection as destination, then a TLV with the authenticated peer ID.
 * Pure: builds bytes, no I/O.  Raw tunnels (conn.c) and node-mode
 * streams (session.c) send the same header.
 */
#ifndef PEERLOCK_PROXYV2_H
#define PEERLOCK_PROXYV2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "peerid.h"

/* TLV type carrying the peer ID as base58 text (custom range 0xE0-0xEF). */
#define PROXY_V2_TYPE_PEER_ID 0xE0

/* Largest header: 16 fixed, 36 of IPv6 addresses, the peer ID TLV. */
#define PROXY_V2_MAX (16 + 36 + 3 + PEER_ID_STR_MAX)

/*
 * Write the header into out (PROXY_V2_MAX bytes) and return its length.
 * src and dst are AF_INET or AF_INET6 addresses (a mixed pair is sent as
 * IPv6 with the IPv4 one mapped); if either is NULL or of another
 * family the command is LOCAL, with no addresses.  peer is the peer ID
 * text (at most PEER_ID_STR_MAX - 1 bytes are sent).
 */
size_t proxy_v2_header(uint8_t *out, const struct sockaddr *src,
    const struct sockaddr *dst, const char *peer);

#endif
