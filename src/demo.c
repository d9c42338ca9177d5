/*
 * demo.c - the embedded demo: node B exposes an echo service to node A's
 * peer ID; node A forwards a local port to B.  A client sends a message
 * and 1 MiB of data through A, B and the echo service, half-closes, and
 * checks that every byte came back.  All on one event loop, loopback
 * only, fresh in-memory identities: nothing touches the disk.
 */
#include "demo.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "node.h"

enum {
	DEMO_BULK = 1 << 20,
	DEMO_TIMEOUT_S = 15
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
	if (what & BEV_EVENT_ERROR)
		fprintf(stderr, "demo: client: %s\n",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	d->finished = 1;
	event_base_loopexit(d->base, NULL);
}

/* Build a node from config text; NULL after logging on failure. */
static struct node *
demo_node(struct demo *d, struct resolver *dns, const char *text,
    struct identity *id, const char *name)
{
	char err[512];
	struct config *cfg = config_parse(text, name, err, sizeof(err));
	struct node *n;

	if (cfg == NULL) {
		fprintf(stderr, "demo: %s\n", err);
		identity_free(id);
		return NULL;
	}
	n = node_new(d->base, dns, cfg, id, name[0] == 'A' ? "[A] " : "[B] ");
	if (n != NULL && node_start(n) != 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* Bind the echo service on an ephemeral loopback port. */
static struct evconnlistener *
demo_echo(struct event_base *base, unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct evconnlistener *l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, echo_on_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL)
		return NULL;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return l;
}

/* Print the outcome; returns the exit status. */
static int
demo_report(const struct demo *d, struct node *a, struct node *b)
{
	char ida[PEER_ID_STR_MAX], idb[PEER_ID_STR_MAX];
	const struct node_stats *sa = node_stats(a), *sb = node_stats(b);
	int ok = d->finished && !d->mismatch && d->recv_len == d->sent_len;

	peer_id_to_string(identity_peer_id(node_identity(a)), ida,
	    sizeof(ida));
	peer_id_to_string(identity_peer_id(node_identity(b)), idb,
	    sizeof(idb));
	printf("\npeerlock demo: app -> A (forward) => B (expose) -> echo, "
	    "all on loopback\n\n");
	printf("  A peer id        %s\n", ida);
	printf("  B peer id        %s\n", idb);
	printf("  negotiated       %s (A) / %s (B)\n",
	    sa->last_proto[0] ? sa->last_proto : "-",
	    sb->last_proto[0] ? sb->last_proto : "-");
	printf("  app sent         %zu bytes\n", d->sent_len);
	printf("  app received     %zu bytes, %s\n", d->recv_len,
	    ok ? "identical" : "DIFFERENT");
	printf("  A relayed        up %llu / down %llu plaintext bytes\n",
	    sa->bytes_up, sa->bytes_down);
	printf("  B relayed        up %llu / down %llu plaintext bytes\n",
	    sb->bytes_up, sb->bytes_down);
	printf("\n%s\n", ok ? "demo: OK" : "demo: FAILED");
	return ok ? 0 : 1;
}

/* Build two nodes in front of an echo service and push data through. */
int
demo_run(void)
{
	struct demo d;
	struct resolver *dns = NULL;
	struct evconnlistener *echo = NULL;
	struct node *a = NULL, *b = NULL;
	struct identity *ida, *idb;
	struct sockaddr_in sin;
	struct timeval tv = { DEMO_TIMEOUT_S, 0 };
	char text[2048], pa[PEER_ID_STR_MAX], pb[PEER_ID_STR_MAX];
	unsigned echo_port = 0;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	dns = resolver_new(d.base, 1, RESOLVE_QUEUE_MAX);
	ida = identity_generate(KEY_ED25519);
	idb = identity_generate(KEY_ED25519);
	echo = demo_echo(d.base, &echo_port);
	if (ida == NULL || idb == NULL || echo == NULL) {
		fprintf(stderr, "demo: setup failed\n");
		identity_free(ida);
		identity_free(idb);
		goto out;
	}
	peer_id_to_string(identity_peer_id(ida), pa, sizeof(pa));
	peer_id_to_string(identity_peer_id(idb), pb, sizeof(pb));
	snprintf(text, sizeof(text),
	    "[peerlock]\nidentity = (in memory)\n"
	    "listen = /ip4/127.0.0.1/tcp/0\nsecurity = noise\n"
	    "[expose.echo]\npeers = %s\ntarget = 127.0.0.1:%u\n", pa,
	    echo_port);
	if ((b = demo_node(&d, dns, text, idb, "B (embedded)")) == NULL) {
		identity_free(ida);
		goto out;
	}
	snprintf(text, sizeof(text),
	    "[peerlock]\nidentity = (in memory)\nsecurity = noise\n"
	    "[forward.echo]\nlisten = 127.0.0.1:0\n"
	    "peer = /ip4/127.0.0.1/tcp/%u/p2p/%s\n", node_listen_port(b), pb);
	if ((a = demo_node(&d, dns, text, ida, "A (embedded)")) == NULL)
		goto out;

	d.sent_len = sizeof(DEMO_HELLO) - 1 + DEMO_BULK;
	d.sent = malloc(d.sent_len);
	memcpy(d.sent, DEMO_HELLO, sizeof(DEMO_HELLO) - 1);
	randombytes_buf(d.sent + sizeof(DEMO_HELLO) - 1, DEMO_BULK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)node_forward_port(a, 0));
	d.client = bufferevent_socket_new(d.base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(d.client, client_on_read, client_on_write,
	    client_on_event, &d);
	bufferevent_enable(d.client, EV_READ | EV_WRITE);
	bufferevent_socket_connect(d.client, (struct sockaddr *)&sin,
	    sizeof(sin));
	event_base_loopexit(d.base, &tv);
	event_base_dispatch(d.base);
	bufferevent_free(d.client);
	/* Let both nodes log their close lines. */
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	event_base_loopexit(d.base, &tv);
	event_base_dispatch(d.base);
	rc = demo_report(&d, a, b);
out:
	node_free(a);
	node_free(b);
	if (echo != NULL)
		evconnlistener_free(echo);
	resolver_free(dns);
	event_base_free(d.base);
	free(d.sent);
	return rc;
}
