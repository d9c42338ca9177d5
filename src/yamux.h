/*
 * yamux.h - the yamux stream multiplexer (/yamux/1.0.0), sans-I/O (L1).
 *
 * One object per session.  It never sees a socket or a clock: the
 * caller feeds the decrypted byte stream with yamux_input(), gets one
 * event per call, sends the control frames the core queued
 * (yamux_pending()/yamux_take()) and builds data frame headers with
 * yamux_data_hdr().  Times are passed in as microseconds from any
 * monotonic origin.  Spec: hashicorp yamux spec.md, libp2p yamux README
 * (our fact sheet: ../shared/spec/yamux.md), lessons of node-mode.md §6.
 *
 * Frame header, 12 bytes big-endian: version 0, type (0 data, 1 window
 * update, 2 ping, 3 go away), flags (SYN 1, ACK 2, FIN 4, RST 8),
 * stream id, length.
 *
 * Ordering rule for the caller: before writing a data frame, move every
 * byte of yamux_take() to the output first.  Control frames (SYN, ACK,
 * FIN, RST, window updates) are queued inside the core in the order the
 * caller's calls produced them, so a stream's SYN always precedes its
 * data and its FIN follows its last data frame.
 *
 * Backpressure: the control queue holds at most YAMUX_CTRL_MAX bytes.
 * While it is above YAMUX_CTRL_HIGH, yamux_input() consumes nothing and
 * returns YAMUX_EV_BLOCKED: the peer's pings, SYNs and window updates
 * cannot make us queue output faster than we send it.  (A call that
 * fills the queue returns BLOCKED with *consumed counting the frames it
 * took before that.)  Frames that calls returning void must produce
 * (yamux_reset, _release, _consume, _goaway, _ping) are never lost: when
 * the queue is full they are deferred, at most one RST or window update
 * per stream, and yamux_take() writes them as the queue drains (after
 * what the queue held, so possibly after frames of later calls);
 * yamux_pending() counts them.
 *
 * Memory: the core buffers no payload.  Data frame bodies are delivered
 * by pointer into the caller's input (possibly in several pieces).  A
 * stream record is 64 bytes on LP64 (an 80-byte malloc chunk), plus one
 * hash-table pointer per stream; the control queue (at most
 * YAMUX_CTRL_MAX) is allocated while in use.
 */
#ifndef PEERLOCK_YAMUX_H
#define PEERLOCK_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	YAMUX_HDR = 12,
	YAMUX_INITIAL_WINDOW = 256 * 1024,
	YAMUX_DEFAULT_MAX_WINDOW = 16 * 1024 * 1024,
	YAMUX_MAX_FRAME = 64 * 1024,	/* largest data payload we send */
	YAMUX_CTRL_HIGH = 16 * 1024,	/* stop reading input above this */
	YAMUX_CTRL_MAX = 32 * 1024	/* queue capacity */
};

enum yamux_type {
	YAMUX_T_DATA = 0,
	YAMUX_T_WINDOW = 1,
	YAMUX_T_PING = 2,
	YAMUX_T_GOAWAY = 3
};

enum yamux_flag {
	YAMUX_F_SYN = 1,
	YAMUX_F_ACK = 2,
	YAMUX_F_FIN = 4,
	YAMUX_F_RST = 8
};

enum yamux_goaway_code {
	YAMUX_GOAWAY_NORMAL = 0,
	YAMUX_GOAWAY_PROTOCOL = 1,
	YAMUX_GOAWAY_INTERNAL = 2
};

/* The connection's dialer is the client (odd ids), the listener server. */
enum yamux_role { YAMUX_CLIENT, YAMUX_SERVER };

/* Why the session failed (YAMUX_EV_ERROR); yamux_error() has the text. */
enum yamux_fail {
	YAMUX_FAIL_NONE,
	YAMUX_FAIL_VERSION,		/* version byte not 0 */
	YAMUX_FAIL_TYPE,		/* unknown frame type */
	YAMUX_FAIL_STREAM_ID,		/* SYN with wrong parity, or id 0 */
	YAMUX_FAIL_DUPLICATE,		/* SYN for a live stream */
	YAMUX_FAIL_WINDOW,		/* data beyond the receive window */
	YAMUX_FAIL_PING_ACK,		/* ping answer we never asked for */
	YAMUX_FAIL_TOO_MANY_STREAMS,	/* peer exceeded max_streams badly */
	YAMUX_FAIL_CTRL_OVERFLOW	/* internal: control queue full */
};

/* Limits of one session (yamux_limits_default() fills the defaults). */
struct yamux_limits {
	uint32_t max_window;	/* receive window growth cap (16 MiB) */
	uint32_t max_streams;	/* live streams, both directions (4096) */
	uint32_t accept_backlog;/* inbound streams not yet accepted (256) */
	/*
	 * Receive window granted to a new stream.  Above 256 KiB the
	 * difference is advertised on its SYN/ACK frame.  Default 256 KiB.
	 */
	uint32_t initial_window;
};
void yamux_limits_default(struct yamux_limits *l);

struct yamux;
struct yamux_stream;

enum yamux_ev_type {
	YAMUX_EV_NONE,		/* need more input (everything consumed) */
	YAMUX_EV_BLOCKED,	/* control queue full: send, then retry */
	YAMUX_EV_OPEN,		/* peer opened stream (SYN): accept/reset */
	YAMUX_EV_ACK,		/* peer accepted a stream we opened */
	YAMUX_EV_DATA,		/* data/len: payload for stream */
	YAMUX_EV_FIN,		/* peer ended its direction of stream */
	YAMUX_EV_RST,		/* peer reset stream (code = Length) */
	YAMUX_EV_WINDOW,	/* stream's send window grew */
	YAMUX_EV_PONG,		/* our ping answered: rtt_us */
	YAMUX_EV_GOAWAY,	/* peer sends no more streams: code */
	YAMUX_EV_ERROR		/* protocol error: GoAway queued; end */
};

struct yamux_event {
	enum yamux_ev_type type;
	struct yamux_stream *st;	/* OPEN .. WINDOW; NULL otherwise */
	const uint8_t *data;		/* DATA: points into the input */
	size_t len;			/* DATA: bytes at data */
	uint32_t code;			/* RST, GOAWAY: the Length field */
	uint64_t rtt_us;		/* PONG */
};

/* New session core.  lim may be NULL (defaults).  NULL on ENOMEM. */
struct yamux *yamux_new(enum yamux_role role, const struct yamux_limits *lim);

/* Free the core and every stream record; NULL is a no-op. */
void yamux_free(struct yamux *y);

/*
 * Consume in[0..len) up to and including at most one event; sets
 * *consumed.  Unconsumed bytes must be offered again (with more input
 * appended).  A DATA event's data points into in, and may be a part of
 * a frame's body (the rest comes with later calls).  Frames for
 * streams that are unknown or already reset are dropped silently (their
 * data bodies skipped), as go-yamux does.  now_us stamps pongs.
 * After YAMUX_EV_ERROR every later call returns YAMUX_EV_ERROR.
 */
void yamux_input(struct yamux *y, const uint8_t *in, size_t len,
    size_t *consumed, uint64_t now_us, struct yamux_event *ev);

/* Failure class and text ("yamux: ... expected ..., got ...") */
enum yamux_fail yamux_fail(const struct yamux *y);
const char *yamux_error(const struct yamux *y);

/* Control bytes queued for sending. */
size_t yamux_pending(const struct yamux *y);
/* Move up to cap queued bytes into out; returns the count. */
size_t yamux_take(struct yamux *y, uint8_t *out, size_t cap);

/*
 * Open a stream: queues Window Update|SYN.  NULL when the peer sent Go
 * Away, we did, max_streams is reached, the ids are exhausted or the
 * control queue is full.
 */
struct yamux_stream *yamux_open(struct yamux *y);

/* Accept an inbound stream (queues Window Update|ACK).  0 or -1. */
int yamux_accept(struct yamux *y, struct yamux_stream *st);

/*
 * Reset a stream (queues Window Update|RST with Length code, unless the
 * peer already reset it).  The stream gets no more events; release it.
 */
void yamux_reset(struct yamux *y, struct yamux_stream *st, uint32_t code);

/*
 * End our direction (queues Data|FIN with no body).  Idempotent.
 * 0 or -1 (control queue full: retry after sending).
 */
int yamux_close(struct yamux *y, struct yamux_stream *st);

/*
 * The caller is done with st: no more events or calls for it.  The
 * record stays while the peer may still send frames for it (until both
 * FINs or an RST) and is freed after that.  A stream released while
 * still open in either direction is reset first.
 */
void yamux_release(struct yamux *y, struct yamux_stream *st);

/*
 * Payload bytes st may send now: min(the peer's window, YAMUX_MAX_FRAME),
 * 0 after our FIN or a reset.
 */
size_t yamux_send_room(const struct yamux *y, const struct yamux_stream *st);

/*
 * Write the header of a data frame of len bytes (len <= send room) into
 * hdr and take len from the peer's window; the caller sends hdr then
 * the payload (after yamux_take(), see the ordering rule).  0 or -1.
 */
int yamux_data_hdr(struct yamux *y, struct yamux_stream *st, size_t len,
    uint8_t hdr[static YAMUX_HDR]);

/*
 * The plaintext side took n bytes of st's delivered data: credit goes
 * back to the peer (a window update queued once at least half of the
 * window was consumed).  The window grows fourfold, up to max_window,
 * when such an update falls due within 4 RTTs of the previous one
 * (go-yamux's rule, which doubles; the RTT being yamux_rtt(), so no
 * growth before the first pong) and the sink is not backlogged.
 */
void yamux_consume(struct yamux *y, struct yamux_stream *st, size_t n,
    uint64_t now_us);
/*
 * Whether st's consumer is backed up below us (the caller's view, e.g.
 * bytes still in a socket's send queue): while it is, consumed bytes
 * still return credit but never grow the window, so a slow reader
 * behind deep kernel buffers does not look like a fast one.
 */
void yamux_sink_backlog(struct yamux_stream *st, bool backlog);
/* Whether st's window is still below max_window (so it could grow). */
bool yamux_stream_may_grow(const struct yamux *y,
    const struct yamux_stream *st);

/* Send a ping (queued) stamped now_us; 0, or -1 if one is outstanding. */
int yamux_ping(struct yamux *y, uint64_t now_us);
/* Last measured RTT in microseconds, 0 before the first pong. */
uint64_t yamux_rtt(const struct yamux *y);
/* Whether a ping of ours is unanswered, and since when. */
bool yamux_ping_outstanding(const struct yamux *y, uint64_t *since_us);

/*
 * Queue Go Away with code; from now on inbound SYNs are reset and
 * yamux_open() fails.  Idempotent.
 */
void yamux_goaway(struct yamux *y, enum yamux_goaway_code code);
/* Whether the peer sent Go Away. */
bool yamux_peer_gone(const struct yamux *y);

/* Stream facts. */
uint32_t yamux_stream_id(const struct yamux_stream *st);
/* Current receive window granted to the peer (for memory accounting). */
uint32_t yamux_stream_recv_window(const struct yamux_stream *st);
/* Bytes delivered but not yet consumed. */
uint32_t yamux_stream_unconsumed(const struct yamux_stream *st);
/* Live stream records (including released ones waiting for the peer). */
size_t yamux_stream_count(const struct yamux *y);

/*
 * The caller's object for a stream (NULL until set).  The core never
 * dereferences it; it is the one untyped link from the core to its
 * user, as nghttp2_session_set_stream_user_data is.
 */
void yamux_stream_set_user(struct yamux_stream *st, void *user);
void *yamux_stream_user(const struct yamux_stream *st);

#endif
