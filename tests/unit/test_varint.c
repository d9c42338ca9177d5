/* test_varint.c - multiformats unsigned varint: encode, decode, reject. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "varint.h"
#include "vec.h"

/* Valid encodings: multistream-select.md section 1 plus the edges. */
static const struct {
	uint64_t v;
	const char *hex;
} good[] = {
	{ 0, "00" },
	{ 1, "01" },
	{ 127, "7f" },
	{ 128, "8001" },
	{ 255, "ff01" },
	{ 300, "ac02" },
	{ 1024, "8008" },
	{ 16383, "ff7f" },
	{ 16384, "808001" },
	{ 70000, "f0a204" },
	{ UINT64_C(0x7fffffffffffffff), "ffffffffffffffff7f" },
};

/* Encodings that must be rejected (-1) with maxlen 9. */
static const char *const bad[] = {
	"8100",			/* 1 padded with a zero group */
	"8000",			/* 0 written in two bytes */
	"ff8000",		/* 127 + padding */
	"808080808080808000",	/* zero in 9 bytes */
	"ffffffffffffffffff01",	/* 10 bytes: overlong */
	"80808080808080808001",	/* 10 bytes */
	"ffffffffffffffff80",	/* 9 bytes, continuation still set */
};

/* Truncated encodings: need more input (0). */
static const char *const truncated[] = {
	"",
	"80",
	"ff",
	"8080",
	"ffffffffffffffff",	/* 8 bytes, all with continuation */
};

START_TEST(test_encode_table)
{
	uint8_t out[9];
	size_t n;
	char *hex;

	n = varint_encode(good[_i].v, out);
	ck_assert_uint_ge(n, 1);
	hex = vec_tohex(out, n);
	ck_assert_str_eq(hex, good[_i].hex);
	free(hex);
}
END_TEST

START_TEST(test_decode_table)
{
	uint8_t *b;
	size_t len;
	uint64_t v = 12345;

	b = vec_hex(good[_i].hex, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(varint_decode(b, len, 9, &v), (int)len);
	ck_assert_uint_eq(v, good[_i].v);
	/* One byte short of the full encoding: need more. */
	if (len > 1)
		ck_assert_int_eq(varint_decode(b, len - 1, 9, &v), 0);
	free(b);
}
END_TEST

START_TEST(test_decode_bad)
{
	uint8_t *b;
	size_t len;
	uint64_t v = 777;

	b = vec_hex(bad[_i], &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(varint_decode(b, len, 9, &v), -1);
	ck_assert_uint_eq(v, 777);
	free(b);
}
END_TEST

START_TEST(test_decode_truncated)
{
	uint8_t *b;
	size_t len;
	uint64_t v = 777;

	b = vec_hex(truncated[_i], &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(varint_decode(b, len, 9, &v), 0);
	ck_assert_uint_eq(v, 777);
	free(b);
}
END_TEST

/* maxlen caps the length: 2 bytes as multistream-select uses. */
START_TEST(test_decode_maxlen)
{
	const uint8_t three[] = { 0x80, 0x80, 0x01 };
	const uint8_t two[] = { 0xff, 0x7f, 0x99 };
	uint64_t v = 0;

	ck_assert_int_eq(varint_decode(three, 3, 2, &v), -1);
	ck_assert_int_eq(varint_decode(three, 2, 2, &v), -1);
	ck_assert_int_eq(varint_decode(three, 1, 2, &v), 0);
	ck_assert_int_eq(varint_decode(three, 3, 3, &v), 3);
	ck_assert_uint_eq(v, 16384);
	ck_assert_int_eq(varint_decode(two, 3, 2, &v), 2);
	ck_assert_uint_eq(v, 16383);
	ck_assert_int_eq(varint_decode(two, 1, 1, &v), -1);
	/* maxlen 0 behaves as 1; huge maxlen as 9. */
	ck_assert_int_eq(varint_decode(two + 1, 1, 0, &v), 1);
	ck_assert_uint_eq(v, 127);
	ck_assert_int_eq(varint_decode(two, 3, 100, &v), 2);
}
END_TEST

/* Trailing bytes after a complete varint are not consumed. */
START_TEST(test_decode_trailing)
{
	const uint8_t b[] = { 0xac, 0x02, 0x0a, 0xff };
	uint64_t v = 0;

	ck_assert_int_eq(varint_decode(b, sizeof(b), 9, &v), 2);
	ck_assert_uint_eq(v, 300);
}
END_TEST

/* Values of 2^63 and more do not fit in 9 bytes. */
START_TEST(test_encode_too_big)
{
	uint8_t out[9];

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(varint_encode(UINT64_C(1) << 63, out), 0);
	ck_assert_uint_eq(varint_encode(UINT64_MAX, out), 0);
	ck_assert_uint_eq(out[0], 0xee);
}
END_TEST

/* Round trip across every length boundary. */
START_TEST(test_roundtrip_boundaries)
{
	uint8_t out[9];
	uint64_t v, got;
	size_t n;
	int k;

	for (k = 1; k <= 63; k++) {
		v = (UINT64_C(1) << k) - 1;
		n = varint_encode(v, out);
		ck_assert_uint_eq(n, (size_t)(k + 6) / 7);
		ck_assert_int_eq(varint_decode(out, n, 9, &got), (int)n);
		ck_assert_uint_eq(got, v);
		if (k < 63) {
			n = varint_encode(v + 1, out);
			ck_assert_int_eq(varint_decode(out, n, 9, &got),
			    (int)n);
			ck_assert_uint_eq(got, v + 1);
		}
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("varint");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_encode_table, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_decode_table, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_decode_bad, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_decode_truncated, 0,
	    sizeof(truncated) / sizeof(truncated[0]));
	tcase_add_test(tc, test_decode_maxlen);
	tcase_add_test(tc, test_decode_trailing);
	tcase_add_test(tc, test_encode_too_big);
	tcase_add_test(tc, test_roundtrip_boundaries);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
