/*
 * tls.h - libp2p /tls/1.0.0 session over wolfSSL, sans I/O (L1).
 *
 * The caller owns the transport.  It feeds received bytes with tls_feed(),
 * drives the session with tls_handshake() / tls_read() / tls_write() /
 * tls_shutdown(), and after EVERY call drains the bytes to send with
 * tls_take_output().  No call blocks or touches a socket.
 *
 * Protocol: TLS 1.3 only; suites CHACHA20-POLY1305, AES-128-GCM,
 * AES-256-GCM (that order); groups X25519 then P-256; ALPN "libp2p",
 * after the muxer ids of tls_set_muxers() if any; no
 * SNI; no session tickets or resumption; both sides present a fresh
 * libp2p certificate (tlscert.h) and verify the peer's with
 * tlscert_verify().  The server requires a client certificate.
 */
#ifndef PEERLOCK_TLS_H
#define PEERLOCK_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity;
struct peer_id;
struct pubkey;
struct tls_session;

enum tls_role {
	TLS_CLIENT,		/* dialer */
	TLS_SERVER		/* listener */
};

enum tls_status {
	TLS_WANT_IO,		/* drain output, feed more input, call again */
	TLS_DONE,		/* handshake complete, peer verified */
	TLS_FAILED,		/* fatal error; see tls_error() */
	TLS_CLOSED		/* peer sent close_notify */
};

/* The class of a failure (tls_fail_kind()); tls_error() has the detail. */
enum tls_fail {
	TLS_FAIL_NONE,
	TLS_FAIL_PROTOCOL,	/* the peer broke TLS or sent bytes we refuse */
	TLS_FAIL_ALERT,		/* the peer sent a fatal alert */
	TLS_FAIL_IDENTITY,	/* its libp2p certificate or key is invalid */
	TLS_FAIL_PEER_MISMATCH,	/* a valid identity, not an expected peer */
	TLS_FAIL_INTERNAL	/* local: context, credentials, memory */
};

enum {
	TLS_MAX_PLAINTEXT = 16384,	/* per record */
	TLS_INPUT_MAX = 65536,		/* bounded input queue */
	TLS_OUTPUT_HIGH = 262144,	/* tls_write() refuses above this */
	TLS_WRITE_MAX = 65536,		/* plaintext accepted per tls_write() */
	/*
	 * Without the offload (a wolfSSL lacking HAVE_SECRET_CALLBACK, e.g.
	 * Debian's stock build) wolfSSL answers every KeyUpdate request at
	 * once, and conn.c leaves answers queued here while the encrypted
	 * output is above its mark.  tls_write() stops at TLS_OUTPUT_HIGH
	 * and adds at most TLS_WRITE_MAX in records, so only a peer that
	 * makes us answer and never reads gets the output queue past this:
	 * the session fails ("tls: over N bytes of our answers queued")
	 * instead of growing.
	 */
	TLS_WOLF_OUTPUT_MAX = TLS_OUTPUT_HIGH + TLS_WRITE_MAX + 65536
};

#define TLS_ALPN "libp2p"

enum {
	TLS_MUXERS_MAX = 16,		/* muxer ids tls_set_muxers() takes */
	TLS_MUXER_ID_MAX = 255		/* an ALPN protocol name's limit */
};

/*
 * Create a session for role, authenticated by id (borrowed; must outlive
 * the session).  Generates a fresh certificate key and certificate.
 * Returns NULL with a reason in err on failure.
 */
struct tls_session *tls_session_new(enum tls_role role,
    const struct identity *id, char *err, size_t errlen);

/*
 * Like tls_session_new() but presenting the given certificate and SEC1
 * private key DER (as made by tlscert_generate(); copied, the caller
 * keeps ownership).  Lets a caller reuse one certificate for many
 * sessions, and tests present deliberately broken ones.
 */
struct tls_session *tls_session_new_cert(enum tls_role role,
    const uint8_t *cert, size_t certlen, const uint8_t *key, size_t keylen,
    char *err, size_t errlen);

/*
 * Accept the peer ID *expect (copied): once one is set, the peer's ID
 * must equal one of them (up to TLS_EXPECT_MAX calls, more are ignored);
 * a mismatch fails the handshake during certificate verification ("tls:
 * peer ID mismatch: expected A or B, got C").  The dialer must set this
 * when it knows whom it dials (tls.md 5.6).  Call before the first
 * tls_handshake().
 */
enum { TLS_EXPECT_MAX = 8 };
void tls_expect_peer(struct tls_session *s, const struct peer_id *expect);

/*
 * Inlined muxer negotiation (tls.md 3): muxer ids ids[0..n) (borrowed,
 * must outlive s; each 1..TLS_MUXER_ID_MAX bytes, no ',', not "libp2p";
 * n <= TLS_MUXERS_MAX) go into ALPN before "libp2p".  A client offers
 * [ids..., "libp2p"]; a server selects the first of the client's offers
 * it also has (the client's order wins, as in go-libp2p), else
 * "libp2p", and aborts the handshake when the client offers neither.
 * Call before the first tls_handshake().  0, or -1 on a bad argument or
 * when the handshake has started.
 */
int tls_set_muxers(struct tls_session *s, const char *const *ids, size_t n);

/* After TLS_DONE: the muxer agreed in ALPN (one of the ids), or NULL. */
const char *tls_muxer(const struct tls_session *s);

/*
 * After TLS_DONE: whether the peer advertised a muxer.  A server sees
 * the client's whole list (true if it holds anything but "libp2p"); a
 * client sees only the server's choice (true if that is a muxer).
 */
bool tls_peer_offered_muxer(const struct tls_session *s);

/*
 * Tests: send (client) or configure (server) no ALPN extension at all,
 * as a client that knows nothing of ALPN does.  Before the handshake.
 */
void tls_omit_alpn(struct tls_session *s);

/* Wipe and free; NULL is a no-op. */
void tls_session_free(struct tls_session *s);

/*
 * Queue len received bytes.  Returns the number accepted (0..len): the
 * input queue holds at most TLS_INPUT_MAX bytes; keep the rest and feed
 * it after tls_read()/tls_handshake() consumed some.
 */
size_t tls_feed(struct tls_session *s, const uint8_t *in, size_t len);

/* Free space in the input queue. */
size_t tls_input_space(const struct tls_session *s);

/*
 * Advance the handshake with the queued input.  TLS_WANT_IO until done;
 * TLS_DONE once (and on every later call) when the peer's certificate
 * passed tlscert_verify() and ALPN is "libp2p", absent or one of the
 * tls_set_muxers() ids; TLS_FAILED on any error,
 * with the reason in tls_error().  Output may be pending in every case
 * (e.g. the alert after a failure): drain it.
 */
enum tls_status tls_handshake(struct tls_session *s);

/* Current status (as last returned or reached by read/write). */
enum tls_status tls_status(const struct tls_session *s);

/* Number of bytes waiting to be sent. */
size_t tls_pending_output(const struct tls_session *s);

/* Move up to cap pending bytes into out; returns the count. */
size_t tls_take_output(struct tls_session *s, uint8_t *out, size_t cap);

/*
 * Encrypt up to min(len, TLS_WRITE_MAX) bytes of application data into
 * the output queue (records of at most TLS_MAX_PLAINTEXT).  Returns the
 * number accepted, 0 if the output queue is above TLS_OUTPUT_HIGH
 * (drain it first), or -1 if the session is not established or failed.
 */
int tls_write(struct tls_session *s, const uint8_t *pt, size_t len);

/*
 * Decrypt application data into out (cap bytes).  Returns bytes (> 0),
 * 0 if more input is needed, or -1: tls_status() then says TLS_CLOSED
 * (clean close_notify from the peer) or TLS_FAILED (see tls_error()).
 */
int tls_read(struct tls_session *s, uint8_t *out, size_t cap);

/*
 * Queue our close_notify alert (then drain the output).  Returns 0 or
 * -1 if the session is not established.
 */
int tls_shutdown(struct tls_session *s);

/*
 * Wire bytes tls_seal() of len plaintext bytes writes at most, pending
 * output included.
 */
size_t tls_seal_bound(const struct tls_session *s, size_t len);

/*
 * Pending output, then len (<= TLS_WRITE_MAX) bytes of application data
 * sealed into out (cap >= tls_seal_bound()).  After the offload the
 * records are sealed straight into out, in place when pt is out +
 * TLSREC_HDR, no output is pending and len fits one record; otherwise pt
 * and out must not overlap.  Returns the bytes written or -1.
 */
int tls_seal(struct tls_session *s, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap);

/*
 * Open one whole record (header hdr, body of blen bytes) in place,
 * after the offload, when nothing is queued from tls_feed().  Returns
 * the application data length at the start of body (0 for a record that
 * carries none: a skipped ticket, a KeyUpdate, user_canceled), or -1:
 * tls_status() then says TLS_CLOSED (close_notify) or TLS_FAILED.
 * Answers (a KeyUpdate, a fatal alert) wait in the output.
 */
int tls_open_record(struct tls_session *s, const uint8_t *hdr,
    uint8_t *body, size_t blen);

/*
 * True once the record layer moved out of wolfSSL (tls.c, tls_offload):
 * the WOLFSSL object is freed and records go through tlsrec.
 */
bool tls_offloaded(const struct tls_session *s);

/*
 * Records tls_seal() can now seal in place one after another, each of
 * exactly len + TLSREC_OVERHEAD bytes (no pending output, no KeyUpdate
 * due before the last of them): at most want, 0 when not offloaded.
 */
size_t tls_seal_run(const struct tls_session *s, size_t want);

/* KeyUpdates received from the peer (after the offload). */
uint64_t tls_key_updates(const struct tls_session *s);

/*
 * Send a KeyUpdate now (asking the peer to update too if request) and
 * switch to the next write key.  0, or -1 before the handshake is done.
 * Without the offload (tls_offload_supported() false) only requests can
 * be sent, through wolfSSL_update_keys(), which may put a plain
 * KeyUpdate first (wolfSSL's state decides); request false is -1.
 */
int tls_key_update(struct tls_session *s, bool request);

/*
 * Queue one record of any inner content type (msg, len <= TLSREC_MAX_SEAL
 * bytes, so also over the 2^14 limit) under the current write key, after
 * the offload; 0 or -1.  Lets tests and fuzzers play a peer that sends
 * tickets, alerts, oversized records or broken post-handshake messages.
 */
int tls_send_record(struct tls_session *s, uint8_t type, const uint8_t *msg,
    size_t len);

/*
 * Whether sessions created from now on move their records out of
 * wolfSSL after the handshake (default true; tests compare both).
 */
void tls_set_offload(bool on);

/*
 * Offer (client) or accept (server) only the suites in list, wolfSSL's
 * names joined by ':' (borrowed, static), for sessions created from now
 * on; NULL restores the default order.  For tests and benchmarks.
 */
void tls_set_suites(const char *list);

/* True if this wolfSSL build lets the record layer move (secret callback). */
bool tls_offload_supported(void);

/* The verified peer's public key after TLS_DONE (owned by s), or NULL. */
const struct pubkey *tls_remote_key(const struct tls_session *s);

/* Negotiated cipher suite name (IANA form, e.g. TLS_CHACHA20_...). */
const char *tls_cipher(const struct tls_session *s);

/* Last error text (starts with "tls: "); "" if none. */
const char *tls_error(const struct tls_session *s);

/* Class of the first failure, TLS_FAIL_NONE if none. */
enum tls_fail tls_fail_kind(const struct tls_session *s);

/*
 * True if the wolfSSL peerlock was built against lets a peer certificate
 * whose libp2p extension is marked critical (js-libp2p, rust-libp2p)
 * reach tlscert_verify().  False for Debian's stock libwolfssl 5.5.4,
 * which aborts such handshakes with ASN_CRIT_EXT_E (-160); then only go
 * and peerlock peers can use /tls/1.0.0.  Fix: contrib/build-wolfssl.sh
 * (see docs/tls.md).
 */
bool tls_critical_ext_supported(void);

/*
 * The suite this build and CPU prefer, as wolfSSL names it: AES-128-GCM
 * when wolfSSL has its AES-NI code and the CPU has AES-NI, otherwise
 * ChaCha20-Poly1305.  Two peerlocks negotiate this one.
 */
const char *tls_preferred_cipher(void);

/*
 * "wolfSSL 5.5.4: critical libp2p extension yes|no (WOLFSSL_NO_ASN_STRICT),
 * own TLS record layer yes|no (HAVE_SECRET_CALLBACK), AES-NI/AVX assembly
 * yes|no" into buf (cap bytes); returns buf.  Debian's stock library
 * says no to all three (docs/testing.md, "Two wolfSSL builds").
 */
char *tls_library_describe(char *buf, size_t cap);

/*
 * Free what wolfCrypt keeps per thread (the ECC fixed-point cache of
 * FP_ECC builds, filled by signature checks): call on a thread that
 * did handshakes, right before it exits (threads = N: loops.c), and
 * drop its cached TLS contexts.
 */
void tls_thread_cleanup(void);

#endif
