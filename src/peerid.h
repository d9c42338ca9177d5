/*
 * peerid.h - libp2p peer IDs: multihash bytes, base58btc, CIDv1 (L1).
 */
#ifndef PEERLOCK_PEERID_H
#define PEERLOCK_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A peer ID is its multihash bytes (identity or sha2-256). */
struct peer_id {
	uint8_t mh[PEER_ID_MAX];
	size_t len;
};

/*
 * Derive the peer ID of a serialized libp2p PublicKey (protobuf bytes):
 * identity multihash if len <= 42, else sha2-256.  Returns 0 or -1.
 */
int peer_id_from_pubkey_pb(const uint8_t *pb, size_t len, struct peer_id *out);

/*
 * Parse text: base58btc multihash ("12D3KooW...", "Qm...") or multibase
 * base32 CIDv1 with codec libp2p-key (0x72), e.g. "bafz...".  The
 * multihash must be identity (1..42 bytes) or sha2-256 (32 bytes).
 * Never reads past PEER_ID_STR_MAX bytes of s.  Returns 0 or -1.
 */
int peer_id_parse(const char *s, struct peer_id *out);

/*
 * Build from raw multihash bytes, validated as for peer_id_parse.
 * Returns 0 or -1.
 */
int peer_id_from_bytes(const uint8_t *mh, size_t len, struct peer_id *out);

/*
 * base58btc text into buf (cap bytes; PEER_ID_STR_MAX is always enough).
 * Returns buf, or NULL if cap is too small.
 */
char *peer_id_to_string(const struct peer_id *id, char *buf, size_t cap);

/*
 * CIDv1 base32 ("b...") text into buf (cap bytes; PEER_ID_STR_MAX is
 * always enough).  Returns buf, or NULL if cap is too small.
 */
char *peer_id_to_cid(const struct peer_id *id, char *buf, size_t cap);

/* Exact multihash byte equality. */
bool peer_id_equal(const struct peer_id *a, const struct peer_id *b);

/* Whether id equals one of set[0..n). */
bool peer_id_in(const struct peer_id *set, size_t n,
    const struct peer_id *id);

/*
 * set[0..n) as base58btc text joined by " or " ("12D3KooWA... or
 * 12D3KooWB...") into buf (cap bytes, always terminated, cut if short).
 * Returns buf.
 */
char *peer_id_list(const struct peer_id *set, size_t n, char *buf,
    size_t cap);

/*
 * Low-level codecs, exported for tests and multiaddr.  Encoders write a
 * NUL-terminated string into out (cap bytes incl. the NUL); decoders read
 * a NUL-terminated string and write at most cap bytes, setting *outlen.
 * base58btc uses the bitcoin alphabet, one '1' per leading zero byte.
 * base32 is RFC 4648 lowercase without padding; decoding rejects
 * uppercase, '=', impossible lengths and non-zero trailing bits.
 * All return 0, or -1 on bad input or insufficient space.
 */
int base58btc_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int base58btc_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);
int base32_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int base32_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

#endif
