/* test_tlscert.c - libp2p TLS certificates: vectors, generation, tampering. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "peerid.h"
#include "tlscert.h"
#include "vec.h"

static const enum key_type all_types[] = {
	KEY_ED25519, KEY_ECDSA, KEY_SECP256K1, KEY_RSA
};

/* Verify one DER certificate at now; returns tlscert_verify's result. */
static int
verify1(const uint8_t *der, size_t len, time_t now, struct pubkey **pk,
    char *err, size_t errlen)
{
	const uint8_t *certs[1] = { der };
	size_t lens[1] = { len };

	return tlscert_verify(certs, lens, 1, now, pk, err, errlen);
}

/* Peer ID text of a key. */
static void
key_id_text(const struct pubkey *k, char *buf, size_t cap)
{
	peer_id_to_string(pubkey_peer_id(k), buf, cap);
}

START_TEST(test_vectors)
{
	json_t *root = vec_load("tls-vectors.json");
	json_t *v = json_array_get(json_object_get(root, "vectors"), _i);
	const char *hex = vec_str(v, "certificate_der_hex");
	const char *want = vec_str(v, "expected_peer_id");
	bool valid = json_is_true(json_object_get(v, "expected_valid"));
	struct pubkey *pk = NULL;
	char err[256] = "", id[PEER_ID_STR_MAX];
	uint8_t *der;
	size_t len;
	int r;

	ck_assert_ptr_nonnull(v);
	der = vec_hex(hex, &len);
	ck_assert_ptr_nonnull(der);
	r = verify1(der, len, time(NULL), &pk, err, sizeof(err));
	if (valid) {
		ck_assert_msg(r == 0, "%s: %s", vec_str(v, "name"), err);
		key_id_text(pk, id, sizeof(id));
		ck_assert_str_eq(id, want);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_null(pk);
		ck_assert_str_eq(err,
		    "tls: certificate extension signature invalid");
	}
	pubkey_free(pk);
	free(der);
	json_decref(root);
}
END_TEST

/* The vectors are valid from 1975 to 4096 only. */
START_TEST(test_vector_validity_window)
{
	json_t *root = vec_load("tls-vectors.json");
	json_t *v = json_array_get(json_object_get(root, "vectors"), 0);
	struct pubkey *pk = NULL;
	char err[256];
	uint8_t *der;
	size_t len;

	der = vec_hex(vec_str(v, "certificate_der_hex"), &len);
	/* 1975-01-01T12:59:59Z */
	ck_assert_int_eq(verify1(der, len, 157813199, &pk, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "tls: certificate not yet valid "
	    "(notBefore 1975-01-01T13:00:00Z)");
	ck_assert_int_eq(verify1(der, len, 157813200, &pk, err, sizeof(err)),
	    0);
	pubkey_free(pk);
	free(der);
	json_decref(root);
}
END_TEST

START_TEST(test_generated_each_key_type)
{
	struct identity *id = identity_generate(all_types[_i]);
	struct pubkey *pk = NULL;
	uint8_t *cert, *key;
	size_t certlen, keylen;
	char err[256] = "";

	ck_assert_msg(id != NULL, "identity_generate(%s)",
	    key_type_name(all_types[_i]));
	ck_assert_int_eq(tlscert_generate(id, &cert, &certlen, &key,
	    &keylen), 0);
	ck_assert_msg(verify1(cert, certlen, time(NULL), &pk, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert(peer_id_equal(pubkey_peer_id(pk), identity_peer_id(id)));
	ck_assert_int_eq(pubkey_type(pk), all_types[_i]);
	/* the libp2p extension is the first one: right after [3] SEQ */
	ck_assert_ptr_nonnull(memmem(cert, certlen,
	    "\x06\x0a\x2b\x06\x01\x04\x01\x83\xa2\x5a\x01\x01", 12));
	pubkey_free(pk);
	free(cert);
	tlscert_free_key(key, keylen);
	identity_free(id);
}
END_TEST

/* A tampering case: builder knobs, verification time, expected error. */
struct tamper {
	const char *name;
	struct tlscert_params p;
	long dt;		/* verify at now + dt */
	const char *err;	/* NULL = must verify; else error prefix */
};

START_TEST(test_tampered)
{
	static const struct tamper cases[] = {
		{ "default", { .now = 0 }, 0, NULL },
		{ "libp2p ext critical", { .libp2p_critical = true }, 0,
		    NULL },
		{ "extra non-critical ext", { .extra_noncritical_ext = true },
		    0, NULL },
		{ "expired", { .now = 0 }, 2L * 365 * 86400,
		    "tls: certificate expired (notAfter " },
		{ "not yet valid", { .now = 0 }, -2 * 3600,
		    "tls: certificate not yet valid (notBefore " },
		{ "missing ext", { .omit_libp2p_ext = true }, 0,
		    "tls: certificate has no libp2p public key extension" },
		{ "unknown critical ext", { .extra_critical_ext = true }, 0,
		    "tls: unknown critical extension 1.2.3.4" },
		{ "duplicate ext", { .duplicate_libp2p_ext = true }, 0,
		    "tls: duplicate libp2p public key extension" },
		{ "bad public key", { .corrupt_pubkey = true }, 0,
		    "tls: bad libp2p public key: " },
		{ "wrong signer", { .ext_signer = NULL }, 0,
		    "tls: certificate extension signature invalid" },
	};
	const struct tamper *tc = &cases[_i];
	struct tlscert_params p = tc->p;
	struct identity *id = identity_generate(KEY_ED25519);
	struct identity *other = identity_generate(KEY_ED25519);
	struct pubkey *pk = NULL;
	uint8_t *cert, *key;
	size_t certlen, keylen;
	char err[256] = "";
	time_t now = time(NULL);
	int r;

	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_nonnull(other);
	p.now = now;
	if (strcmp(tc->name, "wrong signer") == 0)
		p.ext_signer = other;
	ck_assert_int_eq(tlscert_build(id, &p, &cert, &certlen, &key,
	    &keylen), 0);
	r = verify1(cert, certlen, now + tc->dt, &pk, err, sizeof(err));
	if (tc->err == NULL) {
		ck_assert_msg(r == 0, "%s: %s", tc->name, err);
		ck_assert(peer_id_equal(pubkey_peer_id(pk),
		    identity_peer_id(id)));
	} else {
		ck_assert_msg(r == -1, "%s accepted", tc->name);
		ck_assert_ptr_null(pk);
		ck_assert_msg(strncmp(err, tc->err, strlen(tc->err)) == 0,
		    "%s: got \"%s\"", tc->name, err);
	}
	pubkey_free(pk);
	free(cert);
	tlscert_free_key(key, keylen);
	identity_free(other);
	identity_free(id);
}
END_TEST

/* Explicit validity outside 1950..2049 uses GeneralizedTime both ways. */
START_TEST(test_generalized_time)
{
	struct tlscert_params p = { .set_validity = true };
	struct identity *id = identity_generate(KEY_ED25519);
	struct pubkey *pk = NULL;
	uint8_t *cert, *key;
	size_t certlen, keylen;
	char err[256] = "";

	p.not_before = -946771200;	/* 1940-01-01T00:00:00Z */
	p.not_after = 4102444800 + 86399;	/* 2100-01-01T23:59:59Z */
	ck_assert_int_eq(tlscert_build(id, &p, &cert, &certlen, &key,
	    &keylen), 0);
	ck_assert_ptr_nonnull(memmem(cert, certlen, "19400101000000Z", 15));
	ck_assert_ptr_nonnull(memmem(cert, certlen, "21000101235959Z", 15));
	ck_assert_int_eq(verify1(cert, certlen, time(NULL), &pk, err,
	    sizeof(err)), 0);
	pubkey_free(pk);
	ck_assert_int_eq(verify1(cert, certlen, p.not_after + 1, &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "tls: certificate expired (notAfter 2100-01-01T23:59:59Z)");
	ck_assert_int_eq(verify1(cert, certlen, p.not_before - 1, &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "tls: certificate not yet valid (notBefore 1940-01-01T00:00:00Z)");
	free(cert);
	tlscert_free_key(key, keylen);
	identity_free(id);
}
END_TEST

/* Fixture: one generated Ed25519 certificate. */
static struct identity *fx_id;
static uint8_t *fx_cert, *fx_key;
static size_t fx_certlen, fx_keylen;

static void
fx_setup(void)
{
	fx_id = identity_generate(KEY_ED25519);
	ck_assert_ptr_nonnull(fx_id);
	ck_assert_int_eq(tlscert_generate(fx_id, &fx_cert, &fx_certlen,
	    &fx_key, &fx_keylen), 0);
}

static void
fx_teardown(void)
{
	free(fx_cert);
	tlscert_free_key(fx_key, fx_keylen);
	identity_free(fx_id);
}

START_TEST(test_flipped_self_signature)
{
	struct pubkey *pk = NULL;
	char err[256];

	fx_cert[fx_certlen - 1] ^= 0x01;	/* last byte of ECDSA s */
	ck_assert_int_eq(verify1(fx_cert, fx_certlen, time(NULL), &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "tls: certificate self-signature invalid");
	fx_cert[fx_certlen - 1] ^= 0x01;
	fx_cert[20] ^= 0x01;			/* inside the TBS serial */
	ck_assert_int_eq(verify1(fx_cert, fx_certlen, time(NULL), &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "tls: certificate self-signature invalid");
}
END_TEST

START_TEST(test_cert_count)
{
	const uint8_t *certs[2] = { fx_cert, fx_cert };
	size_t lens[2] = { fx_certlen, fx_certlen };
	struct pubkey *pk = NULL;
	char err[256];

	ck_assert_int_eq(tlscert_verify(certs, lens, 2, time(NULL), &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "tls: expected exactly one certificate, got 2");
	ck_assert_int_eq(tlscert_verify(certs, lens, 0, time(NULL), &pk, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "tls: expected exactly one certificate, got 0");
	ck_assert_ptr_null(pk);
}
END_TEST

/* Every truncation and every trailing byte is malformed. */
START_TEST(test_truncated_and_trailing)
{
	struct pubkey *pk = NULL;
	uint8_t *longer;
	char err[256];
	size_t n;

	for (n = 0; n < fx_certlen; n++) {
		ck_assert_int_eq(verify1(fx_cert, n, time(NULL), &pk, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, "tls: malformed certificate");
	}
	longer = malloc(fx_certlen + 1);
	memcpy(longer, fx_cert, fx_certlen);
	longer[fx_certlen] = 0;
	ck_assert_int_eq(verify1(longer, fx_certlen + 1, time(NULL), &pk,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "tls: malformed certificate");
	free(longer);
}
END_TEST

/* Flipping any one bit anywhere never yields a different accepted key. */
START_TEST(test_bit_flips)
{
	struct pubkey *pk = NULL;
	char err[256];
	size_t i;
	int accepted = 0;

	for (i = 0; i < fx_certlen; i++) {
		uint8_t bit = (uint8_t)(1u << (i % 8));

		fx_cert[i] ^= bit;
		if (verify1(fx_cert, fx_certlen, time(NULL), &pk, err,
		    sizeof(err)) == 0) {
			ck_assert(peer_id_equal(pubkey_peer_id(pk),
			    identity_peer_id(fx_id)));
			pubkey_free(pk);
			pk = NULL;
			accepted++;
		} else
			ck_assert(strncmp(err, "tls: ", 5) == 0);
		fx_cert[i] ^= bit;
	}
	/* only flips in the unsigned outer signature may survive, never */
	ck_assert_int_eq(accepted, 0);
}
END_TEST

/* Random garbage and DER-shaped garbage are rejected cleanly. */
START_TEST(test_garbage)
{
	static const uint8_t shapes[][12] = {
		{ 0x30, 0x80, 0x00, 0x00 },			/* indefinite */
		{ 0x30, 0x84, 0xff, 0xff, 0xff, 0xff },		/* huge len */
		{ 0x30, 0x82, 0x00, 0x05, 0, 0, 0, 0, 0 },	/* non-minimal */
		{ 0x1f, 0x81, 0x01, 0x00 },			/* high tag */
		{ 0x30, 0x03, 0x30, 0x01 },			/* inner overrun */
		{ 0x30, 0x00 },
		{ 0x00 },
	};
	struct pubkey *pk = NULL;
	uint8_t buf[600];
	char err[256];
	unsigned i, seed = 12345;
	size_t j;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		ck_assert_int_eq(verify1(shapes[i], sizeof(shapes[i]),
		    time(NULL), &pk, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "tls: malformed certificate");
	}
	for (i = 0; i < 200; i++) {
		for (j = 0; j < sizeof(buf); j++) {
			seed = seed * 1103515245u + 12345u;
			buf[j] = (uint8_t)(seed >> 16);
		}
		buf[0] = 0x30;
		ck_assert_int_eq(verify1(buf, 1 + i * 2, time(NULL), &pk,
		    err, sizeof(err)), -1);
	}
	ck_assert_ptr_null(pk);
}
END_TEST

/*
 * Issue 13 item 2 in certificate keys: an RSA e = 1 key whose "signature"
 * is just the padded digest, and a 2047-bit key, are refused; the same
 * construction with a sound 2048-bit key verifies.
 */
START_TEST(test_rsa_weak_keys)
{
	json_t *root = vec_load("rsa-weak-vectors.json");
	json_t *v = json_array_get(json_object_get(root, "certs"), _i);
	struct pubkey *pk = NULL;
	char err[256] = "";
	uint8_t *der;
	size_t len;
	int r;

	ck_assert_ptr_nonnull(v);
	der = vec_hex(vec_str(v, "der_hex"), &len);
	ck_assert_ptr_nonnull(der);
	r = verify1(der, len, time(NULL), &pk, err, sizeof(err));
	if (json_is_true(json_object_get(v, "valid"))) {
		ck_assert_msg(r == 0, "%s: %s", vec_str(v, "name"), err);
		ck_assert_int_eq(pubkey_type(pk), KEY_ED25519);
	} else {
		ck_assert_msg(r == -1, "%s accepted", vec_str(v, "name"));
		ck_assert_ptr_null(pk);
		ck_assert_msg(strstr(err, vec_str(v, "error")) == err,
		    "%s: want '%s', got '%s'", vec_str(v, "name"),
		    vec_str(v, "error"), err);
	}
	pubkey_free(pk);
	free(der);
	json_decref(root);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tlscert");
	TCase *tv = tcase_create("vectors");
	TCase *tg = tcase_create("generate");
	TCase *tt = tcase_create("tamper");

	tcase_add_loop_test(tv, test_vectors, 0, 4);
	tcase_add_test(tv, test_vector_validity_window);
	tcase_add_loop_test(tv, test_rsa_weak_keys, 0, 3);
	tcase_set_timeout(tg, 60);
	tcase_add_loop_test(tg, test_generated_each_key_type, 0, 4);
	tcase_add_loop_test(tg, test_tampered, 0, 10);
	tcase_add_test(tg, test_generalized_time);
	tcase_set_timeout(tt, 60);
	tcase_add_checked_fixture(tt, fx_setup, fx_teardown);
	tcase_add_test(tt, test_flipped_self_signature);
	tcase_add_test(tt, test_cert_count);
	tcase_add_test(tt, test_truncated_and_trailing);
	tcase_add_test(tt, test_bit_flips);
	tcase_add_test(tt, test_garbage);
	suite_add_tcase(s, tv);
	suite_add_tcase(s, tg);
	suite_add_tcase(s, tt);
	return vec_run(s);
}
