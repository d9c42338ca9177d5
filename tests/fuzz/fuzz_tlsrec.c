/*
 * fuzz_tlsrec.c - what a TLS peer may send once the handshake is done.
 *
 * Each input drives one fresh, real in-memory handshake between two
 * peerlock TLS sessions (records then ours, tls.c's offload), after which
 * the client plays a hostile peer.  The input is a list of records:
 *
 *   type(1) len(1) content(len)   sealed by the client under its current
 *                                 key with that inner content type
 *   0xff    len(1) bytes(len)     fed to the server raw, unprotected
 *
 * After each record the server reads what it can.  Contracts: the server
 * never crashes or leaks; it is established, closed or failed with a
 * reason starting "tls: "; every application data record it accepts
 * while established comes out byte for byte (until raw bytes desync the
 * stream); whatever it answers (a
 * KeyUpdate, an alert) the client can read without breaking its own
 * contract.
 */
#include "fuzz.h"

#include "keys.h"
#include "peerid.h"
#include "tls.h"
#include "tlscert.h"

/* Both identities and their certificates, made once per process. */
static struct identity *cid, *sid;
static uint8_t *ccert, *ckey, *scert, *skey;
static size_t ccert_len, ckey_len, scert_len, skey_len;

/* Move a's pending output into b; false if b's queue is full. */
static bool
fz_move(struct tls_session *a, struct tls_session *b)
{
	uint8_t buf[4096];
	size_t n;

	while (tls_pending_output(a) > 0) {
		size_t cap = tls_input_space(b);

		if (cap == 0)
			return false;
		n = tls_take_output(a, buf, cap < sizeof(buf) ? cap :
		    sizeof(buf));
		FUZZ_CHECK(tls_feed(b, buf, n) == n);
	}
	return true;
}

/* Handshake a fresh pair; false if it did not complete. */
static bool
fz_connect(struct tls_session *c, struct tls_session *s)
{
	int i;

	tls_expect_peer(c, identity_peer_id(sid));
	for (i = 0; i < 20; i++) {
		tls_handshake(c);
		fz_move(c, s);
		tls_handshake(s);
		fz_move(s, c);
		if (tls_status(c) == TLS_DONE && tls_status(s) == TLS_DONE)
			return true;
	}
	return false;
}

/* Read everything s has; returns the bytes read into out (cap). */
static size_t
fz_drain(struct tls_session *s, uint8_t *out, size_t cap)
{
	size_t got = 0;
	int n;

	while (got < cap && (n = tls_read(s, out + got, cap - got)) > 0)
		got += (size_t)n;
	if (tls_status(s) == TLS_FAILED)
		FUZZ_CHECK(strncmp(tls_error(s), "tls: ", 5) == 0);
	else
		FUZZ_CHECK(tls_error(s)[0] == '\0');
	return got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[70000];
	struct tls_session *c, *s;
	char err[256];
	size_t off = 0, len, got;
	bool raw = false;		/* raw bytes desync the stream */
	uint8_t type;

	if (!tls_offload_supported()) {
		/* replay.sh reports this line as the target's SKIP */
		static bool said;

		if (!said)
			fprintf(stderr, "SKIP: this wolfSSL lacks "
			    "HAVE_SECRET_CALLBACK (Debian's stock build): "
			    "the records stay in wolfSSL, there is no tlsrec "
			    "to play a hostile peer against\n");
		said = true;
		return 0;
	}
	if (cid == NULL) {
		cid = identity_generate(KEY_ED25519);
		sid = identity_generate(KEY_ED25519);
		FUZZ_CHECK(cid != NULL && sid != NULL);
		FUZZ_CHECK(tlscert_generate(cid, &ccert, &ccert_len, &ckey,
		    &ckey_len) == 0);
		FUZZ_CHECK(tlscert_generate(sid, &scert, &scert_len, &skey,
		    &skey_len) == 0);
	}
	c = tls_session_new_cert(TLS_CLIENT, ccert, ccert_len, ckey, ckey_len,
	    err, sizeof(err));
	s = tls_session_new_cert(TLS_SERVER, scert, scert_len, skey, skey_len,
	    err, sizeof(err));
	FUZZ_CHECK(c != NULL && s != NULL);
	FUZZ_CHECK(fz_connect(c, s));
	FUZZ_CHECK(tls_offloaded(c) && tls_offloaded(s));
	while (off + 2 <= size && tls_status(s) == TLS_DONE) {
		type = data[off];
		len = data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		if (type == 0xff) {
			FUZZ_CHECK(tls_feed(s, data + off, len) <= len);
			raw = raw || len > 0;
		}
		else if (tls_send_record(c, type, data + off, len) != 0)
			break;
		if (!fz_move(c, s))
			break;
		got = fz_drain(s, out, sizeof(out));
		/* accepted application data arrives unchanged */
		if (type == 23 && !raw && tls_status(s) == TLS_DONE)
			FUZZ_CHECK(got == len &&
			    memcmp(out, data + off, len) == 0);
		fz_move(s, c);
		fz_drain(c, out, sizeof(out));
		off += len;
	}
	tls_session_free(c);
	tls_session_free(s);
	return 0;
}
