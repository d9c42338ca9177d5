/*
 * secchan.h - the libp2p connection upgrade, sans-I/O (L1b).
 *
 * One object per connection takes the raw TCP byte stream through
 * multistream-select and the chosen security handshake (/noise or
 * /tls/1.0.0), verifies the remote identity, and then seals and opens
 * transport data.  It never sees a socket: the caller feeds input, sends
 * output and asks for the status.
 *
 *   secchan_start()     -> opening bytes (dialer)
 *   secchan_input()     -> handshake progress until SECCHAN_READY/FAILED
 *   secchan_seal()      -> plaintext to wire bytes
 *   secchan_open_room() -> plaintext space the next open needs
 *   secchan_open()      -> wire bytes to plaintext
 *   secchan_close()     -> end our direction (TLS close_notify)
 *   secchan_pending()/secchan_take() -> protocol bytes to send that no
 *                          seal produced (close_notify, TLS key updates)
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
 * a Noise static X25519 key pair and the signed handshake payload, and
 * the libp2p TLS certificate with its ECDSA P-256 key, all computed
 * once.  Wiped on free.
 */
struct secchan_cred;

/* Build credentials for id (borrowed; must outlive them).  NULL on error. */
struct secchan_cred *secchan_cred_new(const struct identity *id);
void secchan_cred_free(struct secchan_cred *cr);
/*
 * Remote identity signatures found in the cache of verified ones
 * (sigcache.h) and verified afresh, over all upgrades with cr.
 */
void secchan_cred_sig_stats(const struct secchan_cred *cr, uint64_t *cached,
    uint64_t *verified);
/*
 * Make one ephemeral Noise key pair ahead for a later handshake, if the
 * credentials' small pool has room; true if it made one.  Call it when
 * the peer has something to do (right after sending a handshake
 * message): the X25519 work then overlaps with the peer's instead of
 * delaying our next message.  The credentials' keys and signatures never
 * change; this pool and the signature cache are their mutable parts.
 */
bool secchan_cred_refill(const struct secchan_cred *cr);

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

/*
 * Dialer, before secchan_start(): also accept peer id (copied), e.g. the
 * next key of a peer during a key rotation; the remote must prove one
 * of the accepted IDs.  0, or -1 (listener, too late, or more than
 * SECCHAN_EXPECT_MAX IDs).
 */
enum { SECCHAN_EXPECT_MAX = 8 };
int secchan_expect(struct secchan *sc, const struct peer_id *id);

/* Wipe and free; NULL is a no-op. */
void secchan_free(struct secchan *sc);

/* Bounds of secchan_set_muxers(): TLS ALPN names are at most 255 bytes. */
#define SECCHAN_MUXERS_MAX 16
#define SECCHAN_MUXER_ID_MAX 255

/*
 * Muxers to advertise (node mode), in preference order; ids borrowed and
 * must outlive sc.  Call before secchan_start()/secchan_input().  Noise:
 * NoiseExtensions.stream_muxers (field 4 -> field 2) in message 2
 * (responder) or message 3 (initiator); the agreed muxer is the first
 * entry of the initiator's list that the responder also lists.  TLS:
 * ALPN ids before "libp2p" (client offer; server: the first of the
 * client's offers it also has).  Each id 1..SECCHAN_MUXER_ID_MAX bytes
 * of UTF-8, no ',' (wolfSSL's list separator), not "libp2p", no
 * duplicates; n <= SECCHAN_MUXERS_MAX.  n = 0 (the default) advertises
 * nothing: the handshake bytes are exactly those of raw mode.  0 or -1.
 */
int secchan_set_muxers(struct secchan *sc, const char *const *ids, size_t n);

/*
 * After READY: the muxer agreed inside the handshake (one of the ids
 * given to secchan_set_muxers()), or NULL (none set, the remote
 * advertised none, or no overlap).  With NULL the dialer negotiates the
 * muxer with multistream-select inside the secure channel.
 */
const char *secchan_muxer(const struct secchan *sc);

/*
 * After READY: whether the remote advertised any muxer in the handshake
 * (Noise: a non-empty stream_muxers; TLS server: the client offered an
 * ALPN id other than "libp2p"; TLS client: the server selected a muxer,
 * since a server reveals nothing else).
 */
bool secchan_peer_offered_muxer(const struct secchan *sc);

/*
 * Opening bytes into out (SECCHAN_OUT_MAX): the dialer's multistream
 * header and first proposal; nothing for the listener.  0 or -1.
 */
int secchan_start(struct secchan *sc, uint8_t *out, size_t *outlen);

/*
 * Feed in[0..len).  Sets *consumed; unconsumed bytes must be offered
 * again with more data appended.  Noise consumes whole messages only,
 * and bytes after the last handshake message are never consumed: they
 * are transport frames.  TLS may take bytes past its last handshake
 * message into its own bounded queue; they come out of secchan_open()
 * (so call it after READY even when no new input arrived).
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
/* Transport cipher after READY: the TLS suite name or Noise's. */
const char *secchan_cipher(const struct secchan *sc);

/*
 * Max plaintext per seal call, and the wire bytes it can take beyond
 * secchan_pending() (Noise: one frame, 18 bytes of overhead; TLS: at
 * most four records of 22 bytes of overhead each, and a KeyUpdate record
 * when the write key is due).
 */
#define SECCHAN_SEAL_MAX NOISE_MAX_PLAINTEXT
#define SECCHAN_SEALED_MAX (SECCHAN_SEAL_MAX + 5 * 22 + 5)

/* Wire bytes secchan_seal() of len bytes writes at most (incl. pending). */
size_t secchan_seal_bound(const struct secchan *sc, size_t len);

/*
 * Seal pt[0..len) (len <= SECCHAN_SEAL_MAX) into out (cap bytes, at least
 * secchan_seal_bound(len)), after any pending protocol bytes.  Returns
 * bytes written or -1 (connection must close, e.g. nonce exhaustion;
 * secchan_error() says why).  Noise seals in place when pt == out + 2
 * (the frame header's size); otherwise pt and out must not overlap.
 */
int secchan_seal(struct secchan *sc, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap);

/* Bytes of the input secchan_open_room() looks at. */
#define SECCHAN_PEEK 5

/*
 * Bytes of frame or record header in front of the plaintext when
 * secchan_seal() of len bytes can seal in place (pt == out + this): 2
 * for Noise, 5 for TLS records once tls.c moved them out of wolfSSL and
 * nothing is pending and len fits one record; 0 if it cannot.
 */
size_t secchan_seal_hdr(const struct secchan *sc, size_t len);

/* Largest len secchan_seal() takes in place (Noise frame, TLS record). */
size_t secchan_seal_max(const struct secchan *sc);

/*
 * In-place seals that can now follow one another back to back, each of
 * at most secchan_seal_max() bytes and each writing exactly
 * secchan_seal_hdr() + len + secchan_seal_tail() bytes (nothing pending,
 * no KeyUpdate due among them): at most want, 0 if the next seal cannot
 * be in place.  Lets a reader put the plaintext of several frames or
 * records straight where their seals leave it.
 */
size_t secchan_seal_run(const struct secchan *sc, size_t want);

/* Bytes one in-place seal adds after the plaintext (tag, TLS type). */
size_t secchan_seal_tail(const struct secchan *sc);

/*
 * Header bytes of a frame or record secchan_open_inplace() can open now:
 * 2 (Noise), 5 (TLS once records are ours and nothing is queued), or 0.
 */
size_t secchan_open_hdr(const struct secchan *sc);

/*
 * Total bytes of the frame or record whose header starts peek (avail
 * bytes), when secchan_open_hdr() is not 0 and the header is there;
 * otherwise 0.  A caller may wait for that much input.
 */
size_t secchan_open_need(const struct secchan *sc, const uint8_t *peek,
    size_t avail);

/*
 * What the next secchan_open() needs, given the first min(avail,
 * SECCHAN_PEEK) bytes (peek) of the avail bytes of input: returns the
 * plaintext space to pass as cap and sets *in_len to the input bytes to
 * offer.  Noise: the exact plaintext size of the first frame once it is
 * complete (1 for an empty frame or one too short to be valid, so open
 * reports it) and the frame's length; 0 while it is incomplete.  TLS:
 * TLS record size (16384) whenever there is input, here or queued, and
 * as much input as its queue takes.  0 means "wait for more input".
 */
size_t secchan_open_room(const struct secchan *sc, const uint8_t *peek,
    size_t avail, size_t *in_len);


/*
 * Open from in[0..len) into out (cap bytes).  Returns the plaintext
 * length (>= 0) and sets *consumed.  Noise opens one whole frame (cap
 * must hold its plaintext, see secchan_open_room()); if the frame is
 * incomplete returns 0 with *consumed = 0 and *need = the contiguous
 * bytes required.  TLS takes what its queue accepts and returns at most
 * cap bytes of one record (*need = 0); 0 with *consumed = 0 means no
 * progress without more input.  Returns -1 on a malformed, truncated or
 * forged frame/record.  After the peer's close_notify (TLS) it returns 0
 * and secchan_peer_closed() is true.
 */
int secchan_open(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed, size_t *need, uint8_t *out, size_t cap);

/*
 * After READY, when secchan_open_hdr() is not 0: open one whole frame or
 * record in place.  hdr is its header (secchan_open_hdr() bytes), body
 * what follows, blen the body length the header gave (Noise 16..65535;
 * TLS up to 16640).  The plaintext replaces the start of body.  Returns
 * its length (0 for a TLS record that carries no data, and after the
 * peer's close_notify, with secchan_peer_closed() then true), or -1 on a
 * forged, replayed or malformed frame (secchan_error() says why; the
 * connection must close).  Answers (a TLS KeyUpdate) wait in
 * secchan_pending().  The seal side: secchan_seal() with pt == out +
 * secchan_seal_hdr().
 */
int secchan_open_inplace(struct secchan *sc, const uint8_t *hdr,
    uint8_t *body, size_t blen);

/*
 * The remote ended its direction cleanly (TLS close_notify received).
 * Always false for Noise: there the TCP FIN is the end of stream.
 */
bool secchan_peer_closed(const struct secchan *sc);

/*
 * Whether a TCP FIN on the encrypted side is a clean end of stream
 * without a protocol close message (Noise: yes; TLS: no, truncation).
 */
bool secchan_fin_is_eof(const struct secchan *sc);

/*
 * End our sending direction: TLS queues close_notify (then send
 * secchan_take() bytes before shutdown(SHUT_WR)); Noise does nothing.
 * 0 or -1.  Idempotent.
 */
int secchan_close(struct secchan *sc);

/* Protocol bytes waiting to be sent outside secchan_seal(). */
size_t secchan_pending(const struct secchan *sc);

/* Move up to cap pending bytes into out; returns the count. */
size_t secchan_take(struct secchan *sc, uint8_t *out, size_t cap);

/*
 * Why the remote's EOF cut a handshake short, as far as our side of the
 * negotiation knows (e.g. we refused every proposal), into buf (cap
 * bytes); "" if nothing beyond "closed during the handshake" is known.
 */
void secchan_eof_hint(const struct secchan *sc, char *buf, size_t cap);

#endif
