/*
 * node.c - a running instance: binds the encrypted listener and one
 * plaintext listener per forward, creates a conn per accepted socket,
 * enforces the connection limits, reloads and stops gracefully.
 *
 * Reload: config, identity and credentials form a generation (struct
 * node_gen, reference-counted through conn_gen).  The node holds the
 * current one; every conn holds the one it was created with.  A reload
 * builds a new generation and the new listener set, then swaps: the old
 * generation lives until its last conn closes.
 */
#include "node.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "iptable.h"
#include "log.h"
#include "loops.h"
#include "secchan.h"
#include "session.h"

enum {
	NODE_BACKLOG = 1024,
	NODE_ACCEPT_RETRY_MS = 1000,	/* pause after EMFILE/ENFILE */
	/* [connect]: check every second; back off 1 s, doubling to 60 s */
	NODE_CONNECT_TICK_MS = 1000,
	NODE_CONNECT_BACKOFF_MIN_MS = 1000,
	NODE_CONNECT_BACKOFF_MAX_MS = 60000,
	/*
	 * Node-mode forwards: after a failed session dial, app connections
	 * are refused without dialing for 0.5 s, doubling to 10 s while
	 * dials keep failing (the longest a recovered peer waits for us).
	 */
	NODE_DIAL_BACKOFF_MIN_MS = 500,
	NODE_DIAL_BACKOFF_MAX_MS = 10000
};

/* Reconnect state of one [connect.NAME] (by name across reloads). */
struct node_connect {
	char name[CONFIG_NAME_MAX];
	unsigned backoff_ms;
	struct timespec next;		/* no dial before this */
};

/* One listening socket and what it is for. */
struct node_listener {
	struct node *node;
	struct evconnlistener *l;
	const struct config_forward *fw;	/* NULL: encrypted listener */
	struct event *retry;
	unsigned port;
	char addr[320];			/* configured address, canonical */
	bool keep;			/* reload: still configured */
};

/* What the tunnels of one forward taught us about its remote peer. */
struct node_peer {
	char route[CONFIG_NAME_MAX + 8];	/* "forward.NAME" */
	enum node_peer_state state;
	char peer[PEER_ID_STR_MAX];	/* last authenticated */
	double last_ok, last_err_at;	/* Unix time, 0 = never */
	char last_err[320];
	/* node mode: no session dial before retry_at (backoff_ms) */
	unsigned backoff_ms;
	struct timespec retry_at;
};

/*
 * The immutable part of a generation, shared by the nodes of every
 * event loop (threads = N): config and identity, never written after
 * parsing.  The last node_gen to let go frees them.
 */
struct node_cfgref {
	_Atomic unsigned refs;
	struct config *cfg;
	struct identity *id;
};

/*
 * One generation of one node: the shared config and identity plus this
 * loop's credentials (their ephemeral key pool and signature cache are
 * mutable, so each loop has its own).  Its refcount is only touched on
 * the node's own loop.
 */
struct node_gen {
	struct conn_gen g;		/* first: conns hold it by this */
	struct node_cfgref *ref;
	struct config *cfg;		/* ref->cfg */
	struct identity *id;		/* ref->id */
	struct secchan_cred *cred;
};

struct node {
	struct event_base *base;
	struct node_gen *gen;		/* current; the node holds one ref */
	struct conn_env env;
	struct node_listener **ls;	/* slot 0: encrypted (may be NULL) */
	size_t nls;
	int *inherited;			/* LISTEN_FDS sockets, -1 = adopted */
	size_t ninherited;
	char prefix[32];
	enum node_state state;
	struct node_metrics m;
	bool stopping;
	struct event *stop_timer;
	void (*stop_done)(struct node *);
	struct node_stats stats;
	struct iptable *per_ip;		/* inbound conns/handshakes per IP */
	unsigned handshaking;		/* inbound conns not yet authenticated */
	time_t last_limit_log;
	unsigned limit_suppressed;
	struct event *connect_timer;	/* [connect] keeper */
	struct node_connect *connects;	/* one per current [connect] */
	size_t nconnects;
	struct node_peer *peers;	/* one per forward of the config */
	size_t npeers;
	/* threads = N: this node's loop index and what the loops share */
	unsigned loop;
	struct node_group *group;	/* NULL: the only loop */
	long pub_conns, pub_inbound, pub_handshakes;	/* published */
};

/*
 * Counters the loops of one process share, for limits that are per
 * process (max_connections, max_handshakes): each node publishes its
 * own count as a delta.  first is loop 0's node, whose bound ports the
 * other loops reuse for port-0 listen addresses.
 */
struct node_group {
	_Atomic long conns;		/* conns + node-mode streams */
	_Atomic long inbound;		/* of which inbound conns + streams */
	_Atomic long handshakes;	/* inbound, not authenticated */
	/* the per-IP table of every loop (loop 0's), under ip_mu */
	struct iptable *per_ip;
	pthread_mutex_t ip_mu;
	struct node *first;
	unsigned nloops;
	struct loops *loops;		/* for hand-offs; NULL: none */
};

/* Unix time now, in seconds. */
static double
node_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The reachability record of route, or NULL (not a current forward). */
static struct node_peer *
node_peer_find(struct node *n, const char *route)
{
	size_t i;

	for (i = 0; i < n->npeers; i++)
		if (strcmp(n->peers[i].route, route) == 0)
			return &n->peers[i];
	return NULL;
}

/*
 * One record per forward of cfg, with what the current records know for
 * forwards that stay; install it with node_peers_commit.  NULL when out
 * of memory.
 */
static struct node_peer *
node_peers_for(struct node *n, const struct config *cfg)
{
	struct node_peer *np, *old;
	size_t i;

	if ((np = calloc(cfg->nforwards + 1, sizeof(*np))) == NULL)
		return NULL;
	for (i = 0; i < cfg->nforwards; i++) {
		snprintf(np[i].route, sizeof(np[i].route), "forward.%s",
		    cfg->forwards[i].name);
		if ((old = node_peer_find(n, np[i].route)) != NULL)
			np[i] = *old;
	}
	return np;
}

/* Make np (from node_peers_for(cfg)) the current records. */
static void
node_peers_commit(struct node *n, struct node_peer *np,
    const struct config *cfg)
{
	free(n->peers);
	n->peers = np;
	n->npeers = cfg->nforwards;
}

static long long node_ms(const struct timespec *, const struct timespec *);

/* now + ms. */
static struct timespec
node_after(const struct timespec *now, unsigned ms)
{
	struct timespec t = *now;

	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* The next backoff after ms: twice it, at most max. */
static unsigned
node_double(unsigned ms, unsigned max)
{
	return ms > max / 2 ? max : ms * 2;
}

/* Forward i of the current config is in node mode and dials peer. */
static bool
node_fw_dials(const struct node *n, size_t i, const struct peer_id *peer)
{
	const struct config *cfg = n->gen->cfg;

	return i < cfg->nforwards && peer != NULL &&
	    cfg->forwards[i].protocol[0] != '\0' &&
	    !cfg->forwards[i].no_addr &&
	    peer_id_equal(&cfg->forwards[i].peer.peer, peer);
}

/* The forward's peer authenticated: up, and no backoff. */
static void
node_peer_up(struct node_peer *p, const char *peer)
{
	p->state = NODE_PEER_UP;
	p->last_ok = node_now();
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	p->backoff_ms = 0;
	memset(&p->retry_at, 0, sizeof(p->retry_at));
}

/* The forward's peer could not be reached: down, since when and why. */
static void
node_peer_down(struct node_peer *p, enum conn_reason r, const char *detail)
{
	p->state = NODE_PEER_DOWN;
	p->last_err_at = node_now();
	snprintf(p->last_err, sizeof(p->last_err), "%s%s%s",
	    conn_reason_name(r), detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
}

/*
 * threads = N: add this loop's change in connections and pending
 * handshakes since the last call to the process-wide counters.
 */
static void
node_publish(struct node *n)
{
	long c = (long)n->env.count + (long)n->env.nstreams;
	long i = (long)n->env.ninbound + (long)n->env.ninbound_streams;
	long h = (long)n->handshaking;

	if (n->group == NULL)
		return;
	if (c != n->pub_conns)
		atomic_fetch_add_explicit(&n->group->conns, c - n->pub_conns,
		    memory_order_relaxed);
	if (i != n->pub_inbound)
		atomic_fetch_add_explicit(&n->group->inbound,
		    i - n->pub_inbound, memory_order_relaxed);
	if (h != n->pub_handshakes)
		atomic_fetch_add_explicit(&n->group->handshakes,
		    h - n->pub_handshakes, memory_order_relaxed);
	n->pub_conns = c;
	n->pub_inbound = i;
	n->pub_handshakes = h;
}

/*
 * The process-wide connections and inbound connections (conn_env's
 * totals hook: conn_env_inbound_full, also for streams peers open).
 */
static void
node_env_totals(struct node *n, unsigned long *all, unsigned long *inbound)
{
	node_publish(n);
	*all = (unsigned long)atomic_load_explicit(&n->group->conns,
	    memory_order_relaxed);
	*inbound = (unsigned long)atomic_load_explicit(&n->group->inbound,
	    memory_order_relaxed);
}

/* threads = N: the per-IP table is shared; hold its lock around use. */
static void
node_ip_lock(struct node *n)
{
	if (n->group != NULL)
		pthread_mutex_lock(&n->group->ip_mu);
}

static void
node_ip_unlock(struct node *n)
{
	if (n->group != NULL)
		pthread_mutex_unlock(&n->group->ip_mu);
}

/* Connections and pending handshakes of the whole process. */
static void
node_totals(struct node *n, unsigned long *conns, unsigned long *hs)
{
	node_publish(n);
	if (n->group == NULL) {
		*conns = (unsigned long)n->env.count + n->env.nstreams;
		*hs = n->handshaking;
		return;
	}
	*conns = (unsigned long)atomic_load_explicit(&n->group->conns,
	    memory_order_relaxed);
	*hs = (unsigned long)atomic_load_explicit(&n->group->handshakes,
	    memory_order_relaxed);
}

/* A conn was created: count inbound ones per source address. */
static void
node_on_conn_open(struct node *n, struct conn *c)
{
	struct conn_totals t;
	struct ipcount ic;

	conn_totals(c, &t);
	if (!t.inbound)
		return;
	n->handshaking++;
	node_ip_lock(n);
	iptable_add(n->per_ip, t.from, 1, 1, &ic);
	node_ip_unlock(n);
	node_publish(n);
}

/* A conn authenticated its peer: it no longer counts as a handshake. */
static void
node_on_conn_ready(struct node *n, struct conn *c)
{
	struct conn_totals t;
	struct ipcount ic;
	struct node_peer *p;
	size_t i;

	conn_totals(c, &t);
	if (!t.inbound && (p = node_peer_find(n, t.route)) != NULL)
		node_peer_up(p, t.peer);
	for (i = 0; t.session_dial && i < n->npeers; i++)
		if (node_fw_dials(n, i, t.dial_peer))
			node_peer_up(&n->peers[i], t.peer);
	if (t.handshake >= 0 && t.proto != NULL)
		metrics_hist_observe(&n->m.handshake[strcmp(t.proto,
		    sec_proto_id(SEC_TLS)) == 0 ? SEC_TLS : SEC_NOISE],
		    t.handshake);
	if (!t.inbound)
		return;
	n->handshaking--;
	node_ip_lock(n);
	iptable_add(n->per_ip, t.from, 0, -1, &ic);
	node_ip_unlock(n);
	node_publish(n);
}

/* A tunnel started relaying: count it by route and protocol. */
static void
node_on_conn_relay(struct node *n, struct conn *c)
{
	struct conn_totals t;

	conn_totals(c, &t);
	metrics_add(n->m.established, t.route, t.proto, 1);
}

/* A node-mode tunnel stream started relaying. */
static void
node_on_stream_open(struct node *n, const char *route, const char *proto,
    double open_secs)
{
	metrics_add(n->m.established, route, proto, 1);
	metrics_hist_observe(&n->m.stream_open, open_secs);
	node_publish(n);
}

/* A node-mode tunnel stream ended. */
static void
node_on_stream_close(struct node *n, const char *route, enum conn_reason r,
    unsigned long long up, unsigned long long down)
{
	n->stats.closed[r]++;
	n->stats.bytes_up += up;
	n->stats.bytes_down += down;
	metrics_add(n->m.closed, route, conn_reason_name(r), 1);
	if (up > 0)
		metrics_add(n->m.bytes, route, "up", up);
	if (down > 0)
		metrics_add(n->m.bytes, route, "down", down);
	node_publish(n);
}

/* A forward's tunnel ended: did it fail to reach the remote peer? */
static void
node_peer_closed(struct node *n, const struct conn_totals *t,
    enum conn_reason r)
{
	struct node_peer *p;

	struct timespec now;
	size_t i;

	if (t->inbound)
		return;
	if (t->session_dial && !t->authenticated && r != CONN_R_SHUTDOWN &&
	    r != CONN_R_INTERNAL) {
		/* a node-mode dial failed: its forwards back off */
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (i = 0; i < n->npeers; i++) {
			if (!node_fw_dials(n, i, t->dial_peer))
				continue;
			p = &n->peers[i];
			node_peer_down(p, r, t->detail);
			p->backoff_ms = p->backoff_ms == 0 ?
			    NODE_DIAL_BACKOFF_MIN_MS : node_double(p->backoff_ms,
			    NODE_DIAL_BACKOFF_MAX_MS);
			p->retry_at = node_after(&now, p->backoff_ms);
		}
		return;
	}
	if ((p = node_peer_find(n, t->route)) == NULL)
		return;
	if (!t->handshake_failed && r != CONN_R_CONNECT_FAILED &&
	    r != CONN_R_CONNECT_TIMEOUT && r != CONN_R_DNS_FAILED &&
	    r != CONN_R_REMOTE_CLOSED)
		return;
	node_peer_down(p, r, t->detail);
}

/*
 * A node-mode forward backing off after failed dials: true, with the
 * refusal's detail in why ("peer unreachable, next dial in 1.5 s; last
 * failure: ...").
 */
static bool
node_fw_backoff(struct node *n, const struct config_forward *fw, char *why,
    size_t cap)
{
	char route[CONFIG_NAME_MAX + 16];
	struct node_peer *p;
	struct timespec now;
	long long ms;

	snprintf(route, sizeof(route), "forward.%s", fw->name);
	if ((p = node_peer_find(n, route)) == NULL || p->backoff_ms == 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((ms = node_ms(&now, &p->retry_at)) <= 0)
		return false;
	snprintf(why, cap, "peer unreachable, next dial in %.1f s; last "
	    "failure: %s", (double)ms / 1000, p->last_err);
	return true;
}

/* A conn ended; finish a pending stop when it was the last. */
static void
node_on_conn_close(struct node *n, struct conn *c, enum conn_reason r)
{
	struct conn_totals t;
	struct ipcount ic;

	conn_totals(c, &t);
	node_peer_closed(n, &t, r);
	if (t.inbound) {
		if (!t.authenticated)
			n->handshaking--;
		node_ip_lock(n);
		iptable_add(n->per_ip, t.from, -1, t.authenticated ? 0 : -1,
		    &ic);
		node_ip_unlock(n);
	}
	n->stats.closed[r]++;
	n->stats.bytes_up += t.up;
	n->stats.bytes_down += t.down;
	metrics_add(n->m.closed, t.route, conn_reason_name(r), 1);
	if (t.handshake_failed)
		metrics_add(n->m.hs_failures, t.cls, NULL, 1);
	if (t.up > 0)
		metrics_add(n->m.bytes, t.route, "up", t.up);
	if (t.down > 0)
		metrics_add(n->m.bytes, t.route, "down", t.down);
	if (t.proto != NULL)
		snprintf(n->stats.last_proto, sizeof(n->stats.last_proto),
		    "%s", t.proto);
	node_publish(n);
	if (n->stopping && n->env.count == 0 && n->stop_done != NULL) {
		void (*done)(struct node *) = n->stop_done;

		n->stop_done = NULL;
		done(n);
	}
}

/* The last reference to a generation is gone: free it. */
struct node_cfgref *
node_cfgref_new(struct config *cfg, struct identity *id)
{
	struct node_cfgref *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		config_free(cfg);
		identity_free(id);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	r->cfg = cfg;
	r->id = id;
	return r;
}

void
node_cfgref_hold(struct node_cfgref *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void
node_cfgref_drop(struct node_cfgref *r)
{
	if (r == NULL || atomic_fetch_sub_explicit(&r->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	identity_free(r->id);
	config_free(r->cfg);
	free(r);
}

const struct config *
node_cfgref_config(const struct node_cfgref *r)
{
	return r->cfg;
}

static void
node_gen_release(struct conn_gen *g)
{
	struct node_gen *ng = (struct node_gen *)g;

	secchan_cred_free(ng->cred);
	node_cfgref_drop(ng->ref);
	free(ng);
}

/* A generation for ref (one reference taken over; dropped on failure). */
static struct node_gen *
node_gen_new(struct node_cfgref *ref, const char *prefix)
{
	struct node_gen *ng = calloc(1, sizeof(*ng));
	struct config *cfg = ref->cfg;
	struct identity *id = ref->id;

	if (ng == NULL)
		goto fail;
	if ((ng->cred = secchan_cred_new(id)) == NULL) {
		log_err("%sidentity: cannot build handshake credentials",
		    prefix);
		goto fail;
	}
	ng->ref = ref;
	ng->cfg = cfg;
	ng->id = id;
	ng->g.refs = 1;
	ng->g.cfg = cfg;
	ng->g.cred = ng->cred;
	ng->g.id = id;
	ng->g.release = node_gen_release;
	return ng;
fail:
	free(ng);
	node_cfgref_drop(ref);
	return NULL;
}

/* Handshake failure classes, listed with 0 before they first happen. */
static const char *const node_hs_classes[] = {
	"handshake_timeout", "closed_early", "no_common_protocol",
	"peer_id_mismatch", "not_allowed", "bad_message", "bad_identity",
	"tls_verify", "internal", "shed"
};

/* Allocate the metric families. */
static int
node_metrics_init(struct node_metrics *m)
{
	size_t i;

	m->established = metrics_family_new();
	m->closed = metrics_family_new();
	m->hs_failures = metrics_family_new();
	m->bytes = metrics_family_new();
	if (m->established == NULL || m->closed == NULL ||
	    m->hs_failures == NULL || m->bytes == NULL)
		return -1;
	for (i = 0; i < sizeof(node_hs_classes) / sizeof(node_hs_classes[0]);
	    i++)
		if (metrics_add(m->hs_failures, node_hs_classes[i], NULL, 0))
			return -1;
	return 0;
}

/* Free the metric families. */
static void
node_metrics_free(struct node_metrics *m)
{
	metrics_family_free(m->established);
	metrics_family_free(m->closed);
	metrics_family_free(m->hs_failures);
	metrics_family_free(m->bytes);
}

/* Create a node; see node.h. */
struct node *
node_new(struct event_base *base, struct resolver *dns, struct config *cfg,
    struct identity *id, const char *prefix)
{
	struct node_cfgref *ref = node_cfgref_new(cfg, id);

	return ref != NULL ? node_new_ref(base, dns, ref, prefix) : NULL;
}

/* Create a node on a shared config; see node.h. */
struct node *
node_new_ref(struct event_base *base, struct resolver *dns,
    struct node_cfgref *ref, const char *prefix)
{
	struct node *n = calloc(1, sizeof(*n));
	const struct config *cfg = ref->cfg;

	if (n == NULL) {
		node_cfgref_drop(ref);
		return NULL;
	}
	n->base = base;
	snprintf(n->prefix, sizeof(n->prefix), "%s", prefix);
	if ((n->gen = node_gen_new(ref, prefix)) == NULL)
		goto fail;
	n->env.base = base;
	n->env.resolver = dns;
	n->env.gen = &n->gen->g;
	n->env.node = n;
	n->env.on_open = node_on_conn_open;
	n->env.on_ready = node_on_conn_ready;
	n->env.on_relay = node_on_conn_relay;
	n->env.on_close = node_on_conn_close;
	n->env.on_stream_open = node_on_stream_open;
	n->env.on_stream_close = node_on_stream_close;
	n->env.window_stalls = &n->m.window_stalls;
	n->env.log_prefix = n->prefix;
	n->per_ip = iptable_new(cfg->max_connections);
	if (n->per_ip == NULL || node_metrics_init(&n->m) != 0 ||
	    (n->peers = node_peers_for(n, cfg)) == NULL)
		goto fail;
	n->npeers = cfg->nforwards;
	return n;
fail:
	if (n->gen != NULL)
		conn_gen_drop(&n->gen->g);
	node_metrics_free(&n->m);
	iptable_free(n->per_ip);
	free(n->peers);
	free(n);
	return NULL;
}

/* Log a refusal at a limit at most once per second, with a count. */
static void
node_limit_log(struct node *n, enum node_limit l, unsigned limit,
    const char *from)
{
	time_t now = time(NULL);

	n->stats.refused[l]++;
	if (now == n->last_limit_log) {
		n->limit_suppressed++;
		return;
	}
	log_warn("%slimit: %s (%u) reached, refusing connection from %s"
	    " (+%u more refused in the previous second)", n->prefix,
	    node_limit_name(l), limit, from, n->limit_suppressed);
	n->last_limit_log = now;
	n->limit_suppressed = 0;
}

/* Label of a limit. */
const char *
node_limit_name(enum node_limit l)
{
	static const char *const names[NODE_LIMIT_COUNT] = {
		[NODE_LIMIT_CONNECTIONS] = "max_connections",
		[NODE_LIMIT_HANDSHAKES] = "max_handshakes",
		[NODE_LIMIT_CONNECTIONS_PER_IP] = "max_connections_per_ip",
		[NODE_LIMIT_HANDSHAKES_PER_IP] = "max_handshakes_per_ip",
		[NODE_LIMIT_FDS] = "file_descriptors",
		[NODE_LIMIT_LOCAL_RESERVE] = "local_reserve",
	};

	return (unsigned)l < NODE_LIMIT_COUNT ? names[l] : "unknown";
}

/*
 * Which limit refuses a new connection from sa on listener nl, or
 * NODE_LIMIT_COUNT if none; *limit gets the configured value.  The
 * per-source limits come before max_handshakes, so that a newcomer is
 * refused by its own source's limits before anyone is shed for it.
 */
static enum node_limit
node_check_limits(struct node *n, const struct node_listener *nl,
    const struct sockaddr *sa, unsigned *limit)
{
	const struct config *cfg = n->gen->cfg;
	struct ipcount ic;
	unsigned long conns, hs;
	bool full;

	node_totals(n, &conns, &hs);
	*limit = cfg->max_connections;
	if (conns >= cfg->max_connections)
		return NODE_LIMIT_CONNECTIONS;
	if (nl->fw != NULL)
		return NODE_LIMIT_COUNT;	/* local apps: global cap only */
	*limit = cfg->local_reserve;
	if (conn_env_inbound_full(&n->env))
		return NODE_LIMIT_LOCAL_RESERVE;
	node_ip_lock(n);
	ic = iptable_get(n->per_ip, sa);
	/* a new source the table has no room for would not be counted */
	full = ic.conns == 0 && iptable_size(n->per_ip) >=
	    iptable_cap(n->per_ip);
	node_ip_unlock(n);
	*limit = cfg->max_connections_per_ip;
	if (ic.conns >= cfg->max_connections_per_ip || full)
		return NODE_LIMIT_CONNECTIONS_PER_IP;
	*limit = cfg->max_handshakes_per_ip;
	if (ic.handshakes >= cfg->max_handshakes_per_ip)
		return NODE_LIMIT_HANDSHAKES_PER_IP;
	*limit = cfg->max_handshakes;
	if (hs >= cfg->max_handshakes)
		return NODE_LIMIT_HANDSHAKES;
	return NODE_LIMIT_COUNT;
}

/*
 * The handshake budget is full: make room by shedding the oldest
 * unauthenticated inbound connection (silent ones first) rather than
 * refusing the newcomer, so that an idle flood from many addresses
 * cannot lock out a peer that completes its handshake promptly.  The
 * shed conn's close line says why.  Returns whether room was made.
 */
static bool
node_shed(struct node *n, unsigned limit)
{
	enum conn_preauth which;
	char why[96];

	snprintf(why, sizeof(why), "limit: max_handshakes (%u) reached",
	    limit);
	if (!conn_shed_oldest(&n->env, why, &which))
		return false;
	unsigned long conns, hs;

	n->stats.shed[which]++;
	node_totals(n, &conns, &hs);
	return hs < n->gen->cfg->max_handshakes;
}

static bool node_has_session(struct node *, const struct peer_id *, bool *);
static unsigned node_other_loop_session(struct node *,
    const struct peer_id *);

/* Whether loop k's node has a usable session to a peer (loops_call). */
struct node_probe {
	const struct peer_id *peer;
	bool found;
};

static void
node_on_probe(struct node *n, void *arg)
{
	struct node_probe *p = arg;
	struct session *s;

	for (s = session_first(&n->env); s != NULL; s = session_next(s))
		if (session_usable(s) && peer_id_equal(session_peer(s),
		    p->peer)) {
			p->found = true;
			return;
		}
}

/*
 * threads = N, on loop 0: the first other loop with a usable session to
 * peer (asked on each loop's own thread), or 0 for none.
 */
static unsigned
node_other_loop_session(struct node *n, const struct peer_id *peer)
{
	struct node_probe p = { peer, false };
	unsigned k;

	if (n->group == NULL || n->group->loops == NULL || n->loop != 0)
		return 0;
	for (k = 1; k < n->group->nloops; k++) {
		loops_call(n->group->loops, k, node_on_probe, &p);
		if (p.found)
			return k;
	}
	return 0;
}

/* An app connection of a node-mode forward, moving to another loop. */
struct node_handoff {
	struct node *to;
	char fw[CONFIG_NAME_MAX];
	evutil_socket_t fd;
	struct sockaddr_storage from;
};

/* On the receiving loop: open the stream there (forward by name). */
static void
node_on_handoff(void *arg)
{
	struct node_handoff *h = arg;
	struct node *n = h->to;
	const struct config *cfg = n->gen->cfg;
	size_t i;

	for (i = 0; i < cfg->nforwards; i++)
		if (strcmp(cfg->forwards[i].name, h->fw) == 0)
			break;
	if (i == cfg->nforwards || n->stopping) {
		log_info("%sforward.%s: app connection handed over after the "
		    "forward was removed or while draining; closed", n->prefix,
		    h->fw);
		evutil_closesocket(h->fd);
	} else {
		n->stats.handoffs_in++;
		conn_forward_stream(&n->env, &cfg->forwards[i], h->fd,
		    (const struct sockaddr *)&h->from, NULL);
	}
	free(h);
}

/*
 * threads = N, on loop 0: a node-mode forward's app connection for a
 * peer with no session on this loop goes to the loop that has a usable
 * session with it (the peer dialed us and the kernel gave its
 * connection to another loop), instead of dialing a second session
 * (which fails outright for a peer with no address).  Returns whether
 * fd was handed over (then it is no longer ours).
 */
static bool
node_handoff(struct node *n, const struct config_forward *fw,
    evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	struct node_handoff *h;
	bool usable;
	unsigned k;

	if (n->group == NULL || n->group->loops == NULL || n->loop != 0 ||
	    node_has_session(n, &fw->peer.peer, &usable) ||
	    (k = node_other_loop_session(n, &fw->peer.peer)) == 0 ||
	    (size_t)salen > sizeof(h->from) ||
	    (h = calloc(1, sizeof(*h))) == NULL)
		return false;
	h->to = loops_node(n->group->loops, k);
	snprintf(h->fw, sizeof(h->fw), "%s", fw->name);
	h->fd = fd;
	memcpy(&h->from, sa, (size_t)salen);
	if (loops_post(n->group->loops, k, node_on_handoff, h) != 0) {
		free(h);
		return false;
	}
	return true;
}

/* A socket was accepted on one of our listeners. */
static void
node_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct node_listener *nl = arg;
	struct node *n = nl->node;
	char from[64] = "?", why[400];

	enum node_limit lim;
	unsigned limit;

	(void)l;
	lim = node_check_limits(n, nl, sa, &limit);
	if (lim == NODE_LIMIT_HANDSHAKES && node_shed(n, limit))
		lim = NODE_LIMIT_COUNT;
	if (lim != NODE_LIMIT_COUNT) {
		if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
			getnameinfo(sa, (socklen_t)salen, from, sizeof(from),
			    NULL, 0, NI_NUMERICHOST);
		node_limit_log(n, lim, limit, from);
		evutil_closesocket(fd);
		return;
	}
	n->stats.accepted++;
	if (nl->fw != NULL && nl->fw->protocol[0] != '\0' &&
	    node_handoff(n, nl->fw, fd, sa, salen))
		return;
	if (nl->fw != NULL && nl->fw->protocol[0] != '\0')
		conn_forward_stream(&n->env, nl->fw, fd, sa,
		    node_fw_backoff(n, nl->fw, why, sizeof(why)) ? why : NULL);
	else if (nl->fw != NULL)
		conn_new_forward(&n->env, nl->fw, fd, sa, salen);
	else
		conn_new_inbound(&n->env, fd, sa, salen);
}

/* Re-enable a listener paused for lack of descriptors. */
static void
node_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct node_listener *nl = arg;

	(void)fd;
	(void)what;
	if (nl->l != NULL)
		evconnlistener_enable(nl->l);
}

/* accept() failed: pause on descriptor exhaustion, else log. */
static void
node_on_accept_error(struct evconnlistener *l, void *arg)
{
	struct node_listener *nl = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { NODE_ACCEPT_RETRY_MS / 1000,
	    (NODE_ACCEPT_RETRY_MS % 1000) * 1000 };

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		node_limit_log(nl->node, NODE_LIMIT_FDS, 0,
		    "(accept paused 1s)");
		evconnlistener_disable(l);
		evtimer_add(nl->retry, &tv);
		return;
	}
	log_warn("%saccept: %s", nl->node->prefix,
	    evutil_socket_error_to_string(err));
}

/* Whether two socket addresses are the same IP and port. */
static bool
node_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a,
	    *b6 = (const void *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return false;
}

/* An inherited listening socket bound to sa (now adopted), or -1. */
static int
node_take_inherited(struct node *n, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i;
	int fd;

	for (i = 0; i < n->ninherited; i++) {
		if ((fd = n->inherited[i]) < 0)
			continue;
		sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
		    !node_same_addr((struct sockaddr *)&ss, sa))
			continue;
		n->inherited[i] = -1;
		return fd;
	}
	return -1;
}

/* Listen on an inherited socket or a newly bound one for res. */
static struct evconnlistener *
node_listen_on(struct node *n, struct node_listener *nl,
    const struct addrinfo *res, bool *adopted)
{
	int fd = node_take_inherited(n, res->ai_addr);

	*adopted = fd >= 0;
	if (fd >= 0) {
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		/* backlog 0: already listening */
		return evconnlistener_new(n->base, node_on_accept, nl,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	}
	/* threads = N: every loop binds the address; the kernel spreads */
	return evconnlistener_new_bind(n->base, node_on_accept, nl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
	    (n->group != NULL && n->group->nloops > 1 ?
	    LEV_OPT_REUSEABLE_PORT : 0),
	    NODE_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
}

/* Close one listener and free it; NULL is a no-op. */
static void
node_listener_free(struct node_listener *nl)
{
	if (nl == NULL)
		return;
	if (nl->l != NULL)
		evconnlistener_free(nl->l);
	if (nl->retry != NULL)
		event_free(nl->retry);
	free(nl);
}

/*
 * threads = N: the port loop 0 got for slot i when the configured
 * address (addr, canonical) has port 0, so that every loop listens on
 * the same one; 0 otherwise.  Loop 0 binds first (start and reload run
 * one loop after the other).
 */
static unsigned
node_first_port(const struct node *n, size_t i, const char *addr)
{
	const struct node *f;

	if (n->group == NULL || (f = n->group->first) == NULL || f == n ||
	    i >= f->nls || f->ls[i] == NULL || strcmp(f->ls[i]->addr,
	    addr) != 0)
		return 0;
	return f->ls[i]->port;
}

/*
 * Bind a new listener for ma (configured at cfg's line); fw NULL for the
 * encrypted one.  NULL on error, logged with file:line.
 */
static struct node_listener *
node_bind(struct node *n, const struct multiaddr *ma, unsigned port0,
    const struct config_forward *fw, const struct config *cfg, int line)
{
	struct node_listener *nl;
	struct addrinfo hints, *res = NULL;
	struct multiaddr bound;
	char baddr[MULTIADDR_STR_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char port[8];
	bool adopted;
	int rc;

	if ((nl = calloc(1, sizeof(*nl))) == NULL)
		return NULL;
	nl->node = n;
	nl->fw = fw;
	multiaddr_to_string(ma, nl->addr, sizeof(nl->addr));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ma->kind == MA_IP4 || ma->kind == MA_DNS4 ? AF_INET :
	    ma->kind == MA_IP6 || ma->kind == MA_DNS6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", ma->port != 0 ? ma->port : port0);
	if ((rc = getaddrinfo(ma->host, port, &hints, &res)) != 0) {
		log_err("%s%s:%d: listen %s (%s): %s", n->prefix, cfg->path,
		    line, nl->addr, fw != NULL ? fw->name : "encrypted",
		    gai_strerror(rc));
		free(nl);
		return NULL;
	}
	nl->l = node_listen_on(n, nl, res, &adopted);
	freeaddrinfo(res);
	if (nl->l == NULL) {
		log_err("%s%s:%d: listen %s (%s): %s", n->prefix, cfg->path,
		    line, nl->addr, fw != NULL ? fw->name : "encrypted",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(nl);
		return NULL;
	}
	evconnlistener_set_error_cb(nl->l, node_on_accept_error);
	if ((nl->retry = evtimer_new(n->base, node_on_retry, nl)) == NULL) {
		node_listener_free(nl);
		return NULL;
	}
	if (getsockname(evconnlistener_get_fd(nl->l), (struct sockaddr *)&ss,
	    &sslen) == 0)
		nl->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	bound = *ma;			/* port 0: say which one we got */
	bound.port = (uint16_t)nl->port;
	log_info("%slistening on %s (%s%s)", n->prefix, multiaddr_to_string(
	    &bound, baddr, sizeof(baddr)), fw != NULL ? fw->name : "encrypted",
	    adopted ? ", socket from the service manager" : "");
	return nl;
}

/* Remember the sockets passed by the service manager. */
void
node_set_inherited(struct node *n, const int *fds, size_t nfds)
{
	free(n->inherited);
	n->inherited = NULL;
	n->ninherited = 0;
	if (nfds == 0 || (n->inherited = calloc(nfds, sizeof(int))) == NULL)
		return;
	memcpy(n->inherited, fds, nfds * sizeof(int));
	n->ninherited = nfds;
}

/* Address slot i of cfg listens on (slot 0: encrypted), or NULL. */
static const struct multiaddr *
node_slot_addr(const struct config *cfg, size_t i,
    const struct config_forward **fw)
{
	*fw = i == 0 ? NULL : &cfg->forwards[i - 1];
	if (i == 0)
		return cfg->has_listen ? &cfg->listen : NULL;
	return &cfg->forwards[i - 1].listen;
}

/*
 * The listener set for cfg: listeners of the current set whose address
 * is unchanged are reused (marked keep; fw is only updated on commit),
 * the others bound.  Returns the array (1 + nforwards slots) or NULL,
 * with everything newly bound closed again.
 */
static struct node_listener **
node_listeners_for(struct node *n, const struct config *cfg)
{
	struct node_listener **ls;
	const struct config_forward *fw;
	const struct multiaddr *ma;
	char addr[320];
	size_t i, j, nls = 1 + cfg->nforwards;

	if ((ls = calloc(nls, sizeof(*ls))) == NULL)
		return NULL;
	for (j = 0; j < n->nls; j++)
		if (n->ls[j] != NULL)
			n->ls[j]->keep = false;
	for (i = 0; i < nls; i++) {
		if ((ma = node_slot_addr(cfg, i, &fw)) == NULL)
			continue;
		/* node-mode forwards and their sessions: loop 0 only */
		if (n->loop > 0 && fw != NULL && fw->protocol[0] != '\0')
			continue;
		multiaddr_to_string(ma, addr, sizeof(addr));
		for (j = 0; j < n->nls; j++)
			if (n->ls[j] != NULL && !n->ls[j]->keep &&
			    strcmp(n->ls[j]->addr, addr) == 0)
				break;
		if (j < n->nls) {
			n->ls[j]->keep = true;
			ls[i] = n->ls[j];
		} else if ((ls[i] = node_bind(n, ma, node_first_port(n, i,
		    addr), fw, cfg, fw != NULL ?
		    fw->listen_line : cfg->listen_line)) == NULL)
			goto fail;
	}
	return ls;
fail:
	for (i = 0; i < nls; i++)
		if (ls[i] != NULL && !ls[i]->keep)
			node_listener_free(ls[i]);
	free(ls);
	return NULL;
}

/* Make ls the listener set for cfg; close the listeners not kept. */
static void
node_listeners_commit(struct node *n, struct node_listener **ls,
    const struct config *cfg)
{
	const struct config_forward *fw;
	size_t i;

	for (i = 0; i < n->nls; i++) {
		if (n->ls[i] == NULL || n->ls[i]->keep)
			continue;
		log_info("%sclosed listener %s (%s)", n->prefix,
		    n->ls[i]->addr, n->ls[i]->fw != NULL ? n->ls[i]->fw->name :
		    "encrypted");
		node_listener_free(n->ls[i]);
	}
	free(n->ls);
	n->ls = ls;
	n->nls = 1 + cfg->nforwards;
	for (i = 0; i < n->nls; i++) {
		if (ls[i] == NULL)
			continue;
		node_slot_addr(cfg, i, &fw);
		ls[i]->fw = fw;
		ls[i]->keep = false;
	}
}

/* Log inherited sockets no listener adopted. */
static void
node_log_unused_inherited(struct node *n)
{
	size_t i;

	for (i = 0; i < n->ninherited; i++)
		if (n->inherited[i] >= 0)
			log_warn("%ssocket activation: passed socket (fd %d) "
			    "matches no listen address; unused", n->prefix,
			    n->inherited[i]);
}

/* Whether a session to peer is up or on its way. */
static bool
node_has_session(struct node *n, const struct peer_id *peer, bool *usable)
{
	struct session *s;
	struct conn *c;

	*usable = false;
	for (s = session_first(&n->env); s != NULL; s = session_next(s))
		if (peer_id_equal(session_peer(s), peer) &&
		    (session_usable(s) || session_negotiating(s))) {
			*usable = session_usable(s);
			return true;
		}
	for (c = conn_first(&n->env); c != NULL; c = conn_next(c))
		if (conn_session_pending_to(c, peer))
			return true;
	return false;
}

int
node_perf(struct node *n, const struct peer_id *peer, uint64_t upload,
    uint64_t download, session_perf_done done, struct perfcmd *arg)
{
	struct session *s;

	for (s = session_first(&n->env); s != NULL; s = session_next(s))
		if (peer_id_equal(session_peer(s), peer) &&
		    session_usable(s))
			return session_open_perf(s, upload, download, done,
			    arg) == 0 ? 1 : -1;
	return 0;
}

/* Milliseconds from a to b. */
static long long
node_ms(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Keep a session open to every [connect] peer, with backoff. */
static void
node_on_connect_timer(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	const struct config *cfg = n->gen->cfg;
	const struct config_connect *k;
	struct node_connect *st;
	struct timeval tv = { NODE_CONNECT_TICK_MS / 1000, 0 };
	struct timespec now;
	char route[CONFIG_NAME_MAX + 16], addr[MULTIADDR_STR_MAX];
	bool usable;
	size_t i;

	(void)fd;
	(void)what;
	if (n->stopping)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < cfg->nconnects && i < n->nconnects; i++) {
		k = &cfg->connects[i];
		st = &n->connects[i];
		if (node_has_session(n, &k->peer.peer, &usable)) {
			if (usable)
				st->backoff_ms = NODE_CONNECT_BACKOFF_MIN_MS;
			continue;
		}
		/* threads = N: the peer dialed us and sits on another loop */
		if (node_other_loop_session(n, &k->peer.peer) != 0) {
			st->backoff_ms = NODE_CONNECT_BACKOFF_MIN_MS;
			continue;
		}
		if (node_ms(&st->next, &now) < 0)
			continue;
		snprintf(route, sizeof(route), "connect.%s", k->name);
		log_info("%s%s: dialing %s (next retry in %u ms if it fails)",
		    n->prefix, route, multiaddr_to_string(&k->peer, addr,
		    sizeof(addr)), st->backoff_ms);
		(void)conn_new_session(&n->env, route, &k->peer, k->security,
		    k->nsecurity);
		st->next = node_after(&now, st->backoff_ms);
		st->backoff_ms = node_double(st->backoff_ms,
		    NODE_CONNECT_BACKOFF_MAX_MS);
	}
	evtimer_add(n->connect_timer, &tv);
}

/* Match the [connect] keeper's state to cfg (kept by name).  0 or -1. */
static int
node_connects_for(struct node *n, const struct config *cfg)
{
	struct node_connect *nc = NULL;
	struct timeval tv = { 0, 0 };
	size_t i, j;

	/* [connect] keepers run on loop 0 only (docs/threads.md) */
	if (n->loop > 0)
		return 0;
	if (cfg->nconnects > 0 &&
	    (nc = calloc(cfg->nconnects, sizeof(*nc))) == NULL)
		return -1;
	for (i = 0; i < cfg->nconnects; i++) {
		snprintf(nc[i].name, sizeof(nc[i].name), "%s",
		    cfg->connects[i].name);
		nc[i].backoff_ms = NODE_CONNECT_BACKOFF_MIN_MS;
		for (j = 0; j < n->nconnects; j++)
			if (strcmp(n->connects[j].name, nc[i].name) == 0)
				nc[i] = n->connects[j];
	}
	free(n->connects);
	n->connects = nc;
	n->nconnects = cfg->nconnects;
	if (n->connect_timer == NULL && (n->connect_timer = evtimer_new(
	    n->base, node_on_connect_timer, n)) == NULL)
		return -1;
	if (cfg->nconnects > 0)
		evtimer_add(n->connect_timer, &tv);
	return 0;
}

/* "host:port" of ma with the bound port (IPv6 in brackets). */
static void
node_fmt_listen(const struct multiaddr *ma, unsigned port, char *buf,
    size_t cap)
{
	snprintf(buf, cap, "%s%s%s:%u", ma->kind == MA_IP6 ? "[" : "",
	    ma->host, ma->kind == MA_IP6 ? "]" : "", port);
}

/*
 * One line per route, so the log says which forward goes to which peer
 * and which peers reach which target:
 *   route forward.db listen=127.0.0.1:15432 peer=12D3KooW... at=/ip4/...
 *   route expose.db peers=12D3KooW...,12D3KooW... target=127.0.0.1:5432
 */
static void
node_log_routes(const struct node *n, const struct config *cfg)
{
	char l[MULTIADDR_STR_MAX], at[MULTIADDR_STR_MAX], pid[PEER_ID_STR_MAX];
	char sec[16], peers[4 * PEER_ID_STR_MAX + 32];
	struct log_field f[5];
	struct multiaddr ma;
	size_t i, j, used;

	for (i = 0; i < cfg->nforwards; i++) {
		const struct config_forward *fw = &cfg->forwards[i];

		node_fmt_listen(&fw->listen, node_forward_port(n, i), l,
		    sizeof(l));
		ma = fw->peer;
		ma.has_peer = false;
		multiaddr_to_string(&ma, at, sizeof(at));
		peer_id_to_string(&fw->peer.peer, pid, sizeof(pid));
		for (j = 0, used = 0; j < fw->nsecurity; j++)
			used += (size_t)snprintf(sec + used, sizeof(sec) - used,
			    "%s%s", j > 0 ? "," : "",
			    sec_proto_name(fw->security[j]));
		f[0] = (struct log_field){ "listen", l, LOG_F_STR };
		f[1] = (struct log_field){ "peer", pid, LOG_F_STR };
		f[2] = (struct log_field){ "at", fw->no_addr ? NULL : at,
		    LOG_F_STR };
		f[3] = (struct log_field){ "security", sec, LOG_F_STR };
		f[4] = (struct log_field){ "protocol", fw->protocol[0] != '\0' ?
		    fw->protocol : NULL, LOG_F_STR };
		log_fields(LOG_INFO, f, 5, "%sroute forward.%s", n->prefix,
		    fw->name);
	}
	for (i = 0; i < cfg->nexposes; i++) {
		const struct config_expose *e = &cfg->exposes[i];

		used = (size_t)snprintf(peers, sizeof(peers), "%s",
		    e->any ? "*" : "");
		for (j = 0; j < e->npeers && j < 4; j++)
			used += (size_t)snprintf(peers + used, sizeof(peers) -
			    used, "%s%s", j > 0 ? "," : "", peer_id_to_string(
			    &e->peers[j], pid, sizeof(pid)));
		if (e->npeers > 4)
			snprintf(peers + used, sizeof(peers) - used,
			    ",+%zu more", e->npeers - 4);
		node_fmt_listen(&e->target, e->target.port, l, sizeof(l));
		f[0] = (struct log_field){ "peers", peers, LOG_F_STR };
		f[1] = (struct log_field){ "target", l, LOG_F_STR };
		f[2] = (struct log_field){ "proxy_protocol", e->proxy_v2 ?
		    "v2" : NULL, LOG_F_STR };
		f[3] = (struct log_field){ "protocol", e->protocol[0] != '\0' ?
		    e->protocol : NULL, LOG_F_STR };
		log_fields(LOG_INFO, f, 4, "%sroute expose.%s", n->prefix,
		    e->name);
	}
}

/* Bind the encrypted listener (slot 0) and every forward. */
int
node_start(struct node *n)
{
	struct node_listener **ls;
	char id[PEER_ID_STR_MAX];

	log_info("%speer id %s", n->prefix, peer_id_to_string(
	    identity_peer_id(n->gen->id), id, sizeof(id)));
	if ((ls = node_listeners_for(n, n->gen->cfg)) == NULL)
		return -1;
	node_listeners_commit(n, ls, n->gen->cfg);
	node_log_unused_inherited(n);
	if (node_connects_for(n, n->gen->cfg) != 0)
		return -1;
	node_log_routes(n, n->gen->cfg);
	n->state = NODE_SERVING;
	return 0;
}

/*
 * After a reload: close the inbound tunnels whose peer no expose of the
 * new config admits (revoked).  Returns how many were closed.
 */
static unsigned
node_revoke(struct node *n)
{
	struct conn *c, *next;
	struct conn_totals t;
	char detail[PEER_ID_STR_MAX + 96];
	unsigned k = 0;

	for (c = conn_first(&n->env); c != NULL; c = next) {
		next = conn_next(c);
		conn_totals(c, &t);
		if (!t.inbound || t.peer_id == NULL)
			continue;
		/* a node-mode session: any node-mode route keeps it */
		if (conn_session(c) != NULL ?
		    config_peer_node(n->gen->cfg, t.peer_id) :
		    config_route(n->gen->cfg, t.peer_id) != NULL)
			continue;
		snprintf(detail, sizeof(detail), "peer-id check: %s is no "
		    "longer allowed by any %sexpose (reload)", t.peer,
		    conn_session(c) != NULL ? "node-mode " : "");
		conn_revoke(c, detail);
		k++;
	}
	return k;
}

/* Switch to a new generation; see node.h. */
int
node_reload(struct node *n, struct config *cfg, struct identity *id)
{
	struct node_cfgref *ref = node_cfgref_new(cfg, id);

	if (ref == NULL) {
		n->m.reloads_failed++;
		return -1;
	}
	return node_reload_ref(n, ref);
}

/* Switch to a new shared generation; see node.h. */
int
node_reload_ref(struct node *n, struct node_cfgref *ref)
{
	struct node_listener **ls;
	struct node_gen *ng, *old;
	struct node_peer *np;
	const struct config *cfg = ref->cfg;
	unsigned revoked;
	char pid[PEER_ID_STR_MAX], oid[PEER_ID_STR_MAX];
	int rc;

	if (n->stopping) {
		log_warn("%sreload: ignored while draining", n->prefix);
		node_cfgref_drop(ref);
		n->m.reloads_failed++;
		return -1;
	}
	if ((ng = node_gen_new(ref, n->prefix)) == NULL)
		goto fail;
	/* new addresses must not escape the per-IP limits */
	node_ip_lock(n);
	rc = iptable_grow(n->per_ip, cfg->max_connections);
	node_ip_unlock(n);
	if (rc != 0 || (np = node_peers_for(n, cfg)) == NULL) {
		conn_gen_drop(&ng->g);
		goto fail;
	}
	if ((ls = node_listeners_for(n, cfg)) == NULL) {
		free(np);
		conn_gen_drop(&ng->g);
		goto fail;
	}
	node_peers_commit(n, np, cfg);
	node_listeners_commit(n, ls, cfg);
	old = n->gen;
	n->gen = ng;
	n->env.gen = &ng->g;
	if (node_connects_for(n, cfg) != 0)
		log_err("%sreload: out of memory for [connect] state",
		    n->prefix);
	peer_id_to_string(identity_peer_id(ng->id), pid, sizeof(pid));
	peer_id_to_string(identity_peer_id(old->id), oid, sizeof(oid));
	if (strcmp(pid, oid) != 0)
		log_info("%sreload: peer id changed from %s to %s", n->prefix,
		    oid, pid);
	revoked = node_revoke(n);
	log_info("%sreload: %s loaded (%zu forward(s), %zu expose(s), peer "
	    "id %s); %u live tunnel(s) keep their settings, %u revoked "
	    "(peer no longer in any expose)", n->prefix, cfg->path,
	    cfg->nforwards, cfg->nexposes, pid, n->env.count, revoked);
	conn_gen_drop(&old->g);
	node_log_routes(n, cfg);
	n->m.reloads_ok++;
	return 0;
fail:
	log_err("%sreload failed; keeping the running configuration",
	    n->prefix);
	n->m.reloads_failed++;
	return -1;
}

/* Count a failed reload. */
void
node_reload_failed(struct node *n)
{
	n->m.reloads_failed++;
}

/* Close every listener. */
static void
node_close_listeners(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nls; i++) {
		node_listener_free(n->ls[i]);
		n->ls[i] = NULL;
	}
}

/* Drop every conn still open, saying why. */
static void
node_drop_all(struct node *n, enum conn_reason r, const char *why)
{
	struct conn *c, *next;

	for (c = conn_first(&n->env); c != NULL; c = next) {
		next = conn_next(c);
		conn_drop(c, r, why);
	}
}

/* Close every tunnel now; see node.h. */
void
node_close_all(struct node *n, const char *why)
{
	node_drop_all(n, CONN_R_SHUTDOWN, why);
}

/* The drain period is over: close what is left. */
static void
node_on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	(void)fd;
	(void)what;
	log_warn("%sshutdown: %u tunnels still open, closing them", n->prefix,
	    n->env.count);
	node_drop_all(n, CONN_R_SHUTDOWN, "shutdown_timeout expired");
}

/* Graceful stop; see node.h. */
void
node_stop(struct node *n, unsigned timeout_ms, void (*done)(struct node *))
{
	struct conn *c, *next;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (n->stopping)
		return;
	n->stopping = true;
	n->state = NODE_DRAINING;
	n->stop_done = done;
	node_close_listeners(n);
	for (c = conn_first(&n->env); c != NULL; c = next) {
		next = conn_next(c);
		conn_shutdown(c);
	}
	if (n->env.count == 0) {
		n->stop_done = NULL;
		if (done != NULL)
			done(n);
		return;
	}
	log_info("%sshutdown: waiting up to %u ms for %u tunnels", n->prefix,
	    timeout_ms, n->env.count);
	n->stop_timer = evtimer_new(n->base, node_on_stop_timer, n);
	if (n->stop_timer != NULL)
		evtimer_add(n->stop_timer, &tv);
}

/* Free everything. */
void
node_free(struct node *n)
{
	size_t i;

	if (n == NULL)
		return;
	n->stop_done = NULL;
	if (n->ls != NULL)
		node_close_listeners(n);
	node_drop_all(n, CONN_R_SHUTDOWN, "peerlock stopping");
	if (n->stop_timer != NULL)
		event_free(n->stop_timer);
	if (n->connect_timer != NULL)
		event_free(n->connect_timer);
	free(n->connects);
	free(n->ls);
	for (i = 0; i < n->ninherited; i++)
		if (n->inherited[i] >= 0)
			close(n->inherited[i]);
	free(n->inherited);
	if (n->group == NULL)
		iptable_free(n->per_ip);	/* else the group's */
	node_metrics_free(&n->m);
	free(n->peers);
	conn_gen_drop(&n->gen->g);
	free(n);
}

/* Totals since start. */
const struct node_stats *
node_stats(const struct node *n)
{
	return &n->stats;
}

/* Live connections. */
unsigned
node_conn_count(const struct node *n)
{
	return n->env.count;
}

/* The identity. */
const struct identity *
node_identity(const struct node *n)
{
	return n->gen->id;
}

/* The current config. */
const struct config *
node_config(const struct node *n)
{
	return n->gen->cfg;
}

/* Serving state. */
enum node_state
node_state(const struct node *n)
{
	return n->state;
}

/* Metric counters. */
const struct node_metrics *
node_metrics(const struct node *n)
{
	return &n->m;
}

/* First live conn. */
struct conn *
node_conn_first(const struct node *n)
{
	return conn_first(&n->env);
}

/* Reachability of forward i's remote peer. */
bool
node_peer_status(const struct node *n, size_t i, struct node_peer_status *st)
{
	const struct node_peer *p;

	if (i >= n->npeers || i >= n->gen->cfg->nforwards)
		return false;
	p = &n->peers[i];
	st->route = p->route;
	st->fw = &n->gen->cfg->forwards[i];
	st->state = p->state;
	st->peer = p->peer;
	st->last_handshake = p->last_ok;
	st->last_error_at = p->last_err_at;
	st->last_error = p->last_err;
	return true;
}

/* Bound port of the encrypted listener. */
unsigned
node_listen_port(const struct node *n)
{
	return n->nls > 0 && n->ls[0] != NULL ? n->ls[0]->port : 0;
}

/* Bound port of forward i. */
unsigned
node_forward_port(const struct node *n, size_t i)
{
	return 1 + i < n->nls && n->ls[1 + i] != NULL ? n->ls[1 + i]->port : 0;
}

/* The counters the loops of a process share; see node.h. */
struct node_group *
node_group_new(unsigned nloops)
{
	struct node_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	atomic_init(&g->conns, 0);
	atomic_init(&g->inbound, 0);
	atomic_init(&g->handshakes, 0);
	pthread_mutex_init(&g->ip_mu, NULL);
	g->nloops = nloops;
	return g;
}

/* The loops of g, for hand-offs between them; see node.h. */
void
node_group_set_loops(struct node_group *g, struct loops *L)
{
	g->loops = L;
}

void
node_group_free(struct node_group *g)
{
	if (g == NULL)
		return;
	iptable_free(g->per_ip);
	pthread_mutex_destroy(&g->ip_mu);
	free(g);
}

/* Make n loop number loop of group g; see node.h. */
void
node_set_group(struct node *n, struct node_group *g, unsigned loop)
{
	n->group = g;
	n->loop = loop;
	n->env.totals = node_env_totals;
	/* one per-IP table for the process: loop 0's, owned by g */
	if (loop == 0) {
		g->first = n;
		g->per_ip = n->per_ip;
	} else {
		iptable_free(n->per_ip);
		n->per_ip = g->per_ip;
	}
}
