/*
 * wire.h - wire constants and limits shared by every layer (L0).
 * One home for every number the protocols or our design fix.
 */
#ifndef PEERLOCK_WIRE_H
#define PEERLOCK_WIRE_H

enum {
	/* multistream-select 1.0.0 */
	MSS_MAX_MSG = 1024,		/* max declared length incl. '\n' */
	MSS_MAX_VARINT = 2,		/* 1024 fits in two varint bytes */

	/* Noise (libp2p /noise) */
	NOISE_KEY_LEN = 32,
	NOISE_HASH_LEN = 32,
	NOISE_TAG_LEN = 16,
	NOISE_MAX_MSG = 65535,		/* max Noise message (frame body) */
	NOISE_MAX_PLAINTEXT = 65519,	/* NOISE_MAX_MSG - NOISE_TAG_LEN */
	NOISE_FRAME_HDR = 2,		/* uint16_be length prefix */
	NOISE_MAX_PAYLOAD = 4096,	/* our cap on a handshake payload */

	/* libp2p keys and peer IDs */
	PEER_ID_MAX = 48,		/* identity multihash <= 2 + 42 */
	PEER_ID_STR_MAX = 128,		/* base58btc / CID text + NUL */
	KEY_PB_MAX = 1200,		/* serialized PublicKey (RSA 8192) */
	SIG_MAX = 1024,			/* RSA-8192 signature */

	/* unsigned varint */
	VARINT_MAX_LEN = 9,

	/* ping: the opener writes this many random bytes, the other echoes */
	PING_SIZE = 32
};

/* Protocol ids as negotiated by multistream-select. */
#define MSS_PROTO_HEADER "/multistream/1.0.0"
#define MSS_PROTO_NOISE "/noise"
#define MSS_PROTO_TLS "/tls/1.0.0"
#define MSS_NA "na"

/* Node mode (node-mode.md): the muxer and the streams real hosts open. */
#define YAMUX_PROTO "/yamux/1.0.0"
#define IDENTIFY_PROTO "/ipfs/id/1.0.0"
#define IDENTIFY_PUSH_PROTO "/ipfs/id/push/1.0.0"
#define PING_PROTO "/ipfs/ping/1.0.0"

/* Signature prefix for the Noise static key (noise.md section 5). */
#define NOISE_SIG_PREFIX "noise-libp2p-static-key:"

#endif
