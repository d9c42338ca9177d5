/*
 * conn.c - the tunnel: upgrade, then a two-direction pump with
 * backpressure and half-close.
 *
 *   plain (app/target) --read--> seal --> sec output    "up"
 *   sec (remote peer)  --read--> open --> plain output  "down"
 *
 * Backpressure: a pump stops when the partner's output exceeds
 * CONN_OUT_HIGH and disables reading on its source; the partner's write
 * callback (low watermark CONN_OUT_LOW) pumps again and re-enables it.
 * Half-close: EOF on a source is passed on as shutdown(SHUT_WR) on the
 * partner once everything before it has been flushed; the tunnel ends
 * when both directions are done or either side fails.  Over TLS the
 * encrypted side's end of stream is close_notify: a plaintext EOF sends
 * it before the FIN, and a FIN without it is a truncation (error).
 */
#include "conn.h"

#include <stdatomic.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "proxyv2.h"
#include "log.h"
#include "pb.h"
#include "tcpsock.h"
#include "varint.h"
#include "session.h"
#include "resolve.h"
#include "version.h"

/* One direction of the relay. */
struct dir {
	bool fin;		/* TCP FIN read on its source */
	bool eof;		/* its source reached end of stream */
	bool done;		/* EOF passed on: partner shut for writing */
	bool throttled;		/* source reading paused for backpressure */
	uint64_t bytes;		/* plaintext bytes moved */
	size_t rdsz;		/* next read size on its source (ours) */
};

/*
 * One socket of a tunnel.  Each side has its bufferevent, the input
 * mark it reads up to, and, while relaying, our own reader: libevent
 * 2.1's bufferevent reads at most 4 KiB per read(2) (16 syscalls per
 * Noise frame), so we read into the bufferevent's input buffer
 * ourselves.  Functions that act on either socket take a side.
 */
struct side {
	struct bufferevent *bev;
	struct event *rd;	/* our reader while relaying, else NULL */
	struct dir *in;		/* the direction this socket feeds */
	size_t high;		/* input high-water mark */
	bool encrypted;		/* the secure connection, not plaintext */
};

struct conn {
	uint64_t id;
	struct conn_env *env;
	struct conn *prev, *next;	/* env's list of live conns */
	/* inbound, before authentication: env->preauth[pa] */
	struct conn *pa_prev, *pa_next;
	int pa;				/* enum conn_preauth, -1: none */
	bool outbound;			/* forward (we dial) or inbound */
	enum conn_phase phase;
	char route[CONFIG_NAME_MAX + 8];	/* "forward.db" / "expose.db" */
	char from[MULTIADDR_SOCKADDR_MAX];	/* "[v6]:port" */
	struct sockaddr_storage from_sa;
	bool authenticated;
	char peer[PEER_ID_STR_MAX];
	const char *proto;

	struct side plain;		/* app (forward) or target (expose) */
	struct side sec;		/* the encrypted connection */
	struct secchan *sc;
	struct event *timer;		/* one timer, re-armed per phase */

	struct dir up;			/* plain -> sec */
	struct dir down;		/* sec -> plain */
	int rcvlowat;			/* SO_RCVLOWAT set on sec (0: 1) */
	/* the lookup of dial's host while connecting, NULL otherwise */
	struct resolve_req *dns;
	struct bufferevent *dns_bev;	/* what connects once resolved */

	/* copied route data, so a config reload cannot pull it away */
	struct multiaddr dial;		/* remote peer or local target */
	enum sec_proto security[SEC_MAX];
	size_t nsecurity;
	unsigned handshake_ms, connect_ms, idle_ms;

	struct timespec started;
	struct timespec hs_started;	/* entering CONN_HANDSHAKING */
	double hs_secs;			/* handshake duration, -1 before */
	struct conn_gen *gen;		/* its config + credentials */
	bool proxy_v2;			/* expose: PROXY v2 header to target */
	bool no_proto;			/* dialer left after our refusals */
	const char *cls;		/* close class, set by conn_drop */
	const char *detail;		/* close detail, during on_close */
	bool hs_failed;			/* failed during the upgrade */
	/*
	 * Forward: the remote's end of stream (FIN, close_notify, error)
	 * came before any plaintext from it while the app was still open.
	 */
	bool remote_early;
	bool dropped;

	/* node mode */
	bool session_dial;		/* dialing a session, not a tunnel */
	struct session *sess;		/* CONN_SESSION: the session */
	struct conn_pending *pending;	/* app conns waiting for sess */
	size_t npending;
};


/* An app connection waiting for its session (node-mode forward). */
struct conn_pending {
	struct config_forward fw;
	evutil_socket_t fd;
	struct sockaddr_storage from;
	struct timespec since;
};

/* App connections one session dial may hold waiting. */
#define CONN_PENDING_MAX 256

/* Muxer ids a node-mode connection advertises in its handshake. */
static const char *const conn_muxers[] = { SESSION_MUXER };

/* Missing frame bytes worth an SO_RCVLOWAT (fewer wakeups). */
#define CONN_LOWAT_MIN (8 * 1024)
/*
 * Read sizes of our relay reader: from a 4 KiB libevent chain up to a
 * 128 KiB one (two Noise frames); libevent rounds a chain with its
 * header up to a power of two, hence the 128 bytes off.
 */
#define CONN_READ_MIN (4096 - 128)
#define CONN_READ_BIG (128 * 1024 - 128)
/* Plaintext of one TLS record, opened on the stack (see the loop). */
#define CONN_OPEN_TMP 16384

_Static_assert((int)CONFIG_MAX_PEER_IDS <= (int)SECCHAN_EXPECT_MAX,
    "a forward's peer_ids must fit a secchan's accepted set");

/* Shared by every event loop (threads = N): ids stay unique per process. */
static _Atomic uint64_t conn_next_id = 1;

static void conn_on_sec_read(struct bufferevent *, void *);
static void conn_on_sec_write(struct bufferevent *, void *);
static void conn_on_sec_event(struct bufferevent *, short, void *);
static void conn_on_plain_read(struct bufferevent *, void *);
static void conn_on_plain_write(struct bufferevent *, void *);
static void conn_on_plain_event(struct bufferevent *, short, void *);
static void conn_on_timer(evutil_socket_t, short, void *);
static void conn_become_session(struct conn *);
static int conn_pump_up(struct conn *);
static int conn_pump_down(struct conn *);

/* Short label of a close reason. */
const char *
conn_reason_name(enum conn_reason r)
{
	static const char *const names[CONN_R_COUNT] = {
		[CONN_R_DONE] = "done",
		[CONN_R_CONNECT_FAILED] = "connect_failed",
		[CONN_R_TARGET_FAILED] = "target_failed",
		[CONN_R_CONNECT_TIMEOUT] = "connect_timeout",
		[CONN_R_HANDSHAKE_TIMEOUT] = "handshake_timeout",
		[CONN_R_IDLE_TIMEOUT] = "idle_timeout",
		[CONN_R_HANDSHAKE_FAILED] = "handshake_failed",
		[CONN_R_NOT_ALLOWED] = "not_allowed",
		[CONN_R_PROTOCOL] = "protocol_error",
		[CONN_R_IO_ERROR] = "io_error",
		[CONN_R_PEER_CLOSED] = "closed_early",
		[CONN_R_SHUTDOWN] = "shutdown",
		[CONN_R_INTERNAL] = "internal",
		[CONN_R_STREAM_RESET] = "reset",
		[CONN_R_PROTOCOL_REFUSED] = "protocol_refused",
		[CONN_R_NO_SESSION] = "no_session",
		[CONN_R_SESSION_CLOSED] = "session_closed",
		[CONN_R_REMOTE_CLOSED] = "remote_closed_early",
		[CONN_R_REVOKED] = "revoked",
		[CONN_R_DNS_FAILED] = "dns_failed",
		[CONN_R_SHED] = "shed",
	};

	return (unsigned)r < CONN_R_COUNT ? names[r] : "unknown";
}

/* Take a reference to a generation. */
void
conn_gen_hold(struct conn_gen *g)
{
	g->refs++;
}

/* Drop a reference; the last one releases the generation. */
void
conn_gen_drop(struct conn_gen *g)
{
	if (g != NULL && --g->refs == 0 && g->release != NULL)
		g->release(g);
}

/* Seconds from a to b. */
static double
conn_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Connection id. */
uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

/* First live conn of env. */
struct conn *
conn_first(const struct conn_env *env)
{
	return env->head;
}

/* Next live conn. */
struct conn *
conn_next(const struct conn *c)
{
	return c->next;
}

/* Current phase. */
enum conn_phase
conn_phase(const struct conn *c)
{
	return c->phase;
}

/* Render a socket address as "ip:port" ("[ip6]:port", "-" for none). */
void
conn_format_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
	multiaddr_fmt_sockaddr(sa, buf, cap);
}

/* Take c off its pre-authentication list, if it is on one. */
static void
conn_pa_unlink(struct conn *c)
{
	struct conn_list *l;

	if (c->pa < 0)
		return;
	l = &c->env->preauth[c->pa];
	if (c->pa_prev != NULL)
		c->pa_prev->pa_next = c->pa_next;
	else
		l->head = c->pa_next;
	if (c->pa_next != NULL)
		c->pa_next->pa_prev = c->pa_prev;
	else
		l->tail = c->pa_prev;
	l->n--;
	c->pa_prev = c->pa_next = NULL;
	c->pa = -1;
}

/* Put c at the tail (newest end) of pre-authentication list pa. */
static void
conn_pa_link(struct conn *c, enum conn_preauth pa)
{
	struct conn_list *l = &c->env->preauth[pa];

	conn_pa_unlink(c);
	c->pa = (int)pa;
	c->pa_prev = l->tail;
	c->pa_next = NULL;
	if (l->tail != NULL)
		l->tail->pa_next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

/* Arm the phase timer for ms milliseconds (0 disarms). */
static void
conn_arm(struct conn *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms == 0)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, &tv);
}

/* Traffic moved: push the idle timeout back. */
static void
conn_touch(struct conn *c)
{
	if (c->idle_ms != 0)
		conn_arm(c, c->idle_ms);
}

/* Disable Nagle: a sidecar must not add latency to small writes. */
void
conn_bev_nodelay(struct bufferevent *bev)
{
	int one = 1;
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * TCP keepalive on the encrypted socket (tcp_keepalive*), so a peer lost
 * in a partition ends the tunnel even with idle_timeout = 0.
 */
static void
conn_sec_keepalive(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->sec.bev);

	if (fd >= 0 && tcpsock_keepalive(fd, &c->gen->cfg->keepalive) != 0)
		log_debug("%sconn %llu: tcp keepalive: %s", c->env->log_prefix,
		    (unsigned long long)c->id, strerror(errno));
}

/* Allocate the common part of a conn. */
static struct conn *
conn_alloc(struct conn_env *env, bool outbound,
    const struct sockaddr *from)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->id = atomic_fetch_add_explicit(&conn_next_id, 1,
	    memory_order_relaxed);
	c->env = env;
	c->plain.in = &c->up;
	c->plain.high = CONN_PLAIN_IN_HIGH;
	c->sec.in = &c->down;
	c->sec.high = CONN_SEC_IN_HIGH;
	c->sec.encrypted = true;
	c->outbound = outbound;
	c->pa = -1;
	c->proto = "-";
	strcpy(c->peer, "-");
	conn_format_addr(from, c->from, sizeof(c->from));
	if (from != NULL && (from->sa_family == AF_INET ||
	    from->sa_family == AF_INET6))
		memcpy(&c->from_sa, from, from->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->hs_started = c->started;
	c->hs_secs = -1;
	c->handshake_ms = env->gen->cfg->handshake_timeout_ms;
	c->connect_ms = env->gen->cfg->connect_timeout_ms;
	c->idle_ms = env->gen->cfg->idle_timeout_ms;
	c->timer = evtimer_new(env->base, conn_on_timer, c);
	if (c->timer == NULL) {
		free(c);
		return NULL;
	}
	c->gen = env->gen;
	conn_gen_hold(c->gen);
	c->next = env->head;
	if (env->head != NULL)
		env->head->prev = c;
	env->head = c;
	env->count++;
	if (!outbound) {
		env->ninbound++;
		conn_pa_link(c, CONN_PA_SILENT);
	}
	if (env->on_open != NULL)
		env->on_open(env->node, c);
	return c;
}

/*
 * Wrap fd (or a new socket if fd < 0) in side's bufferevent, with our
 * marks and the side's callbacks.  0, or -1 when out of memory.
 */
static int
conn_bev(struct conn *c, struct side *sd, evutil_socket_t fd)
{
	struct bufferevent *bev;

	bev = bufferevent_socket_new(c->env->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if ((sd->bev = bev) == NULL)
		return -1;
	if (sd->encrypted)
		bufferevent_setcb(bev, conn_on_sec_read, conn_on_sec_write,
		    conn_on_sec_event, c);
	else
		bufferevent_setcb(bev, conn_on_plain_read,
		    conn_on_plain_write, conn_on_plain_event, c);
	bufferevent_setwatermark(bev, EV_READ, 0, sd->high);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUT_LOW, 0);
	bufferevent_set_max_single_read(bev, CONN_READ_MAX);
	bufferevent_set_max_single_write(bev, CONN_READ_MAX);
	/* we write ourselves first; see conn_bev_push() */
	bufferevent_disable(bev, EV_WRITE);
	return 0;
}

/* Address family to resolve a multiaddr host with. */
static int
conn_family(const struct multiaddr *ma)
{
	switch (ma->kind) {
	case MA_IP4:
	case MA_DNS4:
		return AF_INET;
	case MA_IP6:
	case MA_DNS6:
		return AF_INET6;
	default:
		return AF_UNSPEC;
	}
}

/*
 * The dial address's name resolved (on the loop, from the resolver's
 * workers): connect, or drop with the resolver's own reason.
 */
static void
conn_on_resolved(int err, const struct sockaddr *sa, socklen_t salen,
    void *arg)
{
	struct conn *c = arg;
	char detail[1024], addr[MULTIADDR_STR_MAX];

	c->dns = NULL;
	if (err != 0) {
		multiaddr_to_string(&c->dial, addr, sizeof(addr));
		snprintf(detail, sizeof(detail), "dns: %s: %s (resolving %s)",
		    c->dial.host, resolve_strerror(err), addr);
		conn_drop(c, CONN_R_DNS_FAILED, detail);
		return;
	}
	if (bufferevent_socket_connect(c->dns_bev, sa, (int)salen) != 0)
		conn_drop(c, c->phase == CONN_TARGETING ?
		    CONN_R_TARGET_FAILED : CONN_R_CONNECT_FAILED,
		    "cannot start connect");
}

/*
 * Start connecting bev to ma: an IP literal at once, a name through the
 * resolver (getaddrinfo, as the system resolves).  0, or -1 when the
 * connect cannot start; a full resolver queue drops the conn here
 * (dns_failed) and returns 1.
 */
static int
conn_connect(struct conn *c, struct bufferevent *bev,
    const struct multiaddr *ma)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char detail[400];

	conn_arm(c, c->connect_ms);
	if (multiaddr_literal(ma, &ss, &len))
		return bufferevent_socket_connect(bev,
		    (struct sockaddr *)&ss, (int)len);
	c->dns_bev = bev;
	c->dns = resolver_lookup(c->env->resolver, ma->host, ma->port,
	    conn_family(ma), conn_on_resolved, c);
	if (c->dns == NULL) {
		snprintf(detail, sizeof(detail), "dns: %s: resolver queue "
		    "full (%u lookups in flight)", ma->host,
		    resolver_pending(c->env->resolver));
		conn_drop(c, CONN_R_DNS_FAILED, detail);
		return 1;
	}
	return 0;
}

/* Create an outbound tunnel for an accepted app connection. */
struct conn *
conn_new_forward(struct conn_env *env, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *from, int fromlen)
{
	struct conn *c = conn_alloc(env, true, from);
	size_t i;
	int rc;

	(void)fromlen;
	if (c == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	snprintf(c->route, sizeof(c->route), "forward.%s", fw->name);
	c->dial = fw->peer;
	memcpy(c->security, fw->security, sizeof(c->security));
	c->nsecurity = fw->nsecurity;
	(void)conn_bev(c, &c->plain, fd);
	(void)conn_bev(c, &c->sec, -1);
	c->sc = secchan_new(SECCHAN_DIALER, c->gen->cred, c->security,
	    c->nsecurity, &fw->peer_ids[0]);
	for (i = 1; c->sc != NULL && i < fw->npeer_ids; i++)
		(void)secchan_expect(c->sc, &fw->peer_ids[i]);
	if (c->plain.bev == NULL || c->sec.bev == NULL || c->sc == NULL) {
		if (c->plain.bev == NULL)
			evutil_closesocket(fd);
		conn_drop(c, CONN_R_INTERNAL, "cannot allocate connection");
		return NULL;
	}
	conn_bev_nodelay(c->plain.bev);
	/* Nothing is read from the app before the peer is authenticated. */
	bufferevent_disable(c->plain.bev, EV_READ);
	c->phase = CONN_DIALING;
	if ((rc = conn_connect(c, c->sec.bev, &c->dial)) != 0) {
		if (rc < 0)
			conn_drop(c, CONN_R_CONNECT_FAILED,
			    "cannot start connect");
		return NULL;
	}
	return c;
}

/* Create an inbound tunnel for an accepted encrypted connection. */
struct conn *
conn_new_inbound(struct conn_env *env, evutil_socket_t fd,
    const struct sockaddr *from, int fromlen)
{
	struct conn *c = conn_alloc(env, false, from);

	(void)fromlen;
	if (c == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	strcpy(c->route, "inbound");
	memcpy(c->security, c->gen->cfg->security, sizeof(c->security));
	c->nsecurity = c->gen->cfg->nsecurity;
	(void)conn_bev(c, &c->sec, fd);
	c->sc = secchan_new(SECCHAN_LISTENER, c->gen->cred, c->security,
	    c->nsecurity, NULL);
	if (c->sc != NULL && config_node_mode(c->gen->cfg) &&
	    secchan_set_muxers(c->sc, conn_muxers, 1) != 0) {
		secchan_free(c->sc);
		c->sc = NULL;
	}
	if (c->sec.bev == NULL || c->sc == NULL) {
		if (c->sec.bev == NULL)
			evutil_closesocket(fd);
		conn_drop(c, CONN_R_INTERNAL, "cannot allocate connection");
		return NULL;
	}
	conn_bev_nodelay(c->sec.bev);
	conn_sec_keepalive(c);
	c->phase = CONN_HANDSHAKING;
	conn_arm(c, c->handshake_ms);
	bufferevent_enable(c->sec.bev, EV_READ);
	return c;
}

/* Seconds since the conn started. */
static double
conn_age(const struct conn *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return conn_secs(&c->started, &now);
}

/* Counters and labels of c. */
void
conn_totals(const struct conn *c, struct conn_totals *t)
{
	t->up = c->up.bytes;
	t->down = c->down.bytes;
	t->proto = strcmp(c->proto, "-") == 0 ? NULL : c->proto;
	t->route = c->route;
	t->peer = c->peer;
	t->peer_id = c->authenticated ? secchan_peer(c->sc) : NULL;
	t->session_dial = c->session_dial;
	t->dial_peer = c->session_dial ? &c->dial.peer : NULL;
	t->age = conn_age(c);
	t->from = (const struct sockaddr *)&c->from_sa;
	t->inbound = !c->outbound;
	t->authenticated = c->authenticated;
	t->handshake = c->hs_secs;
	t->cls = c->cls;
	t->handshake_failed = c->hs_failed;
	t->detail = c->detail;
}

/* Close class of reason r (see conn_totals.cls). */
static const char *
conn_class(const struct conn *c, enum conn_reason r)
{
	enum secchan_fail f;

	if (r == CONN_R_HANDSHAKE_FAILED && c->sc != NULL) {
		f = secchan_fail(c->sc);
		if (f == SECCHAN_FAIL_BAD_IDENTITY &&
		    secchan_proto(c->sc) == SEC_TLS)
			return "tls_verify";
		return secchan_fail_name(f);
	}
	if (r == CONN_R_PEER_CLOSED && c->no_proto)
		return "no_common_protocol";
	return conn_reason_name(r);
}

/*
 * The session c was dialing for is not coming: close the app
 * connections that waited for it, each with a stream close line.
 */
static void
conn_pending_fail(struct conn *c, enum conn_reason r, const char *detail)
{
	struct linger lg = { 1, 0 };
	struct conn_pending *p;
	struct timespec now;
	char from[MULTIADDR_SOCKADDR_MAX], route[CONFIG_NAME_MAX + 8];
	size_t i;

	if (r == CONN_R_DONE || r == CONN_R_SHUTDOWN)
		r = CONN_R_SESSION_CLOSED;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < c->npending; i++) {
		p = &c->pending[i];
		conn_format_addr((struct sockaddr *)&p->from, from,
		    sizeof(from));
		snprintf(route, sizeof(route), "forward.%s", p->fw.name);
		stream_log_close(LOG_WARN, c->env->log_prefix, 0, route, from,
		    c->peer[0] != '-' ? c->peer : "-", p->fw.protocol, 0, 0,
		    conn_secs(&p->since, &now), conn_reason_name(r), detail,
		    0);
		if (c->env->on_stream_close != NULL)
			c->env->on_stream_close(c->env->node, route, r, 0, 0);
		/* the app sees a reset, not an empty answer */
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		evutil_closesocket(p->fd);
	}
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
}

/*
 * The remote ended its direction (FIN, close_notify, socket error) while
 * relaying.  On a forward, before a single byte came from it and while
 * the app still holds its side open, that is a refusal or a failure
 * behind the remote (its expose refused us, its target is down), not a
 * finished exchange: remember it for the close reason.
 */
static void
conn_remote_ended(struct conn *c)
{
	if (c->outbound && c->phase == CONN_RELAYING && c->down.bytes == 0 &&
	    !c->up.eof)
		c->remote_early = true;
}

/*
 * An inbound conn that authenticated its peer ends before relaying (not
 * allowed, target unreachable): end the encrypted stream explicitly so
 * that the dialer sees a clean end before any data, the same way over
 * Noise and TLS: TLS sends close_notify, then for both the unread input
 * is discarded (closing over unread bytes would send a reset instead of
 * the FIN) and the FIN goes out.
 */
static void
conn_refuse_close(struct conn *c)
{
	uint8_t buf[4096];
	struct evbuffer *out;
	struct evbuffer_iovec v;
	evutil_socket_t fd;
	size_t n;
	int i;

	if (c->outbound || !c->authenticated ||
	    (c->phase != CONN_HANDSHAKING && c->phase != CONN_TARGETING) ||
	    c->sec.bev == NULL || c->sc == NULL ||
	    (fd = bufferevent_getfd(c->sec.bev)) < 0)
		return;
	out = bufferevent_get_output(c->sec.bev);
	if (secchan_close(c->sc) == 0)
		while ((n = secchan_pending(c->sc)) > 0 &&
		    evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) == 1) {
			v.iov_len = secchan_take(c->sc, v.iov_base, n);
			evbuffer_commit_space(out, &v, 1);
		}
	conn_bev_push(c->sec.bev);
	/* bounded: what has arrived so far, at most 256 KiB */
	for (i = 0; i < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;
	    i++)
		;
	if (evbuffer_get_length(out) == 0)
		shutdown(fd, SHUT_WR);
}

/*
 * The one summary line: "conn 3 closed route=... reason=done: detail" in
 * text, each of them a member in JSON.
 */
static void
conn_log_close(const struct conn *c, enum log_level lvl, enum conn_reason r,
    const char *detail)
{
	char id[24], up[24], down[24], dur[32];
	const struct log_field f[] = {
		{ "conn", id, LOG_F_ID },
		{ "route", c->route, LOG_F_STR },
		{ "from", c->from, LOG_F_STR },
		{ "peer", c->peer, LOG_F_STR },
		{ "proto", c->proto, LOG_F_STR },
		{ "up", up, LOG_F_NUM },
		{ "down", down, LOG_F_NUM },
		{ "dur", dur, LOG_F_SECS },
		{ "reason", conn_reason_name(r), LOG_F_STR },
		{ "detail", detail, LOG_F_DETAIL },
	};

	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
	snprintf(up, sizeof(up), "%llu", (unsigned long long)c->up.bytes);
	snprintf(down, sizeof(down), "%llu",
	    (unsigned long long)c->down.bytes);
	snprintf(dur, sizeof(dur), "%.3f", conn_age(c));
	log_fields(lvl, f, sizeof(f) / sizeof(f[0]), "%sconn %s closed",
	    c->env->log_prefix, id);
}

/* Debug: the tunnel is up ("conn 3 relaying route=... proto=..."). */
static void
conn_log_relaying(const struct conn *c)
{
	char id[24];
	const struct log_field f[] = {
		{ "conn", id, LOG_F_ID },
		{ "route", c->route, LOG_F_STR },
		{ "from", c->from, LOG_F_STR },
		{ "peer", c->peer, LOG_F_STR },
		{ "proto", c->proto, LOG_F_STR },
	};

	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
	log_fields(LOG_DEBUG, f, sizeof(f) / sizeof(f[0]), "%sconn %s "
	    "relaying", c->env->log_prefix, id);
}

/* The single teardown. */
void
conn_drop(struct conn *c, enum conn_reason r, const char *detail)
{
	enum log_level lvl;
	char early[560];

	if (c == NULL || c->dropped)
		return;
	c->dropped = true;
	if (c->remote_early && (r == CONN_R_DONE || r == CONN_R_IO_ERROR ||
	    r == CONN_R_PROTOCOL)) {
		snprintf(early, sizeof(early), "remote peer ended the tunnel "
		    "before sending any data (refused by its expose, or its "
		    "target is unreachable: see the remote's log)%s%s%s",
		    detail != NULL ? " (" : "", detail != NULL ? detail : "",
		    detail != NULL ? ")" : "");
		r = CONN_R_REMOTE_CLOSED;
		detail = early;
	}
	conn_refuse_close(c);
	c->cls = conn_class(c, r);
	c->hs_failed = r != CONN_R_SHUTDOWN && (c->phase == CONN_HANDSHAKING ||
	    r == CONN_R_NOT_ALLOWED);
	c->phase = CONN_CLOSED;
	lvl = r == CONN_R_DONE || r == CONN_R_SHUTDOWN ? LOG_INFO : LOG_WARN;
	if (config_quiet(c->env->gen != NULL ? c->env->gen->cfg : NULL,
	    c->cls))
		lvl = LOG_DEBUG;
	conn_log_close(c, lvl, r, detail);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->env->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->env->count--;
	if (!c->outbound)
		c->env->ninbound--;
	conn_pa_unlink(c);
	c->detail = detail;
	if (c->env->on_close != NULL)
		c->env->on_close(c->env->node, c, r);
	resolver_cancel(c->dns);
	conn_pending_fail(c, r, detail);
	if (c->sess != NULL) {
		char why[600];

		snprintf(why, sizeof(why), "%s%s%s", conn_reason_name(r),
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
		session_free(c->sess, why);
		c->sess = NULL;
	}
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->plain.rd != NULL)
		event_free(c->plain.rd);
	if (c->sec.rd != NULL)
		event_free(c->sec.rd);
	if (c->plain.bev != NULL)
		bufferevent_free(c->plain.bev);
	if (c->sec.bev != NULL)
		bufferevent_free(c->sec.bev);
	secchan_free(c->sc);
	conn_gen_drop(c->gen);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* Inbound budget reached; see conn.h. */
bool
conn_env_inbound_full(const struct conn_env *env)
{
	const struct config *cfg = env->gen->cfg;
	unsigned long all = (unsigned long)env->count + env->nstreams;
	unsigned long in = (unsigned long)env->ninbound +
	    env->ninbound_streams;

	if (env->totals != NULL)
		env->totals(env->node, &all, &in);
	return all >= cfg->max_connections ||
	    in + cfg->local_reserve >= cfg->max_connections;
}

/* Shed the oldest unauthenticated inbound conn; see conn.h. */
bool
conn_shed_oldest(struct conn_env *env, const char *why,
    enum conn_preauth *which)
{
	struct conn *c;
	char detail[400];

	*which = CONN_PA_SILENT;
	if ((c = env->preauth[CONN_PA_SILENT].head) == NULL) {
		*which = CONN_PA_TALKED;
		if ((c = env->preauth[CONN_PA_TALKED].head) == NULL)
			return false;
	}
	snprintf(detail, sizeof(detail), "%s: shed the oldest unauthenticated "
	    "connection to admit a new one (%s after %.1fs)", why,
	    *which == CONN_PA_SILENT ? "it had sent nothing" :
	    "handshake unfinished", conn_age(c));
	conn_drop(c, CONN_R_SHED, detail);
	return true;
}

/* Drop with the secchan's reason as detail. */
static void
conn_drop_sc(struct conn *c, enum conn_reason r)
{
	char detail[600];

	snprintf(detail, sizeof(detail), "%s", secchan_error(c->sc));
	conn_drop(c, r, detail);
}

/* Queue the secchan's pending protocol bytes on the encrypted output. */
static int
conn_flush_sc(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->sec.bev);
	struct evbuffer_iovec v;
	size_t n;

	while ((n = secchan_pending(c->sc)) > 0) {
		if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) != 1) {
			conn_drop(c, CONN_R_INTERNAL, "out of memory");
			return -1;
		}
		v.iov_len = secchan_take(c->sc, v.iov_base, n);
		evbuffer_commit_space(out, &v, 1);
	}
	return 0;
}

/*
 * Write what bev's output holds now rather than on the next loop
 * iteration.  libevent would enable the write event, wait for epoll to
 * report the socket writable, write, and disable the event again: two
 * epoll_ctl calls, one more epoll_wait and a loop iteration of latency
 * per message.  EV_WRITE is enabled only while bytes are left over (the
 * socket buffer is full); the write callback disables it again once the
 * output is empty.  An error is left for libevent's own write attempt to
 * find and report through the event callback.
 */
void
conn_bev_push(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (evbuffer_get_length(out) == 0 ||
	    (bufferevent_get_enabled(bev) & EV_WRITE) != 0)
		return;
	if (fd >= 0) {
		/* bufferevents freeze the start of their output between
		 * their own writes */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(bev, EV_WRITE);
}

/* A write callback: the output drained; stop watching for writability. */
void
conn_bev_wrote(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

/* The down stream broke: reset the plaintext side rather than FIN it. */
static void
conn_drop_down(struct conn *c, const char *detail)
{
	struct linger lg = { 1, 0 };
	evutil_socket_t fd = c->plain.bev != NULL ?
	    bufferevent_getfd(c->plain.bev) : -1;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* our fatal alert (TLS) goes out before the close, as far as the
	 * socket takes it now (RFC 8446 6.2) */
	if (c->sc != NULL && c->sec.bev != NULL) {
		if (conn_flush_sc(c) != 0)
			return;
		conn_bev_push(c->sec.bev);
	}
	if (detail != NULL)
		conn_drop(c, CONN_R_PROTOCOL, detail);
	else
		conn_drop_sc(c, CONN_R_PROTOCOL);
}

/* Pause or resume reading one side (our reader once relaying). */
static void
conn_reading(struct side *sd, bool on)
{
	if (sd->rd == NULL) {
		if (on)
			bufferevent_enable(sd->bev, EV_READ);
		else
			bufferevent_disable(sd->bev, EV_READ);
	} else if (on)
		event_add(sd->rd, NULL);
	else
		event_del(sd->rd);
}

/*
 * An empty buffer may still hold an empty chain (space reserved but not
 * used): libevent frees chains only when it drains data, so pass one
 * byte through to let an idle tunnel keep no buffer at all.
 */
static void
conn_trim(struct evbuffer *buf)
{
	static const uint8_t zero;

	if (evbuffer_get_length(buf) == 0 && evbuffer_add(buf, &zero, 1) == 0)
		evbuffer_drain(buf, 1);
}

/*
 * readv(2) on a relay socket.  Returns the bytes read, 0 at EOF, -1 on
 * an error (errno set), -2 if there is nothing to read now.  A reset or
 * timeout a write consumed reads as EOF: after our own FIN (fin_sent)
 * the peer's FIN also leaves the socket closed (time-wait moves off it),
 * so only then does an EOF on a closed socket stay an EOF.
 */
static ev_ssize_t
conn_readv(evutil_socket_t fd, const struct iovec *iov, int nv,
    bool fin_sent)
{
	ev_ssize_t n;
	int err;

	do
		n = readv(fd, iov, nv);
	while (n < 0 && errno == EINTR);
	if (n == 0 && !fin_sent && (err = tcpsock_aborted(fd)) != 0) {
		errno = err;
		return -1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	return n;
}

/*
 * The next read size after a read of n of want bytes: it doubles up to
 * CONN_READ_BIG while reads fill it and shrinks when they do not, so
 * bulk flows read 128 KiB at a time and small messages do not allocate
 * big chains.
 */
static void
conn_rdsz_adapt(size_t *rdsz, size_t n, size_t want)
{
	if (n >= want && *rdsz < CONN_READ_BIG)
		*rdsz = *rdsz * 2 > CONN_READ_BIG ? CONN_READ_BIG :
		    *rdsz * 2;
	else if (n < *rdsz / 4 && *rdsz > CONN_READ_MIN)
		*rdsz /= 2;
}

/*
 * One readv(2) of up to *rdsz bytes (and not past high) straight into
 * the free space at the end of bev's input buffer (*rdsz adapts, see
 * conn_rdsz_adapt).  Returns what conn_readv() does.
 */
ev_ssize_t
conn_bev_read(struct bufferevent *bev, size_t *rdsz, size_t high,
    size_t atleast, bool fin_sent)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t have = evbuffer_get_length(in), want, left;
	ev_ssize_t n;
	int nv, i, err;

	if (*rdsz == 0)
		*rdsz = CONN_READ_MIN;
	want = have < high ? high - have : 0;
	if (want > *rdsz && want > atleast)
		want = *rdsz > atleast ? *rdsz : atleast;
	if (want == 0)
		return -2;
	/* bufferevents freeze the end of their input between their reads */
	evbuffer_unfreeze(in, 0);
	if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) < 1) {
		evbuffer_freeze(in, 0);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	n = conn_readv(bufferevent_getfd(bev), iov, nv, fin_sent);
	if (n <= 0) {
		err = errno;
		evbuffer_commit_space(in, v, 0);
		conn_trim(in);
		evbuffer_freeze(in, 0);
		errno = err;
		return n;
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, nv);
	evbuffer_freeze(in, 0);
	conn_rdsz_adapt(rdsz, (size_t)n, want);
	return n;
}

/* Seals one direct read may fill: two Noise frames, eight TLS records. */
#define CONN_SEAL_SLOTS 8

/* The direct read dropped the conn (see conn_read_sealed). */
#define CONN_READ_DROPPED (-3)

/*
 * Up direction without a copy: read the plaintext socket straight into
 * frames (or records) reserved at the end of the encrypted output, each
 * at the offset its in-place seal expects, and seal them there.  Used
 * while the plaintext input is empty and secchan can seal that many in
 * place back to back (secchan_seal_run); the normal path moves the
 * plaintext once more, from the input buffer into the frame (about 9%
 * of the sealing side's CPU in bulk, docs/benchmarks.md).  Returns what
 * conn_readv() does, or CONN_READ_DROPPED.
 */
static ev_ssize_t
conn_read_sealed(struct conn *c, struct side *sd)
{
	struct evbuffer *out = bufferevent_get_output(c->sec.bev);
	struct evbuffer_iovec v;
	struct iovec iov[CONN_SEAL_SLOTS];
	size_t max = secchan_seal_max(c->sc), hdr = secchan_seal_hdr(c->sc,
	    max), stride = hdr + max + secchan_seal_tail(c->sc), want,
	    nslots, left, len, pos, i;
	uint8_t *base;
	ev_ssize_t n;
	int w, err;

	if (sd->in->rdsz == 0)
		sd->in->rdsz = CONN_READ_MIN;
	nslots = (sd->in->rdsz + max - 1) / max;
	if (nslots > CONN_SEAL_SLOTS)
		nslots = CONN_SEAL_SLOTS;
	nslots = secchan_seal_run(c->sc, nslots);
	want = sd->in->rdsz < nslots * max ? sd->in->rdsz : nslots * max;
	nslots = (want + max - 1) / max;
	if (evbuffer_reserve_space(out, (ev_ssize_t)((nslots - 1) * stride +
	    secchan_seal_bound(c->sc, max)), &v, 1) != 1) {
		conn_drop(c, CONN_R_INTERNAL, "out of memory");
		return CONN_READ_DROPPED;
	}
	base = v.iov_base;
	for (i = 0, left = want; i < nslots; i++, left -= len) {
		len = left < max ? left : max;
		iov[i].iov_base = base + i * stride + hdr;
		iov[i].iov_len = len;
	}
	n = conn_readv(bufferevent_getfd(sd->bev), iov, (int)nslots,
	    c->down.done);
	if (n <= 0) {
		err = errno;
		evbuffer_commit_space(out, &v, 0);
		/* bufferevents freeze the start of their output */
		evbuffer_unfreeze(out, 1);
		conn_trim(out);
		evbuffer_freeze(out, 1);
		errno = err;
		return n;
	}
	for (i = 0, pos = 0, left = (size_t)n; left > 0; i++, left -= len) {
		len = left < max ? left : max;
		w = secchan_seal(c->sc, base + pos + hdr, len, base + pos,
		    v.iov_len - pos);
		if (w < 0 || (size_t)w != stride - max + len) {
			evbuffer_commit_space(out, &v, 0);
			if (w < 0)
				conn_drop_sc(c, CONN_R_PROTOCOL);
			else
				conn_drop(c, CONN_R_INTERNAL,
				    "in-place seal wrote an unexpected length");
			return CONN_READ_DROPPED;
		}
		pos += (size_t)w;
	}
	v.iov_len = pos;
	evbuffer_commit_space(out, &v, 1);
	c->up.bytes += (size_t)n;
	conn_touch(c);
	conn_rdsz_adapt(&sd->in->rdsz, (size_t)n, want);
	return n;
}

/*
 * Whether the plaintext side's next read can go straight into sealed
 * frames: nothing waits in its input, secchan seals in place, and the
 * encrypted output is under its mark (else the reader pauses here, as
 * the pump would: its drain calls the pump, which resumes reading).
 */
static bool
conn_can_read_sealed(struct conn *c, struct side *sd, bool *paused)
{
	*paused = false;
	if (sd->encrypted ||
	    evbuffer_get_length(bufferevent_get_input(sd->bev)) != 0 ||
	    secchan_seal_run(c->sc, 1) == 0)
		return false;
	if (evbuffer_get_length(bufferevent_get_output(c->sec.bev)) >=
	    CONN_OUT_HIGH) {
		c->up.throttled = true;
		conn_reading(sd, false);
		*paused = true;
	}
	return true;
}

/* A relay socket is readable: read, then pump, or pass EOF/errors on. */
static void
conn_on_readable(struct conn *c, struct side *sd)
{
	char detail[200];
	ev_ssize_t n;
	int err;
	bool paused;

	/* with SO_RCVLOWAT set, read at least the rest of the frame; the
	 * direction writing into this socket says whether we sent a FIN */
	if (conn_can_read_sealed(c, sd, &paused)) {
		if (paused)
			return;
		if ((n = conn_read_sealed(c, sd)) == CONN_READ_DROPPED)
			return;
	} else
		n = conn_bev_read(sd->bev, &sd->in->rdsz, sd->high,
		    sd->encrypted ? (size_t)c->rcvlowat : 0,
		    (sd->encrypted ? &c->up : &c->down)->done);
	if (n == -2 &&
	    evbuffer_get_length(bufferevent_get_input(sd->bev)) == 0)
		return;
	if (n < 0 && n != -2) {
		err = errno;
		tcpsock_strerror(bufferevent_getfd(sd->bev), err, detail,
		    sizeof(detail));
		/* a timeout is the network's verdict, not the remote's end */
		if (sd->encrypted && err != ETIMEDOUT)
			conn_remote_ended(c);
		conn_drop(c, CONN_R_IO_ERROR, detail);
		return;
	}
	if (n == 0) {
		conn_reading(sd, false);
		if (sd->encrypted) {
			conn_remote_ended(c);
			sd->in->fin = true;	/* TCP FIN, no close_notify */
		} else
			sd->in->eof = true;
	}
	if (sd->encrypted)
		conn_pump_down(c);
	else
		conn_pump_up(c);
}

/* Our reader of the plaintext socket fired. */
static void
conn_on_plain_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;

	conn_on_readable(c, &c->plain);
}

/* Our reader of the encrypted socket fired. */
static void
conn_on_sec_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;

	conn_on_readable(c, &c->sec);
}

/*
 * Relay starts: both bufferevents keep writing, our readers take over
 * reading.  Returns -1 if the conn was dropped.
 */
static int
conn_reader_start(struct conn *c)
{
	bufferevent_disable(c->plain.bev, EV_READ);
	bufferevent_disable(c->sec.bev, EV_READ);
	c->plain.rd = event_new(c->env->base, bufferevent_getfd(c->plain.bev),
	    EV_READ | EV_PERSIST, conn_on_plain_readable, c);
	c->sec.rd = event_new(c->env->base, bufferevent_getfd(c->sec.bev),
	    EV_READ | EV_PERSIST, conn_on_sec_readable, c);
	if (c->plain.rd == NULL || c->sec.rd == NULL) {
		conn_drop(c, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	event_add(c->plain.rd, NULL);
	event_add(c->sec.rd, NULL);
	return 0;
}

/* Pass EOF on to the partner of direction d once its output is flushed. */
static void
conn_pass_eof(struct dir *d, struct bufferevent *partner)
{
	evutil_socket_t fd;

	if (!d->eof || d->done ||
	    evbuffer_get_length(bufferevent_get_output(partner)) != 0)
		return;
	fd = bufferevent_getfd(partner);
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	d->done = true;
}

/* End the tunnel when both directions have passed their EOF on. */
static bool
conn_maybe_done(struct conn *c)
{
	if (c->up.done && c->down.done) {
		conn_drop(c, CONN_R_DONE, NULL);
		return true;
	}
	return false;
}

/*
 * Seal up to n plaintext bytes from in into one frame or record set at
 * the end of out.  In place where secchan allows (Noise frames, TLS
 * records once they are ours): the plaintext is moved straight from
 * in's chains into the reserved frame (one copy, no pullup) and
 * encrypted there.  Otherwise secchan gets a contiguous view.  Returns
 * the plaintext bytes taken, or -1 if the conn was dropped.
 */
static int
conn_seal_one(struct conn *c, struct evbuffer *in, struct evbuffer *out,
    size_t n)
{
	struct evbuffer_iovec v;
	size_t hdr = secchan_seal_hdr(c->sc, n);
	uint8_t *pt;
	int w;

	if (evbuffer_reserve_space(out,
	    (ev_ssize_t)secchan_seal_bound(c->sc, n), &v, 1) != 1) {
		conn_drop(c, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	if (hdr > 0) {
		pt = (uint8_t *)v.iov_base + hdr;
		if (evbuffer_remove(in, pt, n) != (int)n) {
			conn_drop(c, CONN_R_INTERNAL, "short plaintext read");
			return -1;
		}
	} else
		pt = evbuffer_pullup(in, (ev_ssize_t)n);
	w = secchan_seal(c->sc, pt, n, v.iov_base, v.iov_len);
	if (w < 0) {
		conn_drop_sc(c, CONN_R_PROTOCOL);
		return -1;
	}
	v.iov_len = (size_t)w;
	evbuffer_commit_space(out, &v, 1);
	if (hdr == 0)
		evbuffer_drain(in, n);
	return 0;
}

/*
 * Up pump: seal plaintext from the app/target into frames on the
 * encrypted output, as full as the waiting input allows (up to
 * SECCHAN_SEAL_MAX per frame).  Returns -1 if the conn was dropped.
 */
static int
conn_pump_up(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->plain.bev);
	struct evbuffer *out = bufferevent_get_output(c->sec.bev);
	size_t n;
	bool moved = false;

	while ((n = evbuffer_get_length(in)) > 0) {
		if (evbuffer_get_length(out) >= CONN_OUT_HIGH) {
			c->up.throttled = true;
			conn_reading(&c->plain, false);
			break;
		}
		if (n > secchan_seal_max(c->sc))
			n = secchan_seal_max(c->sc);
		if (conn_seal_one(c, in, out, n) != 0)
			return -1;
		c->up.bytes += n;
		moved = true;
	}
	if (moved)
		conn_touch(c);
	if (c->up.throttled && evbuffer_get_length(in) > 0)
		return 0;
	if (c->up.throttled && !c->up.eof) {
		c->up.throttled = false;
		conn_reading(&c->plain, true);
	}
	/* end of our stream first (TLS close_notify), then the FIN */
	if (c->up.eof && !c->up.done && secchan_close(c->sc) != 0) {
		conn_drop_sc(c, CONN_R_PROTOCOL);
		return -1;
	}
	if (conn_flush_sc(c) != 0)
		return -1;
	conn_bev_push(c->sec.bev);
	conn_pass_eof(&c->up, c->sec.bev);
	return conn_maybe_done(c) ? -1 : 0;
}

/*
 * Wake up for the encrypted socket only once the rest of an incomplete
 * frame can be there (SO_RCVLOWAT): a 64 KiB frame arrives in many
 * segments, and waking for each costs a context switch and three
 * syscalls.  A FIN or an error still wakes us.  Small gaps keep the
 * default, so small messages see no extra syscall.
 */
static void
conn_set_lowat(struct conn *c, size_t missing)
{
	int want = missing >= CONN_LOWAT_MIN ? (int)missing : 0;
	int v = want > 0 ? want : 1;
	evutil_socket_t fd;

	if (want == c->rcvlowat)
		return;
	fd = bufferevent_getfd(c->sec.bev);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v,
	    sizeof(v)) == 0)
		c->rcvlowat = want;
}

/*
 * Fast path: move the body of one complete frame or record (inlen bytes
 * with its hdr-byte header, already in peek) from in straight into the
 * plaintext output and open it in place: one copy, no pullup.  Returns
 * the plaintext length or -1.
 */
static int
conn_open_inplace(struct conn *c, struct evbuffer *in,
    struct evbuffer_iovec *v, const uint8_t *peek, size_t hdr, size_t inlen)
{
	size_t blen = inlen - hdr;

	evbuffer_drain(in, hdr);
	if (evbuffer_remove(in, v->iov_base, blen) != (int)blen)
		return -1;
	return secchan_open_inplace(c->sc, peek, v->iov_base, blen);
}

/*
 * Open what the input holds into the plaintext output; see the pump.
 * Returns 0, 1 if it stopped because the output is full (reading is
 * paused), or -1 if the conn was dropped.
 */
static int
conn_open_loop(struct conn *c, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec v;
	uint8_t peek[SECCHAN_PEEK], tmp[CONN_OPEN_TMP];
	size_t have, room, inlen, used, need, hdr;
	bool moved = false, progress;
	int n, ret = 0;

	for (;;) {
		have = evbuffer_get_length(in);
		if (secchan_peer_closed(c->sc)) {
			/* close_notify: the end of this direction */
			if (!c->down.eof)
				conn_remote_ended(c);
			evbuffer_drain(in, have);
			c->down.eof = true;
			break;
		}
		evbuffer_copyout(in, peek, have < sizeof(peek) ? have :
		    sizeof(peek));
		hdr = secchan_open_hdr(c->sc);
		if ((room = secchan_open_room(c->sc, peek, have, &inlen)) == 0) {
			/* incomplete frame or record: wait for more */
			need = secchan_open_need(c->sc, peek, have);
			conn_set_lowat(c, need > have ? need - have : 0);
			break;
		}
		if (evbuffer_get_length(out) >= CONN_OUT_HIGH) {
			c->down.throttled = true;
			conn_reading(&c->sec, false);
			ret = 1;
			break;
		}
		/* a malformed frame takes the checked path to its error */
		if (hdr > 0 && inlen >= hdr + NOISE_TAG_LEN) {
			if (evbuffer_reserve_space(out, (ev_ssize_t)(inlen -
			    hdr), &v, 1) != 1) {
				conn_drop(c, CONN_R_INTERNAL, "out of memory");
				return -1;
			}
			if ((n = conn_open_inplace(c, in, &v, peek, hdr,
			    inlen)) < 0) {
				conn_drop_down(c, NULL);
				return -1;
			}
			v.iov_len = (size_t)n;
			evbuffer_commit_space(out, &v, 1);
			used = 0;
			progress = true;
		} else {
			/*
			 * Records still queued in tls.c (or a bad frame):
			 * the plaintext goes through the stack, so that a
			 * read that yields nothing leaves no reserved chain
			 * behind.
			 */
			n = secchan_open(c->sc, inlen > 0 ?
			    evbuffer_pullup(in, (ev_ssize_t)inlen) : peek,
			    inlen, &used, &need, tmp, room < sizeof(tmp) ?
			    room : sizeof(tmp));
			if (n < 0) {
				conn_drop_down(c, NULL);
				return -1;
			}
			if (n > 0 && evbuffer_add(out, tmp, (size_t)n) != 0) {
				conn_drop(c, CONN_R_INTERNAL, "out of memory");
				return -1;
			}
			/*
			 * A close_notify opened from tls.c's queue (records
			 * that came with the handshake's last flight) takes
			 * no new input and yields no data, yet it is
			 * progress: the loop's top must see it now, not at
			 * the next socket event, which may never come (a
			 * peer that half-closes with close_notify alone and
			 * waits for the answer).
			 */
			progress = n > 0 || used > 0 ||
			    secchan_peer_closed(c->sc);
		}
		evbuffer_drain(in, used);
		if (!progress)
			break;		/* no progress without more input */
		c->down.bytes += (size_t)n;
		moved = true;
	}
	if (moved)
		conn_touch(c);
	return ret;
}

/*
 * Down pump: open frames (Noise) or records (TLS) from the encrypted
 * input into the plaintext output, into space reserved at the size
 * secchan asks for.  Returns -1 if the conn was dropped.
 */
static int
conn_pump_down(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->sec.bev);
	struct evbuffer *out = bufferevent_get_output(c->plain.bev);
	int r;

	r = conn_open_loop(c, in, out);
	if (r >= 0)
		conn_bev_push(c->plain.bev);
	if (r != 0)
		return r < 0 ? -1 : 0;
	/*
	 * TLS answers to the peer (KeyUpdates) obey the encrypted side's
	 * mark: above it they wait in tls.c, where requests share one
	 * answer, so no input queues output past backpressure.  (Pausing
	 * the encrypted reads instead would deadlock two peers that both
	 * echo bulk data.)  The write callback flushes them.
	 */
	if (evbuffer_get_length(bufferevent_get_output(c->sec.bev)) <
	    CONN_OUT_HIGH && conn_flush_sc(c) != 0)
		return -1;
	conn_bev_push(c->sec.bev);
	if (c->down.throttled && !c->down.eof) {
		c->down.throttled = false;
		if (!c->down.fin)
			conn_reading(&c->sec, true);
	}
	if (c->down.fin && !c->down.eof) {
		if (!secchan_fin_is_eof(c->sc)) {
			conn_drop_down(c, "tls: connection closed without "
			    "close_notify (truncated stream)");
			return -1;
		}
		if (evbuffer_get_length(in) != 0) {
			conn_drop_down(c, "noise: connection closed in the "
			    "middle of a frame");
			return -1;
		}
		c->down.eof = true;
	}
	conn_pass_eof(&c->down, c->plain.bev);
	return conn_maybe_done(c) ? -1 : 0;
}

/* The tunnel is authenticated and both sockets are up: relay. */
static void
conn_start_relay(struct conn *c)
{
	c->phase = CONN_RELAYING;
	conn_arm(c, c->idle_ms);
	conn_bev_push(c->plain.bev);		/* e.g. the PROXY header */
	conn_bev_push(c->sec.bev);
	if (c->env->on_relay != NULL)
		c->env->on_relay(c->env->node, c);
	if (conn_reader_start(c) != 0)
		return;
	conn_log_relaying(c);
	if (conn_pump_down(c) < 0)
		return;
	conn_pump_up(c);
}

/* Node mode: the authenticated connection becomes a session's carrier. */
static void
conn_become_session(struct conn *c)
{
	snprintf(c->route, sizeof(c->route), "session");
	c->phase = CONN_SESSION;
	conn_arm(c, 0);
	c->sess = session_new(c, c->env, c->gen, c->sec.bev, c->sc, c->outbound,
	    secchan_muxer(c->sc));
	if (c->sess == NULL) {
		conn_drop(c, CONN_R_INTERNAL, "cannot allocate a session");
		return;
	}
	if (c->env->on_relay != NULL)
		c->env->on_relay(c->env->node, c);
	log_info("%sconn %llu session with %s over %s (muxer %s)",
	    c->env->log_prefix, (unsigned long long)c->id, c->peer, c->proto,
	    secchan_muxer(c->sc) != NULL ? "agreed in the handshake" :
	    "by multistream");
	(void)session_start(c->sess);
}

/* Handshake done: check the route, then relay (or reach the target). */
static void
conn_on_secure(struct conn *c)
{
	const struct config_expose *ex;
	char detail[256];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	c->hs_secs = conn_secs(&c->hs_started, &now);
	peer_id_to_string(secchan_peer(c->sc), c->peer, sizeof(c->peer));
	c->proto = sec_proto_id(secchan_proto(c->sc));
	c->authenticated = true;
	conn_pa_unlink(c);
	if (c->env->on_ready != NULL)
		c->env->on_ready(c->env->node, c);
	if (c->session_dial) {
		conn_become_session(c);
		return;
	}
	if (c->outbound) {
		conn_start_relay(c);
		return;
	}
	/* the current config: a reload's allowlist applies at once */
	ex = config_route(c->env->gen->cfg, secchan_peer(c->sc));
	if (secchan_muxer(c->sc) != NULL || (ex == NULL &&
	    config_peer_node(c->env->gen->cfg, secchan_peer(c->sc)))) {
		if (!config_peer_node(c->env->gen->cfg, secchan_peer(c->sc))) {
			snprintf(detail, sizeof(detail), "peer-id check: %s is "
			    "authenticated and asked for node mode (%s), but "
			    "no node-mode expose, forward or connect names it",
			    c->peer, secchan_muxer(c->sc));
			conn_drop(c, CONN_R_NOT_ALLOWED, detail);
			return;
		}
		conn_become_session(c);
		return;
	}
	if (ex == NULL) {
		snprintf(detail, sizeof(detail), "peer-id check: %s is "
		    "authenticated but not allowed by any expose", c->peer);
		conn_drop(c, CONN_R_NOT_ALLOWED, detail);
		return;
	}
	snprintf(c->route, sizeof(c->route), "expose.%s", ex->name);
	c->dial = ex->target;
	c->proxy_v2 = ex->proxy_v2;
	c->phase = CONN_TARGETING;
	/* Frames that arrived with msg 3 wait in the input buffer. */
	bufferevent_disable(c->sec.bev, EV_READ);
	(void)conn_bev(c, &c->plain, -1);
	if (c->plain.bev == NULL) {
		conn_drop(c, CONN_R_INTERNAL, "cannot allocate connection");
		return;
	}
	if (conn_connect(c, c->plain.bev, &c->dial) < 0)
		conn_drop(c, CONN_R_TARGET_FAILED, "cannot start connect");
}

/* Feed handshake bytes to the secchan and send what it answers. */
static void
conn_handshake_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->sec.bev);
	uint8_t out[SECCHAN_OUT_MAX];
	size_t len, used, outlen;
	enum secchan_status st;

	while ((len = evbuffer_get_length(in)) > 0) {
		if (len > CONN_SEC_IN_HIGH)
			len = CONN_SEC_IN_HIGH;
		st = secchan_input(c->sc, evbuffer_pullup(in, (ev_ssize_t)len),
		    len, &used, out, &outlen);
		evbuffer_drain(in, used);
		if (outlen > 0 &&
		    bufferevent_write(c->sec.bev, out, outlen) != 0) {
			conn_drop(c, CONN_R_INTERNAL, "out of memory");
			return;
		}
		conn_bev_push(c->sec.bev);
		if (outlen > 0)		/* while the peer works on it */
			secchan_cred_refill(c->gen->cred);
		if (st == SECCHAN_FAILED) {
			conn_drop_sc(c, CONN_R_HANDSHAKE_FAILED);
			return;
		}
		if (st == SECCHAN_READY) {
			conn_on_secure(c);
			return;
		}
		if (used == 0)
			return;		/* a message is incomplete */
	}
}

/* Encrypted side readable. */
static void
conn_on_sec_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->pa == CONN_PA_SILENT)	/* it spoke: no longer idle */
		conn_pa_link(c, CONN_PA_TALKED);
	if (c->phase == CONN_HANDSHAKING)
		conn_handshake_input(c);
	else if (c->phase == CONN_RELAYING)
		conn_pump_down(c);
}

/* Encrypted output drained to the low mark (or empty). */
static void
conn_on_sec_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	conn_bev_wrote(bev);
	if (c->phase != CONN_RELAYING)
		return;
	if ((c->up.throttled || c->up.eof) && conn_pump_up(c) < 0)
		return;
	if (secchan_pending(c->sc) > 0 && conn_flush_sc(c) == 0)
		/* answers held back at the mark */
		conn_bev_push(c->sec.bev);
}

/*
 * Text of a bufferevent error (names are resolved before: resolve.c),
 * naming the TCP layer's verdict where errno's text does not (tcpsock.h).
 */
void
conn_bev_error(struct bufferevent *bev, char *buf, size_t cap)
{
	int err = EVUTIL_SOCKET_ERROR();

	tcpsock_strerror(bufferevent_getfd(bev), err, buf, cap);
}

/* Encrypted side: connected, EOF, error. */
static void
conn_on_sec_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	uint8_t out[SECCHAN_OUT_MAX];
	size_t outlen;
	char detail[512], addr[300];
	bool timedout;

	if (what & BEV_EVENT_CONNECTED) {
		conn_bev_nodelay(bev);
		conn_sec_keepalive(c);
		c->phase = CONN_HANDSHAKING;
		clock_gettime(CLOCK_MONOTONIC, &c->hs_started);
		conn_arm(c, c->handshake_ms);
		if (secchan_start(c->sc, out, &outlen) != 0 ||
		    bufferevent_write(bev, out, outlen) != 0) {
			conn_drop(c, CONN_R_INTERNAL, "cannot start handshake");
			return;
		}
		conn_bev_push(bev);
		bufferevent_enable(bev, EV_READ);
		secchan_cred_refill(c->gen->cred);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		timedout = EVUTIL_SOCKET_ERROR() == ETIMEDOUT;
		conn_bev_error(bev, detail, sizeof(detail) - 320);
		if (c->phase == CONN_DIALING) {
			multiaddr_to_string(&c->dial, addr, sizeof(addr));
			strncat(detail, " dialing ", sizeof(detail) -
			    strlen(detail) - 1);
			strncat(detail, addr, sizeof(detail) - strlen(detail) - 1);
			conn_drop(c, CONN_R_CONNECT_FAILED, detail);
		} else {
			if (!timedout)
				conn_remote_ended(c);
			conn_drop(c, CONN_R_IO_ERROR, detail);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->phase == CONN_RELAYING) {
			conn_remote_ended(c);
			c->down.fin = true;
			conn_pump_down(c);
			return;
		}
		snprintf(detail, sizeof(detail), "remote closed the connection "
		    "during %s", c->phase == CONN_HANDSHAKING ? "the handshake" :
		    "setup");
		if (c->phase == CONN_HANDSHAKING &&
		    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			strncat(detail, " (truncated message)",
			    sizeof(detail) - strlen(detail) - 1);
		if (c->phase == CONN_HANDSHAKING) {
			secchan_eof_hint(c->sc, addr, sizeof(addr));
			c->no_proto = addr[0] != '\0';
			if (addr[0] != '\0') {
				strncat(detail, ": ", sizeof(detail) -
				    strlen(detail) - 1);
				strncat(detail, addr, sizeof(detail) -
				    strlen(detail) - 1);
			}
		}
		conn_drop(c, CONN_R_PEER_CLOSED, detail);
	}
}

/* Plaintext side readable. */
static void
conn_on_plain_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->phase == CONN_RELAYING)
		conn_pump_up(c);
}

/* Plaintext output drained to the low mark (or empty). */
static void
conn_on_plain_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	conn_bev_wrote(bev);
	if (c->phase != CONN_RELAYING)
		return;
	if (c->down.throttled || c->down.eof)
		conn_pump_down(c);
}

/*
 * Send the PROXY protocol v2 header to the target, first thing, with the
 * remote peer's address as source and our encrypted listener's as
 * destination (proxyv2.h).  0, or -1 (conn dropped).
 */
static int
conn_proxy_header(struct conn *c)
{
	uint8_t h[PROXY_V2_MAX];
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);
	size_t n;

	memset(&dst, 0, sizeof(dst));
	if (getsockname(bufferevent_getfd(c->sec.bev), (struct sockaddr *)&dst,
	    &dlen) != 0)
		dst.ss_family = AF_UNSPEC;
	n = proxy_v2_header(h, (const struct sockaddr *)&c->from_sa,
	    (const struct sockaddr *)&dst, c->peer);
	if (bufferevent_write(c->plain.bev, h, n) != 0) {
		conn_drop(c, CONN_R_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/* Plaintext side: connected (target), EOF, error. */
static void
conn_on_plain_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char detail[512], addr[300];

	if (what & BEV_EVENT_CONNECTED) {
		conn_bev_nodelay(bev);
		if (c->proxy_v2 && conn_proxy_header(c) != 0)
			return;
		conn_start_relay(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		conn_bev_error(bev, detail, sizeof(detail) - 320);
		if (c->phase == CONN_TARGETING) {
			multiaddr_to_string(&c->dial, addr, sizeof(addr));
			strncat(detail, " connecting to target ",
			    sizeof(detail) - strlen(detail) - 1);
			strncat(detail, addr, sizeof(detail) - strlen(detail) - 1);
			conn_drop(c, CONN_R_TARGET_FAILED, detail);
		} else
			conn_drop(c, CONN_R_IO_ERROR, detail);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->phase != CONN_RELAYING) {
			conn_drop(c, CONN_R_PEER_CLOSED, c->outbound ?
			    "app closed before the tunnel was up" :
			    "target closed before the tunnel was up");
			return;
		}
		c->up.eof = true;
		conn_pump_up(c);
	}
}

/* The phase timer fired. */
static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char detail[1024], addr[300];

	(void)fd;
	(void)what;
	switch (c->phase) {
	case CONN_DIALING:
	case CONN_TARGETING:
		multiaddr_to_string(&c->dial, addr, sizeof(addr));
		if (c->dns != NULL) {
			/* the resolver, not the peer, did not answer */
			snprintf(detail, sizeof(detail), "dns: %s: no answer "
			    "after %u ms (resolving %s; is a name server "
			    "reachable?)", c->dial.host, c->connect_ms, addr);
			conn_drop(c, CONN_R_DNS_FAILED, detail);
			break;
		}
		snprintf(detail, sizeof(detail), "no connection to %s after "
		    "%u ms", addr, c->connect_ms);
		conn_drop(c, CONN_R_CONNECT_TIMEOUT, detail);
		break;
	case CONN_HANDSHAKING:
		snprintf(detail, sizeof(detail), "handshake not finished "
		    "after %u ms", c->handshake_ms);
		conn_drop(c, CONN_R_HANDSHAKE_TIMEOUT, detail);
		break;
	case CONN_RELAYING:
		conn_drop(c, CONN_R_IDLE_TIMEOUT, NULL);
		break;
	case CONN_SESSION:
	case CONN_CLOSED:
		break;
	}
}

/* Set SO_LINGER 0 on bev's socket: closing it sends a reset. */
static void
conn_abort_on_close(struct bufferevent *bev)
{
	struct linger lg = { 1, 0 };
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* A reload revoked the peer: abort both sides. */
void
conn_revoke(struct conn *c, const char *detail)
{
	conn_abort_on_close(c->plain.bev);
	conn_abort_on_close(c->sec.bev);
	conn_drop(c, CONN_R_REVOKED, detail);
}

/* Shutdown: tunnels not yet relaying are dropped; others drain. */
void
conn_shutdown(struct conn *c)
{
	if (c->phase == CONN_SESSION)
		session_drain(c->sess);
	else if (c->phase != CONN_RELAYING)
		conn_drop(c, CONN_R_SHUTDOWN, NULL);
}

struct conn *
conn_new_session(struct conn_env *env, const char *route,
    const struct multiaddr *ma, const enum sec_proto *sec, size_t nsec)
{
	struct conn *c = conn_alloc(env, true, NULL);

	if (c == NULL)
		return NULL;
	c->session_dial = true;
	snprintf(c->route, sizeof(c->route), "%s", route);
	c->dial = *ma;
	memcpy(c->security, sec, nsec * sizeof(*sec));
	c->nsecurity = nsec;
	(void)conn_bev(c, &c->sec, -1);
	c->sc = secchan_new(SECCHAN_DIALER, c->gen->cred, c->security,
	    c->nsecurity, &ma->peer);
	if (c->sec.bev == NULL || c->sc == NULL ||
	    secchan_set_muxers(c->sc, conn_muxers, 1) != 0) {
		conn_drop(c, CONN_R_INTERNAL, "cannot allocate connection");
		return NULL;
	}
	c->phase = CONN_DIALING;
	if (conn_connect(c, c->sec.bev, &c->dial) != 0) {
		conn_drop(c, CONN_R_CONNECT_FAILED, "cannot start connect");
		return NULL;
	}
	return c;
}

struct session *
conn_session(const struct conn *c)
{
	return c->sess;
}

bool
conn_session_pending_to(const struct conn *c, const struct peer_id *peer)
{
	if (c->dropped || !c->session_dial ||
	    !peer_id_equal(&c->dial.peer, peer))
		return false;
	return c->phase == CONN_DIALING || c->phase == CONN_HANDSHAKING ||
	    (c->phase == CONN_SESSION && session_negotiating(c->sess));
}

/* Hold an app connection until c's session is up.  0 or -1. */
static int
conn_pend(struct conn *c, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *from)
{
	struct conn_pending *p;

	if (c->npending == CONN_PENDING_MAX)
		return -1;
	p = realloc(c->pending, (c->npending + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	c->pending = p;
	p = &c->pending[c->npending++];
	memset(p, 0, sizeof(*p));
	p->fw = *fw;
	p->fd = fd;
	if (from != NULL && (from->sa_family == AF_INET ||
	    from->sa_family == AF_INET6))
		memcpy(&p->from, from, from->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	clock_gettime(CLOCK_MONOTONIC, &p->since);
	return 0;
}

void
conn_session_ready(struct conn *c)
{
	struct conn_pending *p = c->pending;
	size_t i, n = c->npending;

	c->pending = NULL;
	c->npending = 0;
	for (i = 0; i < n; i++)
		session_open_forward(c->sess, &p[i].fw, p[i].fd,
		    (struct sockaddr *)&p[i].from);
	free(p);
}

/* Refuse an app connection with a stream close line; fd is closed. */
static void
conn_refuse_stream(struct conn_env *env, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *from, enum conn_reason r,
    const char *detail)
{
	struct linger lg = { 1, 0 };
	char addr[INET6_ADDRSTRLEN + 8], peer[PEER_ID_STR_MAX];
	char route[CONFIG_NAME_MAX + 8];

	conn_format_addr(from, addr, sizeof(addr));
	peer_id_to_string(&fw->peer.peer, peer, sizeof(peer));
	snprintf(route, sizeof(route), "forward.%s", fw->name);
	stream_log_close(LOG_WARN, env->log_prefix, 0, route, addr, peer,
	    fw->protocol, 0, 0, 0.0, conn_reason_name(r), detail, 0);
	if (env->on_stream_close != NULL)
		env->on_stream_close(env->node, route, r, 0, 0);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	evutil_closesocket(fd);
}

void
conn_forward_stream(struct conn_env *env, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *from, const char *no_dial)
{
	struct session *s;
	struct conn *c;

	for (s = session_first(env); s != NULL; s = session_next(s))
		if (session_usable(s) &&
		    peer_id_equal(session_peer(s), &fw->peer.peer)) {
			session_open_forward(s, fw, fd, from);
			return;
		}
	for (c = env->head; c != NULL; c = c->next)
		if (conn_session_pending_to(c, &fw->peer.peer)) {
			if (conn_pend(c, fw, fd, from) != 0)
				conn_refuse_stream(env, fw, fd, from,
				    CONN_R_INTERNAL, "too many app connections "
				    "waiting for the session");
			return;
		}
	if (no_dial != NULL && !fw->no_addr) {
		conn_refuse_stream(env, fw, fd, from, CONN_R_CONNECT_FAILED,
		    no_dial);
		return;
	}
	if (fw->no_addr) {
		conn_refuse_stream(env, fw, fd, from, CONN_R_NO_SESSION,
		    "no live session with the peer, and peer has no address "
		    "to dial (it must connect to us)");
		return;
	}
	c = conn_new_session(env, "session", &fw->peer, fw->security,
	    fw->nsecurity);
	if (c == NULL || conn_pend(c, fw, fd, from) != 0) {
		if (c != NULL)
			conn_drop(c, CONN_R_INTERNAL, "out of memory");
		conn_refuse_stream(env, fw, fd, from, CONN_R_INTERNAL,
		    "cannot start a session dial");
	}
}

const char *
conn_from(const struct conn *c)
{
	return c->from;
}

/* The binary multiaddr of a socket address into out; its length or 0. */
static size_t
conn_sockaddr_ma(const struct sockaddr_storage *ss, uint8_t *out, size_t cap)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;
	struct multiaddr ma;
	int n;

	memset(&ma, 0, sizeof(ma));
	if (ss->ss_family == AF_INET) {
		ma.kind = MA_IP4;
		inet_ntop(AF_INET, &s4->sin_addr, ma.host, sizeof(ma.host));
		ma.port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		ma.kind = MA_IP6;
		inet_ntop(AF_INET6, &s6->sin6_addr, ma.host, sizeof(ma.host));
		ma.port = ntohs(s6->sin6_port);
	} else
		return 0;
	n = multiaddr_to_bytes(&ma, out, cap);
	return n > 0 ? (size_t)n : 0;
}

/*
 * identify (/ipfs/id/1.0.0): our public key, our listen address, the
 * remote's address as we see it, the protocols this peer may open
 * (ours and its exposes', from the current config), "ipfs/0.1.0" and
 * "peerlock/VERSION"; uvarint length, then the protobuf.
 */
size_t
conn_identify_msg(const struct conn *c, uint8_t *buf, size_t cap)
{
	const struct config *cfg = c->env->gen->cfg;
	const char *protos[PB_ID_PROTOCOLS_MAX];
	struct pb_identify *m;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct peer_id peer;
	const uint8_t *pk;
	uint8_t len[9];
	size_t n, i, k;
	int w;

	if (c->gen->id == NULL || c->sess == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		return 0;
	pk = pubkey_bytes(identity_pubkey(c->gen->id), &n);
	if (n <= sizeof(m->public_key)) {
		memcpy(m->public_key, pk, n);
		m->public_key_len = n;
		m->has_public_key = true;
	}
	if (cfg->has_listen && (w = multiaddr_to_bytes(&cfg->listen,
	    m->listen_addrs[0], PB_ID_ADDR_MAX)) > 0) {
		m->listen_addr_len[0] = (size_t)w;
		m->n_listen_addrs = 1;
	}
	memset(&ss, 0, sizeof(ss));
	if (getpeername(bufferevent_getfd(c->sec.bev), (struct sockaddr *)&ss,
	    &sl) == 0 && (n = conn_sockaddr_ma(&ss, m->observed_addr,
	    sizeof(m->observed_addr))) > 0) {
		m->observed_addr_len = n;
		m->has_observed_addr = true;
	}
	protos[0] = IDENTIFY_PROTO;
	protos[1] = IDENTIFY_PUSH_PROTO;
	protos[2] = PING_PROTO;
	peer = *session_peer(c->sess);
	k = 3 + config_peer_protocols(cfg, &peer, protos + 3,
	    PB_ID_PROTOCOLS_MAX - 3);
	for (i = 0; i < k; i++)
		snprintf(m->protocols[i], sizeof(m->protocols[i]), "%s",
		    protos[i]);
	m->n_protocols = k;
	m->has_protocol_version = true;
	snprintf(m->protocol_version, sizeof(m->protocol_version),
	    "ipfs/0.1.0");
	m->has_agent_version = true;
	snprintf(m->agent_version, sizeof(m->agent_version), "peerlock/%s",
	    version_release());
	n = 0;
	if (cap > sizeof(len) &&
	    (w = pb_identify_encode(m, buf + sizeof(len), cap - sizeof(len))) >
	    0) {
		k = varint_encode((uint64_t)w, len);
		memmove(buf + k, buf + sizeof(len), (size_t)w);
		memcpy(buf, len, k);
		n = k + (size_t)w;
	}
	free(m);
	return n;
}
