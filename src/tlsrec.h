/*
 * tlsrec.h - TLS 1.3 record protection for one direction, sans I/O (L1).
 *
 * RFC 8446 section 5.2-5.3 and 7.1-7.3: the AEAD record layer that
 * carries a tunnel once tls.c's wolfSSL handshake is done, so that an
 * established TLS tunnel keeps a few hundred bytes of state instead of a
 * WOLFSSL object (docs/design.md, "TLS records after the handshake").
 *
 *   tlsrec_init()    traffic secret -> key and IV (HKDF-Expand-Label)
 *   tlsrec_seal()    one record, encrypted in place
 *   tlsrec_open()    one record body, decrypted in place
 *   tlsrec_update()  next traffic secret ("traffic upd"), sequence 0
 *
 * Record: type 23 | 0x0303 | length(2) | AEAD(content | inner type) | tag.
 * The nonce is the IV XOR the 64-bit sequence number, left-padded; the
 * additional data is the 5-byte header.  No padding is added; received
 * padding is removed.
 */
#ifndef PEERLOCK_TLSREC_H
#define PEERLOCK_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tlsrec_suite {
	TLSREC_AES_128_GCM_SHA256,
	TLSREC_AES_256_GCM_SHA384,
	TLSREC_CHACHA20_POLY1305_SHA256
};

enum {
	TLSREC_HDR = 5,			/* record header */
	TLSREC_TAG = 16,		/* AEAD tag, all three suites */
	TLSREC_OVERHEAD = TLSREC_HDR + 1 + TLSREC_TAG,
	TLSREC_MAX_PLAINTEXT = 16384,	/* 2^14, RFC 8446 5.1 */
	/* content, type and padding: 2^14 + 1 at most (RFC 8446 5.4) */
	TLSREC_MAX_INNER = 16384 + 1,
	/* largest ciphertext a peer may send: 2^14 + 256 (RFC 8446 5.2) */
	TLSREC_MAX_CIPHERTEXT = 16384 + 256,
	/* the most tlsrec_seal() takes: what a legal-size record holds */
	TLSREC_MAX_SEAL = 16384 + 256 - 16 - 1,
	TLSREC_SECRET_MAX = 48,		/* SHA-384 */
	TLSREC_IV = 12,

	/* content types */
	TLSREC_ALERT = 21,
	TLSREC_HANDSHAKE = 22,
	TLSREC_APPDATA = 23
};

/* One direction's keys; plain data, wiped by tlsrec_wipe(). */
struct tlsrec_dir {
	enum tlsrec_suite suite;
	uint8_t secret[TLSREC_SECRET_MAX];
	uint8_t key[32];
	uint8_t iv[TLSREC_IV];
	uint8_t secret_len, key_len;
	uint64_t seq;			/* next record's sequence number */
	uint64_t gen;			/* process-unique key generation */
};

/*
 * Map an IANA TLS 1.3 suite name ("TLS_AES_128_GCM_SHA256", or wolfSSL's
 * "TLS13-AES128-GCM-SHA256") to its suite; -1 if unknown.
 */
int tlsrec_suite_from_name(const char *name, enum tlsrec_suite *suite);

/* Hash length of the suite's HKDF (32 or 48). */
size_t tlsrec_hash_len(enum tlsrec_suite suite);

/*
 * Install a traffic secret (tlsrec_hash_len() bytes) for a direction:
 * derives key and IV, sequence 0.  0 or -1 (bad length).
 */
int tlsrec_init(struct tlsrec_dir *d, enum tlsrec_suite suite,
    const uint8_t *secret, size_t len);

/*
 * Replace the traffic secret by the next one (RFC 8446 7.2, KeyUpdate)
 * and re-derive key and IV; sequence back to 0.  0 or -1.
 */
int tlsrec_update(struct tlsrec_dir *d);

/*
 * Seal one record in place.  rec holds len content bytes at rec +
 * TLSREC_HDR and has room for TLSREC_OVERHEAD more; the header, inner
 * type and tag are written around them.  Senders keep len <=
 * TLSREC_MAX_PLAINTEXT; up to TLSREC_MAX_SEAL is sealed so that tests
 * can play a peer that breaks the inner plaintext limit.  Returns the
 * record length (len + TLSREC_OVERHEAD), or -1 when len is over
 * TLSREC_MAX_SEAL or the sequence number is exhausted.
 */
int tlsrec_seal(struct tlsrec_dir *d, uint8_t type, uint8_t *rec,
    size_t len);

/* The length field of a record header (the body's size, unchecked). */
size_t tlsrec_hdr_len(const uint8_t hdr[static TLSREC_HDR]);

/*
 * Body length a record header announces, or -1 if the header is not an
 * application_data record of a legal size (17..2^14+256): a TLS 1.3
 * peer sends nothing else once the handshake is done.
 */
int tlsrec_body_len(const uint8_t hdr[static TLSREC_HDR]);

/* Why tlsrec_open() refused a record, with the alert RFC 8446 wants. */
enum tlsrec_open_err {
	TLSREC_E_AUTH = -1,		/* forged, replayed: bad_record_mac */
	TLSREC_E_NOTYPE = -2,		/* all zeros: unexpected_message */
	TLSREC_E_OVERFLOW = -3		/* over 2^14 + 1: record_overflow */
};

/*
 * Open one record body (blen bytes after header hdr) in place.  On
 * success sets *type to the inner content type and returns the content
 * length (at the start of body, padding removed).  Otherwise returns an
 * enum tlsrec_open_err: the record fails authentication (or the sequence
 * is exhausted), its inner plaintext has no non-zero byte, or it is over
 * TLSREC_MAX_INNER bytes (RFC 8446 5.4).
 */
int tlsrec_open(struct tlsrec_dir *d, const uint8_t hdr[static TLSREC_HDR],
    uint8_t *body, size_t blen, uint8_t *type);

/* Wipe a direction's secrets. */
void tlsrec_wipe(struct tlsrec_dir *d);

#endif
