/*
 * session.h - node mode (L2): one secure connection to a peer carrying
 * yamux streams, and the streams themselves.
 *
 * A session lives inside the conn that dialed or accepted its secure
 * connection (conn.c does TCP, multistream and the security handshake,
 * and owns the socket and the secchan); once the peer is authenticated
 * the conn hands its encrypted side to the session and stays as its
 * carrier: its close line is the session's, its limits and metrics
 * count the session as one connection.  The session negotiates the
 * muxer (inlined in the handshake, or /yamux/1.0.0 by multistream),
 * then runs yamux (yamux.c) and one stream object per yamux stream:
 *
 *   forward app socket  <-> stream (multistream dialer, protocol P)
 *   expose target       <-> stream (multistream listener: exposes of
 *                                   this peer, identify, ping)
 *
 * Backpressure: a stream's receive window is its memory bound; credit
 * goes back only when the plaintext socket took the bytes.  Streams
 * stop reading their sockets while the session's encrypted output is
 * above SESSION_OUT_HIGH and are woken when it drains.  The session
 * stops reading the encrypted socket while the yamux control queue is
 * full (yamux.h), so no input makes output that bypasses backpressure.
 *
 * Teardown: a stream ends in stream_drop() (one close line), never
 * taking the session with it; a session ends only with its conn
 * (conn_drop -> session_free), closing its streams with its reason.
 */
#ifndef PEERLOCK_SESSION_H
#define PEERLOCK_SESSION_H

#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "peerid.h"
#include "wire.h"

struct conn;
struct conn_env;
struct conn_gen;
struct secchan;
struct session;
struct stream;

enum {
	/* Stop reading streams' sockets above this encrypted output. */
	SESSION_OUT_HIGH = 256 * 1024,
	SESSION_OUT_LOW = 64 * 1024,
	/*
	 * Stop reading the peer's frames above this encrypted output, until
	 * it drains to SESSION_OUT_LOW: what the peer's input makes us
	 * answer cannot grow our output while the peer does not read.
	 */
	SESSION_OUT_PAUSE = 4 * SESSION_OUT_HIGH,
	/*
	 * Keepalive: a yamux ping this often (every SESSION_RTT_MS while
	 * streams are open, to keep the RTT that drives the window growth
	 * fresh); no answer in time: close.
	 */
	SESSION_PING_MS = 15000,
	SESSION_RTT_MS = 2000,
	SESSION_PING_TIMEOUT_MS = 20000,
	/* How long a stream may take to negotiate its protocol. */
	SESSION_NEGOTIATE_MS = 10000
};

/* The muxer id advertised in handshakes and negotiated by multistream. */
#define SESSION_MUXER YAMUX_PROTO

/*
 * A session on conn c, whose secure side (sec, sc) is authenticated.
 * outbound: we dialed (yamux client).  muxer: agreed in the handshake
 * ("/yamux/1.0.0") or NULL (multistream inside the channel).  No I/O
 * yet: session_start() begins.  NULL on failure (nothing taken).
 */
struct session *session_new(struct conn *c, struct conn_env *env,
    struct conn_gen *gen, struct bufferevent *sec, struct secchan *sc,
    bool outbound, const char *muxer);

/*
 * Take over sec (its callbacks) and start: the muxer negotiation or
 * yamux, keepalive pings, and frames that came with the handshake.
 * 0, or -1 if the session already failed (its conn is closing).
 */
int session_start(struct session *s);

/*
 * The conn is going away with reason detail (already logged on its
 * close line): close every stream with it and free the session.  The
 * conn frees sec and sc afterwards.  NULL is a no-op.
 */
void session_free(struct session *s, const char *reason);

/*
 * Graceful stop: Go Away, no new streams; the conn is closed when the
 * last stream ends.
 */
void session_drain(struct session *s);

/* Whether s can take new streams (muxing, no Go Away either way). */
bool session_usable(const struct session *s);

/* Whether s is still negotiating its muxer (streams must wait). */
bool session_negotiating(const struct session *s);

/* The authenticated peer of s. */
const struct peer_id *session_peer(const struct session *s);

/*
 * Forward fw's app connection fd (ownership taken) as a new stream of
 * fw->protocol on s.  0, or -1 (fd closed, the reason logged).
 */
int session_open_forward(struct session *s,
    const struct config_forward *fw, evutil_socket_t fd,
    const struct sockaddr *from);

/*
 * peerlock perf: how a /perf/1.0.0 stream we opened ended.  ok when
 * exactly the bytes asked for came back; otherwise reason (a close
 * reason name, e.g. "protocol_refused" when the peer does not serve
 * perf) and detail (may be NULL) say why.  res holds what was measured either way.  Called once, from
 * the stream's teardown: it must not free the session.
 */
struct perfcmd;
struct perf_result;
typedef void (*session_perf_done)(struct perfcmd *arg, bool ok,
    const char *reason, const char *detail, const struct perf_result *res);

/*
 * Open a /perf/1.0.0 stream on s (perf.h): once the peer accepts the
 * protocol, send the request for download bytes and upload bytes of
 * zeros, close our side, count what comes back.  done(arg, ...) is
 * called at its end.  0, or -1 (done was called already, or the stream
 * could not be made: logged).
 */
int session_open_perf(struct session *s, uint64_t upload,
    uint64_t download, session_perf_done done, struct perfcmd *arg);

/* Sessions of env: first, then next (NULL at the end). */
struct session *session_first(const struct conn_env *env);
struct session *session_next(const struct session *s);
/* The conn carrying s. */
struct conn *session_conn(const struct session *s);

/* Live streams of s (tunnels; identify and ping streams included). */
unsigned session_stream_count(const struct session *s);

/* Last ping round trip in microseconds (0 before the first answer). */
uint64_t session_rtt_us(const struct session *s);

/*
 * The one close line of a stream, as text ("stream 4 closed route=...
 * reason=done: detail session=1") or JSON members (log_format): id 0
 * prints "-" (an app connection refused before it had a stream), session
 * 0 leaves the member out.  detail may be NULL.
 */
void stream_log_close(enum log_level lvl, const char *prefix, uint64_t id,
    const char *route, const char *from, const char *peer, const char *proto,
    unsigned long long up, unsigned long long down, double dur,
    const char *reason, const char *detail, uint64_t session);

/* Stream facts for listings (admin /connections). */
struct stream_totals {
	uint64_t id;
	uint32_t sid;			/* yamux stream id */
	const char *route;
	const char *protocol;
	unsigned long long up, down;
	double age;
};
/* Iterate the streams of s: first, then next (NULL at the end). */
struct stream *session_stream_first(const struct session *s);
struct stream *session_stream_next(const struct stream *st);
void stream_totals(const struct stream *st, struct stream_totals *t);

#endif
