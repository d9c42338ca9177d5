/*
 * fuzz_yamux.c - the yamux core (yamux.c) under hostile input.
 *
 * Input: one flags byte, two seed bytes, then the bytes a peer sends.
 *	flags bit 0: feed a client core first (else a server core first)
 *	flags bit 1: initial_window 512 KiB (extra window on SYN/ACK)
 *	flags bit 2: take queued output only when input is blocked (and
 *	             when the peer opens a stream)
 * The wire bytes go to a server core and to a client core in turn, cut
 * at points drawn from a PRNG seeded by the seed bytes; the same PRNG
 * plays the application: accept or refuse, consume, close, reset,
 * release, open, ping, go away, write data headers.
 *
 * Contracts checked: consumed <= offered, NONE consumed everything,
 * BLOCKED only above YAMUX_CTRL_HIGH and then consumes nothing, DATA points
 * into the input and stays within the receive window, events name
 * streams the application holds, ERROR is sticky with a "yamux: " text,
 * the queue stays bounded, the output is well-formed frames with nothing
 * but another RST (a refused id opened again) for a stream after its
 * RST, and after releasing everything and taking the queue no stream
 * record is left.
 */
#include "fuzz.h"

#include "yamux.h"

#define LIVE_MAX 64
#define RST_MAX 256

struct h {
	struct yamux *y;
	uint32_t rng;
	bool hold;		/* take output only when blocked */
	struct yamux_stream *live[LIVE_MAX];
	size_t nlive;
	uint32_t rst[RST_MAX];	/* ids we sent RST for */
	size_t nrst;
	uint8_t part[YAMUX_HDR];/* a frame split by a partial take */
	size_t plen;
};

static uint32_t
rnd(struct h *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 17;
	h->rng ^= h->rng << 5;
	return h->rng;
}

static size_t
live_find(const struct h *h, const struct yamux_stream *st)
{
	size_t i;

	for (i = 0; i < h->nlive; i++)
		if (h->live[i] == st)
			return i;
	return SIZE_MAX;
}

static void
rst_forget(struct h *h, uint32_t id)
{
	size_t i;

	for (i = 0; i < h->nrst; i++)
		if (h->rst[i] == id)
			h->rst[i] = h->rst[--h->nrst];
}

/* One output frame: well-formed, nothing after a stream's RST. */
static void
check_frame(struct h *h, const uint8_t *f)
{
	uint32_t id = (uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 |
	    (uint32_t)f[6] << 8 | f[7];
	uint32_t len = (uint32_t)f[8] << 24 | (uint32_t)f[9] << 16 |
	    (uint32_t)f[10] << 8 | f[11];
	size_t i;

	FUZZ_CHECK(f[0] == 0 && f[1] <= YAMUX_T_GOAWAY && f[2] == 0);
	if (f[1] == YAMUX_T_DATA)
		FUZZ_CHECK(len == 0 && (f[3] & YAMUX_F_FIN));
	if (f[1] == YAMUX_T_PING || f[1] == YAMUX_T_GOAWAY) {
		FUZZ_CHECK(id == 0);
		return;
	}
	FUZZ_CHECK(id != 0);
	/* Another RST may refuse the peer's next SYN with a refused id. */
	if (f[3] & YAMUX_F_RST) {
		FUZZ_CHECK(f[3] == YAMUX_F_RST && f[1] == YAMUX_T_WINDOW);
		for (i = 0; i < h->nrst; i++)
			if (h->rst[i] == id)
				return;
		if (h->nrst < RST_MAX)
			h->rst[h->nrst++] = id;
		return;
	}
	for (i = 0; i < h->nrst; i++)
		FUZZ_CHECK(h->rst[i] != id);
}

/* Take up to cap bytes of output and check the frames in it. */
static size_t
take(struct h *h, size_t cap)
{
	uint8_t buf[512];
	size_t n, i, k;

	if (cap > sizeof(buf))
		cap = sizeof(buf);
	n = yamux_take(h->y, buf, cap);
	FUZZ_CHECK(n <= cap);
	for (i = 0; i < n; i += k) {
		k = YAMUX_HDR - h->plen < n - i ? YAMUX_HDR - h->plen : n - i;
		memcpy(h->part + h->plen, buf + i, k);
		h->plen += k;
		if (h->plen == YAMUX_HDR) {
			check_frame(h, h->part);
			h->plen = 0;
		}
	}
	return n;
}

/* Take everything: exactly yamux_pending() bytes. */
static void
take_all(struct h *h)
{
	size_t want = yamux_pending(h->y), got = 0, n;

	while ((n = take(h, 512)) > 0)
		got += n;
	FUZZ_CHECK(got == want && yamux_pending(h->y) == 0);
}

static void
drop(struct h *h, size_t i)
{
	yamux_release(h->y, h->live[i]);
	h->live[i] = h->live[--h->nlive];
}

/* The application does something at random. */
static void
act(struct h *h, uint64_t now)
{
	struct yamux_stream *st = NULL;
	uint8_t hdr[YAMUX_HDR];
	uint32_t r = rnd(h);
	size_t i = 0, room;

	if (h->nlive > 0) {
		i = rnd(h) % h->nlive;
		st = h->live[i];
	}
	switch (r % 16) {
	case 0:
		if (h->nlive < LIVE_MAX && (st = yamux_open(h->y)) != NULL) {
			rst_forget(h, yamux_stream_id(st));
			h->live[h->nlive++] = st;
		}
		break;
	case 1:
		(void)yamux_ping(h->y, now);
		break;
	case 2:
		if (r % 256 == 2)
			yamux_goaway(h->y, YAMUX_GOAWAY_NORMAL);
		break;
	case 3:
	case 4:
		if (st != NULL)
			yamux_consume(h->y, st, rnd(h) % 70000, now);
		break;
	case 5:
		if (st != NULL)
			(void)yamux_close(h->y, st);
		break;
	case 6:
		if (st != NULL)
			yamux_reset(h->y, st, rnd(h));
		break;
	case 7:
		if (st != NULL)
			drop(h, i);
		break;
	case 8:
		if (st == NULL)
			break;
		room = yamux_send_room(h->y, st);
		FUZZ_CHECK(room <= YAMUX_MAX_FRAME);
		if (yamux_data_hdr(h->y, st, room + 1, hdr) == 0)
			FUZZ_CHECK(!"data_hdr accepted more than the room");
		if (room > 0)
			FUZZ_CHECK(yamux_data_hdr(h->y, st,
			    1 + rnd(h) % room, hdr) == 0);
		break;
	case 9:
	case 10:
		if (!h->hold)
			(void)take(h, 1 + rnd(h) % 40);
		break;
	default:
		break;
	}
}

/* Counts and bounds that hold between any two calls. */
static void
check_counts(struct h *h)
{
	size_t n = yamux_stream_count(h->y);

	FUZZ_CHECK(n >= h->nlive);
	FUZZ_CHECK(n <= 16);
	FUZZ_CHECK(yamux_pending(h->y) <= YAMUX_CTRL_MAX +
	    YAMUX_HDR * (n + 2));
}

/* React to one event. */
static void
on_event(struct h *h, const struct yamux_event *ev, const uint8_t *in,
    size_t used)
{
	size_t i = ev->st != NULL ? live_find(h, ev->st) : SIZE_MAX;

	switch (ev->type) {
	case YAMUX_EV_OPEN:
		FUZZ_CHECK(ev->st != NULL && i == SIZE_MAX);
		FUZZ_CHECK(h->nlive < LIVE_MAX);
		/*
		 * A peer may reuse an id we reset: our RST for it is in the
		 * queue before anything for the new stream.
		 */
		take_all(h);
		rst_forget(h, yamux_stream_id(ev->st));
		h->live[h->nlive++] = ev->st;
		if (rnd(h) % 4 != 0)
			(void)yamux_accept(h->y, ev->st);
		else if (rnd(h) % 2)
			drop(h, h->nlive - 1);
		break;
	case YAMUX_EV_DATA:
		FUZZ_CHECK(i != SIZE_MAX && ev->len > 0);
		FUZZ_CHECK(ev->data >= in && ev->data + ev->len <= in + used);
		FUZZ_CHECK(yamux_stream_unconsumed(ev->st) <=
		    yamux_stream_recv_window(ev->st));
		if (rnd(h) % 2)
			yamux_consume(h->y, ev->st, ev->len, 0);
		break;
	case YAMUX_EV_ACK:
	case YAMUX_EV_WINDOW:
		FUZZ_CHECK(i != SIZE_MAX);
		break;
	case YAMUX_EV_FIN:
		FUZZ_CHECK(i != SIZE_MAX);
		if (rnd(h) % 2) {
			(void)yamux_close(h->y, ev->st);
			drop(h, i);
		}
		break;
	case YAMUX_EV_RST:
		FUZZ_CHECK(i != SIZE_MAX);
		FUZZ_CHECK(yamux_send_room(h->y, ev->st) == 0);
		if (rnd(h) % 2)
			drop(h, i);
		break;
	case YAMUX_EV_GOAWAY:
		FUZZ_CHECK(yamux_peer_gone(h->y));
		FUZZ_CHECK(yamux_open(h->y) == NULL);
		break;
	case YAMUX_EV_PONG:
		FUZZ_CHECK(!yamux_ping_outstanding(h->y, NULL));
		break;
	default:
		FUZZ_CHECK(ev->st == NULL);
		break;
	}
}

/* Feed the wire bytes to one core. */
static void
run(enum yamux_role role, uint8_t flags, uint32_t seed, const uint8_t *d,
    size_t len)
{
	struct yamux_limits l;
	struct yamux_event ev, ev2;
	struct h h;
	size_t off = 0, avail = 0, n, n2, used;
	uint64_t now = 1;

	memset(&h, 0, sizeof(h));
	h.rng = seed | 1;
	h.hold = (flags & 4) != 0;
	yamux_limits_default(&l);
	l.max_streams = 16;
	l.accept_backlog = 4;
	l.max_window = 1024 * 1024;
	if (flags & 2)
		l.initial_window = 512 * 1024;
	h.y = yamux_new(role, &l);
	FUZZ_CHECK(h.y != NULL);
	for (;;) {
		n = 1 + rnd(&h) % 64;
		if (rnd(&h) % 8 == 0)
			n = len - off;
		n = avail + (n < len - off - avail ? n : len - off - avail);
		yamux_input(h.y, d + off, n, &used, now, &ev);
		FUZZ_CHECK(used <= n);
		if (ev.type == YAMUX_EV_ERROR) {
			FUZZ_CHECK(yamux_fail(h.y) != YAMUX_FAIL_NONE);
			FUZZ_CHECK(strncmp(yamux_error(h.y), "yamux: ", 7) ==
			    0);
			yamux_input(h.y, d + off + used, n - used, &used, now,
			    &ev);
			FUZZ_CHECK(ev.type == YAMUX_EV_ERROR && used == 0);
			break;
		}
		FUZZ_CHECK(yamux_fail(h.y) == YAMUX_FAIL_NONE);
		if (ev.type == YAMUX_EV_BLOCKED) {
			/* Frames before the queue filled were consumed. */
			FUZZ_CHECK(yamux_pending(h.y) > YAMUX_CTRL_HIGH);
			yamux_input(h.y, d + off + used, n - used, &n2, now,
			    &ev2);
			FUZZ_CHECK(ev2.type == YAMUX_EV_BLOCKED && n2 == 0);
			(void)take(&h, 1 + rnd(&h) % 512);
		} else {
			on_event(&h, &ev, d + off, used);
		}
		off += used;
		avail = n - used;
		if (ev.type == YAMUX_EV_NONE) {
			FUZZ_CHECK(avail == 0);
			if (off == len)
				break;
		}
		act(&h, now);
		check_counts(&h);
		now += rnd(&h) % 5000;
	}
	check_counts(&h);
	while (h.nlive > 0)
		drop(&h, h.nlive - 1);
	take_all(&h);
	FUZZ_CHECK(h.plen == 0);
	FUZZ_CHECK(yamux_stream_count(h.y) == 0);
	yamux_free(h.y);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;

	if (size < 3)
		return 0;
	seed = (uint32_t)data[1] << 8 | data[2];
	if (data[0] & 1) {
		run(YAMUX_CLIENT, data[0], seed, data + 3, size - 3);
		run(YAMUX_SERVER, data[0], seed, data + 3, size - 3);
	} else {
		run(YAMUX_SERVER, data[0], seed, data + 3, size - 3);
		run(YAMUX_CLIENT, data[0], seed, data + 3, size - 3);
	}
	return 0;
}
