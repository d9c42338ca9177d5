/*
 * fuzz_secchan.c - the whole libp2p upgrade (secchan.h) as dialer or
 * listener against fuzzed input.
 *
 * Input: flags, then mode-dependent bytes.
 *	flags bit 0: 0 = secchan is the dialer, 1 = the listener
 *	flags bit 1: 0 = peer mode, 1 = raw mode
 *	flags bit 2: secchan advertises muxers (secchan_set_muxers); once
 *	             READY the agreed one must be one of ours or NULL
 * Raw mode: byte 1 is a chunk size (0 = all at once), the rest is the
 * peer's wire, offered as a socket reader would (unconsumed bytes again,
 * with the next chunk appended); after READY the rest is transport.
 * Peer mode: the harness is an honest peer speaking multistream-select
 * and Noise with the static key of the libp2p derived example (against
 * the dialer, which is lazy with one protocol, it reads message 1 from
 * secchan_start() and answers header, echo and message 2 at once); the
 * input is uint16_be(L) || L bytes of the peer's NoiseHandshakePayload
 * (msg 2 against a dialer, msg 3 against a listener) || plaintext the
 * peer then sends.  The example's payloads are signed for those static
 * keys, so they authenticate and the fuzzer mutates a valid identity.
 */
#include "fuzz.h"

#include "frame.h"
#include "keys.h"
#include "mss.h"
#include "noise.h"
#include "peerid.h"
#include "secchan.h"
#include "fuzz_vectors.h"

static const enum sec_proto NOISE_ONLY[] = { SEC_NOISE };
static const char *const MUXERS[] = { "/yamux/1.0.0", "/mplex/6.7.0" };

/* Node state shared by all runs: identities and credentials. */
static struct identity *ids[2];
static struct secchan_cred *creds[2];
static struct peer_id resp_peer;

/* Load the example identities once (they stay reachable, not leaks). */
static void
setup(void)
{
	uint8_t pb[EX_ID_LEN];
	char err[256];
	int i;

	if (creds[0] != NULL)
		return;
	for (i = 0; i < 2; i++) {
		fuzz_hex(i == 0 ? EX_INIT_ID : EX_RESP_ID, pb, sizeof(pb));
		ids[i] = identity_from_pb(pb, sizeof(pb), err, sizeof(err));
		FUZZ_CHECK(ids[i] != NULL);
		creds[i] = secchan_cred_new(ids[i]);
		FUZZ_CHECK(creds[i] != NULL);
	}
	FUZZ_CHECK(peer_id_parse(EX_RESP_PEER, &resp_peer) == 0);
}

/* secchan_input() plus the contract checks of secchan.h. */
static enum secchan_status
feed(struct secchan *sc, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *outlen)
{
	enum secchan_status st;

	st = secchan_input(sc, in, len, used, out, outlen);
	FUZZ_CHECK(*used <= len && *outlen <= SECCHAN_OUT_MAX);
	FUZZ_CHECK(st == secchan_status(sc));
	if (st == SECCHAN_FAILED) {
		FUZZ_CHECK(secchan_fail(sc) != SECCHAN_FAIL_NONE);
		FUZZ_CHECK(strlen(secchan_error(sc)) > 0);
	}
	if (st == SECCHAN_READY)
		FUZZ_CHECK(secchan_peer(sc) != NULL &&
		    secchan_peer_key(sc) != NULL);
	return st;
}

/* Open transport frames in in[0..len) until one fails or none is whole. */
static void
open_frames(struct secchan *sc, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t off = 0, used, need;
	int n;

	while ((n = secchan_open(sc, in + off, len - off, &used, &need, out,
	    SECCHAN_SEAL_MAX)) >= 0) {
		if (used == 0) {
			FUZZ_CHECK(n == 0 && need > len - off);
			break;
		}
		off += used;
	}
}

/* Raw mode: the input is the peer's wire. */
static void
run_raw(struct secchan *sc, const uint8_t *data, size_t size, uint8_t *out)
{
	size_t chunk, arrived = 0, off = 0, used, olen;
	enum secchan_status st = SECCHAN_CONTINUE;

	if (size < 1)
		return;
	chunk = data[0] != 0 ? data[0] : size;
	data++;
	size--;
	while (st == SECCHAN_CONTINUE && off + arrived < size) {
		arrived = arrived + chunk < size - off ? arrived + chunk :
		    size - off;
		st = feed(sc, data + off, arrived, &used, out, &olen);
		off += used;
		arrived -= used;
	}
	if (st == SECCHAN_READY)
		open_frames(sc, data + off, size - off, out);
}

/* Read the one framed handshake message at the start of w[0..wlen). */
static int
peer_read(struct noise_hs *hs, const uint8_t *w, size_t wlen, uint8_t *buf)
{
	size_t mlen, plen;

	FUZZ_CHECK(wlen >= NOISE_FRAME_HDR);
	mlen = frame_get_len(w);
	FUZZ_CHECK(wlen == NOISE_FRAME_HDR + mlen);
	return noise_hs_read(hs, w + NOISE_FRAME_HDR, mlen, buf,
	    NOISE_MAX_PAYLOAD, &plen);
}

/* Frame our next handshake message with payload p into w at *wlen. */
static void
peer_write(struct noise_hs *hs, const uint8_t *p, size_t plen, uint8_t *w,
    size_t *wlen)
{
	size_t mlen;

	FUZZ_CHECK(noise_hs_write(hs, p, plen, w + *wlen + NOISE_FRAME_HDR,
	    NOISE_MAX_MSG, &mlen) == 0);
	frame_put_len(w + *wlen, mlen);
	*wlen += NOISE_FRAME_HDR + mlen;
}

/*
 * Peer mode: an honest peer sends the fuzzed payload and plaintext.
 * start[0..slen) is what secchan_start() gave: for the (lazy, one
 * protocol) dialer its header, proposal and Noise message 1.
 */
static void
run_peer(struct secchan *sc, bool listener, const uint8_t *start,
    size_t slen, const uint8_t *data, size_t size, uint8_t *out)
{
	static uint8_t w[2 * SECCHAN_OUT_MAX + NOISE_MAX_MSG + 2];
	uint8_t s[NOISE_KEY_LEN], e[NOISE_KEY_LEN];
	struct noise_cipher tx, rx;
	struct noise_hs *hs;
	size_t plen, wlen = 0, olen, used, skip, need, off, k;
	int n;

	if (size < 2)
		return;
	plen = (size_t)data[0] << 8 | data[1];
	if (plen > size - 2)
		plen = size - 2;
	if (plen > NOISE_MAX_MSG - 96)	/* the longest message 2 */
		plen = NOISE_MAX_MSG - 96;
	fuzz_hex(listener ? EX_INIT_S : EX_RESP_S, s, sizeof(s));
	fuzz_hex(listener ? EX_INIT_E : EX_RESP_E, e, sizeof(e));
	hs = noise_hs_new(listener ? NOISE_INITIATOR : NOISE_RESPONDER, NULL,
	    0, s, e);
	FUZZ_CHECK(hs != NULL);
	/* multistream: our header and /noise (proposal or echo) */
	wlen += mss_encode(MSS_PROTO_HEADER, w + wlen, sizeof(w) - wlen);
	wlen += mss_encode(MSS_PROTO_NOISE, w + wlen, sizeof(w) - wlen);
	skip = wlen;		/* it sends the same two messages */
	if (listener) {
		peer_write(hs, NULL, 0, w, &wlen);		/* msg 1 */
		FUZZ_CHECK(feed(sc, w, wlen, &used, out, &olen) ==
		    SECCHAN_CONTINUE);
		FUZZ_CHECK(used == wlen);
		/* header, echo and msg 2 from secchan */
		FUZZ_CHECK(olen > skip && memcmp(out, w, skip) == 0);
		FUZZ_CHECK(peer_read(hs, out + skip, olen - skip, w) == 0);
		wlen = 0;
	} else {
		/* the lazy dialer's start: header, proposal and msg 1 */
		FUZZ_CHECK(slen > skip && memcmp(start, w, skip) == 0);
		FUZZ_CHECK(peer_read(hs, start + skip, slen - skip, out) == 0);
		/* our header and echo go out with msg 2 */
	}
	peer_write(hs, data + 2, plen, w, &wlen);
	if (feed(sc, w, wlen, &used, out, &olen) != SECCHAN_READY)
		goto done;
	FUZZ_CHECK(used == wlen);
	if (!listener)		/* its msg 3 */
		FUZZ_CHECK(peer_read(hs, out, olen, w) == 0);
	FUZZ_CHECK(noise_hs_split(hs, &tx, &rx) == 0);
	/* the rest: plaintext we seal, it must open to the same bytes */
	for (off = 2 + plen; off < size; off += k) {
		k = size - off < SECCHAN_SEAL_MAX ? size - off :
		    SECCHAN_SEAL_MAX;
		FUZZ_CHECK(frame_seal(&tx, data + off, k, w) > 0);
		n = secchan_open(sc, w, FRAME_SEALED_LEN(k), &used, &need,
		    out, SECCHAN_SEAL_MAX);
		FUZZ_CHECK(n == (int)k && used == FRAME_SEALED_LEN(k));
		FUZZ_CHECK(memcmp(out, data + off, k) == 0);
	}
	noise_cipher_wipe(&tx);
	noise_cipher_wipe(&rx);
done:
	noise_hs_free(hs);
}

/* One connection upgrade. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SECCHAN_OUT_MAX + SECCHAN_SEAL_MAX];
	static uint8_t start[SECCHAN_OUT_MAX];
	struct secchan *sc;
	const char *m;
	bool listener;
	size_t slen;

	if (size < 1)
		return 0;
	setup();
	listener = (data[0] & 1) != 0;
	sc = listener ?
	    secchan_new(SECCHAN_LISTENER, creds[1], NOISE_ONLY, 1, NULL) :
	    secchan_new(SECCHAN_DIALER, creds[0], NOISE_ONLY, 1, &resp_peer);
	FUZZ_CHECK(sc != NULL);
	if ((data[0] & 4) != 0)
		FUZZ_CHECK(secchan_set_muxers(sc, MUXERS, 2) == 0);
	FUZZ_CHECK(secchan_start(sc, start, &slen) == 0);
	if ((data[0] & 2) != 0)
		run_raw(sc, data + 1, size - 1, out);
	else
		run_peer(sc, listener, start, slen, data + 1, size - 1, out);
	m = secchan_muxer(sc);
	FUZZ_CHECK(m == NULL || m == MUXERS[0] || m == MUXERS[1]);
	FUZZ_CHECK(m == NULL || (data[0] & 4) != 0);
	secchan_free(sc);
	return 0;
}
