/*
 * fuzz_privkey.c - a PrivateKey protobuf as identity_from_pb() reads a
 * key file; an accepted identity must sign a message its own public key
 * verifies.
 */
#include "fuzz.h"

#include "keys.h"
#include "wire.h"

/* Load one identity. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t msg[] = "peerlock fuzz";
	uint8_t sig[SIG_MAX];
	struct identity *id;
	char err[256];
	size_t siglen;

	id = identity_from_pb(data, size, err, sizeof(err));
	if (id == NULL) {
		FUZZ_CHECK(strlen(err) > 0);
		return 0;
	}
	FUZZ_CHECK(identity_sign(id, msg, sizeof(msg), sig, sizeof(sig),
	    &siglen) == 0);
	FUZZ_CHECK(pubkey_verify(identity_pubkey(id), msg, sizeof(msg), sig,
	    siglen) == 0);
	identity_free(id);
	return 0;
}
