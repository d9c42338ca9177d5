/*
 * node.c - a running instance: binds the encrypted listener and one
 * plaintext listener per forward, creates a conn per accepted socket,
 * enforces the connection limit and stops gracefully.
 */
#include "node.h"

#include <errno.h>
#include <stdbool.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conn.h"
#include "iptable.h"
#include "log.h"
#include "secchan.h"

enum {
	NODE_BACKLOG = 1024,
	NODE_ACCEPT_RETRY_MS = 1000	/* pause after EMFILE/ENFILE */
};

/* One listening socket and what it is for. */
struct node_listener {
	struct node *node;
	struct evconnlistener *l;
	const struct config_forward *fw;	/* NULL: encrypted listener */
	struct event *retry;
	unsigned port;
};

struct node {
	struct event_base *base;
	struct config *cfg;
	struct identity *id;
	struct secchan_cred *cred;
	struct conn_env env;
	struct node_listener *ls;
	size_t nls;
	char prefix[32];
	bool stopping;
	struct event *stop_timer;
	void (*stop_done)(struct node *);
	struct node_stats stats;
	struct iptable *per_ip;		/* inbound conns/handshakes per IP */
	unsigned handshaking;		/* inbound conns not yet authenticated */
	time_t last_limit_log;
	unsigned limit_suppressed;
};

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
	iptable_add(n->per_ip, t.from, 1, 1, &ic);
}

/* A conn authenticated its peer: it no longer counts as a handshake. */
static void
node_on_conn_ready(struct node *n, struct conn *c)
{
	struct conn_totals t;
	struct ipcount ic;

	conn_totals(c, &t);
	if (!t.inbound)
		return;
	n->handshaking--;
	iptable_add(n->per_ip, t.from, 0, -1, &ic);
}

/* A conn ended; finish a pending stop when it was the last. */
static void
node_on_conn_close(struct node *n, struct conn *c, enum conn_reason r)
{
	struct conn_totals t;
	struct ipcount ic;

	conn_totals(c, &t);
	if (t.inbound) {
		if (!t.authenticated)
			n->handshaking--;
		iptable_add(n->per_ip, t.from, -1, t.authenticated ? 0 : -1,
		    &ic);
	}
	n->stats.closed[r]++;
	n->stats.bytes_up += t.up;
	n->stats.bytes_down += t.down;
	if (t.proto != NULL)
		snprintf(n->stats.last_proto, sizeof(n->stats.last_proto),
		    "%s", t.proto);
	if (n->stopping && n->env.count == 0 && n->stop_done != NULL) {
		void (*done)(struct node *) = n->stop_done;

		n->stop_done = NULL;
		done(n);
	}
}

/* Create a node; see node.h. */
struct node *
node_new(struct event_base *base, struct evdns_base *dns, struct config *cfg,
    struct identity *id, const char *prefix)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		goto fail;
	n->base = base;
	n->cfg = cfg;
	n->id = id;
	snprintf(n->prefix, sizeof(n->prefix), "%s", prefix);
	if ((n->cred = secchan_cred_new(id)) == NULL) {
		log_err("%sidentity: cannot build handshake credentials",
		    prefix);
		goto fail;
	}
	n->env.base = base;
	n->env.dns = dns;
	n->env.cred = n->cred;
	n->env.cfg = cfg;
	n->env.node = n;
	n->env.on_open = node_on_conn_open;
	n->env.on_ready = node_on_conn_ready;
	n->env.on_close = node_on_conn_close;
	n->per_ip = iptable_new(cfg->max_connections);
	if (n->per_ip == NULL)
		goto fail;
	n->env.log_prefix = n->prefix;
	return n;
fail:
	if (n != NULL) {
		secchan_cred_free(n->cred);
		iptable_free(n->per_ip);
		free(n);
	}
	config_free(cfg);
	identity_free(id);
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
	};

	return (unsigned)l < NODE_LIMIT_COUNT ? names[l] : "unknown";
}

/*
 * Which limit refuses a new connection from sa on listener nl, or
 * NODE_LIMIT_COUNT if none; *limit gets the configured value.
 */
static enum node_limit
node_check_limits(struct node *n, const struct node_listener *nl,
    const struct sockaddr *sa, unsigned *limit)
{
	const struct config *cfg = n->cfg;
	struct ipcount ic;

	*limit = cfg->max_connections;
	if (n->env.count >= cfg->max_connections)
		return NODE_LIMIT_CONNECTIONS;
	if (nl->fw != NULL)
		return NODE_LIMIT_COUNT;	/* local apps: global cap only */
	*limit = cfg->max_handshakes;
	if (n->handshaking >= cfg->max_handshakes)
		return NODE_LIMIT_HANDSHAKES;
	ic = iptable_get(n->per_ip, sa);
	*limit = cfg->max_connections_per_ip;
	if (ic.conns >= cfg->max_connections_per_ip)
		return NODE_LIMIT_CONNECTIONS_PER_IP;
	*limit = cfg->max_handshakes_per_ip;
	if (ic.handshakes >= cfg->max_handshakes_per_ip)
		return NODE_LIMIT_HANDSHAKES_PER_IP;
	return NODE_LIMIT_COUNT;
}

/* A socket was accepted on one of our listeners. */
static void
node_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct node_listener *nl = arg;
	struct node *n = nl->node;
	char from[64] = "?";

	enum node_limit lim;
	unsigned limit;

	(void)l;
	if ((lim = node_check_limits(n, nl, sa, &limit)) != NODE_LIMIT_COUNT) {
		if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
			getnameinfo(sa, (socklen_t)salen, from, sizeof(from),
			    NULL, 0, NI_NUMERICHOST);
		node_limit_log(n, lim, limit, from);
		evutil_closesocket(fd);
		return;
	}
	if (nl->fw != NULL)
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

/* Bind one listener for ma; fw NULL for the encrypted one. */
static int
node_bind(struct node *n, struct node_listener *nl,
    const struct multiaddr *ma, const struct config_forward *fw)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char port[8], text[320];
	int rc;

	nl->node = n;
	nl->fw = fw;
	multiaddr_to_string(ma, text, sizeof(text));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ma->kind == MA_IP4 || ma->kind == MA_DNS4 ? AF_INET :
	    ma->kind == MA_IP6 || ma->kind == MA_DNS6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", ma->port);
	if ((rc = getaddrinfo(ma->host, port, &hints, &res)) != 0) {
		log_err("%slisten %s: %s", n->prefix, text, gai_strerror(rc));
		return -1;
	}
	nl->l = evconnlistener_new_bind(n->base, node_on_accept, nl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    NODE_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (nl->l == NULL) {
		log_err("%slisten %s: %s", n->prefix, text,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	evconnlistener_set_error_cb(nl->l, node_on_accept_error);
	nl->retry = evtimer_new(n->base, node_on_retry, nl);
	if (getsockname(evconnlistener_get_fd(nl->l), (struct sockaddr *)&ss,
	    &sslen) == 0)
		nl->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	log_info("%slistening on %s (%s)", n->prefix, text,
	    fw != NULL ? fw->name : "encrypted");
	return 0;
}

/* Bind the encrypted listener (slot 0) and every forward. */
int
node_start(struct node *n)
{
	size_t i;
	char id[PEER_ID_STR_MAX];

	n->nls = 1 + n->cfg->nforwards;
	if ((n->ls = calloc(n->nls, sizeof(*n->ls))) == NULL)
		return -1;
	log_info("%speer id %s", n->prefix,
	    peer_id_to_string(identity_peer_id(n->id), id, sizeof(id)));
	if (n->cfg->has_listen &&
	    node_bind(n, &n->ls[0], &n->cfg->listen, NULL) != 0)
		return -1;
	for (i = 0; i < n->cfg->nforwards; i++)
		if (node_bind(n, &n->ls[1 + i], &n->cfg->forwards[i].listen,
		    &n->cfg->forwards[i]) != 0)
			return -1;
	return 0;
}

/* Close every listener. */
static void
node_close_listeners(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nls; i++) {
		if (n->ls[i].l != NULL)
			evconnlistener_free(n->ls[i].l);
		if (n->ls[i].retry != NULL)
			event_free(n->ls[i].retry);
		n->ls[i].l = NULL;
		n->ls[i].retry = NULL;
	}
}

/* Drop every conn still open. */
static void
node_drop_all(struct node *n, enum conn_reason r)
{
	struct conn *c, *next;

	for (c = conn_first(&n->env); c != NULL; c = next) {
		next = conn_next(c);
		conn_drop(c, r, "shutdown_timeout expired");
	}
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
	node_drop_all(n, CONN_R_SHUTDOWN);
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
	if (n == NULL)
		return;
	n->stop_done = NULL;
	if (n->ls != NULL)
		node_close_listeners(n);
	node_drop_all(n, CONN_R_SHUTDOWN);
	if (n->stop_timer != NULL)
		event_free(n->stop_timer);
	free(n->ls);
	iptable_free(n->per_ip);
	secchan_cred_free(n->cred);
	identity_free(n->id);
	config_free(n->cfg);
	free(n);
}

/* A DNS resolver that works even without /etc/resolv.conf. */
struct evdns_base *
node_dns_new(struct event_base *base)
{
	struct evdns_base *dns = evdns_base_new(base, 0);

	if (dns != NULL && evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL,
	    "/etc/resolv.conf") != 0)
		log_debug("dns: no usable /etc/resolv.conf; /dns addresses "
		    "will fail to resolve");
	return dns;
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
	return n->id;
}

/* Bound port of the encrypted listener. */
unsigned
node_listen_port(const struct node *n)
{
	return n->nls > 0 ? n->ls[0].port : 0;
}

/* Bound port of forward i. */
unsigned
node_forward_port(const struct node *n, size_t i)
{
	return 1 + i < n->nls ? n->ls[1 + i].port : 0;
}
