/*
 * test_tlsrec.c - TLS 1.3 record protection against RFC 8448 section 3
 * (tests/vectors/rfc8448-records.json), plus the checks the vectors do
 * not cover: tampering, headers, key updates and the other two suites.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tlsrec.h"
#include "vec.h"

static json_t *V;

/* Hex field key of object o (or of V when o is NULL), decoded. */
static uint8_t *
hexf(const json_t *o, const char *key, size_t *len)
{
	const char *h = vec_str(o != NULL ? o : V, key);
	uint8_t *b;

	ck_assert_msg(h != NULL, "missing %s", key);
	b = vec_hex(h, len);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* A direction installed from the named traffic secret. */
static void
dir_from(struct tlsrec_dir *d, const char *secret_key)
{
	uint8_t *sec;
	size_t n;

	sec = hexf(NULL, secret_key, &n);
	ck_assert_int_eq(tlsrec_init(d, TLSREC_AES_128_GCM_SHA256, sec, n), 0);
	free(sec);
}

/* Open the record of vector name at its sequence number. */
static void
open_vector(struct tlsrec_dir *d, const char *name, uint8_t want_type,
    const char *pt_key)
{
	const json_t *o = json_object_get(V, name);
	uint8_t *rec, *pt, type = 0;
	size_t rlen, plen;
	int n;

	ck_assert_ptr_nonnull(o);
	rec = hexf(o, "record", &rlen);
	pt = hexf(o, pt_key, &plen);
	d->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	ck_assert_int_eq(tlsrec_body_len(rec), (int)(rlen - TLSREC_HDR));
	n = tlsrec_open(d, rec, rec + TLSREC_HDR, rlen - TLSREC_HDR, &type);
	ck_assert_int_eq(n, (int)plen);
	ck_assert_uint_eq(type, want_type);
	ck_assert(memcmp(rec + TLSREC_HDR, pt, plen) == 0);
	free(rec);
	free(pt);
}

/* Seal the plaintext of vector name and compare with its record. */
static void
seal_vector(struct tlsrec_dir *d, const char *name, uint8_t type)
{
	const json_t *o = json_object_get(V, name);
	uint8_t *rec, *pt, *buf;
	size_t rlen, plen;

	ck_assert_ptr_nonnull(o);
	rec = hexf(o, "record", &rlen);
	pt = hexf(o, "plaintext", &plen);
	buf = calloc(1, plen + TLSREC_OVERHEAD);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf + TLSREC_HDR, pt, plen);
	d->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	ck_assert_int_eq(tlsrec_seal(d, type, buf, plen), (int)rlen);
	ck_assert(memcmp(buf, rec, rlen) == 0);
	free(rec);
	free(pt);
	free(buf);
}

START_TEST(test_keys)
{
	struct tlsrec_dir c = { 0 }, s = { 0 };
	uint8_t *k;
	size_t n;

	dir_from(&c, "client_application_traffic_secret");
	dir_from(&s, "server_application_traffic_secret");
	k = hexf(NULL, "client_app_key", &n);
	ck_assert_uint_eq(n, c.key_len);
	ck_assert(memcmp(k, c.key, n) == 0);
	free(k);
	k = hexf(NULL, "client_app_iv", &n);
	ck_assert(n == TLSREC_IV && memcmp(k, c.iv, n) == 0);
	free(k);
	k = hexf(NULL, "server_app_key", &n);
	ck_assert(n == s.key_len && memcmp(k, s.key, n) == 0);
	free(k);
	k = hexf(NULL, "server_app_iv", &n);
	ck_assert(n == TLSREC_IV && memcmp(k, s.iv, n) == 0);
	free(k);
	ck_assert_uint_eq(c.seq, 0);
	ck_assert_uint_ne(c.gen, s.gen);
	tlsrec_wipe(&c);
	tlsrec_wipe(&s);
}
END_TEST

START_TEST(test_rfc8448_records)
{
	struct tlsrec_dir c = { 0 }, s = { 0 };

	dir_from(&c, "client_application_traffic_secret");
	dir_from(&s, "server_application_traffic_secret");
	/* the server's ticket (seq 0) and data (seq 1), read by the client */
	open_vector(&s, "server_new_session_ticket", TLSREC_HANDSHAKE,
	    "plaintext_handshake_message");
	open_vector(&s, "server_app_data", TLSREC_APPDATA, "plaintext");
	open_vector(&s, "server_alert", TLSREC_ALERT, "plaintext");
	ck_assert_uint_eq(s.seq, 3);
	/* the client's records, sealed byte for byte */
	seal_vector(&c, "client_app_data", TLSREC_APPDATA);
	seal_vector(&c, "client_alert", TLSREC_ALERT);
	ck_assert_uint_eq(c.seq, 2);
	/* and opened by the server */
	dir_from(&c, "client_application_traffic_secret");
	open_vector(&c, "client_app_data", TLSREC_APPDATA, "plaintext");
	open_vector(&c, "client_alert", TLSREC_ALERT, "plaintext");
	tlsrec_wipe(&c);
	tlsrec_wipe(&s);
}
END_TEST

/* A flipped bit anywhere, or the wrong sequence number, fails. */
START_TEST(test_tampered)
{
	const json_t *o;
	struct tlsrec_dir s = { 0 };
	uint8_t *rec, type;
	size_t rlen, i;

	dir_from(&s, "server_application_traffic_secret");
	o = json_object_get(V, "server_app_data");
	rec = hexf(o, "record", &rlen);
	for (i = 0; i < rlen; i += 7) {
		uint8_t *copy = malloc(rlen);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, rec, rlen);
		copy[i] ^= 0x40;
		s.seq = 1;
		ck_assert_int_eq(tlsrec_open(&s, copy, copy + TLSREC_HDR,
		    rlen - TLSREC_HDR, &type), -1);
		ck_assert_uint_eq(s.seq, 1);	/* no progress on failure */
		free(copy);
	}
	s.seq = 2;			/* replayed or reordered */
	ck_assert_int_eq(tlsrec_open(&s, rec, rec + TLSREC_HDR,
	    rlen - TLSREC_HDR, &type), -1);
	free(rec);
	tlsrec_wipe(&s);
}
END_TEST

START_TEST(test_headers)
{
	static const uint8_t ok[5] = { 23, 3, 3, 0x40, 0x11 };
	static const uint8_t bad[][5] = {
		{ 22, 3, 3, 0, 40 },	/* plaintext handshake */
		{ 21, 3, 3, 0, 2 },	/* plaintext alert */
		{ 23, 3, 1, 0, 40 },	/* version */
		{ 23, 3, 3, 0, 16 },	/* shorter than a tag + type */
		{ 23, 3, 3, 0x41, 0x01 },	/* 16641 > 2^14 + 256 */
	};
	size_t i;

	ck_assert_int_eq(tlsrec_body_len(ok), 16401);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(tlsrec_body_len(bad[i]), -1);
}
END_TEST

/* Seal with a, open with b; both directions start from one secret. */
static void
roundtrip(struct tlsrec_dir *a, struct tlsrec_dir *b, size_t len,
    uint8_t pad)
{
	uint8_t *buf = malloc(len + TLSREC_OVERHEAD + pad), type = 0;
	size_t i;
	int r;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < len; i++)
		buf[TLSREC_HDR + i] = (uint8_t)(i * 7 + 1);
	r = tlsrec_seal(a, TLSREC_APPDATA, buf, len);
	ck_assert_int_eq(r, (int)(len + TLSREC_OVERHEAD));
	r = tlsrec_open(b, buf, buf + TLSREC_HDR, len + 1 + TLSREC_TAG, &type);
	ck_assert_int_eq(r, (int)len);
	ck_assert_uint_eq(type, TLSREC_APPDATA);
	for (i = 0; i < len; i++)
		ck_assert_uint_eq(buf[TLSREC_HDR + i], (uint8_t)(i * 7 + 1));
	free(buf);
}

static const enum tlsrec_suite suites[] = {
	TLSREC_AES_128_GCM_SHA256, TLSREC_AES_256_GCM_SHA384,
	TLSREC_CHACHA20_POLY1305_SHA256
};

/* Every suite: round trips, sizes up to 2^14, key updates in step. */
START_TEST(test_suites_and_updates)
{
	enum tlsrec_suite suite = suites[_i];
	struct tlsrec_dir a = { 0 }, b = { 0 };
	uint8_t secret[TLSREC_SECRET_MAX], old[32], buf[64], type;
	size_t hl = tlsrec_hash_len(suite);

	memset(secret, 0x5a, sizeof(secret));
	ck_assert_int_eq(tlsrec_init(&a, suite, secret, hl - 1), -1);
	ck_assert_int_eq(tlsrec_init(&a, suite, secret, hl), 0);
	ck_assert_int_eq(tlsrec_init(&b, suite, secret, hl), 0);
	roundtrip(&a, &b, 0, 0);
	roundtrip(&a, &b, 1, 0);
	roundtrip(&a, &b, TLSREC_MAX_PLAINTEXT, 0);
	memcpy(old, a.key, sizeof(old));
	ck_assert_int_eq(tlsrec_update(&a), 0);
	ck_assert(memcmp(old, a.key, a.key_len) != 0);
	ck_assert_uint_eq(a.seq, 0);
	/* b still on the old key: the record does not open */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(tlsrec_seal(&a, TLSREC_APPDATA, buf, 3), 25);
	ck_assert_int_eq(tlsrec_open(&b, buf, buf + TLSREC_HDR, 20, &type), -1);
	ck_assert_int_eq(tlsrec_update(&b), 0);
	b.seq = 0;
	ck_assert_int_eq(tlsrec_init(&a, suite, secret, hl), 0);
	ck_assert_int_eq(tlsrec_update(&a), 0);
	roundtrip(&a, &b, 100, 0);
	ck_assert_int_eq(tlsrec_seal(&a, TLSREC_APPDATA, buf,
	    TLSREC_MAX_SEAL + 1), -1);
	tlsrec_wipe(&a);
	tlsrec_wipe(&b);
}
END_TEST

/*
 * RFC 8446 5.4: the inner plaintext (content, type, padding) is 2^14 + 1
 * bytes at most, whatever part of it is padding: one byte over is
 * TLSREC_E_OVERFLOW, not an authentication failure.
 */
START_TEST(test_inner_limit)
{
	static const struct { size_t content, pad; int want; } t[] = {
		{ 16384, 0, 16384 },
		{ 16383, 1, 16383 },
		{ 16384, 1, TLSREC_E_OVERFLOW },
		{ 16383, 2, TLSREC_E_OVERFLOW },
		{ 16385, 0, TLSREC_E_OVERFLOW },
		{ 0, 16384, 0 },
		{ 0, 16385, TLSREC_E_OVERFLOW },
	};
	struct tlsrec_dir a = { 0 }, b = { 0 };
	uint8_t secret[32], *buf, type = 0;
	size_t i, len;

	buf = malloc(TLSREC_MAX_SEAL + TLSREC_OVERHEAD);
	ck_assert_ptr_nonnull(buf);
	memset(secret, 9, sizeof(secret));
	tlsrec_init(&a, TLSREC_AES_128_GCM_SHA256, secret, 32);
	tlsrec_init(&b, TLSREC_AES_128_GCM_SHA256, secret, 32);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* content | type 23 | padding; seal adds the last byte */
		len = t[i].content + 1 + t[i].pad;
		memset(buf + TLSREC_HDR, 'x', t[i].content);
		buf[TLSREC_HDR + t[i].content] = TLSREC_APPDATA;
		memset(buf + TLSREC_HDR + t[i].content + 1, 0, t[i].pad);
		ck_assert_int_eq(tlsrec_seal(&a, t[i].pad ? 0 : TLSREC_APPDATA,
		    buf, len - 1),
		    (int)(len - 1 + TLSREC_OVERHEAD));
		ck_assert_msg(tlsrec_open(&b, buf, buf + TLSREC_HDR, len +
		    TLSREC_TAG, &type) == t[i].want, "case %zu", i);
	}
	tlsrec_wipe(&a);
	tlsrec_wipe(&b);
	free(buf);
}
END_TEST

/* Padding after the inner type is removed; all-zero content fails. */
START_TEST(test_padding)
{
	struct tlsrec_dir a = { 0 }, b = { 0 };
	uint8_t secret[32], buf[64], type = 0;

	memset(secret, 7, sizeof(secret));
	tlsrec_init(&a, TLSREC_CHACHA20_POLY1305_SHA256, secret, 32);
	tlsrec_init(&b, TLSREC_CHACHA20_POLY1305_SHA256, secret, 32);
	/* "hi" | type 23 | 3 zero bytes, sealed as 6 bytes of type 0 */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + TLSREC_HDR, "hi\x17\0\0", 5);
	ck_assert_int_eq(tlsrec_seal(&a, 0, buf, 5), 5 + TLSREC_OVERHEAD);
	ck_assert_int_eq(tlsrec_open(&b, buf, buf + TLSREC_HDR, 5 + 17, &type),
	    2);
	ck_assert_uint_eq(type, TLSREC_APPDATA);
	ck_assert(memcmp(buf + TLSREC_HDR, "hi", 2) == 0);
	/* nothing but zeros: no content type */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(tlsrec_seal(&a, 0, buf, 4), 4 + TLSREC_OVERHEAD);
	ck_assert_int_eq(tlsrec_open(&b, buf, buf + TLSREC_HDR, 4 + 17, &type),
	    TLSREC_E_NOTYPE);
	tlsrec_wipe(&a);
	tlsrec_wipe(&b);
}
END_TEST

START_TEST(test_suite_names)
{
	enum tlsrec_suite s;

	ck_assert_int_eq(tlsrec_suite_from_name("TLS13-AES128-GCM-SHA256", &s),
	    0);
	ck_assert_int_eq(s, TLSREC_AES_128_GCM_SHA256);
	ck_assert_int_eq(tlsrec_suite_from_name("TLS_AES_256_GCM_SHA384", &s),
	    0);
	ck_assert_int_eq(s, TLSREC_AES_256_GCM_SHA384);
	ck_assert_int_eq(tlsrec_suite_from_name(
	    "TLS13-CHACHA20-POLY1305-SHA256", &s), 0);
	ck_assert_int_eq(s, TLSREC_CHACHA20_POLY1305_SHA256);
	ck_assert_int_eq(tlsrec_suite_from_name("TLS13-AES128-CCM-SHA256",
	    &s), -1);
	ck_assert_int_eq(tlsrec_suite_from_name(NULL, &s), -1);
	ck_assert_uint_eq(tlsrec_hash_len(TLSREC_AES_256_GCM_SHA384), 48);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tlsrec");
	TCase *tc = tcase_create("records");
	int failed;

	V = vec_load("rfc8448-records.json");
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_rfc8448_records);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_headers);
	tcase_add_loop_test(tc, test_suites_and_updates, 0,
	    (int)(sizeof(suites) / sizeof(suites[0])));
	tcase_add_test(tc, test_padding);
	tcase_add_test(tc, test_inner_limit);
	tcase_add_test(tc, test_suite_names);
	suite_add_tcase(s, tc);
	failed = vec_run(s);
	json_decref(V);
	return failed;
}
