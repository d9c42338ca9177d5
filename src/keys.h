/*
 * keys.h - libp2p identity keys: parse, verify, sign, generate (L1).
 *
 * Key types follow the libp2p KeyType enum.  Remote public keys of all
 * four types are parsed and verified (Ed25519 via libsodium; RSA, ECDSA
 * P-256 and secp256k1 via wolfCrypt).  Our own identity may be any of the
 * four too; keygen defaults to Ed25519.  The identity private key never
 * leaves this module: callers sign through identity_sign().
 *
 * Every entry point that needs them calls sodium_init() and wolfCrypt_Init()
 * itself (idempotent; not thread-safe on first use, so call one of them
 * before starting threads).  Nothing here logs; errors go to err buffers
 * and never contain key material.
 */
#ifndef PEERLOCK_KEYS_H
#define PEERLOCK_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

enum key_type {
	KEY_RSA = 0,
	KEY_ED25519 = 1,
	KEY_SECP256K1 = 2,
	KEY_ECDSA = 3
};

struct pubkey;
struct identity;

/* "rsa", "ed25519", "secp256k1", "ecdsa"; "unknown" otherwise. */
const char *key_type_name(enum key_type t);
/* Parse a name as above; returns 0 or -1. */
int key_type_parse(const char *s, enum key_type *t);

/*
 * Parse a serialized libp2p PublicKey protobuf (at most KEY_PB_MAX bytes).
 * Rejects unknown types, malformed key data and non-canonical encodings:
 * the input must equal the re-encoding of the parsed key byte for byte.
 * Accepted: Ed25519 (32 bytes), secp256k1 (33-byte compressed point on
 * the curve), ECDSA (PKIX SPKI, uncompressed point, P-256/P-384/P-521),
 * RSA (PKIX SPKI, 2048 bits up to 8192 or wolfCrypt's RSA_MAX_SIZE,
 * whichever is smaller: 4096 with Debian 12's libwolfssl; see
 * key_rsa_check()).  On failure
 * returns NULL and writes a reason into err (errlen bytes; err may be
 * NULL).  The result is freed with pubkey_free().
 */
struct pubkey *pubkey_parse(const uint8_t *pb, size_t len,
    char *err, size_t errlen);
void pubkey_free(struct pubkey *k);

/*
 * The RSA keys libp2p peers may use, as identity keys and as TLS
 * certificate keys alike: modulus n (big-endian, nlen bytes) of 2048 bits
 * (go-libp2p's minimum) up to the maximum above, public exponent e odd
 * and 3 <= e <= 2^31 - 1 (go's crypto/rsa bound; e = 1 would make every
 * padded digest its own signature).  Returns 0, or -1 with the reason in
 * err (errlen bytes; err may be NULL).
 */
int key_rsa_check(const uint8_t *n, size_t nlen, const uint8_t *e,
    size_t elen, char *err, size_t errlen);

enum key_type pubkey_type(const struct pubkey *k);
/* Canonical serialized PublicKey bytes (owned by k). */
const uint8_t *pubkey_bytes(const struct pubkey *k, size_t *len);
/* The peer ID of k. */
const struct peer_id *pubkey_peer_id(const struct pubkey *k);

/*
 * Verify sig over msg with k using the libp2p scheme for its type:
 * Ed25519 pure (64 bytes); ECDSA and secp256k1 over SHA-256(msg) with a
 * strict-DER SEQUENCE{r, s} (high S accepted); RSA PKCS#1 v1.5 SHA-256
 * (signature exactly the modulus size).  msg may be NULL when msglen is 0.
 * Returns 0 if valid, -1 otherwise.
 */
int pubkey_verify(const struct pubkey *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen);

/*
 * Generate a new identity of type t (Ed25519 via libsodium; secp256k1,
 * ECDSA P-256 and RSA-2048 via wolfCrypt).  NULL on failure.
 */
struct identity *identity_generate(enum key_type t);

/*
 * Load a PrivateKey protobuf file (symlinks are followed; the target must
 * be a regular file).  Refuses files with any group/other permission bit:
 * "identity: FILE is readable by group/others (mode 0644); chmod 600 FILE".
 * On failure returns NULL with a reason in err.
 */
struct identity *identity_load(const char *path, char *err, size_t errlen);

/*
 * Parse PrivateKey protobuf bytes (no file checks).  The message must be
 * canonical (08 type 12 len data).  Data per type: Ed25519 seed || pub
 * (64 bytes; legacy 96 = seed || pub || pub only with equal copies; pub
 * must match the seed), secp256k1 32-byte scalar in [1, n-1], ECDSA SEC1
 * ECPrivateKey DER (an embedded public key must match), RSA PKCS#1 DER.
 * NULL on failure with a reason in err.
 */
struct identity *identity_from_pb(const uint8_t *pb, size_t len,
    char *err, size_t errlen);

/*
 * Write the PrivateKey protobuf to path, created with O_EXCL|O_NOFOLLOW
 * and mode 0600, then fsync'd.  An existing path (file or symlink) gives
 * "identity: FILE already exists, refusing to overwrite".  Returns 0 or
 * -1 with a reason in err.
 */
int identity_save(const struct identity *id, const char *path,
    char *err, size_t errlen);

/* Wipe and free; NULL is a no-op. */
void identity_free(struct identity *id);

enum key_type identity_type(const struct identity *id);
/* Our public key (owned by id). */
const struct pubkey *identity_pubkey(const struct identity *id);
const struct peer_id *identity_peer_id(const struct identity *id);

/*
 * Sign msg with the libp2p scheme for the key type (see pubkey_verify;
 * secp256k1 signatures are normalised to low S).  sig has cap bytes
 * (SIG_MAX is always enough); *siglen is set.  Returns 0 or -1.
 */
int identity_sign(const struct identity *id, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t cap, size_t *siglen);

#endif
