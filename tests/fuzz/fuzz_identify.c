/*
 * fuzz_identify.c - the identify message decoder (pb_identify_decode),
 * then its contract: whatever it accepts stays within the caps of pb.h
 * with NUL-ended, valid UTF-8 strings, re-encodes (pb_identify_encode
 * takes everything the decoder gives) and decodes again to the same
 * struct.  Input: the message bytes.
 */
#include "fuzz.h"

#include "pb.h"

/* Decode, check, re-encode, decode again, compare. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_identify a, b;
	static uint8_t enc[PB_ID_MSG_MAX];
	char err[256];
	size_t i;
	int n;

	if (pb_identify_decode(data, size, &a, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(a.n_protocols == 0 && !a.has_public_key);
		return 0;
	}
	FUZZ_CHECK(a.n_protocols <= PB_ID_PROTOCOLS_MAX);
	FUZZ_CHECK(a.n_listen_addrs <= PB_ID_ADDRS_MAX);
	FUZZ_CHECK(a.public_key_len <= KEY_PB_MAX);
	FUZZ_CHECK(a.signed_peer_record_len <= PB_ID_RECORD_MAX);
	for (i = 0; i < a.n_protocols; i++)
		FUZZ_CHECK(pb_utf8_valid((const uint8_t *)a.protocols[i],
		    strlen(a.protocols[i])));
	FUZZ_CHECK(pb_utf8_valid((const uint8_t *)a.agent_version,
	    strlen(a.agent_version)));
	n = pb_identify_encode(&a, enc, sizeof(enc));
	FUZZ_CHECK(n >= 0 && (size_t)n <= size);
	FUZZ_CHECK(pb_identify_decode(enc, (size_t)n, &b, err,
	    sizeof(err)) == 0);
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	return 0;
}
