/*
 * fuzz_peerid.c - peer ID text (base58btc or CIDv1 base32) and raw
 * multihash bytes; whatever parses must print and parse back to the
 * same ID in both text forms.
 */
#include "fuzz.h"

#include "peerid.h"
#include "wire.h"

/* Print id both ways and check each parses back to it. */
static void
roundtrip(const struct peer_id *id)
{
	char text[PEER_ID_STR_MAX];
	struct peer_id back;

	FUZZ_CHECK(peer_id_to_string(id, text, sizeof(text)) != NULL);
	FUZZ_CHECK(peer_id_parse(text, &back) == 0);
	FUZZ_CHECK(peer_id_equal(id, &back));
	FUZZ_CHECK(peer_id_to_cid(id, text, sizeof(text)) != NULL);
	FUZZ_CHECK(peer_id_parse(text, &back) == 0);
	FUZZ_CHECK(peer_id_equal(id, &back));
}

/* The input as text and as multihash bytes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t raw[PEER_ID_STR_MAX];
	struct peer_id id;
	size_t rawlen;
	char *s;

	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	if (peer_id_parse(s, &id) == 0) {
		FUZZ_CHECK(id.len <= PEER_ID_MAX);
		roundtrip(&id);
	}
	if (base58btc_decode(s, raw, sizeof(raw), &rawlen) == 0)
		FUZZ_CHECK(rawlen <= sizeof(raw));
	if (base32_decode(s, raw, sizeof(raw), &rawlen) == 0)
		FUZZ_CHECK(rawlen <= sizeof(raw));
	free(s);
	if (peer_id_from_bytes(data, size, &id) == 0) {
		FUZZ_CHECK(id.len == size && memcmp(id.mh, data, size) == 0);
		roundtrip(&id);
	}
	return 0;
}
