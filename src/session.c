/*
 * session.c - node mode: a yamux session on one authenticated secure
 * connection, and its streams.  See session.h for the layering and the
 * backpressure rules.
 *
 *   sec socket --open--> rx (plaintext) --yamux_input--> events
 *       DATA  -> stream: multistream, then the plaintext socket
 *   stream socket --read--> data frame --stage--> seal --> sec socket
 *
 * Sending: every plaintext byte for the peer (multistream, yamux control
 * frames, data frames) is staged into one buffer of the largest sealable
 * size and sealed when it is full or at the end of the callback that
 * produced it (session_flush), so small control frames share a Noise
 * frame or TLS record.  The stage is global: the loop is single-threaded
 * and every callback flushes before it returns.
 */
#include "session.h"

#include <stdatomic.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "mss.h"
#include "perf.h"
#include "proxyv2.h"
#include "resolve.h"
#include "secchan.h"
#include "tcpsock.h"
#include "wire.h"
#include "yamux.h"

/* Our identify message: public key, a few addresses and protocols. */
#define IDENTIFY_MSG_MAX 8192
/*
 * A stream's sink counts as backed up (its window must not grow) while
 * more than this waits for it in our buffer and its socket's unsent
 * queue: a slow target's kernel buffers would otherwise pass for a fast
 * consumer (docs/node-mode.md, window growth).
 */
#define STREAM_SINK_BACKLOG (64 * 1024)

enum session_phase {
	S_MUXNEG,		/* multistream for the muxer inside the channel */
	S_MUXING		/* yamux running */
};

enum stream_phase {
	ST_NEGOTIATING,		/* multistream for the stream's protocol */
	ST_TARGETING,		/* expose: connecting to the target */
	ST_RELAYING,
	ST_CLOSED
};

enum stream_kind {
	SK_TUNNEL,		/* forward or expose: a plaintext socket */
	SK_PING,		/* /ipfs/ping/1.0.0 served: echo */
	SK_IDENTIFY,		/* /ipfs/id/1.0.0 served: one message */
	SK_PUSH,		/* /ipfs/id/push/1.0.0: read and dropped */
	SK_PERF,		/* /perf/1.0.0 served (perf = on) */
	SK_PERF_CLIENT,		/* /perf/1.0.0 we opened (peerlock perf) */
	SK_PENDING		/* inbound, protocol not chosen yet */
};

struct session {
	struct conn *c;
	struct conn_env *env;
	struct conn_gen *gen;
	struct bufferevent *sec;
	struct secchan *sc;
	bool outbound;
	enum session_phase phase;
	struct peer_id peer_id;
	char peer[PEER_ID_STR_MAX];
	struct mss *mss;		/* S_MUXNEG */
	struct yamux *mx;
	struct evbuffer *rx;		/* opened plaintext not yet parsed */
	struct event *rd;		/* our reader of the encrypted socket */
	size_t rdsz;			/* its adaptive read size */
	bool rx_paused;			/* sec reading off: control queue full,
					   or output above SESSION_OUT_PAUSE */
	struct stream *head;
	unsigned nstreams;
	unsigned ninbound;		/* of those, opened by the peer */
	bool refusing;			/* ninbound hit its cap (logged) */
	bool refusing_reserve;		/* inbound budget full (logged) */
	struct stream *blocked;		/* streams waiting for sec room */
	struct event *ping_timer;
	struct event *kill;		/* deferred end: see session_fail */
	enum conn_reason kill_reason;
	char kill_detail[400];
	struct session *next_session;	/* env's list */
	bool draining;
	bool dead;
};

struct stream {
	uint64_t id;
	struct session *s;
	struct yamux_stream *ys;
	struct stream *prev, *next;	/* session's list */
	struct stream *bnext;		/* session's blocked list */
	bool blocked;
	bool outbound;			/* forward: we opened it */
	enum stream_kind kind;
	enum stream_phase phase;
	struct mss *mss;
	struct conn_gen *gen;		/* config the protocols come from */
	struct resolve_req *dns;	/* target lookup in flight */
	char route[CONFIG_NAME_MAX + 8];
	char proto[CONFIG_PROTO_MAX];
	char from[INET6_ADDRSTRLEN + 8];
	struct bufferevent *plain;
	struct event *rd;		/* our reader of the plaintext socket */
	size_t rdsz;
	struct event *timer;
	struct multiaddr target;
	uint64_t delivered;		/* bytes put into plain's output */
	uint64_t credited;		/* of those, credit returned */
	unsigned long long up, down;
	bool up_eof, up_done;		/* plain EOF read; FIN sent */
	bool down_eof, down_done;	/* peer FIN; plain shut for writing */
	bool window_wait;		/* plain reading off: no send window */
	bool proxy_v2;			/* expose: PROXY v2 header first */
	struct timespec started;
	struct perf *perf;		/* SK_PERF, SK_PERF_CLIENT */
	session_perf_done perf_done;	/* SK_PERF_CLIENT: told at the end */
	struct perfcmd *perf_arg;
	double perf_upload_s;		/* client: open -> server had it all */
};

/* Shared by every event loop (threads = N): ids unique per process. */
static _Atomic uint64_t stream_next_id = 1;

/*
 * The stage: plaintext waiting to be sealed (see the top comment).  One
 * per thread: a session and its streams live on one event loop, so the
 * owner is always a session of this thread's loop.
 */
static _Thread_local uint8_t session_stage_buf[SECCHAN_SEAL_MAX];
static _Thread_local size_t session_stage_len;
static _Thread_local struct session *session_stage_owner;

/* Read buffer for opening frames and records (one per thread). */
static _Thread_local uint8_t session_open_buf[NOISE_MAX_MSG];

static void session_on_read(struct bufferevent *, void *);
static void session_on_write(struct bufferevent *, void *);
static void session_on_event(struct bufferevent *, short, void *);
static void stream_on_read(struct bufferevent *, void *);
static void stream_on_write(struct bufferevent *, void *);
static void stream_on_event(struct bufferevent *, short, void *);
static void stream_on_timer(evutil_socket_t, short, void *);
static void stream_on_readable(evutil_socket_t, short, void *);
static void stream_on_eof(struct stream *);
static int stream_proxy_header(struct stream *);
static void session_reading(struct session *, bool);
static void stream_drop(struct stream *, enum conn_reason, const char *);
static int session_input(struct session *);
static void session_wake_blocked(struct session *);
static int session_muxneg(struct session *);
static int session_mux_input(struct session *);
static bool session_out_full(const struct session *);

/* Microseconds of the monotonic clock. */
static uint64_t
session_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * End the session: its conn goes, and with it the session.  Deferred to
 * a callback of its own, so that no caller up the stack touches freed
 * memory: from here on s->dead is set, reading stops, and every path
 * returns at once.
 */
static void
session_fail(struct session *s, enum conn_reason r, const char *detail)
{
	if (s->dead)
		return;
	s->dead = true;
	s->kill_reason = r;
	snprintf(s->kill_detail, sizeof(s->kill_detail), "%s",
	    detail != NULL ? detail : "");
	if (session_stage_owner == s) {
		session_stage_owner = NULL;
		session_stage_len = 0;
	}
	session_reading(s, false);
	event_active(s->kill, EV_TIMEOUT, 1);
}

/* The deferred end of session_fail(). */
static void
session_on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	conn_drop(s->c, s->kill_reason, s->kill_detail[0] != '\0' ?
	    s->kill_detail : NULL);
}

/* Seal what the stage holds onto the encrypted output.  0 or -1. */
static int
session_seal_stage(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->sec);
	struct evbuffer_iovec v;
	size_t n = session_stage_len;
	int w;

	if (session_stage_owner != s || n == 0)
		return 0;
	session_stage_len = 0;
	session_stage_owner = NULL;
	if (evbuffer_reserve_space(out, (ev_ssize_t)secchan_seal_bound(s->sc,
	    n), &v, 1) != 1) {
		session_fail(s, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	if ((w = secchan_seal(s->sc, session_stage_buf, n, v.iov_base,
	    v.iov_len)) < 0) {
		evbuffer_commit_space(out, &v, 0);
		session_fail(s, CONN_R_PROTOCOL, secchan_error(s->sc));
		return -1;
	}
	v.iov_len = (size_t)w;
	evbuffer_commit_space(out, &v, 1);
	return 0;
}

/* Append p[0..n) to the stage, sealing whenever it fills.  0 or -1. */
static int
session_stage(struct session *s, const uint8_t *p, size_t n)
{
	size_t cap = secchan_seal_max(s->sc), k;

	if (cap > sizeof(session_stage_buf))
		cap = sizeof(session_stage_buf);
	if (session_stage_owner != s && session_stage_owner != NULL &&
	    session_seal_stage(session_stage_owner) != 0)
		return -1;	/* cannot happen: callbacks flush */
	session_stage_owner = s;
	while (n > 0) {
		k = cap - session_stage_len;
		if (k > n)
			k = n;
		memcpy(session_stage_buf + session_stage_len, p, k);
		session_stage_len += k;
		p += k;
		n -= k;
		if (session_stage_len == cap && session_seal_stage(s) != 0)
			return -1;
		session_stage_owner = s;
	}
	return 0;
}

/* Move the yamux control queue into the stage.  0 or -1. */
static int
session_stage_ctrl(struct session *s)
{
	uint8_t buf[4096];
	size_t n;

	if (s->mx == NULL)
		return 0;
	while ((n = yamux_take(s->mx, buf, sizeof(buf))) > 0)
		if (session_stage(s, buf, n) != 0)
			return -1;
	return 0;
}

/*
 * Send everything staged and queued: control frames, the stage, the
 * secchan's own protocol bytes (TLS key updates).  0 or -1 (dead).
 */
static int
session_flush(struct session *s)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;
	size_t n;

	for (;;) {
		if (s->dead)
			return -1;
		if (session_stage_ctrl(s) != 0 || session_seal_stage(s) != 0)
			return -1;
		out = bufferevent_get_output(s->sec);
		while ((n = secchan_pending(s->sc)) > 0) {
			if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v,
			    1) != 1) {
				session_fail(s, CONN_R_INTERNAL,
				    "out of memory");
				return -1;
			}
			v.iov_len = secchan_take(s->sc, v.iov_base, n);
			evbuffer_commit_space(out, &v, 1);
		}
		conn_bev_push(s->sec);
		/*
		 * The socket took it all at once: no write callback will
		 * come to wake the streams that stopped on a full output,
		 * so wake them here (they stop again if it fills).
		 */
		if (s->blocked == NULL || session_out_full(s))
			return 0;
		session_wake_blocked(s);
	}
}

/* Whether the encrypted output is above the high mark. */
static bool
session_out_full(const struct session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->sec)) >=
	    SESSION_OUT_HIGH;
}

/* Seconds since ts. */
static double
stream_age(const struct stream *st)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - st->started.tv_sec) +
	    (double)(now.tv_nsec - st->started.tv_nsec) / 1e9;
}

/* Arm st's timer for ms (0: disarm). */
static void
stream_arm(struct stream *st, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (st->timer == NULL)
		return;
	if (ms == 0)
		evtimer_del(st->timer);
	else
		evtimer_add(st->timer, &tv);
}

/*
 * Reading a socket ourselves (conn_bev_read): libevent 2.1's bufferevent
 * reads 4 KiB per read(2).  Pause or resume it.
 */
static void
reader_set(struct event *rd, bool on)
{
	if (rd == NULL)
		return;
	if (on)
		event_add(rd, NULL);
	else
		event_del(rd);
}

static void
session_reading(struct session *s, bool on)
{
	reader_set(s->rd, on);
}

static void
stream_reading(struct stream *st, bool on)
{
	reader_set(st->rd, on);
}

/* New stream object on s (not yet bound to a yamux stream). */
static struct stream *
stream_new(struct session *s, bool outbound, const char *from)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->id = atomic_fetch_add_explicit(&stream_next_id, 1,
	    memory_order_relaxed);
	st->s = s;
	st->outbound = outbound;
	st->kind = SK_PENDING;
	st->phase = ST_NEGOTIATING;
	snprintf(st->from, sizeof(st->from), "%s", from);
	strcpy(st->proto, "-");
	strcpy(st->route, "-");
	clock_gettime(CLOCK_MONOTONIC, &st->started);
	st->timer = evtimer_new(s->env->base, stream_on_timer, st);
	st->gen = s->env->gen;
	conn_gen_hold(st->gen);
	if (st->timer == NULL) {
		conn_gen_drop(st->gen);
		free(st);
		return NULL;
	}
	st->next = s->head;
	if (s->head != NULL)
		s->head->prev = st;
	s->head = st;
	s->nstreams++;
	s->env->nstreams++;
	if (!outbound) {
		s->ninbound++;
		s->env->ninbound_streams++;
	}
	return st;
}

void
stream_log_close(enum log_level lvl, const char *prefix, uint64_t id,
    const char *route, const char *from, const char *peer, const char *proto,
    unsigned long long up, unsigned long long down, double dur,
    const char *reason, const char *detail, uint64_t session)
{
	char sid[24], sup[24], sdown[24], sdur[32], ssess[24];
	const struct log_field f[] = {
		{ "stream", id != 0 ? sid : NULL, LOG_F_ID },
		{ "route", route, LOG_F_STR },
		{ "from", from, LOG_F_STR },
		{ "peer", peer, LOG_F_STR },
		{ "proto", proto, LOG_F_STR },
		{ "up", sup, LOG_F_NUM },
		{ "down", sdown, LOG_F_NUM },
		{ "dur", sdur, LOG_F_SECS },
		{ "reason", reason, LOG_F_STR },
		{ "detail", detail, LOG_F_DETAIL },
		{ "session", session != 0 ? ssess : NULL, LOG_F_NUM },
	};

	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)id);
	snprintf(sup, sizeof(sup), "%llu", up);
	snprintf(sdown, sizeof(sdown), "%llu", down);
	snprintf(sdur, sizeof(sdur), "%.3f", dur);
	snprintf(ssess, sizeof(ssess), "%llu", (unsigned long long)session);
	log_fields(lvl, f, sizeof(f) / sizeof(f[0]), "%sstream %s closed",
	    prefix, id != 0 ? sid : "-");
}

/* A perf stream, either end. */
static bool
stream_is_perf(const struct stream *st)
{
	return st->kind == SK_PERF || st->kind == SK_PERF_CLIENT;
}

/* A perf client's end: tell its owner what was measured. */
static void
stream_perf_report(struct stream *st, enum conn_reason r,
    const char *detail)
{
	struct perf_result res;
	session_perf_done cb = st->perf_done;

	if (cb == NULL)
		return;
	st->perf_done = NULL;
	memset(&res, 0, sizeof(res));
	res.total_s = stream_age(st);
	res.upload_s = st->perf_upload_s;
	res.download_s = res.total_s - res.upload_s;
	if (st->perf != NULL) {
		res.upload_bytes = st->perf->sent > PERF_REQ_LEN ?
		    st->perf->sent - PERF_REQ_LEN : 0;
		res.download_bytes = st->perf->received;
	}
	cb(st->perf_arg, r == CONN_R_DONE, conn_reason_name(r), detail,
	    &res);
}

/* Take st off the session's blocked list. */
static void
stream_unblock(struct stream *st)
{
	struct stream **pp;

	if (!st->blocked)
		return;
	for (pp = &st->s->blocked; *pp != NULL; pp = &(*pp)->bnext)
		if (*pp == st) {
			*pp = st->bnext;
			break;
		}
	st->blocked = false;
	st->bnext = NULL;
}

/* The one teardown of a stream; logs its close line. */
static void
stream_drop(struct stream *st, enum conn_reason r, const char *detail)
{
	struct session *s = st->s;
	enum log_level lvl;

	if (st->phase == ST_CLOSED)
		return;
	st->phase = ST_CLOSED;
	lvl = r == CONN_R_DONE || r == CONN_R_SHUTDOWN ? LOG_INFO : LOG_WARN;
	if (st->kind != SK_TUNNEL && !stream_is_perf(st))
		lvl = LOG_DEBUG;	/* identify, ping, refused protocols */
	if (config_quiet(s->env->gen != NULL ? s->env->gen->cfg : NULL,
	    conn_reason_name(r)))
		lvl = LOG_DEBUG;
	stream_log_close(lvl, s->env->log_prefix, st->id, st->route, st->from,
	    s->peer, st->proto, st->up, st->down, stream_age(st),
	    conn_reason_name(r), detail, conn_id(s->c));
	if (s->env->on_stream_close != NULL && (st->kind == SK_TUNNEL ||
	    stream_is_perf(st)))
		s->env->on_stream_close(s->env->node, st->route, r, st->up,
		    st->down);
	if (st->kind == SK_PERF_CLIENT)
		stream_perf_report(st, r, detail);
	stream_unblock(st);
	if (st->ys != NULL && s->mx != NULL) {
		if (r != CONN_R_DONE && r != CONN_R_STREAM_RESET)
			yamux_reset(s->mx, st->ys, 0);
		yamux_release(s->mx, st->ys);
	}
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		s->head = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	s->nstreams--;
	s->env->nstreams--;
	if (!st->outbound) {
		s->ninbound--;
		s->env->ninbound_streams--;
	}
	if (st->rd != NULL)
		event_free(st->rd);
	if (st->plain != NULL) {
		if (r != CONN_R_DONE) {
			struct linger lg = { 1, 0 };
			evutil_socket_t fd = bufferevent_getfd(st->plain);

			/* the app or target sees a reset, not a clean end */
			if (fd >= 0)
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg));
		}
		bufferevent_free(st->plain);
	}
	resolver_cancel(st->dns);
	event_free(st->timer);
	mss_free(st->mss);
	conn_gen_drop(st->gen);
	free(st->perf);
	free(st);
	if (s->draining && s->nstreams == 0 && !s->dead)
		session_fail(s, CONN_R_DONE, "drained");
}

/*
 * Send p[0..n) as data on st (multistream answers, identify, ping):
 * small writes that fit the peer's window.  0, or -1 (st dropped).
 */
static int
stream_send(struct stream *st, const uint8_t *p, size_t n)
{
	struct session *s = st->s;
	uint8_t hdr[YAMUX_HDR];
	size_t k;

	while (n > 0) {
		if ((k = yamux_send_room(s->mx, st->ys)) == 0) {
			stream_drop(st, CONN_R_PROTOCOL, "yamux: no send "
			    "window for a protocol message");
			return -1;
		}
		if (k > n)
			k = n;
		if (session_stage_ctrl(s) != 0 ||
		    yamux_data_hdr(s->mx, st->ys, k, hdr) != 0 ||
		    session_stage(s, hdr, sizeof(hdr)) != 0 ||
		    session_stage(s, p, k) != 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* Return credit for the bytes the plaintext socket has taken. */
static void
stream_credit(struct stream *st)
{
	uint64_t taken;
	size_t queued;
	evutil_socket_t fd;

	if (st->plain == NULL || st->ys == NULL)
		return;
	queued = evbuffer_get_length(bufferevent_get_output(st->plain));
	taken = st->delivered - queued;
	if (taken > st->credited) {
		/* what the target has not taken yet, below the socket too;
		 * asked only while the window can still grow (a syscall) */
		if (yamux_stream_may_grow(st->s->mx, st->ys)) {
			fd = bufferevent_getfd(st->plain);
			queued += fd >= 0 ? tcpsock_unsent(fd) : 0;
			yamux_sink_backlog(st->ys,
			    queued > STREAM_SINK_BACKLOG);
		}
		yamux_consume(st->s->mx, st->ys, (size_t)(taken -
		    st->credited), session_now_us());
		st->credited = taken;
	}
}

/* Both directions finished: the stream is done. */
static bool
stream_maybe_done(struct stream *st)
{
	if (st->up_done && st->down_done) {
		stream_drop(st, CONN_R_DONE, NULL);
		return true;
	}
	return false;
}

/* Pass the peer's FIN on to the plaintext socket once flushed. */
static bool
stream_pass_fin(struct stream *st)
{
	evutil_socket_t fd;

	if (!st->down_eof || st->down_done || st->plain == NULL ||
	    st->phase != ST_RELAYING ||
	    evbuffer_get_length(bufferevent_get_output(st->plain)) != 0)
		return false;
	fd = bufferevent_getfd(st->plain);
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	st->down_done = true;
	return stream_maybe_done(st);
}

/* Stop st until the encrypted output drains (session_wake_blocked). */
static void
stream_block(struct stream *st)
{
	struct session *s = st->s;

	if (!st->blocked) {
		st->blocked = true;
		st->bnext = s->blocked;
		s->blocked = st;
	}
	stream_reading(st, false);
}

/*
 * Perf pump: the bytes perf.c says are due (a client's request and
 * upload, a server's answer) are made in the stage as the peer's window
 * and the encrypted output allow, never queued beyond them; then FIN.
 * Woken like the up pump (window update, output drained).  -1 if st was
 * dropped or the session died.
 */
static int
stream_pump_perf(struct stream *st)
{
	struct session *s = st->s;
	uint8_t hdr[YAMUX_HDR];
	uint64_t left;
	size_t n, room, cap;

	if (st->phase != ST_RELAYING || st->up_done || st->perf == NULL)
		return 0;
	cap = secchan_seal_max(s->sc);
	if (cap > sizeof(session_stage_buf))
		cap = sizeof(session_stage_buf);
	cap -= YAMUX_HDR;
	while ((left = perf_left(st->perf)) > 0) {
		if (session_out_full(s)) {
			stream_block(st);
			return 0;
		}
		if ((room = yamux_send_room(s->mx, st->ys)) == 0) {
			st->window_wait = true;
			return 0;
		}
		n = cap;
		if (n > room)
			n = room;
		if (n > left)
			n = (size_t)left;
		if (session_stage_ctrl(s) != 0)
			return -1;
		if (session_stage_len + n > cap && session_seal_stage(s) != 0)
			return -1;
		if (yamux_data_hdr(s->mx, st->ys, n, hdr) != 0 ||
		    session_stage(s, hdr, sizeof(hdr)) != 0)
			return -1;
		session_stage_owner = s;
		(void)perf_fill(st->perf, session_stage_buf +
		    session_stage_len, n);
		session_stage_len += n;
		st->up += n;
		if (session_seal_stage(s) != 0)
			return -1;
	}
	st->window_wait = false;
	if (st->perf->state != PERF_S_RECEIVE &&
	    st->perf->state != PERF_S_DONE)
		return 0;		/* a server still reading */
	if (session_stage_ctrl(s) != 0)
		return -1;
	if (yamux_close(s->mx, st->ys) != 0) {
		stream_drop(st, CONN_R_INTERNAL, "yamux: control queue full");
		return -1;
	}
	st->up_done = true;
	return stream_maybe_done(st) ? -1 : 0;
}

/*
 * Up pump: plaintext socket -> data frames, within the peer's window and
 * while the encrypted output has room.  Returns -1 if st was dropped or
 * the session died.
 */
static int
stream_pump_up(struct stream *st)
{
	struct session *s = st->s;
	struct evbuffer *in;
	uint8_t hdr[YAMUX_HDR];
	size_t n, room, cap;

	if (stream_is_perf(st))
		return stream_pump_perf(st);
	/* a forward's app bytes follow its proposal at once (lazy) */
	if ((st->phase != ST_RELAYING && !(st->phase == ST_NEGOTIATING &&
	    st->outbound)) || st->plain == NULL)
		return 0;
	in = bufferevent_get_input(st->plain);
	cap = secchan_seal_max(s->sc);
	if (cap > sizeof(session_stage_buf))
		cap = sizeof(session_stage_buf);
	cap -= YAMUX_HDR;
	while ((n = evbuffer_get_length(in)) > 0) {
		if (session_out_full(s)) {
			stream_block(st);
			return 0;
		}
		if ((room = yamux_send_room(s->mx, st->ys)) == 0) {
			if (!st->window_wait && s->env->window_stalls != NULL)
				(*s->env->window_stalls)++;
			st->window_wait = true;
			stream_reading(st, false);
			return 0;
		}
		if (n > room)
			n = room;
		if (n > cap)
			n = cap;
		/* a whole frame in one stage: seal what is there first */
		if (session_stage_ctrl(s) != 0)
			return -1;
		if (session_stage_len + YAMUX_HDR + n > cap + YAMUX_HDR &&
		    session_seal_stage(s) != 0)
			return -1;
		if (yamux_data_hdr(s->mx, st->ys, n, hdr) != 0 ||
		    session_stage(s, hdr, sizeof(hdr)) != 0)
			return -1;
		session_stage_owner = s;
		if (evbuffer_remove(in, session_stage_buf + session_stage_len,
		    n) != (int)n) {
			session_fail(s, CONN_R_INTERNAL, "short read");
			return -1;
		}
		session_stage_len += n;
		st->up += n;
		if (session_seal_stage(s) != 0)
			return -1;
	}
	st->window_wait = false;
	if (!st->up_eof)
		stream_reading(st, true);
	else if (!st->up_done) {
		if (session_stage_ctrl(s) != 0)
			return -1;
		if (yamux_close(s->mx, st->ys) != 0) {
			stream_drop(st, CONN_R_INTERNAL, "yamux: control "
			    "queue full");
			return -1;
		}
		st->up_done = true;
		if (stream_maybe_done(st))
			return -1;
	}
	return 0;
}

/* Streams blocked on the encrypted output: pump them again. */
static void
session_wake_blocked(struct session *s)
{
	struct stream *st;

	while (!s->dead && !session_out_full(s) &&
	    (st = s->blocked) != NULL) {
		s->blocked = st->bnext;
		st->blocked = false;
		st->bnext = NULL;
		stream_pump_up(st);
	}
}

/* Callbacks and marks of a stream's new plaintext bufferevent. */
static void
stream_plain_setup(struct stream *st)
{
	bufferevent_setcb(st->plain, stream_on_read, stream_on_write,
	    stream_on_event, st);
	bufferevent_setwatermark(st->plain, EV_READ, 0, CONN_PLAIN_IN_HIGH);
	bufferevent_setwatermark(st->plain, EV_WRITE, CONN_OUT_LOW, 0);
	/* whole data frames: libevent reads 16 KiB at a time otherwise */
	bufferevent_set_max_single_read(st->plain, CONN_READ_MAX);
	bufferevent_set_max_single_write(st->plain, CONN_READ_MAX);
}

/* Deliver data for a relaying stream to its plaintext socket. */
static int
stream_deliver(struct stream *st, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (bufferevent_write(st->plain, p, n) != 0) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	st->delivered += n;
	st->down += n;
	if (st->phase == ST_RELAYING) {
		conn_bev_push(st->plain);
		stream_credit(st);
	}
	return 0;
}

/* The target's address resolved (resolve.c, on the loop): connect. */
static void
stream_on_resolved(int err, const struct sockaddr *sa, socklen_t salen,
    void *arg)
{
	struct stream *st = arg;
	char detail[400];

	st->dns = NULL;
	if (err != 0) {
		snprintf(detail, sizeof(detail), "dns: %s: %s",
		    st->target.host, resolve_strerror(err));
		stream_drop(st, CONN_R_DNS_FAILED, detail);
		return;
	}
	if (bufferevent_socket_connect(st->plain, sa, (int)salen) != 0)
		stream_drop(st, CONN_R_TARGET_FAILED, "cannot start connect");
}

/* The expose of a chosen protocol: connect to its target. */
static int
stream_start_target(struct stream *st, const struct config_expose *ex)
{
	struct session *s = st->s;
	struct sockaddr_storage ss;
	socklen_t sl;
	int family = AF_UNSPEC;

	snprintf(st->route, sizeof(st->route), "expose.%s", ex->name);
	st->kind = SK_TUNNEL;
	st->target = ex->target;
	st->proxy_v2 = ex->proxy_v2;
	st->phase = ST_TARGETING;
	st->plain = bufferevent_socket_new(s->env->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (st->plain == NULL) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	stream_plain_setup(st);
	if (st->proxy_v2 && stream_proxy_header(st) != 0)
		return -1;
	if (st->target.kind == MA_IP4 || st->target.kind == MA_DNS4)
		family = AF_INET;
	else if (st->target.kind == MA_IP6 || st->target.kind == MA_DNS6)
		family = AF_INET6;
	stream_arm(st, st->gen->cfg->connect_timeout_ms);
	if (s->env->on_stream_open != NULL)
		s->env->on_stream_open(s->env->node, st->route, st->proto,
		    stream_age(st));
	/* an IP literal at once; a name as the system resolves, off the loop */
	if (multiaddr_literal(&st->target, &ss, &sl)) {
		if (bufferevent_socket_connect(st->plain,
		    (struct sockaddr *)&ss, (int)sl) == 0)
			return 0;
		stream_drop(st, CONN_R_TARGET_FAILED, "cannot start connect");
		return -1;
	}
	st->dns = resolver_lookup(s->env->resolver, st->target.host,
	    st->target.port, family, stream_on_resolved, st);
	if (st->dns == NULL) {
		stream_drop(st, CONN_R_DNS_FAILED, "dns: resolver queue full");
		return -1;
	}
	return 0;
}

/* Inbound stream: the peer chose a protocol. */
static int
stream_selected(struct stream *st, const char *proto)
{
	struct session *s = st->s;
	const struct config_expose *ex;
	uint8_t msg[IDENTIFY_MSG_MAX];
	size_t n;

	snprintf(st->proto, sizeof(st->proto), "%s", proto);
	mss_free(st->mss);
	st->mss = NULL;
	if (strcmp(proto, PING_PROTO) == 0) {
		st->kind = SK_PING;
		st->phase = ST_RELAYING;
		strcpy(st->route, "ping");
		stream_arm(st, 0);
		return 0;
	}
	if (strcmp(proto, IDENTIFY_PROTO) == 0) {
		strcpy(st->route, "identify");
		st->phase = ST_RELAYING;
		stream_arm(st, 0);
		st->kind = SK_IDENTIFY;
		n = conn_identify_msg(s->c, msg, sizeof(msg));
		if (n == 0) {
			stream_drop(st, CONN_R_INTERNAL, "identify: cannot "
			    "encode our message");
			return -1;
		}
		if (stream_send(st, msg, n) != 0)
			return -1;
		if (session_stage_ctrl(s) != 0 ||
		    yamux_close(s->mx, st->ys) != 0)
			return -1;
		st->up_done = true;
		return 0;
	}
	if (strcmp(proto, PERF_PROTO) == 0) {
		/* offered only with perf = on; a reload may have turned it off */
		if (!st->gen->cfg->perf) {
			stream_drop(st, CONN_R_NOT_ALLOWED, "perf: turned off "
			    "(perf = off)");
			return -1;
		}
		if ((st->perf = malloc(sizeof(*st->perf))) == NULL) {
			stream_drop(st, CONN_R_INTERNAL, "out of memory");
			return -1;
		}
		perf_srv_init(st->perf, st->gen->cfg->perf_max_bytes);
		strcpy(st->route, "perf");
		st->kind = SK_PERF;
		st->phase = ST_RELAYING;
		stream_arm(st, st->gen->cfg->idle_timeout_ms);
		if (s->env->on_stream_open != NULL)
			s->env->on_stream_open(s->env->node, st->route,
			    st->proto, stream_age(st));
		return 0;
	}
	if (strcmp(proto, IDENTIFY_PUSH_PROTO) == 0) {
		/* we use nothing of it: read (bounded) and let it end */
		strcpy(st->route, "identify-push");
		st->phase = ST_RELAYING;
		stream_arm(st, SESSION_NEGOTIATE_MS);
		st->kind = SK_PUSH;
		return 0;
	}
	ex = config_route_proto(st->gen->cfg, &s->peer_id, proto);
	if (ex == NULL) {
		/* a reload took it away between the answer and now */
		stream_drop(st, CONN_R_NOT_ALLOWED, "protocol no longer "
		    "exposed to this peer");
		return -1;
	}
	return stream_start_target(st, ex);
}

/* Seconds since the stream opened, once: the server had our upload. */
static void
stream_perf_uploaded(struct stream *st)
{
	if (st->perf_upload_s == 0)
		st->perf_upload_s = stream_age(st);
}

/*
 * Data on a perf stream: counted, its credit returned at once (nothing
 * is kept), and checked by perf.c.  0, or -1 (st dropped).
 */
static int
stream_perf_input(struct stream *st, const uint8_t *p, size_t n)
{
	int rc;

	st->delivered += n;
	st->credited += n;
	st->down += n;
	yamux_consume(st->s->mx, st->ys, n, session_now_us());
	if (st->gen->cfg->idle_timeout_ms > 0)
		stream_arm(st, st->gen->cfg->idle_timeout_ms);
	if (st->kind == SK_PERF_CLIENT) {
		stream_perf_uploaded(st);
		rc = perf_cli_input(st->perf, n);
	} else
		rc = perf_srv_input(st->perf, p, n);
	if (rc != 0) {
		stream_drop(st, CONN_R_PROTOCOL, perf_error(st->perf));
		return -1;
	}
	return 0;
}

/*
 * The peer closed its side of a perf stream: a server starts sending, a
 * client checks the count.  0, or -1 (st dropped).
 */
static int
stream_perf_fin(struct stream *st)
{
	int rc;

	st->down_done = true;
	if (st->kind == SK_PERF_CLIENT) {
		stream_perf_uploaded(st);
		rc = perf_cli_eof(st->perf);
	} else
		rc = perf_srv_eof(st->perf);
	if (rc != 0) {
		stream_drop(st, CONN_R_PROTOCOL, perf_error(st->perf));
		return -1;
	}
	if (stream_maybe_done(st))
		return -1;
	return stream_pump_perf(st);
}

/* Data on a stream that is still negotiating its protocol. */
static int
stream_negotiate(struct stream *st, const uint8_t *p, size_t n)
{
	uint8_t out[MSS_OUT_MAX];
	size_t used, outlen;
	enum mss_status ms;
	char detail[300];

	while (n > 0 && st->phase == ST_NEGOTIATING) {
		ms = mss_input(st->mss, p, n, &used, out, &outlen);
		if (outlen > 0 && ms != MSS_FAILED &&
		    stream_send(st, out, outlen) != 0)
			return -1;
		p += used;
		n -= used;
		st->credited += used;	/* negotiation bytes: credit now */
		st->delivered += used;
		yamux_consume(st->s->mx, st->ys, used, session_now_us());
		if (ms == MSS_FAILED) {
			snprintf(detail, sizeof(detail), "%s",
			    mss_error(st->mss));
			stream_drop(st, st->outbound &&
			    mss_fail_kind(st->mss) == MSS_FAIL_NO_PROTOCOL ?
			    CONN_R_PROTOCOL_REFUSED : CONN_R_PROTOCOL, detail);
			return -1;
		}
		if (ms != MSS_DONE)
			return 0;
		if (st->outbound) {
			/* our forward's protocol is accepted: relay */
			mss_free(st->mss);
			st->mss = NULL;
			st->phase = ST_RELAYING;
			stream_arm(st, st->gen->cfg->idle_timeout_ms);
			if (!st->up_eof)
				stream_reading(st, true);
			if (st->s->env->on_stream_open != NULL)
				st->s->env->on_stream_open(st->s->env->node,
				    st->route, st->proto, stream_age(st));
			/* perf: the request and the upload go now */
			if (st->kind == SK_PERF_CLIENT &&
			    stream_pump_perf(st) != 0)
				return -1;
		} else if (stream_selected(st, mss_selected(st->mss)) != 0)
			return -1;
	}
	if (n == 0)
		return 0;
	if (st->kind == SK_TUNNEL)
		return stream_deliver(st, p, n);
	if (stream_is_perf(st))
		return stream_perf_input(st, p, n);
	/* ping: echo the bytes back; identify push: drop them */
	st->delivered += n;
	st->credited += n;
	st->down += n;
	yamux_consume(st->s->mx, st->ys, n, session_now_us());
	if (st->kind == SK_PUSH && st->down > IDENTIFY_MSG_MAX) {
		stream_drop(st, CONN_R_PROTOCOL, "identify push: more than "
		    "one message");
		return -1;
	}
	if (st->kind != SK_PING || st->up_done)
		return 0;
	/*
	 * A pinger waits for each echo; one that sends while our output
	 * is full is not pinging, and its echo would bypass backpressure.
	 */
	if (session_out_full(st->s)) {
		stream_drop(st, CONN_R_PROTOCOL, "ping: the peer sends faster "
		    "than it reads our answers");
		return -1;
	}
	return stream_send(st, p, n);
}

/* The peer opened a stream: accept and start negotiating. */
static void
session_on_open(struct session *s, struct yamux_stream *ys)
{
	const char *protos[4 + 64];
	size_t n = 0, k;
	struct stream *st;

	if (s->draining) {
		yamux_reset(s->mx, ys, 0);
		yamux_release(s->mx, ys);
		return;
	}
	/*
	 * One peer's streams count against max_connections like every
	 * tunnel: without a cap of its own, one session could take all of
	 * it and lock out every other tunnel.  A peer gets as many streams
	 * as one address gets raw connections.
	 */
	if (s->ninbound >= s->env->gen->cfg->max_connections_per_ip) {
		if (!s->refusing)
			log_warn("%ssession %llu: peer %s opened %u streams "
			    "(max_connections_per_ip); refusing more",
			    s->env->log_prefix,
			    (unsigned long long)conn_id(s->c), s->peer,
			    s->ninbound);
		s->refusing = true;
		yamux_reset(s->mx, ys, 0);
		yamux_release(s->mx, ys);
		return;
	}
	/* what remote peers open must leave local forwards their reserve */
	if (conn_env_inbound_full(s->env)) {
		if (!s->refusing_reserve)
			log_warn("%ssession %llu: peer %s opened a stream while "
			    "%u inbound tunnels are open (max_connections %u, "
			    "local_reserve %u); refusing streams until some "
			    "close", s->env->log_prefix,
			    (unsigned long long)conn_id(s->c), s->peer,
			    s->env->ninbound + s->env->ninbound_streams,
			    s->env->gen->cfg->max_connections,
			    s->env->gen->cfg->local_reserve);
		s->refusing_reserve = true;
		yamux_reset(s->mx, ys, 0);
		yamux_release(s->mx, ys);
		return;
	}
	s->refusing_reserve = false;
	protos[n++] = IDENTIFY_PROTO;
	protos[n++] = IDENTIFY_PUSH_PROTO;
	protos[n++] = PING_PROTO;
	k = config_peer_protocols(s->env->gen->cfg, &s->peer_id, protos + n,
	    64);
	n += k;
	/* perf: for the peers a node-mode expose admits (perf.md: opt-in) */
	if (s->env->gen->cfg->perf && k > 0 && k < 64)
		protos[n++] = PERF_PROTO;
	st = stream_new(s, false, conn_from(s->c));
	if (st == NULL || (st->mss = mss_new_listener(protos, n)) == NULL ||
	    yamux_accept(s->mx, ys) != 0) {
		if (st != NULL)
			stream_drop(st, CONN_R_INTERNAL, "out of memory");
		yamux_reset(s->mx, ys, 0);
		yamux_release(s->mx, ys);
		return;
	}
	st->ys = ys;
	yamux_stream_set_user(ys, st);
	stream_arm(st, SESSION_NEGOTIATE_MS);
}

/* One yamux event.  Returns -1 if the session died. */
static int
session_event(struct session *s, const struct yamux_event *ev)
{
	struct stream *st = ev->st != NULL ? yamux_stream_user(ev->st) :
	    NULL;
	char detail[300];

	switch (ev->type) {
	case YAMUX_EV_OPEN:
		session_on_open(s, ev->st);
		return 0;
	case YAMUX_EV_DATA:
		if (st == NULL)
			return 0;
		if (st->phase == ST_NEGOTIATING)
			stream_negotiate(st, ev->data, ev->len);
		else if (st->kind == SK_TUNNEL)
			stream_deliver(st, ev->data, ev->len);
		else
			stream_negotiate(st, ev->data, ev->len);
		return 0;
	case YAMUX_EV_FIN:
		if (st == NULL)
			return 0;
		st->down_eof = true;
		if (stream_is_perf(st) && st->phase == ST_RELAYING) {
			(void)stream_perf_fin(st);
			return 0;
		}
		if (st->kind != SK_TUNNEL || st->phase == ST_NEGOTIATING) {
			/* ping, identify, or closed while negotiating */
			if (st->phase == ST_NEGOTIATING)
				stream_drop(st, CONN_R_PEER_CLOSED, "peer "
				    "closed the stream while negotiating");
			else {
				if (!st->up_done && session_stage_ctrl(s) == 0)
					yamux_close(s->mx, st->ys);
				st->up_done = st->down_done = true;
				stream_drop(st, CONN_R_DONE, NULL);
			}
			return 0;
		}
		stream_pass_fin(st);
		return 0;
	case YAMUX_EV_RST:
		if (st == NULL)
			return 0;
		snprintf(detail, sizeof(detail), "yamux: peer reset the "
		    "stream (code %u)", (unsigned)ev->code);
		stream_drop(st, CONN_R_STREAM_RESET, detail);
		return 0;
	case YAMUX_EV_WINDOW:
		if (st != NULL && st->window_wait)
			stream_pump_up(st);
		return 0;
	case YAMUX_EV_ACK:
		return 0;
	case YAMUX_EV_PONG:
		return 0;
	case YAMUX_EV_GOAWAY:
		log_info("%ssession %llu: peer %s sent Go Away (code %u); no "
		    "new streams on this session", s->env->log_prefix,
		    (unsigned long long)conn_id(s->c), s->peer,
		    (unsigned)ev->code);
		if (s->nstreams == 0) {
			session_fail(s, CONN_R_DONE, "peer sent Go Away");
			return -1;
		}
		return 0;
	case YAMUX_EV_ERROR:
		snprintf(detail, sizeof(detail), "%s", yamux_error(s->mx));
		(void)session_flush(s);		/* the Go Away */
		session_fail(s, CONN_R_PROTOCOL, detail);
		return -1;
	case YAMUX_EV_NONE:
	case YAMUX_EV_BLOCKED:
		return 0;
	}
	return 0;
}

/*
 * Run the yamux core over p[0..n), which stays valid meanwhile (DATA
 * events point into it).  Returns the bytes taken (fewer than n when a
 * frame header is incomplete or the control queue blocked reading), or
 * -1 if the session died.
 */
static ssize_t
session_parse(struct session *s, const uint8_t *p, size_t n)
{
	struct yamux_event ev;
	size_t off = 0, used;

	while (off < n && !s->rx_paused) {
		/*
		 * Answers the peer's frames make us queue (pongs, ACKs,
		 * refusals, multistream answers) are flushed after every
		 * read, so a peer that sends a few KB of them per read never
		 * fills the control queue: bound them by the output too.
		 * Honest traffic stays near SESSION_OUT_HIGH (the streams
		 * stop there), so only a peer that does not read gets here.
		 */
		if (evbuffer_get_length(bufferevent_get_output(s->sec)) >=
		    SESSION_OUT_PAUSE) {
			s->rx_paused = true;
			session_reading(s, false);
			break;
		}
		yamux_input(s->mx, p + off, n - off, &used, session_now_us(),
		    &ev);
		off += used;
		if (session_event(s, &ev) != 0 || s->dead)
			return -1;
		if (ev.type == YAMUX_EV_BLOCKED) {
			/* control queue full: send it, read on later */
			if (session_flush(s) != 0)
				return -1;
			if (session_out_full(s)) {
				s->rx_paused = true;
				session_reading(s, false);
			}
			continue;
		}
		if (ev.type == YAMUX_EV_NONE)
			break;
	}
	return (ssize_t)off;
}

/* Run the yamux core over what waits in rx.  -1 if the session died. */
static int
session_mux_input(struct session *s)
{
	size_t len;
	ssize_t r;
	uint8_t *p;

	while (!s->dead && !s->rx_paused &&
	    (len = evbuffer_get_length(s->rx)) > 0) {
		if ((p = evbuffer_pullup(s->rx, (ev_ssize_t)len)) == NULL) {
			session_fail(s, CONN_R_INTERNAL, "out of memory");
			return -1;
		}
		if ((r = session_parse(s, p, len)) < 0)
			return -1;
		evbuffer_drain(s->rx, (size_t)r);
		if (r == 0)
			break;		/* an incomplete frame header */
	}
	return s->dead ? -1 : 0;
}

/*
 * Opened plaintext p[0..n): parsed straight from the buffer it was
 * opened into when nothing waits before it; what cannot be taken now
 * waits in rx.  -1 if the session died.
 */
static int
session_feed(struct session *s, const uint8_t *p, size_t n)
{
	ssize_t r;

	if (n == 0)
		return 0;
	if (s->phase == S_MUXNEG || s->rx_paused ||
	    evbuffer_get_length(s->rx) > 0) {
		if (evbuffer_add(s->rx, p, n) != 0) {
			session_fail(s, CONN_R_INTERNAL, "out of memory");
			return -1;
		}
		return s->phase == S_MUXNEG ? session_muxneg(s) :
		    session_mux_input(s);
	}
	if ((r = session_parse(s, p, n)) < 0)
		return -1;
	if ((size_t)r < n && evbuffer_add(s->rx, p + r, n - (size_t)r) != 0) {
		session_fail(s, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/* The muxer is agreed: start yamux. */
static int
session_start_mux(struct session *s)
{
	struct yamux_limits lim;
	const struct config *cfg = s->gen->cfg;

	yamux_limits_default(&lim);
	if (cfg->max_connections > 0)
		lim.max_streams = cfg->max_connections;
	lim.max_window = cfg->max_stream_window;
	s->mx = yamux_new(s->outbound ? YAMUX_CLIENT : YAMUX_SERVER, &lim);
	if (s->mx == NULL) {
		session_fail(s, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	s->phase = S_MUXING;
	/* a first RTT for the window growth, without waiting 15 s */
	(void)yamux_ping(s->mx, session_now_us());
	log_debug("%ssession %llu: yamux with %s", s->env->log_prefix,
	    (unsigned long long)conn_id(s->c), s->peer);
	conn_session_ready(s->c);
	return s->dead ? -1 : 0;
}

/* Multistream for the muxer inside the secure channel. */
static int
session_muxneg(struct session *s)
{
	uint8_t out[MSS_OUT_MAX], *p;
	size_t len, used, outlen;
	enum mss_status ms;

	len = evbuffer_get_length(s->rx);
	if (len == 0)
		return 0;
	p = evbuffer_pullup(s->rx, (ev_ssize_t)len);
	ms = mss_input(s->mss, p, len, &used, out, &outlen);
	evbuffer_drain(s->rx, used);
	if (outlen > 0 && ms != MSS_FAILED &&
	    session_stage(s, out, outlen) != 0)
		return -1;
	if (ms == MSS_FAILED) {
		char detail[300];

		snprintf(detail, sizeof(detail), "%s (muxer)",
		    mss_error(s->mss));
		session_fail(s, CONN_R_HANDSHAKE_FAILED, detail);
		return -1;
	}
	if (ms != MSS_DONE)
		return 0;
	mss_free(s->mss);
	s->mss = NULL;
	if (session_start_mux(s) != 0)
		return -1;
	/* yamux frames that came right behind the answer */
	return session_mux_input(s);
}

/*
 * Open frames or records from the encrypted input and parse them.  Noise
 * frames (and TLS records once ours) are moved out of the input and
 * opened in place: one copy, no pullup.  Returns -1 if the session died.
 */
static int
session_input(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->sec);
	uint8_t peek[SECCHAN_PEEK];
	size_t have, room, inlen, used, need, hdr;
	int n;

	while (!s->rx_paused && !s->dead) {
		have = evbuffer_get_length(in);
		if (secchan_peer_closed(s->sc))
			break;
		evbuffer_copyout(in, peek, have < sizeof(peek) ? have :
		    sizeof(peek));
		hdr = secchan_open_hdr(s->sc);
		need = hdr > 0 ? secchan_open_need(s->sc, peek, have) : 0;
		if (hdr > 0 && need >= hdr + NOISE_TAG_LEN &&
		    need - hdr <= sizeof(session_open_buf)) {
			if (have < need)
				break;
			evbuffer_drain(in, hdr);
			if (evbuffer_remove(in, session_open_buf, need - hdr) !=
			    (int)(need - hdr)) {
				session_fail(s, CONN_R_INTERNAL, "short read");
				return -1;
			}
			n = secchan_open_inplace(s->sc, peek, session_open_buf,
			    need - hdr);
			used = need;
		} else {
			room = secchan_open_room(s->sc, peek, have, &inlen);
			if (room == 0)
				break;
			if (room > sizeof(session_open_buf))
				room = sizeof(session_open_buf);
			n = secchan_open(s->sc, inlen > 0 ? evbuffer_pullup(in,
			    (ev_ssize_t)inlen) : peek, inlen, &used, &need,
			    session_open_buf, room);
			if (n >= 0)
				evbuffer_drain(in, used);
		}
		if (n < 0) {
			session_fail(s, CONN_R_PROTOCOL, secchan_error(s->sc));
			return -1;
		}
		if (n == 0 && used == 0)
			break;
		if (session_feed(s, session_open_buf, (size_t)n) != 0)
			return -1;
	}
	return s->dead ? -1 : 0;
}

/*
 * Streams whose end the peer's close cuts short: tunnels, and inbound
 * streams still negotiating their protocol.  The peer's ping and identify
 * streams are not counted: a libp2p node may keep its /ipfs/ping/1.0.0
 * stream open between pings (rust-libp2p does, docs/interop.md), so
 * closing the connection with it open is that node's normal end.
 */
static unsigned
session_open_tunnels(const struct session *s)
{
	const struct stream *st;
	unsigned n = 0;

	for (st = s->head; st != NULL; st = st->next)
		if (st->kind != SK_PING && st->kind != SK_IDENTIFY)
			n++;
	return n;
}

/* Encrypted side readable. */
static void
session_on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (session_input(s) != 0)
		return;
	if (secchan_peer_closed(s->sc)) {
		session_fail(s, session_open_tunnels(s) == 0 ? CONN_R_DONE :
		    CONN_R_PEER_CLOSED, "peer closed the session (TLS "
		    "close_notify)");
		return;
	}
	(void)session_flush(s);
}

/* Our reader of the encrypted socket fired. */
static void
session_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char detail[200];
	ev_ssize_t n;

	(void)fd;
	(void)what;
	if (s->dead)
		return;
	n = conn_bev_read(s->sec, &s->rdsz, CONN_SEC_IN_HIGH, 0, false);
	if (n == -2 && evbuffer_get_length(bufferevent_get_input(s->sec)) == 0)
		return;
	if (n == -1) {
		tcpsock_strerror(bufferevent_getfd(s->sec), errno, detail,
		    sizeof(detail));
		session_fail(s, CONN_R_IO_ERROR, detail);
		return;
	}
	if (n == 0) {
		session_reading(s, false);
		session_on_event(s->sec, BEV_EVENT_EOF, s);
		return;
	}
	session_on_read(s->sec, s);
}

/* Encrypted output drained to the low mark. */
static void
session_on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	conn_bev_wrote(bev);
	if (s->rx_paused) {
		s->rx_paused = false;
		session_reading(s, true);
		if (session_mux_input(s) != 0 || session_input(s) != 0)
			return;
	}
	session_wake_blocked(s);
	if (!s->dead)
		(void)session_flush(s);
}

/* Encrypted side: EOF or error. */
static void
session_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char detail[200];
	unsigned n;

	if (what & BEV_EVENT_ERROR) {
		conn_bev_error(bev, detail, sizeof(detail));
		session_fail(s, CONN_R_IO_ERROR, detail);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (session_input(s) != 0)
			return;
		n = session_open_tunnels(s);
		snprintf(detail, sizeof(detail), "peer closed the connection "
		    "with %u streams open", n);
		session_fail(s, n == 0 ? CONN_R_DONE : CONN_R_PEER_CLOSED,
		    n == 0 ? NULL : detail);
	}
}

/* Keepalive: ping, or close a session whose pings go unanswered. */
static void
session_on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tv = { SESSION_PING_MS / 1000, 0 };
	uint64_t since, now = session_now_us();
	char detail[120];

	(void)fd;
	(void)what;
	if (s->nstreams > 0)
		tv.tv_sec = SESSION_RTT_MS / 1000;
	if (s->mx == NULL) {
		session_fail(s, CONN_R_HANDSHAKE_TIMEOUT, "muxer not "
		    "negotiated in time");
		return;
	}
	if (yamux_ping_outstanding(s->mx, &since)) {
		if (now - since >= (uint64_t)SESSION_PING_TIMEOUT_MS * 1000u) {
			snprintf(detail, sizeof(detail), "yamux: no answer to "
			    "our ping for %u ms", SESSION_PING_TIMEOUT_MS);
			session_fail(s, CONN_R_IDLE_TIMEOUT, detail);
			return;
		}
	} else
		(void)yamux_ping(s->mx, now);
	if (session_flush(s) == 0)
		evtimer_add(s->ping_timer, &tv);
}

struct session *
session_new(struct conn *c, struct conn_env *env, struct conn_gen *gen,
    struct bufferevent *sec, struct secchan *sc, bool outbound,
    const char *muxer)
{
	static const char *const mux_ids[] = { SESSION_MUXER };
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	s->env = env;
	s->gen = gen;
	s->sec = sec;
	s->sc = sc;
	s->outbound = outbound;
	s->peer_id = *secchan_peer(sc);
	peer_id_to_string(&s->peer_id, s->peer, sizeof(s->peer));
	s->rx = evbuffer_new();
	s->ping_timer = evtimer_new(env->base, session_on_ping_timer, s);
	s->kill = event_new(env->base, -1, 0, session_on_kill, s);
	if (s->rx == NULL || s->ping_timer == NULL || s->kill == NULL)
		goto fail;
	if (muxer == NULL) {
		s->phase = S_MUXNEG;
		s->mss = outbound ? mss_new_dialer(mux_ids, 1) :
		    mss_new_listener(mux_ids, 1);
		if (s->mss == NULL)
			goto fail;
	} else
		s->phase = S_MUXING;
	s->next_session = env->sessions;
	env->sessions = s;
	return s;
fail:
	if (s->rx != NULL)
		evbuffer_free(s->rx);
	if (s->ping_timer != NULL)
		event_free(s->ping_timer);
	if (s->kill != NULL)
		event_free(s->kill);
	mss_free(s->mss);
	free(s);
	return NULL;
}

int
session_start(struct session *s)
{
	struct timeval tv = { SESSION_PING_MS / 1000, 0 };
	uint8_t out[MSS_OUT_MAX];
	size_t outlen = 0;

	bufferevent_setcb(s->sec, session_on_read, session_on_write,
	    session_on_event, s);
	bufferevent_setwatermark(s->sec, EV_WRITE, SESSION_OUT_LOW, 0);
	bufferevent_disable(s->sec, EV_READ);
	s->rd = event_new(s->env->base, bufferevent_getfd(s->sec),
	    EV_READ | EV_PERSIST, session_on_readable, s);
	if (s->rd == NULL) {
		session_fail(s, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	session_reading(s, true);
	evtimer_add(s->ping_timer, &tv);
	if (s->phase == S_MUXNEG && s->outbound) {
		if (mss_start(s->mss, out, &outlen) != 0 ||
		    session_stage(s, out, outlen) != 0) {
			session_fail(s, CONN_R_INTERNAL, "cannot start "
			    "multistream");
			return -1;
		}
	}
	if (s->phase == S_MUXING && session_start_mux(s) != 0)
		return -1;
	/* frames that came with the last handshake message */
	if (session_input(s) != 0 || session_flush(s) != 0)
		return -1;
	return 0;
}

void
session_free(struct session *s, const char *reason)
{
	struct session **pp;
	struct stream *st;

	if (s == NULL)
		return;
	s->dead = true;
	while ((st = s->head) != NULL)
		stream_drop(st, CONN_R_SESSION_CLOSED, reason);
	for (pp = &s->env->sessions; *pp != NULL; pp = &(*pp)->next_session)
		if (*pp == s) {
			*pp = s->next_session;
			break;
		}
	if (session_stage_owner == s) {
		session_stage_owner = NULL;
		session_stage_len = 0;
	}
	yamux_free(s->mx);
	mss_free(s->mss);
	if (s->rd != NULL)
		event_free(s->rd);
	evbuffer_free(s->rx);
	event_free(s->ping_timer);
	event_free(s->kill);
	free(s);
}

void
session_drain(struct session *s)
{
	if (s == NULL || s->dead || s->draining)
		return;
	s->draining = true;
	if (s->mx != NULL)
		yamux_goaway(s->mx, YAMUX_GOAWAY_NORMAL);
	if (session_flush(s) != 0)
		return;
	if (s->nstreams == 0)
		session_fail(s, CONN_R_SHUTDOWN, NULL);
}

bool
session_negotiating(const struct session *s)
{
	return s != NULL && !s->dead && s->phase == S_MUXNEG;
}

bool
session_usable(const struct session *s)
{
	return s != NULL && !s->dead && !s->draining && s->mx != NULL &&
	    s->phase == S_MUXING && !yamux_peer_gone(s->mx);
}

const struct peer_id *
session_peer(const struct session *s)
{
	return &s->peer_id;
}

unsigned
session_stream_count(const struct session *s)
{
	return s->nstreams;
}

uint64_t
session_rtt_us(const struct session *s)
{
	return s->mx != NULL ? yamux_rtt(s->mx) : 0;
}

struct session *
session_first(const struct conn_env *env)
{
	return env->sessions;
}

struct session *
session_next(const struct session *s)
{
	return s->next_session;
}

struct conn *
session_conn(const struct session *s)
{
	return s->c;
}

struct stream *
session_stream_first(const struct session *s)
{
	return s->head;
}

struct stream *
session_stream_next(const struct stream *st)
{
	return st->next;
}

void
stream_totals(const struct stream *st, struct stream_totals *t)
{
	t->id = st->id;
	t->sid = st->ys != NULL ? yamux_stream_id(st->ys) : 0;
	t->route = st->route;
	t->protocol = st->proto;
	t->up = st->up;
	t->down = st->down;
	t->age = stream_age(st);
}

/* Re-arm the idle timer of a relaying tunnel after activity. */
static void
stream_touch(struct stream *st)
{
	if (st->phase == ST_RELAYING && st->gen->cfg->idle_timeout_ms > 0)
		stream_arm(st, st->gen->cfg->idle_timeout_ms);
}

/* Stream socket readable. */
static void
stream_on_read(struct bufferevent *bev, void *arg)
{
	struct stream *st = arg;
	struct session *s = st->s;

	(void)bev;
	if (s->dead)
		return;
	stream_touch(st);
	if (stream_pump_up(st) == 0 || !s->dead)
		(void)session_flush(s);
}

/* Stream socket output drained to the low mark. */
static void
stream_on_write(struct bufferevent *bev, void *arg)
{
	struct stream *st = arg;
	struct session *s = st->s;

	conn_bev_wrote(bev);
	if (s->dead || st->phase != ST_RELAYING)
		return;
	stream_credit(st);
	(void)stream_pass_fin(st);
	if (!s->dead)
		(void)session_flush(s);
}

/*
 * The PROXY v2 header is the first thing in the target's output, queued
 * before the connect starts and so before any of the peer's bytes
 * (proxyv2.h): source is the peer's end of the session's connection,
 * destination ours.  Its bytes count as delivered and credited, so the
 * credit the peer gets stays its own bytes.  0, or -1 (st dropped).
 */
static int
stream_proxy_header(struct stream *st)
{
	struct session *s = st->s;
	struct sockaddr_storage src, dst;
	socklen_t sl = sizeof(src), dl = sizeof(dst);
	evutil_socket_t fd = bufferevent_getfd(s->sec);
	uint8_t h[PROXY_V2_MAX];
	size_t n;

	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (getpeername(fd, (struct sockaddr *)&src, &sl) != 0)
		src.ss_family = AF_UNSPEC;
	if (getsockname(fd, (struct sockaddr *)&dst, &dl) != 0)
		dst.ss_family = AF_UNSPEC;
	n = proxy_v2_header(h, (const struct sockaddr *)&src,
	    (const struct sockaddr *)&dst, s->peer);
	if (bufferevent_write(st->plain, h, n) != 0) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	st->delivered += n;
	st->credited += n;
	return 0;
}

/* Stream socket: connected (target), EOF, error. */
static void
stream_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream *st = arg;
	struct session *s = st->s;
	char detail[512], addr[MULTIADDR_STR_MAX];

	if (s->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		conn_bev_nodelay(bev);
		st->phase = ST_RELAYING;
		stream_arm(st, st->gen->cfg->idle_timeout_ms);
		st->rd = event_new(s->env->base, bufferevent_getfd(bev),
		    EV_READ | EV_PERSIST, stream_on_readable, st);
		if (st->rd == NULL) {
			stream_drop(st, CONN_R_INTERNAL, "out of memory");
			(void)session_flush(s);
			return;
		}
		stream_reading(st, true);
		conn_bev_push(bev);
		stream_credit(st);
		if (!stream_pass_fin(st) && stream_pump_up(st) == 0)
			(void)session_flush(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		conn_bev_error(bev, detail, sizeof(detail) - 300);
		if (st->phase == ST_TARGETING) {
			multiaddr_to_string(&st->target, addr, sizeof(addr));
			strncat(detail, " connecting to target ",
			    sizeof(detail) - strlen(detail) - 1);
			strncat(detail, addr, sizeof(detail) - strlen(detail) -
			    1);
			stream_drop(st, CONN_R_TARGET_FAILED, detail);
		} else
			stream_drop(st, CONN_R_IO_ERROR, detail);
		(void)session_flush(s);
		return;
	}
	if (what & BEV_EVENT_EOF)
		stream_on_eof(st);
}

/* The plaintext socket reached end of stream: FIN after its data. */
static void
stream_on_eof(struct stream *st)
{
	struct session *s = st->s;

	st->up_eof = true;
	stream_reading(st, false);
	if (stream_pump_up(st) == 0 || !s->dead)
		(void)session_flush(s);
}

/* Our reader of a stream's plaintext socket fired. */
static void
stream_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;
	struct session *s = st->s;
	char detail[200];
	ev_ssize_t n;

	(void)fd;
	(void)what;
	if (s->dead)
		return;
	n = conn_bev_read(st->plain, &st->rdsz, CONN_PLAIN_IN_HIGH, 0,
	    st->down_done);
	if (n == -2 && evbuffer_get_length(bufferevent_get_input(st->plain)) ==
	    0)
		return;
	if (n == -1) {
		tcpsock_strerror(bufferevent_getfd(st->plain), errno, detail,
		    sizeof(detail));
		stream_drop(st, CONN_R_IO_ERROR, detail);
		(void)session_flush(s);
		return;
	}
	if (n == 0) {
		stream_on_eof(st);
		return;
	}
	stream_on_read(st->plain, st);
}

/* A stream's phase timer fired. */
static void
stream_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;
	struct session *s = st->s;
	char detail[200];

	(void)fd;
	(void)what;
	if (s->dead)
		return;
	switch (st->phase) {
	case ST_NEGOTIATING:
		snprintf(detail, sizeof(detail), "multistream: no protocol "
		    "agreed within %u ms", SESSION_NEGOTIATE_MS);
		stream_drop(st, CONN_R_HANDSHAKE_TIMEOUT, detail);
		break;
	case ST_TARGETING:
		snprintf(detail, sizeof(detail), "no connection to the target "
		    "after %u ms", st->gen->cfg->connect_timeout_ms);
		stream_drop(st, CONN_R_CONNECT_TIMEOUT, detail);
		break;
	case ST_RELAYING:
		stream_drop(st, CONN_R_IDLE_TIMEOUT, NULL);
		break;
	case ST_CLOSED:
		return;
	}
	(void)session_flush(s);
}

/*
 * An outbound stream's yamux stream and its multistream proposal of
 * st->proto, sent and under the negotiation timer.  0, or -1 (st dropped
 * with the reason).
 */
static int
stream_propose(struct stream *st)
{
	struct session *s = st->s;
	const char *protos[1];
	uint8_t out[MSS_OUT_MAX];
	size_t outlen;

	if ((st->ys = yamux_open(s->mx)) == NULL) {
		stream_drop(st, CONN_R_INTERNAL, yamux_peer_gone(s->mx) ?
		    "yamux: the peer sent Go Away" : "yamux: cannot open a "
		    "stream (stream limit or control queue full)");
		return -1;
	}
	yamux_stream_set_user(st->ys, st);
	/* borrowed by the machine: the stream's own copy outlives it */
	protos[0] = st->proto;
	if ((st->mss = mss_new_dialer(protos, 1)) == NULL ||
	    mss_start(st->mss, out, &outlen) != 0) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	stream_arm(st, SESSION_NEGOTIATE_MS);
	return stream_send(st, out, outlen);
}

int
session_open_forward(struct session *s, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *from)
{
	char fromstr[INET6_ADDRSTRLEN + 8];
	struct stream *st;

	conn_format_addr(from, fromstr, sizeof(fromstr));
	if ((st = stream_new(s, true, fromstr)) == NULL) {
		evutil_closesocket(fd);
		log_warn("%sforward.%s: out of memory for a stream",
		    s->env->log_prefix, fw->name);
		return -1;
	}
	snprintf(st->route, sizeof(st->route), "forward.%s", fw->name);
	snprintf(st->proto, sizeof(st->proto), "%s", fw->protocol);
	st->kind = SK_TUNNEL;
	st->plain = bufferevent_socket_new(s->env->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (st->plain == NULL) {
		evutil_closesocket(fd);
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	stream_plain_setup(st);
	conn_bev_nodelay(st->plain);
	/* our reader, started once the proposal is out */
	bufferevent_disable(st->plain, EV_READ | EV_WRITE);
	st->rd = event_new(s->env->base, fd, EV_READ | EV_PERSIST,
	    stream_on_readable, st);
	if (st->rd == NULL) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	if (stream_propose(st) != 0)
		return -1;
	/*
	 * Lazy proposal (multistream-select.md section 5, as rust-libp2p's
	 * V1Lazy and go-libp2p's lazy client do): with one protocol to
	 * propose, the app's first bytes go right behind it instead of a
	 * round trip later.  If the peer answers "na" the stream is reset,
	 * as it would be without them.
	 */
	stream_reading(st, true);
	return session_flush(s);
}

int
session_open_perf(struct session *s, uint64_t upload, uint64_t download,
    session_perf_done done, struct perfcmd *arg)
{
	struct stream *st;

	if ((st = stream_new(s, true, "-")) == NULL) {
		log_warn("%sperf: out of memory for a stream",
		    s->env->log_prefix);
		return -1;
	}
	strcpy(st->route, "perf-client");
	snprintf(st->proto, sizeof(st->proto), "%s", PERF_PROTO);
	st->kind = SK_PERF_CLIENT;
	st->perf_done = done;
	st->perf_arg = arg;
	if ((st->perf = malloc(sizeof(*st->perf))) == NULL) {
		stream_drop(st, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	perf_cli_init(st->perf, upload, download);
	/* the request waits for the answer: "na" is then a clear refusal */
	if (stream_propose(st) != 0)
		return -1;
	return session_flush(s);
}
