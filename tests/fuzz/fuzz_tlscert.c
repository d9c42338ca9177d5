/*
 * fuzz_tlscert.c - the libp2p TLS certificate verifier on one DER
 * certificate, at a fixed time inside the validity of the spec vectors.
 *
 * Input: flags byte, then the certificate.
 *	flags bit 0: present the certificate twice (a chain of two, which
 *	must be refused).
 */
#include "fuzz.h"

#include "keys.h"
#include "tlscert.h"

/* 2023-11-14, within [1975, 4096] of the spec certificates. */
#define FUZZ_NOW ((time_t)1700000000)

/* Verify one certificate (or a chain of two). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *certs[2];
	size_t lens[2], n;
	struct pubkey *remote = NULL;
	char err[256];
	uint8_t *copy;
	int rc;

	if (size < 1)
		return 0;
	/* An exact-size heap copy, so ASan sees any overread. */
	if ((copy = malloc(size > 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	certs[0] = certs[1] = copy;
	lens[0] = lens[1] = size - 1;
	n = (data[0] & 1) != 0 ? 2 : 1;
	rc = tlscert_verify(certs, lens, n, FUZZ_NOW, &remote, err,
	    sizeof(err));
	if (rc == 0) {
		FUZZ_CHECK(n == 1 && remote != NULL);
		pubkey_free(remote);
	} else {
		FUZZ_CHECK(remote == NULL);
		FUZZ_CHECK(strncmp(err, "tls: ", 5) == 0);
	}
	free(copy);
	return 0;
}
