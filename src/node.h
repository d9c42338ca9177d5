/*
 * node.h - one running peerlock instance (L3): its config, identity,
 * listeners (encrypted and one per forward) and connections.
 * Several nodes may share one event loop (the demo runs two).
 */
#ifndef PEERLOCK_NODE_H
#define PEERLOCK_NODE_H

#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "keys.h"

struct node;

/*
 * Create a node on base/dns.  Takes ownership of cfg and id.  Logs lines
 * with prefix (may be "").  Returns NULL on failure (cfg and id freed).
 */
struct node *node_new(struct event_base *base, struct evdns_base *dns,
    struct config *cfg, struct identity *id, const char *prefix);

/*
 * Bind every listener.  Returns 0, or -1 with the reason logged (e.g.
 * "listen /ip4/0.0.0.0/tcp/4001: Address already in use").
 */
int node_start(struct node *n);

/*
 * Stop accepting and let live tunnels finish; after timeout_ms the rest
 * are closed.  done() is called once when no connection is left.
 */
void node_stop(struct node *n, unsigned timeout_ms,
    void (*done)(struct node *n));

/* Close everything and free; NULL is a no-op. */
void node_free(struct node *n);

/* A DNS resolver that works even without /etc/resolv.conf. */
struct evdns_base *node_dns_new(struct event_base *base);

/* Limits that refuse connections (counted in node_stats.refused). */
enum node_limit {
	NODE_LIMIT_CONNECTIONS,
	NODE_LIMIT_HANDSHAKES,
	NODE_LIMIT_CONNECTIONS_PER_IP,
	NODE_LIMIT_HANDSHAKES_PER_IP,
	NODE_LIMIT_FDS,
	NODE_LIMIT_COUNT
};

/* Config-key-like label of a limit ("max_handshakes_per_ip"). */
const char *node_limit_name(enum node_limit l);

/* Totals since start, for the demo and the metrics. */
struct node_stats {
	unsigned long long refused[NODE_LIMIT_COUNT];
	unsigned long long closed[CONN_R_COUNT];
	unsigned long long bytes_up, bytes_down;
	char last_proto[16];		/* protocol of the last tunnel */
};
const struct node_stats *node_stats(const struct node *n);

/* Live connections. */
unsigned node_conn_count(const struct node *n);

/* The node's identity. */
const struct identity *node_identity(const struct node *n);

/* Actual port of the encrypted listener (0 if none); for port 0 binds. */
unsigned node_listen_port(const struct node *n);
/* Actual port of forward i's listener. */
unsigned node_forward_port(const struct node *n, size_t i);

#endif
