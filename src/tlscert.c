/*
 * tlscert.c - libp2p TLS certificates: generate and verify (L1, no I/O).
 *
 * wolfSSL has no API for a custom-OID extension, so the certificate is
 * written here with a tiny DER writer, and parsed back with a strict DER
 * reader (definite lengths, minimal length octets, low tag numbers only,
 * no trailing bytes anywhere).  wolfCrypt does the ECDSA and RSA maths,
 * libsodium Ed25519.
 *
 *	Certificate ::= SEQUENCE {
 *	  TBSCertificate ::= SEQUENCE {
 *	    [0] EXPLICIT INTEGER 2			-- v3
 *	    serialNumber INTEGER			-- 8 random bytes
 *	    signature AlgorithmIdentifier		-- ecdsa-with-SHA256
 *	    issuer Name					-- serialNumber=<random>
 *	    validity SEQUENCE { notBefore, notAfter }
 *	    subject Name				-- = issuer
 *	    subjectPublicKeyInfo			-- P-256, 91 bytes
 *	    [3] EXPLICIT SEQUENCE { libp2p extension } }
 *	  signatureAlgorithm AlgorithmIdentifier
 *	  signatureValue BIT STRING }
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "tlscert.h"
#include "wire.h"

enum {
	DER_BOOLEAN = 0x01,
	DER_INTEGER = 0x02,
	DER_BITSTRING = 0x03,
	DER_OCTETSTRING = 0x04,
	DER_NULL = 0x05,
	DER_OID = 0x06,
	DER_UTCTIME = 0x17,
	DER_GENTIME = 0x18,
	DER_PRINTABLE = 0x13,
	DER_SEQUENCE = 0x30,
	DER_SET = 0x31,
	DER_CTX0 = 0xa0,	/* [0] constructed: version */
	DER_CTX1 = 0x81,	/* [1] primitive: issuerUniqueID */
	DER_CTX2 = 0x82,	/* [2] primitive: subjectUniqueID */
	DER_CTX3 = 0xa3,	/* [3] constructed: extensions */

	PREFIX_LEN = sizeof(TLSCERT_SIG_PREFIX) - 1,
	SPKI_MAX = 1024,	/* RSA-4096 SPKI is ~550 bytes */
	SIG_BUF = 1024
};

/* OID contents octets (without tag and length). */
static const uint8_t OID_LIBP2P[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xa2, 0x5a, 0x01, 0x01 };
static const uint8_t OID_EC_PUBKEY[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t OID_ED25519[] = { 0x2b, 0x65, 0x70 };
static const uint8_t OID_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t OID_ECDSA_SHA256[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t OID_ECDSA_SHA384[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t OID_RSA_SHA256[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b };
static const uint8_t OID_RSA_SHA384[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c };
static const uint8_t OID_RSA_SHA512[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d };
static const uint8_t OID_SHA256[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t OID_SHA384[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
static const uint8_t OID_SHA512[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 };
static const uint8_t OID_DN_SERIAL[] = { 0x55, 0x04, 0x05 };
/* Test-only extensions 1.2.3.4 and 1.2.3.5. */
static const uint8_t OID_TEST_CRIT[] = { 0x2a, 0x03, 0x04 };
static const uint8_t OID_TEST_NONCRIT[] = { 0x2a, 0x03, 0x05 };
/* Standard extensions we understand well enough to accept as critical. */
static const uint8_t OID_KEY_USAGE[] = { 0x55, 0x1d, 0x0f };
static const uint8_t OID_BASIC_CONSTRAINTS[] = { 0x55, 0x1d, 0x13 };
static const uint8_t OID_EXT_KEY_USAGE[] = { 0x55, 0x1d, 0x25 };
static const uint8_t OID_SUBJECT_ALT_NAME[] = { 0x55, 0x1d, 0x11 };

/* DER of SubjectPublicKeyInfo up to the P-256 point (26 bytes). */
static const uint8_t SPKI_P256_HDR[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07, 0x03, 0x42, 0x00 };

/* ---- DER reader ------------------------------------------------------ */

/* A window of DER bytes still to be read. */
struct der {
	const uint8_t *p;
	size_t len;
};

/* One TLV: tag, contents, and the whole encoding. */
struct tlv {
	uint8_t tag;
	struct der val;
	const uint8_t *raw;
	size_t rawlen;
};

/* Read the next TLV from d (strict DER lengths).  Returns 0 or -1. */
static int
der_next(struct der *d, struct tlv *t)
{
	size_t n, hdr, i, nlen;

	if (d->len < 2)
		return -1;
	t->tag = d->p[0];
	if ((t->tag & 0x1f) == 0x1f)
		return -1;	/* high tag numbers never occur here */
	n = d->p[1];
	hdr = 2;
	if (n & 0x80) {
		nlen = n & 0x7f;
		if (nlen == 0 || nlen > 3 || d->len < 2 + nlen)
			return -1;	/* indefinite or absurd */
		if (d->p[2] == 0)
			return -1;	/* leading zero length octet */
		n = 0;
		for (i = 0; i < nlen; i++)
			n = (n << 8) | d->p[2 + i];
		if (n < 0x80)
			return -1;	/* should have used short form */
		hdr += nlen;
	}
	if (n > d->len - hdr)
		return -1;
	t->raw = d->p;
	t->rawlen = hdr + n;
	t->val.p = d->p + hdr;
	t->val.len = n;
	d->p += t->rawlen;
	d->len -= t->rawlen;
	return 0;
}

/* Read the next TLV and require tag.  Returns 0 or -1. */
static int
der_expect(struct der *d, uint8_t tag, struct tlv *t)
{
	if (der_next(d, t) == -1 || t->tag != tag)
		return -1;
	return 0;
}

/* Tag of the next TLV, or -1 at the end. */
static int
der_peek(const struct der *d)
{
	return d->len == 0 ? -1 : d->p[0];
}

/* True if the contents of t equal the n bytes at b. */
static bool
der_eq(const struct der *v, const uint8_t *b, size_t n)
{
	return v->len == n && memcmp(v->p, b, n) == 0;
}

/* Validate OID contents: non-empty, minimal arcs, last octet final. */
static bool
oid_valid(const struct der *v)
{
	size_t i;

	if (v->len == 0 || (v->p[v->len - 1] & 0x80))
		return false;
	for (i = 0; i < v->len; i++)
		if (v->p[i] == 0x80 && (i == 0 || !(v->p[i - 1] & 0x80)))
			return false;
	return true;
}

/* Dotted text of a (valid) OID into buf; "?" if it does not fit. */
static void
oid_to_text(const struct der *v, char *buf, size_t cap)
{
	uint64_t arc = 0;
	size_t i, off = 0;
	bool first = true;
	int n;

	buf[0] = '\0';
	for (i = 0; i < v->len; i++) {
		if (arc > (UINT64_MAX >> 7))
			goto bad;
		arc = (arc << 7) | (v->p[i] & 0x7f);
		if (v->p[i] & 0x80)
			continue;
		if (first) {
			unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;

			n = snprintf(buf + off, cap - off, "%u.%llu", top,
			    (unsigned long long)(arc - 40 * top));
			first = false;
		} else
			n = snprintf(buf + off, cap - off, ".%llu",
			    (unsigned long long)arc);
		if (n < 0 || (size_t)n >= cap - off)
			goto bad;
		off += (size_t)n;
		arc = 0;
	}
	return;
bad:
	snprintf(buf, cap, "?");
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parse n ASCII digits.  Returns the value or -1. */
static int
parse_digits(const uint8_t *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parse a UTCTime or GeneralizedTime (Z form, seconds).  0 or -1. */
static int
der_time(const struct tlv *t, time_t *out)
{
	static const unsigned mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const uint8_t *s = t->val.p;
	int y, mo, d, h, mi, sec;
	size_t yl;

	if (t->tag == DER_UTCTIME && t->val.len == 13)
		yl = 2;
	else if (t->tag == DER_GENTIME && t->val.len == 15)
		yl = 4;
	else
		return -1;
	if (s[t->val.len - 1] != 'Z')
		return -1;
	y = parse_digits(s, yl);
	mo = parse_digits(s + yl, 2);
	d = parse_digits(s + yl + 2, 2);
	h = parse_digits(s + yl + 4, 2);
	mi = parse_digits(s + yl + 6, 2);
	sec = parse_digits(s + yl + 8, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	if (yl == 2)
		y += y >= 50 ? 1900 : 2000;	/* RFC 5280 4.1.2.5.1 */
	if ((unsigned)d > mdays[mo - 1] || (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return -1;
	*out = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) *
	    86400 + h * 3600 + mi * 60 + sec);
	return 0;
}

/* ISO-8601 text of t for error messages. */
static void
time_text(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
}

/* ---- certificate parsing --------------------------------------------- */

/* The fields of a parsed certificate we need (all point into the DER). */
struct cert {
	struct der tbs;		/* whole TBSCertificate encoding */
	struct der sigalg;	/* outer AlgorithmIdentifier contents */
	struct der sig;		/* signature bits (after unused-bits 0) */
	struct der spki;	/* whole SubjectPublicKeyInfo encoding */
	time_t not_before, not_after;
	struct der ext;		/* libp2p extnValue contents */
	unsigned nlibp2p;	/* number of libp2p extensions */
	char crit_oid[64];	/* first unknown critical extension */
	bool has_crit;
};

static int fail(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Format err and return -1. */
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* True if we accept this OID as a critical extension. */
static bool
ext_understood(const struct der *oid)
{
	return der_eq(oid, OID_KEY_USAGE, sizeof(OID_KEY_USAGE)) ||
	    der_eq(oid, OID_BASIC_CONSTRAINTS, sizeof(OID_BASIC_CONSTRAINTS)) ||
	    der_eq(oid, OID_EXT_KEY_USAGE, sizeof(OID_EXT_KEY_USAGE)) ||
	    der_eq(oid, OID_SUBJECT_ALT_NAME, sizeof(OID_SUBJECT_ALT_NAME));
}

/* Parse the [3] extensions wrapper contents into c.  0 or -1. */
static int
parse_extensions(struct der d, struct cert *c)
{
	struct tlv seq, ext, oid, t;
	bool critical;

	if (der_expect(&d, DER_SEQUENCE, &seq) == -1 || d.len != 0 ||
	    seq.val.len == 0)
		return -1;
	d = seq.val;
	while (d.len > 0) {
		if (der_expect(&d, DER_SEQUENCE, &ext) == -1 ||
		    der_expect(&ext.val, DER_OID, &oid) == -1 ||
		    !oid_valid(&oid.val))
			return -1;
		critical = false;
		if (der_peek(&ext.val) == DER_BOOLEAN) {
			if (der_next(&ext.val, &t) == -1 || t.val.len != 1 ||
			    (t.val.p[0] != 0x00 && t.val.p[0] != 0xff))
				return -1;
			critical = t.val.p[0] == 0xff;
		}
		if (der_expect(&ext.val, DER_OCTETSTRING, &t) == -1 ||
		    ext.val.len != 0)
			return -1;
		if (der_eq(&oid.val, OID_LIBP2P, sizeof(OID_LIBP2P))) {
			if (c->nlibp2p++ == 0)
				c->ext = t.val;
		} else if (critical && !ext_understood(&oid.val) &&
		    !c->has_crit) {
			c->has_crit = true;
			oid_to_text(&oid.val, c->crit_oid, sizeof(c->crit_oid));
		}
	}
	return 0;
}

/* Parse TBSCertificate contents into c.  0 or -1. */
static int
parse_tbs(struct der d, const struct tlv *outer_alg, struct cert *c)
{
	struct tlv t, v, nb, na;

	/* [0] EXPLICIT version: must be v3 (2) to carry extensions */
	if (der_expect(&d, DER_CTX0, &t) == -1 ||
	    der_expect(&t.val, DER_INTEGER, &v) == -1 || t.val.len != 0 ||
	    v.val.len != 1 || v.val.p[0] != 2)
		return -1;
	if (der_expect(&d, DER_INTEGER, &t) == -1 || t.val.len == 0 ||
	    t.val.len > 32)
		return -1;
	/* the inner signature algorithm must equal the outer one */
	if (der_expect(&d, DER_SEQUENCE, &t) == -1 ||
	    t.rawlen != outer_alg->rawlen ||
	    memcmp(t.raw, outer_alg->raw, t.rawlen) != 0)
		return -1;
	if (der_expect(&d, DER_SEQUENCE, &t) == -1)	/* issuer */
		return -1;
	if (der_expect(&d, DER_SEQUENCE, &t) == -1 ||	/* validity */
	    der_next(&t.val, &nb) == -1 || der_next(&t.val, &na) == -1 ||
	    t.val.len != 0 || der_time(&nb, &c->not_before) == -1 ||
	    der_time(&na, &c->not_after) == -1)
		return -1;
	if (der_expect(&d, DER_SEQUENCE, &t) == -1)	/* subject */
		return -1;
	if (der_expect(&d, DER_SEQUENCE, &t) == -1)	/* SPKI */
		return -1;
	c->spki.p = t.raw;
	c->spki.len = t.rawlen;
	if (der_peek(&d) == DER_CTX1 || der_peek(&d) == DER_CTX2)
		return -1;	/* unique IDs MUST be omitted (tls.md 4) */
	if (der_peek(&d) == DER_CTX3) {
		if (der_next(&d, &t) == -1 ||
		    parse_extensions(t.val, c) == -1)
			return -1;
	}
	return d.len == 0 ? 0 : -1;
}

/* Parse a DER certificate into c.  0 or -1. */
static int
parse_cert(const uint8_t *der, size_t len, struct cert *c)
{
	struct der d = { der, len };
	struct tlv cert, tbs, alg, sig;

	memset(c, 0, sizeof(*c));
	if (der_expect(&d, DER_SEQUENCE, &cert) == -1 || d.len != 0)
		return -1;
	if (der_expect(&cert.val, DER_SEQUENCE, &tbs) == -1 ||
	    der_expect(&cert.val, DER_SEQUENCE, &alg) == -1 ||
	    der_expect(&cert.val, DER_BITSTRING, &sig) == -1 ||
	    cert.val.len != 0)
		return -1;
	if (sig.val.len < 2 || sig.val.p[0] != 0)
		return -1;
	c->tbs.p = tbs.raw;
	c->tbs.len = tbs.rawlen;
	c->sigalg = alg.val;
	c->sig.p = sig.val.p + 1;
	c->sig.len = sig.val.len - 1;
	return parse_tbs(tbs.val, &alg, c);
}

/* ---- self-signature ---------------------------------------------------- */

/* Hash algorithms used by the accepted signature algorithms. */
enum hash_alg { H_NONE, H_SHA256, H_SHA384, H_SHA512 };

/* Hash msg with h into out (64 bytes).  Returns digest length or -1. */
static int
hash_msg(enum hash_alg h, const uint8_t *msg, size_t len, uint8_t *out)
{
	if (len > UINT32_MAX)
		return -1;
	switch (h) {
	case H_SHA256:
		return wc_Sha256Hash(msg, (word32)len, out) == 0 ? 32 : -1;
	case H_SHA384:
		return wc_Sha384Hash(msg, (word32)len, out) == 0 ? 48 : -1;
	case H_SHA512:
		return wc_Sha512Hash(msg, (word32)len, out) == 0 ? 64 : -1;
	default:
		return -1;
	}
}

/* ECDSA verify over the curve point at pt.  Returns 0 if valid. */
static int
verify_ecdsa(int curve, const uint8_t *pt, size_t ptlen, enum hash_alg h,
    const struct cert *c)
{
	ecc_key key;
	uint8_t dig[64];
	int diglen, res = 0, ret = -1;

	if ((diglen = hash_msg(h, c->tbs.p, c->tbs.len, dig)) == -1)
		return -1;
	if (wc_ecc_init(&key) != 0)
		return -1;
	if (wc_ecc_import_x963_ex(pt, (word32)ptlen, &key, curve) != 0 ||
	    wc_ecc_check_key(&key) != 0)
		goto out;
	if (wc_ecc_verify_hash(c->sig.p, (word32)c->sig.len, dig,
	    (word32)diglen, &res, &key) == 0 && res == 1)
		ret = 0;
out:
	wc_ecc_free(&key);
	return ret;
}

/* Build DigestInfo DER for RSA PKCS#1 v1.5 into out.  Length or -1. */
static int
digest_info(enum hash_alg h, const uint8_t *dig, int diglen, uint8_t *out)
{
	const uint8_t *oid = h == H_SHA256 ? OID_SHA256 :
	    h == H_SHA384 ? OID_SHA384 : OID_SHA512;
	size_t olen = sizeof(OID_SHA256);	/* all three are 9 bytes */
	size_t n = 0;

	/* SEQ { SEQ { OID, NULL }, OCTET STRING digest } */
	out[n++] = DER_SEQUENCE;
	out[n++] = (uint8_t)(2 + olen + 2 + 2 + 2 + diglen);
	out[n++] = DER_SEQUENCE;
	out[n++] = (uint8_t)(2 + olen + 2);
	out[n++] = DER_OID;
	out[n++] = (uint8_t)olen;
	memcpy(out + n, oid, olen);
	n += olen;
	out[n++] = DER_NULL;
	out[n++] = 0;
	out[n++] = DER_OCTETSTRING;
	out[n++] = (uint8_t)diglen;
	memcpy(out + n, dig, (size_t)diglen);
	return (int)(n + (size_t)diglen);
}

/*
 * RSA PKCS#1 v1.5 verify with the SPKI of c.  Returns 0 if valid, -3 if
 * the key fails key_rsa_check() (reason in why), -1 otherwise.
 */
static int
verify_rsa(enum hash_alg h, const struct cert *c, char *why, size_t whylen)
{
	RsaKey key;
	word32 idx = 0, nlen, elen;
	uint8_t dig[64], want[96], got[512], n_[512], e_[512];
	int diglen, wantlen, n, size, ret = -1;

	if ((diglen = hash_msg(h, c->tbs.p, c->tbs.len, dig)) == -1)
		return -1;
	wantlen = digest_info(h, dig, diglen, want);
	if (wc_InitRsaKey(&key, NULL) != 0)
		return -1;
	if (wc_RsaPublicKeyDecode(c->spki.p, &idx, &key,
	    (word32)c->spki.len) != 0 || idx != c->spki.len)
		goto out;
	nlen = sizeof(n_);
	elen = sizeof(e_);
	if (wc_RsaFlattenPublicKey(&key, e_, &elen, n_, &nlen) != 0)
		goto out;	/* over 4096 bits */
	if (key_rsa_check(n_, nlen, e_, elen, why, whylen) == -1) {
		ret = -3;
		goto out;
	}
	size = wc_RsaEncryptSize(&key);
	if (size < 256 || size > 512 || c->sig.len != (size_t)size)
		goto out;	/* 2048..4096-bit keys only */
	n = wc_RsaSSL_Verify(c->sig.p, (word32)c->sig.len, got, sizeof(got),
	    &key);
	if (n == wantlen && memcmp(got, want, (size_t)n) == 0)
		ret = 0;
out:
	wc_FreeRsaKey(&key);
	return ret;
}

/* Ed25519 verify with the 32-byte key pk.  Returns 0 if valid. */
static int
verify_ed25519(const uint8_t *pk, const struct cert *c)
{
	if (c->sig.len != crypto_sign_BYTES)
		return -1;
	return crypto_sign_verify_detached(c->sig.p, c->tbs.p,
	    c->tbs.len, pk);
}

/* Hash of a signature AlgorithmIdentifier, with its key family. */
enum sig_family { SF_NONE, SF_ECDSA, SF_ED25519, SF_RSA };

/* Classify the outer signature AlgorithmIdentifier.  0 or -1. */
static int
parse_sigalg(struct der d, enum sig_family *fam, enum hash_alg *h)
{
	struct tlv oid, t;

	if (der_expect(&d, DER_OID, &oid) == -1)
		return -1;
	*fam = SF_NONE;
	*h = H_NONE;
	if (der_eq(&oid.val, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256))) {
		*fam = SF_ECDSA;
		*h = H_SHA256;
	} else if (der_eq(&oid.val, OID_ECDSA_SHA384,
	    sizeof(OID_ECDSA_SHA384))) {
		*fam = SF_ECDSA;
		*h = H_SHA384;
	} else if (der_eq(&oid.val, OID_ED25519, sizeof(OID_ED25519))) {
		*fam = SF_ED25519;
	} else if (der_eq(&oid.val, OID_RSA_SHA256, sizeof(OID_RSA_SHA256)) ||
	    der_eq(&oid.val, OID_RSA_SHA384, sizeof(OID_RSA_SHA384)) ||
	    der_eq(&oid.val, OID_RSA_SHA512, sizeof(OID_RSA_SHA512))) {
		*fam = SF_RSA;
		*h = oid.val.p[8] == 0x0b ? H_SHA256 :
		    oid.val.p[8] == 0x0c ? H_SHA384 : H_SHA512;
		/* parameters: NULL or absent */
		if (d.len > 0 && (der_expect(&d, DER_NULL, &t) == -1 ||
		    t.val.len != 0))
			return -1;
	} else
		return -1;
	return d.len == 0 ? 0 : -1;
}

/*
 * Verify the self-signature of c with its own SPKI.  Returns 0 if valid,
 * -1 if invalid, -2 if the algorithm or key is unsupported, -3 if it is
 * an RSA key too weak to trust (reason in why).
 */
static int
verify_self(const struct cert *c, char *why, size_t whylen)
{
	struct der d = c->spki, alg;
	struct tlv spki, algid, oid, par, bits;
	enum sig_family fam;
	enum hash_alg h;

	if (parse_sigalg(c->sigalg, &fam, &h) == -1)
		return -2;
	if (der_expect(&d, DER_SEQUENCE, &spki) == -1 ||
	    der_expect(&spki.val, DER_SEQUENCE, &algid) == -1 ||
	    der_expect(&spki.val, DER_BITSTRING, &bits) == -1 ||
	    spki.val.len != 0 || bits.val.len < 1 || bits.val.p[0] != 0)
		return -2;
	alg = algid.val;
	if (der_expect(&alg, DER_OID, &oid) == -1)
		return -2;
	if (fam == SF_ECDSA &&
	    der_eq(&oid.val, OID_EC_PUBKEY, sizeof(OID_EC_PUBKEY))) {
		if (der_expect(&alg, DER_OID, &par) == -1 || alg.len != 0)
			return -2;
		if (h == H_SHA256 && der_eq(&par.val, OID_P256,
		    sizeof(OID_P256)) && bits.val.len == 66 &&
		    bits.val.p[1] == 0x04)
			return verify_ecdsa(ECC_SECP256R1, bits.val.p + 1, 65,
			    h, c);
		if (h == H_SHA384 && der_eq(&par.val, OID_P384,
		    sizeof(OID_P384)) && bits.val.len == 98 &&
		    bits.val.p[1] == 0x04)
			return verify_ecdsa(ECC_SECP384R1, bits.val.p + 1, 97,
			    h, c);
		return -2;
	}
	if (fam == SF_ED25519 &&
	    der_eq(&oid.val, OID_ED25519, sizeof(OID_ED25519))) {
		if (alg.len != 0 || bits.val.len != 33)
			return -2;
		return verify_ed25519(bits.val.p + 1, c);
	}
	if (fam == SF_RSA && der_eq(&oid.val, OID_RSA, sizeof(OID_RSA)))
		return verify_rsa(h, c, why, whylen);
	return -2;
}

/* ---- the libp2p extension ---------------------------------------------- */

/* Split SignedKey DER into its two OCTET STRINGs.  0 or -1. */
static int
parse_signed_key(struct der d, struct der *pk, struct der *sig)
{
	struct tlv seq, a, b;

	if (der_expect(&d, DER_SEQUENCE, &seq) == -1 || d.len != 0 ||
	    der_expect(&seq.val, DER_OCTETSTRING, &a) == -1 ||
	    der_expect(&seq.val, DER_OCTETSTRING, &b) == -1 ||
	    seq.val.len != 0)
		return -1;
	*pk = a.val;
	*sig = b.val;
	return 0;
}

int
tlscert_verify(const uint8_t *const *certs, const size_t *lens,
    size_t ncerts, time_t now, struct pubkey **remote,
    char *err, size_t errlen)
{
	struct cert c;
	struct der pkb, sig;
	struct pubkey *pk;
	uint8_t msg[PREFIX_LEN + SPKI_MAX];
	char why[128], when[32];
	int r;

	*remote = NULL;
	if (ncerts != 1)
		return fail(err, errlen,
		    "tls: expected exactly one certificate, got %zu", ncerts);
	if (lens[0] > TLSCERT_MAX_DER)
		return fail(err, errlen, "tls: certificate too large");
	if (parse_cert(certs[0], lens[0], &c) == -1)
		return fail(err, errlen, "tls: malformed certificate");
	if (now < c.not_before) {
		time_text(c.not_before, when, sizeof(when));
		return fail(err, errlen,
		    "tls: certificate not yet valid (notBefore %s)", when);
	}
	if (now > c.not_after) {
		time_text(c.not_after, when, sizeof(when));
		return fail(err, errlen,
		    "tls: certificate expired (notAfter %s)", when);
	}
	if ((r = verify_self(&c, why, sizeof(why))) == -2)
		return fail(err, errlen,
		    "tls: unsupported certificate key or signature algorithm");
	if (r == -3)
		return fail(err, errlen, "tls: weak certificate key: %s", why);
	if (r != 0)
		return fail(err, errlen,
		    "tls: certificate self-signature invalid");
	if (c.has_crit)
		return fail(err, errlen, "tls: unknown critical extension %s",
		    c.crit_oid);
	if (c.nlibp2p == 0)
		return fail(err, errlen,
		    "tls: certificate has no libp2p public key extension");
	if (c.nlibp2p > 1)
		return fail(err, errlen,
		    "tls: duplicate libp2p public key extension");
	if (parse_signed_key(c.ext, &pkb, &sig) == -1)
		return fail(err, errlen,
		    "tls: malformed libp2p public key extension");
	if ((pk = pubkey_parse(pkb.p, pkb.len, why, sizeof(why))) == NULL)
		return fail(err, errlen, "tls: bad libp2p public key: %s",
		    why);
	if (c.spki.len > SPKI_MAX) {
		pubkey_free(pk);
		return fail(err, errlen, "tls: certificate key too large");
	}
	memcpy(msg, TLSCERT_SIG_PREFIX, PREFIX_LEN);
	memcpy(msg + PREFIX_LEN, c.spki.p, c.spki.len);
	if (pubkey_verify(pk, msg, PREFIX_LEN + c.spki.len, sig.p,
	    sig.len) != 0) {
		pubkey_free(pk);
		return fail(err, errlen,
		    "tls: certificate extension signature invalid");
	}
	*remote = pk;
	return 0;
}

/* ---- DER writer ---------------------------------------------------------- */

/* A bounded output buffer; err latches on overflow. */
struct dbuf {
	uint8_t b[TLSCERT_MAX_DER];
	size_t len;
	bool err;
};

/* Append n raw bytes. */
static void
dw_raw(struct dbuf *d, const void *p, size_t n)
{
	if (d->err || n > sizeof(d->b) - d->len) {
		d->err = true;
		return;
	}
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

/* Append tag, DER length of n, and the n contents bytes at p. */
static void
dw_tlv(struct dbuf *d, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[5];
	size_t hl = 0;

	h[hl++] = tag;
	if (n < 0x80)
		h[hl++] = (uint8_t)n;
	else if (n < 0x100) {
		h[hl++] = 0x81;
		h[hl++] = (uint8_t)n;
	} else {
		h[hl++] = 0x82;
		h[hl++] = (uint8_t)(n >> 8);
		h[hl++] = (uint8_t)n;
	}
	dw_raw(d, h, hl);
	dw_raw(d, p, n);
}

/* Append inner (a finished dbuf) wrapped in tag. */
static void
dw_wrap(struct dbuf *d, uint8_t tag, const struct dbuf *inner)
{
	if (inner->err)
		d->err = true;
	dw_tlv(d, tag, inner->b, inner->len);
}

/* Append an AlgorithmIdentifier with OID and no parameters. */
static void
dw_algid(struct dbuf *d, const uint8_t *oid, size_t n)
{
	struct dbuf a = { .len = 0 };

	dw_tlv(&a, DER_OID, oid, n);
	dw_wrap(d, DER_SEQUENCE, &a);
}

/* Append a UTCTime (1950..2049) or GeneralizedTime for t. */
static void
dw_time(struct dbuf *d, time_t t)
{
	struct tm tm;
	char s[40];

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		d->err = true;
		return;
	}
	/* every field is range-checked by gmtime_r; the year above */
	snprintf(s, sizeof(s), "%04u%02u%02u%02u%02u%02uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000u,
	    (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
	    (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	    (unsigned)tm.tm_sec % 100u);
	if (tm.tm_year >= 50 && tm.tm_year < 150)
		dw_tlv(d, DER_UTCTIME, s + 2, 13);	/* RFC 5280 */
	else
		dw_tlv(d, DER_GENTIME, s, 15);
}

/* Append Name = SEQ { SET { SEQ { serialNumber, PrintableString } } }. */
static void
dw_name(struct dbuf *d, const char *text)
{
	struct dbuf atv = { .len = 0 }, rdn = { .len = 0 };
	struct dbuf set = { .len = 0 };

	dw_tlv(&atv, DER_OID, OID_DN_SERIAL, sizeof(OID_DN_SERIAL));
	dw_tlv(&atv, DER_PRINTABLE, text, strlen(text));
	dw_wrap(&rdn, DER_SEQUENCE, &atv);
	dw_wrap(&set, DER_SET, &rdn);
	dw_wrap(d, DER_SEQUENCE, &set);
}

/* Append one Extension { oid, [critical TRUE], OCTET STRING value }. */
static void
dw_ext(struct dbuf *d, const uint8_t *oid, size_t oidlen, bool critical,
    const uint8_t *val, size_t vlen)
{
	static const uint8_t yes = 0xff;
	struct dbuf e = { .len = 0 };

	dw_tlv(&e, DER_OID, oid, oidlen);
	if (critical)
		dw_tlv(&e, DER_BOOLEAN, &yes, 1);
	dw_tlv(&e, DER_OCTETSTRING, val, vlen);
	dw_wrap(d, DER_SEQUENCE, &e);
}

/* ---- generation -------------------------------------------------------- */

/* Scratch state of one certificate build, wiped at the end. */
struct build {
	WC_RNG rng;
	ecc_key key;
	uint8_t spki[sizeof(SPKI_P256_HDR) + 65];
	uint8_t point[65];
	struct dbuf sk, exts, tbs, cert, tmp;
	uint8_t sig[SIG_MAX];
	uint8_t keyder[256];
	int keylen;
};

/* The SignedKey for the SPKI in b, signed by signer.  0 or -1. */
static int
build_signed_key(struct build *b, const struct identity *id,
    const struct identity *signer, bool corrupt)
{
	static const uint8_t junk[] = { 0x08, 0x09, 0x12, 0x00 };
	uint8_t msg[PREFIX_LEN + sizeof(b->spki)];
	const uint8_t *pk;
	size_t pklen, siglen;

	pk = pubkey_bytes(identity_pubkey(id), &pklen);
	if (corrupt) {
		pk = junk;
		pklen = sizeof(junk);
	}
	memcpy(msg, TLSCERT_SIG_PREFIX, PREFIX_LEN);
	memcpy(msg + PREFIX_LEN, b->spki, sizeof(b->spki));
	if (identity_sign(signer, msg, sizeof(msg), b->sig, sizeof(b->sig),
	    &siglen) == -1)
		return -1;
	b->tmp.len = 0;
	dw_tlv(&b->tmp, DER_OCTETSTRING, pk, pklen);
	dw_tlv(&b->tmp, DER_OCTETSTRING, b->sig, siglen);
	b->sk.len = 0;
	dw_wrap(&b->sk, DER_SEQUENCE, &b->tmp);
	return b->sk.err ? -1 : 0;
}

/* Write the TBSCertificate for b into b->tbs.  0 or -1. */
static int
build_tbs(struct build *b, const struct tlscert_params *p)
{
	static const uint8_t v3[] = { 0x02, 0x01, 0x02 };
	static const uint8_t empty[] = { 0x05, 0x00 };
	uint8_t serial[8];
	char dn[24];
	uint64_t v;
	time_t nb, na;
	size_t i;

	if (wc_RNG_GenerateBlock(&b->rng, serial, sizeof(serial)) != 0)
		return -1;
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x01); /* > 0, minimal */
	for (v = 0, i = 1; i < sizeof(serial); i++)
		v = (v << 8) | serial[i];
	snprintf(dn, sizeof(dn), "%llu", (unsigned long long)v);
	nb = p->set_validity ? p->not_before : p->now - TLSCERT_BACKDATE;
	na = p->set_validity ? p->not_after : p->now + TLSCERT_LIFETIME;

	b->exts.len = 0;
	b->tmp.len = 0;
	if (!p->omit_libp2p_ext)
		dw_ext(&b->tmp, OID_LIBP2P, sizeof(OID_LIBP2P),
		    p->libp2p_critical, b->sk.b, b->sk.len);
	if (p->duplicate_libp2p_ext)
		dw_ext(&b->tmp, OID_LIBP2P, sizeof(OID_LIBP2P), false,
		    b->sk.b, b->sk.len);
	if (p->extra_noncritical_ext)
		dw_ext(&b->tmp, OID_TEST_NONCRIT, sizeof(OID_TEST_NONCRIT),
		    false, empty, sizeof(empty));
	if (p->extra_critical_ext)
		dw_ext(&b->tmp, OID_TEST_CRIT, sizeof(OID_TEST_CRIT), true,
		    empty, sizeof(empty));
	if (b->tmp.len > 0)
		dw_wrap(&b->exts, DER_SEQUENCE, &b->tmp);

	b->tmp.len = 0;
	dw_tlv(&b->tmp, DER_CTX0, v3, sizeof(v3));
	dw_tlv(&b->tmp, DER_INTEGER, serial, sizeof(serial));
	dw_algid(&b->tmp, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256));
	dw_name(&b->tmp, dn);
	{
		struct dbuf val = { .len = 0 };

		dw_time(&val, nb);
		dw_time(&val, na);
		dw_wrap(&b->tmp, DER_SEQUENCE, &val);
	}
	dw_name(&b->tmp, dn);
	dw_raw(&b->tmp, b->spki, sizeof(b->spki));
	if (b->exts.len > 0)
		dw_wrap(&b->tmp, DER_CTX3, &b->exts);
	b->tbs.len = 0;
	dw_wrap(&b->tbs, DER_SEQUENCE, &b->tmp);
	return b->tbs.err || b->exts.err ? -1 : 0;
}

/* Sign b->tbs with the cert key and write the Certificate.  0 or -1. */
static int
build_cert(struct build *b)
{
	uint8_t dig[32], bits[1 + 80];
	word32 siglen = sizeof(bits) - 1;

	if (wc_Sha256Hash(b->tbs.b, (word32)b->tbs.len, dig) != 0 ||
	    wc_ecc_sign_hash(dig, sizeof(dig), bits + 1, &siglen, &b->rng,
	    &b->key) != 0)
		return -1;
	bits[0] = 0;
	b->tmp.len = 0;
	dw_raw(&b->tmp, b->tbs.b, b->tbs.len);
	dw_algid(&b->tmp, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256));
	dw_tlv(&b->tmp, DER_BITSTRING, bits, 1 + siglen);
	b->cert.len = 0;
	dw_wrap(&b->cert, DER_SEQUENCE, &b->tmp);
	return b->cert.err ? -1 : 0;
}

/* Create the P-256 key and its SPKI in b.  0 or -1. */
static int
build_key(struct build *b)
{
	word32 plen = sizeof(b->point);

	if (wc_ecc_make_key_ex(&b->rng, 32, &b->key, ECC_SECP256R1) != 0 ||
	    wc_ecc_export_x963(&b->key, b->point, &plen) != 0 || plen != 65)
		return -1;
	memcpy(b->spki, SPKI_P256_HDR, sizeof(SPKI_P256_HDR));
	memcpy(b->spki + sizeof(SPKI_P256_HDR), b->point, 65);
	b->keylen = wc_EccKeyToDer(&b->key, b->keyder, sizeof(b->keyder));
	return b->keylen > 0 ? 0 : -1;
}

int
tlscert_build(const struct identity *id, const struct tlscert_params *p,
    uint8_t **cert_der, size_t *cert_len, uint8_t **key_der,
    size_t *key_len)
{
	struct tlscert_params def = { .now = 0 };
	struct build *b;
	int ret = -1;

	*cert_der = *key_der = NULL;
	if (p == NULL) {
		def.now = time(NULL);
		p = &def;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	if (wc_InitRng(&b->rng) != 0)
		goto out_b;
	if (wc_ecc_init(&b->key) != 0)
		goto out_rng;
	if (build_key(b) == -1 ||
	    build_signed_key(b, id, p->ext_signer ? p->ext_signer : id,
	    p->corrupt_pubkey) == -1 || build_tbs(b, p) == -1 || build_cert(b) == -1)
		goto out_key;
	if ((*cert_der = malloc(b->cert.len)) == NULL)
		goto out_key;
	if ((*key_der = malloc((size_t)b->keylen)) == NULL) {
		free(*cert_der);
		*cert_der = NULL;
		goto out_key;
	}
	memcpy(*cert_der, b->cert.b, b->cert.len);
	*cert_len = b->cert.len;
	memcpy(*key_der, b->keyder, (size_t)b->keylen);
	*key_len = (size_t)b->keylen;
	ret = 0;
out_key:
	wc_ecc_free(&b->key);
out_rng:
	wc_FreeRng(&b->rng);
out_b:
	sodium_memzero(b, sizeof(*b));
	free(b);
	return ret;
}

int
tlscert_generate(const struct identity *id, uint8_t **cert_der,
    size_t *cert_len, uint8_t **key_der, size_t *key_len)
{
	return tlscert_build(id, NULL, cert_der, cert_len, key_der, key_len);
}

void
tlscert_free_key(uint8_t *key_der, size_t key_len)
{
	if (key_der == NULL)
		return;
	sodium_memzero(key_der, key_len);
	free(key_der);
}
