/*
 * echod.c - test server for the end-to-end scripts (libevent only).
 *
 * usage: echod [--mode echo|sink|slow|source] [--port N] [--port-file FILE]
 *              [--count-file FILE] [--slow-rate BYTES_PER_SEC]
 *
 * Listens on 127.0.0.1:N (0, the default, picks a free port; the chosen
 * port is written to --port-file, atomically via a temporary file and
 * rename).  Runs until SIGTERM or SIGINT.
 *
 *   echo  sends back everything it reads.  Backpressure: reading stops
 *         while more than ECHO_HIGH bytes wait to be sent and resumes
 *         below ECHO_LOW, so memory per connection stays bounded.  On the
 *         client's EOF it sends what is pending, then shutdown(SHUT_WR),
 *         then closes (both directions are done by then).
 *   sink  reads and discards, counting bytes; on EOF it half-closes and
 *         closes.
 *   slow  like sink, but reads at most --slow-rate bytes per second
 *         (default 16384) through a libevent rate limit, with a small
 *         socket receive buffer so the sender feels it quickly.
 *   source  sends bytes without end (ECHO_LOW at a time, refilled when
 *         its output drains to the low mark) and discards what it reads:
 *         a target that talks faster than anyone reads it.
 *
 * --count-file FILE is rewritten (atomically) after every accepted
 * connection with the total number of connections accepted so far.
 * One line per closed connection goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define IO_CHUNK (64 * 1024)		/* largest single read/write */
#define ECHO_HIGH (256 * 1024)		/* stop reading above this */
#define ECHO_LOW (64 * 1024)		/* resume reading below this */
#define SLOW_RCVBUF (16 * 1024)		/* receive buffer in slow mode */
#define SLOW_RATE_DEFAULT 16384

enum mode { MODE_ECHO, MODE_SINK, MODE_SLOW, MODE_SOURCE };

struct conn;

struct server {
	struct event_base *base;
	struct evconnlistener *lis;
	struct event *ev_term, *ev_int, *ev_resume;
	struct ev_token_bucket_cfg *rate;
	enum mode mode;
	const char *count_file;
	unsigned long accepted;
	struct conn *conns;		/* open connections */
};

struct conn {
	struct server *srv;
	struct bufferevent *bev;
	unsigned long id;
	uint64_t bytes_in, bytes_out;
	int eof;			/* client finished sending */
	struct conn *prev, *next;
};

/* Write text to path atomically: temporary file, then rename. */
static int
write_file_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;
	int bad;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		goto fail;
	bad = fputs(text, f) == EOF;
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "echod: cannot write %s: %s\n", path,
	    strerror(errno));
	return -1;
}

/* Close one connection: the only place a connection ends. */
static void
conn_free(struct conn *c, const char *why)
{
	fprintf(stderr, "echod: conn %lu closed in=%llu out=%llu (%s)\n",
	    c->id, (unsigned long long)c->bytes_in,
	    (unsigned long long)c->bytes_out, why);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

/* Both directions are done: half-close our side, then close. */
static void
conn_finish(struct conn *c)
{
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	conn_free(c, "eof");
}

/* Bytes arrived: echo them, or count and discard them. */
static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t n = evbuffer_get_length(in);

	c->bytes_in += n;
	if (c->srv->mode != MODE_ECHO) {
		evbuffer_drain(in, n);
		return;
	}
	evbuffer_add_buffer(out, in);
	c->bytes_out += n;
	if (evbuffer_get_length(out) >= ECHO_HIGH)
		bufferevent_disable(bev, EV_READ);
}

/* source: queue the next ECHO_LOW bytes of output. */
static void
conn_refill(struct conn *c)
{
	static char chunk[ECHO_LOW];

	if (chunk[0] == 0)
		memset(chunk, 's', sizeof(chunk));
	if (bufferevent_write(c->bev, chunk, sizeof(chunk)) == 0)
		c->bytes_out += sizeof(chunk);
}

/* Output drained to the low mark: resume reading or finish after EOF. */
static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->srv->mode == MODE_SOURCE && !c->eof) {
		conn_refill(c);
		return;
	}
	if (!c->eof) {
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_finish(c);
}

/* EOF or error from the socket. */
static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_ERROR) {
		conn_free(c, strerror(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			conn_finish(c);
			return;
		}
		/* Flush what is pending; the write callback finishes. */
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	}
}

/* A new connection: set it up for the server's mode. */
static void
server_on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;
	char text[32];
	int rcv = SLOW_RCVBUF;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->id = ++srv->accepted;
	if ((c->next = srv->conns) != NULL)
		c->next->prev = c;
	srv->conns = c;
	bufferevent_set_max_single_read(c->bev, IO_CHUNK);
	bufferevent_set_max_single_write(c->bev, IO_CHUNK);
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE, ECHO_LOW, 0);
	if (srv->mode == MODE_SLOW) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		bufferevent_set_rate_limit(c->bev, srv->rate);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (srv->mode == MODE_SOURCE)
		conn_refill(c);
	if (srv->count_file != NULL) {
		snprintf(text, sizeof(text), "%lu\n", srv->accepted);
		write_file_atomic(srv->count_file, text);
	}
}

/* Accept failed: pause for a second when out of descriptors. */
static void
server_on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct server *srv = arg;
	struct timeval one = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	fprintf(stderr, "echod: accept: %s\n", strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		evconnlistener_disable(lis);
		evtimer_add(srv->ev_resume, &one);
	}
}

/* Resume accepting after a pause. */
static void
server_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	evconnlistener_enable(srv->lis);
}

/* SIGTERM/SIGINT: leave the event loop. */
static void
server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	fprintf(stderr, "echod: signal %d, exiting\n", (int)sig);
	event_base_loopbreak(srv->base);
}

/* Print usage and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: echod [--mode echo|sink|slow|source] [--port N] "
	    "[--port-file FILE]\n             [--count-file FILE] "
	    "[--slow-rate BYTES_PER_SEC]\n");
	exit(64);
}

/* Parse a decimal number in [lo, hi] or exit with usage. */
static long
parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* Bind 127.0.0.1:port and report the chosen port. */
static int
server_listen(struct server *srv, int port, const char *port_file)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char text[16];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	srv->lis = evconnlistener_new_bind(srv->base, server_on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&sin, sizeof(sin));
	if (srv->lis == NULL) {
		fprintf(stderr, "echod: bind 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->lis, server_on_accept_error);
	if (getsockname(evconnlistener_get_fd(srv->lis),
	    (struct sockaddr *)&sin, &slen) != 0)
		return -1;
	port = ntohs(sin.sin_port);
	fprintf(stderr, "echod: listening on 127.0.0.1:%d\n", port);
	snprintf(text, sizeof(text), "%d\n", port);
	if (port_file != NULL && write_file_atomic(port_file, text) != 0)
		return -1;
	return 0;
}

/* Command-line settings besides those kept in struct server. */
struct args {
	const char *port_file;
	long port, rate;
};

/* Parse the command line into srv and a. */
static void
parse_args(int argc, char **argv, struct server *srv, struct args *a)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "count-file", required_argument, NULL, 'c' },
		{ "slow-rate", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "echo") == 0)
				srv->mode = MODE_ECHO;
			else if (strcmp(optarg, "sink") == 0)
				srv->mode = MODE_SINK;
			else if (strcmp(optarg, "slow") == 0)
				srv->mode = MODE_SLOW;
			else if (strcmp(optarg, "source") == 0)
				srv->mode = MODE_SOURCE;
			else
				usage();
			break;
		case 'p':
			a->port = parse_num(optarg, 0, 65535);
			break;
		case 'P':
			a->port_file = optarg;
			break;
		case 'c':
			srv->count_file = optarg;
			break;
		case 'r':
			a->rate = parse_num(optarg, 1, EV_RATE_LIMIT_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* Parse arguments, serve until a signal, clean up. */
int
main(int argc, char **argv)
{
	struct args a = { NULL, 0, SLOW_RATE_DEFAULT };
	struct server srv;
	int rc = 1;

	memset(&srv, 0, sizeof(srv));
	parse_args(argc, argv, &srv, &a);
	signal(SIGPIPE, SIG_IGN);
	if ((srv.base = event_base_new()) == NULL)
		return 1;
	srv.rate = ev_token_bucket_cfg_new((size_t)a.rate, (size_t)a.rate,
	    EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX, NULL);
	srv.ev_term = evsignal_new(srv.base, SIGTERM, server_on_signal, &srv);
	srv.ev_int = evsignal_new(srv.base, SIGINT, server_on_signal, &srv);
	srv.ev_resume = evtimer_new(srv.base, server_on_resume, &srv);
	if (srv.rate == NULL || srv.ev_term == NULL || srv.ev_int == NULL ||
	    srv.ev_resume == NULL || evsignal_add(srv.ev_term, NULL) != 0 ||
	    evsignal_add(srv.ev_int, NULL) != 0)
		goto out;
	if (srv.count_file != NULL && write_file_atomic(srv.count_file,
	    "0\n") != 0)
		goto out;
	if (server_listen(&srv, (int)a.port, a.port_file) != 0)
		goto out;
	if (event_base_dispatch(srv.base) == 0 ||
	    event_base_got_break(srv.base))
		rc = 0;
out:
	while (srv.conns != NULL)
		conn_free(srv.conns, "shutdown");
	if (srv.lis != NULL)
		evconnlistener_free(srv.lis);
	if (srv.ev_resume != NULL)
		event_free(srv.ev_resume);
	if (srv.ev_int != NULL)
		event_free(srv.ev_int);
	if (srv.ev_term != NULL)
		event_free(srv.ev_term);
	if (srv.rate != NULL)
		ev_token_bucket_cfg_free(srv.rate);
	event_base_free(srv.base);
	return rc;
}
