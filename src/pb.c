/*
 * pb.c - the only home of protobuf-c: libp2p key messages (crypto.pb) and
 * the Noise handshake payload (pb).  Everything decoded here is copied
 * out of the protobuf-c structures so that no generated type escapes.
 */
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <sodium.h>

#include "crypto.pb-c.h"
#include "noise.pb-c.h"

#include "pb.h"

/* Largest key type value we are willing to put on the wire. */
#define PB_KEY_TYPE_MAX 127

/* The message may hold private key bytes: wipe every copy before free. */
static void
pb_wipe_key(Crypto__Pb__PublicKey *m)
{
	size_t i;

	if (m->data.data != NULL)
		sodium_memzero(m->data.data, m->data.len);
	for (i = 0; i < m->base.n_unknown_fields; i++)
		if (m->base.unknown_fields[i].data != NULL)
			sodium_memzero(m->base.unknown_fields[i].data,
			    m->base.unknown_fields[i].len);
}

/*
 * PublicKey and PrivateKey have the same wire shape; the PublicKey
 * descriptor decodes both.  Required fields are enforced by protobuf-c.
 */
int
pb_key_decode(const uint8_t *buf, size_t len, int *type,
    uint8_t *data, size_t cap, size_t *datalen)
{
	Crypto__Pb__PublicKey *m;
	int rc = -1;

	if (buf == NULL || len == 0)
		return (-1);
	m = crypto__pb__public_key__unpack(NULL, len, buf);
	if (m == NULL)
		return (-1);
	if (m->data.len > cap || (m->data.len > 0 && m->data.data == NULL))
		goto out;
	if (m->data.len > 0)
		memcpy(data, m->data.data, m->data.len);
	*datalen = m->data.len;
	*type = (int)m->type;
	rc = 0;
out:
	pb_wipe_key(m);
	crypto__pb__public_key__free_unpacked(m, NULL);
	return (rc);
}

/* Deterministic key message: 08 type 12 len data (Type always present). */
size_t
pb_key_encode(int type, const uint8_t *data, size_t datalen,
    uint8_t *out, size_t cap)
{
	Crypto__Pb__PublicKey m;
	size_t need;

	if (type < 0 || type > PB_KEY_TYPE_MAX || out == NULL)
		return (0);
	if (data == NULL && datalen != 0)
		return (0);
	crypto__pb__public_key__init(&m);
	m.type = (Crypto__Pb__KeyType)type;
	m.data.data = (uint8_t *)(uintptr_t)data;
	m.data.len = datalen;
	need = crypto__pb__public_key__get_packed_size(&m);
	if (need > cap)
		return (0);
	return (crypto__pb__public_key__pack(&m, out));
}

/*
 * Decode a NoiseHandshakePayload.  protobuf-c skips unknown fields
 * (including the obsolete field 3) and parses extensions, which we ignore.
 */
int
pb_noise_payload_decode(const uint8_t *buf, size_t len,
    struct pb_noise_payload *out)
{
	Pb__NoiseHandshakePayload *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0)
		return (-1);
	m = pb__noise_handshake_payload__unpack(NULL, len, buf);
	if (m == NULL)
		return (-1);
	if (m->has_identity_key) {
		if (m->identity_key.len > sizeof(out->identity_key))
			goto out;
		if (m->identity_key.len > 0)
			memcpy(out->identity_key, m->identity_key.data,
			    m->identity_key.len);
		out->identity_key_len = m->identity_key.len;
	}
	if (m->has_identity_sig) {
		if (m->identity_sig.len > sizeof(out->identity_sig))
			goto out;
		if (m->identity_sig.len > 0)
			memcpy(out->identity_sig, m->identity_sig.data,
			    m->identity_sig.len);
		out->identity_sig_len = m->identity_sig.len;
	}
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	pb__noise_handshake_payload__free_unpacked(m, NULL);
	return (rc);
}

/* Encode fields 1 and 2 only: no extensions, never field 3. */
size_t
pb_noise_payload_encode(const uint8_t *key, size_t keylen,
    const uint8_t *sig, size_t siglen, uint8_t *out, size_t cap)
{
	Pb__NoiseHandshakePayload m;
	size_t need;

	if (out == NULL || (key == NULL && keylen != 0) ||
	    (sig == NULL && siglen != 0))
		return (0);
	pb__noise_handshake_payload__init(&m);
	m.has_identity_key = 1;
	m.identity_key.data = (uint8_t *)(uintptr_t)key;
	m.identity_key.len = keylen;
	m.has_identity_sig = 1;
	m.identity_sig.data = (uint8_t *)(uintptr_t)sig;
	m.identity_sig.len = siglen;
	m.extensions = NULL;
	need = pb__noise_handshake_payload__get_packed_size(&m);
	if (need > cap)
		return (0);
	return (pb__noise_handshake_payload__pack(&m, out));
}
