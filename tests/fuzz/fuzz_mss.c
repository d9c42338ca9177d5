/*
 * fuzz_mss.c - multistream-select as dialer or listener, with the input
 * delivered in pieces whose sizes the fuzzer chooses.
 *
 * Input: flags, three chunk sizes, then the peer's bytes.
 *	flags bit 0: 0 = dialer, 1 = listener
 *	flags bit 1: protocols {/noise} or {/tls/1.0.0, /noise}
 *	chunk size 0 means "everything left".
 */
#include "fuzz.h"

#include "mss.h"
#include "wire.h"

static const char *const PROTOS[] = { MSS_PROTO_TLS, MSS_PROTO_NOISE };

/* Check what mss.h promises about one mss_input() call. */
static void
check_step(const struct mss *m, enum mss_status st, size_t len,
    size_t used, size_t outlen)
{
	const char *sel = mss_selected(m);

	FUZZ_CHECK(used <= len);
	FUZZ_CHECK(outlen <= MSS_OUT_MAX);
	FUZZ_CHECK(st != MSS_CONTINUE || used == len);
	FUZZ_CHECK(st != MSS_DONE ||
	    (sel != NULL && (sel == PROTOS[0] || sel == PROTOS[1])));
	FUZZ_CHECK(st == MSS_DONE || sel == NULL);
	FUZZ_CHECK(st != MSS_FAILED || strlen(mss_error(m)) > 0);
}

/* Feed the peer's bytes in fuzzer-sized pieces. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[MSS_OUT_MAX];
	const char *const *protos;
	struct mss *m;
	enum mss_status st = MSS_CONTINUE;
	size_t n, off, used, outlen, chunk, k;
	uint8_t flags;

	if (size < 4)
		return 0;
	flags = data[0];
	protos = (flags & 2) != 0 ? PROTOS : PROTOS + 1;
	n = (flags & 2) != 0 ? 2 : 1;
	m = (flags & 1) != 0 ? mss_new_listener(protos, n) :
	    mss_new_dialer(protos, n);
	FUZZ_CHECK(m != NULL);
	FUZZ_CHECK(mss_start(m, out, &outlen) == 0);
	FUZZ_CHECK(outlen <= MSS_OUT_MAX);
	for (off = 4, k = 0; off < size; off += used, k++) {
		chunk = data[1 + k % 3];
		if (chunk == 0 || chunk > size - off)
			chunk = size - off;
		st = mss_input(m, data + off, chunk, &used, out, &outlen);
		check_step(m, st, chunk, used, outlen);
		if (st != MSS_CONTINUE)
			break;
	}
	if (st != MSS_CONTINUE) {
		/* Finished machines stay put and take nothing more. */
		enum mss_status again = mss_input(m, data, size, &used, out,
		    &outlen);

		FUZZ_CHECK(again == st && used == 0 && outlen == 0);
	}
	mss_free(m);
	return 0;
}
