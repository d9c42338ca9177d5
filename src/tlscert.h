/*
 * tlscert.h - libp2p TLS certificates: generate and verify (L1, no I/O).
 *
 * A libp2p TLS endpoint presents exactly one self-signed X.509 v3
 * certificate whose key is a fresh ECDSA P-256 key (not the identity
 * key).  Its FIRST extension is the libp2p Public Key Extension
 * (OID 1.3.6.1.4.1.53594.1.1) holding the DER
 *
 *	SignedKey ::= SEQUENCE { publicKey OCTET STRING,
 *	                         signature OCTET STRING }
 *
 * where publicKey is the identity's PublicKey protobuf and signature is
 * identity_sign("libp2p-tls-handshake:" || DER(SubjectPublicKeyInfo)).
 * See docs/tls.md for the exact layout and verification order.
 */
#ifndef PEERLOCK_TLSCERT_H
#define PEERLOCK_TLSCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct identity;
struct pubkey;

/* Signature prefix for the certificate key (tls.md section 4). */
#define TLSCERT_SIG_PREFIX "libp2p-tls-handshake:"

enum {
	TLSCERT_MAX_DER = 8192,		/* largest certificate we accept */
	TLSCERT_BACKDATE = 3600,	/* notBefore = now - 1 hour */
	TLSCERT_LIFETIME = 365 * 86400	/* notAfter = now + 365 days */
};

/*
 * Generate a fresh ECDSA P-256 certificate key and a self-signed
 * certificate binding it to id, valid from now - TLSCERT_BACKDATE to
 * now + TLSCERT_LIFETIME.  On success returns 0 and sets *cert_der
 * (X.509 DER) and *key_der (SEC1 ECPrivateKey DER), both malloc'd and
 * owned by the caller, who must tlscert_free_key() the key.  Returns -1
 * on failure (nothing allocated).
 */
int tlscert_generate(const struct identity *id, uint8_t **cert_der,
    size_t *cert_len, uint8_t **key_der, size_t *key_len);

/* Wipe and free a private key returned by tlscert_generate(). */
void tlscert_free_key(uint8_t *key_der, size_t key_len);

/*
 * Test hook: the knobs of the certificate builder.  Production code
 * uses tlscert_generate(); tests build deliberately broken variants.
 */
struct tlscert_params {
	time_t now;			/* reference time for validity */
	time_t not_before;		/* absolute, used if set_validity */
	time_t not_after;
	bool set_validity;
	bool omit_libp2p_ext;		/* no libp2p extension at all */
	bool libp2p_critical;		/* mark it critical (js/rust do) */
	bool extra_critical_ext;	/* add critical ext 1.2.3.4 */
	bool extra_noncritical_ext;	/* add non-critical ext 1.2.3.5 */
	bool duplicate_libp2p_ext;	/* the libp2p extension twice */
	bool corrupt_pubkey;		/* SignedKey.publicKey garbage */
	/* Sign the SignedKey with this identity instead of id. */
	const struct identity *ext_signer;
};

/*
 * Like tlscert_generate() but driven by p (NULL = defaults at
 * time(NULL)).  Exported for tests only.
 */
int tlscert_build(const struct identity *id, const struct tlscert_params *p,
    uint8_t **cert_der, size_t *cert_len, uint8_t **key_der,
    size_t *key_len);

/*
 * Verify a peer's certificate chain per libp2p TLS (tls.md section 5):
 * exactly one certificate, now within [notBefore, notAfter], a valid
 * self-signature (ECDSA P-256/SHA-256, P-384/SHA-384, Ed25519, RSA
 * PKCS#1 v1.5 with SHA-256/384/512), the libp2p extension present once
 * (critical or not), no other unknown critical extension, and a SignedKey
 * whose signature verifies with its publicKey over the prefix and the
 * certificate's SPKI DER.
 *
 * On success returns 0 and sets *remote to the peer's public key (caller
 * frees with pubkey_free()).  On failure returns -1, leaves *remote NULL
 * and writes a reason starting with "tls: " into err (errlen bytes).
 * Never reads outside certs[i][0..lens[i]).
 */
int tlscert_verify(const uint8_t *const *certs, const size_t *lens,
    size_t ncerts, time_t now, struct pubkey **remote,
    char *err, size_t errlen);

#endif
