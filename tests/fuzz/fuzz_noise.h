/*
 * fuzz_noise.h - the Noise driver shared by fuzz_noise_initiator.c and
 * fuzz_noise_responder.c.
 *
 * A real Noise_XX handshake state with the fixed keys of the libp2p
 * derived example (tests/vectors/noise-libp2p-derived-example.json) reads
 * the fuzz input as the peer's wire: uint16_be(len) || message frames.
 * The first frames are the handshake messages this role reads (msg 1 and
 * 3 for the responder, msg 2 for the initiator, which writes msg 1
 * first); our own messages carry the example's payloads, so the
 * example's wire bytes are a complete valid transcript.  After the split,
 * the remaining frames are opened as transport frames.
 */
#ifndef PEERLOCK_FUZZ_NOISE_H
#define PEERLOCK_FUZZ_NOISE_H

#include "fuzz.h"

#include "frame.h"
#include "noise.h"
#include "wire.h"
#include "fuzz_vectors.h"


/*
 * Write our next handshake message (its bytes are not needed).  Returns
 * 0, or -1 if the handshake failed: a low-order ephemeral key from the
 * peer makes a DH of our write step fail, as noise.h says.
 */
static int
fuzz_noise_write(struct noise_hs *hs, enum noise_role role, uint8_t *buf)
{
	uint8_t payload[EX_PAYLOAD_LEN];
	size_t plen = 0, mlen;

	if (noise_hs_next(hs) != NOISE_WRITE)
		return 0;
	if (role == NOISE_RESPONDER) {
		fuzz_hex(EX_MSG2_PAYLOAD, payload, sizeof(payload));
		plen = sizeof(payload);
	} else if (noise_hs_remote_static(hs) != NULL) {
		fuzz_hex(EX_MSG3_PAYLOAD, payload, sizeof(payload));
		plen = sizeof(payload);
	}
	if (noise_hs_write(hs, payload, plen, buf, NOISE_MAX_MSG,
	    &mlen) != 0) {
		FUZZ_CHECK(noise_hs_next(hs) == NOISE_FAILED);
		return -1;
	}
	FUZZ_CHECK(mlen <= NOISE_MAX_MSG);
	return 0;
}

/* Read one handshake message; 0, or -1 once the handshake failed. */
static int
fuzz_noise_read(struct noise_hs *hs, const uint8_t *m, size_t mlen,
    uint8_t *buf)
{
	size_t plen;

	FUZZ_CHECK(noise_hs_next(hs) == NOISE_READ);
	if (noise_hs_read(hs, m, mlen, buf, NOISE_MAX_PAYLOAD, &plen) != 0) {
		FUZZ_CHECK(noise_hs_next(hs) == NOISE_FAILED);
		return -1;
	}
	FUZZ_CHECK(plen <= NOISE_MAX_PAYLOAD && plen < mlen);
	return 0;
}

/* Run the role against the input frames. */
static void
fuzz_noise_run(enum noise_role role, const uint8_t *data, size_t size)
{
	static uint8_t buf[NOISE_MAX_MSG + 1];
	struct noise_cipher tx, rx;
	uint8_t s[NOISE_KEY_LEN], e[NOISE_KEY_LEN];
	struct noise_hs *hs;
	size_t off, blen;
	bool split = false;
	int n;

	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	fuzz_hex(role == NOISE_INITIATOR ? EX_INIT_S : EX_RESP_S, s, 32);
	fuzz_hex(role == NOISE_INITIATOR ? EX_INIT_E : EX_RESP_E, e, 32);
	hs = noise_hs_new(role, NULL, 0, s, e);
	FUZZ_CHECK(hs != NULL);
	/* The initiator writes msg 1 first. */
	FUZZ_CHECK(fuzz_noise_write(hs, role, buf) == 0);
	for (off = 0; size - off >= NOISE_FRAME_HDR; off += blen) {
		blen = frame_get_len(data + off);
		off += NOISE_FRAME_HDR;
		if (blen > size - off)
			blen = size - off;	/* a short last frame */
		if (split) {
			if (blen < NOISE_TAG_LEN)
				break;
			n = frame_open(&rx, data + off, blen, buf);
			if (n < 0)
				break;
			FUZZ_CHECK((size_t)n == blen - NOISE_TAG_LEN);
			continue;
		}
		if (fuzz_noise_read(hs, data + off, blen, buf) != 0 ||
		    fuzz_noise_write(hs, role, buf) != 0)
			break;
		if (noise_hs_next(hs) == NOISE_SPLIT) {
			FUZZ_CHECK(noise_hs_remote_static(hs) != NULL);
			FUZZ_CHECK(noise_hs_split(hs, &tx, &rx) == 0);
			split = true;
		}
	}
	noise_hs_free(hs);
	noise_cipher_wipe(&tx);
	noise_cipher_wipe(&rx);
}

#endif
