/*
 * test_perf.c - the /perf/1.0.0 core (perf.h): the request's encoding,
 * the server's request/upload/send states fed whole and a byte at a time,
 * the cap, a request cut short, the client's checks of what comes back,
 * and the result line.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf.h"
#include "vec.h"

/* perf.md: a big-endian uint64; zero and the max are valid. */
static const struct {
	uint64_t n;
	uint8_t b[PERF_REQ_LEN];
} req_table[] = {
	{ 0, { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ 1, { 0, 0, 0, 0, 0, 0, 0, 1 } },
	{ 1u << 30, { 0, 0, 0, 0, 0x40, 0, 0, 0 } },
	{ 0x0102030405060708ull, { 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ UINT64_MAX, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
};

START_TEST(test_req_table)
{
	uint8_t out[PERF_REQ_LEN];

	perf_req_encode(req_table[_i].n, out);
	ck_assert_mem_eq(out, req_table[_i].b, PERF_REQ_LEN);
	ck_assert_uint_eq(perf_req_decode(req_table[_i].b), req_table[_i].n);
}
END_TEST

/* Drain p's sending state in chunks of room; returns the bytes given. */
static uint64_t
drain(struct perf *p, size_t room, uint8_t *first8)
{
	uint8_t buf[4096];
	uint64_t total = 0;
	size_t n;

	ck_assert_uint_le(room, sizeof(buf));
	while (perf_left(p) > 0) {
		memset(buf, 0xaa, sizeof(buf));
		n = perf_fill(p, buf, room);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_le(n, room);
		if (first8 != NULL && total < PERF_REQ_LEN) {
			size_t k = PERF_REQ_LEN - (size_t)total;

			memcpy(first8 + total, buf, k < n ? k : n);
		}
		total += n;
	}
	return total;
}

/* A whole exchange, the client's bytes fed to the server as given. */
static void
exchange(uint64_t up, uint64_t down, size_t chunk)
{
	struct perf c, s;
	uint8_t buf[4096];
	size_t n, off;
	uint64_t got = 0;

	perf_cli_init(&c, up, down);
	perf_srv_init(&s, 0);
	ck_assert_uint_eq(perf_left(&c), PERF_REQ_LEN + up);
	ck_assert_uint_eq(perf_left(&s), 0);	/* reading: must not send */
	while (perf_left(&c) > 0) {
		n = perf_fill(&c, buf, chunk);
		for (off = 0; off < n; off++)	/* a byte at a time */
			ck_assert_int_eq(perf_srv_input(&s, buf + off, 1), 0);
		ck_assert_uint_eq(perf_left(&s), 0);
	}
	ck_assert_int_eq(c.state, PERF_S_RECEIVE);
	ck_assert_uint_eq(s.want, down);
	ck_assert_uint_eq(s.received, up);
	ck_assert_int_eq(perf_srv_eof(&s), 0);
	ck_assert_uint_eq(perf_left(&s), down);
	while (perf_left(&s) > 0) {
		n = perf_fill(&s, buf, chunk);
		ck_assert_int_eq(perf_cli_input(&c, n), 0);
		got += n;
	}
	ck_assert_int_eq(s.state, PERF_S_DONE);
	ck_assert_uint_eq(got, down);
	ck_assert_int_eq(perf_cli_eof(&c), 0);
	ck_assert_int_eq(c.state, PERF_S_DONE);
	ck_assert_str_eq(perf_error(&c), "");
}

START_TEST(test_exchange)
{
	exchange(0, 0, 4096);
	exchange(0, 1, 4096);
	exchange(1, 0, 4096);
	exchange(100000, 3, 7);
	exchange(5, 100000, 4096);
	exchange(12345, 54321, 1);
}
END_TEST

/* The client's request is the first 8 bytes, then zeros. */
START_TEST(test_client_bytes)
{
	struct perf c;
	uint8_t first[PERF_REQ_LEN], want[PERF_REQ_LEN];

	perf_cli_init(&c, 3, 0x1122334455667788ull);
	perf_req_encode(0x1122334455667788ull, want);
	ck_assert_uint_eq(drain(&c, 3, first), PERF_REQ_LEN + 3);
	ck_assert_mem_eq(first, want, PERF_REQ_LEN);
	ck_assert_int_eq(c.state, PERF_S_RECEIVE);
}
END_TEST

/* The cap: a request over max fails at its 8th byte, naming both. */
START_TEST(test_cap)
{
	struct perf s;
	uint8_t req[PERF_REQ_LEN];

	perf_srv_init(&s, 1000);
	perf_req_encode(1000, req);
	ck_assert_int_eq(perf_srv_input(&s, req, sizeof(req)), 0);
	ck_assert_int_eq(perf_srv_eof(&s), 0);
	ck_assert_uint_eq(perf_left(&s), 1000);

	perf_srv_init(&s, 1000);
	perf_req_encode(1001, req);
	ck_assert_int_eq(perf_srv_input(&s, req, 7), 0);
	ck_assert_int_eq(perf_srv_input(&s, req + 7, 1), -1);
	ck_assert_int_eq(s.state, PERF_S_FAILED);
	ck_assert_str_eq(perf_error(&s), "perf: the peer asked for 1001 "
	    "bytes, more than perf_max_bytes (1000)");
	ck_assert_uint_eq(perf_left(&s), 0);
	ck_assert_int_eq(perf_srv_eof(&s), -1);

	/* max 0: no cap; UINT64_MAX is a valid request */
	perf_srv_init(&s, 0);
	perf_req_encode(UINT64_MAX, req);
	ck_assert_int_eq(perf_srv_input(&s, req, sizeof(req)), 0);
	ck_assert_int_eq(perf_srv_eof(&s), 0);
	ck_assert_uint_eq(perf_left(&s), UINT64_MAX);
}
END_TEST

/* A request cut short: 0 to 7 bytes, then EOF. */
START_TEST(test_short_request)
{
	struct perf s;
	uint8_t req[PERF_REQ_LEN] = { 0 };
	char want[PERF_ERR_MAX];

	perf_srv_init(&s, 0);
	ck_assert_int_eq(perf_srv_input(&s, req, (size_t)_i), 0);
	ck_assert_int_eq(perf_srv_eof(&s), -1);
	snprintf(want, sizeof(want), "perf: the stream ended after %d of "
	    "the 8 request bytes (expected a big-endian uint64 byte count)",
	    _i);
	ck_assert_str_eq(perf_error(&s), want);
	ck_assert_uint_eq(perf_left(&s), 0);
}
END_TEST

/* The client: too many bytes, too few, bytes while uploading. */
START_TEST(test_client_checks)
{
	struct perf c;
	uint8_t buf[64];

	perf_cli_init(&c, 0, 10);
	(void)perf_fill(&c, buf, sizeof(buf));
	ck_assert_int_eq(perf_cli_input(&c, 10), 0);
	ck_assert_int_eq(perf_cli_input(&c, 1), -1);
	ck_assert_str_eq(perf_error(&c), "perf: the server sent more than "
	    "the 10 bytes asked for (11 so far)");

	perf_cli_init(&c, 0, 10);
	(void)perf_fill(&c, buf, sizeof(buf));
	ck_assert_int_eq(perf_cli_input(&c, 9), 0);
	ck_assert_int_eq(perf_cli_eof(&c), -1);
	ck_assert_str_eq(perf_error(&c), "perf: the server ended the "
	    "stream after 9 of the 10 bytes asked for");

	perf_cli_init(&c, 100, 10);
	(void)perf_fill(&c, buf, 20);
	ck_assert_int_eq(perf_cli_input(&c, 1), -1);
	ck_assert_int_eq(c.state, PERF_S_FAILED);
	ck_assert_ptr_nonnull(strstr(perf_error(&c), "before our upload "
	    "ended"));
}
END_TEST

START_TEST(test_result_json)
{
	struct perf_result r = { 1000, 2000, 0.5, 0.25, 0.75 };
	char buf[512];

	ck_assert_int_gt(perf_result_json(&r, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "{\"type\":\"final\",\"timeSeconds\":0.750000,"
	    "\"uploadBytes\":1000,\"downloadBytes\":2000,"
	    "\"uploadSeconds\":0.500000,\"downloadSeconds\":0.250000,"
	    "\"uploadBitsPerSecond\":16000,"
	    "\"downloadBitsPerSecond\":64000}");
	ck_assert_int_eq(perf_result_json(&r, buf, 20), -1);
	ck_assert(perf_bps(5, 0) == 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("perf");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_req_table, 0,
	    sizeof(req_table) / sizeof(req_table[0]));
	tcase_add_test(tc, test_exchange);
	tcase_add_test(tc, test_client_bytes);
	tcase_add_test(tc, test_cap);
	tcase_add_loop_test(tc, test_short_request, 0, PERF_REQ_LEN);
	tcase_add_test(tc, test_client_checks);
	tcase_add_test(tc, test_result_json);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
