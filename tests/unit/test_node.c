/*
 * test_node.c - node mode in one process: two nodes (A forwards, B
 * exposes) on one event base, an echo target and the apps as
 * bufferevents of the same loop.  Sessions and streams are driven
 * deterministically, without other processes, and are inspected
 * through the session and conn accessors (the end-to-end suites
 * node*.sh cover the same ground from outside).
 */
#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "peerid.h"
#include "resolve.h"
#include "session.h"

enum { MAX_APPS = 64 };

static struct event_base *base;
static struct resolver *dns;
static struct node *A, *B;
static char id_a[PEER_ID_STR_MAX], id_b[PEER_ID_STR_MAX];

/* ---- the target: echoes, and ends its direction after the app's ---- */

static struct evconnlistener *echo_l;
static unsigned echo_port, echo_accepted;

static void
echo_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void
echo_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_free(bev);	/* EOF seen, all echoed: close */
}

static void
echo_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & BEV_EVENT_EOF) {
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			bufferevent_free(bev);
		return;
	}
	bufferevent_free(bev);
}

static void
echo_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent *bev;

	(void)l;
	(void)sa;
	(void)len;
	(void)arg;
	echo_accepted++;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(bev);
	bufferevent_setcb(bev, echo_read, echo_written, echo_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* A port nothing listens on (bound, then closed). */
static unsigned
dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- apps: send a pattern, read the echo back, compare ---- */

struct app {
	struct bufferevent *bev;
	size_t len;		/* bytes to send */
	size_t got;		/* bytes echoed back and checked */
	bool half_close;	/* shutdown(SHUT_WR) after sending */
	bool sent, eof, error, bad;
	int err;		/* errno of the error */
};

static uint8_t
pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13);
}

static void
app_read(struct bufferevent *bev, void *arg)
{
	struct app *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[4096];
	size_t n, i;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 &&
	    n <= sizeof(buf)) {
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(a->got + i))
				a->bad = true;
		a->got += n;
	}
}

static void
app_written(struct bufferevent *bev, void *arg)
{
	struct app *a = arg;

	if (a->sent && a->half_close)
		shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
app_event(struct bufferevent *bev, short what, void *arg)
{
	struct app *a = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF)
		a->eof = true;
	else {
		a->error = true;
		a->err = EVUTIL_SOCKET_ERROR();
	}
}

/* Connect app a to the forward port and queue its pattern. */
static void
app_start(struct app *a, unsigned port, size_t len, bool half_close)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct evbuffer *out;
	size_t i;
	uint8_t b;

	memset(a, 0, sizeof(*a));
	a->len = len;
	a->half_close = half_close;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(a->bev);
	bufferevent_setcb(a->bev, app_read, app_written, app_event, a);
	ck_assert_int_eq(bufferevent_socket_connect(a->bev,
	    (struct sockaddr *)&sa, sizeof(sa)), 0);
	out = bufferevent_get_output(a->bev);
	for (i = 0; i < len; i++) {
		b = pattern(i);
		evbuffer_add(out, &b, 1);
	}
	a->sent = true;
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
}

static void
app_free(struct app *a)
{
	if (a->bev != NULL)
		bufferevent_free(a->bev);
	a->bev = NULL;
}

/* ---- the loop ---- */

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until cond(arg) holds or secs pass; returns cond. */
static bool
run_until(bool (*cond)(void *), void *arg, double secs)
{
	struct timeval tv = { 0, 20000 };
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	unsigned i, n = (unsigned)(secs * 50);
	bool ok = false;

	event_add(t, &tv);
	for (i = 0; i < n && !(ok = cond(arg)); i++)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ok;
}

struct apps {
	struct app *a;
	size_t n;
};

/* Every app saw its whole echo and then the end of the stream. */
static bool
apps_done(void *arg)
{
	struct apps *s = arg;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!(s->a[i].eof || s->a[i].error) ||
		    (s->a[i].got < s->a[i].len && !s->a[i].error))
			return false;
	return true;
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

static bool
app_echoed(void *arg)
{
	struct app *a = arg;

	return a->got == a->len;
}

static bool
app_ended(void *arg)
{
	struct app *a = arg;

	return a->eof || a->error;
}

/* Sessions carried by n's connections. */
static unsigned
sessions(const struct node *n)
{
	struct conn *c;
	unsigned k = 0;

	for (c = node_conn_first(n); c != NULL; c = conn_next(c))
		if (conn_session(c) != NULL)
			k++;
	return k;
}

/* Tunnel streams (not identify or ping) on n's sessions. */
static unsigned
streams(const struct node *n)
{
	struct stream_totals t;
	struct stream *st;
	struct conn *c;
	unsigned k = 0;

	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		if (conn_session(c) == NULL)
			continue;
		for (st = session_stream_first(conn_session(c)); st != NULL;
		    st = session_stream_next(st)) {
			stream_totals(st, &t);
			if (t.route != NULL && strncmp(t.route, "forward.",
			    8) == 0)
				k++;
		}
	}
	return k;
}

static bool
no_streams(void *arg)
{
	(void)arg;
	return streams(A) == 0;
}

static bool
a_no_sessions(void *arg)
{
	(void)arg;
	return sessions(A) == 0;
}

/* ---- fixture: B exposes echo and dead, A forwards echo, dead, nope ---- */

enum { FW_ECHO, FW_DEAD, FW_NOPE };

static struct node *
make_node(const char *text, struct identity *id)
{
	char err[512];
	struct config *cfg = config_parse(text, "test.conf", err, sizeof(err));
	struct node *n;

	ck_assert_msg(cfg != NULL, "%s", err);
	n = node_new(base, dns, cfg, id, "");
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(node_start(n), 0);
	return n;
}

static void
setup(void)
{
	struct identity *ia = identity_generate(KEY_ED25519);
	struct identity *ib = identity_generate(KEY_ED25519);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char text[4096];

	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	dns = resolver_new(base, 1, 16);
	ck_assert_ptr_nonnull(dns);
	ck_assert_ptr_nonnull(ia);
	ck_assert_ptr_nonnull(ib);
	peer_id_to_string(identity_peer_id(ia), id_a, sizeof(id_a));
	peer_id_to_string(identity_peer_id(ib), id_b, sizeof(id_b));

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	echo_l = evconnlistener_new_bind(base, echo_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sa, sizeof(sa));
	ck_assert_ptr_nonnull(echo_l);
	ck_assert_int_eq(getsockname(evconnlistener_get_fd(echo_l),
	    (struct sockaddr *)&sa, &sl), 0);
	echo_port = ntohs(sa.sin_port);
	echo_accepted = 0;

	snprintf(text, sizeof(text),
	    "[peerlock]\nidentity = /nonexistent/b.key\n"
	    "listen = /ip4/127.0.0.1/tcp/0\nsecurity = noise\n"
	    "[expose.echo]\npeers = %s\nprotocol = /x/echo\n"
	    "target = 127.0.0.1:%u\n"
	    "[expose.dead]\npeers = %s\nprotocol = /x/dead\n"
	    "target = 127.0.0.1:%u\n", id_a, echo_port, id_a, dead_port());
	B = make_node(text, ib);
	snprintf(text, sizeof(text),
	    "[peerlock]\nidentity = /nonexistent/a.key\nsecurity = noise\n"
	    "[forward.echo]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\nprotocol = /x/echo\n"
	    "[forward.dead]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\nprotocol = /x/dead\n"
	    "[forward.nope]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\nprotocol = /x/nope\n",
	    node_listen_port(B), id_b, node_listen_port(B), id_b,
	    node_listen_port(B), id_b);
	A = make_node(text, ia);
}

static void
teardown(void)
{
	if (A != NULL)
		node_free(A);
	if (B != NULL)
		node_free(B);
	A = B = NULL;
	/* let the closes run */
	event_base_loop(base, EVLOOP_NONBLOCK);
	evconnlistener_free(echo_l);
	resolver_free(dns);
	event_base_free(base);
}

/* One app through A's forward; returns the bytes echoed. */
static size_t
one_app(int fw, size_t len, bool half_close, struct app *a)
{
	struct apps s = { a, 1 };

	app_start(a, node_forward_port(A, (size_t)fw), len, half_close);
	ck_assert(run_until(apps_done, &s, 20));
	return a->got;
}

START_TEST(test_streams_share_one_session)
{
	struct app a;
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(one_app(FW_ECHO, 300000, true, &a), 300000);
		ck_assert(!a.bad);
		ck_assert(a.eof);
		app_free(&a);
	}
	ck_assert_uint_eq(sessions(A), 1);
	ck_assert_uint_eq(sessions(B), 1);
	ck_assert_uint_eq(echo_accepted, 3);
	ck_assert(run_until(no_streams, NULL, 5));
	/* the session outlives its streams */
	ck_assert_uint_eq(sessions(A), 1);
}
END_TEST

START_TEST(test_concurrent_streams)
{
	static struct app a[MAX_APPS];
	struct apps s = { a, MAX_APPS };
	size_t i;

	for (i = 0; i < MAX_APPS; i++)
		app_start(&a[i], node_forward_port(A, FW_ECHO),
		    4096 + i * 1000, true);
	ck_assert(run_until(apps_done, &s, 30));
	for (i = 0; i < MAX_APPS; i++) {
		ck_assert_msg(!a[i].bad && !a[i].error && a[i].got ==
		    a[i].len, "app %zu: got %zu of %zu bad=%d error=%d (%s)",
		    i, a[i].got, a[i].len, a[i].bad, a[i].error,
		    a[i].error ? strerror(a[i].err) : "");
		app_free(&a[i]);
	}
	ck_assert_uint_eq(sessions(A), 1);
	ck_assert_uint_eq(echo_accepted, MAX_APPS);
}
END_TEST

/*
 * An unknown protocol and a dead target each end only their own stream:
 * the app sees the end with no data, the session stays, and the next
 * tunnel uses it.
 */
START_TEST(test_refusals_end_one_stream)
{
	unsigned long long refused0 =
	    node_stats(A)->closed[CONN_R_PROTOCOL_REFUSED];
	unsigned long long dead0 = node_stats(B)->closed[CONN_R_TARGET_FAILED];
	struct app a;

	ck_assert_uint_eq(one_app(FW_ECHO, 1000, true, &a), 1000);
	app_free(&a);
	ck_assert_uint_eq(one_app(FW_NOPE, 1000, false, &a), 0);
	app_free(&a);
	ck_assert_uint_eq(node_stats(A)->closed[CONN_R_PROTOCOL_REFUSED],
	    refused0 + 1);
	ck_assert_uint_eq(one_app(FW_DEAD, 1000, false, &a), 0);
	app_free(&a);
	ck_assert_uint_eq(node_stats(B)->closed[CONN_R_TARGET_FAILED], dead0 + 1);
	ck_assert_uint_eq(sessions(A), 1);
	ck_assert_uint_eq(one_app(FW_ECHO, 70000, true, &a), 70000);
	ck_assert(!a.bad);
	app_free(&a);
	ck_assert_uint_eq(sessions(A), 1);
}
END_TEST

/*
 * Half-close: the app ends its direction first and still reads the
 * whole echo, which the target sends after the FIN reached it.
 */
START_TEST(test_half_close)
{
	struct app a;

	ck_assert_uint_eq(one_app(FW_ECHO, 1 << 20, true, &a), 1 << 20);
	ck_assert(!a.bad);
	ck_assert(a.eof && !a.error);
	app_free(&a);
}
END_TEST

/*
 * The remote node goes away with a stream open: A's session closes,
 * the stream's app sees the end, and a new app connection dials a new
 * session once B is back.
 */
START_TEST(test_remote_gone)
{
	struct node_peer_status ps;
	unsigned long long cf0;
	struct app a, b;
	time_t t0;

	/* an open stream: no half-close, the echo target waits */
	app_start(&a, node_forward_port(A, FW_ECHO), 1000, false);
	ck_assert(run_until(app_echoed, &a, 10));
	ck_assert_uint_eq(sessions(A), 1);
	ck_assert_uint_eq(streams(A), 1);
	node_free(B);
	B = NULL;
	ck_assert(run_until(app_ended, &a, 10));
	ck_assert(run_until(a_no_sessions, NULL, 10));
	app_free(&a);
	/* nothing listens on B's port now: the app is closed, A stays up */
	cf0 = node_stats(A)->closed[CONN_R_CONNECT_FAILED];
	app_start(&b, node_forward_port(A, FW_ECHO), 10, false);
	ck_assert(run_until(app_ended, &b, 10));
	ck_assert_uint_eq(b.got, 0);
	app_free(&b);
	ck_assert_uint_eq(sessions(A), 0);
	/* the dial and the app's stream: two connect_failed closes */
	ck_assert_uint_eq(node_stats(A)->closed[CONN_R_CONNECT_FAILED],
	    cf0 + 2);
	ck_assert(node_peer_status(A, FW_ECHO, &ps));
	ck_assert_int_eq(ps.state, NODE_PEER_DOWN);
	ck_assert_msg(strstr(ps.last_error, "connect_failed") != NULL, "%s",
	    ps.last_error);
	/* backing off: the next app is refused without a dial (one close) */
	app_start(&b, node_forward_port(A, FW_ECHO), 10, false);
	ck_assert(run_until(app_ended, &b, 10));
	app_free(&b);
	ck_assert_uint_eq(node_stats(A)->closed[CONN_R_CONNECT_FAILED],
	    cf0 + 3);
	/* after the backoff (0.5 s) the forward dials again */
	t0 = time(NULL);
	ck_assert(!run_until(never, NULL, 0.7));
	ck_assert_int_le(time(NULL) - t0, 2);
	app_start(&b, node_forward_port(A, FW_ECHO), 10, false);
	ck_assert(run_until(app_ended, &b, 10));
	app_free(&b);
	ck_assert_uint_eq(node_stats(A)->closed[CONN_R_CONNECT_FAILED],
	    cf0 + 5);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("in-process");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_streams_share_one_session);
	tcase_add_test(tc, test_concurrent_streams);
	tcase_add_test(tc, test_refusals_end_one_stream);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_remote_gone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(node_suite());
	int failed;

	log_set_level(getenv("TEST_NODE_LOG") != NULL ? LOG_DEBUG : LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
