/*
 * plclient.c - test client for the end-to-end scripts (libsodium only).
 *
 * usage: plclient HOST PORT --bytes N [--seed S] [--half-close]
 *                 [--no-echo] [--timeout SEC] [--hold SEC]
 *
 * Connects to HOST:PORT (IPv4 or IPv6), optionally idles --hold seconds,
 * then sends N bytes (suffix K, M or G for KiB, MiB, GiB) of a
 * deterministic stream: the ChaCha20 keystream (zero nonce) under the
 * key BLAKE2b-256("plclient-stream-v1:" || S), default seed "1".  Reads
 * and writes run concurrently (poll, non-blocking, 64 KiB buffers).
 *
 *   default       expects the same N bytes back, checks each as it
 *                 arrives, closes after the N-th.
 *   --half-close  shutdown(SHUT_WR) after sending; needs all N bytes
 *                 back and then EOF.
 *   --no-echo     sends N bytes, half-closes, waits for EOF or the
 *                 timeout; succeeds if everything was sent (anything
 *                 received is counted and discarded).
 *
 * --timeout (default 60 s) covers connecting and the transfer; --hold
 * time comes on top.  secs and MBps (10^6 bytes/s of bytes_sent) are
 * measured from the end of the hold.  Prints one line on stdout:
 *	ok bytes_sent=N bytes_received=M secs=T MBps=X
 *	FAIL reason=WORD bytes_sent=N bytes_received=M secs=T [detail]
 * Exit: 0 ok; 1 data mismatch, extra data or timeout; 2 resolve or
 * connect failed (refused included); 3 reset, or EOF before all echoed
 * bytes arrived (closed early); 64 usage.  A connection that the server
 * accepted and reset before our connect() was seen to complete (SO_ERROR
 * ECONNRESET, e.g. a proxy refusing at once) is a reset, exit 3, not a
 * failed connect.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define CHUNK (64 * 1024)	/* stream block and I/O buffer size */

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_CONNECT = 2, EXIT_CLOSED = 3,
    EXIT_USAGE = 64 };

/* Sequential reader of the deterministic byte stream. */
struct stream {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint64_t block;		/* next CHUNK-sized block to generate */
	size_t pos, len;	/* unread part of buf */
	uint8_t buf[CHUNK];
};

struct client {
	int fd;
	uint64_t want;		/* N */
	uint64_t sent, received;
	int echo, half_close, shut_wr, eof;
	double t_start;		/* end of the hold */
	struct stream tx, rx;
	uint8_t rbuf[CHUNK];
};

static const uint8_t zeros[CHUNK];

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Derive the stream key from the seed. */
static void
stream_init(struct stream *s, const char *seed)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(s->key));
	crypto_generichash_update(&st, (const uint8_t *)"plclient-stream-v1:",
	    19);
	crypto_generichash_update(&st, (const uint8_t *)seed, strlen(seed));
	crypto_generichash_final(&st, s->key, sizeof(s->key));
	s->block = 0;
	s->pos = s->len = 0;
}

/* Point *p at up to max upcoming stream bytes; returns how many. */
static size_t
stream_peek(struct stream *s, uint64_t max, const uint8_t **p)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	size_t n;

	if (s->pos == s->len) {
		/* CHUNK is a multiple of the 64-byte ChaCha20 block. */
		crypto_stream_chacha20_xor_ic(s->buf, zeros, CHUNK, nonce,
		    s->block * (CHUNK / 64), s->key);
		s->block++;
		s->pos = 0;
		s->len = CHUNK;
	}
	n = s->len - s->pos;
	if (n > max)
		n = (size_t)max;
	*p = s->buf + s->pos;
	return n;
}

/* Print the result line and exit. */
static void finish(const struct client *c, int code, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));

static void
finish(const struct client *c, int code, const char *reason,
    const char *fmt, ...)
{
	double secs = c->t_start > 0 ? now() - c->t_start : 0;
	va_list ap;

	if (code == EXIT_OK) {
		printf("ok bytes_sent=%llu bytes_received=%llu secs=%.3f "
		    "MBps=%.1f\n", (unsigned long long)c->sent,
		    (unsigned long long)c->received, secs,
		    secs > 0 ? (double)c->sent / secs / 1e6 : 0.0);
	} else {
		printf("FAIL reason=%s bytes_sent=%llu bytes_received=%llu "
		    "secs=%.3f", reason, (unsigned long long)c->sent,
		    (unsigned long long)c->received, secs);
		if (fmt != NULL) {
			putchar(' ');
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
		}
		putchar('\n');
	}
	fflush(stdout);
	if (c->fd >= 0)
		close(c->fd);
	exit(code);
}

/* Milliseconds until deadline for poll(), at least 0. */
static int
ms_until(double deadline)
{
	double d = (deadline - now()) * 1000.0;

	if (d <= 0)
		return 0;
	return d > 1e9 ? 1000000000 : (int)d + 1;
}

/* Try each address of HOST:PORT until one connects before deadline. */
static int
connect_any(const char *host, const char *port, double deadline,
    int *refused, int *reset)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t elen;
	int fd = -1, err, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "plclient: %s: %s\n", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				r = poll(&pfd, 1, ms_until(deadline));
				elen = sizeof(err);
				if (r <= 0)
					err = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
				    &err, &elen) != 0)
					err = errno;
			}
		}
		if (err == 0)
			break;
		if (err == ECONNREFUSED)
			*refused = 1;
		if (err == ECONNRESET)
			*reset = 1;	/* accepted, then reset */
		fprintf(stderr, "plclient: connect %s port %s: %s\n", host,
		    port, strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Send as much of the stream as the socket takes now. */
static void
do_send(struct client *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	while (c->sent < c->want) {
		n = stream_peek(&c->tx, c->want - c->sent, &p);
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0)
			finish(c, EXIT_CLOSED, errno == ECONNRESET ||
			    errno == EPIPE ? "reset" : "send_error",
			    "error=\"%s\"", strerror(errno));
		c->tx.pos += (size_t)w;
		c->sent += (uint64_t)w;
	}
}

/* Compare n received bytes against the expected stream. */
static void
check_echo(struct client *c, const uint8_t *b, size_t n)
{
	const uint8_t *p;
	size_t k, i;

	if (c->received + n > c->want)
		finish(c, EXIT_DATA, "extra_data", "extra=%llu",
		    (unsigned long long)(c->received + n - c->want));
	while (n > 0) {
		k = stream_peek(&c->rx, n, &p);
		if (memcmp(b, p, k) != 0) {
			for (i = 0; b[i] == p[i]; i++)
				;
			finish(c, EXIT_DATA, "mismatch", "offset=%llu",
			    (unsigned long long)(c->received + i));
		}
		c->rx.pos += k;
		c->received += k;
		b += k;
		n -= k;
	}
}

/* Read what is available; sets c->eof at end of stream. */
static void
do_recv(struct client *c)
{
	ssize_t r;

	for (;;) {
		r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0)
			finish(c, EXIT_CLOSED, errno == ECONNRESET ? "reset" :
			    "recv_error", "error=\"%s\"", strerror(errno));
		if (r == 0) {
			c->eof = 1;
			return;
		}
		if (c->echo)
			check_echo(c, c->rbuf, (size_t)r);
		else
			c->received += (uint64_t)r;
	}
}

/* Idle for the hold time; the peer must not close meanwhile. */
static void
hold(struct client *c, double until)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	while (now() < until) {
		if (poll(&pfd, 1, ms_until(until)) < 0 && errno != EINTR)
			finish(c, EXIT_CLOSED, "poll_error", NULL);
		if (pfd.revents == 0)
			continue;
		do_recv(c);
		if (c->eof)
			finish(c, EXIT_CLOSED, "closed_during_hold", NULL);
	}
}

/* Is the run complete? Exits with the outcome when it is. */
static void
check_done(struct client *c)
{
	int sent_all = c->sent == c->want;

	if (c->echo && !c->half_close && c->received == c->want)
		finish(c, EXIT_OK, NULL, NULL);
	if (!c->eof)
		return;
	if (!c->echo && sent_all)
		finish(c, EXIT_OK, NULL, NULL);
	if (c->echo && c->received == c->want)
		finish(c, EXIT_OK, NULL, NULL);
	finish(c, EXIT_CLOSED, "closed_early", NULL);
}

/* Move data both ways until done, failure or deadline. */
static void
transfer(struct client *c, double deadline)
{
	struct pollfd pfd;

	for (;;) {
		if (c->sent == c->want && !c->shut_wr &&
		    (c->half_close || !c->echo)) {
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = 1;
		}
		check_done(c);
		pfd.fd = c->fd;
		pfd.events = POLLIN | (c->sent < c->want ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, ms_until(deadline)) < 0 && errno != EINTR)
			finish(c, EXIT_DATA, "poll_error", NULL);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			do_recv(c);
		if (pfd.revents & (POLLOUT | POLLERR))
			do_send(c);
		if (now() >= deadline) {
			if (!c->echo && c->sent == c->want)
				finish(c, EXIT_OK, NULL, NULL);
			finish(c, EXIT_DATA, "timeout", NULL);
		}
	}
}

/* Parse a byte count with an optional K/M/G (binary) suffix. */
static int
parse_bytes(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift != 0)
		end++;
	if (*end != '\0' || n > (UINT64_MAX >> shift))
		return -1;
	*v = (uint64_t)n << shift;
	return 0;
}

/* Parse non-negative seconds. */
static int
parse_secs(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno != 0 || end == s || *end != '\0' || !(*v >= 0) ? -1 : 0;
}

/* Print usage and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: plclient HOST PORT --bytes N [--seed S] "
	    "[--half-close] [--no-echo]\n                [--timeout SEC] "
	    "[--hold SEC]\n");
	exit(EXIT_USAGE);
}

/* Command-line settings besides those kept in struct client. */
struct args {
	const char *host, *port, *seed;
	double timeout, hold;
};

/* Parse the command line into c and a. */
static void
parse_args(int argc, char **argv, struct client *c, struct args *a)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "half-close", no_argument, NULL, 'H' },
		{ "no-echo", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "hold", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, have_bytes = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (parse_bytes(optarg, &c->want) != 0)
				usage();
			have_bytes = 1;
			break;
		case 's':
			a->seed = optarg;
			break;
		case 'H':
			c->half_close = 1;
			break;
		case 'n':
			c->echo = 0;
			break;
		case 't':
			if (parse_secs(optarg, &a->timeout) != 0)
				usage();
			break;
		case 'o':
			if (parse_secs(optarg, &a->hold) != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || !have_bytes)
		usage();
	a->host = argv[optind];
	a->port = argv[optind + 1];
}

/* Parse arguments, connect, run the transfer. */
int
main(int argc, char **argv)
{
	struct args a = { NULL, NULL, "1", 60, 0 };
	static struct client c;
	int refused = 0, reset = 0;
	double t0;

	c.fd = -1;
	c.echo = 1;
	parse_args(argc, argv, &c, &a);
	if (sodium_init() < 0)
		return EXIT_DATA;
	stream_init(&c.tx, a.seed);
	stream_init(&c.rx, a.seed);
	t0 = now();
	c.fd = connect_any(a.host, a.port, t0 + a.timeout, &refused, &reset);
	if (c.fd < 0 && reset && !refused)
		finish(&c, EXIT_CLOSED, "reset",
		    "error=\"connection reset during connect\"");
	if (c.fd < 0)
		finish(&c, EXIT_CONNECT, refused ? "connect_refused" :
		    "connect_failed", NULL);
	hold(&c, now() + a.hold);
	c.t_start = now();
	transfer(&c, t0 + a.hold + a.timeout);
	return EXIT_DATA;
}
