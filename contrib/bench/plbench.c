/*
 * plbench.c - the load tool of peerlock's benchmark (contrib/bench/run.sh).
 *
 * One binary, one mode per run, plain epoll and blocking sockets, no
 * per-byte work beyond the system calls:
 *
 *   plbench sink  -p PORT          bulk sink server (protocol below)
 *   plbench echo  -p PORT          echo server
 *   plbench bulk  -p PORT -c CONNS -s TOTAL_BYTES [-t TIMEOUT]
 *   plbench connrate -p PORT -c CLIENTS -t SECONDS
 *   plbench pingpong -p PORT -n ROUNDS [-s SIZE] [-w WARMUP]
 *   plbench idle  -p PORT [-n N] [-b INFLIGHT] [-t TIMEOUT]
 *   plbench probe -p PORT -k echo|sink [-t TIMEOUT]
 *   plbench firstbyte -p PORT -n COUNT -k echo|sink [-t TIMEOUT]
 *   plbench crypto [-t SECONDS_PER_CIPHER]
 *
 * Bulk protocol: the client sends an 8-byte big-endian length L, then L
 * bytes.  The sink answers with the same 8 bytes once it has received all L
 * bytes, so the client's clock stops only after the data has crossed every
 * proxy hop.  This does not depend on how a proxy passes half-close.
 *
 * idle: opens N connections (at most INFLIGHT being set up at a time), each
 * completes a 1-byte echo, then holds them.  Prints "ready N failed F" and
 * then reads further target counts, one per line, from stdin; EOF ends it.
 *
 * firstbyte: COUNT times in turn, a new connection and one exchange (a 1-byte
 * echo, or a 0-length bulk whose 8-byte ack is the first byte back); the
 * time from connect() to the answer is the time to the first byte of a new
 * tunnel.  Prints p50 and max in milliseconds.
 *
 * Client modes print key=value lines and end with "result VALUE".
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

enum {
	IOBUF = 256 * 1024,	/* one shared read/write buffer */
	MAXEV = 256,		/* epoll events per wait */
	BACKLOG = 4096,
	CRYPTO_BUF = 64 * 1024,
	HDR = 8			/* bulk length header */
};

struct opts {
	const char *host;
	int port;
	long conns;		/* -c: connections or clients */
	long long bytes;	/* -s: total bytes (bulk) or message size */
	double secs;		/* -t: duration or timeout */
	long count;		/* -n: round trips or idle connections */
	long warmup;		/* -w */
	long inflight;		/* -b */
	const char *kind;	/* -k */
};

static uint8_t iobuf[IOBUF];
static struct sockaddr_in target;

/* Monotonic time in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Print what failed with the errno text to stderr. */
static void
warn_errno(const char *what)
{
	fprintf(stderr, "plbench: %s: %s\n", what, strerror(errno));
}

/* Disable Nagle: every mode sends small messages it wants out now. */
static void
set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Raise RLIMIT_NOFILE to its hard limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Start a non-blocking connect to target; the fd or -1. */
static int
connect_start(void)
{
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	set_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Did the non-blocking connect on fd succeed? */
static bool
connect_ok(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return false;
	errno = err;
	return err == 0;
}

/* Register or change fd in the epoll set; 0 or -1. */
static int
ep_set(int ep, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	return epoll_ctl(ep, op, fd, &ev);
}

/* Store v big-endian into b. */
static void
put_be64(uint8_t b[static HDR], uint64_t v)
{
	for (int i = HDR - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* Load a big-endian 64-bit value. */
static uint64_t
get_be64(const uint8_t b[static HDR])
{
	uint64_t v = 0;

	for (int i = 0; i < HDR; i++)
		v = v << 8 | b[i];
	return v;
}

/* ---------------------------------------------------------------- servers */

/* One accepted connection of the sink or echo server. */
struct sconn {
	int fd;
	bool sink;
	/* sink */
	uint8_t hdr[HDR];
	size_t hdrlen;
	uint64_t left;
	bool acked;
	/* echo: bytes the peer would not take yet */
	uint8_t *pend;
	size_t pendlen, pendoff;
};

/* Close and free an accepted connection. */
static void
sconn_free(struct sconn *c)
{
	close(c->fd);
	free(c->pend);
	free(c);
}

/* Sink: consume n bytes just read; ack when the announced length is in. */
static int
sink_take(struct sconn *c, const uint8_t *p, size_t n)
{
	while (c->hdrlen < HDR && n > 0) {
		c->hdr[c->hdrlen++] = *p++;
		n--;
		if (c->hdrlen == HDR)
			c->left = get_be64(c->hdr);
	}
	if (c->hdrlen < HDR)
		return 0;
	c->left -= (n < c->left) ? n : c->left;
	if (c->left == 0 && !c->acked) {
		c->acked = true;
		/* 8 bytes into an empty send buffer: never partial. */
		if (send(c->fd, c->hdr, HDR, MSG_NOSIGNAL) != HDR)
			return -1;
	}
	return 0;
}

/* Echo: send back n bytes, keeping what the socket would not take. */
static int
echo_take(int ep, struct sconn *c, const uint8_t *p, size_t n)
{
	ssize_t w;

	w = send(c->fd, p, n, MSG_NOSIGNAL);
	if (w == -1) {
		if (errno != EAGAIN)
			return -1;
		w = 0;
	}
	if ((size_t)w == n)
		return 0;
	c->pendlen = n - (size_t)w;
	c->pendoff = 0;
	if ((c->pend = malloc(c->pendlen)) == NULL)
		return -1;
	memcpy(c->pend, p + w, c->pendlen);
	/* Stop reading until the peer drains what we owe it. */
	return ep_set(ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
}

/* Echo: flush pending bytes; resume reading when done. */
static int
echo_flush(int ep, struct sconn *c)
{
	ssize_t w;

	w = send(c->fd, c->pend + c->pendoff, c->pendlen - c->pendoff,
	    MSG_NOSIGNAL);
	if (w == -1)
		return errno == EAGAIN ? 0 : -1;
	c->pendoff += (size_t)w;
	if (c->pendoff < c->pendlen)
		return 0;
	free(c->pend);
	c->pend = NULL;
	return ep_set(ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

/* Handle one event on an accepted connection; -1 means close it. */
static int
sconn_event(int ep, struct sconn *c, uint32_t events)
{
	ssize_t r;

	if (c->pend != NULL)
		return (events & (EPOLLERR | EPOLLHUP)) ? -1 : echo_flush(ep, c);
	r = recv(c->fd, iobuf, sizeof(iobuf), 0);
	if (r == 0)
		return -1;
	if (r == -1)
		return errno == EAGAIN ? 0 : -1;
	if (c->sink)
		return sink_take(c, iobuf, (size_t)r);
	return echo_take(ep, c, iobuf, (size_t)r);
}

/* Accept everything pending on the listener. */
static void
serve_accept(int ep, int lfd, bool sink)
{
	struct sconn *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				warn_errno("accept");
				usleep(10000);	/* let connections close */
			}
			return;
		}
		set_nodelay(fd);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->sink = sink;
		if (ep_set(ep, EPOLL_CTL_ADD, fd, EPOLLIN, c) == -1)
			sconn_free(c);
	}
}

/* Open a listening socket on 127.0.0.1:port; the fd or -1. */
static int
listen_on(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The sink and echo servers: single-threaded epoll loop, runs forever. */
static int
mode_serve(const struct opts *o, bool sink)
{
	struct epoll_event ev[MAXEV];
	int ep, lfd, n;

	if ((lfd = listen_on(o->host, o->port)) == -1) {
		warn_errno("listen");
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, NULL) == -1) {
		warn_errno("epoll");
		return 1;
	}
	for (;;) {
		if ((n = epoll_wait(ep, ev, MAXEV, -1)) == -1) {
			if (errno == EINTR)
				continue;
			warn_errno("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				serve_accept(ep, lfd, sink);
			else if (sconn_event(ep, ev[i].data.ptr,
			    ev[i].events) == -1)
				sconn_free(ev[i].data.ptr);
		}
	}
}

/* ------------------------------------------------------------------- bulk */

/* One bulk connection. */
struct bconn {
	int fd;
	uint64_t len;		/* payload bytes */
	uint64_t sent;		/* header + payload bytes written */
	uint8_t hdr[HDR];
	uint8_t ack[HDR];
	size_t acklen;
	bool done;
};

/* Write as much as the socket takes; 1 when everything is sent. */
static int
bulk_write(struct bconn *b, int64_t *t0)
{
	uint64_t total = HDR + b->len;
	ssize_t w;

	while (b->sent < total) {
		if (b->sent < HDR) {
			w = send(b->fd, b->hdr + b->sent, HDR - b->sent,
			    MSG_NOSIGNAL);
		} else {
			uint64_t left = total - b->sent;
			size_t n = left < IOBUF ? (size_t)left : IOBUF;

			w = send(b->fd, iobuf, n, MSG_NOSIGNAL);
		}
		if (w == -1)
			return errno == EAGAIN ? 0 : -1;
		if (*t0 == 0)
			*t0 = now_ns();
		b->sent += (uint64_t)w;
	}
	return 1;
}

/* Read the sink's acknowledgement; 1 when complete and correct. */
static int
bulk_read_ack(struct bconn *b)
{
	ssize_t r;

	r = recv(b->fd, b->ack + b->acklen, HDR - b->acklen, 0);
	if (r == 0) {
		fprintf(stderr, "plbench: bulk: closed before ack\n");
		return -1;
	}
	if (r == -1)
		return errno == EAGAIN ? 0 : -1;
	b->acklen += (size_t)r;
	if (b->acklen < HDR)
		return 0;
	if (get_be64(b->ack) != b->len) {
		fprintf(stderr, "plbench: bulk: bad ack\n");
		return -1;
	}
	return 1;
}

/* N connections together send TOTAL bytes into the sink; aggregate MB/s. */
static int
mode_bulk(const struct opts *o)
{
	struct epoll_event ev[MAXEV];
	struct bconn *bs;
	int64_t t0 = 0, t1, deadline;
	long n = o->conns, left;
	int ep, k, r;

	if (n < 1 || o->bytes < n) {
		fprintf(stderr, "plbench: bulk: need -c >= 1, -s >= -c\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(iobuf); i++)
		iobuf[i] = (uint8_t)(i * 2654435761u >> 13);
	if ((bs = calloc((size_t)n, sizeof(*bs))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	for (long i = 0; i < n; i++) {
		bs[i].len = (uint64_t)(o->bytes / n) +
		    (i == 0 ? (uint64_t)(o->bytes % n) : 0);
		put_be64(bs[i].hdr, bs[i].len);
		if ((bs[i].fd = connect_start()) == -1 ||
		    ep_set(ep, EPOLL_CTL_ADD, bs[i].fd, EPOLLOUT, &bs[i])) {
			warn_errno("bulk: connect");
			return 1;
		}
	}
	deadline = now_ns() + (int64_t)(o->secs * 1e9);
	for (left = n; left > 0;) {
		if (now_ns() > deadline) {
			fprintf(stderr, "plbench: bulk: timeout\n");
			return 1;
		}
		if ((k = epoll_wait(ep, ev, MAXEV, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < k; i++) {
			struct bconn *b = ev[i].data.ptr;

			if (b->sent < HDR + b->len) {
				if (b->sent == 0 && !connect_ok(b->fd)) {
					warn_errno("bulk: connect");
					return 1;
				}
				if ((r = bulk_write(b, &t0)) == -1) {
					warn_errno("bulk: send");
					return 1;
				}
				if (r == 1 && ep_set(ep, EPOLL_CTL_MOD, b->fd,
				    EPOLLIN, b) == -1)
					return 1;
				continue;
			}
			if ((r = bulk_read_ack(b)) == -1)
				return 1;
			if (r == 1) {
				close(b->fd);
				b->done = true;
				left--;
			}
		}
	}
	t1 = now_ns();
	double secs = (double)(t1 - t0) / 1e9;
	double mbps = (double)o->bytes / secs / 1e6;
	printf("bulk conns=%ld bytes=%lld seconds=%.3f MBps=%.1f\n",
	    n, o->bytes, secs, mbps);
	printf("result %.1f\n", mbps);
	free(bs);
	return 0;
}

/* --------------------------------------------------------------- connrate */

/* One connrate client slot. */
struct slot {
	int fd;			/* -1: idle, start a new connection */
	bool sent;		/* the byte went out, waiting for the echo */
};

/* Start a new connection in slot s; false on immediate failure. */
static bool
slot_start(int ep, struct slot *s)
{
	if ((s->fd = connect_start()) == -1)
		return false;
	s->sent = false;
	if (ep_set(ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, s) == -1) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	return true;
}

/* Advance slot s on an event; 1 = echo completed, 0 = more, -1 = error. */
static int
slot_event(int ep, struct slot *s)
{
	uint8_t b = 'x';

	if (!s->sent) {
		if (!connect_ok(s->fd) ||
		    send(s->fd, &b, 1, MSG_NOSIGNAL) != 1)
			return -1;
		s->sent = true;
		return ep_set(ep, EPOLL_CTL_MOD, s->fd, EPOLLIN, s);
	}
	switch (recv(s->fd, &b, 1, 0)) {
	case 1:
		return 1;
	case -1:
		return errno == EAGAIN ? 0 : -1;
	default:
		return -1;
	}
}

/* C clients loop connect, 1-byte echo, close for T seconds; per second. */
static int
mode_connrate(const struct opts *o)
{
	struct epoll_event ev[MAXEV];
	struct slot *ss;
	int64_t t0, end;
	long done = 0, errs = 0, nidle;
	int ep, k;

	if (o->conns < 1 || o->secs <= 0)
		return 1;
	if ((ss = calloc((size_t)o->conns, sizeof(*ss))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	for (long i = 0; i < o->conns; i++)
		ss[i].fd = -1;
	t0 = now_ns();
	end = t0 + (int64_t)(o->secs * 1e9);
	while (now_ns() < end) {
		nidle = 0;
		for (long i = 0; i < o->conns; i++)
			if (ss[i].fd == -1 && !slot_start(ep, &ss[i])) {
				errs++;
				nidle++;
			}
		/* Short waits while slots are failing to start. */
		k = epoll_wait(ep, ev, MAXEV, nidle ? 1 : 100);
		if (k == -1 && errno != EINTR)
			return 1;
		for (int i = 0; i < k; i++) {
			struct slot *s = ev[i].data.ptr;
			int r = slot_event(ep, s);

			if (r == 0)
				continue;
			if (r == 1 && now_ns() <= end)
				done++;
			else if (r == -1)
				errs++;
			close(s->fd);
			s->fd = -1;
		}
	}
	double rate = (double)done / o->secs;
	printf("connrate clients=%ld seconds=%.1f completed=%ld errors=%ld "
	    "per_s=%.0f\n", o->conns, o->secs, done, errs, rate);
	printf("result %.0f\n", rate);
	for (long i = 0; i < o->conns; i++)
		if (ss[i].fd != -1)
			close(ss[i].fd);
	free(ss);
	close(ep);
	return 0;
}

/* --------------------------------------------------------------- pingpong */

/* Send all n bytes on a blocking socket; 0 or -1. */
static int
send_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Receive exactly n bytes on a blocking socket; 0 or -1. */
static int
recv_all(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = recv(fd, p, n, 0)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Blocking connect to target with send/receive timeouts; fd or -1. */
static int
connect_blocking(double timeout)
{
	struct timeval tv;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	tv.tv_sec = (time_t)timeout;
	tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	set_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Order two int64_t for qsort. */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100) of sorted v[n], in microseconds. */
static double
pct_us(const int64_t *v, long n, double p)
{
	long i = (long)((p / 100.0) * (double)n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1e3;
}

/* K round trips of SIZE bytes over one connection; p50/p99 in µs. */
static int
mode_pingpong(const struct opts *o)
{
	size_t sz = o->bytes > 0 ? (size_t)o->bytes : 64;
	int64_t *lat, t, sum = 0;
	uint8_t *msg;
	int fd;

	if (o->count < 1 || sz > IOBUF)
		return 1;
	if ((lat = calloc((size_t)o->count, sizeof(*lat))) == NULL ||
	    (msg = calloc(1, sz)) == NULL)
		return 1;
	if ((fd = connect_blocking(10.0)) == -1) {
		warn_errno("pingpong: connect");
		return 1;
	}
	memset(msg, 'p', sz);
	for (long i = -o->warmup; i < o->count; i++) {
		t = now_ns();
		if (send_all(fd, msg, sz) == -1 || recv_all(fd, iobuf, sz)) {
			warn_errno("pingpong: i/o");
			return 1;
		}
		if (i >= 0) {
			lat[i] = now_ns() - t;
			sum += lat[i];
		}
	}
	close(fd);
	qsort(lat, (size_t)o->count, sizeof(*lat), cmp_i64);
	printf("pingpong rounds=%ld size=%zu p50_us=%.1f p99_us=%.1f "
	    "mean_us=%.1f max_us=%.1f\n", o->count, sz,
	    pct_us(lat, o->count, 50), pct_us(lat, o->count, 99),
	    (double)sum / (double)o->count / 1e3,
	    (double)lat[o->count - 1] / 1e3);
	printf("result %.1f %.1f\n", pct_us(lat, o->count, 50),
	    pct_us(lat, o->count, 99));
	free(lat);
	free(msg);
	return 0;
}

/* ------------------------------------------------------------------- idle */

/* Connections held open by the idle mode. */
struct held {
	int *fd;
	long n, cap;
};

/* Grow h to want established connections; the number of failures. */
static long
idle_grow(int ep, struct held *h, long want, long inflight, double timeout)
{
	struct epoll_event ev[MAXEV];
	struct slot *fl;
	long busy = 0, failed = 0, maxfail = want / 10 + 100;
	int64_t deadline = now_ns() + (int64_t)(timeout * 1e9);
	int k;

	if ((fl = calloc((size_t)inflight, sizeof(*fl))) == NULL)
		return want - h->n;
	for (long i = 0; i < inflight; i++)
		fl[i].fd = -1;
	while (h->n < want && failed <= maxfail && now_ns() < deadline) {
		for (long i = 0; i < inflight && h->n + busy < want; i++) {
			if (fl[i].fd != -1)
				continue;
			if (slot_start(ep, &fl[i]))
				busy++;
			else
				failed++;
		}
		if ((k = epoll_wait(ep, ev, MAXEV, 100)) == -1 &&
		    errno != EINTR)
			break;
		for (int i = 0; i < k; i++) {
			struct slot *s = ev[i].data.ptr;
			int r = slot_event(ep, s);

			if (r == 0)
				continue;
			busy--;
			if (r == 1) {
				/* Held, no longer polled. */
				(void)epoll_ctl(ep, EPOLL_CTL_DEL, s->fd,
				    NULL);
				h->fd[h->n++] = s->fd;
			} else {
				close(s->fd);
				failed++;
			}
			s->fd = -1;
		}
	}
	for (long i = 0; i < inflight; i++)
		if (fl[i].fd != -1)
			close(fl[i].fd);
	free(fl);
	return failed;
}

/* Hold N established connections, growing on each count read from stdin. */
static int
mode_idle(const struct opts *o)
{
	struct held h = { NULL, 0, 0 };
	long want = o->count, failed;
	char line[64];
	int ep;

	if (o->inflight < 1 || (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	for (;;) {
		if (want > h.cap) {
			int *p = realloc(h.fd, (size_t)want * sizeof(*p));

			if (p == NULL)
				return 1;
			h.fd = p;
			h.cap = want;
		}
		failed = 0;
		if (want > h.n)
			failed = idle_grow(ep, &h, want, o->inflight, o->secs);
		printf("ready %ld failed %ld\n", h.n, failed);
		if (fgets(line, sizeof(line), stdin) == NULL)
			break;
		want = strtol(line, NULL, 10);
	}
	for (long i = 0; i < h.n; i++)
		close(h.fd[i]);
	free(h.fd);
	return 0;
}

/* ------------------------------------------------------------------ probe */

/* One end-to-end exchange through target: echo 1 byte, or a 0-byte bulk. */
static bool
probe_once(bool sink, double timeout)
{
	uint8_t b[HDR] = {0}, r[HDR];
	size_t n = sink ? HDR : 1;
	int fd;
	bool ok;

	if ((fd = connect_blocking(timeout)) == -1)
		return false;
	b[0] = sink ? 0 : 'x';
	ok = send_all(fd, b, n) == 0 && recv_all(fd, r, n) == 0 &&
	    memcmp(b, r, n) == 0;
	close(fd);
	return ok;
}

/* Retry probe_once until it works or the timeout passes; exit status. */
static int
mode_probe(const struct opts *o)
{
	bool sink = o->kind != NULL && strcmp(o->kind, "sink") == 0;
	int64_t deadline = now_ns() + (int64_t)(o->secs * 1e9);

	do {
		if (probe_once(sink, 2.0))
			return 0;
		usleep(100000);
	} while (now_ns() < deadline);
	fprintf(stderr, "plbench: probe %s:%d (%s) failed\n", o->host,
	    o->port, sink ? "sink" : "echo");
	return 1;
}

/* COUNT new connections one after another; p50/max ms to the first answer. */
static int
mode_firstbyte(const struct opts *o)
{
	bool sink = o->kind != NULL && strcmp(o->kind, "sink") == 0;
	int64_t *lat, t;

	if (o->count < 1 ||
	    (lat = calloc((size_t)o->count, sizeof(*lat))) == NULL)
		return 1;
	for (long i = 0; i < o->count; i++) {
		t = now_ns();
		if (!probe_once(sink, o->secs)) {
			fprintf(stderr, "plbench: firstbyte %s:%d: exchange %ld "
			    "of %ld failed\n", o->host, o->port, i + 1,
			    o->count);
			free(lat);
			return 1;
		}
		lat[i] = now_ns() - t;
	}
	qsort(lat, (size_t)o->count, sizeof(*lat), cmp_i64);
	printf("firstbyte count=%ld p50_ms=%.2f max_ms=%.2f\n", o->count,
	    pct_us(lat, o->count, 50) / 1e3,
	    (double)lat[o->count - 1] / 1e6);
	printf("result %.2f\n", pct_us(lat, o->count, 50) / 1e3);
	free(lat);
	return 0;
}

/* ----------------------------------------------------------------- crypto */

typedef int (*aead_fn)(unsigned char *, unsigned long long *,
    const unsigned char *, unsigned long long, const unsigned char *,
    unsigned long long, const unsigned char *, const unsigned char *,
    const unsigned char *);

/* Seal 64 KiB buffers with fn for secs seconds on one core; MB/s. */
static double
crypto_speed(aead_fn fn, size_t npub, double secs)
{
	static unsigned char in[CRYPTO_BUF], out[CRYPTO_BUF + 32];
	unsigned char key[32], nonce[32];
	unsigned long long outlen;
	uint64_t bytes = 0;
	int64_t t0, t;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(in, sizeof(in));
	memset(nonce, 0, sizeof(nonce));
	t0 = now_ns();
	do {
		for (int i = 0; i < 16; i++) {
			fn(out, &outlen, in, sizeof(in), NULL, 0, NULL,
			    nonce, key);
			sodium_increment(nonce, npub);
			bytes += sizeof(in);
		}
		t = now_ns();
	} while ((double)(t - t0) < secs * 1e9);
	sodium_memzero(key, sizeof(key));
	return (double)bytes / ((double)(t - t0) / 1e9) / 1e6;
}

/* Raw single-core AEAD speed of libsodium on this machine. */
static int
mode_crypto(const struct opts *o)
{
	double s = o->secs > 0 ? o->secs : 1.0, v;

	if (sodium_init() < 0)
		return 1;
	v = crypto_speed(crypto_aead_chacha20poly1305_ietf_encrypt,
	    crypto_aead_chacha20poly1305_ietf_NPUBBYTES, s);
	printf("crypto chacha20poly1305_ietf MBps=%.0f\n", v);
	if (crypto_aead_aes256gcm_is_available()) {
		v = crypto_speed(crypto_aead_aes256gcm_encrypt,
		    crypto_aead_aes256gcm_NPUBBYTES, s);
		printf("crypto aes256gcm MBps=%.0f\n", v);
	} else
		printf("crypto aes256gcm MBps=n/a\n");
	printf("libsodium %s\n", sodium_version_string());
	return 0;
}

/* ------------------------------------------------------------------- main */

/* Print usage and return the exit status 2. */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: plbench sink|echo -p PORT\n"
	    "       plbench bulk -p PORT -c CONNS -s TOTAL_BYTES [-t TIMEOUT]\n"
	    "       plbench connrate -p PORT -c CLIENTS -t SECONDS\n"
	    "       plbench pingpong -p PORT -n ROUNDS [-s SIZE] [-w WARMUP]\n"
	    "       plbench idle -p PORT [-n N] [-b INFLIGHT] [-t TIMEOUT]\n"
	    "       plbench probe -p PORT -k echo|sink [-t TIMEOUT]\n"
	    "       plbench firstbyte -p PORT -n COUNT -k echo|sink [-t TIMEOUT]\n"
	    "       plbench crypto [-t SECONDS]\n"
	    "common: -H HOST (default 127.0.0.1)\n");
	return 2;
}

/* Parse the options after the mode word; 0 or -1. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	o->host = "127.0.0.1";
	o->conns = 1;
	o->secs = -1;
	o->warmup = 100;
	o->inflight = 64;
	while ((ch = getopt(argc, argv, "H:p:c:s:t:n:w:b:k:")) != -1) {
		switch (ch) {
		case 'H': o->host = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'c': o->conns = atol(optarg); break;
		case 's': o->bytes = atoll(optarg); break;
		case 't': o->secs = atof(optarg); break;
		case 'n': o->count = atol(optarg); break;
		case 'w': o->warmup = atol(optarg); break;
		case 'b': o->inflight = atol(optarg); break;
		case 'k': o->kind = optarg; break;
		default: return -1;
		}
	}
	memset(&target, 0, sizeof(target));
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &target.sin_addr) != 1)
		return -1;
	return 0;
}

/* Dispatch on the mode word. */
int
main(int argc, char **argv)
{
	struct opts o;
	const char *m;

	if (argc < 2)
		return usage();
	m = argv[1];
	memset(&o, 0, sizeof(o));
	if (parse_opts(argc - 1, argv + 1, &o) == -1)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(m, "crypto") == 0)
		return mode_crypto(&o);
	if (o.port <= 0)
		return usage();
	if (strcmp(m, "sink") == 0 || strcmp(m, "echo") == 0)
		return mode_serve(&o, m[0] == 's');
	if (o.secs < 0)
		o.secs = strcmp(m, "connrate") == 0 ? 2.0 :
		    strcmp(m, "probe") == 0 ? 5.0 :
		    strcmp(m, "firstbyte") == 0 ? 10.0 : 600.0;
	if (strcmp(m, "bulk") == 0)
		return mode_bulk(&o);
	if (strcmp(m, "connrate") == 0)
		return mode_connrate(&o);
	if (strcmp(m, "pingpong") == 0)
		return mode_pingpong(&o);
	if (strcmp(m, "idle") == 0)
		return mode_idle(&o);
	if (strcmp(m, "probe") == 0)
		return mode_probe(&o);
	if (strcmp(m, "firstbyte") == 0)
		return mode_firstbyte(&o);
	return usage();
}
