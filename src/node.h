/*
 * node.h - one running peerlock instance (L3): its config, identity,
 * listeners (encrypted and one per forward) and connections.
 * Several nodes may share one event loop (the demo runs two).
 */
#ifndef PEERLOCK_NODE_H
#define PEERLOCK_NODE_H

#include <event2/event.h>
#include <stdbool.h>

#include "config.h"
#include "conn.h"
#include "keys.h"
#include "metrics.h"
#include "resolve.h"
#include "session.h"

struct node;

/*
 * A parsed config and identity shared read-only by the nodes of every
 * event loop (threads = N; docs/threads.md), with an atomic reference
 * count.  node_cfgref_new takes ownership of cfg and id (both freed on
 * failure: NULL) and returns one reference; node_new_ref and
 * node_reload_ref each take one over.  Nothing in cfg or id is written
 * after this point.
 */
struct node_cfgref;
struct node_cfgref *node_cfgref_new(struct config *cfg, struct identity *id);
void node_cfgref_hold(struct node_cfgref *r);
void node_cfgref_drop(struct node_cfgref *r);	/* NULL: no-op */
const struct config *node_cfgref_config(const struct node_cfgref *r);

/*
 * threads = N: what the nodes of one process share (the process-wide
 * counters behind max_connections and max_handshakes, and loop 0's
 * node, whose port-0 listeners the other loops follow).  Freed after
 * every node of it.
 */
struct node_group;
struct node_group *node_group_new(unsigned nloops);
void node_group_free(struct node_group *g);
/*
 * The loops the group's nodes run on: from then on, a node-mode
 * forward's app connection on loop 0 whose peer has a usable session on
 * another loop only (the peer dialed us) is handed to that loop.  Set
 * before the loops start.
 */
struct loops;
void node_group_set_loops(struct node_group *g, struct loops *L);

/*
 * Make n loop number loop (0-based) of g; before node_start(), loop 0
 * first.  With more than one loop every listener is bound with
 * SO_REUSEPORT; loops above 0 bind no node-mode forward and run no
 * [connect] keeper (those live on loop 0 with their sessions).
 */
void node_set_group(struct node *n, struct node_group *g, unsigned loop);

/*
 * Create a node on base; names in dial addresses are looked up with dns
 * (borrowed, outlives the node).  Takes ownership of cfg and id.  Logs
 * lines with prefix (may be "").  Returns NULL on failure (cfg and id
 * freed).
 */
struct node *node_new(struct event_base *base, struct resolver *dns,
    struct config *cfg, struct identity *id, const char *prefix);

/* As node_new, on a shared config (one reference of ref taken over). */
struct node *node_new_ref(struct event_base *base, struct resolver *dns,
    struct node_cfgref *ref, const char *prefix);

/*
 * Listening sockets inherited from the service manager (LISTEN_FDS):
 * node_start() and node_reload() adopt the one whose bound address
 * equals a configured listen address instead of binding; the others stay
 * open, unused.  fds is copied; the node closes adopted fds with their
 * listener.  Call before node_start().
 */
void node_set_inherited(struct node *n, const int *fds, size_t nfds);

/*
 * Bind every listener.  Returns 0, or -1 with the reason logged (e.g.
 * "peerlock.conf:3: listen /ip4/0.0.0.0/tcp/4001 (encrypted): Address
 * already in use").
 */
int node_start(struct node *n);

/*
 * Switch to a new config and identity (ownership taken; both freed on
 * failure).  Live tunnels keep the config and credentials they started
 * with; new connections use the new ones, and inbound handshakes that
 * finish from now on are routed by the new exposes.  Listeners whose
 * address is unchanged keep their socket (no connection is refused),
 * new ones are bound, removed ones closed.  On any failure (a listener
 * cannot be bound, no credentials, draining) nothing changes and -1 is
 * returned with the reason logged.  Counted in the reload metrics.
 */
int node_reload(struct node *n, struct config *cfg, struct identity *id);

/* As node_reload, on a shared config (one reference taken over). */
int node_reload_ref(struct node *n, struct node_cfgref *ref);

/* Count a reload that failed before node_reload (e.g. a bad file). */
void node_reload_failed(struct node *n);

enum node_state { NODE_STARTING, NODE_SERVING, NODE_DRAINING };
/* Serving once node_start() succeeded, draining after node_stop(). */
enum node_state node_state(const struct node *n);

/* The current config (replaced by node_reload). */
const struct config *node_config(const struct node *n);

/* First live conn (iterate with conn_next). */
struct conn *node_conn_first(const struct node *n);

/*
 * Stop accepting and let live tunnels finish; after timeout_ms the rest
 * are closed.  done() is called once when no connection is left.
 */
void node_stop(struct node *n, unsigned timeout_ms,
    void (*done)(struct node *n));

/*
 * Close every live tunnel now (reason shutdown, detail why: e.g. "second
 * signal"); a pending node_stop() then completes.
 */
void node_close_all(struct node *n, const char *why);

/* Close everything and free; NULL is a no-op. */
void node_free(struct node *n);


/* Limits that refuse connections (counted in node_stats.refused). */
enum node_limit {
	NODE_LIMIT_CONNECTIONS,
	NODE_LIMIT_HANDSHAKES,
	NODE_LIMIT_CONNECTIONS_PER_IP,
	NODE_LIMIT_HANDSHAKES_PER_IP,
	NODE_LIMIT_FDS,
	NODE_LIMIT_LOCAL_RESERVE,	/* inbound: the rest is for forwards */
	NODE_LIMIT_COUNT
};

/* Config-key-like label of a limit ("max_handshakes_per_ip"). */
const char *node_limit_name(enum node_limit l);

/* Totals since start, for the demo and the metrics. */
struct node_stats {
	unsigned long long accepted;	/* sockets admitted by a listener */
	unsigned long long handoffs_in;	/* app conns from loop 0 (threads) */
	unsigned long long refused[NODE_LIMIT_COUNT];
	/* pending handshakes shed to admit newcomers (conn_shed_oldest) */
	unsigned long long shed[CONN_PA_COUNT];
	unsigned long long closed[CONN_R_COUNT];
	unsigned long long bytes_up, bytes_down;
	char last_proto[16];		/* protocol of the last tunnel */
};
const struct node_stats *node_stats(const struct node *n);

/*
 * Counters for /metrics, kept by the node from connection events (live
 * tunnels are added by the reader: iterate node_conn_first()).
 */
struct node_metrics {
	struct metrics_family *established;	/* (route, protocol) */
	struct metrics_family *closed;		/* (route, reason) */
	struct metrics_family *hs_failures;	/* (class) */
	struct metrics_family *bytes;		/* (route, up/down), closed */
	struct metrics_hist handshake[SEC_MAX];	/* by sec_proto */
	struct metrics_hist stream_open;	/* node mode: to relaying */
	unsigned long long window_stalls;	/* node mode */
	unsigned long long reloads_ok, reloads_failed;
};
const struct node_metrics *node_metrics(const struct node *n);

/* Live connections. */
unsigned node_conn_count(const struct node *n);

/*
 * Reachability of a forward's remote peer, learnt from the tunnels
 * (passive: nothing is dialed for it).  Up after a handshake that
 * authenticated the peer, down after a tunnel failed to reach it
 * (connect, DNS, handshake) or was ended by it before any data
 * (remote_closed_early); unknown before the first tunnel.
 */
enum node_peer_state { NODE_PEER_UNKNOWN, NODE_PEER_UP, NODE_PEER_DOWN };
struct node_peer_status {
	const char *route;		/* "forward.NAME" */
	const struct config_forward *fw;	/* current config */
	enum node_peer_state state;
	const char *peer;		/* last authenticated peer ID or "" */
	double last_handshake;		/* Unix time, 0 = never */
	double last_error_at;		/* Unix time, 0 = never */
	const char *last_error;		/* "reason: detail" or "" */
};
/* Status of forward i of the current config; false past the end. */
bool node_peer_status(const struct node *n, size_t i,
    struct node_peer_status *st);

/*
 * peerlock perf: open a /perf/1.0.0 stream to peer on a session that is
 * up (session_open_perf).  1: started (done is called at its end); 0: no
 * usable session to peer yet (a [connect] may be dialing it); -1: the
 * stream could not be opened (done was called, or the reason logged).
 */
int node_perf(struct node *n, const struct peer_id *peer, uint64_t upload,
    uint64_t download, session_perf_done done, struct perfcmd *arg);

/* The node's identity. */
const struct identity *node_identity(const struct node *n);

/* Actual port of the encrypted listener (0 if none); for port 0 binds. */
unsigned node_listen_port(const struct node *n);
/* Actual port of forward i's listener. */
unsigned node_forward_port(const struct node *n, size_t i);

#endif
