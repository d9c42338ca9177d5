/*
 * test_keys.c - libp2p keys: spec key vectors (all four types), signatures
 * from an independent implementation (pyca/cryptography, see
 * keys-extra-vectors.json), the TLS spec vectors' SignedKeys, generation,
 * identity files, non-canonical encodings, and the protobuf layer.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "pb.h"
#include "peerid.h"
#include "vec.h"

static const char *const spec_names[4][2] = {
	/* indexed by enum key_type: private, public */
	[KEY_RSA] = { "rsa private key", "rsa public key" },
	[KEY_ED25519] = { "ED25519 private key", "ED25519 public key" },
	[KEY_SECP256K1] = { "secp256k1 private key", "secp256k1 public key" },
	[KEY_ECDSA] = { "ECDSA private key", "ECDSA public key" },
};

/* Bytes of a spec key by its label (caller frees). */
static uint8_t *
spec_key(const char *label, size_t *len)
{
	json_t *v = vec_load("peer-id-vectors.json");
	const char *hex = json_string_value(json_object_get(
	    json_object_get(v, "keys"), label));
	uint8_t *b;

	ck_assert_ptr_nonnull(hex);
	b = vec_hex(hex, len);
	ck_assert_ptr_nonnull(b);
	json_decref(v);
	return b;
}

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

/* Parse a public key from hex; NULL allowed (returned as is). */
static struct pubkey *
pub_from_hex(const char *hex, char *err, size_t errlen)
{
	struct pubkey *k;
	uint8_t *b;
	size_t len;

	b = hex_or_die(hex, &len);
	k = pubkey_parse(b, len, err, errlen);
	free(b);
	return k;
}

/* Spec identity of type t. */
static struct identity *
spec_identity(enum key_type t)
{
	struct identity *id;
	char err[256] = "";
	uint8_t *b;
	size_t len;

	b = spec_key(spec_names[t][0], &len);
	id = identity_from_pb(b, len, err, sizeof(err));
	ck_assert_msg(id != NULL, "%s: %s", spec_names[t][0], err);
	free(b);
	return id;
}

/* Base58 peer ID of a public key into buf. */
static const char *
pub_id_str(const struct pubkey *k, char *buf, size_t cap)
{
	const char *s = peer_id_to_string(pubkey_peer_id(k), buf, cap);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* Each spec private key re-derives exactly the spec public key bytes. */
START_TEST(test_spec_private_derives_public)
{
	enum key_type t = (enum key_type)_i;
	struct identity *id = spec_identity(t);
	const uint8_t *pb;
	uint8_t *want;
	size_t len, wlen;

	want = spec_key(spec_names[t][1], &wlen);
	ck_assert_int_eq(identity_type(id), t);
	pb = pubkey_bytes(identity_pubkey(id), &len);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(pb, want, wlen);
	ck_assert(peer_id_equal(identity_peer_id(id),
	    pubkey_peer_id(identity_pubkey(id))));
	free(want);
	identity_free(id);
}
END_TEST

/* Each spec public key parses, re-encodes identically, right peer ID. */
START_TEST(test_spec_public_keys)
{
	enum key_type t = (enum key_type)_i;
	json_t *v = vec_load("peer-id-vectors.json");
	json_t *ids = json_object_get(v, "derived_peer_ids_NOT_IN_SPEC");
	struct pubkey *k;
	char err[256] = "", buf[PEER_ID_STR_MAX];
	const uint8_t *pb;
	uint8_t *in;
	size_t len, inlen;

	in = spec_key(spec_names[t][1], &inlen);
	k = pubkey_parse(in, inlen, err, sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	ck_assert_int_eq(pubkey_type(k), t);
	pb = pubkey_bytes(k, &len);
	ck_assert_uint_eq(len, inlen);
	ck_assert_mem_eq(pb, in, inlen);
	ck_assert_str_eq(pub_id_str(k, buf, sizeof(buf)),
	    vec_str(json_object_get(ids, spec_names[t][1]), "base58btc"));
	pubkey_free(k);
	free(in);
	json_decref(v);
}
END_TEST

/* Sign, verify, and reject tampering and the wrong key, for key id. */
static void
check_sign_verify(const struct identity *id, const struct pubkey *other)
{
	static const uint8_t prefix[] = "noise-libp2p-static-key:";
	uint8_t msg[24 + 32], sig[SIG_MAX], sig2[SIG_MAX];
	const struct pubkey *pk = identity_pubkey(id);
	size_t siglen, siglen2;

	memcpy(msg, prefix, 24);
	randombytes_buf(msg + 24, 32);
	ck_assert_int_eq(identity_sign(id, msg, sizeof(msg), sig,
	    sizeof(sig), &siglen), 0);
	ck_assert(siglen > 0 && siglen <= SIG_MAX);
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, siglen), 0);
	/* The empty message is a message too. */
	ck_assert_int_eq(identity_sign(id, NULL, 0, sig2, sizeof(sig2),
	    &siglen2), 0);
	ck_assert_int_eq(pubkey_verify(pk, NULL, 0, sig2, siglen2), 0);
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig2, siglen2),
	    -1);
	/* Tampered message. */
	msg[30] ^= 0x01;
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, siglen),
	    -1);
	msg[30] ^= 0x01;
	/* Tampered signature: last byte, a middle byte, truncated, longer. */
	sig[siglen - 1] ^= 0x01;
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, siglen),
	    -1);
	sig[siglen - 1] ^= 0x01;
	sig[siglen / 2] ^= 0x80;
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, siglen),
	    -1);
	sig[siglen / 2] ^= 0x80;
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig,
	    siglen - 1), -1);
	sig[siglen] = 0;
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig,
	    siglen + 1), -1);
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, 0), -1);
	/* Still good after all that. */
	ck_assert_int_eq(pubkey_verify(pk, msg, sizeof(msg), sig, siglen), 0);
	/* Some other key (of another type) rejects it. */
	if (other != NULL)
		ck_assert_int_eq(pubkey_verify(other, msg, sizeof(msg), sig,
		    siglen), -1);
	/* A too-small output buffer is an error, not an overflow. */
	ck_assert_int_eq(identity_sign(id, msg, sizeof(msg), sig, 8,
	    &siglen), -1);
}

/* Sign-then-verify with each spec key; cross-type rejection. */
START_TEST(test_spec_sign_verify)
{
	enum key_type t = (enum key_type)_i;
	struct identity *id = spec_identity(t);
	struct identity *other = spec_identity((enum key_type)((t + 1) % 4));

	check_sign_verify(id, identity_pubkey(other));
	identity_free(other);
	identity_free(id);
}
END_TEST

/* Fresh keys of each type work, and re-parse from their own bytes. */
START_TEST(test_generated_sign_verify)
{
	static const char *prefix[] = {
		[KEY_RSA] = "Qm", [KEY_ED25519] = "12D3KooW",
		[KEY_SECP256K1] = "16Uiu2HA", [KEY_ECDSA] = "Qm",
	};
	enum key_type t = (enum key_type)_i;
	struct identity *id = identity_generate(t), *id2;
	struct pubkey *k;
	char err[256] = "", buf[PEER_ID_STR_MAX];
	const uint8_t *pb;
	size_t len;

	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(identity_type(id), t);
	id2 = identity_generate(t);
	ck_assert_ptr_nonnull(id2);
	ck_assert(!peer_id_equal(identity_peer_id(id), identity_peer_id(id2)));
	check_sign_verify(id, identity_pubkey(id2));
	pb = pubkey_bytes(identity_pubkey(id), &len);
	k = pubkey_parse(pb, len, err, sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	ck_assert(peer_id_equal(pubkey_peer_id(k), identity_peer_id(id)));
	ck_assert_int_eq(strncmp(pub_id_str(k, buf, sizeof(buf)), prefix[t],
	    strlen(prefix[t])), 0);
	pubkey_free(k);
	identity_free(id2);
	identity_free(id);
}
END_TEST

/* Unknown type: no identity. */
START_TEST(test_generate_bad_type)
{
	ck_assert_ptr_null(identity_generate((enum key_type)7));
}
END_TEST

/*
 * Signatures made by pyca/cryptography with the spec keys verify; the
 * deterministic schemes (Ed25519, RSA PKCS#1 v1.5) reproduce them exactly.
 */
START_TEST(test_independent_signatures)
{
	json_t *v = vec_load("keys-extra-vectors.json"), *e;
	uint8_t *msg, *sig, *pb, mine[SIG_MAX];
	size_t msglen, siglen, pblen, minelen, i;
	const char *label;
	struct pubkey *k;
	struct identity *id;
	enum key_type t;

	msg = hex_or_die(vec_str(v, "msg_hex"), &msglen);
	json_array_foreach(json_object_get(v, "signatures"), i, e) {
		label = vec_str(e, "key");
		sig = hex_or_die(vec_str(e, "sig_hex"), &siglen);
		pb = spec_key(label, &pblen);
		k = pubkey_parse(pb, pblen, NULL, 0);
		ck_assert_ptr_nonnull(k);
		ck_assert_msg(pubkey_verify(k, msg, msglen, sig, siglen) == 0,
		    "%s signature %zu", label, i);
		msg[0] ^= 1;
		ck_assert_int_eq(pubkey_verify(k, msg, msglen, sig, siglen),
		    -1);
		msg[0] ^= 1;
		t = pubkey_type(k);
		if (t == KEY_ED25519 || t == KEY_RSA) {
			id = spec_identity(t);
			ck_assert_int_eq(identity_sign(id, msg, msglen, mine,
			    sizeof(mine), &minelen), 0);
			ck_assert_uint_eq(minelen, siglen);
			ck_assert_mem_eq(mine, sig, siglen);
			identity_free(id);
		}
		pubkey_free(k);
		free(pb);
		free(sig);
	}
	ck_assert_uint_eq(i, 5);
	free(msg);
	json_decref(v);
}
END_TEST

/* Our secp256k1 signatures are low-S (s <= n/2). */
START_TEST(test_secp256k1_low_s)
{
	static const uint8_t half_n[32] = {
		0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
		0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
	};
	struct identity *id = spec_identity(KEY_SECP256K1);
	uint8_t msg[8], sig[SIG_MAX], s32[32];
	size_t siglen, off, slen;
	int i;

	for (i = 0; i < 24; i++) {
		randombytes_buf(msg, sizeof(msg));
		ck_assert_int_eq(identity_sign(id, msg, sizeof(msg), sig,
		    sizeof(sig), &siglen), 0);
		ck_assert_int_eq(pubkey_verify(identity_pubkey(id), msg,
		    sizeof(msg), sig, siglen), 0);
		/* 30 L 02 rl r 02 sl s */
		ck_assert_uint_eq(sig[0], 0x30);
		off = 4 + sig[3];
		ck_assert_uint_eq(sig[off], 0x02);
		slen = sig[off + 1];
		off += 2;
		if (slen == 33) {
			ck_assert_uint_eq(sig[off], 0);
			off++;
			slen--;
		}
		ck_assert(slen <= 32);
		memset(s32, 0, sizeof(s32));
		memcpy(s32 + 32 - slen, sig + off, slen);
		ck_assert(memcmp(s32, half_n, 32) <= 0);
	}
	identity_free(id);
}
END_TEST

/* TLS spec vectors: SignedKey keys give the published peer IDs. */
START_TEST(test_tls_vectors)
{
	static const char tls_prefix[] = "libp2p-tls-handshake:";
	json_t *v = vec_load("tls-vectors.json"), *e, *d;
	uint8_t *spki, *sig, msg[256];
	size_t spkilen, siglen, i, nvalid = 0;
	struct pubkey *k;
	char err[256] = "", buf[PEER_ID_STR_MAX];
	int valid;

	json_array_foreach(json_object_get(v, "vectors"), i, e) {
		d = json_object_get(e, "derived_here");
		valid = json_is_true(json_object_get(e, "expected_valid"));
		k = pub_from_hex(vec_str(d, "signedkey_publicKey_hex"), err,
		    sizeof(err));
		ck_assert_msg(k != NULL, "%zu: %s", i, err);
		ck_assert_int_eq(pubkey_type(k), (int)json_integer_value(
		    json_object_get(d, "key_type")));
		ck_assert_str_eq(pub_id_str(k, buf, sizeof(buf)),
		    vec_str(d, "peer_id_from_extension"));
		if (valid)
			ck_assert_str_eq(buf, vec_str(e, "expected_peer_id"));
		spki = hex_or_die(vec_str(d, "cert_spki_der_hex"), &spkilen);
		sig = hex_or_die(vec_str(d, "signedkey_signature_hex"),
		    &siglen);
		ck_assert(21 + spkilen <= sizeof(msg));
		memcpy(msg, tls_prefix, 21);
		memcpy(msg + 21, spki, spkilen);
		ck_assert_int_eq(pubkey_verify(k, msg, 21 + spkilen, sig,
		    siglen), valid ? 0 : -1);
		nvalid += valid;
		free(sig);
		free(spki);
		pubkey_free(k);
	}
	ck_assert_uint_eq(i, 4);
	ck_assert_uint_eq(nvalid, 3);
	json_decref(v);
}
END_TEST

/* RSA sizes: 2048..8192 bits accepted in principle; smaller rejected. */
START_TEST(test_rsa_sizes)
{
	json_t *v = vec_load("keys-extra-vectors.json"), *e;
	uint8_t *msg, *sig;
	size_t msglen, siglen, i;
	struct pubkey *k;
	char err[256];
	int bits;

	msg = hex_or_die(vec_str(v, "msg_hex"), &msglen);
	json_array_foreach(json_object_get(v, "rsa_pubkeys"), i, e) {
		bits = (int)json_integer_value(json_object_get(e, "bits"));
		/* Bare PKCS#1 RSAPublicKey is not the libp2p encoding. */
		err[0] = '\0';
		k = pub_from_hex(vec_str(e, "pkcs1_pubkey_pb_hex"), err,
		    sizeof(err));
		ck_assert_msg(k == NULL, "%d-bit PKCS#1 accepted", bits);
		ck_assert(err[0] != '\0');
		k = pub_from_hex(vec_str(e, "pubkey_pb_hex"), err,
		    sizeof(err));
		if (bits < 2048 || bits > 4096) {
			/*
			 * Below 2048: policy.  Above 4096: Debian's wolfSSL
			 * is built with RSA_MAX_SIZE 4096 and cannot verify.
			 */
			ck_assert_msg(k == NULL, "%d-bit key accepted", bits);
			ck_assert_ptr_nonnull(strstr(err, "bits (supported"));
			continue;
		}
		ck_assert_msg(k != NULL, "%d bits: %s", bits, err);
		sig = hex_or_die(vec_str(e, "sig_hex"), &siglen);
		ck_assert_int_eq(pubkey_verify(k, msg, msglen, sig, siglen), 0);
		sig[0] ^= 1;
		ck_assert_int_eq(pubkey_verify(k, msg, msglen, sig, siglen),
		    -1);
		free(sig);
		pubkey_free(k);
	}
	ck_assert_uint_eq(i, 5);
	/* A 1024-bit private key is refused as an identity. */
	{
		uint8_t *pb;
		size_t len;

		pb = hex_or_die(vec_str(v, "rsa1024_private_pb_hex"), &len);
		ck_assert_ptr_null(identity_from_pb(pb, len, err,
		    sizeof(err)));
		ck_assert_ptr_nonnull(strstr(err, "invalid rsa"));
		free(pb);
	}
	free(msg);
	json_decref(v);
}
END_TEST

/* ECDSA: P-384 is accepted; odd encodings and curves are not. */
START_TEST(test_ecdsa_variants)
{
	json_t *v = vec_load("keys-extra-vectors.json");
	json_t *p384 = json_object_get(v, "p384");
	static const char *bad[] = {
		"ecdsa_raw_point_pb_hex",
		"ecdsa_compressed_spki_pb_hex",
		"ecdsa_type_secp256k1_spki_pb_hex",
		"secp256k1_uncompressed_pb_hex",
	};
	uint8_t *msg, *sig;
	size_t msglen, siglen, i;
	struct pubkey *k;
	char err[256] = "";

	msg = hex_or_die(vec_str(v, "msg_hex"), &msglen);
	k = pub_from_hex(vec_str(p384, "pubkey_pb_hex"), err, sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	sig = hex_or_die(vec_str(p384, "sig_hex"), &siglen);
	ck_assert_int_eq(pubkey_verify(k, msg, msglen, sig, siglen), 0);
	msg[5] ^= 1;
	ck_assert_int_eq(pubkey_verify(k, msg, msglen, sig, siglen), -1);
	free(sig);
	pubkey_free(k);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = pub_from_hex(vec_str(v, bad[i]), NULL, 0);
		ck_assert_msg(k == NULL, "accepted %s", bad[i]);
	}
	free(msg);
	json_decref(v);
}
END_TEST

#define ED_PUB \
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define ED_SEED \
    "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
#define K1_N \
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"

/* Encodings that must not parse as a PublicKey. */
START_TEST(test_pub_noncanonical)
{
	static const char *bad[] = {
		"",
		"0801",					/* no Data */
		"1220" ED_PUB,				/* no Type */
		"08011220" ED_PUB "1800",		/* extra field 3 */
		"1220" ED_PUB "0801",			/* fields reversed */
		"08010801" "1220" ED_PUB,		/* Type twice */
		"0801" "1200" "1220" ED_PUB,		/* Data twice */
		"088100" "1220" ED_PUB,			/* non-minimal type */
		"0801" "12a000" ED_PUB,			/* non-minimal len */
		"0801" "1221" ED_PUB "00",		/* 33-byte Ed25519 */
		"0801" "121f" "d1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6"
		    "010f0e42d474fce27e",		/* 31-byte Ed25519 */
		"0804" "1220" ED_PUB,			/* unknown type 4 */
		"0805" "1220" ED_PUB,			/* unknown type 5 */
		"08ffffffffffffffffff01" "1220" ED_PUB,	/* type -1 */
		"0801" "1220" ED_PUB "00",		/* trailing byte */
		"0801" "1240" ED_PUB,			/* truncated Data */
		"0a01011220" ED_PUB,			/* Type wire type 2 */
		"0802" "1221" "04" "7777e994e452c21604f91de093ce415f5432f70"
		    "1dd8cd1a7a6fea0e630bfca99",	/* prefix 04, 33 B */
		"0802" "1221" "02" "ffffffffffffffffffffffffffffffffffff"
		    "ffffffffffffffffffffffffffff",	/* x >= p: no point */
		"0802" "1221" "02" "00000000000000000000000000000000000000"
		    "00000000000000000000000000",	/* x = 0: no point */
		"0802" "1220" "7777e994e452c21604f91de093ce415f5432f701dd8c"
		    "d1a7a6fea0e630bfca99",		/* 32-byte secp256k1 */
		"0803" "1220" ED_PUB,			/* garbage ECDSA */
		"0800" "1220" ED_PUB,			/* garbage RSA */
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(pub_from_hex(bad[i], err, sizeof(err)) == NULL,
		    "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
	}
	/* Oversized input is refused before decoding. */
	{
		uint8_t big[KEY_PB_MAX + 1];

		memset(big, 0, sizeof(big));
		ck_assert_ptr_null(pubkey_parse(big, sizeof(big), NULL, 0));
		ck_assert_ptr_null(pubkey_parse(NULL, 36, NULL, 0));
	}
}
END_TEST

/* Non-canonical SPKI/DER inside an otherwise fine PublicKey. */
START_TEST(test_pub_noncanonical_der)
{
	uint8_t *pb, *bad;
	size_t len;
	enum key_type t;

	for (t = KEY_RSA; t <= KEY_ECDSA; t++) {
		if (t == KEY_ED25519 || t == KEY_SECP256K1)
			continue;
		pb = spec_key(spec_names[t][1], &len);
		bad = malloc(len + 2);
		ck_assert_ptr_nonnull(bad);
		/* Append one byte to the DER and fix the Data length. */
		memcpy(bad, pb, len);
		bad[len] = 0x00;
		bad[3]++;	/* 08 03 12 5b / 08 00 12 a6 04: low byte */
		ck_assert_ptr_null(pubkey_parse(bad, len + 1, NULL, 0));
		/* Flip the outer SEQUENCE tag. */
		memcpy(bad, pb, len);
		bad[t == KEY_ECDSA ? 4 : 5] = 0x31;
		ck_assert_ptr_null(pubkey_parse(bad, len, NULL, 0));
		free(bad);
		free(pb);
	}
}
END_TEST

/* PrivateKey variants: legacy Ed25519 form, mismatches, bad scalars. */
START_TEST(test_private_variants)
{
	static const struct {
		const char *hex;
		int ok;
	} t[] = {
		{ "08011240" ED_SEED ED_PUB, 1 },
		{ "08011260" ED_SEED ED_PUB ED_PUB, 1 },	/* legacy */
		{ "08011260" ED_SEED ED_PUB ED_SEED, 0 }, /* pubs differ */
		{ "08011240" ED_SEED ED_SEED, 0 },		/* wrong pub */
		{ "08011220" ED_SEED, 0 },			/* seed only */
		{ "08011240" ED_SEED ED_PUB "1800", 0 }, /* extra field */
		{ "0801" "12c000" ED_SEED ED_PUB, 0 },		/* long len */
		{ "1240" ED_SEED ED_PUB, 0 },			/* no Type */
		{ "08021220" "53dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42"
		    "abedb0a4404d56ced8fb", 1 },
		{ "08021220" "000000000000000000000000000000000000000000"
		    "0000000000000000000000", 0 },		/* d = 0 */
		{ "08021220" K1_N, 0 },				/* d = n */
		{ "0802121f" "dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42"
		    "abedb0a4404d56ced8fb", 0 },		/* 31 bytes */
		{ "08031220" ED_SEED, 0 },			/* not SEC1 */
		{ "08001220" ED_SEED, 0 },			/* not PKCS#1 */
		{ "08071240" ED_SEED ED_PUB, 0 },		/* type 7 */
	};
	struct identity *id;
	char err[256];
	uint8_t *b;
	size_t i, len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = hex_or_die(t[i].hex, &len);
		err[0] = '\0';
		id = identity_from_pb(b, len, err, sizeof(err));
		ck_assert_msg((id != NULL) == t[i].ok, "row %zu: %s", i, err);
		if (id == NULL)
			ck_assert(err[0] != '\0');
		identity_free(id);
		free(b);
	}
}
END_TEST

/* An ECDSA private key whose embedded public key is someone else's. */
START_TEST(test_ecdsa_private_mismatch)
{
	uint8_t *pb;
	size_t len;

	pb = spec_key("ECDSA private key", &len);
	/* Last byte is inside the embedded public point's Y. */
	pb[len - 1] ^= 0x01;
	ck_assert_ptr_null(identity_from_pb(pb, len, NULL, 0));
	pb[len - 1] ^= 0x01;
	/* Scalar byte changed: derived point no longer matches. */
	pb[4 + 7 + 5] ^= 0x01;
	ck_assert_ptr_null(identity_from_pb(pb, len, NULL, 0));
	free(pb);
}
END_TEST

/*
 * Regression (found by fuzz_privkey): an ECDSA PrivateKey whose SEC1
 * scalar is 44 bytes and has no curve parameters.  wolfSSL picked a curve
 * anyway and exporting the scalar read out of bounds; it must be refused.
 */
START_TEST(test_ecdsa_private_long_scalar)
{
	static const char hex[] =
	    "080312793077020101042c3e5b1fe9712e6c314942a750bd67485de3"
	    "c1efe85b1bfb520ae8f9ae3dfa4a4ca00a06082a8648ce3d010107a1"
	    "4403420004de3d300fa36ae0e8f5d530899d830107a144034200042a"
	    "4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646"
	    "a597fb4dcec034e9f77c409e62";
	struct identity *id;
	uint8_t *pb;
	size_t len;
	char err[256];

	pb = vec_hex(hex, &len);
	ck_assert_ptr_nonnull(pb);
	id = identity_from_pb(pb, len, err, sizeof(err));
	ck_assert_ptr_null(id);
	free(pb);
}
END_TEST

/*
 * Fuzzer finding (tests/fuzz/corpus/privkey/crash-rsa-inconsistent): one
 * bit flipped inside the spec RSA key's CRT parameters still decoded,
 * but the identity could not sign.  Loading must refuse such a key.
 */
START_TEST(test_rsa_private_inconsistent)
{
	struct identity *id;
	char err[256] = "";
	uint8_t *pb;
	size_t len;

	pb = spec_key("rsa private key", &len);
	ck_assert_uint_eq(len, 2355);
	ck_assert_uint_eq(pb[1323], 0x37);
	pb[1323] ^= 0x04;
	id = identity_from_pb(pb, len, err, sizeof(err));
	ck_assert_ptr_null(id);
	ck_assert_msg(strstr(err, "inconsistent rsa key") != NULL, "%s", err);
	free(pb);
}
END_TEST

/* A fresh temporary directory for identity files (caller removes). */
static char *
tmpdir(void)
{
	char *d = strdup("/tmp/peerlock-keys-XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* Write raw bytes to a new file with the given mode. */
static void
write_file(const char *path, const void *b, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Save/load round trip, 0600, no overwrite, refuse loose modes. */
START_TEST(test_save_load)
{
	enum key_type t = (enum key_type)_i;
	struct identity *id, *id2;
	char *dir = tmpdir(), path[512], err[512], want[1200];
	uint8_t msg[16], sig[SIG_MAX];
	size_t siglen;
	struct stat st;

	snprintf(path, sizeof(path), "%s/id.key", dir);
	id = spec_identity(t);
	ck_assert_int_eq(identity_save(id, path, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* The file is exactly the canonical spec PrivateKey message. */
	{
		uint8_t *spec, fbuf[6000];
		size_t slen, flen;
		FILE *f = fopen(path, "rb");

		ck_assert_ptr_nonnull(f);
		flen = fread(fbuf, 1, sizeof(fbuf), f);
		fclose(f);
		spec = spec_key(spec_names[t][0], &slen);
		ck_assert_uint_eq(flen, slen);
		ck_assert_mem_eq(fbuf, spec, slen);
		free(spec);
	}
	id2 = identity_load(path, err, sizeof(err));
	ck_assert_msg(id2 != NULL, "%s", err);
	ck_assert(peer_id_equal(identity_peer_id(id), identity_peer_id(id2)));
	randombytes_buf(msg, sizeof(msg));
	ck_assert_int_eq(identity_sign(id2, msg, sizeof(msg), sig,
	    sizeof(sig), &siglen), 0);
	ck_assert_int_eq(pubkey_verify(identity_pubkey(id), msg, sizeof(msg),
	    sig, siglen), 0);
	identity_free(id2);
	/* Second save refuses to overwrite. */
	ck_assert_int_eq(identity_save(id, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	    "identity: %s already exists, refusing to overwrite", path);
	ck_assert_str_eq(err, want);
	/* Group/other bits refuse the load. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "identity: %s is readable by "
	    "group/others (mode 0644); chmod 600 %s", path, path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_int_eq(chmod(path, 0400), 0);
	id2 = identity_load(path, err, sizeof(err));
	ck_assert_msg(id2 != NULL, "%s", err);
	identity_free(id2);
	identity_free(id);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

/* Generated keys survive save/load as well. */
START_TEST(test_save_load_generated)
{
	struct identity *id = identity_generate(KEY_ED25519), *id2;
	char *dir = tmpdir(), path[512], err[512];

	ck_assert_ptr_nonnull(id);
	snprintf(path, sizeof(path), "%s/gen.key", dir);
	ck_assert_int_eq(identity_save(id, path, err, sizeof(err)), 0);
	id2 = identity_load(path, err, sizeof(err));
	ck_assert_msg(id2 != NULL, "%s", err);
	ck_assert(peer_id_equal(identity_peer_id(id), identity_peer_id(id2)));
	identity_free(id2);
	identity_free(id);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

/* Clear errors for missing, empty, garbage, short and huge files. */
START_TEST(test_load_errors)
{
	static const uint8_t garbage[] = { 0xde, 0xad, 0xbe, 0xef, 0x00 };
	char *dir = tmpdir(), path[512], link[512], err[512];
	struct identity *id;
	uint8_t *spec, *huge;
	size_t slen;

	snprintf(path, sizeof(path), "%s/nope.key", dir);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));

	write_file(path, "", 0, 0600);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "is empty"));
	unlink(path);

	write_file(path, garbage, sizeof(garbage), 0600);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "malformed"));
	unlink(path);

	spec = spec_key("ED25519 private key", &slen);
	write_file(path, spec, slen - 1, 0600);		/* truncated */
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	unlink(path);

	huge = calloc(1, 1 << 16);
	ck_assert_ptr_nonnull(huge);
	write_file(path, huge, 1 << 16, 0600);
	ck_assert_ptr_null(identity_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	unlink(path);
	free(huge);

	/* A directory is not a key file. */
	ck_assert_ptr_null(identity_load(dir, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));

	/* Save never follows or replaces a symlink. */
	write_file(path, spec, slen, 0600);
	snprintf(link, sizeof(link), "%s/link.key", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	id = identity_load(link, err, sizeof(err));
	ck_assert_msg(id != NULL, "%s", err);
	ck_assert_int_eq(identity_save(id, link, err, sizeof(err)), -1);
	identity_free(id);
	unlink(link);
	unlink(path);
	free(spec);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

/* Names and their inverse. */
START_TEST(test_type_names)
{
	enum key_type t;
	int i;

	for (i = KEY_RSA; i <= KEY_ECDSA; i++) {
		ck_assert_int_eq(key_type_parse(key_type_name(
		    (enum key_type)i), &t), 0);
		ck_assert_int_eq(t, i);
	}
	ck_assert_str_eq(key_type_name(KEY_ED25519), "ed25519");
	ck_assert_str_eq(key_type_name((enum key_type)9), "unknown");
	ck_assert_int_eq(key_type_parse("Ed25519x", &t), -1);
	ck_assert_int_eq(key_type_parse("unknown", &t), -1);
}
END_TEST

/* Key messages: exact bytes, RSA's Type 0 present, caps. */
START_TEST(test_pb_key)
{
	static const uint8_t data[3] = { 0xaa, 0xbb, 0xcc };
	static const uint8_t want0[] = { 0x08, 0x00, 0x12, 0x03, 0xaa, 0xbb,
		0xcc };
	uint8_t out[400], big[300], back[300];
	size_t n, blen;
	int type;

	n = pb_key_encode(0, data, 3, out, sizeof(out));
	ck_assert_uint_eq(n, sizeof(want0));
	ck_assert_mem_eq(out, want0, n);
	ck_assert_uint_eq(pb_key_encode(0, data, 3, out, 6), 0);
	ck_assert_uint_eq(pb_key_encode(-1, data, 3, out, sizeof(out)), 0);
	memset(big, 0x5a, sizeof(big));
	n = pb_key_encode(1, big, sizeof(big), out, sizeof(out));
	ck_assert_uint_eq(n, 5 + sizeof(big));
	ck_assert_uint_eq(out[3], 0xac);	/* 300 = ac 02 */
	ck_assert_uint_eq(out[4], 0x02);
	ck_assert_int_eq(pb_key_decode(out, n, &type, back, sizeof(back),
	    &blen), 0);
	ck_assert_int_eq(type, 1);
	ck_assert_uint_eq(blen, sizeof(big));
	ck_assert_mem_eq(back, big, blen);
	ck_assert_int_eq(pb_key_decode(out, n, &type, back, 299, &blen), -1);
	ck_assert_int_eq(pb_key_decode(out, n - 1, &type, back, sizeof(back),
	    &blen), -1);
	ck_assert_int_eq(pb_key_decode(out, 2, &type, back, sizeof(back),
	    &blen), -1);
}
END_TEST

/* Noise payload: the layout of noise.md section 5 both ways. */
START_TEST(test_pb_noise_payload)
{
	uint8_t key[36], sig[64], out[256], msg[300];
	struct pb_noise_payload p;
	size_t n, m;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(sig, sizeof(sig));
	n = pb_noise_payload_encode(key, 36, sig, 64, out, sizeof(out));
	ck_assert_uint_eq(n, 2 + 36 + 2 + 64);
	ck_assert_uint_eq(out[0], 0x0a);
	ck_assert_uint_eq(out[1], 0x24);
	ck_assert_mem_eq(out + 2, key, 36);
	ck_assert_uint_eq(out[38], 0x12);
	ck_assert_uint_eq(out[39], 0x40);
	ck_assert_mem_eq(out + 40, sig, 64);
	ck_assert_uint_eq(pb_noise_payload_encode(key, 36, sig, 64, out, n - 1),
	    0);

	/* go/js form: + extensions { stream_muxers "/yamux/1.0.0" }. */
	memcpy(msg, out, n);
	memcpy(msg + n, "\x22\x0e\x12\x0c/yamux/1.0.0", 16);
	m = n + 16;
	ck_assert_uint_eq(m, 120);
	ck_assert_int_eq(pb_noise_payload_decode(msg, m, &p), 0);
	ck_assert_uint_eq(p.identity_key_len, 36);
	ck_assert_mem_eq(p.identity_key, key, 36);
	ck_assert_uint_eq(p.identity_sig_len, 64);
	ck_assert_mem_eq(p.identity_sig, sig, 64);

	/* Obsolete field 3 and unknown field 9 are skipped. */
	memcpy(msg + m, "\x1a\x02hi\x48\x01", 6);
	ck_assert_int_eq(pb_noise_payload_decode(msg, m + 6, &p), 0);
	ck_assert_uint_eq(p.identity_key_len, 36);

	/* Empty payload decodes to nothing (msg 1). */
	ck_assert_int_eq(pb_noise_payload_decode(NULL, 0, &p), 0);
	ck_assert_uint_eq(p.identity_key_len + p.identity_sig_len, 0);

	/* Truncated and malformed. */
	ck_assert_int_eq(pb_noise_payload_decode(msg, n - 1, &p), -1);
	ck_assert_int_eq(pb_noise_payload_decode(
	    (const uint8_t *)"\x0a\xff", 2, &p), -1);
	ck_assert_int_eq(pb_noise_payload_decode(
	    (const uint8_t *)"\x22\x02\x0a", 3, &p), -1);
}
END_TEST

/* Oversized identity_key / identity_sig are refused. */
START_TEST(test_pb_noise_oversized)
{
	static uint8_t big[KEY_PB_MAX + 1], out[KEY_PB_MAX + 100];
	struct pb_noise_payload p;
	size_t n;

	n = pb_noise_payload_encode(big, KEY_PB_MAX, big, SIG_MAX, out,
	    sizeof(out) + 0);
	ck_assert_uint_eq(n, 0);	/* does not fit out */
	{
		uint8_t *o = malloc(4096);

		ck_assert_ptr_nonnull(o);
		n = pb_noise_payload_encode(big, KEY_PB_MAX, big, SIG_MAX, o,
		    4096);
		ck_assert_uint_gt(n, 0);
		ck_assert_int_eq(pb_noise_payload_decode(o, n, &p), 0);
		n = pb_noise_payload_encode(big, KEY_PB_MAX + 1, big, 10, o,
		    4096);
		ck_assert_int_eq(pb_noise_payload_decode(o, n, &p), -1);
		n = pb_noise_payload_encode(big, 36, big, SIG_MAX + 1, o,
		    4096);
		ck_assert_int_eq(pb_noise_payload_decode(o, n, &p), -1);
		free(o);
	}
}
END_TEST

/*
 * NoiseExtensions: our encoding appended to the identity payload gives
 * the derived example's msg 2 / msg 3 payloads byte for byte (the go/js
 * form of noise.md 5), and their muxer list decodes.
 */
START_TEST(test_pb_noise_extensions)
{
	static const char *const y[] = { "/yamux/1.0.0" };
	static const char *const two[] = { "/yamux/1.0.0", "/mplex/6.7.0" };
	static const char *const field[] = { "msg2_payload_NoiseHandshakePayload",
	    "msg3_payload_NoiseHandshakePayload" };
	json_t *ex = vec_load("noise-libp2p-derived-example.json");
	const char *many[PB_MUXERS_MAX + 1];
	static char big[PB_MUXER_ID_MAX + 2];
	const char *bigl[] = { big };
	struct pb_noise_payload *p = malloc(sizeof(*p));
	uint8_t out[600], *want;
	size_t n, e, wlen, i, f;

	ck_assert_ptr_nonnull(p);
	n = pb_noise_extensions_encode(y, 1, out, sizeof(out));
	ck_assert_uint_eq(n, 16);
	ck_assert_mem_eq(out, "\x22\x0e\x12\x0c/yamux/1.0.0", 16);
	n = pb_noise_extensions_encode(two, 2, out, sizeof(out));
	ck_assert_uint_eq(n, 30);
	ck_assert_mem_eq(out, "\x22\x1c\x12\x0c/yamux/1.0.0\x12\x0c"
	    "/mplex/6.7.0", 30);
	ck_assert_uint_eq(pb_noise_extensions_encode(two, 2, out, 29), 0);
	for (f = 0; f < 2; f++) {
		want = vec_hex(vec_str(ex, field[f]), &wlen);
		ck_assert_ptr_nonnull(want);
		ck_assert_int_eq(pb_noise_payload_decode(want, wlen, p), 0);
		ck_assert(p->has_extensions);
		ck_assert_uint_eq(p->n_muxers, 1);
		ck_assert_str_eq(p->muxers[0], "/yamux/1.0.0");
		n = pb_noise_payload_encode(p->identity_key,
		    p->identity_key_len, p->identity_sig, p->identity_sig_len,
		    out, sizeof(out));
		e = pb_noise_extensions_encode(y, 1, out + n, sizeof(out) - n);
		ck_assert_uint_eq(n + e, wlen);
		ck_assert_mem_eq(out, want, wlen);
		free(want);
	}
	json_decref(ex);
	/* refusals: none, too many, empty, overlong, NULL */
	for (i = 0; i <= PB_MUXERS_MAX; i++)
		many[i] = "/m";
	ck_assert_uint_eq(pb_noise_extensions_encode(y, 0, out, sizeof(out)),
	    0);
	ck_assert_uint_eq(pb_noise_extensions_encode(many, PB_MUXERS_MAX + 1,
	    out, sizeof(out)), 0);
	ck_assert_uint_gt(pb_noise_extensions_encode(many, PB_MUXERS_MAX,
	    out, sizeof(out)), 0);
	many[0] = "";
	ck_assert_uint_eq(pb_noise_extensions_encode(many, 1, out,
	    sizeof(out)), 0);
	many[0] = NULL;
	ck_assert_uint_eq(pb_noise_extensions_encode(many, 1, out,
	    sizeof(out)), 0);
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_uint_eq(pb_noise_extensions_encode(bigl, 1, out,
	    sizeof(out)), 0);
	/* webtransport_certhashes and unknown extension fields are skipped */
	ck_assert_int_eq(pb_noise_payload_decode((const uint8_t *)
	    "\x22\x0a\x0a\x02\x12\x00\x18\x05\x12\x02/y", 12, p), 0);
	ck_assert(p->has_extensions);
	ck_assert_uint_eq(p->n_muxers, 1);
	ck_assert_str_eq(p->muxers[0], "/y");
	/* no field 4 at all: no extensions */
	ck_assert_int_eq(pb_noise_payload_decode((const uint8_t *)"\x0a\x00",
	    2, p), 0);
	ck_assert(!p->has_extensions);
	ck_assert_ptr_null(p->error);
	/* a broken payload says so */
	ck_assert_int_eq(pb_noise_payload_decode((const uint8_t *)"\x22\x05",
	    2, p), -1);
	ck_assert_str_eq(p->error, "not a valid NoiseHandshakePayload "
	    "protobuf");
	free(p);
}
END_TEST

/* UTF-8 validation as RFC 3629 defines it, and no NUL. */
START_TEST(test_pb_utf8)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} c[] = {
		{ "", 0, true }, { "/yamux/1.0.0", 12, true },
		{ "\xc3\xa9", 2, true }, { "\xe2\x82\xac", 3, true },
		{ "\xf0\x9f\x98\x80", 4, true }, { "\xf4\x8f\xbf\xbf", 4, true },
		{ "a\0b", 3, false }, { "\xc0\x80", 2, false },
		{ "\xc1\xbf", 2, false }, { "\xe0\x9f\xbf", 3, false },
		{ "\xed\xa0\x80", 3, false }, { "\xf0\x8f\xbf\xbf", 4, false },
		{ "\xf4\x90\x80\x80", 4, false }, { "\xf5\x80\x80\x80", 4, false },
		{ "\x80", 1, false }, { "\xc3", 1, false },
		{ "\xe2\x82", 2, false }, { "\xc3\x28", 2, false },
		{ "\xff", 1, false },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		ck_assert_msg(pb_utf8_valid((const uint8_t *)c[i].s,
		    c[i].len) == c[i].ok, "case %zu", i);
}
END_TEST

/* Parse one mutated input as what it claims to be; check canonicity. */
static void
parse_mutant(int public, const uint8_t *m, size_t n)
{
	struct pb_noise_payload p;
	struct identity *id;
	struct pubkey *k;
	const uint8_t *out;
	size_t outlen;

	if (!public) {
		id = identity_from_pb(m, n, NULL, 0);
		identity_free(id);
		return;
	}
	k = pubkey_parse(m, n, NULL, 0);
	if (k != NULL) {
		out = pubkey_bytes(k, &outlen);
		ck_assert_uint_eq(outlen, n);
		ck_assert_mem_eq(out, m, n);
	}
	pubkey_free(k);
	/* The same bytes as a Noise payload. */
	(void)pb_noise_payload_decode(m, n, &p);
}

/*
 * Mutated and truncated spec keys never crash the parsers; whatever is
 * accepted is canonical (re-encodes to the same bytes).
 */
START_TEST(test_mutations)
{
	enum key_type t = (enum key_type)_i;
	uint8_t *pb, *m, *exact;
	size_t len, n, i;
	int pub;

	for (pub = 0; pub < 2; pub++) {
		pb = spec_key(spec_names[t][pub], &len);
		m = malloc(len);
		ck_assert_ptr_nonnull(m);
		for (i = 0; i < 300; i++) {
			memcpy(m, pb, len);
			n = len;
			if (i % 4 == 0)
				n = randombytes_uniform((uint32_t)len);
			else
				m[randombytes_uniform((uint32_t)len)] ^=
				    (uint8_t)(1 + randombytes_uniform(255));
			/* An exact-size copy lets ASan catch over-reads. */
			exact = malloc(n > 0 ? n : 1);
			ck_assert_ptr_nonnull(exact);
			memcpy(exact, m, n);
			parse_mutant(pub, exact, n);
			free(exact);
		}
		free(m);
		free(pb);
	}
}
END_TEST

/*
 * Issue 13 item 2: RSA exponents.  e = 1 lets anyone sign for the peer
 * ID (every padded digest is its own signature); even or huge exponents
 * are refused too, the same modulus with e = 3, 65537, 2^31 - 1 is not.
 */
START_TEST(test_rsa_exponents)
{
	json_t *v = vec_load("rsa-weak-vectors.json"), *e;
	struct pubkey *k;
	const char *want;
	char err[256];
	size_t i;

	json_array_foreach(json_object_get(v, "pubkeys"), i, e) {
		err[0] = '\0';
		k = pub_from_hex(vec_str(e, "pubkey_pb_hex"), err,
		    sizeof(err));
		want = vec_str(e, "error");
		if (json_is_true(json_object_get(e, "valid"))) {
			ck_assert_msg(k != NULL, "e=%lld refused: %s",
			    json_integer_value(json_object_get(e, "e")), err);
			pubkey_free(k);
			continue;
		}
		ck_assert_msg(k == NULL, "e=%lld accepted",
		    json_integer_value(json_object_get(e, "e")));
		ck_assert_msg(strstr(err, want) != NULL, "want '%s', got '%s'",
		    want, err);
	}
	ck_assert_uint_eq(i, 7);
	json_decref(v);
}
END_TEST

/* A consistent e = d = 1 private key is refused as an identity too. */
START_TEST(test_rsa_private_exponent_one)
{
	json_t *v = vec_load("rsa-weak-vectors.json");
	struct identity *id;
	char err[256] = "";
	uint8_t *pb;
	size_t len;

	pb = hex_or_die(vec_str(v, "private_e1_pb_hex"), &len);
	id = identity_from_pb(pb, len, err, sizeof(err));
	ck_assert_msg(id == NULL, "e=1 identity loaded");
	ck_assert_str_eq(err, "private key: invalid rsa key data: RSA public "
	    "exponent 1 (need odd, 3..2^31-1)");
	free(pb);
	json_decref(v);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	/* RSA key generation is slow on a shared machine. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_spec_private_derives_public, 0, 4);
	tcase_add_loop_test(tc, test_spec_public_keys, 0, 4);
	tcase_add_loop_test(tc, test_spec_sign_verify, 0, 4);
	tcase_add_loop_test(tc, test_generated_sign_verify, 0, 4);
	tcase_add_test(tc, test_generate_bad_type);
	tcase_add_test(tc, test_independent_signatures);
	tcase_add_test(tc, test_secp256k1_low_s);
	tcase_add_test(tc, test_tls_vectors);
	tcase_add_test(tc, test_rsa_sizes);
	tcase_add_test(tc, test_rsa_exponents);
	tcase_add_test(tc, test_rsa_private_exponent_one);
	tcase_add_test(tc, test_ecdsa_variants);
	tcase_add_test(tc, test_pub_noncanonical);
	tcase_add_test(tc, test_pub_noncanonical_der);
	tcase_add_test(tc, test_private_variants);
	tcase_add_test(tc, test_ecdsa_private_mismatch);
	tcase_add_test(tc, test_rsa_private_inconsistent);
	tcase_add_test(tc, test_ecdsa_private_long_scalar);
	tcase_add_loop_test(tc, test_save_load, 0, 4);
	tcase_add_test(tc, test_save_load_generated);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_pb_key);
	tcase_add_test(tc, test_pb_noise_payload);
	tcase_add_test(tc, test_pb_noise_oversized);
	tcase_add_test(tc, test_pb_noise_extensions);
	tcase_add_test(tc, test_pb_utf8);
	tcase_add_loop_test(tc, test_mutations, 0, 4);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
