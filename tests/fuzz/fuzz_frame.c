/*
 * fuzz_frame.c - Noise transport frames opened with a fixed key.
 *
 * Input: one flags byte, then uint16_be(len) || body frames as they come
 * off the wire.  The receive key is k_initiator_to_responder of the
 * libp2p derived example, so its first transport frame is a valid seed.
 *	flags bit 0: start the nonce at 2^64 - 3 (reach nonce exhaustion)
 * Each body goes through frame_open(); bodies that are not a whole frame
 * go through noise_cipher_decrypt() so short inputs reach it too.
 */
#include "fuzz.h"

#include "frame.h"
#include "noise.h"
#include "wire.h"

#define EX_K_I2R "3062fff068d0abd171b4b4603c5b7633bf5ee4e79da311370c2eba7f" \
	"1ed6c69a"

/* Open the input's frames until one fails. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[NOISE_MAX_MSG];
	struct noise_cipher rx;
	size_t off, blen;
	uint64_t n0;
	int n, want;

	if (size < 1)
		return 0;
	fuzz_hex(EX_K_I2R, rx.k, sizeof(rx.k));
	rx.n = (data[0] & 1) != 0 ? UINT64_MAX - 3 : 0;
	for (off = 1; size - off >= NOISE_FRAME_HDR; off += blen) {
		blen = frame_get_len(data + off);
		off += NOISE_FRAME_HDR;
		n0 = rx.n;
		if (blen > size - off) {
			blen = size - off;
			n = noise_cipher_decrypt(&rx, data + off, blen, out);
			want = 0;
		} else {
			n = frame_open(&rx, data + off, blen, out);
			want = (int)blen - NOISE_TAG_LEN;
		}
		if (n < 0) {
			FUZZ_CHECK(rx.n == n0);
			break;
		}
		FUZZ_CHECK(n == want);
		FUZZ_CHECK(rx.n == n0 + 1);
	}
	noise_cipher_wipe(&rx);
	return 0;
}
