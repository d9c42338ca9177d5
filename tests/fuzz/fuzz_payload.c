/*
 * fuzz_payload.c - the Noise handshake payload protobuf (its
 * NoiseExtensions bounded as pb.h says), then its
 * identity key and signature as secchan checks them: the key is parsed
 * and the signature verified over the libp2p static-key message for the
 * responder static key of the derived example (so the example's msg 2
 * payload verifies).
 */
#include "fuzz.h"

#include "keys.h"
#include "pb.h"
#include "wire.h"

/* X25519 public key of the example's responder. */
#define EX_RESP_S_PUB "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767" \
	"e4834f701b8f62"

/* Decode, parse, verify. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_noise_payload pl;
	uint8_t msg[sizeof(NOISE_SIG_PREFIX) - 1 + NOISE_KEY_LEN];
	struct pubkey *k;
	char err[256];
	size_t i;

	if (pb_noise_payload_decode(data, size, &pl) != 0) {
		FUZZ_CHECK(pl.error != NULL);
		return 0;
	}
	FUZZ_CHECK(pl.error == NULL);
	FUZZ_CHECK(pl.identity_key_len <= sizeof(pl.identity_key));
	FUZZ_CHECK(pl.identity_sig_len <= sizeof(pl.identity_sig));
	/* NoiseExtensions.stream_muxers: bounded, non-empty UTF-8 ids */
	FUZZ_CHECK(pl.n_muxers <= PB_MUXERS_MAX);
	FUZZ_CHECK(pl.n_muxers == 0 || pl.has_extensions);
	for (i = 0; i < pl.n_muxers; i++)
		FUZZ_CHECK(strlen(pl.muxers[i]) >= 1 &&
		    pb_utf8_valid((const uint8_t *)pl.muxers[i],
		    strlen(pl.muxers[i])));
	k = pubkey_parse(pl.identity_key, pl.identity_key_len, err,
	    sizeof(err));
	if (k == NULL)
		return 0;
	memcpy(msg, NOISE_SIG_PREFIX, sizeof(NOISE_SIG_PREFIX) - 1);
	fuzz_hex(EX_RESP_S_PUB, msg + sizeof(NOISE_SIG_PREFIX) - 1,
	    NOISE_KEY_LEN);
	(void)pubkey_verify(k, msg, sizeof(msg), pl.identity_sig,
	    pl.identity_sig_len);
	pubkey_free(k);
	return 0;
}
