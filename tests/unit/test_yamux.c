/*
 * test_yamux.c - the yamux core: exact bytes of the fact sheet's
 * examples (yamux.md section 2), a client and a server core talking
 * through memory, flow control with a fake clock, hostile input.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"
#include "yamux.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes on their way to one core; DATA events point into buf. */
struct pipe {
	uint8_t *buf;
	size_t rpos, len, cap;
};

struct peer {
	struct yamux *y;
	struct pipe in;
};

static void
pipe_put(struct pipe *p, const void *b, size_t n)
{
	if (p->rpos > 0) {
		memmove(p->buf, p->buf + p->rpos, p->len - p->rpos);
		p->len -= p->rpos;
		p->rpos = 0;
	}
	if (p->len + n > p->cap) {
		p->cap = (p->len + n) * 2;
		p->buf = realloc(p->buf, p->cap);
		ck_assert_ptr_nonnull(p->buf);
	}
	memcpy(p->buf + p->len, b, n);
	p->len += n;
}

static void
pipe_put_hex(struct pipe *p, const char *hex)
{
	size_t n;
	uint8_t *b = vec_hex(hex, &n);

	ck_assert_ptr_nonnull(b);
	pipe_put(p, b, n);
	free(b);
}

/* Everything queued in y, as hex (caller frees). */
static char *
take_hex(struct yamux *y)
{
	uint8_t *b;
	size_t n = yamux_pending(y), got;
	char *hex;

	b = malloc(n + 1);
	ck_assert_ptr_nonnull(b);
	got = yamux_take(y, b, n);
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(yamux_pending(y), 0);
	hex = vec_tohex(b, n);
	free(b);
	return hex;
}

static void
assert_take(struct yamux *y, const char *want)
{
	char *hex = take_hex(y);

	ck_assert_str_eq(hex, want);
	free(hex);
}

/* Move from's control frames to to's input. */
static void
flush(struct peer *from, struct peer *to)
{
	uint8_t b[4096];
	size_t n;

	while ((n = yamux_take(from->y, b, sizeof(b))) > 0)
		pipe_put(&to->in, b, n);
}

/* One event from p's input (consumed bytes are dropped). */
static enum yamux_ev_type
poll_ev(struct peer *p, uint64_t now, struct yamux_event *ev)
{
	size_t used;

	yamux_input(p->y, p->in.buf + p->in.rpos, p->in.len - p->in.rpos,
	    &used, now, ev);
	ck_assert_uint_le(used, p->in.len - p->in.rpos);
	p->in.rpos += used;
	if (ev->type == YAMUX_EV_NONE)
		ck_assert_uint_eq(p->in.rpos, p->in.len);
	return ev->type;
}

/* The next event must be of type t (NONE: nothing left). */
static struct yamux_stream *
expect(struct peer *p, enum yamux_ev_type t, struct yamux_event *ev)
{
	struct yamux_event tmp;

	if (ev == NULL)
		ev = &tmp;
	ck_assert_int_eq(poll_ev(p, 0, ev), t);
	return ev->st;
}

/* Send n bytes of payload on st from -> to (control frames first). */
static void
send_data(struct peer *from, struct peer *to, struct yamux_stream *st,
    const void *payload, size_t n)
{
	uint8_t hdr[YAMUX_HDR];

	flush(from, to);
	ck_assert_int_eq(yamux_data_hdr(from->y, st, n, hdr), 0);
	pipe_put(&to->in, hdr, sizeof(hdr));
	pipe_put(&to->in, payload, n);
}

static void
peer_init(struct peer *p, enum yamux_role role, const struct yamux_limits *l)
{
	memset(p, 0, sizeof(*p));
	p->y = yamux_new(role, l);
	ck_assert_ptr_nonnull(p->y);
}

static void
peer_done(struct peer *p)
{
	yamux_free(p->y);
	free(p->in.buf);
}

/* Client c opens a stream that server s accepts; both records out. */
static void
open_pair(struct peer *c, struct peer *s, struct yamux_stream **cst,
    struct yamux_stream **sst)
{
	*cst = yamux_open(c->y);
	ck_assert_ptr_nonnull(*cst);
	flush(c, s);
	*sst = expect(s, YAMUX_EV_OPEN, NULL);
	ck_assert_uint_eq(yamux_stream_id(*sst), yamux_stream_id(*cst));
	ck_assert_int_eq(yamux_accept(s->y, *sst), 0);
	expect(s, YAMUX_EV_NONE, NULL);
	flush(s, c);
	ck_assert_ptr_eq(expect(c, YAMUX_EV_ACK, NULL), *cst);
	expect(c, YAMUX_EV_NONE, NULL);
}

/* Default client and server sessions with one stream open between them. */
static void
peers_open(struct peer *c, struct peer *s, struct yamux_stream **cst,
    struct yamux_stream **sst)
{
	peer_init(c, YAMUX_CLIENT, NULL);
	peer_init(s, YAMUX_SERVER, NULL);
	open_pair(c, s, cst, sst);
}

START_TEST(test_defaults)
{
	struct yamux_limits l;

	yamux_limits_default(&l);
	ck_assert_uint_eq(l.max_window, 16 * 1024 * 1024);
	ck_assert_uint_eq(l.max_streams, 4096);
	ck_assert_uint_eq(l.accept_backlog, 256);
	ck_assert_uint_eq(l.initial_window, 262144);
	yamux_free(NULL);
}
END_TEST

/* yamux.md section 2: open, accept, 19 data bytes, FIN, RST. */
START_TEST(test_transcript_stream)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	struct yamux_event ev;
	uint8_t hdr[YAMUX_HDR];
	char *hex;
	const char *msg = "hello, yamux world!";

	peer_init(&c, YAMUX_CLIENT, NULL);
	peer_init(&s, YAMUX_SERVER, NULL);
	cst = yamux_open(c.y);
	ck_assert_uint_eq(yamux_stream_id(cst), 1);
	assert_take(c.y, "000100010000000100000000");

	pipe_put_hex(&s.in, "000100010000000100000000");
	sst = expect(&s, YAMUX_EV_OPEN, &ev);
	ck_assert_uint_eq(yamux_stream_id(sst), 1);
	expect(&s, YAMUX_EV_NONE, NULL);
	ck_assert_int_eq(yamux_accept(s.y, sst), 0);
	assert_take(s.y, "000100020000000100000000");
	ck_assert_int_eq(yamux_accept(s.y, sst), 0);	/* idempotent */
	ck_assert_uint_eq(yamux_pending(s.y), 0);

	pipe_put_hex(&c.in, "000100020000000100000000");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_ACK, NULL), cst);

	ck_assert_uint_eq(strlen(msg), 19);
	ck_assert_int_eq(yamux_data_hdr(c.y, cst, 19, hdr), 0);
	hex = vec_tohex(hdr, sizeof(hdr));
	ck_assert_str_eq(hex, "000000000000000100000013");
	free(hex);
	pipe_put_hex(&s.in, "000000000000000100000013");
	pipe_put(&s.in, msg, 19);
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_DATA, &ev), sst);
	ck_assert_uint_eq(ev.len, 19);
	ck_assert_mem_eq(ev.data, msg, 19);
	ck_assert_uint_eq(yamux_stream_unconsumed(sst), 19);

	ck_assert_int_eq(yamux_close(c.y, cst), 0);
	assert_take(c.y, "000000040000000100000000");
	ck_assert_int_eq(yamux_close(c.y, cst), 0);
	ck_assert_uint_eq(yamux_pending(c.y), 0);
	ck_assert_uint_eq(yamux_send_room(c.y, cst), 0);
	pipe_put_hex(&s.in, "000000040000000100000000");
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_FIN, NULL), sst);

	/* The server resets its side: Window Update|RST, code 0. */
	yamux_reset(s.y, sst, 0);
	assert_take(s.y, "000100080000000100000000");
	yamux_release(s.y, sst);
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	pipe_put_hex(&c.in, "000100080000000100000000");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_RST, &ev), cst);
	ck_assert_uint_eq(ev.code, 0);
	yamux_reset(c.y, cst, 0);	/* the peer's RST needs no answer */
	yamux_release(c.y, cst);
	ck_assert_uint_eq(yamux_pending(c.y), 0);
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* FIN and RST on either frame type; RST codes; duplicate ACK. */
START_TEST(test_flags_on_both_types)
{
	struct peer c;
	struct yamux_stream *a, *b;
	struct yamux_event ev;

	peer_init(&c, YAMUX_CLIENT, NULL);
	a = yamux_open(c.y);
	b = yamux_open(c.y);
	ck_assert_uint_eq(yamux_stream_id(b), 3);
	assert_take(c.y, "000100010000000100000000000100010000000300000000");
	/* ACK on Data, again on Window Update: one event. */
	pipe_put_hex(&c.in, "000000020000000100000000"
	    "000100020000000100000000");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_ACK, NULL), a);
	expect(&c, YAMUX_EV_NONE, NULL);
	/* Window Update|FIN, then Data|RST with a body, code 0. */
	pipe_put_hex(&c.in, "000100040000000100000000"
	    "000000080000000300000003aabbcc");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_FIN, NULL), a);
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_RST, &ev), b);
	ck_assert_uint_eq(ev.code, 0);
	expect(&c, YAMUX_EV_NONE, NULL);
	/* Window Update|ACK|RST with code 7 on a fresh stream. */
	yamux_release(c.y, b);
	b = yamux_open(c.y);
	yamux_take(c.y, (uint8_t[64]){ 0 }, 64);
	pipe_put_hex(&c.in, "0001000a0000000500000007");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_ACK, NULL), b);
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_RST, &ev), b);
	ck_assert_uint_eq(ev.code, 7);
	ck_assert_uint_eq(yamux_send_room(c.y, b), 0);
	yamux_release(c.y, b);
	yamux_release(c.y, a);	/* a: peer FIN only -> RST */
	assert_take(c.y, "000100080000000100000000");
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);
	peer_done(&c);
}
END_TEST

/* Ping request and reply with value 7; our pings and RTT. */
START_TEST(test_transcript_ping)
{
	struct peer s;
	struct yamux_event ev;
	uint64_t since = 0;

	peer_init(&s, YAMUX_SERVER, NULL);
	pipe_put_hex(&s.in, "000200010000000000000007");
	expect(&s, YAMUX_EV_NONE, NULL);
	assert_take(s.y, "000200020000000000000007");

	ck_assert(!yamux_ping_outstanding(s.y, &since));
	ck_assert_uint_eq(yamux_rtt(s.y), 0);
	ck_assert_int_eq(yamux_ping(s.y, 1000), 0);
	ck_assert_int_eq(yamux_ping(s.y, 1001), -1);
	ck_assert(yamux_ping_outstanding(s.y, &since));
	ck_assert_uint_eq(since, 1000);
	assert_take(s.y, "000200010000000000000001");
	/* A value we never sent is ignored; the right one is a pong. */
	pipe_put_hex(&s.in, "000200020000000000000063"
	    "000200020000000000000001000200020000000000000001");
	ck_assert_int_eq(poll_ev(&s, 1700, &ev), YAMUX_EV_PONG);
	ck_assert_uint_eq(ev.rtt_us, 700);
	ck_assert_uint_eq(yamux_rtt(s.y), 700);
	ck_assert(!yamux_ping_outstanding(s.y, NULL));
	ck_assert_int_eq(poll_ev(&s, 1800, &ev), YAMUX_EV_NONE);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	ck_assert_int_eq(yamux_ping(s.y, 2000), 0);
	assert_take(s.y, "000200010000000000000002");
	peer_done(&s);
}
END_TEST

/* Go Away both ways: exact bytes, no opens, inbound SYNs reset. */
START_TEST(test_transcript_goaway)
{
	struct peer c, s;
	struct yamux_event ev;

	peer_init(&c, YAMUX_CLIENT, NULL);
	peer_init(&s, YAMUX_SERVER, NULL);
	yamux_goaway(c.y, YAMUX_GOAWAY_NORMAL);
	yamux_goaway(c.y, YAMUX_GOAWAY_PROTOCOL);	/* idempotent */
	assert_take(c.y, "000300000000000000000000");
	ck_assert_ptr_null(yamux_open(c.y));
	pipe_put_hex(&c.in, "000100010000000200000000");
	expect(&c, YAMUX_EV_NONE, NULL);
	assert_take(c.y, "000100080000000200000000");
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);

	ck_assert(!yamux_peer_gone(s.y));
	pipe_put_hex(&s.in, "000300000000000000000000"
	    "000300000000000000000002");
	expect(&s, YAMUX_EV_GOAWAY, &ev);
	ck_assert_uint_eq(ev.code, 0);
	expect(&s, YAMUX_EV_NONE, NULL);
	ck_assert(yamux_peer_gone(s.y));
	ck_assert_ptr_null(yamux_open(s.y));
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* Data both ways, half-close each way, records freed. */
START_TEST(test_pair_data_halfclose)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	struct yamux_event ev;
	int i;

	peers_open(&c, &s, &cst, &sst);
	yamux_stream_set_user(cst, &c);
	ck_assert_ptr_eq(yamux_stream_user(cst), &c);
	ck_assert_ptr_null(yamux_stream_user(sst));
	for (i = 0; i < 3; i++) {
		send_data(&c, &s, cst, "ping", 4);
		ck_assert_ptr_eq(expect(&s, YAMUX_EV_DATA, &ev), sst);
		ck_assert_mem_eq(ev.data, "ping", 4);
		yamux_consume(s.y, sst, ev.len, 0);
		send_data(&s, &c, sst, "pong!", 5);
		ck_assert_ptr_eq(expect(&c, YAMUX_EV_DATA, &ev), cst);
		ck_assert_mem_eq(ev.data, "pong!", 5);
		yamux_consume(c.y, cst, ev.len, 0);
	}
	/* Client half-closes; the server still sends. */
	ck_assert_int_eq(yamux_close(c.y, cst), 0);
	flush(&c, &s);
	expect(&s, YAMUX_EV_FIN, NULL);
	ck_assert_uint_gt(yamux_send_room(s.y, sst), 0);
	send_data(&s, &c, sst, "more", 4);
	ck_assert_int_eq(yamux_close(s.y, sst), 0);
	flush(&s, &c);
	expect(&c, YAMUX_EV_DATA, &ev);
	ck_assert_mem_eq(ev.data, "more", 4);
	expect(&c, YAMUX_EV_FIN, NULL);
	expect(&c, YAMUX_EV_NONE, NULL);
	/* Both FINs: release queues nothing. */
	yamux_release(c.y, cst);
	yamux_release(s.y, sst);
	ck_assert_uint_eq(yamux_pending(c.y), 0);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	/* A late window update for the closed stream: no answer. */
	pipe_put_hex(&s.in, "000100000000000100001000");
	expect(&s, YAMUX_EV_NONE, NULL);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* After a reset: no frames, no events, data in flight skipped. */
START_TEST(test_pair_reset)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst, *c2, *s2;
	struct yamux_event ev;
	uint8_t hdr[YAMUX_HDR];

	peers_open(&c, &s, &cst, &sst);
	open_pair(&c, &s, &c2, &s2);
	send_data(&c, &s, cst, "abc", 3);
	send_data(&c, &s, c2, "xyz", 3);
	yamux_reset(s.y, sst, 3);
	ck_assert_uint_eq(yamux_send_room(s.y, sst), 0);
	ck_assert_int_eq(yamux_data_hdr(s.y, sst, 0, hdr), -1);
	ck_assert_int_eq(yamux_close(s.y, sst), 0);
	yamux_consume(s.y, sst, 100, 0);
	yamux_reset(s.y, sst, 4);
	assert_take(s.y, "000100080000000100000003");
	/* The data of the reset stream is skipped; the other arrives. */
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_DATA, &ev), s2);
	ck_assert_mem_eq(ev.data, "xyz", 3);
	expect(&s, YAMUX_EV_NONE, NULL);
	yamux_release(s.y, sst);
	ck_assert_uint_eq(yamux_stream_count(s.y), 1);
	/* The client learns, and answers nothing. */
	pipe_put_hex(&c.in, "000100080000000100000003");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_RST, &ev), cst);
	ck_assert_uint_eq(ev.code, 3);
	yamux_release(c.y, cst);
	ck_assert_uint_eq(yamux_pending(c.y), 0);
	/* A FIN and data racing with our RST are dropped quietly. */
	pipe_put_hex(&s.in, "00000004000000010000000271"
	    "72000100080000000100000000");
	expect(&s, YAMUX_EV_NONE, NULL);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	yamux_release(c.y, c2);
	yamux_release(s.y, s2);
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

static uint8_t big[YAMUX_MAX_FRAME];

/* Send as much as the window allows; returns the bytes sent. */
static size_t
send_all_room(struct peer *from, struct peer *to, struct yamux_stream *st)
{
	size_t room, sent = 0;

	while ((room = yamux_send_room(from->y, st)) > 0) {
		send_data(from, to, st, big, room);
		sent += room;
	}
	return sent;
}

/* Deliver every DATA event of st, consuming none; returns the bytes. */
static size_t
drain(struct peer *p, uint64_t now, bool consume)
{
	struct yamux_event ev;
	size_t n = 0;

	while (poll_ev(p, now, &ev) == YAMUX_EV_DATA) {
		n += ev.len;
		if (consume)
			yamux_consume(p->y, ev.st, ev.len, now);
	}
	ck_assert_int_eq(ev.type, YAMUX_EV_NONE);
	return n;
}

/* The sender stops at the window; half consumed returns credit. */
START_TEST(test_window_credit)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	struct yamux_event ev;

	peers_open(&c, &s, &cst, &sst);
	ck_assert_uint_eq(yamux_send_room(c.y, cst), YAMUX_MAX_FRAME);
	ck_assert_uint_eq(send_all_room(&c, &s, cst), 262144);
	ck_assert_int_eq(yamux_data_hdr(c.y, cst, 1, (uint8_t[12]){ 0 }),
	    -1);
	ck_assert_uint_eq(drain(&s, 0, false), 262144);
	ck_assert_uint_eq(yamux_stream_unconsumed(sst), 262144);
	/* Less than half: nothing; reaching half: one update. */
	yamux_consume(s.y, sst, 131071, 0);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	yamux_consume(s.y, sst, 1, 0);
	assert_take(s.y, "000100000000000100020000");
	pipe_put_hex(&c.in, "000100000000000100020000");
	ck_assert_ptr_eq(expect(&c, YAMUX_EV_WINDOW, NULL), cst);
	ck_assert_uint_eq(send_all_room(&c, &s, cst), 131072);
	ck_assert_uint_eq(drain(&s, 0, false), 131072);
	ck_assert_uint_eq(yamux_stream_unconsumed(sst), 262144);
	ck_assert_uint_eq(yamux_stream_recv_window(sst), 262144);
	/* One byte more than the window is fatal. */
	pipe_put_hex(&s.in, "000000000000000100000001ff");
	ck_assert_int_eq(poll_ev(&s, 0, &ev), YAMUX_EV_ERROR);
	ck_assert_int_eq(yamux_fail(s.y), YAMUX_FAIL_WINDOW);
	ck_assert_str_eq(yamux_error(s.y), "yamux: stream 1: data beyond the "
	    "receive window: expected at most 0 bytes, got 1");
	assert_take(s.y, "000300000000000000000001");
	ck_assert_int_eq(poll_ev(&s, 0, &ev), YAMUX_EV_ERROR);
	ck_assert_ptr_null(yamux_open(s.y));
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* A window larger than the window on a fresh stream is fatal too. */
START_TEST(test_window_overflow)
{
	struct peer s;
	struct yamux_event ev;

	peer_init(&s, YAMUX_SERVER, NULL);
	pipe_put_hex(&s.in, "000000010000000100040001");
	ck_assert_int_eq(poll_ev(&s, 0, &ev), YAMUX_EV_ERROR);
	ck_assert_int_eq(yamux_fail(s.y), YAMUX_FAIL_WINDOW);
	ck_assert_str_eq(yamux_error(s.y), "yamux: stream 1: data beyond the "
	    "receive window: expected at most 262144 bytes, got 262145");
	peer_done(&s);
}
END_TEST

/* Set p's RTT to rtt with a ping answered by q. */
static void
measure_rtt(struct peer *p, struct peer *q, uint64_t now, uint64_t rtt)
{
	struct yamux_event ev;

	ck_assert_int_eq(yamux_ping(p->y, now), 0);
	flush(p, q);
	expect(q, YAMUX_EV_NONE, NULL);
	flush(q, p);
	ck_assert_int_eq(poll_ev(p, now + rtt, &ev), YAMUX_EV_PONG);
	ck_assert_uint_eq(yamux_rtt(p->y), rtt);
}

/*
 * One window round trip: c sends all the room it has on cst, s takes
 * and consumes it all at now, its window updates reach c.  Bytes sent.
 */
static size_t
window_round(struct peer *c, struct peer *s, struct yamux_stream *cst,
    uint64_t now)
{
	size_t n = send_all_room(c, s, cst);

	drain(s, now, true);
	flush(s, c);
	while (poll_ev(c, now, &(struct yamux_event){ 0 }) ==
	    YAMUX_EV_WINDOW)
		;
	return n;
}

/* A fast consumer: the window grows fourfold up to max_window. */
START_TEST(test_window_growth)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	uint64_t now = 1000000;
	size_t total = 0, n;
	uint32_t last = 262144;
	int rounds;

	peers_open(&c, &s, &cst, &sst);
	measure_rtt(&s, &c, now, 10000);
	for (rounds = 0; rounds < 200; rounds++) {
		now += 2000;	/* each window round trip: 2 ms < 4 RTT */
		total += send_all_room(&c, &s, cst);
		n = drain(&s, now, true);
		ck_assert_uint_le(yamux_stream_unconsumed(sst), 0);
		flush(&s, &c);
		while (poll_ev(&c, now, &(struct yamux_event){ 0 }) ==
		    YAMUX_EV_WINDOW)
			;
		ck_assert_uint_ge(yamux_stream_recv_window(sst), last);
		/* each step is fourfold (or the cap) */
		if (yamux_stream_recv_window(sst) != last)
			ck_assert(yamux_stream_recv_window(sst) == last * 4 ||
			    yamux_stream_recv_window(sst) ==
			    YAMUX_DEFAULT_MAX_WINDOW);
		last = yamux_stream_recv_window(sst);
		(void)n;
		if (last == YAMUX_DEFAULT_MAX_WINDOW)
			break;
	}
	ck_assert_uint_eq(last, YAMUX_DEFAULT_MAX_WINDOW);
	ck_assert_uint_lt(rounds, 40);
	ck_assert_int_eq(yamux_fail(s.y), YAMUX_FAIL_NONE);
	/* More traffic keeps it at the cap. */
	for (int i = 0; i < 4; i++) {
		now += 2000;
		total += window_round(&c, &s, cst, now);
	}
	ck_assert_uint_eq(yamux_stream_recv_window(sst),
	    YAMUX_DEFAULT_MAX_WINDOW);
	ck_assert_uint_gt(total, 2 * YAMUX_DEFAULT_MAX_WINDOW);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/*
 * A consumer that takes everything at once but whose own sink is backed
 * up (yamux_sink_backlog): credit returns, the window never grows.
 */
START_TEST(test_window_sink_backlog)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	uint64_t now = 1000000;
	size_t total = 0;
	int rounds;

	peers_open(&c, &s, &cst, &sst);
	measure_rtt(&s, &c, now, 10000);
	yamux_sink_backlog(sst, true);
	for (rounds = 0; rounds < 20; rounds++) {
		now += 2000;
		total += window_round(&c, &s, cst, now);
		ck_assert_uint_eq(yamux_stream_recv_window(sst), 262144);
	}
	/* credit kept coming: far more than one window moved */
	ck_assert_uint_gt(total, 10 * 262144);
	/* the sink caught up: the next hot update grows it */
	yamux_sink_backlog(sst, false);
	for (rounds = 0; rounds < 4; rounds++) {
		now += 2000;
		window_round(&c, &s, cst, now);
	}
	ck_assert_uint_gt(yamux_stream_recv_window(sst), 262144);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* A slow consumer: the window stays at its start, memory bounded. */
START_TEST(test_window_slow_consumer)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	uint64_t now = 1000000;
	struct yamux_event ev;
	int i;

	peers_open(&c, &s, &cst, &sst);
	measure_rtt(&s, &c, now, 10000);
	for (i = 0; i < 300; i++) {
		now += 1000000;	/* 4 KiB a second */
		send_all_room(&c, &s, cst);
		drain(&s, now, false);
		ck_assert_uint_le(yamux_stream_unconsumed(sst), 262144);
		yamux_consume(s.y, sst, 4096, now);
		flush(&s, &c);
		while (poll_ev(&c, now, &ev) == YAMUX_EV_WINDOW)
			;
		ck_assert_uint_eq(yamux_stream_recv_window(sst), 262144);
	}
	ck_assert_uint_ge(yamux_stream_unconsumed(sst), 131072);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* initial_window above 256 KiB: advertised on SYN and ACK. */
START_TEST(test_initial_window)
{
	struct yamux_limits l;
	struct peer c, s;
	struct yamux_stream *cst, *sst;

	yamux_limits_default(&l);
	l.initial_window = 1024 * 1024;
	peer_init(&c, YAMUX_CLIENT, &l);
	peer_init(&s, YAMUX_SERVER, &l);
	cst = yamux_open(c.y);
	ck_assert_uint_eq(yamux_stream_recv_window(cst), 1024 * 1024);
	assert_take(c.y, "0001000100000001000c0000");
	pipe_put_hex(&s.in, "0001000100000001000c0000");
	sst = expect(&s, YAMUX_EV_OPEN, NULL);
	ck_assert_int_eq(yamux_accept(s.y, sst), 0);
	assert_take(s.y, "0001000200000001000c0000");
	ck_assert_uint_eq(yamux_stream_recv_window(sst), 1024 * 1024);
	/* The server may send 1 MiB, the client knows it from the SYN. */
	ck_assert_uint_eq(yamux_send_room(s.y, sst), YAMUX_MAX_FRAME);
	ck_assert_uint_eq(send_all_room(&s, &c, sst), 1024 * 1024);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

static const struct {
	enum yamux_role role;
	const char *hex;
	enum yamux_fail fail;
	const char *err;
} bad_input[] = {
	{ YAMUX_CLIENT, "000100010000000100000000", YAMUX_FAIL_STREAM_ID,
	  "yamux: stream id of the peer's SYN: expected a nonzero even "
	  "(server) id, got 1" },
	{ YAMUX_SERVER, "000000010000000200000000", YAMUX_FAIL_STREAM_ID,
	  "yamux: stream id of the peer's SYN: expected a nonzero odd "
	  "(client) id, got 2" },
	{ YAMUX_CLIENT, "000100010000000000000000", YAMUX_FAIL_STREAM_ID,
	  "yamux: stream id of the peer's SYN: expected a nonzero even "
	  "(server) id, got 0" },
	{ YAMUX_SERVER, "000100010000000500000000000000010000000500000000",
	  YAMUX_FAIL_DUPLICATE, "yamux: SYN for stream 5: expected a new "
	  "stream id, got the id of a live stream" },
	{ YAMUX_SERVER, "010200010000000000000007", YAMUX_FAIL_VERSION,
	  "yamux: frame version: expected 0, got 1" },
	{ YAMUX_CLIENT, "000400000000000000000000", YAMUX_FAIL_TYPE,
	  "yamux: frame type: expected 0 to 3, got 4" },
};

/* Protocol errors: class, exact text, Go Away (protocol error). */
START_TEST(test_bad_input)
{
	struct peer p;
	struct yamux_event ev;

	peer_init(&p, bad_input[_i].role, NULL);
	pipe_put_hex(&p.in, bad_input[_i].hex);
	pipe_put_hex(&p.in, "000200010000000000000001");
	while (poll_ev(&p, 0, &ev) == YAMUX_EV_OPEN)
		;
	ck_assert_int_eq(ev.type, YAMUX_EV_ERROR);
	ck_assert_int_eq(yamux_fail(p.y), bad_input[_i].fail);
	ck_assert_str_eq(yamux_error(p.y), bad_input[_i].err);
	/* The ping behind the bad frame is not answered. */
	assert_take(p.y, "000300000000000000000001");
	ck_assert_int_eq(poll_ev(&p, 0, &ev), YAMUX_EV_ERROR);
	ck_assert_ptr_null(yamux_open(p.y));
	ck_assert_int_eq(yamux_ping(p.y, 0), -1);
	peer_done(&p);
}
END_TEST

/* Inbound streams beyond the backlog or max_streams: RST, go on. */
START_TEST(test_backlog_and_max_streams)
{
	struct yamux_limits l;
	struct peer s;
	struct yamux_stream *a, *b, *d;

	yamux_limits_default(&l);
	l.accept_backlog = 2;
	l.max_streams = 3;
	peer_init(&s, YAMUX_SERVER, &l);
	pipe_put_hex(&s.in, "000100010000000100000000"
	    "000100010000000300000000"
	    "000000010000000500000004deadbeef");
	a = expect(&s, YAMUX_EV_OPEN, NULL);
	b = expect(&s, YAMUX_EV_OPEN, NULL);
	expect(&s, YAMUX_EV_NONE, NULL);
	assert_take(s.y, "000100080000000500000000");
	ck_assert_uint_eq(yamux_stream_count(s.y), 2);
	ck_assert_int_eq(yamux_accept(s.y, a), 0);
	yamux_take(s.y, (uint8_t[64]){ 0 }, 64);
	pipe_put_hex(&s.in, "000100010000000700000000");
	d = expect(&s, YAMUX_EV_OPEN, NULL);
	ck_assert_uint_eq(yamux_stream_id(d), 7);
	/* 3 live streams: max_streams refuses, though the backlog has room. */
	ck_assert_int_eq(yamux_accept(s.y, b), 0);
	yamux_take(s.y, (uint8_t[64]){ 0 }, 64);
	pipe_put_hex(&s.in, "000100010000000900000000");
	expect(&s, YAMUX_EV_NONE, NULL);
	assert_take(s.y, "000100080000000900000000");
	ck_assert_ptr_null(yamux_open(s.y));
	ck_assert_int_eq(yamux_fail(s.y), YAMUX_FAIL_NONE);
	peer_done(&s);
}
END_TEST

/* A peer that keeps opening into a full backlog ends the session. */
START_TEST(test_refusal_flood)
{
	struct yamux_limits l;
	struct peer s;
	struct yamux_event ev;
	uint8_t syn[12] = { 0, 1, 0, 1 }, out[4092];	/* 341 frames */
	size_t n;
	uint32_t id, refused = 0;

	yamux_limits_default(&l);
	l.accept_backlog = 0;
	peer_init(&s, YAMUX_SERVER, &l);
	for (id = 1; id < 2 * 9000; id += 2) {
		syn[4] = (uint8_t)(id >> 24);
		syn[5] = (uint8_t)(id >> 16);
		syn[6] = (uint8_t)(id >> 8);
		syn[7] = (uint8_t)id;
		pipe_put(&s.in, syn, sizeof(syn));
	}
	while (poll_ev(&s, 0, &ev) == YAMUX_EV_BLOCKED) {
		ck_assert_uint_le(yamux_pending(s.y), YAMUX_CTRL_MAX);
		refused += yamux_take(s.y, out, sizeof(out)) / 12;
	}
	ck_assert_int_eq(ev.type, YAMUX_EV_ERROR);
	ck_assert_int_eq(yamux_fail(s.y), YAMUX_FAIL_TOO_MANY_STREAMS);
	ck_assert_str_eq(yamux_error(s.y), "yamux: peer kept opening streams "
	    "beyond our limits: expected at most 8192 refused in a row, got "
	    "8193");
	while ((n = yamux_take(s.y, out, sizeof(out))) > 0)
		refused += n / 12;
	ck_assert_uint_eq(refused, 8192 + 1);	/* + Go Away */
	peer_done(&s);
}
END_TEST

/* A ping flood blocks input with a bounded queue; every ping answered. */
START_TEST(test_ping_flood)
{
	struct peer s;
	struct yamux_event ev;
	uint8_t ping[12] = { 0, 2, 0, 1 }, out[12];
	uint32_t i, answered = 0, v;
	size_t n = 20000, blocked = 0;

	peer_init(&s, YAMUX_SERVER, NULL);
	for (i = 0; i < n; i++) {
		ping[8] = (uint8_t)(i >> 24);
		ping[9] = (uint8_t)(i >> 16);
		ping[10] = (uint8_t)(i >> 8);
		ping[11] = (uint8_t)i;
		pipe_put(&s.in, ping, sizeof(ping));
	}
	for (;;) {
		if (poll_ev(&s, 0, &ev) == YAMUX_EV_NONE)
			break;
		ck_assert_int_eq(ev.type, YAMUX_EV_BLOCKED);
		blocked++;
		ck_assert_uint_gt(yamux_pending(s.y), YAMUX_CTRL_HIGH);
		ck_assert_uint_le(yamux_pending(s.y), YAMUX_CTRL_MAX);
		/* Blocked input consumes nothing. */
		i = (uint32_t)s.in.rpos;
		ck_assert_int_eq(poll_ev(&s, 0, &ev), YAMUX_EV_BLOCKED);
		ck_assert_uint_eq(s.in.rpos, i);
		while (yamux_take(s.y, out, sizeof(out)) == sizeof(out)) {
			v = (uint32_t)out[8] << 24 | (uint32_t)out[9] << 16 |
			    (uint32_t)out[10] << 8 | out[11];
			ck_assert_uint_eq(out[3], YAMUX_F_ACK);
			ck_assert_uint_eq(v, answered);
			answered++;
		}
	}
	while (yamux_take(s.y, out, sizeof(out)) == sizeof(out))
		answered++;
	ck_assert_uint_eq(answered, n);
	ck_assert_uint_ge(blocked, n * 12 / YAMUX_CTRL_MAX);
	peer_done(&s);
}
END_TEST

/* Frames for unknown streams are skipped, bodies split across inputs. */
START_TEST(test_unknown_streams_skipped)
{
	struct peer s;
	struct yamux_event ev;
	uint8_t *b;
	size_t len, used, off = 0, cut[] = { 5, 9, 16, 40, 7 };
	unsigned int i;

	peer_init(&s, YAMUX_SERVER, NULL);
	/* Data for 9 (40 bytes), window, FIN, RST, ACK for 11; ping 5. */
	b = vec_hex("00000000000000090000002"
	    "8000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
	    "1d1e1f2021222324252627"
	    "000100000000000900001000" "000000040000000900000000"
	    "000100080000000900000000" "000100020000000b00000000"
	    "000200010000000000000005", &len);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < NELEM(cut) && off < len; i++) {
		size_t n = cut[i] < len - off ? cut[i] : len - off;

		yamux_input(s.y, b + off, n, &used, 0, &ev);
		ck_assert_int_eq(ev.type, YAMUX_EV_NONE);
		ck_assert_uint_eq(used, n);
		off += n;
	}
	yamux_input(s.y, b + off, len - off, &used, 0, &ev);
	ck_assert_int_eq(ev.type, YAMUX_EV_NONE);
	ck_assert_uint_eq(used, len - off);
	assert_take(s.y, "000200020000000000000005");
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	free(b);
	peer_done(&s);
}
END_TEST

/* A transcript with several streams and frame kinds. */
static const char transcript[] =
    "000100010000000100000000"			/* SYN 1 */
    "000000000000000100000005" "6162636465"	/* 5 bytes on 1 */
    "000000010000000300000003" "787978"		/* SYN 3 with data */
    "000200010000000000000009"			/* ping 9 */
    "000100000000000100000000"			/* empty window update */
    "000000040000000300000002" "7a7a"		/* data + FIN on 3 */
    "000000000000000100000000"			/* empty data frame */
    "000000000000000100000004" "31323334"	/* 4 more on 1 */
    "000100000000006300001000"			/* window for unknown 99 */
    "000100080000000100000009"			/* RST 1 code 9 */
    "000300000000000000000002";			/* go away */

struct evrec {
	enum yamux_ev_type type;
	uint32_t id, code;
	char data[64];
};

/* Feed transcript in pieces of `step` bytes; record events. */
static size_t
run_transcript(size_t step, struct evrec *rec, size_t max, char **out)
{
	struct yamux *y = yamux_new(YAMUX_SERVER, NULL);
	struct yamux_event ev;
	uint8_t *b;
	size_t len, off = 0, used, n, nrec = 0, avail = 0;

	b = vec_hex(transcript, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(y);
	for (;;) {
		/* Offer what was left over plus the next step. */
		n = avail + (step < len - off - avail ? step : len - off -
		    avail);
		yamux_input(y, b + off, n, &used, 0, &ev);
		off += used;
		avail = n - used;
		ck_assert_int_ne(ev.type, YAMUX_EV_ERROR);
		ck_assert_int_ne(ev.type, YAMUX_EV_BLOCKED);
		if (ev.type == YAMUX_EV_NONE) {
			ck_assert_uint_eq(avail, 0);
			if (off == len)
				break;
			continue;
		}
		ck_assert_uint_lt(nrec, max);
		rec[nrec].type = ev.type;
		rec[nrec].id = ev.st ? yamux_stream_id(ev.st) : 0;
		rec[nrec].code = ev.code;
		rec[nrec].data[0] = '\0';
		if (ev.type == YAMUX_EV_DATA) {
			ck_assert_uint_lt(ev.len, sizeof(rec[nrec].data));
			memcpy(rec[nrec].data, ev.data, ev.len);
			rec[nrec].data[ev.len] = '\0';
		}
		if (ev.type == YAMUX_EV_OPEN)
			ck_assert_int_eq(yamux_accept(y, ev.st), 0);
		nrec++;
	}
	*out = take_hex(y);
	free(b);
	yamux_free(y);
	return nrec;
}

/* Merge consecutive DATA records of one stream (pieces differ). */
static size_t
merge(struct evrec *r, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && r[i].type == YAMUX_EV_DATA &&
		    r[k - 1].type == YAMUX_EV_DATA && r[k - 1].id == r[i].id) {
			strcat(r[k - 1].data, r[i].data);
			continue;
		}
		r[k++] = r[i];
	}
	return k;
}

/* One byte at a time (and other steps) gives the same events. */
START_TEST(test_bytewise)
{
	static struct evrec whole[64], part[256];
	size_t nw, np, i, steps[] = { 1, 2, 5, 11, 13 };
	char *ow, *op;

	nw = merge(whole, run_transcript(100000, whole, NELEM(whole), &ow));
	ck_assert_uint_eq(nw, 8);
	ck_assert_int_eq(whole[0].type, YAMUX_EV_OPEN);
	ck_assert_str_eq(whole[1].data, "abcde");
	ck_assert_int_eq(whole[2].type, YAMUX_EV_OPEN);
	ck_assert_uint_eq(whole[2].id, 3);
	ck_assert_str_eq(whole[3].data, "xyxzz");
	ck_assert_int_eq(whole[4].type, YAMUX_EV_FIN);
	ck_assert_str_eq(whole[5].data, "1234");
	ck_assert_int_eq(whole[6].type, YAMUX_EV_RST);
	ck_assert_uint_eq(whole[6].code, 9);
	ck_assert_int_eq(whole[7].type, YAMUX_EV_GOAWAY);
	ck_assert_uint_eq(whole[7].code, 2);
	for (i = 0; i < NELEM(steps); i++) {
		np = merge(part, run_transcript(steps[i], part, NELEM(part),
		    &op));
		ck_assert_uint_eq(np, nw);
		for (size_t j = 0; j < nw; j++) {
			ck_assert_int_eq(part[j].type, whole[j].type);
			ck_assert_uint_eq(part[j].id, whole[j].id);
			ck_assert_uint_eq(part[j].code, whole[j].code);
			ck_assert_str_eq(part[j].data, whole[j].data);
		}
		ck_assert_str_eq(op, ow);
		free(op);
	}
	/* ACK 1, ACK 3, pong 9, in the order produced. */
	ck_assert_str_eq(ow, "000100020000000100000000"
	    "000100020000000300000000000200020000000000000009");
	free(ow);
}
END_TEST

/* 10,000 concurrent streams, opened, used and closed: records freed. */
START_TEST(test_many_streams)
{
	enum { N = 10000 };
	struct yamux_limits l;
	struct peer c, s;
	static struct yamux_stream *cs[N], *ss[N];
	struct yamux_event ev;
	size_t i;

	yamux_limits_default(&l);
	l.max_streams = N;
	l.accept_backlog = N;
	peer_init(&c, YAMUX_CLIENT, &l);
	peer_init(&s, YAMUX_SERVER, &l);
	for (i = 0; i < N; i++) {
		ck_assert_ptr_nonnull(cs[i] = yamux_open(c.y));
		ck_assert_uint_eq(yamux_stream_id(cs[i]), 2 * i + 1);
		flush(&c, &s);
	}
	ck_assert_ptr_null(yamux_open(c.y));
	for (i = 0; i < N; i++) {
		ss[i] = expect(&s, YAMUX_EV_OPEN, NULL);
		ck_assert_int_eq(yamux_accept(s.y, ss[i]), 0);
		flush(&s, &c);
	}
	expect(&s, YAMUX_EV_NONE, NULL);
	ck_assert_uint_eq(yamux_stream_count(s.y), N);
	for (i = 0; i < N; i++) {
		ck_assert_ptr_eq(expect(&c, YAMUX_EV_ACK, NULL), cs[i]);
		send_data(&c, &s, cs[N - 1 - i], "x", 1);
	}
	for (i = 0; i < N; i++) {
		ck_assert_ptr_eq(expect(&s, YAMUX_EV_DATA, &ev), ss[N - 1 - i]);
		ck_assert_int_eq(yamux_close(s.y, ss[i]), 0);
		ck_assert_int_eq(yamux_close(c.y, cs[i]), 0);
		flush(&s, &c);
		flush(&c, &s);
	}
	for (i = 0; i < N; i++) {
		ck_assert_ptr_eq(expect(&s, YAMUX_EV_FIN, NULL), ss[i]);
		ck_assert_ptr_eq(expect(&c, YAMUX_EV_FIN, NULL), cs[i]);
		yamux_release(s.y, ss[i]);
		yamux_release(c.y, cs[i]);
	}
	ck_assert_uint_eq(yamux_stream_count(c.y), 0);
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	ck_assert_uint_eq(yamux_pending(c.y), 0);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* Resets and credit beyond the queue's capacity are deferred. */
START_TEST(test_deferred_frames)
{
	enum { N = 4000 };
	struct yamux_limits l;
	struct peer c, s;
	static struct yamux_stream *cs[N], *ss[N];
	static uint8_t state[N];	/* 0 nothing, 1 credit, 2 RST */
	uint8_t out[12];
	size_t i, k;
	uint32_t id;

	yamux_limits_default(&l);
	l.max_streams = N;
	l.accept_backlog = N;
	peer_init(&c, YAMUX_CLIENT, &l);
	peer_init(&s, YAMUX_SERVER, &l);
	for (i = 0; i < N; i++) {
		cs[i] = yamux_open(c.y);
		flush(&c, &s);
		ss[i] = expect(&s, YAMUX_EV_OPEN, NULL);
		ck_assert_int_eq(yamux_accept(s.y, ss[i]), 0);
		flush(&s, &c);
		send_data(&c, &s, cs[i], big, 65536);
		send_data(&c, &s, cs[i], big, 65536);
		ck_assert_int_eq(poll_ev(&s, 0, &(struct yamux_event){ 0 }),
		    YAMUX_EV_DATA);
		ck_assert_int_eq(poll_ev(&s, 0, &(struct yamux_event){ 0 }),
		    YAMUX_EV_DATA);
	}
	for (i = 0; i < N; i++) {
		yamux_consume(s.y, ss[i], 131072, 0);	/* credit due */
		if (i % 2 == 0)
			yamux_reset(s.y, ss[i], 1);
		yamux_release(s.y, ss[i]);
	}
	/* More than the queue holds; records wait for their frames. */
	ck_assert_uint_gt(yamux_pending(s.y), YAMUX_CTRL_MAX);
	ck_assert_uint_gt(yamux_stream_count(s.y), 0);
	ck_assert_ptr_null(yamux_open(s.y));
	while (yamux_take(s.y, out, sizeof(out)) == sizeof(out)) {
		id = (uint32_t)out[4] << 24 | (uint32_t)out[5] << 16 |
		    (uint32_t)out[6] << 8 | out[7];
		ck_assert_uint_eq(out[1], YAMUX_T_WINDOW);
		k = id / 2;
		ck_assert_uint_lt(k, N);
		ck_assert_uint_lt(state[k], 2);	/* nothing after RST */
		if (out[3] == YAMUX_F_RST) {
			state[k] = 2;
			ck_assert_uint_eq(out[11], k % 2 == 0 ? 1 : 0);
		} else {
			ck_assert_uint_eq(out[3], 0);
			ck_assert_uint_eq(state[k], 0);
			state[k] = 1;
		}
	}
	for (i = 0; i < N; i++)
		ck_assert_uint_eq(state[i], 2);
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* Credit owed while the queue was full goes out when it drains. */
START_TEST(test_deferred_window)
{
	struct peer c, s;
	struct yamux_stream *cst, *sst;
	struct yamux_event ev;
	int i;

	struct yamux_limits l;

	yamux_limits_default(&l);
	l.accept_backlog = 4096;
	peer_init(&c, YAMUX_CLIENT, &l);
	peer_init(&s, YAMUX_SERVER, NULL);
	open_pair(&c, &s, &cst, &sst);
	send_all_room(&c, &s, cst);
	drain(&s, 0, false);
	/* Fill the queue with ping answers. */
	for (i = 0; i < YAMUX_CTRL_HIGH / 12 + 1; i++)
		pipe_put_hex(&s.in, "000200010000000000000001");
	ck_assert_int_eq(poll_ev(&s, 0, &ev), YAMUX_EV_BLOCKED);
	for (i = 0; yamux_pending(s.y) + 12 <= YAMUX_CTRL_MAX; i++)
		ck_assert_ptr_nonnull(yamux_open(s.y));
	ck_assert_ptr_null(yamux_open(s.y));
	ck_assert_int_eq(yamux_close(s.y, sst), -1);
	yamux_consume(s.y, sst, 262144, 0);
	ck_assert_uint_gt(yamux_pending(s.y), YAMUX_CTRL_MAX);
	flush(&s, &c);
	while (poll_ev(&c, 0, &ev) != YAMUX_EV_NONE) {
		ck_assert_int_ne(ev.type, YAMUX_EV_ERROR);
		ck_assert_int_ne(ev.type, YAMUX_EV_BLOCKED);
		if (ev.type == YAMUX_EV_WINDOW)
			break;
	}
	ck_assert_int_eq(ev.type, YAMUX_EV_WINDOW);
	ck_assert_ptr_eq(ev.st, cst);
	ck_assert_uint_eq(yamux_send_room(c.y, cst), YAMUX_MAX_FRAME);
	ck_assert_int_eq(yamux_close(s.y, sst), 0);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

/* Release during a frame's body: the rest is skipped, no dangling use. */
START_TEST(test_release_mid_body)
{
	struct peer s;
	struct yamux_stream *st;
	struct yamux_event ev;
	uint8_t *b;
	size_t len, used;

	peer_init(&s, YAMUX_SERVER, NULL);
	b = vec_hex("000000050000000100000006616263646566"
	    "000200010000000000000003", &len);
	ck_assert_ptr_nonnull(b);
	yamux_input(s.y, b, 14, &used, 0, &ev);
	ck_assert_int_eq(ev.type, YAMUX_EV_OPEN);
	ck_assert_uint_eq(used, 12);
	st = ev.st;
	yamux_input(s.y, b + 12, 2, &used, 0, &ev);
	ck_assert_int_eq(ev.type, YAMUX_EV_DATA);
	ck_assert_uint_eq(ev.len, 2);
	ck_assert_mem_eq(ev.data, "ab", 2);
	yamux_release(s.y, st);
	assert_take(s.y, "000100080000000100000000");
	ck_assert_uint_eq(yamux_stream_count(s.y), 0);
	yamux_input(s.y, b + 14, len - 14, &used, 0, &ev);
	ck_assert_int_eq(ev.type, YAMUX_EV_NONE);
	ck_assert_uint_eq(used, len - 14);
	assert_take(s.y, "000200020000000000000003");
	free(b);
	peer_done(&s);
}
END_TEST

/* Ping and Go Away when the queue is full: deferred, not lost. */
START_TEST(test_deferred_session_frames)
{
	struct peer c;
	char *hex;
	size_t n;

	peer_init(&c, YAMUX_CLIENT, NULL);
	while (yamux_open(c.y) != NULL)
		;
	n = yamux_pending(c.y);
	ck_assert_uint_gt(n + YAMUX_HDR, YAMUX_CTRL_MAX);
	ck_assert_int_eq(yamux_ping(c.y, 5), 0);
	yamux_goaway(c.y, YAMUX_GOAWAY_INTERNAL);
	ck_assert_uint_eq(yamux_pending(c.y), n + 2 * YAMUX_HDR);
	hex = take_hex(c.y);
	ck_assert_str_eq(hex + 2 * n, "000300000000000000000002"
	    "000200010000000000000001");
	free(hex);
	peer_done(&c);
}
END_TEST

/* Closing a stream never accepted: Data|ACK|FIN, the backlog frees. */
START_TEST(test_close_unaccepted)
{
	struct yamux_limits l;
	struct peer s;
	struct yamux_stream *st;

	yamux_limits_default(&l);
	l.accept_backlog = 1;
	peer_init(&s, YAMUX_SERVER, &l);
	pipe_put_hex(&s.in, "000100010000000100000000");
	st = expect(&s, YAMUX_EV_OPEN, NULL);
	ck_assert_uint_eq(yamux_send_room(s.y, st), 0);
	ck_assert_int_eq(yamux_close(s.y, st), 0);
	assert_take(s.y, "000000060000000100000000");
	ck_assert_int_eq(yamux_accept(s.y, st), 0);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	pipe_put_hex(&s.in, "000100010000000300000000");
	expect(&s, YAMUX_EV_OPEN, NULL);
	pipe_put_hex(&s.in, "000000040000000100000000");
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_FIN, NULL), st);
	yamux_release(s.y, st);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	ck_assert_uint_eq(yamux_stream_count(s.y), 1);
	peer_done(&s);
}
END_TEST

/* Owed credit is dropped on the peer's RST or FIN; records still freed. */
START_TEST(test_deferred_window_dropped)
{
	struct peer c, s;
	struct yamux_stream *cst[2], *sst[2];
	uint8_t *buf;
	size_t n;
	int i;

	peer_init(&c, YAMUX_CLIENT, NULL);
	peer_init(&s, YAMUX_SERVER, NULL);
	for (i = 0; i < 2; i++) {
		open_pair(&c, &s, &cst[i], &sst[i]);
		send_all_room(&c, &s, cst[i]);
		drain(&s, 0, false);
	}
	while (yamux_open(s.y) != NULL)
		;
	n = yamux_pending(s.y);
	yamux_consume(s.y, sst[0], 262144, 0);
	yamux_consume(s.y, sst[1], 262144, 0);
	ck_assert_uint_eq(yamux_pending(s.y), n + 2 * YAMUX_HDR);
	/* Send what the queue held; the two updates are still owed. */
	buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(yamux_take(s.y, buf, n), n);
	free(buf);
	ck_assert_uint_eq(yamux_pending(s.y), 2 * YAMUX_HDR);
	/* The peer resets stream 1 and ends stream 3. */
	pipe_put_hex(&s.in, "000100080000000100000000"
	    "000000040000000300000000");
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_RST, NULL), sst[0]);
	ck_assert_uint_eq(yamux_pending(s.y), YAMUX_HDR);
	ck_assert_ptr_eq(expect(&s, YAMUX_EV_FIN, NULL), sst[1]);
	ck_assert_uint_eq(yamux_pending(s.y), 0);
	yamux_release(s.y, sst[0]);
	ck_assert_uint_eq(yamux_stream_count(s.y), 1 + n / YAMUX_HDR);
	yamux_release(s.y, sst[1]);	/* open our way: reset */
	assert_take(s.y, "000100080000000300000000");
	ck_assert_uint_eq(yamux_stream_count(s.y), n / YAMUX_HDR);
	peer_done(&c);
	peer_done(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("yamux");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_transcript_stream);
	tcase_add_test(tc, test_flags_on_both_types);
	tcase_add_test(tc, test_transcript_ping);
	tcase_add_test(tc, test_transcript_goaway);
	tcase_add_test(tc, test_pair_data_halfclose);
	tcase_add_test(tc, test_pair_reset);
	tcase_add_test(tc, test_window_credit);
	tcase_add_test(tc, test_window_overflow);
	tcase_add_test(tc, test_window_growth);
	tcase_add_test(tc, test_window_slow_consumer);
	tcase_add_test(tc, test_window_sink_backlog);
	tcase_add_test(tc, test_initial_window);
	tcase_add_loop_test(tc, test_bad_input, 0, NELEM(bad_input));
	tcase_add_test(tc, test_backlog_and_max_streams);
	tcase_add_test(tc, test_refusal_flood);
	tcase_add_test(tc, test_ping_flood);
	tcase_add_test(tc, test_unknown_streams_skipped);
	tcase_add_test(tc, test_bytewise);
	tcase_add_test(tc, test_many_streams);
	tcase_add_test(tc, test_deferred_frames);
	tcase_add_test(tc, test_deferred_window);
	tcase_add_test(tc, test_release_mid_body);
	tcase_add_test(tc, test_deferred_session_frames);
	tcase_add_test(tc, test_close_unaccepted);
	tcase_add_test(tc, test_deferred_window_dropped);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
