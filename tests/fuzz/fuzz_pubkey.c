/*
 * fuzz_pubkey.c - a serialized libp2p PublicKey: the raw protobuf
 * decoder, pubkey_parse(), and for accepted keys the derived peer ID and
 * a signature check (the signature is the input itself: it must simply
 * fail safely).
 */
#include "fuzz.h"

#include "keys.h"
#include "pb.h"
#include "peerid.h"
#include "wire.h"

/* Parse one key. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t raw[KEY_PB_MAX];
	char err[256], text[PEER_ID_STR_MAX];
	const uint8_t *canon;
	struct peer_id pid;
	struct pubkey *k;
	size_t rawlen, clen;
	int type;

	if (pb_key_decode(data, size, &type, raw, sizeof(raw), &rawlen) == 0)
		FUZZ_CHECK(rawlen <= sizeof(raw));
	k = pubkey_parse(data, size, err, sizeof(err));
	if (k == NULL) {
		FUZZ_CHECK(strlen(err) > 0);
		return 0;
	}
	/* Only canonical encodings are accepted, so they come back as is. */
	canon = pubkey_bytes(k, &clen);
	FUZZ_CHECK(clen == size && memcmp(canon, data, size) == 0);
	FUZZ_CHECK(peer_id_from_pubkey_pb(data, size, &pid) == 0);
	FUZZ_CHECK(peer_id_equal(&pid, pubkey_peer_id(k)));
	FUZZ_CHECK(peer_id_to_string(&pid, text, sizeof(text)) != NULL);
	FUZZ_CHECK(pubkey_verify(k, data, size, data, size) != 0);
	pubkey_free(k);
	return 0;
}
