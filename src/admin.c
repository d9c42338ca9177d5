/*
 * admin.c - /healthz, /metrics and /connections over evhttp.
 *
 * Everything is rendered from the node at request time: the counters it
 * keeps (node_metrics, node_stats) plus a walk over the live conns for
 * the open-connection gauge and the bytes of tunnels still running, so
 * byte counters include live traffic and never go backwards.
 */
#include "admin.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "status.h"
#include "version.h"

enum {
	ADMIN_TIMEOUT_S = 10,
	ADMIN_MAX_HEADERS = 8192,
	ADMIN_MAX_BODY = 1024
};

struct admin {
	struct evhttp *http;
	struct node *node;
};

/* Send status code with body buf and content type ctype. */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, struct evbuffer *buf)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, buf);
}

/* Only GET and HEAD: others get 405 with Allow; false if refused. */
static bool
admin_method_ok(struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    "GET, HEAD");
	evhttp_send_error(req, 405, "Method Not Allowed");
	return false;
}

/* GET /healthz */
static void
admin_on_healthz(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *buf;
	enum node_state st = node_state(a->node);

	if (!admin_method_ok(req))
		return;
	buf = evbuffer_new();
	if (buf == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(buf, "%s\n", st == NODE_SERVING ? "serving" :
	    st == NODE_DRAINING ? "draining" : "starting");
	if (st == NODE_SERVING)
		admin_reply(req, HTTP_OK, "OK", "text/plain", buf);
	else
		admin_reply(req, 503, "Service Unavailable", "text/plain",
		    buf);
	evbuffer_free(buf);
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

static int
admin_live(struct admin *a, struct metrics_family *open,
    struct metrics_family *bytes, struct admin_node_fams *nm)
{
	const struct node_metrics *m = node_metrics(a->node);
	const struct metrics_family *closed = m->bytes;
	const char *va, *vb;
	struct conn_totals t;
	struct conn *c;
	size_t i;

	for (i = 0; i < metrics_len(closed); i++) {
		unsigned long long v = metrics_at(closed, i, &va, &vb);

		if (metrics_add(bytes, va, vb, v) != 0)
			return -1;
	}
	for (c = node_conn_first(a->node); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		if (conn_session(c) != NULL &&
		    admin_live_streams(conn_session(c), t.peer, nm) != 0)
			return -1;
		if (metrics_add(open, t.route, t.proto != NULL ? t.proto :
		    "none", 1) != 0 ||
		    (t.up > 0 && metrics_add(bytes, t.route, "up", t.up)) ||
		    (t.down > 0 && metrics_add(bytes, t.route, "down",
		    t.down)))
			return -1;
	}
	return 0;
}

/* Reachability of each forward's remote peer (see node_peer_status). */
static void
admin_peers(struct admin *a, struct evbuffer *b)
{
	struct node_peer_status ps;
	char er[2 * METRICS_LABEL_MAX];
	size_t i;

	admin_help(b, "peerlock_peer_up", "gauge", "1 if the last tunnel of "
	    "a forward reached and authenticated its remote peer, 0 if the "
	    "last attempt failed (absent before the first tunnel).");
	for (i = 0; node_peer_status(a->node, i, &ps); i++)
		if (ps.state != NODE_PEER_UNKNOWN)
			evbuffer_add_printf(b, "peerlock_peer_up{route=\"%s\"} "
			    "%d\n", metrics_escape(ps.route, er, sizeof(er)),
			    ps.state == NODE_PEER_UP);
	admin_help(b, "peerlock_peer_last_handshake_timestamp_seconds",
	    "gauge", "Unix time of the last handshake that authenticated a "
	    "forward's remote peer (0: never).");
	for (i = 0; node_peer_status(a->node, i, &ps); i++)
		evbuffer_add_printf(b, "peerlock_peer_last_handshake_timestamp_"
		    "seconds{route=\"%s\"} %.3f\n", metrics_escape(ps.route,
		    er, sizeof(er)), ps.last_handshake);
	admin_help(b, "peerlock_peer_last_error_timestamp_seconds", "gauge",
	    "Unix time of the last failure to reach a forward's remote peer "
	    "(0: never; the text is in /connections).");
	for (i = 0; node_peer_status(a->node, i, &ps); i++)
		evbuffer_add_printf(b, "peerlock_peer_last_error_timestamp_"
		    "seconds{route=\"%s\"} %.3f\n", metrics_escape(ps.route,
		    er, sizeof(er)), ps.last_error_at);
}

/* Render every metric into b. */
static int
admin_render_metrics(struct admin *a, struct evbuffer *b)
{
	const struct node_metrics *m = node_metrics(a->node);
	const struct node_stats *st = node_stats(a->node);
	struct metrics_family *open = metrics_family_new();
	struct metrics_family *bytes = metrics_family_new();
	struct admin_node_fams nm = { metrics_family_new(),
	    metrics_family_new(), metrics_family_new(), bytes };
	char ev[2 * METRICS_LABEL_MAX], er[2 * METRICS_LABEL_MAX];
	int l, rc = -1;

	if (open == NULL || bytes == NULL || nm.streams == NULL ||
	    nm.sessions == NULL || nm.rtt == NULL ||
	    admin_live(a, open, bytes, &nm) != 0)
		goto out;
	admin_help(b, "peerlock_build_info", "gauge", "Always 1; the labels "
	    "name the release version and the git revision of this build.");
	evbuffer_add_printf(b, "peerlock_build_info{version=\"%s\","
	    "revision=\"%s\"} 1\n", metrics_escape(version_release(), ev,
	    sizeof(ev)), metrics_escape(version_revision(), er, sizeof(er)));
	admin_help(b, "peerlock_connections_open", "gauge", "Live "
	    "connections by route and security protocol (none while the "
	    "handshake runs).");
	admin_family(b, "peerlock_connections_open", open, "route",
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
	admin_family(b, "peerlock_bytes_total", bytes, "route", "direction");
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
	admin_help(b, "peerlock_reloads_total", "counter", "Configuration "
	    "reloads (SIGHUP) by result.");
	evbuffer_add_printf(b, "peerlock_reloads_total{result=\"ok\"} %llu\n"
	    "peerlock_reloads_total{result=\"failed\"} %llu\n",
	    m->reloads_ok, m->reloads_failed);
	admin_peers(a, b);
	admin_help(b, "peerlock_draining", "gauge", "1 while draining after "
	    "SIGTERM/SIGINT.");
	evbuffer_add_printf(b, "peerlock_draining %d\n",
	    node_state(a->node) == NODE_DRAINING);
	admin_help(b, "peerlock_sessions_open", "gauge", "Node-mode "
	    "sessions open, by peer.");
	admin_family(b, "peerlock_sessions_open", nm.sessions, "peer", NULL);
	admin_help(b, "peerlock_streams_open", "gauge", "Node-mode tunnel "
	    "streams open, by route and protocol.");
	admin_family(b, "peerlock_streams_open", nm.streams, "route",
	    "protocol");
	admin_help(b, "peerlock_session_rtt_microseconds", "gauge", "Last "
	    "yamux ping round trip of each node-mode session, by peer.");
	admin_family(b, "peerlock_session_rtt_microseconds", nm.rtt, "peer",
	    NULL);
	rc = 0;
out:
	metrics_family_free(open);
	metrics_family_free(bytes);
	metrics_family_free(nm.streams);
	metrics_family_free(nm.sessions);
	metrics_family_free(nm.rtt);
	return rc;
}

/* GET /metrics */
static void
admin_on_metrics(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *buf;

	if (!admin_method_ok(req))
		return;
	buf = evbuffer_new();
	if (buf == NULL || admin_render_metrics(a, buf) != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		evbuffer_free(buf);
		return;
	}
	admin_reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4", buf);
	evbuffer_free(buf);
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
admin_json_peers(struct admin *a, struct evbuffer *b)
{
	static const char *const states[] = { "unknown", "up", "down" };
	struct node_peer_status ps;
	char addr[320];
	size_t i;

	for (i = 0; node_peer_status(a->node, i, &ps); i++) {
		multiaddr_to_string(&ps.fw->peer, addr, sizeof(addr));
		evbuffer_add_printf(b, "%s\n{\"route\":", i > 0 ? "," : "");
		admin_json_str(b, ps.route);
		evbuffer_add_printf(b, ",\"address\":");
		admin_json_str(b, addr);
		evbuffer_add_printf(b, ",\"state\":\"%s\",\"peer\":",
		    states[ps.state]);
		admin_json_str(b, ps.peer);
		evbuffer_add_printf(b, ",\"last_handshake\":");
		admin_json_time(b, ps.last_handshake);
		evbuffer_add_printf(b, ",\"last_error_at\":");
		admin_json_time(b, ps.last_error_at);
		evbuffer_add_printf(b, ",\"last_error\":");
		admin_json_str(b, ps.last_error);
		evbuffer_add_printf(b, "}");
	}
}

/* GET /connections */
static void
admin_on_connections(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *b;
	struct conn_totals t;
	struct conn *c;
	char from[MULTIADDR_SOCKADDR_MAX];
	const char *sep = "";

	if (!admin_method_ok(req))
		return;
	b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"connections\":[");
	for (c = node_conn_first(a->node); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		multiaddr_fmt_sockaddr(t.from, from, sizeof(from));
		evbuffer_add_printf(b, "%s\n{\"id\":%llu,\"route\":", sep,
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
		sep = ",";
	}
	evbuffer_add_printf(b, "\n],\"peers\":[");
	admin_json_peers(a, b);
	evbuffer_add_printf(b, "\n]}\n");
	admin_reply(req, HTTP_OK, "OK", "application/json", b);
	evbuffer_free(b);
}

/* GET /status: routes, peers, tunnels as text tables. */
static void
admin_on_status(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *b;

	if (!admin_method_ok(req))
		return;
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (status_render(a->node, b) != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		evbuffer_free(b);
		return;
	}
	admin_reply(req, HTTP_OK, "OK", "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* Any other path. */
static void
admin_on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "try /healthz, /metrics, "
	    "/connections or /status");
}

/* Listen on addr; see admin.h. */
struct admin *
admin_new(struct event_base *base, struct node *n,
    const struct multiaddr *addr)
{
	struct admin *a = calloc(1, sizeof(*a));
	char text[320];

	multiaddr_to_string(addr, text, sizeof(text));
	if (a == NULL || (a->http = evhttp_new(base)) == NULL)
		goto fail;
	a->node = n;
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
	evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
	if (evhttp_set_cb(a->http, "/healthz", admin_on_healthz, a) != 0 ||
	    evhttp_set_cb(a->http, "/metrics", admin_on_metrics, a) != 0 ||
	    evhttp_set_cb(a->http, "/connections", admin_on_connections,
	    a) != 0 ||
	    evhttp_set_cb(a->http, "/status", admin_on_status, a) != 0)
		goto fail;
	evhttp_set_gencb(a->http, admin_on_other, a);
	if (evhttp_bind_socket_with_handle(a->http, addr->host,
	    (ev_uint16_t)addr->port) == NULL) {
		log_err("admin: cannot listen on %s: %s", text,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	log_info("admin: listening on %s (/healthz /metrics /connections "
	    "/status)",
	    text);
	return a;
fail:
	if (a != NULL && a->http != NULL)
		evhttp_free(a->http);
	free(a);
	return NULL;
}

/* Stop listening. */
void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	evhttp_free(a->http);
	free(a);
}
