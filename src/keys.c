/*
 * keys.c - libp2p identity keys (peer-ids.md sections 1-2).
 *
 *   type       PublicKey.Data          PrivateKey.Data     signature
 *   RSA        PKIX SPKI DER           PKCS#1 DER          PKCS#1 v1.5 SHA-256
 *   Ed25519    32-byte point           seed32 || pub32     pure Ed25519
 *   Secp256k1  33-byte compressed      32-byte scalar      ECDSA SHA-256, DER
 *   ECDSA      PKIX SPKI DER           SEC1 ECPrivateKey   ECDSA SHA-256, DER
 *
 * Ed25519 runs on libsodium, the others on wolfCrypt.  No wolfCrypt key
 * object outlives a call: keys are kept as bytes and imported on use, so
 * every secret sits in exactly one wiped buffer inside struct identity.
 */
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "keys.h"
#include "pb.h"
#include "wire.h"

enum {
	ED25519_PUB_LEN = 32,
	ED25519_SK_LEN = 64,		/* seed || pub, libsodium's layout */
	ED25519_LEGACY_LEN = 96,	/* seed || pub || pub */
	ED25519_SIG_LEN = 64,
	SECP256K1_PUB_LEN = 33,
	SECP256K1_PRIV_LEN = 32,
	ECC_POINT_MAX = 1 + 2 * 66,	/* uncompressed P-521 */
	ECC_SCALAR_MAX = 66,
	RSA_MIN_BITS = 2048,		/* go MinRsaKeyBits */
	/*
	 * go's maxRsaKeyBits is 8192, but wolfCrypt can only verify up to
	 * its build-time RSA_MAX_SIZE (4096 in Debian 12's libwolfssl).
	 */
#if RSA_MAX_SIZE < 8192
	RSA_MAX_BITS = RSA_MAX_SIZE,
#else
	RSA_MAX_BITS = 8192,
#endif
	RSA_GEN_BITS = 2048,
	RSA_MAX_EXP_BITS = 31,		/* go crypto/rsa: e <= 2^31 - 1 */
	RSA_FLAT_MAX = 16384 / 8,	/* n or e bytes we look at */
	PRIV_DATA_MAX = 5120,		/* PKCS#1 DER of RSA-8192 ~ 4.7 KiB */
	PRIV_PB_MAX = PRIV_DATA_MAX + 8,
	SHA256_LEN = 32,
	DIGEST_INFO_MAX = 64		/* DER DigestInfo for SHA-256: 51 */
};

struct pubkey {
	enum key_type type;
	uint8_t pb[KEY_PB_MAX];		/* canonical PublicKey message */
	size_t pblen;
	const uint8_t *data;		/* Data field inside pb */
	size_t datalen;
	struct peer_id id;
};

struct identity {
	enum key_type type;
	uint8_t priv[PRIV_DATA_MAX];	/* PrivateKey.Data; secret */
	size_t privlen;
	struct pubkey *pub;
};

/* Group order of secp256k1 and n/2, for range and low-S checks. */
static const uint8_t secp256k1_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};
static const uint8_t secp256k1_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
};

static const char *key_names[] = {
	[KEY_RSA] = "rsa",
	[KEY_ED25519] = "ed25519",
	[KEY_SECP256K1] = "secp256k1",
	[KEY_ECDSA] = "ecdsa"
};

/* Write a formatted reason into err when the caller supplied one. */
static void __attribute__((format(printf, 3, 4)))
keys_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Initialise libsodium and wolfCrypt once; both calls are idempotent. */
static int
keys_lib_init(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int done;
	int rc = 0;

	pthread_mutex_lock(&mu);
	if (!done) {
		if (sodium_init() < 0 || wolfCrypt_Init() != 0)
			rc = -1;
		else
			done = 1;
	}
	pthread_mutex_unlock(&mu);
	return (rc);
}

/* True for the ECDSA curves we accept under KeyType ECDSA. */
static int
ecdsa_curve_ok(const ecc_key *k)
{
	if (k->dp == NULL)
		return (0);
	return (k->dp->id == ECC_SECP256R1 || k->dp->id == ECC_SECP384R1 ||
	    k->dp->id == ECC_SECP521R1);
}

/* Big-endian compare of two equal-length unsigned integers. */
static int
be_cmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (a[i] < b[i] ? -1 : 1);
	return (0);
}

/* One strict-DER INTEGER at *off: positive, minimal, short length. */
static int
der_int_ok(const uint8_t *s, size_t n, size_t *off)
{
	size_t o = *off, len;

	if (o + 2 > n || s[o] != 0x02 || s[o + 1] >= 0x80)
		return (-1);
	len = s[o + 1];
	o += 2;
	if (len == 0 || o + len > n || (s[o] & 0x80) != 0)
		return (-1);
	if (len > 1 && s[o] == 0 && (s[o + 1] & 0x80) == 0)
		return (-1);
	*off = o + len;
	return (0);
}

/* Strict DER SEQUENCE { INTEGER r, INTEGER s } with nothing trailing. */
static int
der_ecdsa_sig_ok(const uint8_t *s, size_t n)
{
	size_t off, seqlen;

	if (n < 8 || s[0] != 0x30)
		return (-1);
	if (s[1] < 0x80) {
		seqlen = s[1];
		off = 2;
	} else if (s[1] == 0x81 && s[2] >= 0x80) {
		seqlen = s[2];
		off = 3;
	} else
		return (-1);
	if (off + seqlen != n)
		return (-1);
	if (der_int_ok(s, n, &off) == -1 || der_int_ok(s, n, &off) == -1)
		return (-1);
	return (off == n ? 0 : -1);
}

/* ---- public keys ------------------------------------------------------ */

/* 33-byte compressed secp256k1 point -> canonical re-encoding. */
static int
canon_secp256k1(const uint8_t *d, size_t n, uint8_t *out, size_t *outlen)
{
	ecc_key k;
	word32 len = SECP256K1_PUB_LEN;
	int rc = -1;

	if (n != SECP256K1_PUB_LEN || (d[0] != 0x02 && d[0] != 0x03))
		return (-1);
	if (wc_ecc_init(&k) != 0)
		return (-1);
	if (wc_ecc_import_x963_ex(d, (word32)n, &k, ECC_SECP256K1) != 0)
		goto out;
	/* Decompression does not prove x is on the curve: check it. */
	if (wc_ecc_check_key(&k) != 0)
		goto out;
	if (wc_ecc_export_x963_ex(&k, out, &len, 1) != 0)
		goto out;
	*outlen = len;
	rc = 0;
out:
	wc_ecc_free(&k);
	return (rc);
}

/* PKIX SPKI of an ECDSA key -> canonical (uncompressed, named curve). */
static int
canon_ecdsa(const uint8_t *d, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	ecc_key k;
	word32 idx = 0;
	int rc = -1, len;

	if (wc_ecc_init(&k) != 0)
		return (-1);
	if (wc_EccPublicKeyDecode(d, &idx, &k, (word32)n) != 0 || idx != n)
		goto out;
	if (!ecdsa_curve_ok(&k) || wc_ecc_check_key(&k) != 0)
		goto out;
	len = wc_EccPublicKeyToDer(&k, out, (word32)cap, 1);
	if (len <= 0)
		goto out;
	*outlen = (size_t)len;
	rc = 0;
out:
	wc_ecc_free(&k);
	return (rc);
}

/* Significant bits of the big-endian unsigned integer b[0..n). */
static int
be_bits(const uint8_t *b, size_t n)
{
	int bits;

	while (n > 0 && *b == 0) {
		b++;
		n--;
	}
	if (n == 0)
		return (0);
	for (bits = 8; !(b[0] & (1u << (bits - 1))); bits--)
		;
	return ((int)(n - 1) * 8 + bits);
}

int
key_rsa_check(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    char *err, size_t errlen)
{
	int bits = be_bits(n, nlen), ebits = be_bits(e, elen);

	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		keys_err(err, errlen, "RSA key of %d bits (supported: %d..%d)",
		    bits, RSA_MIN_BITS, RSA_MAX_BITS);
		return (-1);
	}
	/* e = 1 makes every padded digest its own signature */
	if (ebits < 2 || ebits > RSA_MAX_EXP_BITS || !(e[elen - 1] & 1)) {
		keys_err(err, errlen, "RSA public exponent %s (need odd, "
		    "3..2^%d-1)", ebits == 0 ? "0" : ebits == 1 ? "1" :
		    ebits > RSA_MAX_EXP_BITS ? "too large" : "even",
		    RSA_MAX_EXP_BITS);
		return (-1);
	}
	return (0);
}

/* Modulus and exponent of k through key_rsa_check().  0 or -1. */
static int
rsa_key_check(RsaKey *k, char *err, size_t errlen)
{
	uint8_t n[RSA_FLAT_MAX], e[RSA_FLAT_MAX];
	word32 nlen = sizeof(n), elen = sizeof(e);

	if (wc_RsaFlattenPublicKey(k, e, &elen, n, &nlen) != 0) {
		keys_err(err, errlen, "RSA key of over %d bits (supported: "
		    "%d..%d)", RSA_FLAT_MAX * 8, RSA_MIN_BITS, RSA_MAX_BITS);
		return (-1);
	}
	return (key_rsa_check(n, nlen, e, elen, err, errlen));
}

/*
 * PKIX SPKI of an RSA key that passes key_rsa_check() -> canonical SPKI.
 * On failure writes the reason (without a "public key: " prefix).
 */
static int
canon_rsa(const uint8_t *d, size_t n, uint8_t *out, size_t cap,
    size_t *outlen, char *err, size_t errlen)
{
	RsaKey k;
	word32 idx = 0;
	int rc = -1, len;

	if (wc_InitRsaKey(&k, NULL) != 0) {
		keys_err(err, errlen, "out of memory");
		return (-1);
	}
	if (wc_RsaPublicKeyDecode(d, &idx, &k, (word32)n) != 0 || idx != n) {
		keys_err(err, errlen, "invalid RSA key (need PKIX "
		    "SubjectPublicKeyInfo DER)");
		goto out;
	}
	if (rsa_key_check(&k, err, errlen) == -1)
		goto out;
	len = wc_RsaKeyToPublicDer(&k, out, (word32)cap);
	if (len <= 0) {
		keys_err(err, errlen, "invalid RSA key (cannot re-encode)");
		goto out;
	}
	*outlen = (size_t)len;
	rc = 0;
out:
	wc_FreeRsaKey(&k);
	return (rc);
}

/* Parse Data of a given type into its canonical form. */
static int
canon_pubdata(int type, const uint8_t *d, size_t n, uint8_t *out,
    size_t cap, size_t *outlen, char *err, size_t errlen)
{
	char why[128];

	switch (type) {
	case KEY_ED25519:
		if (n != ED25519_PUB_LEN)
			break;
		memcpy(out, d, n);
		*outlen = n;
		return (0);
	case KEY_SECP256K1:
		if (canon_secp256k1(d, n, out, outlen) == 0)
			return (0);
		break;
	case KEY_ECDSA:
		if (canon_ecdsa(d, n, out, cap, outlen) == 0)
			return (0);
		break;
	case KEY_RSA:
		if (canon_rsa(d, n, out, cap, outlen, why, sizeof(why)) == 0)
			return (0);
		keys_err(err, errlen, "public key: %s", why);
		return (-1);
	default:
		keys_err(err, errlen, "public key: unsupported key type %d",
		    type);
		return (-1);
	}
	keys_err(err, errlen, "public key: invalid %s key data",
	    key_type_name((enum key_type)type));
	return (-1);
}

/* "rsa", "ed25519", "secp256k1", "ecdsa"; "unknown" otherwise. */
const char *
key_type_name(enum key_type t)
{
	if ((int)t < 0 || (int)t > KEY_ECDSA)
		return ("unknown");
	return (key_names[t]);
}

/* Inverse of key_type_name. */
int
key_type_parse(const char *s, enum key_type *t)
{
	int i;

	if (s == NULL || t == NULL)
		return (-1);
	for (i = KEY_RSA; i <= KEY_ECDSA; i++) {
		if (strcmp(s, key_names[i]) == 0) {
			*t = (enum key_type)i;
			return (0);
		}
	}
	return (-1);
}

/*
 * Decode, validate the key data, re-encode canonically and require the
 * input to be exactly that encoding.
 */
struct pubkey *
pubkey_parse(const uint8_t *pb, size_t len, char *err, size_t errlen)
{
	uint8_t data[KEY_PB_MAX], canon[KEY_PB_MAX];
	size_t datalen, canonlen, pblen;
	struct pubkey *k;
	int type;

	if (keys_lib_init() == -1) {
		keys_err(err, errlen, "public key: crypto init failed");
		return (NULL);
	}
	if (pb == NULL || len == 0 || len > KEY_PB_MAX) {
		keys_err(err, errlen, "public key: bad length %zu", len);
		return (NULL);
	}
	if (pb_key_decode(pb, len, &type, data, sizeof(data),
	    &datalen) == -1) {
		keys_err(err, errlen, "public key: malformed protobuf");
		return (NULL);
	}
	if (canon_pubdata(type, data, datalen, canon, sizeof(canon),
	    &canonlen, err, errlen) == -1)
		return (NULL);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		keys_err(err, errlen, "public key: out of memory");
		return (NULL);
	}
	pblen = pb_key_encode(type, canon, canonlen, k->pb, sizeof(k->pb));
	if (pblen == 0 || pblen != len || memcmp(k->pb, pb, len) != 0) {
		keys_err(err, errlen, "public key: non-canonical encoding");
		goto fail;
	}
	k->type = (enum key_type)type;
	k->pblen = pblen;
	k->datalen = canonlen;
	k->data = k->pb + (pblen - canonlen);
	if (peer_id_from_pubkey_pb(k->pb, k->pblen, &k->id) == -1) {
		keys_err(err, errlen, "public key: cannot derive peer ID");
		goto fail;
	}
	return (k);
fail:
	free(k);
	return (NULL);
}

/* Public keys hold no secrets. */
void
pubkey_free(struct pubkey *k)
{
	free(k);
}

/* Key type of k. */
enum key_type
pubkey_type(const struct pubkey *k)
{
	return (k->type);
}

/* Canonical serialized PublicKey (owned by k). */
const uint8_t *
pubkey_bytes(const struct pubkey *k, size_t *len)
{
	*len = k->pblen;
	return (k->pb);
}

/* Peer ID derived from the canonical bytes. */
const struct peer_id *
pubkey_peer_id(const struct pubkey *k)
{
	return (&k->id);
}

/* ECDSA (any accepted curve) over SHA-256(msg), strict DER signature. */
static int
verify_ecc(const struct pubkey *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	uint8_t hash[SHA256_LEN];
	ecc_key ek;
	word32 idx = 0;
	int res = 0, rc = -1;

	if (der_ecdsa_sig_ok(sig, siglen) == -1)
		return (-1);
	crypto_hash_sha256(hash, msg, msglen);
	if (wc_ecc_init(&ek) != 0)
		return (-1);
	if (k->type == KEY_SECP256K1) {
		if (wc_ecc_import_x963_ex(k->data, (word32)k->datalen, &ek,
		    ECC_SECP256K1) != 0)
			goto out;
	} else if (wc_EccPublicKeyDecode(k->data, &idx, &ek,
	    (word32)k->datalen) != 0)
		goto out;
	if (wc_ecc_verify_hash(sig, (word32)siglen, hash, sizeof(hash), &res,
	    &ek) == 0 && res == 1)
		rc = 0;
out:
	wc_ecc_free(&ek);
	return (rc);
}

/* DigestInfo(SHA-256, SHA-256(msg)) as PKCS#1 v1.5 signs it. */
static int
rsa_digest_info(const uint8_t *msg, size_t msglen, uint8_t *out,
    size_t cap, word32 *outlen)
{
	uint8_t hash[SHA256_LEN];
	int oid;

	if (cap < DIGEST_INFO_MAX)
		return (-1);
	crypto_hash_sha256(hash, msg, msglen);
	if ((oid = wc_HashGetOID(WC_HASH_TYPE_SHA256)) <= 0)
		return (-1);
	*outlen = wc_EncodeSignature(out, hash, sizeof(hash), oid);
	return (*outlen == 0 ? -1 : 0);
}

/*
 * RSASSA-PKCS1-v1_5 with SHA-256: the signature is exactly |n| bytes and
 * must recover exactly our DigestInfo.
 */
static int
verify_rsa(const struct pubkey *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	uint8_t want[DIGEST_INFO_MAX], got[SIG_MAX];
	RsaKey rk;
	word32 idx = 0, wantlen;
	int rc = -1, n;

	if (rsa_digest_info(msg, msglen, want, sizeof(want), &wantlen) == -1)
		return (-1);
	if (wc_InitRsaKey(&rk, NULL) != 0)
		return (-1);
	if (wc_RsaPublicKeyDecode(k->data, &idx, &rk,
	    (word32)k->datalen) != 0)
		goto out;
	if (wc_RsaEncryptSize(&rk) != (int)siglen)
		goto out;
	n = wc_RsaSSL_Verify(sig, (word32)siglen, got, sizeof(got), &rk);
	if (n == (int)wantlen && memcmp(got, want, wantlen) == 0)
		rc = 0;
out:
	wc_FreeRsaKey(&rk);
	return (rc);
}

/* Dispatch on the key type. */
int
pubkey_verify(const struct pubkey *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	if (k == NULL || sig == NULL || siglen == 0 || siglen > SIG_MAX ||
	    (msg == NULL && msglen != 0) || msglen > UINT32_MAX)
		return (-1);
	if (msg == NULL)
		msg = (const uint8_t *)"";
	switch (k->type) {
	case KEY_ED25519:
		if (siglen != ED25519_SIG_LEN)
			return (-1);
		return (crypto_sign_verify_detached(sig, msg, msglen,
		    k->data) == 0 ? 0 : -1);
	case KEY_SECP256K1:
	case KEY_ECDSA:
		return (verify_ecc(k, msg, msglen, sig, siglen));
	case KEY_RSA:
		return (verify_rsa(k, msg, msglen, sig, siglen));
	}
	return (-1);
}

/* ---- private keys ----------------------------------------------------- */

/* Free a wolfCrypt ECC key that held a private scalar, and wipe it. */
static void
ecc_key_wipe(ecc_key *k)
{
	wc_ecc_free(k);
	sodium_memzero(k, sizeof(*k));
}

/* Free a wolfCrypt RSA key that held private factors, and wipe it. */
static void
rsa_key_wipe(RsaKey *k)
{
	wc_FreeRsaKey(k);
	sodium_memzero(k, sizeof(*k));
}

/*
 * Import a raw private scalar and compute its public point.  The scalar
 * must be in [1, n-1] for secp256k1 (wolfCrypt checks the other curves).
 */
static int
ecc_from_scalar(const uint8_t *d, size_t n, int curve, ecc_key *k)
{
	static const uint8_t zero[SECP256K1_PRIV_LEN];

	if (curve == ECC_SECP256K1 && (n != SECP256K1_PRIV_LEN ||
	    be_cmp(d, secp256k1_n, n) >= 0 || sodium_memcmp(d, zero, n) == 0))
		return (-1);
	if (wc_ecc_init(k) != 0)
		return (-1);
	if (wc_ecc_import_private_key_ex(d, (word32)n, NULL, 0, k,
	    curve) != 0 || wc_ecc_make_pub(k, NULL) != 0) {
		ecc_key_wipe(k);
		return (-1);
	}
	return (0);
}

/* Ed25519: seed || pub (or legacy seed || pub || pub); pub must match. */
static int
priv_ed25519(struct identity *id, const uint8_t *d, size_t n,
    uint8_t *pub, size_t *publen)
{
	uint8_t pk[ED25519_PUB_LEN];

	if (n != ED25519_SK_LEN && n != ED25519_LEGACY_LEN)
		return (-1);
	if (n == ED25519_LEGACY_LEN && sodium_memcmp(d + 32, d + 64, 32) != 0)
		return (-1);
	if (crypto_sign_seed_keypair(pk, id->priv, d) != 0)
		return (-1);
	if (sodium_memcmp(pk, d + 32, ED25519_PUB_LEN) != 0)
		return (-1);
	id->privlen = ED25519_SK_LEN;
	memcpy(pub, pk, ED25519_PUB_LEN);
	*publen = ED25519_PUB_LEN;
	return (0);
}

/* secp256k1: 32-byte scalar -> compressed public point. */
static int
priv_secp256k1(struct identity *id, const uint8_t *d, size_t n,
    uint8_t *pub, size_t *publen)
{
	ecc_key k;
	word32 len = SECP256K1_PUB_LEN;
	int rc = -1;

	if (ecc_from_scalar(d, n, ECC_SECP256K1, &k) == -1)
		return (-1);
	if (wc_ecc_export_x963_ex(&k, pub, &len, 1) == 0) {
		memcpy(id->priv, d, n);
		id->privlen = n;
		*publen = len;
		rc = 0;
	}
	ecc_key_wipe(&k);
	return (rc);
}

/*
 * Length of the privateKey OCTET STRING of a SEC1 ECPrivateKey
 * (SEQUENCE { INTEGER 1, OCTET STRING d, ... }), or 0 if the DER does not
 * start that way.  wolfSSL imports a scalar of any length and picks a
 * curve for it, and exporting such a key later reads out of bounds
 * (found by fuzz_privkey): the length must equal the curve size.
 */
static size_t
sec1_scalar_len(const uint8_t *d, size_t n)
{
	size_t i = 2;

	if (n < 2 || d[0] != 0x30)
		return 0;
	if (d[1] == 0x81)
		i = 3;
	else if (d[1] == 0x82)
		i = 4;
	else if (d[1] & 0x80)
		return 0;
	if (n < i + 5 || d[i] != 0x02 || d[i + 1] != 0x01 ||
	    d[i + 2] != 0x01 || d[i + 3] != 0x04 || (d[i + 4] & 0x80))
		return 0;
	return d[i + 4];
}

/*
 * ECDSA: SEC1 ECPrivateKey DER.  The public key is recomputed from the
 * scalar; an embedded public key must agree with it.
 */
static int
priv_ecdsa(struct identity *id, const uint8_t *d, size_t n,
    uint8_t *pub, size_t cap, size_t *publen)
{
	ecc_key k, k2;
	uint8_t scalar[ECC_SCALAR_MAX], p1[ECC_POINT_MAX], p2[ECC_POINT_MAX];
	word32 idx = 0, slen = sizeof(scalar), l1 = sizeof(p1);
	word32 l2 = sizeof(p2);
	int rc = -1, len, have2 = 0;

	if (wc_ecc_init(&k) != 0)
		return (-1);
	if (wc_EccPrivateKeyDecode(d, &idx, &k, (word32)n) != 0 || idx != n ||
	    !ecdsa_curve_ok(&k) || sec1_scalar_len(d, n) != (size_t)k.dp->size)
		goto out;
	if (wc_ecc_export_private_only(&k, scalar, &slen) != 0)
		goto out;
	if (ecc_from_scalar(scalar, slen, k.dp->id, &k2) == -1)
		goto out;
	have2 = 1;
	if (wc_ecc_export_x963(&k2, p2, &l2) != 0)
		goto out;
	if (k.type == ECC_PRIVATEKEY) {
		if (wc_ecc_export_x963(&k, p1, &l1) != 0 || l1 != l2 ||
		    memcmp(p1, p2, l1) != 0)
			goto out;
	}
	len = wc_EccPublicKeyToDer(&k2, pub, (word32)cap, 1);
	if (len <= 0)
		goto out;
	memcpy(id->priv, d, n);
	id->privlen = n;
	*publen = (size_t)len;
	rc = 0;
out:
	if (have2)
		wc_ecc_free(&k2);
	wc_ecc_free(&k);
	sodium_memzero(scalar, sizeof(scalar));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(&k2, sizeof(k2));
	return (rc);
}

/* RSA: PKCS#1 RSAPrivateKey DER passing key_rsa_check() -> PKIX SPKI. */
static int
priv_rsa(struct identity *id, const uint8_t *d, size_t n,
    uint8_t *pub, size_t cap, size_t *publen, char *why, size_t whylen)
{
	RsaKey k;
	word32 idx = 0;
	int rc = -1, len;

	if (wc_InitRsaKey(&k, NULL) != 0)
		return (-1);
	if (wc_RsaPrivateKeyDecode(d, &idx, &k, (word32)n) != 0 || idx != n)
		goto out;
	if (rsa_key_check(&k, why, whylen) == -1)
		goto out;
	len = wc_RsaKeyToPublicDer(&k, pub, (word32)cap);
	if (len <= 0)
		goto out;
	memcpy(id->priv, d, n);
	id->privlen = n;
	*publen = (size_t)len;
	rc = 0;
out:
	rsa_key_wipe(&k);
	return (rc);
}

/*
 * Build an identity from a type and PrivateKey.Data: validate, store the
 * secret, derive and parse the public key.
 */
static struct identity *
identity_from_data(int type, const uint8_t *d, size_t n, char *err,
    size_t errlen)
{
	struct identity *id;
	uint8_t pubdata[KEY_PB_MAX], pubpb[KEY_PB_MAX];
	size_t publen = 0, pblen;
	char why[128] = "";
	int rc;

	if (n > PRIV_DATA_MAX) {
		keys_err(err, errlen, "private key: key data too large");
		return (NULL);
	}
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		keys_err(err, errlen, "private key: out of memory");
		return (NULL);
	}
	switch (type) {
	case KEY_ED25519:
		rc = priv_ed25519(id, d, n, pubdata, &publen);
		break;
	case KEY_SECP256K1:
		rc = priv_secp256k1(id, d, n, pubdata, &publen);
		break;
	case KEY_ECDSA:
		rc = priv_ecdsa(id, d, n, pubdata, sizeof(pubdata), &publen);
		break;
	case KEY_RSA:
		rc = priv_rsa(id, d, n, pubdata, sizeof(pubdata), &publen,
		    why, sizeof(why));
		break;
	default:
		keys_err(err, errlen, "private key: unsupported key type %d",
		    type);
		goto fail;
	}
	if (rc == -1) {
		keys_err(err, errlen, "private key: invalid %s key data%s%s",
		    key_type_name((enum key_type)type), why[0] ? ": " : "",
		    why);
		goto fail;
	}
	id->type = (enum key_type)type;
	pblen = pb_key_encode(type, pubdata, publen, pubpb, sizeof(pubpb));
	if (pblen == 0 || (id->pub = pubkey_parse(pubpb, pblen, err,
	    errlen)) == NULL)
		goto fail;
	return (id);
fail:
	identity_free(id);
	return (NULL);
}

/*
 * Pairwise consistency test of a loaded key: sign a fixed message and
 * verify it with the public key.  A key file that decodes but cannot
 * sign for its own public key is refused at load, not at first use.
 */
static int
identity_selftest(const struct identity *id)
{
	static const uint8_t msg[] = "peerlock identity self-test";
	uint8_t sig[SIG_MAX];
	size_t siglen;

	if (identity_sign(id, msg, sizeof(msg), sig, sizeof(sig),
	    &siglen) == -1)
		return (-1);
	return (pubkey_verify(id->pub, msg, sizeof(msg), sig, siglen));
}

/* Parse a PrivateKey message; it must be canonically encoded. */
struct identity *
identity_from_pb(const uint8_t *pb, size_t len, char *err, size_t errlen)
{
	struct identity *id = NULL;
	uint8_t *data, *canon;
	size_t datalen, clen;
	int type;

	if (keys_lib_init() == -1) {
		keys_err(err, errlen, "private key: crypto init failed");
		return (NULL);
	}
	if (pb == NULL || len == 0 || len > PRIV_PB_MAX) {
		keys_err(err, errlen, "private key: bad length %zu", len);
		return (NULL);
	}
	data = malloc(PRIV_DATA_MAX);
	canon = malloc(PRIV_PB_MAX);
	if (data == NULL || canon == NULL) {
		keys_err(err, errlen, "private key: out of memory");
		goto out;
	}
	if (pb_key_decode(pb, len, &type, data, PRIV_DATA_MAX,
	    &datalen) == -1) {
		keys_err(err, errlen, "private key: malformed protobuf");
		goto out;
	}
	clen = pb_key_encode(type, data, datalen, canon, PRIV_PB_MAX);
	if (clen == 0 || clen != len || sodium_memcmp(canon, pb, len) != 0) {
		keys_err(err, errlen, "private key: non-canonical encoding");
		goto out;
	}
	id = identity_from_data(type, data, datalen, err, errlen);
	if (id != NULL && identity_selftest(id) == -1) {
		/* e.g. an RSA key whose CRT parameters do not match */
		keys_err(err, errlen, "private key: inconsistent %s key "
		    "(a test signature does not verify)",
		    key_type_name(id->type));
		identity_free(id);
		id = NULL;
	}
out:
	if (canon != NULL) {
		sodium_memzero(canon, PRIV_PB_MAX);
		free(canon);
	}
	if (data != NULL) {
		sodium_memzero(data, PRIV_DATA_MAX);
		free(data);
	}
	return (id);
}

/* Wipe the secret and free. */
void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	pubkey_free(id->pub);
	sodium_memzero(id, sizeof(*id));
	free(id);
}

/* Key type of our identity. */
enum key_type
identity_type(const struct identity *id)
{
	return (id->type);
}

/* Our public key (owned by id). */
const struct pubkey *
identity_pubkey(const struct identity *id)
{
	return (id->pub);
}

/* Our peer ID (owned by id). */
const struct peer_id *
identity_peer_id(const struct identity *id)
{
	return (&id->pub->id);
}

/* ---- generation ------------------------------------------------------- */

/* Fresh EC key on curve; Data is the scalar (secp256k1) or SEC1 DER. */
static int
gen_ecc(int curve, uint8_t *out, size_t cap, size_t *outlen)
{
	WC_RNG rng;
	ecc_key k;
	word32 len = (word32)cap;
	int rc = -1, n;

	if (wc_InitRng(&rng) != 0)
		return (-1);
	if (wc_ecc_init(&k) != 0)
		goto out_rng;
	if (wc_ecc_make_key_ex(&rng, wc_ecc_get_curve_size_from_id(curve), &k,
	    curve) != 0)
		goto out;
	if (curve == ECC_SECP256K1) {
		/* Left-pad the scalar to 32 bytes should it come out short. */
		if (cap < SECP256K1_PRIV_LEN || wc_ecc_export_private_only(&k,
		    out, &len) != 0 || len > SECP256K1_PRIV_LEN)
			goto out;
		memmove(out + SECP256K1_PRIV_LEN - len, out, len);
		memset(out, 0, SECP256K1_PRIV_LEN - len);
		*outlen = SECP256K1_PRIV_LEN;
	} else {
		if ((n = wc_EccKeyToDer(&k, out, (word32)cap)) <= 0)
			goto out;
		*outlen = (size_t)n;
	}
	rc = 0;
out:
	ecc_key_wipe(&k);
out_rng:
	wc_FreeRng(&rng);
	return (rc);
}

/* Fresh RSA-2048 key, e = 65537; Data is PKCS#1 DER. */
static int
gen_rsa(uint8_t *out, size_t cap, size_t *outlen)
{
	WC_RNG rng;
	RsaKey k;
	int rc = -1, n;

	if (wc_InitRng(&rng) != 0)
		return (-1);
	if (wc_InitRsaKey(&k, NULL) != 0)
		goto out_rng;
	if (wc_MakeRsaKey(&k, RSA_GEN_BITS, WC_RSA_EXPONENT, &rng) != 0)
		goto out;
	if ((n = wc_RsaKeyToDer(&k, out, (word32)cap)) <= 0)
		goto out;
	*outlen = (size_t)n;
	rc = 0;
out:
	rsa_key_wipe(&k);
out_rng:
	wc_FreeRng(&rng);
	return (rc);
}

/* Generate, then go through the same validation as a loaded key. */
struct identity *
identity_generate(enum key_type t)
{
	struct identity *id = NULL;
	uint8_t *data, pk[ED25519_PUB_LEN];
	size_t len = 0;
	int rc = -1;

	if (keys_lib_init() == -1)
		return (NULL);
	if ((data = malloc(PRIV_DATA_MAX)) == NULL)
		return (NULL);
	switch (t) {
	case KEY_ED25519:
		rc = crypto_sign_keypair(pk, data);
		len = ED25519_SK_LEN;
		break;
	case KEY_SECP256K1:
		rc = gen_ecc(ECC_SECP256K1, data, PRIV_DATA_MAX, &len);
		break;
	case KEY_ECDSA:
		rc = gen_ecc(ECC_SECP256R1, data, PRIV_DATA_MAX, &len);
		break;
	case KEY_RSA:
		rc = gen_rsa(data, PRIV_DATA_MAX, &len);
		break;
	}
	if (rc == 0)
		id = identity_from_data(t, data, len, NULL, 0);
	sodium_memzero(data, PRIV_DATA_MAX);
	free(data);
	return (id);
}

/* ---- signing ---------------------------------------------------------- */

/* Replace s by n - s when s > n/2 (secp256k1 low-S, BIP-62 style). */
static int
ecdsa_low_s(uint8_t *sig, size_t cap, size_t *siglen)
{
	uint8_t r[33], s[33], s32[32], ns[32];
	word32 rl = sizeof(r), sl = sizeof(s), ol = (word32)cap;
	unsigned int borrow = 0, v;
	int i;

	if (wc_ecc_sig_to_rs(sig, (word32)*siglen, r, &rl, s, &sl) != 0)
		return (-1);
	/* Strip a sign byte, left-pad to 32 bytes. */
	while (sl > 0 && s[0] == 0) {
		memmove(s, s + 1, --sl);
	}
	if (sl > 32)
		return (-1);
	memset(s32, 0, sizeof(s32));
	memcpy(s32 + 32 - sl, s, sl);
	if (be_cmp(s32, secp256k1_half_n, 32) <= 0)
		return (0);
	for (i = 31; i >= 0; i--) {
		v = (unsigned int)secp256k1_n[i] - s32[i] - borrow;
		ns[i] = (uint8_t)v;
		borrow = (v >> 8) & 1;
	}
	for (i = 0; i < 31 && ns[i] == 0; i++)
		;
	if (wc_ecc_rs_raw_to_sig(r, rl, ns + i, (word32)(32 - i), sig,
	    &ol) != 0)
		return (-1);
	*siglen = ol;
	return (0);
}

/* ECDSA over SHA-256 with the stored secp256k1 scalar or SEC1 key. */
static int
sign_ecc(const struct identity *id, const uint8_t *msg, size_t msglen,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	uint8_t hash[SHA256_LEN];
	WC_RNG rng;
	ecc_key k;
	word32 idx = 0, len = (word32)cap;
	int rc = -1;

	crypto_hash_sha256(hash, msg, msglen);
	if (wc_InitRng(&rng) != 0)
		return (-1);
	if (id->type == KEY_SECP256K1) {
		if (ecc_from_scalar(id->priv, id->privlen, ECC_SECP256K1,
		    &k) == -1)
			goto out_rng;
	} else {
		if (wc_ecc_init(&k) != 0)
			goto out_rng;
		if (wc_EccPrivateKeyDecode(id->priv, &idx, &k,
		    (word32)id->privlen) != 0)
			goto out;
	}
	if (wc_ecc_sign_hash(hash, sizeof(hash), sig, &len, &rng, &k) != 0)
		goto out;
	*siglen = len;
	if (id->type == KEY_SECP256K1 && ecdsa_low_s(sig, cap, siglen) == -1)
		goto out;
	rc = 0;
out:
	ecc_key_wipe(&k);
out_rng:
	wc_FreeRng(&rng);
	return (rc);
}

/* RSASSA-PKCS1-v1_5 with SHA-256 (blinded, hence the RNG). */
static int
sign_rsa(const struct identity *id, const uint8_t *msg, size_t msglen,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	uint8_t di[DIGEST_INFO_MAX];
	WC_RNG rng;
	RsaKey k;
	word32 idx = 0, dilen;
	int rc = -1, n;

	if (rsa_digest_info(msg, msglen, di, sizeof(di), &dilen) == -1)
		return (-1);
	if (wc_InitRng(&rng) != 0)
		return (-1);
	if (wc_InitRsaKey(&k, NULL) != 0)
		goto out_rng;
	if (wc_RsaPrivateKeyDecode(id->priv, &idx, &k,
	    (word32)id->privlen) != 0 || wc_RsaSetRNG(&k, &rng) != 0)
		goto out;
	if (wc_RsaEncryptSize(&k) > (int)cap)
		goto out;
	n = wc_RsaSSL_Sign(di, dilen, sig, (word32)cap, &k, &rng);
	if (n <= 0)
		goto out;
	*siglen = (size_t)n;
	rc = 0;
out:
	rsa_key_wipe(&k);
out_rng:
	wc_FreeRng(&rng);
	return (rc);
}

/* Sign msg with the scheme of our key type. */
int
identity_sign(const struct identity *id, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t cap, size_t *siglen)
{
	unsigned long long l;

	if (id == NULL || sig == NULL || siglen == NULL ||
	    (msg == NULL && msglen != 0) || msglen > UINT32_MAX ||
	    cap > UINT32_MAX)
		return (-1);
	if (msg == NULL)
		msg = (const uint8_t *)"";
	switch (id->type) {
	case KEY_ED25519:
		if (cap < ED25519_SIG_LEN)
			return (-1);
		if (crypto_sign_detached(sig, &l, msg, msglen,
		    id->priv) != 0)
			return (-1);
		*siglen = (size_t)l;
		return (0);
	case KEY_SECP256K1:
	case KEY_ECDSA:
		return (sign_ecc(id, msg, msglen, sig, cap, siglen));
	case KEY_RSA:
		return (sign_rsa(id, msg, msglen, sig, cap, siglen));
	}
	return (-1);
}

/* ---- files ------------------------------------------------------------ */

/* Write all of buf to fd, retrying on EINTR and short writes. */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Create path exclusively with mode 0600 and write the PrivateKey. */
int
identity_save(const struct identity *id, const char *path, char *err,
    size_t errlen)
{
	uint8_t *pb;
	size_t len;
	int fd, rc = -1, e;

	if (id == NULL || path == NULL) {
		keys_err(err, errlen, "identity: no key or path");
		return (-1);
	}
	if ((pb = malloc(PRIV_PB_MAX)) == NULL) {
		keys_err(err, errlen, "identity: out of memory");
		return (-1);
	}
	len = pb_key_encode(id->type, id->priv, id->privlen, pb, PRIV_PB_MAX);
	if (len == 0) {
		keys_err(err, errlen, "identity: cannot encode key");
		goto out;
	}
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			keys_err(err, errlen, "identity: %s already exists, "
			    "refusing to overwrite", path);
		else
			keys_err(err, errlen, "identity: cannot create %s: %s",
			    path, strerror(errno));
		goto out;
	}
	if (write_all(fd, pb, len) == -1 || fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlink(path);
		keys_err(err, errlen, "identity: cannot write %s: %s", path,
		    strerror(e));
		goto out;
	}
	if (close(fd) == -1) {
		e = errno;
		unlink(path);
		keys_err(err, errlen, "identity: cannot write %s: %s", path,
		    strerror(e));
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(pb, PRIV_PB_MAX);
	free(pb);
	return (rc);
}

/* Read at most cap bytes of fd; *len is set.  -1 on error or overflow. */
static int
read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	size_t off = 0;
	ssize_t n;

	uint8_t extra;

	for (;;) {
		/* Once full, one more byte means the file is too large. */
		if (off == cap)
			n = read(fd, &extra, 1);
		else
			n = read(fd, buf + off, cap - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && off == cap))
			return (-1);
		if (n == 0)
			break;
		off += (size_t)n;
	}
	*len = off;
	return (0);
}

/* Open, check ownership bits, read and parse a PrivateKey file. */
struct identity *
identity_load(const char *path, char *err, size_t errlen)
{
	struct identity *id = NULL;
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	char why[128];
	int fd;

	if (path == NULL) {
		keys_err(err, errlen, "identity: no path");
		return (NULL);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		keys_err(err, errlen, "identity: cannot open %s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		keys_err(err, errlen, "identity: %s is not a regular file",
		    path);
		close(fd);
		return (NULL);
	}
	if ((st.st_mode & 077) != 0) {
		keys_err(err, errlen, "identity: %s is readable by "
		    "group/others (mode %04o); chmod 600 %s", path,
		    (unsigned int)(st.st_mode & 07777), path);
		close(fd);
		return (NULL);
	}
	if ((buf = malloc(PRIV_PB_MAX)) == NULL) {
		keys_err(err, errlen, "identity: out of memory");
		close(fd);
		return (NULL);
	}
	if (read_all(fd, buf, PRIV_PB_MAX, &len) == -1)
		keys_err(err, errlen, "identity: cannot read %s (error or "
		    "larger than %d bytes)", path, PRIV_PB_MAX);
	else if (len == 0)
		keys_err(err, errlen, "identity: %s is empty", path);
	else if ((id = identity_from_pb(buf, len, why, sizeof(why))) == NULL)
		keys_err(err, errlen, "identity: %s: %s", path, why);
	close(fd);
	sodium_memzero(buf, PRIV_PB_MAX);
	free(buf);
	return (id);
}
