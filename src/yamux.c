/*
 * yamux.c - the yamux stream multiplexer (/yamux/1.0.0), sans-I/O (L1).
 *
 * Input is parsed one frame at a time:
 *
 *   header (12 bytes, buffered here when split)
 *     -> events before the body:  OPEN (SYN), ACK, WINDOW (credit)
 *     -> the Data body, delivered in pieces as it arrives (DATA)
 *     -> events after the body:   FIN, RST
 *
 * Stream states (bits of st->flags):
 *
 *   inbound:  SYN seen -> BACKLOG --accept--> ACKED
 *   outbound: open (SYN queued) --peer ACK--> ACKED
 *   either:   LFIN (we ended our side), RFIN (peer ended its side),
 *             RST (reset by either side: no more events, no more frames),
 *             RELEASED (the caller let go; freed once nothing is queued
 *             for it, see below).
 *
 * Control frames go into a byte queue (ctrl), bounded by YAMUX_CTRL_MAX.
 * Frames that void calls must produce even when it is full (reset,
 * release, consume, goaway, ping) are deferred instead: the stream is
 * put on a FIFO (pnext, pprev) with what it owes (pend: one RST or one
 * window update), and yamux_take() writes those frames when the queue
 * has drained.  A stream is on the FIFO exactly while it owes a frame
 * (so the FIFO is bounded by the stream count, and yamux_pending() is
 * exact); an owed window update is dropped when the stream is reset or
 * the peer's side ends, an owed RST replaces it.  Frames
 * produced by the peer's input (ping answers, refusals, our Go Away on
 * error) are only produced while the queue is below YAMUX_CTRL_HIGH, one
 * per header, so they always fit.
 *
 * Memory: one record per stream, 64 bytes on LP64 (checked below), plus
 * one hash bucket pointer per stream (the table is kept between 1/8 and
 * 1 record per bucket).  No payload is buffered.
 */
#include "yamux.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stream flags. */
enum {
	ST_BACKLOG = 1 << 0,	/* inbound, not accepted yet */
	ST_ACKED = 1 << 1,	/* outbound: ACK seen; inbound: accepted */
	ST_LFIN = 1 << 2,	/* we sent FIN */
	ST_RFIN = 1 << 3,	/* peer sent FIN (event delivered) */
	ST_RST = 1 << 4,	/* reset (either side) */
	ST_PEER_RST = 1 << 5,	/* the peer reset it: send no RST */
	ST_RELEASED = 1 << 6,	/* the caller is done with it */
	ST_OUTBOUND = 1 << 7	/* we opened it */
};

/* What a stream owes the peer (st->pend), written by yamux_take(). */
enum {
	PEND_RST = 1 << 0,	/* Window Update|RST, code in send_window */
	PEND_WIN = 1 << 1,	/* a window update */
	PEND_LISTED = 1 << 2	/* on the deferred FIFO */
};

/* Events of the frame being parsed (pre: before its body, post: after). */
enum {
	EV_OPEN = 1 << 0,
	EV_ACK = 1 << 1,
	EV_WIN = 1 << 2,
	EV_FIN = 1 << 3,
	EV_RST = 1 << 4
};

/*
 * Refused inbound streams in a row (no accept, no stream freed in
 * between) after which the peer is taken to be hostile and the session
 * fails.  A refusal costs us one 12-byte RST per 12-byte SYN and input
 * stops while they queue up, so this is not a memory bound; it only
 * ends a session that can make no progress.  Large enough for a burst
 * of thousands of opens from an honest peer while our caller is slow.
 */
#define YAMUX_REFUSE_MAX 8192

/* Control queue: allocated on demand, dropped when drained if larger. */
#define YAMUX_CTRL_KEEP 1024
#define YAMUX_CTRL_MIN 256

#define YAMUX_BUCKETS_MIN 16

#define EPOCH_UNSET UINT64_MAX

struct yamux_stream {
	struct yamux_stream *hnext;	/* hash chain */
	struct yamux_stream *pnext;	/* deferred-frame FIFO */
	struct yamux_stream *pprev;
	void *user;
	uint64_t epoch_us;	/* window growth epoch: last update sent */
	uint32_t id;
	uint32_t send_window;	/* peer's credit for us; RST code if PEND_RST */
	uint32_t recv_window;	/* window we grant (grows) */
	uint32_t recv_avail;	/* bytes the peer may still send */
	uint32_t unconsumed;	/* delivered, not consumed */
	bool sink_backlog;	/* the consumer's own queue is backed up */
	uint8_t flags;
	uint8_t pend;
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct yamux_stream) <= 64,
    "yamux stream record grew beyond its documented 64 bytes");

struct yamux {
	enum yamux_role role;
	struct yamux_limits lim;
	uint64_t seed;		/* hash salt */

	/* Streams by id. */
	struct yamux_stream **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;		/* records */
	size_t backlog;		/* inbound not accepted */
	uint32_t refused;	/* refusals in a row */
	uint64_t next_id;

	/* Control queue: bytes ctrl[head .. head + len). */
	uint8_t *ctrl;
	size_t cap, head, len;
	/* Deferred frames. */
	struct yamux_stream *dhead, *dtail;
	size_t deferred;	/* deferred frames (12 bytes each) */
	bool goaway_due, ping_due;

	/* Session. */
	bool goaway_sent, peer_gone;
	uint32_t goaway_code;
	bool ping_out;
	uint32_t ping_val;
	uint64_t ping_since, rtt;

	/* Parser. */
	uint8_t hdr[YAMUX_HDR];
	size_t hlen;
	struct yamux_stream *cur;	/* stream of the frame being parsed */
	uint32_t cur_code;		/* RST code */
	uint8_t pre, post;		/* events still to deliver */
	uint32_t body;			/* body bytes still to come */
	bool deliver;			/* body goes to cur as DATA */

	enum yamux_fail fail;
	char err[160];
};

static void y_fail(struct yamux *y, enum yamux_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Big-endian helpers. */
static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Encode one frame header. */
static void
hdr_put(uint8_t *h, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	h[0] = 0;
	h[1] = type;
	h[2] = (uint8_t)(flags >> 8);
	h[3] = (uint8_t)flags;
	put32(h + 4, id);
	put32(h + 8, len);
}

/* Fill in the defaults. */
void
yamux_limits_default(struct yamux_limits *l)
{
	l->max_window = YAMUX_DEFAULT_MAX_WINDOW;
	l->max_streams = 4096;
	l->accept_backlog = 256;
	l->initial_window = YAMUX_INITIAL_WINDOW;
}

/* splitmix64 finaliser: the hash and the salt. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Bucket of id. */
static size_t
bucket_of(const struct yamux *y, uint32_t id)
{
	return (size_t)(mix64(id ^ y->seed) & (y->nbuckets - 1));
}

/* Rehash into n buckets; keeps the old table if allocation fails. */
static void
table_resize(struct yamux *y, size_t n)
{
	struct yamux_stream **nb, *st, *next;
	size_t i, old = y->nbuckets;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	y->nbuckets = n;
	for (i = 0; i < old; i++)
		for (st = y->buckets[i]; st != NULL; st = next) {
			next = st->hnext;
			st->hnext = nb[bucket_of(y, st->id)];
			nb[bucket_of(y, st->id)] = st;
		}
	free(y->buckets);
	y->buckets = nb;
}

/* The record of id, or NULL. */
static struct yamux_stream *
lookup(const struct yamux *y, uint32_t id)
{
	struct yamux_stream *st;

	for (st = y->buckets[bucket_of(y, id)]; st != NULL; st = st->hnext)
		if (st->id == id)
			return st;
	return NULL;
}

/* New record for id, in the table; NULL on ENOMEM. */
static struct yamux_stream *
stream_new(struct yamux *y, uint32_t id, uint8_t flags)
{
	struct yamux_stream *st;
	size_t b;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->id = id;
	st->flags = flags;
	st->epoch_us = EPOCH_UNSET;
	st->send_window = YAMUX_INITIAL_WINDOW;
	st->recv_window = st->recv_avail = YAMUX_INITIAL_WINDOW;
	b = bucket_of(y, id);
	st->hnext = y->buckets[b];
	y->buckets[b] = st;
	if (++y->count > y->nbuckets)
		table_resize(y, y->nbuckets * 2);
	return st;
}

/* Unlink and free a record (it is off the deferred FIFO). */
static void
stream_free(struct yamux *y, struct yamux_stream *st)
{
	struct yamux_stream **pp;

	for (pp = &y->buckets[bucket_of(y, st->id)]; *pp != st;
	    pp = &(*pp)->hnext)
		;
	*pp = st->hnext;
	if (st->flags & ST_BACKLOG)
		y->backlog--;
	if (y->cur == st)
		y->cur = NULL;
	free(st);
	y->refused = 0;
	if (--y->count < y->nbuckets / 8 && y->nbuckets > YAMUX_BUCKETS_MIN)
		table_resize(y, y->nbuckets / 2);
}

/* New session core. */
struct yamux *
yamux_new(enum yamux_role role, const struct yamux_limits *lim)
{
	struct yamux *y;

	if ((y = calloc(1, sizeof(*y))) == NULL)
		return NULL;
	if (lim != NULL)
		y->lim = *lim;
	else
		yamux_limits_default(&y->lim);
	/* The peer assumes 256 KiB: a window cannot start smaller. */
	if (y->lim.initial_window < YAMUX_INITIAL_WINDOW)
		y->lim.initial_window = YAMUX_INITIAL_WINDOW;
	if (y->lim.max_window < y->lim.initial_window)
		y->lim.max_window = y->lim.initial_window;
	y->role = role;
	y->next_id = role == YAMUX_CLIENT ? 1 : 2;
	/* A salt the peer cannot know, so it cannot pick colliding ids. */
	y->seed = mix64((uint64_t)(uintptr_t)y ^ UINT64_C(0x9e3779b97f4a7c15));
	y->nbuckets = YAMUX_BUCKETS_MIN;
	if ((y->buckets = calloc(y->nbuckets, sizeof(*y->buckets))) == NULL) {
		free(y);
		return NULL;
	}
	return y;
}

/* Free the core and every record. */
void
yamux_free(struct yamux *y)
{
	struct yamux_stream *st, *next;
	size_t i;

	if (y == NULL)
		return;
	for (i = 0; i < y->nbuckets; i++)
		for (st = y->buckets[i]; st != NULL; st = next) {
			next = st->hnext;
			free(st);
		}
	free(y->buckets);
	free(y->ctrl);
	free(y);
}

/* Record the failure, queue Go Away (protocol error) once. */
static void
y_fail(struct yamux *y, enum yamux_fail f, const char *fmt, ...)
{
	va_list ap;

	if (y->fail != YAMUX_FAIL_NONE)
		return;
	va_start(ap, fmt);
	vsnprintf(y->err, sizeof(y->err), fmt, ap);
	va_end(ap);
	y->fail = f;
	if (!y->goaway_sent)
		yamux_goaway(y, f == YAMUX_FAIL_CTRL_OVERFLOW ?
		    YAMUX_GOAWAY_INTERNAL : YAMUX_GOAWAY_PROTOCOL);
}

/* Failure class. */
enum yamux_fail
yamux_fail(const struct yamux *y)
{
	return y->fail;
}

/* Failure text ("" before a failure). */
const char *
yamux_error(const struct yamux *y)
{
	return y->err;
}

/* Room for n more bytes in the control queue (<= YAMUX_CTRL_MAX). */
static bool
ctrl_reserve(struct yamux *y, size_t n)
{
	size_t want = y->len + n, ncap;
	uint8_t *nb;

	if (want > YAMUX_CTRL_MAX)
		return false;
	if (y->head + want <= y->cap)
		return true;
	if (want <= y->cap) {
		memmove(y->ctrl, y->ctrl + y->head, y->len);
		y->head = 0;
		return true;
	}
	ncap = y->cap ? y->cap : YAMUX_CTRL_MIN;
	while (ncap < want)
		ncap *= 2;
	if (ncap > YAMUX_CTRL_MAX)
		ncap = YAMUX_CTRL_MAX;
	if ((nb = malloc(ncap)) == NULL)
		return false;
	if (y->len > 0)
		memcpy(nb, y->ctrl + y->head, y->len);
	free(y->ctrl);
	y->ctrl = nb;
	y->cap = ncap;
	y->head = 0;
	return true;
}

/* Queue one frame header; false if the queue is full (or ENOMEM). */
static bool
ctrl_frame(struct yamux *y, uint8_t type, uint16_t flags, uint32_t id,
    uint32_t len)
{
	if (!ctrl_reserve(y, YAMUX_HDR))
		return false;
	hdr_put(y->ctrl + y->head + y->len, type, flags, id, len);
	y->len += YAMUX_HDR;
	return true;
}

/* Put st on the deferred FIFO (once) owing what. */
static void
defer(struct yamux *y, struct yamux_stream *st, uint8_t what)
{
	if ((st->pend & what) == 0)
		y->deferred++;
	st->pend |= what;
	if (st->pend & PEND_LISTED)
		return;
	st->pend |= PEND_LISTED;
	st->pnext = NULL;
	st->pprev = y->dtail;
	if (y->dtail != NULL)
		y->dtail->pnext = st;
	else
		y->dhead = st;
	y->dtail = st;
}

/* st no longer owes what; off the FIFO when it owes nothing. */
static void
owe_clear(struct yamux *y, struct yamux_stream *st, uint8_t what)
{
	if ((st->pend & what) == 0)
		return;
	st->pend &= (uint8_t)~what;
	y->deferred--;
	if (st->pend != PEND_LISTED)
		return;
	if (st->pprev != NULL)
		st->pprev->pnext = st->pnext;
	else
		y->dhead = st->pnext;
	if (st->pnext != NULL)
		st->pnext->pprev = st->pprev;
	else
		y->dtail = st->pprev;
	st->pnext = st->pprev = NULL;
	st->pend = 0;
}

/* Credit the peer used and we can return: consumed, not returned yet. */
static uint32_t
win_delta(const struct yamux *y, const struct yamux_stream *st)
{
	uint64_t used = (uint64_t)st->recv_avail + st->unconsumed;

	if (y->cur == st && y->deliver)
		used += y->body;
	return used >= st->recv_window ? 0 :
	    (uint32_t)(st->recv_window - used);
}

/* A window update frame for st with the current delta; false if full. */
static bool
ctrl_window(struct yamux *y, struct yamux_stream *st)
{
	uint32_t d = win_delta(y, st);

	if (d == 0)
		return true;
	if (!ctrl_frame(y, YAMUX_T_WINDOW, 0, st->id, d))
		return false;
	st->recv_avail += d;
	return true;
}

/* Queue st's RST now, or defer it. */
static void
queue_rst(struct yamux *y, struct yamux_stream *st, uint32_t code)
{
	owe_clear(y, st, PEND_WIN);
	if (y->deferred == 0 &&
	    ctrl_frame(y, YAMUX_T_WINDOW, YAMUX_F_RST, st->id, code))
		return;
	st->send_window = code;
	defer(y, st, PEND_RST);
}

/* Write one deferred frame into the (empty) queue; false if none. */
static bool
undefer_one(struct yamux *y)
{
	struct yamux_stream *st;

	if (y->goaway_due) {
		if (!ctrl_frame(y, YAMUX_T_GOAWAY, 0, 0, y->goaway_code))
			return false;
		y->goaway_due = false;
		y->deferred--;
		return true;
	}
	if (y->ping_due) {
		if (!ctrl_frame(y, YAMUX_T_PING, YAMUX_F_SYN, 0, y->ping_val))
			return false;
		y->ping_due = false;
		y->deferred--;
		return true;
	}
	while ((st = y->dhead) != NULL) {
		if (st->pend & PEND_RST) {
			if (!ctrl_frame(y, YAMUX_T_WINDOW, YAMUX_F_RST, st->id,
			    st->send_window))
				return false;
			owe_clear(y, st, PEND_RST);
		} else {
			if (!ctrl_window(y, st))
				return false;
			owe_clear(y, st, PEND_WIN);
		}
		if (st->flags & ST_RELEASED)
			stream_free(y, st);
		if (y->len > 0)
			return true;
	}
	return y->len > 0;
}

/* Control bytes queued, deferred frames included. */
size_t
yamux_pending(const struct yamux *y)
{
	return y->len + y->deferred * YAMUX_HDR;
}

/* Move up to cap bytes of control frames into out. */
size_t
yamux_take(struct yamux *y, uint8_t *out, size_t cap)
{
	size_t n = 0, k;

	while (n < cap) {
		if (y->len == 0 && (y->deferred == 0 || !undefer_one(y)))
			break;
		k = y->len < cap - n ? y->len : cap - n;
		memcpy(out + n, y->ctrl + y->head, k);
		n += k;
		y->head += k;
		y->len -= k;
	}
	if (y->len == 0) {
		y->head = 0;
		if (y->cap > YAMUX_CTRL_KEEP) {
			free(y->ctrl);
			y->ctrl = NULL;
			y->cap = 0;
		}
	}
	return n;
}

/* Open an outbound stream. */
struct yamux_stream *
yamux_open(struct yamux *y)
{
	struct yamux_stream *st;

	if (y->fail != YAMUX_FAIL_NONE || y->peer_gone || y->goaway_sent ||
	    y->count >= y->lim.max_streams || y->next_id > UINT32_MAX ||
	    !ctrl_reserve(y, YAMUX_HDR))
		return NULL;
	if ((st = stream_new(y, (uint32_t)y->next_id, ST_OUTBOUND)) == NULL)
		return NULL;
	y->next_id += 2;
	st->recv_window = st->recv_avail = y->lim.initial_window;
	ctrl_frame(y, YAMUX_T_WINDOW, YAMUX_F_SYN, st->id,
	    y->lim.initial_window - YAMUX_INITIAL_WINDOW);
	return st;
}

/* Accept an inbound stream. */
int
yamux_accept(struct yamux *y, struct yamux_stream *st)
{
	uint32_t extra = y->lim.initial_window - YAMUX_INITIAL_WINDOW, d;

	if (y->fail != YAMUX_FAIL_NONE ||
	    (st->flags & (ST_RST | ST_RELEASED | ST_OUTBOUND)))
		return -1;
	if (st->flags & ST_ACKED)
		return 0;
	if (!ctrl_reserve(y, YAMUX_HDR))
		return -1;
	/* The ACK carries the extra window and credit consumed so far. */
	st->recv_window += extra;
	d = win_delta(y, st);
	ctrl_frame(y, YAMUX_T_WINDOW, YAMUX_F_ACK, st->id, d);
	st->recv_avail += d;
	st->flags = (uint8_t)((st->flags & ~ST_BACKLOG) | ST_ACKED);
	y->backlog--;
	y->refused = 0;
	return 0;
}

/* Reset st; see yamux.h. */
void
yamux_reset(struct yamux *y, struct yamux_stream *st, uint32_t code)
{
	bool closed = (st->flags & (ST_LFIN | ST_RFIN)) ==
	    (ST_LFIN | ST_RFIN);

	if (st->flags & ST_RST)
		return;
	st->flags |= ST_RST;
	if (st->flags & ST_BACKLOG) {
		st->flags &= (uint8_t)~ST_BACKLOG;
		y->backlog--;
	}
	if (!closed && y->fail == YAMUX_FAIL_NONE)
		queue_rst(y, st, code);
	else
		owe_clear(y, st, PEND_WIN);
}

/* End our direction with Data|FIN (Data|ACK|FIN if not accepted yet). */
int
yamux_close(struct yamux *y, struct yamux_stream *st)
{
	uint16_t flags = YAMUX_F_FIN;

	if (st->flags & (ST_LFIN | ST_RST))
		return 0;
	if (y->fail != YAMUX_FAIL_NONE)
		return -1;
	if (st->flags & ST_BACKLOG)
		flags |= YAMUX_F_ACK;
	if (!ctrl_frame(y, YAMUX_T_DATA, flags, st->id, 0))
		return -1;
	if (st->flags & ST_BACKLOG) {
		st->flags = (uint8_t)((st->flags & ~ST_BACKLOG) | ST_ACKED);
		y->backlog--;
	}
	st->flags |= ST_LFIN;
	return 0;
}

/* The caller is done with st. */
void
yamux_release(struct yamux *y, struct yamux_stream *st)
{
	if ((st->flags & (ST_LFIN | ST_RFIN)) != (ST_LFIN | ST_RFIN))
		yamux_reset(y, st, 0);
	st->flags |= ST_RELEASED;
	if (st->flags & ST_BACKLOG) {
		st->flags &= (uint8_t)~ST_BACKLOG;
		y->backlog--;
	}
	if (y->cur == st)
		y->cur = NULL;
	if ((st->pend & PEND_LISTED) == 0)
		stream_free(y, st);
}

/* Payload st may send now. */
size_t
yamux_send_room(const struct yamux *y, const struct yamux_stream *st)
{
	if (y->fail != YAMUX_FAIL_NONE ||
	    (st->flags & (ST_LFIN | ST_RST | ST_BACKLOG | ST_RELEASED)))
		return 0;
	return st->send_window < YAMUX_MAX_FRAME ? st->send_window :
	    YAMUX_MAX_FRAME;
}

/* Header of a data frame of len bytes; takes len from the window. */
int
yamux_data_hdr(struct yamux *y, struct yamux_stream *st, size_t len,
    uint8_t hdr[static YAMUX_HDR])
{
	if (y->fail != YAMUX_FAIL_NONE ||
	    (st->flags & (ST_LFIN | ST_RST | ST_BACKLOG | ST_RELEASED)) ||
	    len > yamux_send_room(y, st))
		return -1;
	hdr_put(hdr, YAMUX_T_DATA, 0, st->id, (uint32_t)len);
	st->send_window -= (uint32_t)len;
	return 0;
}

/* Return credit for n consumed bytes; grow the window when it is hot. */
void
yamux_consume(struct yamux *y, struct yamux_stream *st, size_t n,
    uint64_t now_us)
{
	uint32_t d, w;
	uint64_t rtt = y->rtt;

	st->unconsumed -= n < st->unconsumed ? (uint32_t)n : st->unconsumed;
	/* Not accepted yet: yamux_accept() returns the credit. */
	if ((st->flags & (ST_RST | ST_RFIN | ST_RELEASED | ST_BACKLOG)) ||
	    y->fail != YAMUX_FAIL_NONE || (st->pend & PEND_WIN))
		return;
	d = win_delta(y, st);
	if (d == 0 || d < st->recv_window / 2)
		return;
	/*
	 * go-yamux's rule: an update due within 4 RTTs of the last one, and
	 * only while the consumer really keeps up (yamux_sink_backlog()).
	 * Fourfold: three steps from 256 KiB to 16 MiB, so a 50 ms path
	 * reaches its bandwidth-delay product within a few round trips.
	 */
	if (rtt > 0 && st->epoch_us != EPOCH_UNSET &&
	    now_us - st->epoch_us < 4 * rtt && !st->sink_backlog &&
	    st->recv_window < y->lim.max_window) {
		w = st->recv_window > y->lim.max_window / 4 ?
		    y->lim.max_window : st->recv_window * 4;
		st->recv_window = w;
	}
	st->epoch_us = now_us;
	if (y->deferred > 0 || !ctrl_window(y, st))
		defer(y, st, PEND_WIN);
}

/* See yamux.h: below max_window, so a hot update would grow it. */
bool
yamux_stream_may_grow(const struct yamux *y, const struct yamux_stream *st)
{
	return st->recv_window < y->lim.max_window;
}

/* See yamux.h: the consumer's queue is backed up, do not grow. */
void
yamux_sink_backlog(struct yamux_stream *st, bool backlog)
{
	st->sink_backlog = backlog;
}

/* Send a ping. */
int
yamux_ping(struct yamux *y, uint64_t now_us)
{
	if (y->ping_out || y->fail != YAMUX_FAIL_NONE)
		return -1;
	y->ping_out = true;
	y->ping_val++;
	y->ping_since = now_us;
	if (y->deferred > 0 ||
	    !ctrl_frame(y, YAMUX_T_PING, YAMUX_F_SYN, 0, y->ping_val)) {
		y->ping_due = true;
		y->deferred++;
	}
	return 0;
}

/* Last measured RTT. */
uint64_t
yamux_rtt(const struct yamux *y)
{
	return y->rtt;
}

/* Whether our ping is unanswered, and since when. */
bool
yamux_ping_outstanding(const struct yamux *y, uint64_t *since_us)
{
	if (y->ping_out && since_us != NULL)
		*since_us = y->ping_since;
	return y->ping_out;
}

/* Queue Go Away once. */
void
yamux_goaway(struct yamux *y, enum yamux_goaway_code code)
{
	if (y->goaway_sent)
		return;
	y->goaway_sent = true;
	y->goaway_code = code;
	if (y->deferred > 0 ||
	    !ctrl_frame(y, YAMUX_T_GOAWAY, 0, 0, (uint32_t)code)) {
		y->goaway_due = true;
		y->deferred++;
	}
}

/* Whether the peer sent Go Away. */
bool
yamux_peer_gone(const struct yamux *y)
{
	return y->peer_gone;
}

/* Stream facts and the caller's pointer. */
uint32_t
yamux_stream_id(const struct yamux_stream *st)
{
	return st->id;
}

uint32_t
yamux_stream_recv_window(const struct yamux_stream *st)
{
	return st->recv_window;
}

uint32_t
yamux_stream_unconsumed(const struct yamux_stream *st)
{
	return st->unconsumed;
}

size_t
yamux_stream_count(const struct yamux *y)
{
	return y->count;
}

void
yamux_stream_set_user(struct yamux_stream *st, void *user)
{
	st->user = user;
}

void *
yamux_stream_user(const struct yamux_stream *st)
{
	return st->user;
}

/* Inbound SYN for id: a new stream, or a refusal (RST), or a failure. */
static struct yamux_stream *
on_syn(struct yamux *y, uint32_t id, uint8_t type, uint32_t length)
{
	uint32_t parity = y->role == YAMUX_CLIENT ? 0 : 1;
	struct yamux_stream *st;

	if (id == 0 || (id & 1) != parity) {
		y_fail(y, YAMUX_FAIL_STREAM_ID, "yamux: stream id of the "
		    "peer's SYN: expected a nonzero %s id, got %u",
		    parity ? "odd (client)" : "even (server)", id);
		return NULL;
	}
	if (lookup(y, id) != NULL) {
		y_fail(y, YAMUX_FAIL_DUPLICATE, "yamux: SYN for stream %u: "
		    "expected a new stream id, got the id of a live stream",
		    id);
		return NULL;
	}
	/* Too much data on a SYN: fail before making a record. */
	if (type == YAMUX_T_DATA && length > YAMUX_INITIAL_WINDOW) {
		y_fail(y, YAMUX_FAIL_WINDOW, "yamux: stream %u: data beyond "
		    "the receive window: expected at most %u bytes, got %u",
		    id, YAMUX_INITIAL_WINDOW, length);
		return NULL;
	}
	if (y->goaway_sent)
		goto refuse;
	if (y->count >= y->lim.max_streams ||
	    y->backlog >= y->lim.accept_backlog) {
		if (++y->refused > YAMUX_REFUSE_MAX) {
			y_fail(y, YAMUX_FAIL_TOO_MANY_STREAMS, "yamux: peer "
			    "kept opening streams beyond our limits: expected "
			    "at most %u refused in a row, got %u",
			    YAMUX_REFUSE_MAX, y->refused);
			return NULL;
		}
		goto refuse;
	}
	if ((st = stream_new(y, id, ST_BACKLOG)) == NULL)
		goto refuse;
	y->backlog++;
	if (type == YAMUX_T_WINDOW)
		st->send_window = length > UINT32_MAX - YAMUX_INITIAL_WINDOW ?
		    UINT32_MAX : YAMUX_INITIAL_WINDOW + length;
	return st;
refuse:
	if (!ctrl_frame(y, YAMUX_T_WINDOW, YAMUX_F_RST, id, 0))
		y_fail(y, YAMUX_FAIL_CTRL_OVERFLOW, "yamux: control queue "
		    "full: expected room for a refusal of stream %u, got "
		    "%zu bytes queued", id, y->len);
	return NULL;
}

/* A Data or Window Update header: plan its events and body. */
static void
on_stream_frame(struct yamux *y, uint8_t type, uint16_t flags, uint32_t id,
    uint32_t length)
{
	struct yamux_stream *st;

	y->body = type == YAMUX_T_DATA ? length : 0;
	y->deliver = false;
	y->cur = NULL;
	y->pre = y->post = 0;
	if (flags & YAMUX_F_SYN) {
		if ((st = on_syn(y, id, type, length)) == NULL)
			return;
		y->pre |= EV_OPEN;
	} else {
		st = lookup(y, id);
		/* Unknown, reset or released: dropped (body skipped). */
		if (st == NULL || (st->flags & (ST_RST | ST_RELEASED)))
			return;
	}
	y->cur = st;
	if ((flags & YAMUX_F_ACK) && (st->flags & ST_OUTBOUND) &&
	    !(st->flags & ST_ACKED)) {
		st->flags |= ST_ACKED;
		y->pre |= EV_ACK;
	}
	/* With RST, a Window Update's Length is an error code (go). */
	if (type == YAMUX_T_WINDOW && !(flags & (YAMUX_F_SYN | YAMUX_F_RST)) &&
	    length > 0) {
		st->send_window = length > UINT32_MAX - st->send_window ?
		    UINT32_MAX : st->send_window + length;
		if (!(st->flags & ST_LFIN))
			y->pre |= EV_WIN;
	}
	if (flags & YAMUX_F_RST) {
		y->post |= EV_RST;
		y->cur_code = type == YAMUX_T_WINDOW ? length : 0;
		return;
	}
	if (y->body > 0 && !(st->flags & ST_RFIN)) {
		if (y->body > st->recv_avail) {
			y_fail(y, YAMUX_FAIL_WINDOW, "yamux: stream %u: data "
			    "beyond the receive window: expected at most %u "
			    "bytes, got %u", id, st->recv_avail, y->body);
			return;
		}
		st->recv_avail -= y->body;
		y->deliver = true;
	}
	if ((flags & YAMUX_F_FIN) && !(st->flags & ST_RFIN))
		y->post |= EV_FIN;
}

/* A complete header in y->hdr; true if it produced ev. */
static bool
on_header(struct yamux *y, uint64_t now_us, struct yamux_event *ev)
{
	uint8_t ver = y->hdr[0], type = y->hdr[1];
	uint16_t flags = (uint16_t)(y->hdr[2] << 8 | y->hdr[3]);
	uint32_t id = get32(y->hdr + 4), length = get32(y->hdr + 8);

	y->hlen = 0;
	if (ver != 0) {
		y_fail(y, YAMUX_FAIL_VERSION, "yamux: frame version: "
		    "expected 0, got %u", ver);
		return false;
	}
	switch (type) {
	case YAMUX_T_DATA:
	case YAMUX_T_WINDOW:
		on_stream_frame(y, type, flags, id, length);
		return false;
	case YAMUX_T_PING:
		if (flags & YAMUX_F_SYN) {
			/* Echo the value exactly. */
			if (!ctrl_frame(y, YAMUX_T_PING, YAMUX_F_ACK, 0,
			    length))
				y_fail(y, YAMUX_FAIL_CTRL_OVERFLOW, "yamux: "
				    "control queue full: expected room for a "
				    "ping answer, got %zu bytes queued",
				    y->len);
			return false;
		}
		/* An answer we did not ask for is ignored (js fails). */
		if (!(flags & YAMUX_F_ACK) || !y->ping_out ||
		    length != y->ping_val)
			return false;
		y->ping_out = false;
		y->rtt = now_us > y->ping_since ? now_us - y->ping_since : 0;
		ev->type = YAMUX_EV_PONG;
		ev->rtt_us = y->rtt;
		return true;
	case YAMUX_T_GOAWAY:
		if (y->peer_gone)
			return false;
		y->peer_gone = true;
		ev->type = YAMUX_EV_GOAWAY;
		ev->code = length;
		return true;
	default:
		y_fail(y, YAMUX_FAIL_TYPE, "yamux: frame type: expected 0 to "
		    "3, got %u", type);
		return false;
	}
}

/* The next pending event of the current frame into ev; false if none. */
static bool
next_event(struct yamux *y, uint8_t *set, struct yamux_event *ev)
{
	struct yamux_stream *st = y->cur;
	uint8_t bit;

	while (*set != 0) {
		bit = (uint8_t)(*set & -*set);
		*set &= (uint8_t)~bit;
		/* Reset or released by the caller meanwhile: no events. */
		if (st == NULL || (st->flags & (ST_RST | ST_RELEASED)))
			continue;
		ev->st = st;
		switch (bit) {
		case EV_OPEN:
			ev->type = YAMUX_EV_OPEN;
			break;
		case EV_ACK:
			ev->type = YAMUX_EV_ACK;
			break;
		case EV_WIN:
			ev->type = YAMUX_EV_WINDOW;
			break;
		case EV_FIN:
			st->flags |= ST_RFIN;
			owe_clear(y, st, PEND_WIN);	/* credit is useless */
			ev->type = YAMUX_EV_FIN;
			break;
		default:
			st->flags |= ST_RST | ST_PEER_RST;
			if (st->flags & ST_BACKLOG) {
				st->flags &= (uint8_t)~ST_BACKLOG;
				y->backlog--;
			}
			owe_clear(y, st, PEND_WIN);
			ev->type = YAMUX_EV_RST;
			ev->code = y->cur_code;
			break;
		}
		return true;
	}
	return false;
}

/* Parse input; see yamux.h. */
void
yamux_input(struct yamux *y, const uint8_t *in, size_t len,
    size_t *consumed, uint64_t now_us, struct yamux_event *ev)
{
	size_t off = 0, n;
	struct yamux_stream *st;

	memset(ev, 0, sizeof(*ev));
	*consumed = 0;
	for (;;) {
		if (y->fail != YAMUX_FAIL_NONE) {
			ev->type = YAMUX_EV_ERROR;
			break;
		}
		if (yamux_pending(y) > YAMUX_CTRL_HIGH) {
			ev->type = YAMUX_EV_BLOCKED;
			break;
		}
		if (next_event(y, &y->pre, ev))
			break;
		if (y->body > 0) {
			if (off == len)
				break;
			n = y->body < len - off ? y->body : len - off;
			y->body -= (uint32_t)n;
			st = y->cur;
			if (!y->deliver || st == NULL ||
			    (st->flags & (ST_RST | ST_RELEASED))) {
				off += n;
				continue;
			}
			if (st->epoch_us == EPOCH_UNSET)
				st->epoch_us = now_us;
			st->unconsumed += (uint32_t)n;
			ev->type = YAMUX_EV_DATA;
			ev->st = st;
			ev->data = in + off;
			ev->len = n;
			off += n;
			break;
		}
		y->deliver = false;
		if (next_event(y, &y->post, ev))
			break;
		y->cur = NULL;
		if (off == len)
			break;
		n = YAMUX_HDR - y->hlen < len - off ? YAMUX_HDR - y->hlen :
		    len - off;
		memcpy(y->hdr + y->hlen, in + off, n);
		y->hlen += n;
		off += n;
		if (y->hlen == YAMUX_HDR && on_header(y, now_us, ev))
			break;
	}
	*consumed = off;
}
