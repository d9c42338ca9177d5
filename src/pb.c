/*
 * pb.c - the only home of protobuf-c: libp2p key messages (crypto.pb),
 * the Noise handshake payload and its extensions (pb) and the identify
 * message (identify.pb).  Everything decoded here is copied out of the
 * protobuf-c structures so that no generated type escapes.  Text fields
 * are declared bytes in our .proto files (same wire form as string) so
 * that their length survives and a NUL or bad UTF-8 is seen here.
 */
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <sodium.h>

#include "crypto.pb-c.h"
#include "identify.pb-c.h"
#include "noise.pb-c.h"

#include "log.h"
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

/* Whether s[0..len) is UTF-8 (RFC 3629: no overlongs, surrogates) sans NUL. */
bool
pb_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, c &= 0x07;
		else
			return false;
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		/* overlong 3/4-byte forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return false;
		i += 1 + n;
	}
	return true;
}

/* Copy the stream_muxers of a peer's NoiseExtensions, checking bounds. */
static int
pb_copy_muxers(const Pb__NoiseExtensions *e, struct pb_noise_payload *out)
{
	size_t i, n;

	out->has_extensions = true;
	if (e->n_stream_muxers > PB_MUXERS_MAX) {
		out->error = "NoiseExtensions.stream_muxers has more than 16 "
		    "entries (PB_MUXERS_MAX)";
		return -1;
	}
	for (i = 0; i < e->n_stream_muxers; i++) {
		n = e->stream_muxers[i].len;
		if (n == 0 || n > PB_MUXER_ID_MAX) {
			out->error = "a NoiseExtensions.stream_muxers entry is "
			    "empty or longer than 1024 bytes (PB_MUXER_ID_MAX)";
			return -1;
		}
		if (!pb_utf8_valid(e->stream_muxers[i].data, n)) {
			out->error = "a NoiseExtensions.stream_muxers entry is "
			    "not valid UTF-8 or holds a NUL";
			return -1;
		}
		memcpy(out->muxers[i], e->stream_muxers[i].data, n);
		out->muxers[i][n] = '\0';
	}
	out->n_muxers = e->n_stream_muxers;
	return 0;
}

/*
 * Decode a NoiseHandshakePayload.  protobuf-c skips unknown fields
 * (including the obsolete field 3) and parses the extensions, of which
 * we keep stream_muxers (bounded) and ignore webtransport_certhashes.
 */
int
pb_noise_payload_decode(const uint8_t *buf, size_t len,
    struct pb_noise_payload *out)
{
	Pb__NoiseHandshakePayload *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0) {
		out->error = "no message";
		return (-1);
	}
	m = pb__noise_handshake_payload__unpack(NULL, len, buf);
	if (m == NULL) {
		out->error = "not a valid NoiseHandshakePayload protobuf";
		return (-1);
	}
	if (m->has_identity_key) {
		if (m->identity_key.len > sizeof(out->identity_key)) {
			out->error = "identity_key longer than KEY_PB_MAX";
			goto out;
		}
		if (m->identity_key.len > 0)
			memcpy(out->identity_key, m->identity_key.data,
			    m->identity_key.len);
		out->identity_key_len = m->identity_key.len;
	}
	if (m->has_identity_sig) {
		if (m->identity_sig.len > sizeof(out->identity_sig)) {
			out->error = "identity_sig longer than SIG_MAX";
			goto out;
		}
		if (m->identity_sig.len > 0)
			memcpy(out->identity_sig, m->identity_sig.data,
			    m->identity_sig.len);
		out->identity_sig_len = m->identity_sig.len;
	}
	if (m->extensions != NULL && pb_copy_muxers(m->extensions, out) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		const char *why = out->error;

		memset(out, 0, sizeof(*out));
		out->error = why;
	}
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

/* Field 4 alone: a payload message with only extensions set packs to it. */
size_t
pb_noise_extensions_encode(const char *const *ids, size_t n, uint8_t *out,
    size_t cap)
{
	ProtobufCBinaryData mux[PB_MUXERS_MAX];
	Pb__NoiseHandshakePayload m;
	Pb__NoiseExtensions e;
	size_t i, len;

	if (ids == NULL || n == 0 || n > PB_MUXERS_MAX || out == NULL)
		return (0);
	for (i = 0; i < n; i++) {
		if (ids[i] == NULL)
			return (0);
		len = strlen(ids[i]);
		if (len == 0 || len > PB_MUXER_ID_MAX)
			return (0);
		mux[i].data = (uint8_t *)(uintptr_t)ids[i];
		mux[i].len = len;
	}
	pb__noise_extensions__init(&e);
	e.n_stream_muxers = n;
	e.stream_muxers = mux;
	pb__noise_handshake_payload__init(&m);
	m.extensions = &e;
	if (pb__noise_handshake_payload__get_packed_size(&m) > cap)
		return (0);
	return (pb__noise_handshake_payload__pack(&m, out));
}

/* A bytes field of at most max bytes (0 otherwise) for the encoder. */
static int
pb_bin(ProtobufCBinaryData *b, const void *data, size_t len, size_t max)
{
	if (len > max)
		return (-1);
	b->data = (uint8_t *)(uintptr_t)data;
	b->len = len;
	return (0);
}

/* A string field: NUL-ended, valid UTF-8, at most max bytes. */
static int
pb_str(ProtobufCBinaryData *b, const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len > max || !pb_utf8_valid((const uint8_t *)s, len))
		return (-1);
	return (pb_bin(b, s, len, max));
}

/* Encode an Identify message from the plain struct; see pb.h. */
int
pb_identify_encode(const struct pb_identify *id, uint8_t *out, size_t cap)
{
	ProtobufCBinaryData addrs[PB_ID_ADDRS_MAX];
	ProtobufCBinaryData protos[PB_ID_PROTOCOLS_MAX];
	Identify__Pb__Identify m;
	size_t i, need;

	if (id == NULL || out == NULL || id->n_listen_addrs > PB_ID_ADDRS_MAX ||
	    id->n_protocols > PB_ID_PROTOCOLS_MAX)
		return (-1);
	identify__pb__identify__init(&m);
	if ((m.has_publickey = id->has_public_key) &&
	    pb_bin(&m.publickey, id->public_key, id->public_key_len,
	    KEY_PB_MAX) != 0)
		return (-1);
	for (i = 0; i < id->n_listen_addrs; i++)
		if (pb_bin(&addrs[i], id->listen_addrs[i],
		    id->listen_addr_len[i], PB_ID_ADDR_MAX) != 0)
			return (-1);
	m.n_listenaddrs = id->n_listen_addrs;
	m.listenaddrs = addrs;
	for (i = 0; i < id->n_protocols; i++)
		if (pb_str(&protos[i], id->protocols[i], PB_ID_PROTO_MAX) != 0)
			return (-1);
	m.n_protocols = id->n_protocols;
	m.protocols = protos;
	if ((m.has_observedaddr = id->has_observed_addr) &&
	    pb_bin(&m.observedaddr, id->observed_addr, id->observed_addr_len,
	    PB_ID_ADDR_MAX) != 0)
		return (-1);
	if ((m.has_protocolversion = id->has_protocol_version) &&
	    pb_str(&m.protocolversion, id->protocol_version,
	    PB_ID_VERSION_MAX) != 0)
		return (-1);
	if ((m.has_agentversion = id->has_agent_version) &&
	    pb_str(&m.agentversion, id->agent_version, PB_ID_VERSION_MAX) != 0)
		return (-1);
	if ((m.has_signedpeerrecord = id->has_signed_peer_record) &&
	    pb_bin(&m.signedpeerrecord, id->signed_peer_record,
	    id->signed_peer_record_len, PB_ID_RECORD_MAX) != 0)
		return (-1);
	need = identify__pb__identify__get_packed_size(&m);
	if (need > PB_ID_MSG_MAX || need > cap)
		return (-1);
	return ((int)identify__pb__identify__pack(&m, out));
}

/* Copy one bytes field of a peer's Identify, or say which limit it broke. */
static int
pb_id_bytes(const ProtobufCBinaryData *b, uint8_t *dst, size_t *dlen,
    size_t max, const char *what, char *err, size_t errlen)
{
	if (b->len > max) {
		snprintf(err, errlen, "identify: %s is %zu bytes, at most %zu "
		    "accepted", what, b->len, max);
		return (-1);
	}
	if (b->len > 0)
		memcpy(dst, b->data, b->len);
	*dlen = b->len;
	return (0);
}

/* Copy one string field: bounded, valid UTF-8 without NUL, NUL-ended. */
static int
pb_id_string(const ProtobufCBinaryData *b, char *dst, size_t max,
    const char *what, char *err, size_t errlen)
{
	char esc[96];
	size_t len;

	if (pb_id_bytes(b, (uint8_t *)dst, &len, max, what, err, errlen) != 0)
		return (-1);
	if (!pb_utf8_valid(b->data, b->len)) {
		snprintf(err, errlen, "identify: %s is not valid UTF-8 or "
		    "holds a NUL: \"%s\"", what,
		    log_escape(b->data, b->len, esc, sizeof(esc)));
		return (-1);
	}
	dst[len] = '\0';
	return (0);
}

/* Copy the repeated fields of a peer's Identify into out. */
static int
pb_id_lists(const Identify__Pb__Identify *m, struct pb_identify *out,
    char *err, size_t errlen)
{
	char what[48];	/* "listenAddrs[N]": room for any size_t */
	size_t i;

	if (m->n_listenaddrs > PB_ID_ADDRS_MAX) {
		snprintf(err, errlen, "identify: %zu listenAddrs, at most %d "
		    "accepted", m->n_listenaddrs, PB_ID_ADDRS_MAX);
		return (-1);
	}
	if (m->n_protocols > PB_ID_PROTOCOLS_MAX) {
		snprintf(err, errlen, "identify: %zu protocols, at most %d "
		    "accepted", m->n_protocols, PB_ID_PROTOCOLS_MAX);
		return (-1);
	}
	for (i = 0; i < m->n_listenaddrs; i++) {
		snprintf(what, sizeof(what), "listenAddrs[%zu]", i);
		if (pb_id_bytes(&m->listenaddrs[i], out->listen_addrs[i],
		    &out->listen_addr_len[i], PB_ID_ADDR_MAX, what, err,
		    errlen) != 0)
			return (-1);
	}
	out->n_listen_addrs = m->n_listenaddrs;
	for (i = 0; i < m->n_protocols; i++) {
		snprintf(what, sizeof(what), "protocols[%zu]", i);
		if (pb_id_string(&m->protocols[i], out->protocols[i],
		    PB_ID_PROTO_MAX, what, err, errlen) != 0)
			return (-1);
	}
	out->n_protocols = m->n_protocols;
	return (0);
}

/* Copy the optional fields of a peer's Identify into out. */
static int
pb_id_fields(const Identify__Pb__Identify *m, struct pb_identify *out,
    char *err, size_t errlen)
{
	if ((out->has_public_key = m->has_publickey) &&
	    pb_id_bytes(&m->publickey, out->public_key, &out->public_key_len,
	    KEY_PB_MAX, "publicKey", err, errlen) != 0)
		return (-1);
	if ((out->has_observed_addr = m->has_observedaddr) &&
	    pb_id_bytes(&m->observedaddr, out->observed_addr,
	    &out->observed_addr_len, PB_ID_ADDR_MAX, "observedAddr", err,
	    errlen) != 0)
		return (-1);
	if ((out->has_protocol_version = m->has_protocolversion) &&
	    pb_id_string(&m->protocolversion, out->protocol_version,
	    PB_ID_VERSION_MAX, "protocolVersion", err, errlen) != 0)
		return (-1);
	if ((out->has_agent_version = m->has_agentversion) &&
	    pb_id_string(&m->agentversion, out->agent_version,
	    PB_ID_VERSION_MAX, "agentVersion", err, errlen) != 0)
		return (-1);
	if ((out->has_signed_peer_record = m->has_signedpeerrecord) &&
	    pb_id_bytes(&m->signedpeerrecord, out->signed_peer_record,
	    &out->signed_peer_record_len, PB_ID_RECORD_MAX,
	    "signedPeerRecord", err, errlen) != 0)
		return (-1);
	return (0);
}

/* Decode a peer's Identify message with bounds; see pb.h. */
int
pb_identify_decode(const uint8_t *buf, size_t len, struct pb_identify *out,
    char *err, size_t errlen)
{
	Identify__Pb__Identify *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (errlen > 0)
		err[0] = '\0';
	if (len > PB_ID_MSG_MAX) {
		snprintf(err, errlen, "identify: message of %zu bytes, at most "
		    "%d accepted", len, PB_ID_MSG_MAX);
		return (-1);
	}
	if (buf == NULL && len != 0)
		return (-1);
	m = identify__pb__identify__unpack(NULL, len, buf);
	if (m == NULL) {
		snprintf(err, errlen, "identify: message of %zu bytes is not "
		    "a valid Identify protobuf", len);
		return (-1);
	}
	if (pb_id_lists(m, out, err, errlen) == 0 &&
	    pb_id_fields(m, out, err, errlen) == 0)
		rc = 0;
	identify__pb__identify__free_unpacked(m, NULL);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return (rc);
}
