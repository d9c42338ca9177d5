/*
 * test_frame.c - libp2p Noise framing: length header, seal/open limits,
 * in-place operation, and the derived example's first transport frames.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "noise.h"
#include "vec.h"

enum { BUFSZ = 65536 + 64 };

static uint8_t pt[BUFSZ], wire[BUFSZ], out[BUFSZ];

/* A cipher with a fixed, non-zero key at nonce 0. */
static void
cipher_init(struct noise_cipher *c, uint8_t fill)
{
	memset(c, 0, sizeof(*c));
	memset(c->k, fill, sizeof(c->k));
}

/* Length header encodings, both directions. */
static const struct {
	size_t len;
	uint8_t hdr[2];
} lens[] = {
	{ 0, { 0x00, 0x00 } },
	{ 16, { 0x00, 0x10 } },
	{ 255, { 0x00, 0xff } },
	{ 256, { 0x01, 0x00 } },
	{ 0x1234, { 0x12, 0x34 } },
	{ 65519, { 0xff, 0xef } },
	{ 65535, { 0xff, 0xff } },
};

/* Table-driven frame_put_len / frame_get_len. */
START_TEST(test_len_header)
{
	uint8_t hdr[2];

	frame_put_len(hdr, lens[_i].len);
	ck_assert_mem_eq(hdr, lens[_i].hdr, 2);
	ck_assert_uint_eq(frame_get_len(lens[_i].hdr), lens[_i].len);
}
END_TEST

/* The derived example's first frame in each direction, from its keys. */
START_TEST(test_derived_transport)
{
	static const char *const dir[2][2] = {
		{ "k_initiator_to_responder",
		    "wire_transport_init_to_resp_n0" },
		{ "k_responder_to_initiator",
		    "wire_transport_resp_to_init_n0" },
	};
	json_t *ex = vec_load("noise-libp2p-derived-example.json");
	struct noise_cipher tx, rx;
	uint8_t *k, *p, *w;
	size_t klen, plen, wlen;
	int n;

	k = vec_hex(vec_str(ex, dir[_i][0]), &klen);
	p = vec_hex(vec_str(ex, "transport_plaintext"), &plen);
	w = vec_hex(vec_str(ex, dir[_i][1]), &wlen);
	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(klen, NOISE_KEY_LEN);
	memset(&tx, 0, sizeof(tx));
	memcpy(tx.k, k, klen);
	rx = tx;

	n = frame_seal(&tx, p, plen, wire);
	ck_assert_int_eq(n, (int)wlen);
	ck_assert_uint_eq(FRAME_SEALED_LEN(plen), wlen);
	ck_assert_mem_eq(wire, w, wlen);
	ck_assert_uint_eq(tx.n, 1);
	ck_assert_uint_eq(frame_get_len(wire), wlen - 2);
	ck_assert_int_eq(frame_open(&rx, wire + 2, wlen - 2, out), (int)plen);
	ck_assert_mem_eq(out, p, plen);
	ck_assert_uint_eq(rx.n, 1);
	free(k);
	free(p);
	free(w);
	json_decref(ex);
}
END_TEST

/* Empty plaintext: a 16-byte body that opens to nothing. */
START_TEST(test_empty_frame)
{
	struct noise_cipher tx, rx;

	cipher_init(&tx, 1);
	rx = tx;
	ck_assert_int_eq(frame_seal(&tx, NULL, 0, wire), 18);
	ck_assert_uint_eq(frame_get_len(wire), 16);
	ck_assert_int_eq(frame_open(&rx, wire + 2, 16, out), 0);
	ck_assert_uint_eq(rx.n, 1);
}
END_TEST

/* 65519 plaintext bytes fill a frame; 65520 are refused. */
START_TEST(test_max_frame)
{
	struct noise_cipher tx, rx;
	size_t i;

	cipher_init(&tx, 2);
	rx = tx;
	for (i = 0; i < NOISE_MAX_PLAINTEXT; i++)
		pt[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(frame_seal(&tx, pt, NOISE_MAX_PLAINTEXT + 1, wire),
	    -1);
	ck_assert_uint_eq(tx.n, 0);
	ck_assert_int_eq(frame_seal(&tx, pt, NOISE_MAX_PLAINTEXT, wire),
	    2 + 65535);
	ck_assert_uint_eq(wire[0], 0xff);
	ck_assert_uint_eq(wire[1], 0xff);
	ck_assert_int_eq(frame_open(&rx, wire + 2, 65535, out),
	    NOISE_MAX_PLAINTEXT);
	ck_assert_mem_eq(out, pt, NOISE_MAX_PLAINTEXT);
}
END_TEST

/* Bodies outside 16..65535 are refused without touching the nonce. */
START_TEST(test_open_bad_length)
{
	static const size_t bad[] = { 0, 1, 15, 65536, 70000 };
	struct noise_cipher rx;
	size_t i;

	cipher_init(&rx, 3);
	memset(wire, 0, sizeof(wire));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(frame_open(&rx, wire, bad[i], out), -1);
		ck_assert_uint_eq(rx.n, 0);
	}
}
END_TEST

/* Tampered and replayed frames fail; the counter only moves on success. */
START_TEST(test_tamper_replay)
{
	static const uint8_t msg[] = "frame body";
	struct noise_cipher tx, rx;
	uint8_t copy[sizeof(msg) + 18];
	size_t j;
	int n;

	cipher_init(&tx, 4);
	rx = tx;
	n = frame_seal(&tx, msg, sizeof(msg), wire);
	ck_assert_int_eq(n, (int)sizeof(copy));
	for (j = 2; j < (size_t)n; j++) {
		memcpy(copy, wire, sizeof(copy));
		copy[j] ^= (uint8_t)(1u << (j % 8));
		ck_assert_int_eq(frame_open(&rx, copy + 2, sizeof(copy) - 2,
		    out), -1);
		ck_assert_uint_eq(rx.n, 0);
	}
	/* a truncated body fails too */
	ck_assert_int_eq(frame_open(&rx, wire + 2, (size_t)n - 3, out), -1);
	ck_assert_int_eq(frame_open(&rx, wire + 2, (size_t)n - 2, out),
	    (int)sizeof(msg));
	ck_assert_mem_eq(out, msg, sizeof(msg));
	/* replay */
	ck_assert_int_eq(frame_open(&rx, wire + 2, (size_t)n - 2, out), -1);
	ck_assert_uint_eq(rx.n, 1);
}
END_TEST

/* Seal with pt at out + 2 and open with out == body, as the pipe does. */
START_TEST(test_in_place)
{
	struct noise_cipher a, b, rx;
	size_t len = 1000, i;
	int n;

	cipher_init(&a, 5);
	b = a;
	rx = a;
	for (i = 0; i < len; i++)
		pt[i] = (uint8_t)i;
	n = frame_seal(&a, pt, len, out);
	ck_assert_int_eq(n, (int)FRAME_SEALED_LEN(len));
	memcpy(wire + 2, pt, len);
	ck_assert_int_eq(frame_seal(&b, wire + 2, len, wire), n);
	ck_assert_mem_eq(wire, out, (size_t)n);
	ck_assert_int_eq(frame_open(&rx, wire + 2, (size_t)n - 2, wire + 2),
	    (int)len);
	ck_assert_mem_eq(wire + 2, pt, len);
}
END_TEST

/* Successive frames use successive nonces and differ. */
START_TEST(test_sequence)
{
	struct noise_cipher tx, rx;
	uint8_t first[18 + 4];
	int i;

	cipher_init(&tx, 6);
	rx = tx;
	ck_assert_int_eq(frame_seal(&tx, (const uint8_t *)"same", 4, first),
	    (int)sizeof(first));
	ck_assert_int_eq(frame_open(&rx, first + 2, 20, out), 4);
	for (i = 1; i < 5; i++) {
		ck_assert_int_eq(frame_seal(&tx, (const uint8_t *)"same", 4,
		    wire), (int)sizeof(first));
		ck_assert_mem_ne(wire + 2, first + 2, 20);
		ck_assert_int_eq(frame_open(&rx, wire + 2, 20, out), 4);
		ck_assert_mem_eq(out, "same", 4);
		ck_assert_uint_eq(rx.n, (uint64_t)i + 1);
	}
}
END_TEST

/* frame_seal and frame_open stop at the reserved nonce. */
START_TEST(test_nonce_exhaustion)
{
	struct noise_cipher tx, rx;

	cipher_init(&tx, 7);
	tx.n = UINT64_MAX - 1;
	rx = tx;
	ck_assert_int_eq(frame_seal(&tx, (const uint8_t *)"x", 1, wire), 19);
	ck_assert_int_eq(frame_seal(&tx, (const uint8_t *)"x", 1, out), -1);
	ck_assert_int_eq(frame_open(&rx, wire + 2, 17, out), 1);
	ck_assert_int_eq(frame_open(&rx, wire + 2, 17, out), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_len_header, 0,
	    (int)(sizeof(lens) / sizeof(lens[0])));
	tcase_add_loop_test(tc, test_derived_transport, 0, 2);
	tcase_add_test(tc, test_empty_frame);
	tcase_add_test(tc, test_max_frame);
	tcase_add_test(tc, test_open_bad_length);
	tcase_add_test(tc, test_tamper_replay);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_sequence);
	tcase_add_test(tc, test_nonce_exhaustion);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
