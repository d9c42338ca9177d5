/*
 * keys.h - libp2p identity keys: parse, verify, sign, generate (L1).
 *
 * Key types follow the libp2p KeyType enum.  Remote public keys of all
 * four types are parsed and verified (Ed25519 via libsodium; RSA, ECDSA
 * P-256 and secp256k1 via wolfCrypt).  Our own identity may be any of the
 * four too; keygen defaults to Ed25519.  The identity private key never
 * leaves this module: callers sign through identity_sign().
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
 * Parse a serialized libp2p PublicKey protobuf.  Rejects unknown types,
 * malformed key data and non-canonical encodings.  On failure returns
 * NULL and writes a reason into err (errlen bytes).
 */
struct pubkey *pubkey_parse(const uint8_t *pb, size_t len,
    char *err, size_t errlen);
void pubkey_free(struct pubkey *k);

enum key_type pubkey_type(const struct pubkey *k);
/* Canonical serialized PublicKey bytes (owned by k). */
const uint8_t *pubkey_bytes(const struct pubkey *k, size_t *len);
/* The peer ID of k. */
const struct peer_id *pubkey_peer_id(const struct pubkey *k);

/*
 * Verify sig over msg with k using the libp2p scheme for its type.
 * Returns 0 if valid, -1 otherwise.
 */
int pubkey_verify(const struct pubkey *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen);

/* Generate a new identity of type t.  NULL on failure. */
struct identity *identity_generate(enum key_type t);

/*
 * Load a PrivateKey protobuf file.  Refuses files readable by group or
 * others.  On failure returns NULL with a reason in err.
 */
struct identity *identity_load(const char *path, char *err, size_t errlen);

/* Parse PrivateKey protobuf bytes (no file checks).  NULL on failure. */
struct identity *identity_from_pb(const uint8_t *pb, size_t len,
    char *err, size_t errlen);

/*
 * Write the PrivateKey protobuf to path, created with O_EXCL and mode
 * 0600 (refuses to overwrite).  Returns 0 or -1 with a reason in err.
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
 * Sign msg with the libp2p scheme for the key type.  sig has cap bytes
 * (SIG_MAX is always enough); *siglen is set.  Returns 0 or -1.
 */
int identity_sign(const struct identity *id, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t cap, size_t *siglen);

#endif
