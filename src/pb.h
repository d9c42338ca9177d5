/*
 * pb.h - the only home of protobuf-c (L1): libp2p key messages, the
 * Noise handshake payload and its extensions, and the identify message,
 * encoded deterministically and decoded with bounds.
 */
#ifndef PEERLOCK_PB_H
#define PEERLOCK_PB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode a PublicKey/PrivateKey message {Type=1, Data=2} and copy Data
 * into data (cap bytes).  Returns 0, or -1 if malformed, a required field
 * is missing or Data does not fit.  *type is not range-checked (unknown
 * key types are the caller's concern), and protobuf's leniency applies
 * (non-minimal varints, repeated or unknown fields): callers wanting
 * canonical input re-encode with pb_key_encode and compare.  Decoder
 * copies of Data are wiped before they are freed.
 */
int pb_key_decode(const uint8_t *buf, size_t len, int *type,
    uint8_t *data, size_t cap, size_t *datalen);

/*
 * Encode a key message deterministically: 08 type 12 len data, Type
 * present even when 0 (RSA).  type must be 0..127.  Returns the length
 * written, or 0 if cap is too small or type is out of range.
 */
size_t pb_key_encode(int type, const uint8_t *data, size_t datalen,
    uint8_t *out, size_t cap);

#include <stdbool.h>

#include "wire.h"

enum {
	/*
	 * NoiseExtensions.stream_muxers of a peer: at most this many ids
	 * (go ignores lists of more than 100; real peers send 1 or 2) of
	 * 1..PB_MUXER_ID_MAX bytes each (a multistream-select message).
	 */
	PB_MUXERS_MAX = 16,
	PB_MUXER_ID_MAX = MSS_MAX_MSG
};

/* A decoded NoiseHandshakePayload (copied out of the message). */
struct pb_noise_payload {
	uint8_t identity_key[KEY_PB_MAX];
	size_t identity_key_len;
	uint8_t identity_sig[SIG_MAX];
	size_t identity_sig_len;
	/* NoiseExtensions (field 4): present, and its stream_muxers */
	bool has_extensions;
	size_t n_muxers;
	char muxers[PB_MUXERS_MAX][PB_MUXER_ID_MAX + 1];	/* NUL-ended */
	/* after a failed decode: why, as a static sentence; else NULL */
	const char *error;
};

/*
 * Decode a NoiseHandshakePayload.  Unknown fields (including the obsolete
 * field 3), unknown extension fields and webtransport_certhashes are
 * skipped.  An absent field yields length 0.  Returns 0, or -1 with
 * out->error set if the message is malformed, identity_key > KEY_PB_MAX
 * or identity_sig > SIG_MAX bytes, or stream_muxers has more than
 * PB_MUXERS_MAX entries or an entry that is empty, longer than
 * PB_MUXER_ID_MAX bytes, or not valid UTF-8 without NUL.
 */
int pb_noise_payload_decode(const uint8_t *buf, size_t len,
    struct pb_noise_payload *out);

/*
 * Encode a NoiseHandshakePayload: 0a len identity_key 12 len identity_sig,
 * no extensions and never field 3.  Returns the length, or 0 if cap is
 * too small.
 */
size_t pb_noise_payload_encode(const uint8_t *key, size_t keylen,
    const uint8_t *sig, size_t siglen, uint8_t *out, size_t cap);

/*
 * Encode field 4 of a NoiseHandshakePayload, NoiseExtensions with
 * stream_muxers = ids[0..n) (1 <= n <= PB_MUXERS_MAX, each 1..
 * PB_MUXER_ID_MAX bytes, NUL-ended): 22 len (12 len id)...  Appended to
 * the output of pb_noise_payload_encode() it gives the whole payload in
 * field order, byte for byte what go and js send.  Returns the length,
 * or 0 if an argument is out of range or cap is too small.
 */
size_t pb_noise_extensions_encode(const char *const *ids, size_t n,
    uint8_t *out, size_t cap);

/* Whether s[0..len) is valid UTF-8 (RFC 3629) without a NUL byte. */
bool pb_utf8_valid(const uint8_t *s, size_t len);

/*
 * identify (/ipfs/id/1.0.0), libp2p/specs identify/README.md.  Bounds of
 * what we send and accept; a peer's message beyond any of them is
 * rejected as a whole.
 */
enum {
	PB_ID_MSG_MAX = 65536,		/* whole message */
	PB_ID_PROTOCOLS_MAX = 64,	/* protocols entries */
	PB_ID_ADDRS_MAX = 16,		/* listenAddrs entries */
	PB_ID_PROTO_MAX = MSS_MAX_MSG - 1,	/* bytes of a protocol id */
	PB_ID_ADDR_MAX = 1024,		/* bytes of a binary multiaddr */
	PB_ID_VERSION_MAX = 256,	/* protocolVersion, agentVersion */
	PB_ID_RECORD_MAX = 8192		/* signedPeerRecord envelope */
};

/*
 * An Identify message as a plain struct (about 90 KiB: allocate it).
 * Strings are NUL-ended and valid UTF-8 without NUL; byte fields carry
 * their length.  has_* tells an absent optional field from an empty one.
 */
struct pb_identify {
	bool has_public_key;
	uint8_t public_key[KEY_PB_MAX];	/* libp2p PublicKey protobuf */
	size_t public_key_len;
	size_t n_listen_addrs;
	uint8_t listen_addrs[PB_ID_ADDRS_MAX][PB_ID_ADDR_MAX];
	size_t listen_addr_len[PB_ID_ADDRS_MAX];
	size_t n_protocols;
	char protocols[PB_ID_PROTOCOLS_MAX][PB_ID_PROTO_MAX + 1];
	bool has_observed_addr;
	uint8_t observed_addr[PB_ID_ADDR_MAX];
	size_t observed_addr_len;
	bool has_protocol_version;
	char protocol_version[PB_ID_VERSION_MAX + 1];
	bool has_agent_version;
	char agent_version[PB_ID_VERSION_MAX + 1];
	bool has_signed_peer_record;
	uint8_t signed_peer_record[PB_ID_RECORD_MAX];
	size_t signed_peer_record_len;
};

/*
 * Encode id deterministically (fields in number order 1, 2, 3, 4, 5, 6,
 * 8; absent optional fields omitted) into out (cap bytes).  Returns the
 * length (0 for a message with no field set), or -1 if a count or
 * length is beyond the caps above, a string is not valid UTF-8, the
 * message would exceed PB_ID_MSG_MAX or cap is too small.
 */
int pb_identify_encode(const struct pb_identify *id, uint8_t *out,
    size_t cap);

/*
 * Decode an Identify message buf[0..len) into out.  Unknown fields are
 * skipped.  Returns 0, or -1 with a reason naming the field and limit in
 * err (errlen bytes; peer text in it is escaped, log_escape()) when the
 * message is longer than PB_ID_MSG_MAX, is not valid protobuf, has more
 * entries or longer fields than the caps above, or a string that is not
 * valid UTF-8 or holds a NUL.  out is zeroed on failure.
 */
int pb_identify_decode(const uint8_t *buf, size_t len,
    struct pb_identify *out, char *err, size_t errlen);

#endif
