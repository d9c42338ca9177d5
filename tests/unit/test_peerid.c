/*
 * test_peerid.c - peer IDs: spec key vectors, spec string examples,
 * base58btc/base32 codecs, round trips and a rejection table.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peerid.h"
#include "vec.h"

/* Decode hex or fail the test. */
static uint8_t *
hex_or_die(const char *hex, size_t *len)
{
	uint8_t *b;

	ck_assert_ptr_nonnull(hex);
	b = vec_hex(hex, len);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* Lower-case hex of a peer ID's multihash (caller frees). */
static char *
id_hex(const struct peer_id *id)
{
	char *h = vec_tohex(id->mh, id->len);

	ck_assert_ptr_nonnull(h);
	return h;
}

/* Every spec public key -> exact multihash, base58btc and CID strings. */
START_TEST(test_key_vectors)
{
	json_t *v = vec_load("peer-id-vectors.json");
	json_t *keys = json_object_get(v, "keys");
	json_t *ids = json_object_get(v, "derived_peer_ids_NOT_IN_SPEC");
	const char *name;
	json_t *exp;
	int n = 0;

	ck_assert_ptr_nonnull(keys);
	ck_assert_ptr_nonnull(ids);
	json_object_foreach(ids, name, exp) {
		struct peer_id id, p58, pcid;
		char s58[PEER_ID_STR_MAX], scid[PEER_ID_STR_MAX], *h;
		size_t len;
		uint8_t *pk = hex_or_die(json_string_value(
		    json_object_get(keys, name)), &len);

		ck_assert_int_eq(peer_id_from_pubkey_pb(pk, len, &id), 0);
		h = id_hex(&id);
		ck_assert_str_eq(h, vec_str(exp, "multihash_hex"));
		ck_assert_ptr_eq(peer_id_to_string(&id, s58, sizeof(s58)),
		    s58);
		ck_assert_str_eq(s58, vec_str(exp, "base58btc"));
		ck_assert_ptr_eq(peer_id_to_cid(&id, scid, sizeof(scid)),
		    scid);
		ck_assert_str_eq(scid, vec_str(exp, "cidv1_base32"));
		ck_assert_int_eq(peer_id_parse(s58, &p58), 0);
		ck_assert_int_eq(peer_id_parse(scid, &pcid), 0);
		ck_assert(peer_id_equal(&id, &p58));
		ck_assert(peer_id_equal(&id, &pcid));
		free(h);
		free(pk);
		n++;
	}
	ck_assert_int_eq(n, 4);
	json_decref(v);
}
END_TEST

/* The spec's printed strings decode to the stated multihash bytes. */
START_TEST(test_spec_strings)
{
	json_t *v = vec_load("peer-id-vectors.json");
	json_t *ex = json_object_get(v, "spec_string_examples");
	const char *str, *other;
	json_t *exp;
	int n = 0;

	ck_assert_ptr_nonnull(ex);
	json_object_foreach(ex, str, exp) {
		struct peer_id id, id2;
		char buf[PEER_ID_STR_MAX], *h;

		ck_assert_int_eq(peer_id_parse(str, &id), 0);
		h = id_hex(&id);
		ck_assert_str_eq(h, vec_str(exp, "multihash_hex"));
		free(h);
		if ((other = vec_str(exp, "cidv1_base32")) != NULL) {
			ck_assert_int_eq(peer_id_parse(other, &id2), 0);
			ck_assert(peer_id_equal(&id, &id2));
			ck_assert_str_eq(peer_id_to_cid(&id, buf,
			    sizeof(buf)), other);
			ck_assert_str_eq(peer_id_to_string(&id, buf,
			    sizeof(buf)), str);
		}
		if ((other = vec_str(exp, "base58btc")) != NULL) {
			ck_assert_int_eq(peer_id_parse(other, &id2), 0);
			ck_assert(peer_id_equal(&id, &id2));
			ck_assert_str_eq(peer_id_to_string(&id, buf,
			    sizeof(buf)), other);
			ck_assert_str_eq(peer_id_to_cid(&id, buf,
			    sizeof(buf)), str);
		}
		n++;
	}
	ck_assert_int_eq(n, 3);
	json_decref(v);
}
END_TEST

/* Known base58btc / base32 encodings (bitcoin and RFC 4648 examples). */
START_TEST(test_codec_known)
{
	static const struct {
		const char *hex, *b58, *b32;
	} t[] = {
		{ "", "", "" },
		{ "00", "1", "aa" },
		{ "0000", "11", "aaaa" },
		{ "61", "2g", "me" },
		{ "626262", "a3gV", "mjrge" },
		{ "666f6f626172", "t1Zv2yaZ", "mzxw6ytboi" },
		{ "00000000000000000000", "1111111111",
		    "aaaaaaaaaaaaaaaa" },
		{ "0000287fb4cd", "11233QC4", "aaacq75uzu" },
		{ "516b6fcd0f", "ABnLTmg", "kfvw7tip" },
		{ "ffffffff", "7YXq9G", "777777y" },
	};
	char out[64];
	uint8_t back[64], *b;
	size_t i, len, blen;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = vec_hex(t[i].hex, &len);
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(base58btc_encode(b, len, out, sizeof(out)),
		    0);
		ck_assert_str_eq(out, t[i].b58);
		ck_assert_int_eq(base58btc_decode(t[i].b58, back,
		    sizeof(back), &blen), 0);
		ck_assert_uint_eq(blen, len);
		ck_assert(len == 0 || memcmp(back, b, len) == 0);
		ck_assert_int_eq(base32_encode(b, len, out, sizeof(out)), 0);
		ck_assert_str_eq(out, t[i].b32);
		ck_assert_int_eq(base32_decode(t[i].b32, back, sizeof(back),
		    &blen), 0);
		ck_assert_uint_eq(blen, len);
		ck_assert(len == 0 || memcmp(back, b, len) == 0);
		free(b);
	}
}
END_TEST

/* Encoders and decoders refuse to overrun small buffers. */
START_TEST(test_codec_caps)
{
	static const uint8_t in[4] = { 0, 1, 2, 3 };
	char out[16];
	uint8_t back[2];
	size_t blen;

	/* "1Ldp" needs 5 bytes with the NUL. */
	ck_assert_int_eq(base58btc_encode(in, 4, out, 4), -1);
	ck_assert_int_eq(base58btc_encode(in, 4, out, 5), 0);
	ck_assert_str_eq(out, "1Ldp");
	ck_assert_int_eq(base58btc_decode("1Ldp", back, 2, &blen), -1);
	ck_assert_int_eq(base58btc_decode("111", back, 2, &blen), -1);
	/* 4 bytes -> 7 base32 chars + NUL. */
	ck_assert_int_eq(base32_encode(in, 4, out, 7), -1);
	ck_assert_int_eq(base32_encode(in, 4, out, 8), 0);
	ck_assert_int_eq(base32_decode(out, back, 2, &blen), -1);
}
END_TEST

/* Strict base32: padding, uppercase, bad lengths, dirty trailing bits. */
START_TEST(test_base32_strict)
{
	static const char *bad[] = {
		"me======", "ME", "m", "mzx", "mzxw6y", "mf", "mzxw6ytbo0",
		"mzxw6ytboj", "a b", "1a",
	};
	uint8_t out[16];
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base32_decode(bad[i], out, sizeof(out),
		    &len) == -1, "accepted %s", bad[i]);
}
END_TEST

/* Random byte strings survive base58btc and base32 round trips. */
START_TEST(test_codec_roundtrip)
{
	uint8_t in[64], back[64];
	char s[128];
	size_t len, blen, z;
	int i;

	for (i = 0; i < 300; i++) {
		len = randombytes_uniform(sizeof(in) + 1);
		randombytes_buf(in, len);
		/* Some leading zero bytes, to exercise the '1' prefix. */
		z = len > 0 ? randombytes_uniform(4) : 0;
		memset(in, 0, z < len ? z : len);
		ck_assert_int_eq(base58btc_encode(in, len, s, sizeof(s)), 0);
		ck_assert_int_eq(base58btc_decode(s, back, sizeof(back),
		    &blen), 0);
		ck_assert_uint_eq(blen, len);
		ck_assert(len == 0 || memcmp(in, back, len) == 0);
		ck_assert_int_eq(base32_encode(in, len, s, sizeof(s)), 0);
		ck_assert_int_eq(base32_decode(s, back, sizeof(back),
		    &blen), 0);
		ck_assert_uint_eq(blen, len);
		ck_assert(len == 0 || memcmp(in, back, len) == 0);
	}
}
END_TEST

/* Random identity and sha2-256 IDs round trip through both text forms. */
START_TEST(test_peer_roundtrip)
{
	uint8_t mh[PEER_ID_MAX];
	struct peer_id id, a, b;
	char s58[PEER_ID_STR_MAX], scid[PEER_ID_STR_MAX];
	size_t dlen;
	int i;

	for (i = 0; i < 200; i++) {
		if (i % 2 == 0) {
			dlen = 1 + randombytes_uniform(42);
			mh[0] = 0x00;
		} else {
			dlen = 32;
			mh[0] = 0x12;
		}
		mh[1] = (uint8_t)dlen;
		randombytes_buf(mh + 2, dlen);
		ck_assert_int_eq(peer_id_from_bytes(mh, dlen + 2, &id), 0);
		ck_assert_ptr_nonnull(peer_id_to_string(&id, s58,
		    sizeof(s58)));
		ck_assert_ptr_nonnull(peer_id_to_cid(&id, scid,
		    sizeof(scid)));
		ck_assert_int_eq(peer_id_parse(s58, &a), 0);
		ck_assert_int_eq(peer_id_parse(scid, &b), 0);
		ck_assert(peer_id_equal(&id, &a));
		ck_assert(peer_id_equal(&a, &b));
		ck_assert(s58[0] == (i % 2 == 0 ? '1' : 'Q'));
		ck_assert(scid[0] == 'b');
	}
}
END_TEST

/* Equality is exact multihash equality. */
START_TEST(test_equal)
{
	struct peer_id a, b, c;

	ck_assert_int_eq(peer_id_parse(
	    "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", &a), 0);
	ck_assert_int_eq(peer_id_parse(
	    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
	    &b), 0);
	ck_assert_int_eq(peer_id_parse(
	    "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", &c), 0);
	ck_assert(peer_id_equal(&a, &b));
	ck_assert(!peer_id_equal(&a, &c));
	b.mh[b.len - 1] ^= 1;
	ck_assert(!peer_id_equal(&a, &b));
	ck_assert(!peer_id_equal(&a, NULL));
}
END_TEST

/* Encode bytes as "b" || base32, for building bad CIDs. */
static void
make_cid(const char *hex, char *out, size_t cap)
{
	size_t len;
	uint8_t *b = hex_or_die(hex, &len);

	ck_assert(cap > 1);
	out[0] = 'b';
	ck_assert_int_eq(base32_encode(b, len, out + 1, cap - 1), 0);
	free(b);
}

/* Encode bytes as base58btc, for building bad multihashes. */
static void
make_b58(const char *hex, char *out, size_t cap)
{
	size_t len;
	uint8_t *b = hex_or_die(hex, &len);

	ck_assert_int_eq(base58btc_encode(b, len, out, cap), 0);
	free(b);
}

#define D32 \
    "9dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9"
#define K36 "080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4" \
    "df38dc613ea859c37eb1336b"

/* Text that must never parse. */
START_TEST(test_reject_strings)
{
	static const char *bad[] = {
		"",
		"1",
		"Q",
		"Qm",
		"b",
		"z",
		/* bad base58 alphabet: 0 O I l */
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0",
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pO",
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pI",
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pl",
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p ",
		/* truncated / extended */
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p",
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pqq",
		"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",
		"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5NN",
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx",
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xq",
		/* multibase forms we do not accept */
		"BAFZBEIE5745RPV2M6TJYUUGYWY4D5EWRQGQQHFNF445HE3OMZPJBX5XQXE",
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe=",
		"zQmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		"/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		" QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		/* dirty trailing bits in the last base32 character */
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxf",
		"\xff\xfe",
	};
	struct peer_id id;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(peer_id_parse(bad[i], &id) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(peer_id_parse(NULL, &id), -1);
}
END_TEST

/* Well-formed encodings of bad content must be rejected too. */
START_TEST(test_reject_built)
{
	static const struct {
		int cid;
		const char *hex;
	} t[] = {
		{ 1, "0170" "1220" D32 },		/* codec dag-pb */
		{ 1, "0155" "1220" D32 },		/* codec raw */
		{ 1, "0272" "1220" D32 },		/* CIDv2 */
		{ 1, "1220" D32 },			/* CIDv0 bytes */
		{ 1, "00" "72" "1220" D32 },		/* version 0 */
		{ 1, "81007212" "20" D32 },		/* non-minimal vers */
		{ 1, "01f200" "1220" D32 },		/* non-minimal codec */
		{ 1, "0172" },				/* no multihash */
		{ 1, "0172" "1220" },			/* empty digest */
		{ 1, "0172" "1221" D32 "00" },		/* digest len 33 */
		{ 1, "0172" "1220" D32 "00" },		/* trailing byte */
		{ 1, "0172" "1320" D32 },		/* sha2-512 code */
		{ 1, "0172" "0000" },			/* empty identity */
		{ 1, "0172" "0025" K36 },		/* identity/len skew */
		{ 1, "0172" "0024" K36 "00" },		/* trailing byte */
		{ 0, "1220" D32 "00" },			/* trailing byte */
		{ 0, "1221" D32 "00" },			/* wrong digest len */
		{ 0, "1210" "9dff3b17d74cf4d38a50d8b6383e92d1" },
		{ 0, "0000" },				/* empty identity */
		{ 0, "0023" K36 },			/* len too small */
		{ 0, "0025" K36 },			/* len too large */
		{ 0, "008024" K36 },			/* non-minimal len */
		/* identity digest of 43 bytes: never inlined */
		{ 0, "002b" K36 "01020304050607" },
	};
	char s[PEER_ID_STR_MAX];
	struct peer_id id;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].cid)
			make_cid(t[i].hex, s, sizeof(s));
		else
			make_b58(t[i].hex, s, sizeof(s));
		ck_assert_msg(peer_id_parse(s, &id) == -1,
		    "accepted %s (%s)", s, t[i].hex);
	}
}
END_TEST

/* peer_id_from_bytes validates the multihash. */
START_TEST(test_from_bytes)
{
	static const uint8_t ok_sha[34] = { 0x12, 0x20 };
	static const uint8_t ok_id[3] = { 0x00, 0x01, 0x08 };
	uint8_t big[PEER_ID_MAX + 1];
	struct peer_id id;

	ck_assert_int_eq(peer_id_from_bytes(ok_sha, sizeof(ok_sha), &id), 0);
	ck_assert_int_eq(peer_id_from_bytes(ok_id, sizeof(ok_id), &id), 0);
	ck_assert_int_eq(peer_id_from_bytes(ok_sha, 33, &id), -1);
	ck_assert_int_eq(peer_id_from_bytes(ok_sha, 1, &id), -1);
	ck_assert_int_eq(peer_id_from_bytes(ok_sha, 0, &id), -1);
	ck_assert_int_eq(peer_id_from_bytes(NULL, 34, &id), -1);
	memset(big, 0, sizeof(big));
	big[1] = PEER_ID_MAX - 1;
	ck_assert_int_eq(peer_id_from_bytes(big, sizeof(big), &id), -1);
}
END_TEST

/* Absurdly long and random inputs are rejected without crashing. */
START_TEST(test_reject_long_and_random)
{
	char s[4096];
	struct peer_id id;
	size_t len;
	int i;

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	s[0] = 'Q';
	s[1] = 'm';
	ck_assert_int_eq(peer_id_parse(s, &id), -1);
	s[0] = 'b';
	ck_assert_int_eq(peer_id_parse(s, &id), -1);
	memset(s, '1', sizeof(s) - 1);
	ck_assert_int_eq(peer_id_parse(s, &id), -1);
	/* Exactly PEER_ID_STR_MAX - 1 chars is still far too long. */
	s[PEER_ID_STR_MAX - 1] = '\0';
	ck_assert_int_eq(peer_id_parse(s, &id), -1);
	for (i = 0; i < 2000; i++) {
		len = 1 + randombytes_uniform(80);
		randombytes_buf(s, len);
		s[len] = '\0';
		/* Steer half of them into each decoder. */
		if (i % 3 == 0)
			s[0] = '1';
		else if (i % 3 == 1)
			s[0] = 'b';
		(void)peer_id_parse(s, &id);
	}
	/* A valid ID with the valid alphabet but random content. */
	for (i = 0; i < 2000; i++) {
		len = 1 + randombytes_uniform(60);
		for (size_t j = 0; j < len; j++)
			s[j] = "abcdefghijklmnopqrstuvwxyz234567"
			    [randombytes_uniform(32)];
		s[0] = 'b';
		s[len] = '\0';
		if (peer_id_parse(s, &id) == 0)
			ck_assert(id.len <= PEER_ID_MAX);
	}
}
END_TEST

/* Text output needs room: small buffers yield NULL, not overflow. */
START_TEST(test_output_caps)
{
	struct peer_id id;
	char buf[PEER_ID_STR_MAX];

	ck_assert_int_eq(peer_id_parse(
	    "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", &id), 0);
	ck_assert_ptr_null(peer_id_to_string(&id, buf, 52));
	ck_assert_ptr_eq(peer_id_to_string(&id, buf, 53), buf);
	ck_assert_ptr_null(peer_id_to_cid(&id, buf, 10));
	ck_assert_ptr_null(peer_id_to_cid(&id, buf, 1));
	ck_assert_ptr_eq(peer_id_to_cid(&id, buf, sizeof(buf)), buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("peerid");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, test_key_vectors);
	tcase_add_test(tc, test_spec_strings);
	tcase_add_test(tc, test_codec_known);
	tcase_add_test(tc, test_codec_caps);
	tcase_add_test(tc, test_base32_strict);
	tcase_add_test(tc, test_codec_roundtrip);
	tcase_add_test(tc, test_peer_roundtrip);
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_reject_strings);
	tcase_add_test(tc, test_reject_built);
	tcase_add_test(tc, test_from_bytes);
	tcase_add_test(tc, test_reject_long_and_random);
	tcase_add_test(tc, test_output_caps);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
