/*
 * admin.c - /healthz, /metrics, /connections and /status over a small
 * HTTP/1.x server of our own.
 *
 * Everything is rendered from the node at request time: the counters it
 * keeps (node_metrics, node_stats) plus a walk over the live conns for
 * the open-connection gauge and the bytes of tunnels still running, so
 * byte counters include live traffic and never go backwards.
 *
 * Transport: one request per connection (the answer says Connection:
 * close).  libevent 2.1's evhttp can neither cap its connections nor
 * bound a request's total time (its timeout restarts with every byte, so
 * a client dribbling a byte every few seconds held a connection for
 * hours), hence this: at most ADMIN_MAX_CLIENTS connections (more are
 * answered 503 and closed at once), and each one is closed
 * ADMIN_DEADLINE_MS after its accept whatever it is doing.  Refusals are
 * counted by kind and logged at most once a minute per kind.
 */
#include "admin.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aead.h"
#include "conn.h"
#include "log.h"
#include "loops.h"
#include "metrics.h"
#include "session.h"
#include "status.h"
#include "version.h"

enum {
	ADMIN_DEADLINE_MS = 10000,	/* accept to the end of the answer */
	ADMIN_MAX_CLIENTS = 16,		/* connections at once */
	ADMIN_MAX_HEADERS = 8192,	/* request line and headers */
	ADMIN_LOG_EVERY_S = 60,		/* refusal lines, per kind */
	ADMIN_BACKLOG = 64
};

/* Why the admin endpoint closed a connection without a normal answer. */
enum admin_refusal {
	ADMIN_REFUSE_BUSY,		/* ADMIN_MAX_CLIENTS open */
	ADMIN_REFUSE_DEADLINE,		/* request not done in time */
	ADMIN_REFUSE_BAD_REQUEST,	/* unparsable or oversized */
	ADMIN_REFUSE_COUNT
};

/* One answer: status, content type, body (NULL: none). */
struct admin_answer {
	int code;
	const char *reason;
	const char *ctype;
	const char *allow;		/* Allow header (405) or NULL */
	struct evbuffer *body;
};

struct admin;

/* One admin connection, from accept to close. */
struct admin_client {
	struct admin *a;
	struct admin_client *prev, *next;
	struct bufferevent *bev;
	struct event *deadline;
	bool answered;			/* answer queued: close once sent */
	bool shut;			/* FIN sent: wait for the client's */
	bool eof;			/* the client's FIN came */
	char from[64];
};

struct admin {
	struct event_base *base;
	struct evconnlistener *l;
	struct node *node;		/* loop 0's */
	struct loops *loops;		/* threads = N; NULL: node only */
	struct admin_client *clients;
	unsigned nclients;
	time_t logged[ADMIN_REFUSE_COUNT];	/* last line per kind */
	unsigned long long suppressed[ADMIN_REFUSE_COUNT];
	unsigned long long refused[ADMIN_REFUSE_COUNT];
};

/* Label of a refusal kind (metrics, logs). */
static const char *
admin_refusal_name(enum admin_refusal r)
{
	static const char *const names[ADMIN_REFUSE_COUNT] = {
		[ADMIN_REFUSE_BUSY] = "max_connections",
		[ADMIN_REFUSE_DEADLINE] = "deadline",
		[ADMIN_REFUSE_BAD_REQUEST] = "bad_request",
	};

	return (unsigned)r < ADMIN_REFUSE_COUNT ? names[r] : "unknown";
}

/*
 * Count a refusal; log it unless a line of the same kind went out in
 * the last ADMIN_LOG_EVERY_S seconds (the next line says how many were
 * not logged meanwhile).
 */
static void
admin_refused(struct admin *a, enum admin_refusal r, const char *from)
{
	time_t now = time(NULL);
	unsigned long long more = a->suppressed[r];

	a->refused[r]++;
	if (a->logged[r] != 0 && now - a->logged[r] < ADMIN_LOG_EVERY_S) {
		a->suppressed[r]++;
		return;
	}
	a->logged[r] = now;
	a->suppressed[r] = 0;
	switch (r) {
	case ADMIN_REFUSE_BUSY:
		log_warn("admin: %u connections open (the cap): closing a new "
		    "one from %s at once (+%llu more since the last such "
		    "line)", ADMIN_MAX_CLIENTS, from, more);
		break;
	case ADMIN_REFUSE_DEADLINE:
		log_warn("admin: request from %s not answered %u s after its "
		    "connection: closing it (+%llu more since the last such "
		    "line)", from, ADMIN_DEADLINE_MS / 1000, more);
		break;
	default:
		log_warn("admin: bad or oversized request from %s: answered "
		    "400 and closing (+%llu more since the last such line)",
		    from, more);
		break;
	}
}

/* Metric header lines. */
static void
admin_help(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* One series of family f with label names la and lb (lb may be NULL). */
static void
admin_family(struct evbuffer *b, const char *name,
    const struct metrics_family *f, const char *la, const char *lb)
{
	const char *va, *vb;
	char ea[2 * METRICS_LABEL_MAX], eb[2 * METRICS_LABEL_MAX];
	unsigned long long v;
	size_t i;

	for (i = 0; i < metrics_len(f); i++) {
		v = metrics_at(f, i, &va, &vb);
		metrics_escape(va, ea, sizeof(ea));
		if (lb == NULL)
			evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name,
			    la, ea, v);
		else
			evbuffer_add_printf(b, "%s{%s=\"%s\",%s=\"%s\"} %llu\n",
			    name, la, ea, lb, metrics_escape(vb, eb,
			    sizeof(eb)), v);
	}
}

/* The handshake duration histogram, one series set per protocol. */
static void
admin_histogram(struct evbuffer *b, const struct node_metrics *m)
{
	const char *name = "peerlock_handshake_duration_seconds";
	const struct metrics_hist *h;
	unsigned long long cum;
	enum sec_proto p;
	size_t i;

	admin_help(b, name, "histogram", "Time from TCP connection to an "
	    "authenticated peer (multistream + security handshake).");
	for (p = SEC_NOISE; p <= SEC_TLS; p++) {
		h = &m->handshake[p];
		cum = 0;
		for (i = 0; i < METRICS_HIST_BUCKETS; i++) {
			cum += h->bucket[i];
			evbuffer_add_printf(b, "%s_bucket{protocol=\"%s\","
			    "le=\"%g\"} %llu\n", name, sec_proto_id(p),
			    metrics_hist_bounds[i], cum);
		}
		cum += h->bucket[METRICS_HIST_BUCKETS];
		evbuffer_add_printf(b, "%s_bucket{protocol=\"%s\",le=\"+Inf\"} "
		    "%llu\n%s_sum{protocol=\"%s\"} %.6f\n"
		    "%s_count{protocol=\"%s\"} %llu\n", name, sec_proto_id(p),
		    cum, name, sec_proto_id(p), h->sum, name, sec_proto_id(p),
		    h->count);
	}
}

/*
 * Families computed from the live conns: open tunnels by (route,
 * protocol) and bytes of closed + live tunnels by (route, direction).
 */
/* One unlabelled histogram. */
static void
admin_hist_one(struct evbuffer *b, const char *name, const char *help,
    const struct metrics_hist *h)
{
	unsigned long long cum = 0;
	size_t i;

	admin_help(b, name, "histogram", help);
	for (i = 0; i < METRICS_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    metrics_hist_bounds[i], cum);
	}
	cum += h->bucket[METRICS_HIST_BUCKETS];
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, cum, name, h->sum, name, h->count);
}

/* Node-mode families computed from the live sessions. */
struct admin_node_fams {
	struct metrics_family *streams;	/* open streams (route, protocol) */
	struct metrics_family *sessions;	/* open sessions (peer) */
	struct metrics_family *rtt;	/* ping RTT in us (peer) */
	struct metrics_family *bytes;	/* live stream bytes */
};

/* Add the streams of session s (with peer) to the families. */
static int
admin_live_streams(const struct session *s, const char *peer,
    struct admin_node_fams *nm)
{
	struct stream_totals st;
	struct stream *x;

	if (metrics_add(nm->sessions, peer, NULL, 1) != 0 ||
	    metrics_add(nm->rtt, peer, NULL, session_rtt_us(s)) != 0)
		return -1;
	for (x = session_stream_first(s); x != NULL;
	    x = session_stream_next(x)) {
		stream_totals(x, &st);
		if (strcmp(st.route, "-") == 0)
			continue;
		if (metrics_add(nm->streams, st.route, st.protocol, 1) != 0 ||
		    (st.up > 0 && metrics_add(nm->bytes, st.route, "up",
		    st.up)) || (st.down > 0 && metrics_add(nm->bytes,
		    st.route, "down", st.down)))
			return -1;
	}
	return 0;
}

/* One forward's remote peer, copied from the loop that knew most. */
struct admin_peer_snap {
	char route[CONFIG_NAME_MAX + 8];
	char address[320];
	enum node_peer_state state;
	char peer[PEER_ID_STR_MAX];
	double last_handshake, last_error_at;
	char last_error[320];
};

/*
 * Everything /metrics and the "peers" of /connections show, summed over
 * the event loops.  Each loop adds its part on its own thread
 * (loops_call), so no thread reads another's structures.
 */
struct admin_snap {
	struct node_metrics m;		/* own families, summed */
	struct node_stats st;		/* refused and shed summed */
	struct metrics_family *open, *bytes;
	struct admin_node_fams nm;
	unsigned long long *accepted;	/* per loop */
	unsigned long long *handoffs;	/* per loop */
	unsigned nloops, cur;		/* cur: the loop adding now */
	struct admin_peer_snap *peers;
	size_t npeers;
	enum node_state state;		/* loop 0's */
	int err;
};

/* Add every series of f to sum. */
static int
admin_sum_family(struct metrics_family *sum, const struct metrics_family *f)
{
	const char *va, *vb;
	size_t i;

	for (i = 0; i < metrics_len(f); i++) {
		unsigned long long v = metrics_at(f, i, &va, &vb);

		if (metrics_add(sum, va, vb, v) != 0)
			return -1;
	}
	return 0;
}

/* Add histogram h to sum. */
static void
admin_sum_hist(struct metrics_hist *sum, const struct metrics_hist *h)
{
	size_t i;

	for (i = 0; i <= METRICS_HIST_BUCKETS; i++)
		sum->bucket[i] += h->bucket[i];
	sum->count += h->count;
	sum->sum += h->sum;
}

/* Live conns and sessions of n into the snapshot's families. */
static int
admin_live(struct node *n, struct admin_snap *sn)
{
	const struct node_metrics *m = node_metrics(n);
	struct conn_totals t;
	struct conn *c;

	if (admin_sum_family(sn->bytes, m->bytes) != 0)
		return -1;
	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		if (conn_session(c) != NULL &&
		    admin_live_streams(conn_session(c), t.peer, &sn->nm) != 0)
			return -1;
		if (metrics_add(sn->open, t.route, t.proto != NULL ? t.proto :
		    "none", 1) != 0 ||
		    (t.up > 0 && metrics_add(sn->bytes, t.route, "up", t.up)) ||
		    (t.down > 0 && metrics_add(sn->bytes, t.route, "down",
		    t.down)))
			return -1;
	}
	return 0;
}

/*
 * n's view of each forward's peer into the snapshot: the loop whose last
 * event (handshake or failure) is the latest wins.
 */
static void
admin_collect_peers(struct node *n, struct admin_snap *sn)
{
	struct node_peer_status ps;
	struct admin_peer_snap *p;
	size_t i;

	for (i = 0; i < sn->npeers && node_peer_status(n, i, &ps); i++) {
		p = &sn->peers[i];
		if (sn->cur > 0 && (ps.state == NODE_PEER_UNKNOWN ||
		    (p->state != NODE_PEER_UNKNOWN &&
		    (ps.last_handshake > ps.last_error_at ? ps.last_handshake :
		    ps.last_error_at) <= (p->last_handshake >
		    p->last_error_at ? p->last_handshake : p->last_error_at))))
			continue;
		snprintf(p->route, sizeof(p->route), "%s", ps.route);
		multiaddr_to_string(&ps.fw->peer, p->address,
		    sizeof(p->address));
		p->state = ps.state;
		snprintf(p->peer, sizeof(p->peer), "%s", ps.peer);
		p->last_handshake = ps.last_handshake;
		p->last_error_at = ps.last_error_at;
		snprintf(p->last_error, sizeof(p->last_error), "%s",
		    ps.last_error);
	}
}

/* Add loop sn->cur's node to the snapshot (on that loop's thread). */
static void
admin_collect(struct node *n, void *arg)
{
	struct admin_snap *sn = arg;
	const struct node_metrics *m = node_metrics(n);
	const struct node_stats *st = node_stats(n);
	size_t i;

	if (admin_sum_family(sn->m.established, m->established) != 0 ||
	    admin_sum_family(sn->m.closed, m->closed) != 0 ||
	    admin_sum_family(sn->m.hs_failures, m->hs_failures) != 0 ||
	    admin_live(n, sn) != 0)
		sn->err = -1;
	for (i = 0; i < SEC_MAX; i++)
		admin_sum_hist(&sn->m.handshake[i], &m->handshake[i]);
	admin_sum_hist(&sn->m.stream_open, &m->stream_open);
	sn->m.window_stalls += m->window_stalls;
	if (sn->cur == 0) {
		/* one reload is one per process: loop 0 counts them */
		sn->m.reloads_ok = m->reloads_ok;
		sn->m.reloads_failed = m->reloads_failed;
		sn->state = node_state(n);
	}
	for (i = 0; i < NODE_LIMIT_COUNT; i++)
		sn->st.refused[i] += st->refused[i];
	for (i = 0; i < CONN_PA_COUNT; i++)
		sn->st.shed[i] += st->shed[i];
	sn->accepted[sn->cur] = st->accepted;
	sn->handoffs[sn->cur] = st->handoffs_in;
	admin_collect_peers(n, sn);
}

/* Free a snapshot's allocations. */
static void
admin_snap_free(struct admin_snap *sn)
{
	metrics_family_free(sn->m.established);
	metrics_family_free(sn->m.closed);
	metrics_family_free(sn->m.hs_failures);
	metrics_family_free(sn->open);
	metrics_family_free(sn->bytes);
	metrics_family_free(sn->nm.streams);
	metrics_family_free(sn->nm.sessions);
	metrics_family_free(sn->nm.rtt);
	free(sn->accepted);
	free(sn->handoffs);
	free(sn->peers);
}

/* Take a snapshot of every loop (zeroed sn in).  0 or -1. */
static int
admin_snap(struct admin *a, struct admin_snap *sn)
{
	unsigned k;

	sn->nloops = a->loops != NULL ? loops_count(a->loops) : 1;
	sn->npeers = node_config(a->node)->nforwards;
	sn->m.established = metrics_family_new();
	sn->m.closed = metrics_family_new();
	sn->m.hs_failures = metrics_family_new();
	sn->open = metrics_family_new();
	sn->bytes = metrics_family_new();
	sn->nm.streams = metrics_family_new();
	sn->nm.sessions = metrics_family_new();
	sn->nm.rtt = metrics_family_new();
	sn->nm.bytes = sn->bytes;
	sn->accepted = calloc(sn->nloops, sizeof(*sn->accepted));
	sn->handoffs = calloc(sn->nloops, sizeof(*sn->handoffs));
	sn->peers = calloc(sn->npeers + 1, sizeof(*sn->peers));
	if (sn->m.established == NULL || sn->m.closed == NULL ||
	    sn->m.hs_failures == NULL || sn->open == NULL ||
	    sn->bytes == NULL || sn->nm.streams == NULL ||
	    sn->nm.sessions == NULL || sn->nm.rtt == NULL ||
	    sn->accepted == NULL || sn->handoffs == NULL || sn->peers == NULL)
		return -1;
	for (k = 0; k < sn->nloops; k++) {
		sn->cur = k;
		if (a->loops != NULL)
			loops_call(a->loops, k, admin_collect, sn);
		else
			admin_collect(a->node, sn);
	}
	return sn->err;
}

/* Reachability of each forward's remote peer (see node_peer_status). */
static void
admin_peers(const struct admin_snap *sn, struct evbuffer *b)
{
	char er[2 * METRICS_LABEL_MAX];
	size_t i;

	admin_help(b, "peerlock_peer_up", "gauge", "1 if the last tunnel of "
	    "a forward reached and authenticated its remote peer, 0 if the "
	    "last attempt failed (absent before the first tunnel).");
	for (i = 0; i < sn->npeers; i++)
		if (sn->peers[i].state != NODE_PEER_UNKNOWN)
			evbuffer_add_printf(b, "peerlock_peer_up{route=\"%s\"} "
			    "%d\n", metrics_escape(sn->peers[i].route, er,
			    sizeof(er)), sn->peers[i].state == NODE_PEER_UP);
	admin_help(b, "peerlock_peer_last_handshake_timestamp_seconds",
	    "gauge", "Unix time of the last handshake that authenticated a "
	    "forward's remote peer (0: never).");
	for (i = 0; i < sn->npeers; i++)
		evbuffer_add_printf(b, "peerlock_peer_last_handshake_timestamp_"
		    "seconds{route=\"%s\"} %.3f\n", metrics_escape(
		    sn->peers[i].route, er, sizeof(er)),
		    sn->peers[i].last_handshake);
	admin_help(b, "peerlock_peer_last_error_timestamp_seconds", "gauge",
	    "Unix time of the last failure to reach a forward's remote peer "
	    "(0: never; the text is in /connections).");
	for (i = 0; i < sn->npeers; i++)
		evbuffer_add_printf(b, "peerlock_peer_last_error_timestamp_"
		    "seconds{route=\"%s\"} %.3f\n", metrics_escape(
		    sn->peers[i].route, er, sizeof(er)),
		    sn->peers[i].last_error_at);
}

/* Render every metric into b. */
static int
admin_render_metrics(struct admin *a, struct evbuffer *b)
{
	struct admin_snap snap, *sn = &snap;
	const struct node_metrics *m = &snap.m;
	const struct node_stats *st = &snap.st;
	char ev[2 * METRICS_LABEL_MAX], er[2 * METRICS_LABEL_MAX];
	unsigned k;
	int l, rc = -1;

	memset(&snap, 0, sizeof(snap));
	if (admin_snap(a, &snap) != 0)
		goto out;
	admin_help(b, "peerlock_build_info", "gauge", "Always 1; the labels "
	    "name the release version and the git revision of this build "
	    "and the ChaCha20-Poly1305 implementation of Noise frames.");
	evbuffer_add_printf(b, "peerlock_build_info{version=\"%s\","
	    "revision=\"%s\",aead=\"%s\"} 1\n", metrics_escape(
	    version_release(), ev, sizeof(ev)), metrics_escape(
	    version_revision(), er, sizeof(er)), aead_name(aead_current()));
	admin_help(b, "peerlock_connections_open", "gauge", "Live "
	    "connections by route and security protocol (none while the "
	    "handshake runs).");
	admin_family(b, "peerlock_connections_open", sn->open, "route",
	    "protocol");
	admin_help(b, "peerlock_connections_total", "counter", "Tunnels "
	    "established (relaying started) by route and security "
	    "protocol.");
	admin_family(b, "peerlock_connections_total", m->established, "route",
	    "protocol");
	admin_help(b, "peerlock_connections_closed_total", "counter",
	    "Connections closed, by route and close reason.");
	admin_family(b, "peerlock_connections_closed_total", m->closed,
	    "route", "reason");
	admin_help(b, "peerlock_handshake_failures_total", "counter",
	    "Connections that failed before relaying, by class.");
	admin_family(b, "peerlock_handshake_failures_total", m->hs_failures,
	    "reason", NULL);
	admin_help(b, "peerlock_bytes_total", "counter", "Plaintext bytes "
	    "carried, by route; up = local side to remote peer.");
	admin_family(b, "peerlock_bytes_total", sn->bytes, "route", "direction");
	admin_histogram(b, m);
	admin_hist_one(b, "peerlock_stream_open_seconds", "Node mode: time "
	    "from a new stream (app connection or peer's SYN) to relaying "
	    "(protocol agreed, target connected).", &m->stream_open);
	admin_help(b, "peerlock_stream_window_stalls_total", "counter",
	    "Node mode: times a stream had to wait for the peer's window.");
	evbuffer_add_printf(b, "peerlock_stream_window_stalls_total %llu\n",
	    m->window_stalls);
	admin_help(b, "peerlock_refused_total", "counter", "Connections "
	    "refused at a limit.");
	for (l = 0; l < NODE_LIMIT_COUNT; l++)
		evbuffer_add_printf(b, "peerlock_refused_total{limit=\"%s\"} "
		    "%llu\n", node_limit_name((enum node_limit)l),
		    st->refused[l]);
	admin_help(b, "peerlock_handshakes_shed_total", "counter",
	    "Unauthenticated inbound connections closed to admit a new one "
	    "while max_handshakes was full, by whether they had sent "
	    "anything (silent) or not finished their handshake (partial).");
	evbuffer_add_printf(b, "peerlock_handshakes_shed_total{state=\"silent\"}"
	    " %llu\npeerlock_handshakes_shed_total{state=\"partial\"} %llu\n",
	    st->shed[CONN_PA_SILENT], st->shed[CONN_PA_TALKED]);
	admin_help(b, "peerlock_admin_refused_total", "counter", "Admin "
	    "endpoint connections closed without an answer (max_connections: "
	    "over the cap, deadline: not done in time) or answered 400 "
	    "(bad_request).");
	for (l = 0; l < ADMIN_REFUSE_COUNT; l++)
		evbuffer_add_printf(b, "peerlock_admin_refused_total{reason="
		    "\"%s\"} %llu\n", admin_refusal_name(
		    (enum admin_refusal)l), a->refused[l]);
	admin_help(b, "peerlock_reloads_total", "counter", "Configuration "
	    "reloads (SIGHUP) by result.");
	evbuffer_add_printf(b, "peerlock_reloads_total{result=\"ok\"} %llu\n"
	    "peerlock_reloads_total{result=\"failed\"} %llu\n",
	    m->reloads_ok, m->reloads_failed);
	admin_peers(sn, b);
	admin_help(b, "peerlock_draining", "gauge", "1 while draining after "
	    "SIGTERM/SIGINT.");
	evbuffer_add_printf(b, "peerlock_draining %d\n",
	    sn->state == NODE_DRAINING);
	admin_help(b, "peerlock_sessions_open", "gauge", "Node-mode "
	    "sessions open, by peer.");
	admin_family(b, "peerlock_sessions_open", sn->nm.sessions, "peer", NULL);
	admin_help(b, "peerlock_streams_open", "gauge", "Node-mode tunnel "
	    "streams open, by route and protocol.");
	admin_family(b, "peerlock_streams_open", sn->nm.streams, "route",
	    "protocol");
	admin_help(b, "peerlock_session_rtt_microseconds", "gauge", "Last "
	    "yamux ping round trip of each node-mode session, by peer.");
	admin_family(b, "peerlock_session_rtt_microseconds", sn->nm.rtt, "peer",
	    NULL);
	admin_help(b, "peerlock_loops", "gauge", "Event loops (threads).");
	evbuffer_add_printf(b, "peerlock_loops %u\n", sn->nloops);
	admin_help(b, "peerlock_loop_connections_total", "counter",
	    "Sockets accepted by each event loop's listeners (the kernel "
	    "spreads them with SO_REUSEPORT when threads > 1).");
	for (k = 0; k < sn->nloops; k++)
		evbuffer_add_printf(b, "peerlock_loop_connections_total{loop="
		    "\"%u\"} %llu\n", k, sn->accepted[k]);
	admin_help(b, "peerlock_loop_handoffs_total", "counter", "Node-mode "
	    "app connections accepted on loop 0 and handed to the loop that "
	    "holds the peer's session.");
	for (k = 0; k < sn->nloops; k++)
		evbuffer_add_printf(b, "peerlock_loop_handoffs_total{loop="
		    "\"%u\"} %llu\n", k, sn->handoffs[k]);
	rc = 0;
out:
	admin_snap_free(&snap);
	return rc;
}

/* GET /healthz: 200 serving, 503 starting or draining. */
static void
admin_healthz(struct admin *a, struct admin_answer *ans)
{
	enum node_state st = node_state(a->node);

	evbuffer_add_printf(ans->body, "%s\n", st == NODE_SERVING ?
	    "serving" : st == NODE_DRAINING ? "draining" : "starting");
	if (st != NODE_SERVING) {
		ans->code = 503;
		ans->reason = "Service Unavailable";
	}
}

/* GET /metrics */
static void
admin_metrics(struct admin *a, struct admin_answer *ans)
{
	ans->ctype = "text/plain; version=0.0.4";
	if (admin_render_metrics(a, ans->body) != 0) {
		ans->code = 500;
		ans->reason = "Internal Server Error";
	}
}

/* Append s as a JSON string (quoted, escaped). */
static void
admin_json_str(struct evbuffer *b, const char *s)
{
	const unsigned char *p;

	evbuffer_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* Label of a conn phase. */
static const char *
admin_phase(enum conn_phase p)
{
	static const char *const names[] = { "dialing", "handshaking",
	    "targeting", "relaying", "session", "closed" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] :
	    "unknown";
}

/* ,"rtt_ms":..,"streams":[...] of a node-mode session. */
static void
admin_json_streams(struct evbuffer *b, const struct session *s)
{
	struct stream_totals st;
	struct stream *x;
	const char *sep = "";

	evbuffer_add_printf(b, ",\"rtt_ms\":%.3f,\"streams\":[",
	    (double)session_rtt_us(s) / 1000.0);
	for (x = session_stream_first(s); x != NULL;
	    x = session_stream_next(x)) {
		stream_totals(x, &st);
		evbuffer_add_printf(b, "%s{\"id\":%llu,\"stream\":%u,"
		    "\"route\":", sep, (unsigned long long)st.id,
		    (unsigned)st.sid);
		admin_json_str(b, st.route);
		evbuffer_add_printf(b, ",\"protocol\":");
		admin_json_str(b, st.protocol);
		evbuffer_add_printf(b, ",\"age\":%.3f,\"up\":%llu,"
		    "\"down\":%llu}", st.age, st.up, st.down);
		sep = ",";
	}
	evbuffer_add_printf(b, "]");
}

/* Append a Unix time as a JSON number, or null for 0 (never). */
static void
admin_json_time(struct evbuffer *b, double t)
{
	if (t > 0)
		evbuffer_add_printf(b, "%.3f", t);
	else
		evbuffer_add_printf(b, "null");
}

/* The "peers" array of /connections: each forward's remote peer. */
static void
admin_json_peers(const struct admin_snap *sn, struct evbuffer *b)
{
	static const char *const states[] = { "unknown", "up", "down" };
	const struct admin_peer_snap *ps;
	size_t i;

	for (i = 0; i < sn->npeers; i++) {
		ps = &sn->peers[i];
		evbuffer_add_printf(b, "%s\n{\"route\":", i > 0 ? "," : "");
		admin_json_str(b, ps->route);
		evbuffer_add_printf(b, ",\"address\":");
		admin_json_str(b, ps->address);
		evbuffer_add_printf(b, ",\"state\":\"%s\",\"peer\":",
		    states[ps->state]);
		admin_json_str(b, ps->peer);
		evbuffer_add_printf(b, ",\"last_handshake\":");
		admin_json_time(b, ps->last_handshake);
		evbuffer_add_printf(b, ",\"last_error_at\":");
		admin_json_time(b, ps->last_error_at);
		evbuffer_add_printf(b, ",\"last_error\":");
		admin_json_str(b, ps->last_error);
		evbuffer_add_printf(b, "}");
	}
}

/* One loop's part of /connections. */
struct admin_conns_call {
	struct evbuffer *b;
	const char *sep;
};

/* Append the live conns of n (on n's loop). */
static void
admin_json_conns(struct node *n, void *arg)
{
	struct admin_conns_call *cc = arg;
	struct evbuffer *b = cc->b;
	struct conn_totals t;
	struct conn *c;
	char from[MULTIADDR_SOCKADDR_MAX];

	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		multiaddr_fmt_sockaddr(t.from, from, sizeof(from));
		evbuffer_add_printf(b, "%s\n{\"id\":%llu,\"route\":", cc->sep,
		    (unsigned long long)conn_id(c));
		admin_json_str(b, t.route);
		evbuffer_add_printf(b, ",\"peer\":");
		admin_json_str(b, t.peer);
		evbuffer_add_printf(b, ",\"protocol\":");
		admin_json_str(b, t.proto != NULL ? t.proto : "");
		evbuffer_add_printf(b, ",\"from\":");
		admin_json_str(b, from);
		evbuffer_add_printf(b, ",\"inbound\":%s,\"phase\":\"%s\","
		    "\"age\":%.3f,\"up\":%llu,\"down\":%llu",
		    t.inbound ? "true" : "false", admin_phase(conn_phase(c)),
		    t.age, t.up, t.down);
		if (conn_session(c) != NULL)
			admin_json_streams(b, conn_session(c));
		evbuffer_add_printf(b, "}");
		cc->sep = ",";
	}
}

/* GET /connections */
static void
admin_connections(struct admin *a, struct admin_answer *ans)
{
	struct admin_conns_call cc = { ans->body, "" };
	struct admin_snap snap;
	unsigned k;

	ans->ctype = "application/json";
	memset(&snap, 0, sizeof(snap));
	if (admin_snap(a, &snap) != 0) {
		admin_snap_free(&snap);
		ans->code = 500;
		ans->reason = "Internal Server Error";
		return;
	}
	evbuffer_add_printf(ans->body, "{\"connections\":[");
	for (k = 0; k < snap.nloops; k++)
		if (a->loops != NULL)
			loops_call(a->loops, k, admin_json_conns, &cc);
		else
			admin_json_conns(a->node, &cc);
	evbuffer_add_printf(ans->body, "\n],\"peers\":[");
	admin_json_peers(&snap, ans->body);
	evbuffer_add_printf(ans->body, "\n]}\n");
	admin_snap_free(&snap);
}

/* fn(node, arg) on every loop, each on its own thread (status.h). */
static void
admin_each(void *ctx, void (*fn)(struct node *, void *), void *arg)
{
	struct admin *a = ctx;
	unsigned k;

	for (k = 0; k < loops_count(a->loops); k++)
		loops_call(a->loops, k, fn, arg);
}

/* GET /status: routes, peers, tunnels as text tables. */
static void
admin_status(struct admin *a, struct admin_answer *ans)
{
	ans->ctype = "text/plain; charset=utf-8";
	if ((a->loops != NULL ? status_render_each(a->node, admin_each, a,
	    ans->body) : status_render(a->node, ans->body)) != 0) {
		ans->code = 500;
		ans->reason = "Internal Server Error";
	}
}

/*
 * Answer one parsed request: method and path (query cut off) into ans,
 * whose body is empty and code 200 on entry.
 */
static void
admin_dispatch(struct admin *a, const char *method, const char *path,
    struct admin_answer *ans)
{
	static const struct {
		const char *path;
		void (*fn)(struct admin *, struct admin_answer *);
	} routes[] = {
		{ "/healthz", admin_healthz },
		{ "/metrics", admin_metrics },
		{ "/connections", admin_connections },
		{ "/status", admin_status },
	};
	size_t i;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		ans->code = 405;
		ans->reason = "Method Not Allowed";
		ans->allow = "GET, HEAD";
		evbuffer_add_printf(ans->body, "only GET and HEAD\n");
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0) {
			routes[i].fn(a, ans);
			return;
		}
	ans->code = 404;
	ans->reason = "Not Found";
	evbuffer_add_printf(ans->body, "try /healthz, /metrics, /connections "
	    "or /status\n");
}

/* Free a client and its socket; it leaves the list. */
static void
admin_client_free(struct admin_client *cl)
{
	struct admin *a = cl->a;

	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		a->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	a->nclients--;
	if (cl->deadline != NULL)
		event_free(cl->deadline);
	if (cl->bev != NULL)
		bufferevent_free(cl->bev);
	free(cl);
}

/* Queue status line, headers and (unless HEAD) body; close once sent. */
static void
admin_send(struct admin_client *cl, const struct admin_answer *ans,
    bool head)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s%s"
	    "Connection: close\r\n\r\n", ans->code, ans->reason, ans->ctype,
	    evbuffer_get_length(ans->body), ans->allow != NULL ? "Allow: " :
	    "", ans->allow != NULL ? ans->allow : "", ans->allow != NULL ?
	    "\r\n" : "");
	if (!head)
		evbuffer_add_buffer(out, ans->body);
	cl->answered = true;
	bufferevent_enable(cl->bev, EV_WRITE);
}

/*
 * Parse the request line of a complete head (NUL-terminated at its blank
 * line) into method and path; false if it is not "METHOD TARGET
 * HTTP/1.x".
 */
static bool
admin_parse(char *head, char **method, char **path)
{
	char *sp1, *sp2, *eol, *q;

	if ((eol = strpbrk(head, "\r\n")) != NULL)
		*eol = '\0';
	if ((sp1 = strchr(head, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1 == head)
		return false;
	*sp1 = *sp2 = '\0';
	*method = head;
	*path = sp1 + 1;
	if ((q = strchr(*path, '?')) != NULL)
		*q = '\0';
	return **path == '/';
}

/* The client sent bytes: answer once the head is complete. */
static void
admin_on_read(struct bufferevent *bev, void *arg)
{
	struct admin_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	struct admin_answer ans = { 200, "OK", "text/plain", NULL, NULL };
	char head[ADMIN_MAX_HEADERS + 1], *method, *path;
	size_t n;

	if (cl->answered) {		/* a body, or more: not ours to read */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	n = end.pos < 0 ? evbuffer_get_length(in) : (size_t)end.pos;
	if (end.pos < 0 && n <= ADMIN_MAX_HEADERS)
		return;			/* not complete yet */
	if ((ans.body = evbuffer_new()) == NULL) {
		admin_client_free(cl);
		return;
	}
	if (n > ADMIN_MAX_HEADERS)
		n = ADMIN_MAX_HEADERS;
	evbuffer_copyout(in, head, n);
	head[n] = '\0';
	evbuffer_drain(in, evbuffer_get_length(in));
	if (end.pos < 0 || !admin_parse(head, &method, &path)) {
		admin_refused(cl->a, ADMIN_REFUSE_BAD_REQUEST, cl->from);
		ans.code = 400;
		ans.reason = "Bad Request";
		evbuffer_add_printf(ans.body, "bad request\n");
		method = "GET";
	} else
		admin_dispatch(cl->a, method, path, &ans);
	admin_send(cl, &ans, strcmp(method, "HEAD") == 0);
	evbuffer_free(ans.body);
}

/* Output drained: after the answer, FIN and wait for the client's. */
static void
admin_on_write(struct bufferevent *bev, void *arg)
{
	struct admin_client *cl = arg;

	if (!cl->answered || cl->shut ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (cl->eof) {			/* both ways done */
		admin_client_free(cl);
		return;
	}
	cl->shut = true;
	/* a FIN, not a close over unread bytes (which would be a reset) */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

/*
 * EOF or error from the client: done with it, unless it half-closed
 * after its request and our answer is still on its way.
 */
static void
admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_client *cl = arg;

	if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_ERROR) == 0 &&
	    cl->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		cl->eof = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	admin_client_free(cl);
}

/* The total deadline passed (not reset by traffic): close. */
static void
admin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct admin_client *cl = arg;

	(void)fd;
	(void)what;
	if (!cl->answered)
		admin_refused(cl->a, ADMIN_REFUSE_DEADLINE, cl->from);
	admin_client_free(cl);
}

/* Best effort: a short 503 before closing a connection over the cap. */
static void
admin_busy(evutil_socket_t fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 5\r\n"
	    "Connection: close\r\n\r\nbusy\n";

	(void)send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	evutil_closesocket(fd);
}

/* A connection to the admin endpoint. */
static void
admin_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin *a = arg;
	struct admin_client *cl;
	struct timeval tv = { ADMIN_DEADLINE_MS / 1000,
	    (ADMIN_DEADLINE_MS % 1000) * 1000 };
	char from[64] = "?";

	(void)l;
	getnameinfo(sa, (socklen_t)salen, from, sizeof(from), NULL, 0,
	    NI_NUMERICHOST);
	if (a->nclients >= ADMIN_MAX_CLIENTS) {
		admin_refused(a, ADMIN_REFUSE_BUSY, from);
		admin_busy(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cl->a = a;
	snprintf(cl->from, sizeof(cl->from), "%s", from);
	cl->next = a->clients;
	if (a->clients != NULL)
		a->clients->prev = cl;
	a->clients = cl;
	a->nclients++;
	cl->bev = bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->deadline = evtimer_new(a->base, admin_on_deadline, cl);
	if (cl->bev == NULL || cl->deadline == NULL) {
		if (cl->bev == NULL)
			evutil_closesocket(fd);
		admin_client_free(cl);
		return;
	}
	bufferevent_setcb(cl->bev, admin_on_read, admin_on_write,
	    admin_on_event, cl);
	/* the head is read up to its limit, then answered 400 */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, ADMIN_MAX_HEADERS + 1);
	bufferevent_enable(cl->bev, EV_READ);
	evtimer_add(cl->deadline, &tv);
}

/* Listen on addr; see admin.h. */
struct admin *
admin_new(struct event_base *base, struct node *n,
    const struct multiaddr *addr)
{
	struct admin *a = calloc(1, sizeof(*a));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE }, *res;
	char text[320], port[8];
	int rc;

	multiaddr_to_string(addr, text, sizeof(text));
	if (a == NULL)
		return NULL;
	a->base = base;
	a->node = n;
	snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
	if ((rc = getaddrinfo(addr->host, port, &hints, &res)) != 0) {
		log_err("admin: cannot listen on %s: %s", text,
		    gai_strerror(rc));
		free(a);
		return NULL;
	}
	a->l = evconnlistener_new_bind(base, admin_on_accept, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    ADMIN_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (a->l == NULL) {
		log_err("admin: cannot listen on %s: %s", text,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(a);
		return NULL;
	}
	log_info("admin: listening on %s (/healthz /metrics /connections "
	    "/status; at most %u connections, %u s each)", text,
	    ADMIN_MAX_CLIENTS, ADMIN_DEADLINE_MS / 1000);
	return a;
}

/* Stop listening, close every admin connection. */
void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	while (a->clients != NULL)
		admin_client_free(a->clients);
	evconnlistener_free(a->l);
	free(a);
}

/* Sum every loop from now on; see admin.h. */
void
admin_set_loops(struct admin *a, struct loops *L)
{
	a->loops = L;
}
