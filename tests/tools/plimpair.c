/*
 * plimpair.c - a userspace network impairment relay for the end-to-end
 * scripts (libevent only).  This kernel has no netem; this is enough of
 * it for WAN scenarios: latency, jitter, a bandwidth cap and mid-stream
 * resets, per direction, on real TCP connections.
 *
 * usage: plimpair --target HOST:PORT [--port N] [--bind ADDR]
 *                 [--delay MS] [--jitter MS] [--rate BPS]
 *                 [--reset-after BYTES] [--max-buffer BYTES] [--seed N]
 *                 [--up-delay MS] [--up-jitter MS] [--up-rate BPS]
 *                 [--up-reset-after BYTES] [--down-... the same]
 *
 * Listens on ADDR:N (default 127.0.0.1, port 0 = a free one) and prints
 * "READY PORT" on stdout once it does.  Every accepted connection is
 * relayed to HOST:PORT (numeric IPv4 "1.2.3.4:80" or IPv6 "[::1]:80").
 * "up" is client -> target, "down" is target -> client; the plain
 * options set both directions, --up-X and --down-X one of them (later
 * options override earlier ones).  Per direction:
 *
 *   --delay MS        one-way latency: every byte read is held back MS
 *                     milliseconds before it is written on (a 50 ms RTT
 *                     is --delay 25).  Bytes are held as timestamped
 *                     chunks in a queue released by a timer, so the link
 *                     carries its full bandwidth-delay product, not one
 *                     chunk per round trip.  EOF (half-close) is delayed
 *                     the same way, behind the bytes before it.
 *   --jitter MS       each chunk's delay is MS +- JITTER, uniform, at
 *                     least 0; a chunk is never released before the one
 *                     read before it (no reordering within a connection,
 *                     as TCP would restore the order anyway).
 *   --rate BPS        bandwidth cap in bytes per second (paced in blocks
 *                     of 5 ms worth, 1 KiB to 64 KiB; a burst after an
 *                     idle period is at most 10 ms worth).
 *   --reset-after N   once N bytes went that way, both sockets of the
 *                     connection are reset (SO_LINGER 0, then close):
 *                     a mid-stream RST as a middlebox or a crash gives.
 *
 * Numbers take a suffix: k, M, G (10^3, 10^6, 10^9) or Ki, Mi, Gi (2^10,
 * 2^20, 2^30), e.g. --rate 10M (10 MB/s), --reset-after 1Mi.
 *
 * Bounded buffering: a direction stops reading its source while more
 * than --max-buffer bytes (default 4 MiB) are held back or wait to be
 * written, and resumes below half of it.  With a 25 ms one-way delay
 * that allows 160 MiB/s per direction; raise it for faster links.
 *
 * An error (reset, refused target) on one side resets the other.  One
 * line per closed connection goes to stderr:
 *   plimpair: conn N closed up=BYTES down=BYTES reason=eof|reset-after|
 *       client-error|target-error|target-refused
 * Runs until SIGTERM or SIGINT.  Exit 64 on a usage error, 1 if it
 * cannot listen.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

enum {
	READ_MAX = 256 * 1024,		/* largest single socket read */
	BUF_DEFAULT = 4 * 1024 * 1024,	/* --max-buffer */
	WRITE_LOW = 64 * 1024,		/* write callback below this */
	BLOCK_MIN = 1024, BLOCK_MAX = 64 * 1024,	/* rate pacing */
	BLOCK_US = 5000,		/* a block is 5 ms worth */
	BURST_US = 10000		/* idle credit: 10 ms worth */
};

/* The impairment of one direction. */
struct impair {
	uint64_t delay_us, jitter_us;
	uint64_t rate;			/* bytes/s, 0 = unlimited */
	uint64_t reset_after;		/* bytes, 0 = never */
};

/* One chunk held back: len bytes at the queue's head (or EOF). */
struct mark {
	struct mark *next;
	uint64_t due_us;		/* release time */
	size_t len;
	bool fin;			/* the source's EOF, no bytes */
};

struct rconn;

/* One direction of a relayed connection: src's bytes go to dst. */
struct dir {
	struct rconn *c;
	const struct impair *im;
	struct bufferevent *src, *dst;
	struct evbuffer *q;		/* bytes held back */
	struct mark *head, *tail;
	struct event *timer;
	uint64_t last_due;		/* no release before this */
	uint64_t link_free;		/* rate pacing clock */
	uint64_t bytes;			/* released to dst */
	bool src_eof;			/* src gave EOF */
	bool fin_out;			/* EOF released: shut dst when drained */
	bool shut;			/* shutdown(dst, SHUT_WR) done */
	bool resetting;			/* reset_after reached */
	bool paused;			/* src reading stopped (buffer full) */
};

struct relay;

/* One relayed connection: client and target sockets, two directions. */
struct rconn {
	struct relay *r;
	unsigned long id;
	struct bufferevent *cli, *tgt;
	struct dir up, down;
	bool connected;
	struct rconn *prev, *next;
};

struct relay {
	struct event_base *base;
	struct evconnlistener *lis;
	struct event *ev_term, *ev_int;
	struct sockaddr_storage target;
	int targetlen;
	struct impair up, down;
	size_t max_buf;
	unsigned long nconns;
	struct rconn *conns;
};

static void dir_release(struct dir *d);

/* Monotonic microseconds. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Bytes of direction d not yet handed to the kernel. */
static size_t
dir_inflight(const struct dir *d)
{
	return evbuffer_get_length(d->q) +
	    evbuffer_get_length(bufferevent_get_output(d->dst));
}

/* Set SO_LINGER 0 on bev's socket: closing it sends a reset. */
static void
bev_linger0(struct bufferevent *bev)
{
	struct linger lg = { 1, 0 };
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Free d's queue and timer. */
static void
dir_clear(struct dir *d)
{
	struct mark *m;

	while ((m = d->head) != NULL) {
		d->head = m->next;
		free(m);
	}
	if (d->timer != NULL)
		event_free(d->timer);
	if (d->q != NULL)
		evbuffer_free(d->q);
}

/* The only place a connection ends; rst: reset both sockets. */
static void
rconn_free(struct rconn *c, bool rst, const char *why)
{
	fprintf(stderr, "plimpair: conn %lu closed up=%llu down=%llu "
	    "reason=%s\n", c->id, (unsigned long long)c->up.bytes,
	    (unsigned long long)c->down.bytes, why);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->r->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (rst && c->cli != NULL)
		bev_linger0(c->cli);
	if (rst && c->tgt != NULL)
		bev_linger0(c->tgt);
	dir_clear(&c->up);
	dir_clear(&c->down);
	if (c->cli != NULL)
		bufferevent_free(c->cli);
	if (c->tgt != NULL)
		bufferevent_free(c->tgt);
	free(c);
}

/* Arm d's timer for its next release, if anything is queued. */
static void
dir_schedule(struct dir *d, uint64_t now)
{
	uint64_t at, wait;
	struct timeval tv;

	if (d->head == NULL || d->resetting)
		return;
	at = d->head->due_us;
	if (d->im->rate != 0 && !d->head->fin && d->link_free > at)
		at = d->link_free;
	wait = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000u);
	tv.tv_usec = (suseconds_t)(wait % 1000000u);
	evtimer_add(d->timer, &tv);
}

/* How many of n ready bytes the rate cap lets go now (0: wait). */
static size_t
dir_paced(struct dir *d, size_t n, uint64_t now)
{
	uint64_t block;

	if (d->im->rate == 0)
		return n;
	if (d->link_free + BURST_US < now)
		d->link_free = now - BURST_US;
	if (d->link_free > now)
		return 0;
	block = d->im->rate * BLOCK_US / 1000000u;
	block = block < BLOCK_MIN ? BLOCK_MIN : block > BLOCK_MAX ?
	    BLOCK_MAX : block;
	if (n > block)
		n = (size_t)block;
	d->link_free += (uint64_t)n * 1000000u / d->im->rate;
	return n;
}

/*
 * After dst drained or bytes were released: shut dst once the EOF went
 * out, reset once reset_after went out, resume src below the low mark.
 * Returns -1 if the connection was freed.
 */
static int
dir_progress(struct dir *d)
{
	struct rconn *c = d->c;
	size_t out = evbuffer_get_length(bufferevent_get_output(d->dst));

	if (d->resetting && out == 0) {
		rconn_free(c, true, "reset-after");
		return -1;
	}
	if (d->fin_out && !d->shut && out == 0 && c->connected) {
		shutdown(bufferevent_getfd(d->dst), SHUT_WR);
		d->shut = true;
		if (c->up.shut && c->down.shut) {
			rconn_free(c, false, "eof");
			return -1;
		}
	}
	if (d->paused && !d->src_eof &&
	    dir_inflight(d) < d->c->r->max_buf / 2) {
		d->paused = false;
		bufferevent_enable(d->src, EV_READ);
	}
	return 0;
}

/* Hand every chunk that is due (and paced) to dst. */
static void
dir_release(struct dir *d)
{
	uint64_t now = now_us();
	struct mark *m;
	size_t n;

	while ((m = d->head) != NULL && m->due_us <= now && !d->resetting) {
		if (m->fin) {
			d->fin_out = true;
			n = 0;
		} else if ((n = dir_paced(d, m->len, now)) == 0)
			break;
		if (d->im->reset_after != 0 &&
		    d->bytes + n >= d->im->reset_after) {
			n = (size_t)(d->im->reset_after - d->bytes);
			d->resetting = true;
			/* nothing more is relayed; do not buffer it either */
			bufferevent_disable(d->src, EV_READ);
		}
		evbuffer_remove_buffer(d->q, bufferevent_get_output(d->dst),
		    n);
		d->bytes += n;
		m->len -= n;
		if (m->len == 0) {
			d->head = m->next;
			if (d->head == NULL)
				d->tail = NULL;
			free(m);
		}
	}
	if (dir_progress(d) == 0)
		dir_schedule(d, now);
}

/* d's timer fired. */
static void
dir_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_release(arg);
}

/* This chunk's delay: delay +- jitter, never before the previous one. */
static uint64_t
dir_due(struct dir *d, uint64_t now)
{
	uint64_t due = now + d->im->delay_us;
	uint64_t j = d->im->jitter_us;

	if (j != 0) {
		/* uniform in [-j, +j]; random() has 31 bits */
		uint64_t r = (uint64_t)random() % (2 * j + 1);

		due = due + r >= j ? due + r - j : 0;
	}
	if (due < d->last_due)
		due = d->last_due;
	d->last_due = due;
	return due;
}

/* Queue len bytes (already in d->q) or the EOF (fin) for release. */
static int
dir_enqueue(struct dir *d, size_t len, bool fin)
{
	uint64_t now = now_us();
	struct mark *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	m->due_us = dir_due(d, now);
	m->len = len;
	m->fin = fin;
	if (d->tail != NULL)
		d->tail->next = m;
	else
		d->head = m;
	d->tail = m;
	if (!evtimer_pending(d->timer, NULL))
		dir_schedule(d, now);
	return 0;
}

/* Bytes arrived on d's source: hold them back. */
static void
dir_on_read(struct dir *d)
{
	struct evbuffer *in = bufferevent_get_input(d->src);
	size_t n = evbuffer_get_length(in);

	if (n == 0 || d->resetting)
		return;
	evbuffer_add_buffer(d->q, in);
	if (dir_enqueue(d, n, false) != 0) {
		rconn_free(d->c, true, "out-of-memory");
		return;
	}
	if (dir_inflight(d) > d->c->r->max_buf) {
		d->paused = true;
		bufferevent_disable(d->src, EV_READ);
	}
}

/* Client or target readable. */
static void
rconn_on_read(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;

	dir_on_read(bev == c->cli ? &c->up : &c->down);
}

/* Client or target drained its output to the low mark. */
static void
rconn_on_write(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;

	(void)dir_progress(bev == c->cli ? &c->down : &c->up);
}

/* Connected, EOF or error on the client or the target. */
static void
rconn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *c = arg;
	bool tgt = bev == c->tgt;
	struct dir *d = tgt ? &c->down : &c->up;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		if (dir_progress(&c->up) == 0)
			(void)dir_progress(&c->down);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		rconn_free(c, true, !tgt ? "client-error" : c->connected ?
		    "target-error" : "target-refused");
		return;
	}
	if ((what & BEV_EVENT_EOF) && !d->src_eof) {
		d->src_eof = true;
		d->paused = false;
		bufferevent_disable(bev, EV_READ);
		if (dir_enqueue(d, 0, true) != 0)
			rconn_free(c, true, "out-of-memory");
	}
}

/* Set up direction d of c. */
static int
dir_init(struct dir *d, struct rconn *c, const struct impair *im, struct bufferevent *src,
    struct bufferevent *dst)
{
	d->c = c;
	d->im = im;
	d->src = src;
	d->dst = dst;
	d->q = evbuffer_new();
	d->timer = evtimer_new(c->r->base, dir_on_timer, d);
	return d->q != NULL && d->timer != NULL ? 0 : -1;
}

/* A bufferevent for fd (or a new socket) with our callbacks and marks. */
static struct bufferevent *
rconn_bev(struct rconn *c, evutil_socket_t fd)
{
	struct bufferevent *bev;
	int one = 1;

	bev = bufferevent_socket_new(c->r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	bufferevent_setcb(bev, rconn_on_read, rconn_on_write, rconn_on_event,
	    c);
	bufferevent_setwatermark(bev, EV_WRITE, WRITE_LOW, 0);
	bufferevent_set_max_single_read(bev, READ_MAX);
	bufferevent_set_max_single_write(bev, READ_MAX);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return bev;
}

/* A client connected: connect to the target and relay. */
static void
relay_on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay *r = arg;
	struct rconn *c = calloc(1, sizeof(*c));
	int one = 1;

	(void)lis;
	(void)sa;
	(void)salen;
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->r = r;
	c->id = ++r->nconns;
	c->next = r->conns;
	if (r->conns != NULL)
		r->conns->prev = c;
	r->conns = c;
	if ((c->cli = rconn_bev(c, fd)) == NULL)
		evutil_closesocket(fd);
	c->tgt = rconn_bev(c, -1);
	if (c->cli == NULL || c->tgt == NULL ||
	    dir_init(&c->up, c, &r->up, c->cli, c->tgt) != 0 ||
	    dir_init(&c->down, c, &r->down, c->tgt, c->cli) != 0 ||
	    bufferevent_socket_connect(c->tgt, (struct sockaddr *)&r->target,
	    r->targetlen) != 0) {
		rconn_free(c, true, "setup-failed");
		return;
	}
	setsockopt(bufferevent_getfd(c->tgt), IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	bufferevent_enable(c->cli, EV_READ | EV_WRITE);
	bufferevent_enable(c->tgt, EV_READ | EV_WRITE);
}

/* accept() failed (EMFILE...): report and keep going. */
static void
relay_on_accept_error(struct evconnlistener *lis, void *arg)
{
	(void)lis;
	(void)arg;
	fprintf(stderr, "plimpair: accept: %s\n",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* SIGTERM or SIGINT: stop the loop. */
static void
relay_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct relay *r = arg;

	(void)what;
	fprintf(stderr, "plimpair: signal %d, exiting\n", (int)sig);
	event_base_loopbreak(r->base);
}

/* Print usage and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: plimpair --target HOST:PORT [--port N] "
	    "[--bind ADDR] [--delay MS]\n"
	    "                [--jitter MS] [--rate BPS] [--reset-after BYTES]"
	    " [--max-buffer BYTES]\n"
	    "                [--seed N] [--up-OPT V] [--down-OPT V] "
	    "(OPT: delay jitter rate reset-after)\n");
	exit(64);
}

/* Parse a number with an optional k M G / Ki Mi Gi suffix, or usage. */
static uint64_t
parse_num(const char *s, uint64_t hi)
{
	static const struct { const char *sfx; uint64_t mul; } sfx[] = {
		{ "", 1 }, { "k", 1000 }, { "M", 1000000 },
		{ "G", 1000000000 }, { "Ki", 1024 }, { "Mi", 1024 * 1024 },
		{ "Gi", 1024 * 1024 * 1024 }
	};
	unsigned long long v;
	char *end;
	size_t i;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		usage();
	v = strtoull(s, &end, 10);
	if (errno != 0)
		usage();
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(end, sfx[i].sfx) == 0)
			break;
	if (i == sizeof(sfx) / sizeof(sfx[0]) || v > hi / sfx[i].mul)
		usage();
	return v * sfx[i].mul;
}

/* Command-line settings besides those kept in struct relay. */
struct args {
	const char *bind, *target;
	unsigned port;
	unsigned seed;
};

/* Set field f (0 delay, 1 jitter, 2 rate, 3 reset) of im from s. */
static void
set_impair(struct impair *im, int f, const char *s)
{
	switch (f) {
	case 0:
		im->delay_us = parse_num(s, 3600000) * 1000u;
		break;
	case 1:
		im->jitter_us = parse_num(s, 3600000) * 1000u;
		break;
	case 2:
		im->rate = parse_num(s, UINT64_C(1) << 40);
		break;
	default:
		im->reset_after = parse_num(s, UINT64_C(1) << 60);
		break;
	}
}

/* Parse the command line into r and a. */
static void
parse_args(int argc, char **argv, struct relay *r, struct args *a)
{
	/* val: 16 * which (0 both, 1 up, 2 down) + field, or a letter */
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 0x100 },
		{ "jitter", required_argument, NULL, 0x101 },
		{ "rate", required_argument, NULL, 0x102 },
		{ "reset-after", required_argument, NULL, 0x103 },
		{ "up-delay", required_argument, NULL, 0x110 },
		{ "up-jitter", required_argument, NULL, 0x111 },
		{ "up-rate", required_argument, NULL, 0x112 },
		{ "up-reset-after", required_argument, NULL, 0x113 },
		{ "down-delay", required_argument, NULL, 0x120 },
		{ "down-jitter", required_argument, NULL, 0x121 },
		{ "down-rate", required_argument, NULL, 0x122 },
		{ "down-reset-after", required_argument, NULL, 0x123 },
		{ "target", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "max-buffer", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch >= 0x100) {
			if ((ch & 0xf0) != 0x20)
				set_impair(&r->up, ch & 0xf, optarg);
			if ((ch & 0xf0) != 0x10)
				set_impair(&r->down, ch & 0xf, optarg);
			continue;
		}
		switch (ch) {
		case 't':
			a->target = optarg;
			break;
		case 'p':
			a->port = (unsigned)parse_num(optarg, 65535);
			break;
		case 'b':
			a->bind = optarg;
			break;
		case 'm':
			r->max_buf = (size_t)parse_num(optarg, 1u << 30);
			if (r->max_buf < READ_MAX)
				usage();
			break;
		case 's':
			a->seed = (unsigned)parse_num(optarg, UINT32_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || a->target == NULL)
		usage();
	r->targetlen = (int)sizeof(r->target);
	if (evutil_parse_sockaddr_port(a->target,
	    (struct sockaddr *)&r->target, &r->targetlen) != 0) {
		fprintf(stderr, "plimpair: --target: expected a numeric "
		    "HOST:PORT, got '%s'\n", a->target);
		exit(64);
	}
}

/* Bind the listener and print READY with its port. */
static int
relay_listen(struct relay *r, const struct args *a)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	socklen_t len = sizeof(ss);
	char spec[128];
	int port;

	/* (libevent refuses an explicit port 0: leave it out) */
	if (strchr(a->bind, ':') != NULL)
		snprintf(spec, sizeof(spec), a->port != 0 ? "[%s]:%u" :
		    "[%s]", a->bind, a->port);
	else
		snprintf(spec, sizeof(spec), a->port != 0 ? "%s:%u" : "%s",
		    a->bind, a->port);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss,
	    &sslen) != 0) {
		fprintf(stderr, "plimpair: --bind: bad address '%s'\n",
		    a->bind);
		return -1;
	}
	r->lis = evconnlistener_new_bind(r->base, relay_on_accept, r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, sslen);
	if (r->lis == NULL) {
		fprintf(stderr, "plimpair: bind %s: %s\n", spec,
		    strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(r->lis, relay_on_accept_error);
	if (getsockname(evconnlistener_get_fd(r->lis),
	    (struct sockaddr *)&ss, &len) != 0)
		return -1;
	port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("READY %d\n", port);
	fflush(stdout);
	fprintf(stderr, "plimpair: %s -> %s up: delay=%llums jitter=%llums "
	    "rate=%llu reset_after=%llu down: delay=%llums jitter=%llums "
	    "rate=%llu reset_after=%llu max_buffer=%zu\n", spec, a->target,
	    (unsigned long long)(r->up.delay_us / 1000),
	    (unsigned long long)(r->up.jitter_us / 1000),
	    (unsigned long long)r->up.rate,
	    (unsigned long long)r->up.reset_after,
	    (unsigned long long)(r->down.delay_us / 1000),
	    (unsigned long long)(r->down.jitter_us / 1000),
	    (unsigned long long)r->down.rate,
	    (unsigned long long)r->down.reset_after, r->max_buf);
	return 0;
}

/* Parse arguments, relay until a signal, clean up. */
int
main(int argc, char **argv)
{
	struct args a = { "127.0.0.1", NULL, 0, 1 };
	struct event_config *cfg;
	struct relay r;
	int rc = 1;

	memset(&r, 0, sizeof(r));
	r.max_buf = BUF_DEFAULT;
	parse_args(argc, argv, &r, &a);
	srandom(a.seed);
	signal(SIGPIPE, SIG_IGN);
	/* timerfd-backed timers: millisecond epoll timeouts are too coarse */
	if ((cfg = event_config_new()) == NULL)
		return 1;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	r.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (r.base == NULL)
		return 1;
	r.ev_term = evsignal_new(r.base, SIGTERM, relay_on_signal, &r);
	r.ev_int = evsignal_new(r.base, SIGINT, relay_on_signal, &r);
	if (r.ev_term == NULL || r.ev_int == NULL ||
	    evsignal_add(r.ev_term, NULL) != 0 ||
	    evsignal_add(r.ev_int, NULL) != 0)
		goto out;
	if (relay_listen(&r, &a) != 0)
		goto out;
	event_base_dispatch(r.base);
	rc = 0;
out:
	while (r.conns != NULL)
		rconn_free(r.conns, false, "exit");
	if (r.lis != NULL)
		evconnlistener_free(r.lis);
	if (r.ev_term != NULL)
		event_free(r.ev_term);
	if (r.ev_int != NULL)
		event_free(r.ev_int);
	event_base_free(r.base);
	return rc;
}
