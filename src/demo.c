/*
 * demo.c - the embedded demo: node B exposes an echo service to node A's
 * peer ID; node A forwards a local port to B.  A client sends a message
 * and 1 MiB of data through A, B and the echo service, half-closes, and
 * checks that every byte came back.  A tap between A and B records what
 * crosses the wire, to show it is ciphertext; a third node C, whose peer
 * ID B does not list, is refused.  Both configs are printed first.  All
 * on one event loop, loopback only, fresh in-memory identities: nothing
 * touches the disk.
 */
#include "demo.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "resolve.h"

enum {
	DEMO_BULK = 1 << 20,
	DEMO_TIMEOUT_S = 15,
	DEMO_WIRE_MAX = 64 * 1024,	/* bytes of A -> B the tap keeps */
	DEMO_HEX = 24			/* bytes shown per hex line */
};

#define DEMO_HELLO "hello from a legacy app, through two peerlocks\n"

struct demo {
	struct event_base *base;
	uint8_t *sent;
	size_t sent_len;
	size_t recv_len;
	int mismatch;
	int finished;
	struct bufferevent *client;
	struct evbuffer *wire;		/* A -> B as the tap saw it */
	unsigned long long wire_total;	/* bytes A -> B in all */
	unsigned b_port;		/* where the tap connects */
	bool refusal_expected;		/* C's client: a reset is the point */
};

/* One connection through the tap: A's side and B's side. */
struct tap {
	struct demo *d;
	struct bufferevent *side[2];	/* 0: from A, 1: to B */
	bool eof[2];			/* side i sent FIN */
	bool shut[2];			/* side i was shut for writing */
};

/* Echo service: copy input to output; close after EOF and flush. */
static void
echo_on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

/* Echo service: on EOF shut our side once everything is written. */
static void
echo_on_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (!(bufferevent_get_enabled(bev) & EV_READ) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* Echo service: EOF or error. */
static void
echo_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if ((what & BEV_EVENT_EOF) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	bufferevent_free(bev);
}

/* Echo service: accept. */
static void
echo_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;

	(void)sa;
	(void)salen;
	(void)arg;
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, echo_on_read, echo_on_write, echo_on_event,
	    NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Client: compare what comes back with what was sent. */
static void
client_on_read(struct bufferevent *bev, void *arg)
{
	struct demo *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[16384];
	int n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (d->recv_len + (size_t)n > d->sent_len ||
		    memcmp(buf, d->sent + d->recv_len, (size_t)n) != 0)
			d->mismatch = 1;
		d->recv_len += (size_t)n;
	}
}

/* Client: all sent; half-close so the echo service finishes too. */
static void
client_on_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		shutdown(bufferevent_getfd(bev), SHUT_WR);
}

/* Client: connected, EOF (done) or error. */
static void
client_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct demo *d = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_write(bev, d->sent, d->sent_len);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && !d->refusal_expected)
		fprintf(stderr, "demo: client: %s\n",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	d->finished = 1;
	event_base_loopexit(d->base, NULL);
}

/* Tap: free both sides once both directions ended. */
static void
tap_maybe_free(struct tap *t)
{
	if (!(t->shut[0] && t->shut[1]))
		return;
	bufferevent_free(t->side[0]);
	bufferevent_free(t->side[1]);
	free(t);
}

/* Tap: side i's FIN goes on once its bytes are written to the other. */
static void
tap_pass_fin(struct tap *t, int i)
{
	struct bufferevent *o = t->side[1 - i];

	if (!t->eof[i] || t->shut[1 - i] ||
	    evbuffer_get_length(bufferevent_get_output(o)) > 0)
		return;
	shutdown(bufferevent_getfd(o), SHUT_WR);
	t->shut[1 - i] = true;
	tap_maybe_free(t);
}

/* Tap: copy what one side sent to the other; keep A -> B's bytes. */
static void
tap_on_read(struct bufferevent *bev, void *arg)
{
	struct tap *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int i = bev == t->side[0] ? 0 : 1;
	size_t n = evbuffer_get_length(in), room, take;

	if (i == 0) {
		t->d->wire_total += n;
		room = DEMO_WIRE_MAX - evbuffer_get_length(t->d->wire);
		if (room > 0 && n > 0) {
			take = n < room ? n : room;
			evbuffer_add(t->d->wire, evbuffer_pullup(in,
			    (ev_ssize_t)take), take);
		}
	}
	bufferevent_write_buffer(t->side[1 - i], in);
}

/* Tap: output drained; a pending FIN may go now. */
static void
tap_on_write(struct bufferevent *bev, void *arg)
{
	struct tap *t = arg;

	tap_pass_fin(t, bev == t->side[0] ? 1 : 0);
}

/* Tap: connected to B, EOF or error on one side. */
static void
tap_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct tap *t = arg;
	int i = bev == t->side[0] ? 0 : 1;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		t->eof[i] = true;
		bufferevent_disable(bev, EV_READ);
		tap_pass_fin(t, i);
		return;
	}
	t->shut[0] = t->shut[1] = true;	/* an error: drop both */
	tap_maybe_free(t);
}

/* Tap: A connected; connect on to B. */
static void
tap_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct demo *d = arg;
	struct event_base *base = evconnlistener_get_base(l);
	struct sockaddr_in sin;
	struct tap *t = calloc(1, sizeof(*t));
	int i;

	(void)sa;
	(void)salen;
	if (t == NULL) {
		evutil_closesocket(fd);
		return;
	}
	t->d = d;
	t->side[0] = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	t->side[1] = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	for (i = 0; i < 2; i++) {
		bufferevent_setcb(t->side[i], tap_on_read, tap_on_write,
		    tap_on_event, t);
		bufferevent_enable(t->side[i], EV_READ | EV_WRITE);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)d->b_port);
	bufferevent_socket_connect(t->side[1], (struct sockaddr *)&sin,
	    sizeof(sin));
}

/* Build a node from config text; NULL after logging on failure. */
static struct node *
demo_node(struct demo *d, struct resolver *dns, const char *text,
    struct identity *id, const char *name, const char *prefix)
{
	char err[512];
	struct config *cfg = config_parse(text, name, err, sizeof(err));
	struct node *n;

	if (cfg == NULL) {
		fprintf(stderr, "demo: %s\n", err);
		identity_free(id);
		return NULL;
	}
	n = node_new(d->base, dns, cfg, id, prefix);
	if (n != NULL && node_start(n) != 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* Listen on an ephemeral loopback port with accept callback cb. */
static struct evconnlistener *
demo_listen(struct event_base *base, evconnlistener_cb cb, void *arg,
    unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct evconnlistener *l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, cb, arg,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL)
		return NULL;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return l;
}

/* Print one config, indented, under a title. */
static void
demo_print_conf(const char *title, const char *text)
{
	const char *p = text, *nl;

	printf("--- %s\n", title);
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		printf("    %.*s\n", (int)(nl - p), p);
		if (*nl == '\0')
			break;
	}
}

/* Hex and ASCII of len bytes at off of the captured wire. */
static void
demo_hex(const struct demo *d, size_t off, size_t len)
{
	const uint8_t *w = evbuffer_pullup(d->wire, -1);
	size_t n = evbuffer_get_length(d->wire), i;

	if (off >= n)
		return;
	if (len > n - off)
		len = n - off;
	printf("    %6zu  ", off);
	for (i = 0; i < DEMO_HEX; i++)
		printf(i < len ? "%02x " : "   ", i < len ? w[off + i] : 0);
	printf(" ");
	for (i = 0; i < len; i++)
		putchar(w[off + i] >= 0x20 && w[off + i] < 0x7f ? w[off + i] :
		    '.');
	printf("\n");
}

/* How often needle (nlen bytes) occurs in the captured wire. */
static unsigned
demo_wire_count(const struct demo *d, const void *needle, size_t nlen)
{
	const uint8_t *w = evbuffer_pullup(d->wire, -1), *p;
	size_t n = evbuffer_get_length(d->wire);
	unsigned k = 0;

	while (n >= nlen && (p = memmem(w, n, needle, nlen)) != NULL) {
		k++;
		n -= (size_t)(p - w) + 1;
		w = p + 1;
	}
	return k;
}

/* Print the outcome; returns the exit status. */
static int
demo_report(const struct demo *d, const struct demo *dc, struct node *a,
    struct node *b)
{
	const struct node_stats *sa = node_stats(a), *sb = node_stats(b);
	int ok = d->finished && !d->mismatch && d->recv_len == d->sent_len;
	unsigned clear = demo_wire_count(d, DEMO_HELLO, sizeof(DEMO_HELLO) - 2);
	unsigned long long refused = sb->closed[CONN_R_NOT_ALLOWED];
	int refused_ok = refused == 1 && dc->finished && dc->recv_len == 0;

	printf("\n--- what happened\n");
	printf("  app -> A -> B -> echo   %zu bytes sent, %zu came back, %s\n",
	    d->sent_len, d->recv_len, ok ? "identical" : "DIFFERENT");
	printf("  negotiated              %s (A) / %s (B), peer IDs verified "
	    "both ways\n", sa->last_proto[0] ? sa->last_proto : "-",
	    sb->last_proto[0] ? sb->last_proto : "-");
	printf("  on the wire A -> B      %llu bytes; the tap kept the first "
	    "%zu:\n", d->wire_total, evbuffer_get_length(d->wire));
	demo_hex(d, 0, DEMO_HEX);
	demo_hex(d, DEMO_HEX, DEMO_HEX);
	printf("    ...     multistream-select in clear, then the Noise "
	    "handshake; and later:\n");
	demo_hex(d, 4096, DEMO_HEX);
	printf("  the app's text on the wire  %s (\"%.22s...\" found %u "
	    "times)\n", clear == 0 ? "no" : "YES", DEMO_HELLO, clear);
	printf("  peer C, not in B's peers    %s: B closed %llu connection(s) "
	    "as not_allowed, C's app got %zu bytes\n",
	    refused_ok ? "refused" : "NOT REFUSED", refused, dc->recv_len);
	ok = ok && clear == 0 && refused_ok;
	printf("\n%s\n", ok ? "demo: OK" : "demo: FAILED");
	return ok ? 0 : 1;
}

/* Connect a client of d to 127.0.0.1:port and run until it is done. */
static void
demo_client(struct demo *d, unsigned port)
{
	struct sockaddr_in sin;
	struct timeval tv = { DEMO_TIMEOUT_S, 0 };

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	d->client = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(d->client, client_on_read, client_on_write,
	    client_on_event, d);
	bufferevent_enable(d->client, EV_READ | EV_WRITE);
	bufferevent_socket_connect(d->client, (struct sockaddr *)&sin,
	    sizeof(sin));
	event_base_loopexit(d->base, &tv);
	event_base_dispatch(d->base);
	bufferevent_free(d->client);
	d->client = NULL;
}

/* Run the event loop for ms milliseconds (close lines get logged). */
static void
demo_settle(struct event_base *base, unsigned ms)
{
	struct timeval tv = { 0, (suseconds_t)ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Build three nodes, a tap and an echo service; push data through. */
int
demo_run(void)
{
	static const char who[] = "who am I?\n";
	struct demo d, dc;
	struct resolver *dns = NULL;
	struct evconnlistener *echo = NULL, *tap = NULL;
	struct node *a = NULL, *b = NULL, *c = NULL;
	struct identity *ida, *idb, *idc;
	char tb[1024], ta[1024], tc[1024];
	char pa[PEER_ID_STR_MAX], pb[PEER_ID_STR_MAX], pc[PEER_ID_STR_MAX];
	unsigned echo_port = 0, tap_port = 0;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	memset(&dc, 0, sizeof(dc));
	signal(SIGPIPE, SIG_IGN);
	d.base = dc.base = event_base_new();
	d.wire = evbuffer_new();
	dns = resolver_new(d.base, 1, RESOLVE_QUEUE_MAX);
	ida = identity_generate(KEY_ED25519);
	idb = identity_generate(KEY_ED25519);
	idc = identity_generate(KEY_ED25519);
	echo = demo_listen(d.base, echo_on_accept, NULL, &echo_port);
	tap = demo_listen(d.base, tap_on_accept, &d, &tap_port);
	if (ida == NULL || idb == NULL || idc == NULL || echo == NULL ||
	    tap == NULL || d.wire == NULL) {
		fprintf(stderr, "demo: setup failed\n");
		identity_free(ida);
		identity_free(idb);
		identity_free(idc);
		goto out;
	}
	peer_id_to_string(identity_peer_id(ida), pa, sizeof(pa));
	peer_id_to_string(identity_peer_id(idb), pb, sizeof(pb));
	peer_id_to_string(identity_peer_id(idc), pc, sizeof(pc));
	printf("peerlock demo: an app reaches an echo service through two "
	    "peerlocks, A and B,\non loopback, with fresh in-memory "
	    "identities (logs on stderr).\n\n");
	snprintf(tb, sizeof(tb), "[peerlock]\nidentity = (in memory)\n"
	    "listen = /ip4/127.0.0.1/tcp/0\nsecurity = noise\n"
	    "[expose.echo]\npeers = %s\ntarget = 127.0.0.1:%u\n", pa,
	    echo_port);
	if ((b = demo_node(&d, dns, tb, idb, "B", "[B] ")) == NULL) {
		identity_free(ida);
		identity_free(idc);
		goto out;
	}
	d.b_port = node_listen_port(b);
	snprintf(ta, sizeof(ta), "[peerlock]\nidentity = (in memory)\n"
	    "security = noise\n[forward.echo]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\n", tap_port, pb);
	snprintf(tc, sizeof(tc), "[peerlock]\nidentity = (in memory)\n"
	    "[forward.echo]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\n", d.b_port, pb);
	demo_print_conf("B exposes the echo service to A's peer ID only "
	    "(B's peer id below)", tb);
	printf("    ; B = %s, bound to port %u\n\n", pb, d.b_port);
	demo_print_conf("A forwards a local port to B, which must prove its "
	    "peer ID", ta);
	printf("    ; A = %s; port %u is a tap in front of B's %u that\n"
	    "    ; records the bytes on the wire\n\n", pa, tap_port,
	    d.b_port);
	demo_print_conf("C tries the same, but B does not list C", tc);
	printf("    ; C = %s\n\n", pc);
	fflush(stdout);
	if ((a = demo_node(&d, dns, ta, ida, "A", "[A] ")) == NULL) {
		identity_free(idc);
		goto out;
	}
	if ((c = demo_node(&d, dns, tc, idc, "C", "[C] ")) == NULL)
		goto out;

	d.sent_len = sizeof(DEMO_HELLO) - 1 + DEMO_BULK;
	d.sent = malloc(d.sent_len);
	memcpy(d.sent, DEMO_HELLO, sizeof(DEMO_HELLO) - 1);
	randombytes_buf(d.sent + sizeof(DEMO_HELLO) - 1, DEMO_BULK);
	demo_client(&d, node_forward_port(a, 0));
	dc.refusal_expected = true;
	dc.sent = (uint8_t *)who;
	dc.sent_len = sizeof(who) - 1;
	demo_client(&dc, node_forward_port(c, 0));
	demo_settle(d.base, 200);
	fflush(stderr);
	rc = demo_report(&d, &dc, a, b);
out:
	node_free(a);
	node_free(b);
	node_free(c);
	if (echo != NULL)
		evconnlistener_free(echo);
	if (tap != NULL)
		evconnlistener_free(tap);
	resolver_free(dns);
	if (d.wire != NULL)
		evbuffer_free(d.wire);
	event_base_free(d.base);
	free(d.sent);
	return rc;
}
