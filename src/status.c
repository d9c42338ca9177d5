/*
 * status.c - GET /status as text tables, and the `peerlock status`
 * client that prints them.
 *
 * Reachability is derived from what the node already counts: a forward
 * is "up" while one of its tunnels relays, "reachable" when tunnels were
 * established and none failed to come up, "unreachable" when every
 * attempt failed (with the most frequent reason), "flaky" when both
 * happened, "not dialed yet" before the first app connection.
 */
#include "status.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "node.h"
#include "version.h"

enum {
	STATUS_TIMEOUT_MS = 5000,
	STATUS_PEER_SHORT = 20		/* "12D3KooWBtg3...R3pq" */
};

/* Reasons that mean a forward's tunnel never came up. */
static const char *const status_fail_reasons[] = {
	"connect_failed", "connect_timeout", "handshake_timeout",
	"handshake_failed", "closed_early", "target_failed", NULL
};

/* What the counters say about one route. */
struct route_view {
	unsigned open, relaying;
	unsigned long long ok, failed;
	const char *worst;		/* most frequent failure reason */
	unsigned long long worst_n;
};

/*
 * The loops to read (threads = N): each(ctx, fn, arg) calls fn(node,
 * arg) with every loop's node, on that node's thread; NULL: n0 only.
 */
struct status_src {
	const struct node *n0;
	status_each_fn *each;
	void *ctx;
};

/* fn(node, arg) for every loop's node. */
static void
status_each(const struct status_src *src, void (*fn)(struct node *, void *),
    void *arg)
{
	if (src->each != NULL)
		src->each(src->ctx, fn, arg);
	else
		fn((struct node *)src->n0, arg);
}

/* A peer ID shortened for tables: first 12, "...", last 4. */
static const char *
status_short(const char *id, char *buf, size_t cap)
{
	size_t n = strlen(id);

	if (n <= STATUS_PEER_SHORT)
		snprintf(buf, cap, "%s", id);
	else
		snprintf(buf, cap, "%.12s...%s", id, id + n - 4);
	return buf;
}

/* One route's view being summed over the loops. */
struct status_route_sum {
	const char *route;
	struct route_view *v;
	unsigned long long per[sizeof(status_fail_reasons) /
	    sizeof(status_fail_reasons[0])];
};

/* Add one loop's counters and live conns of a route (status_each). */
static void
status_route_one(struct node *n, void *arg)
{
	struct status_route_sum *rs = arg;
	const char *route = rs->route;
	struct route_view *v = rs->v;
	const struct node_metrics *m = node_metrics(n);
	const char *a, *b;
	unsigned long long x;
	struct conn_totals t;
	struct conn *c;
	size_t i, j;

	for (i = 0; i < metrics_len(m->established); i++) {
		x = metrics_at(m->established, i, &a, &b);
		if (strcmp(a, route) == 0)
			v->ok += x;
	}
	for (i = 0; i < metrics_len(m->closed); i++) {
		x = metrics_at(m->closed, i, &a, &b);
		if (strcmp(a, route) != 0)
			continue;
		for (j = 0; status_fail_reasons[j] != NULL; j++)
			if (strcmp(b, status_fail_reasons[j]) == 0)
				break;
		if (status_fail_reasons[j] == NULL)
			continue;
		v->failed += x;
		rs->per[j] += x;
	}
	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		if (strcmp(t.route, route) != 0)
			continue;
		v->open++;
		v->relaying += conn_phase(c) == CONN_RELAYING;
	}
}

/* Sum the counters and live conns of route over the loops into v. */
static void
status_route(const struct status_src *src, const char *route,
    struct route_view *v)
{
	struct status_route_sum rs;
	size_t j;

	memset(v, 0, sizeof(*v));
	memset(&rs, 0, sizeof(rs));
	rs.route = route;
	rs.v = v;
	status_each(src, status_route_one, &rs);
	for (j = 0; status_fail_reasons[j] != NULL; j++)
		if (rs.per[j] > v->worst_n) {
			v->worst_n = rs.per[j];
			v->worst = status_fail_reasons[j];
		}
}

/* The state word of a route. */
static const char *
status_state(const struct route_view *v, char *buf, size_t cap)
{
	if (v->relaying > 0)
		snprintf(buf, cap, "up");
	else if (v->ok > 0 && v->failed == 0)
		snprintf(buf, cap, "reachable");
	else if (v->ok == 0 && v->failed > 0)
		snprintf(buf, cap, "unreachable (%s)", v->worst);
	else if (v->ok > 0)
		snprintf(buf, cap, "flaky (%s)", v->worst);
	else
		snprintf(buf, cap, "not dialed yet");
	return buf;
}

/* The security list of a forward ("noise,tls"). */
static const char *
status_security(const struct config_forward *f, char *buf, size_t cap)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < f->nsecurity && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s",
		    i > 0 ? "," : "", sec_proto_name(f->security[i]));
	return buf;
}

/* The routes table. */
static void
status_routes(const struct status_src *src, struct evbuffer *b)
{
	const struct node *n = src->n0;
	const struct config *cfg = node_config(n);
	char route[CONFIG_NAME_MAX + 8], from[MULTIADDR_STR_MAX];
	char to[MULTIADDR_STR_MAX + 32];
	char st[64], sec[16], pid[PEER_ID_STR_MAX], sp[32];
	struct route_view v;
	size_t i;

	evbuffer_add_printf(b, "%-20s %-22s %-44s %-9s %4s %6s %6s  %s\n",
	    "ROUTE", "FROM", "TO", "SECURITY", "OPEN", "OK", "FAILED",
	    "STATE");
	for (i = 0; i < cfg->nforwards; i++) {
		const struct config_forward *f = &cfg->forwards[i];

		snprintf(route, sizeof(route), "forward.%s", f->name);
		status_route(src, route, &v);
		snprintf(from, sizeof(from), "%s%s%s:%u",
		    f->listen.kind == MA_IP6 ? "[" : "", f->listen.host,
		    f->listen.kind == MA_IP6 ? "]" : "",
		    node_forward_port(n, i));
		peer_id_to_string(&f->peer.peer, pid, sizeof(pid));
		if (f->no_addr)		/* node mode: any session */
			snprintf(to, sizeof(to), "%s (session)",
			    status_short(pid, sp, sizeof(sp)));
		else
			snprintf(to, sizeof(to), "%s@%s%s%s:%u",
			    status_short(pid, sp, sizeof(sp)),
			    f->peer.kind == MA_IP6 ? "[" : "", f->peer.host,
			    f->peer.kind == MA_IP6 ? "]" : "",
			    (unsigned)f->peer.port);
		evbuffer_add_printf(b, "%-20s %-22s %-44s %-9s %4u %6llu "
		    "%6llu  %s\n", route, from, to, status_security(f, sec,
		    sizeof(sec)), v.open, v.ok, v.failed, status_state(&v, st,
		    sizeof(st)));
	}
	for (i = 0; i < cfg->nexposes; i++) {
		const struct config_expose *e = &cfg->exposes[i];

		snprintf(route, sizeof(route), "expose.%s", e->name);
		status_route(src, route, &v);
		if (e->any)
			snprintf(from, sizeof(from), "any peer");
		else if (e->npeers == 1)
			snprintf(from, sizeof(from), "%s", status_short(
			    peer_id_to_string(&e->peers[0], pid, sizeof(pid)),
			    sp, sizeof(sp)));
		else
			snprintf(from, sizeof(from), "%zu peers", e->npeers);
		snprintf(to, sizeof(to), "%s%s%s:%u%s",
		    e->target.kind == MA_IP6 ? "[" : "", e->target.host,
		    e->target.kind == MA_IP6 ? "]" : "",
		    (unsigned)e->target.port, e->proxy_v2 ? " (PROXY v2)" : "");
		evbuffer_add_printf(b, "%-20s %-22s %-44s %-9s %4u %6llu "
		    "%6llu  %s\n", route, from, to, "-", v.open, v.ok,
		    v.failed, v.relaying > 0 ? "up" : v.ok == 0 &&
		    v.failed == 0 ? "no tunnel yet" : status_state(&v, st,
		    sizeof(st)));
	}
}

/* Live tunnels of one loop whose peer is id (status_each). */
struct status_peer_count {
	const char *id;
	unsigned k;
};

static void
status_peer_open_one(struct node *n, void *arg)
{
	struct status_peer_count *pc = arg;
	struct conn_totals t;
	struct conn *c;

	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		conn_totals(c, &t);
		pc->k += strcmp(t.peer, pc->id) == 0;
	}
}

/* One row of the peers table. */
static void
status_peer_row(const struct status_src *src, struct evbuffer *b,
    const char *id, const char *routes, const char *state)
{
	struct status_peer_count pc = { id, 0 };

	status_each(src, status_peer_open_one, &pc);
	evbuffer_add_printf(b, "%-53s %-20s %4u  %s\n", id, routes, pc.k,
	    state);
}

/* The peers table: whom we dial, whom we admit. */
static void
status_peers(const struct status_src *src, struct evbuffer *b)
{
	const struct config *cfg = node_config(src->n0);
	char route[CONFIG_NAME_MAX + 8], pid[PEER_ID_STR_MAX], st[80];
	struct route_view v;
	size_t i, j;

	evbuffer_add_printf(b, "\n%-53s %-20s %4s  %s\n", "PEER", "ROUTE",
	    "OPEN", "REACHABILITY");
	for (i = 0; i < cfg->nforwards; i++) {
		snprintf(route, sizeof(route), "forward.%s",
		    cfg->forwards[i].name);
		status_route(src, route, &v);
		peer_id_to_string(&cfg->forwards[i].peer.peer, pid,
		    sizeof(pid));
		status_peer_row(src, b, pid, route, status_state(&v, st,
		    sizeof(st)));
	}
	for (i = 0; i < cfg->nexposes; i++) {
		snprintf(route, sizeof(route), "expose.%s",
		    cfg->exposes[i].name);
		if (cfg->exposes[i].any)
			evbuffer_add_printf(b, "%-53s %-20s %4s  %s\n", "*",
			    route, "-", "any authenticated peer may connect");
		for (j = 0; j < cfg->exposes[i].npeers; j++) {
			peer_id_to_string(&cfg->exposes[i].peers[j], pid,
			    sizeof(pid));
			status_peer_row(src, b, pid, route, "may connect to us");
		}
	}
}

/* Label of a conn phase. */
static const char *
status_phase(enum conn_phase p)
{
	static const char *const names[] = { "dialing", "handshaking",
	    "targeting", "relaying", "closed" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] :
	    "?";
}

/* The rows of one loop's live tunnels (status_each). */
struct status_rows {
	struct evbuffer *b;
	unsigned k;
};

static void
status_tunnels_one(struct node *n, void *arg)
{
	struct status_rows *r = arg;
	struct evbuffer *b = r->b;
	char from[MULTIADDR_SOCKADDR_MAX], sp[32];
	struct conn_totals t;
	struct conn *c;

	for (c = node_conn_first(n); c != NULL; c = conn_next(c)) {
		r->k++;
		conn_totals(c, &t);
		multiaddr_fmt_sockaddr(t.from, from, sizeof(from));
		evbuffer_add_printf(b, "%-6llu %-20s %-20s %-11s %-22s %-11s "
		    "%7.1fs %12llu %12llu\n", (unsigned long long)conn_id(c),
		    t.route, status_short(t.peer, sp, sizeof(sp)),
		    t.proto != NULL ? t.proto : "-", from,
		    status_phase(conn_phase(c)), t.age, t.up, t.down);
	}
}

/* The live tunnels table. */
static void
status_tunnels(const struct status_src *src, struct evbuffer *b)
{
	struct status_rows r = { b, 0 };

	evbuffer_add_printf(b, "\n%-6s %-20s %-20s %-11s %-22s %-11s %8s "
	    "%12s %12s\n", "TUNNEL", "ROUTE", "PEER", "PROTO", "FROM",
	    "PHASE", "AGE", "UP", "DOWN");
	status_each(src, status_tunnels_one, &r);
	if (r.k == 0)
		evbuffer_add_printf(b, "(none)\n");
}

/* Render every table; see status.h. */
int
status_render(const struct node *n, struct evbuffer *b)
{
	return status_render_each(n, NULL, NULL, b);
}

/* Render every table over every loop; see status.h. */
int
status_render_each(const struct node *n, status_each_fn *each, void *ctx,
    struct evbuffer *b)
{
	const struct status_src src = { n, each, ctx };
	const struct config *cfg = node_config(n);
	enum node_state s = node_state(n);
	char ver[96], pid[PEER_ID_STR_MAX], l[MULTIADDR_STR_MAX];

	evbuffer_add_printf(b, "peerlock %s: %s, peer id %s\n",
	    version_describe(ver, sizeof(ver)), s == NODE_SERVING ? "serving" :
	    s == NODE_DRAINING ? "draining" : "starting",
	    peer_id_to_string(identity_peer_id(node_identity(n)), pid,
	    sizeof(pid)));
	if (cfg->has_listen)
		evbuffer_add_printf(b, "encrypted listener %s (port %u), "
		    "config %s\n\n", multiaddr_to_string(&cfg->listen, l,
		    sizeof(l)), node_listen_port(n), cfg->path);
	else
		evbuffer_add_printf(b, "no encrypted listener (forwards "
		    "only), config %s\n\n", cfg->path);
	status_routes(&src, b);
	status_peers(&src, b);
	status_tunnels(&src, b);
	return 0;
}

/* Wait for fd to be ready for ev until deadline; 0 or -1 (errno set). */
static int
status_wait(int fd, short ev, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	struct timespec now;
	long ms;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* Connect to addr with a deadline; the fd or -1 (errno set). */
static int
status_connect(const struct multiaddr *addr,
    const struct timespec *deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res;
	char port[8];
	socklen_t len = sizeof(int);
	int fd, soerr = 0;

	snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
	if (getaddrinfo(addr->host, port, &hints, &res) != 0) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
	    (errno != EINPROGRESS || status_wait(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
	    soerr != 0)) {
		soerr = soerr != 0 ? soerr : errno;
		close(fd);
		errno = soerr;
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* GET /status and print the body; see status.h. */
int
status_fetch(const struct multiaddr *addr, FILE *out, char *err,
    size_t errlen)
{
	static const char req[] = "GET /status HTTP/1.0\r\n"
	    "Host: peerlock\r\n\r\n";
	char where[MULTIADDR_STR_MAX + 8], buf[16384], *body;
	struct evbuffer *in = evbuffer_new();
	struct timespec deadline;
	ssize_t r;
	size_t len;
	int fd, code, rc = -1;

	snprintf(where, sizeof(where), "%s%s%s:%u",
	    addr->kind == MA_IP6 ? "[" : "", addr->host,
	    addr->kind == MA_IP6 ? "]" : "", (unsigned)addr->port);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += STATUS_TIMEOUT_MS / 1000;
	errno = 0;
	if (in == NULL || (fd = status_connect(addr, &deadline)) < 0) {
		snprintf(err, errlen, "admin %s: %s (is peerlock running "
		    "with this config?)", where, strerror(errno));
		evbuffer_free(in);
		return -1;
	}
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(req) - 1) {
		snprintf(err, errlen, "admin %s: send: %s", where,
		    strerror(errno));
		goto out;
	}
	for (;;) {
		if (status_wait(fd, POLLIN, &deadline) != 0) {
			snprintf(err, errlen, "admin %s: no answer: %s", where,
			    strerror(errno));
			goto out;
		}
		if ((r = recv(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		evbuffer_add(in, buf, (size_t)r);
	}
	len = evbuffer_get_length(in);
	evbuffer_add(in, "", 1);
	body = (char *)evbuffer_pullup(in, -1);
	if (len < 12 || sscanf(body, "HTTP/1.%*c %d", &code) != 1) {
		snprintf(err, errlen, "admin %s: not an HTTP answer", where);
		goto out;
	}
	if (code != 200) {
		snprintf(err, errlen, "admin %s: GET /status answered %d "
		    "(an older peerlock?)", where, code);
		goto out;
	}
	if ((body = strstr(body, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "admin %s: truncated answer", where);
		goto out;
	}
	fputs(body + 4, out);
	rc = 0;
out:
	close(fd);
	evbuffer_free(in);
	return rc;
}
