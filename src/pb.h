/*
 * pb.h - the only home of protobuf-c (L1): libp2p key messages and the
 * Noise handshake payload, encoded deterministically.
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

#include "wire.h"

/* A decoded NoiseHandshakePayload (copied out of the message). */
struct pb_noise_payload {
	uint8_t identity_key[KEY_PB_MAX];
	size_t identity_key_len;
	uint8_t identity_sig[SIG_MAX];
	size_t identity_sig_len;
};

/*
 * Decode a NoiseHandshakePayload; unknown fields (including the obsolete
 * field 3) and extensions are skipped.  An absent field yields length 0.
 * Returns 0, or -1 if malformed or identity_key > KEY_PB_MAX or
 * identity_sig > SIG_MAX bytes.
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

#endif
