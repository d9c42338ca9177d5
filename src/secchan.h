/*
 * secchan.h - the libp2p connection upgrade, sans-I/O (L1b).
 *
 * One object per connection takes the raw TCP byte stream through
 * multistream-select and the chosen security handshake (/noise today),
 * verifies the remote identity, and then seals and opens transport
 * frames.  It never sees a socket: the caller feeds input, sends output
 * and asks for the status.
 *
 *   secchan_start()   -> opening bytes (dialer)
 *   secchan_input()   -> handshake progress until SECCHAN_READY/FAILED
 *   secchan_seal()    -> plaintext to wire frames
 *   secchan_open()    -> wire frames to plaintext
 */
#ifndef PEERLOCK_SECCHAN_H
#define PEERLOCK_SECCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"
#include "peerid.h"

enum secchan_role { SECCHAN_DIALER, SECCHAN_LISTENER };

enum secchan_status {
	SECCHAN_CONTINUE,	/* need more input */
	SECCHAN_READY,		/* authenticated: seal/open may be used */
	SECCHAN_FAILED		/* secchan_error()/secchan_fail() say why */
};

/* Why an upgrade failed; feeds close logs and metrics. */
enum secchan_fail {
	SECCHAN_FAIL_NONE,
	SECCHAN_FAIL_MSS,		/* malformed multistream message */
	SECCHAN_FAIL_NO_PROTOCOL,	/* no common security protocol */
	SECCHAN_FAIL_BAD_MESSAGE,	/* malformed/undecryptable handshake */
	SECCHAN_FAIL_BAD_IDENTITY,	/* bad key or signature in payload */
	SECCHAN_FAIL_PEER_MISMATCH,	/* not the peer we expected */
	SECCHAN_FAIL_INTERNAL
};

/* Largest output one secchan_start()/secchan_input() call produces. */
#define SECCHAN_OUT_MAX 16384

/*
 * Per-node credentials shared by all its connections: the identity,
 * a Noise static X25519 key pair and the signed handshake payload,
 * computed once.  Wiped on free.
 */
struct secchan_cred;

/* Build credentials for id (borrowed; must outlive them).  NULL on error. */
struct secchan_cred *secchan_cred_new(const struct identity *id);
void secchan_cred_free(struct secchan_cred *cr);

struct secchan;

/* Whether this build implements security protocol p. */
bool secchan_supported(enum sec_proto p);

/*
 * New upgrade.  protos[0..n) is the preference order (dialer) or the
 * accepted set (listener).  expected is the peer the dialer must reach
 * (copied; required for the dialer, NULL for the listener).
 */
struct secchan *secchan_new(enum secchan_role role,
    const struct secchan_cred *cr, const enum sec_proto *protos, size_t n,
    const struct peer_id *expected);

/* Wipe and free; NULL is a no-op. */
void secchan_free(struct secchan *sc);

/*
 * Opening bytes into out (SECCHAN_OUT_MAX): the dialer's multistream
 * header and first proposal; nothing for the listener.  0 or -1.
 */
int secchan_start(struct secchan *sc, uint8_t *out, size_t *outlen);

/*
 * Feed in[0..len).  Sets *consumed; whole messages only, so unconsumed
 * bytes must be offered again with more data appended.  Bytes after the
 * last handshake message are never consumed: they are transport frames.
 * Appends output to out (SECCHAN_OUT_MAX bytes) and sets *outlen.
 */
enum secchan_status secchan_input(struct secchan *sc, const uint8_t *in,
    size_t len, size_t *consumed, uint8_t *out, size_t *outlen);

enum secchan_status secchan_status(const struct secchan *sc);
enum secchan_fail secchan_fail(const struct secchan *sc);
/* Human-readable reason naming the layer, e.g. "noise: ...". */
const char *secchan_error(const struct secchan *sc);
/* Short metric label of a failure: "peer_id_mismatch", ... */
const char *secchan_fail_name(enum secchan_fail f);

/* After READY: the protocol chosen and the authenticated peer. */
enum sec_proto secchan_proto(const struct secchan *sc);
const struct peer_id *secchan_peer(const struct secchan *sc);
const struct pubkey *secchan_peer_key(const struct secchan *sc);

/* Max plaintext per seal call, and the wire bytes it can take. */
#define SECCHAN_SEAL_MAX NOISE_MAX_PLAINTEXT
#define SECCHAN_SEALED_MAX (SECCHAN_SEAL_MAX + NOISE_FRAME_HDR + NOISE_TAG_LEN)

/*
 * Seal pt[0..len) (len <= SECCHAN_SEAL_MAX) into out (cap bytes, at least
 * SECCHAN_SEALED_MAX).  Returns bytes written or -1 (connection must
 * close, e.g. nonce exhaustion; secchan_error() says why).
 */
int secchan_seal(struct secchan *sc, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap);

/*
 * Open one frame from in[0..len) into out (cap >= SECCHAN_SEAL_MAX).
 * Returns the plaintext length (>= 0) and sets *consumed; if the frame is
 * incomplete returns 0 with *consumed = 0 and *need = the contiguous
 * bytes required.  Returns -1 on a malformed or forged frame.
 */
int secchan_open(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed, size_t *need, uint8_t *out, size_t cap);

#endif
