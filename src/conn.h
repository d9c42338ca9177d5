/*
 * conn.h - one connection object per tunnel (L2).
 *
 * A conn owns both sockets of a tunnel: the plaintext side (the local
 * app for a forward, the target for an expose) and the encrypted side.
 * It runs the upgrade (secchan), then relays with backpressure and
 * half-close.  It dies in exactly one place, conn_drop(), which logs the
 * one summary line and reports to its node.
 *
 * Memory per tunnel is bounded by the watermarks below (docs/design.md).
 */
#ifndef PEERLOCK_CONN_H
#define PEERLOCK_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "secchan.h"

enum {
	/* Stop reading a side when the partner's output exceeds this. */
	CONN_OUT_HIGH = 256 * 1024,
	/* Resume reading when the partner's output drains below this. */
	CONN_OUT_LOW = 64 * 1024,
	/* Max bytes read per socket read; one full Noise frame fits. */
	CONN_READ_MAX = 2 * (NOISE_FRAME_HDR + NOISE_MAX_MSG),
	/* Input high watermarks: the socket is not read past these. */
	CONN_PLAIN_IN_HIGH = 128 * 1024,
	CONN_SEC_IN_HIGH = 2 * (NOISE_FRAME_HDR + NOISE_MAX_MSG)
};

enum conn_phase {
	CONN_DIALING,		/* forward: connecting to the remote peer */
	CONN_HANDSHAKING,	/* multistream + security handshake */
	CONN_TARGETING,		/* expose: connecting to the local target */
	CONN_RELAYING,		/* both directions flowing */
	CONN_SESSION,		/* node mode: carries a session (session.h) */
	CONN_CLOSED
};

/* Why a connection ended: the close line and the metrics use it. */
enum conn_reason {
	CONN_R_DONE,			/* both directions finished */
	CONN_R_CONNECT_FAILED,		/* remote peer unreachable */
	CONN_R_TARGET_FAILED,		/* local target unreachable */
	CONN_R_CONNECT_TIMEOUT,
	CONN_R_HANDSHAKE_TIMEOUT,
	CONN_R_IDLE_TIMEOUT,
	CONN_R_HANDSHAKE_FAILED,	/* see the secchan failure class */
	CONN_R_NOT_ALLOWED,		/* authenticated but not exposed */
	CONN_R_PROTOCOL,		/* bad transport frame */
	CONN_R_IO_ERROR,		/* socket error or reset */
	CONN_R_PEER_CLOSED,		/* EOF before the tunnel was up */
	CONN_R_SHUTDOWN,		/* peerlock is stopping */
	CONN_R_INTERNAL,
	/* node mode */
	CONN_R_STREAM_RESET,		/* the peer reset the stream */
	CONN_R_PROTOCOL_REFUSED,	/* the peer answered na */
	CONN_R_NO_SESSION,		/* no session and no address to dial */
	CONN_R_SESSION_CLOSED,		/* its session ended */
	/*
	 * Forward: the remote ended the tunnel after the handshake before
	 * sending a byte while the app was still open (it refused us or
	 * could not reach its target).
	 */
	CONN_R_REMOTE_CLOSED,
	CONN_R_REVOKED,			/* a reload removed the peer */
	CONN_R_DNS_FAILED,		/* resolving the dial address */
	/*
	 * Inbound, before authentication: the handshake budget was full and
	 * this was the oldest pending connection (see conn_shed_oldest).
	 */
	CONN_R_SHED,
	CONN_R_COUNT
};

/* Short label of a reason ("done", "handshake_timeout", ...). */
const char *conn_reason_name(enum conn_reason r);

struct node;
struct conn;
struct session;
struct config_forward;

/*
 * One generation of config and credentials (a reload makes a new one).
 * A conn takes a reference when it is created and uses its generation's
 * credentials and timeouts until it ends, so a reload never pulls them
 * away; release(g) is called when the last reference is dropped.  The
 * owner (the node) holds one reference while the generation is current.
 */
struct conn_gen {
	unsigned refs;
	const struct config *cfg;
	const struct secchan_cred *cred;
	const struct identity *id;	/* node mode: identify's public key */
	void (*release)(struct conn_gen *g);
};

/* Take a reference to g. */
void conn_gen_hold(struct conn_gen *g);
/* Drop a reference; the last one calls g->release(g). */
void conn_gen_drop(struct conn_gen *g);

/*
 * What every conn of a node shares (borrowed; outlives the conns).  The
 * list of live conns is kept here by conn.c.
 */
struct resolver;

/*
 * Inbound conns not yet authenticated, oldest first: those that have sent
 * nothing at all, and those that have sent bytes (moved over at their
 * first byte).  Kept by conn.c; shedding takes a head in O(1).
 */
enum conn_preauth { CONN_PA_SILENT, CONN_PA_TALKED, CONN_PA_COUNT };
struct conn_list {
	struct conn *head, *tail;
	unsigned n;
};

struct conn_env {
	struct event_base *base;
	struct resolver *resolver;	/* names in dial addresses */
	/*
	 * The current generation: new conns take it; inbound conns route
	 * by its config when their handshake completes, and close lines
	 * obey its `quiet`.
	 */
	struct conn_gen *gen;
	struct node *node;
	/* Called once when a conn is created (it is already listed). */
	void (*on_open)(struct node *n, struct conn *c);
	/* Called once when the remote peer is authenticated. */
	void (*on_ready)(struct node *n, struct conn *c);
	/* Called once when relaying starts (route and protocol final). */
	void (*on_relay)(struct node *n, struct conn *c);
	/* Called once from conn_drop(), before the conn is freed. */
	void (*on_close)(struct node *n, struct conn *c,
	    enum conn_reason r);
	/* Node mode: a tunnel stream started relaying / ended. */
	void (*on_stream_open)(struct node *n, const char *route,
	    const char *proto, double open_secs);
	void (*on_stream_close)(struct node *n, const char *route,
	    enum conn_reason r, unsigned long long up,
	    unsigned long long down);
	const char *log_prefix;		/* e.g. "" or "[A] " */
	/* Live conns of this env, maintained by conn.c. */
	struct conn *head;
	unsigned count;
	unsigned ninbound;		/* of which accepted (encrypted side) */
	struct conn_list preauth[CONN_PA_COUNT];
	/* Node mode: live sessions and streams, kept by session.c. */
	struct session *sessions;
	unsigned nstreams;
	unsigned ninbound_streams;	/* of which opened by the peer */
	/*
	 * threads = N: the process-wide live conns + streams and inbound
	 * conns + streams, for conn_env_inbound_full; NULL: this env's.
	 */
	void (*totals)(struct node *n, unsigned long *all,
	    unsigned long *inbound);
	/* times a stream waited for the peer's window (node's counter) */
	unsigned long long *window_stalls;
};

/*
 * Outbound tunnel: fd is an app connection accepted on forward fw (fw is
 * copied).  Takes ownership of fd.  NULL on failure (fd closed).
 */
struct conn *conn_new_forward(struct conn_env *env,
    const struct config_forward *fw, evutil_socket_t fd,
    const struct sockaddr *from, int fromlen);

/*
 * Inbound tunnel: fd is a connection accepted on the encrypted listener.
 * Takes ownership of fd.  NULL on failure (fd closed).
 */
struct conn *conn_new_inbound(struct conn_env *env, evutil_socket_t fd,
    const struct sockaddr *from, int fromlen);

/*
 * The only way a connection dies: logs the summary line with reason and
 * detail (may be NULL), reports to the node, frees everything.  Safe to
 * reach twice; the caller must not touch c afterwards.
 */
void conn_drop(struct conn *c, enum conn_reason r, const char *detail);

/*
 * The handshake budget is full: drop the oldest inbound conn that is not
 * authenticated yet, preferring one that has sent nothing at all, with
 * reason CONN_R_SHED and why (e.g. "max_handshakes (256) reached") in its
 * close line.  *which gets the list it came from.  Returns false when
 * there is none.  O(1).
 */
bool conn_shed_oldest(struct conn_env *env, const char *why,
    enum conn_preauth *which);

/*
 * Whether what remote peers hold (inbound conns, handshaking or not, and
 * streams they opened) has reached max_connections - local_reserve, or
 * everything has reached max_connections: then nothing more may come in,
 * so that local forwards keep their reserve.
 */
bool conn_env_inbound_full(const struct conn_env *env);

/* Stop a relaying conn gracefully or drop one that is not (shutdown). */
void conn_shutdown(struct conn *c);

/*
 * Node mode: an app connection fd (ownership taken) accepted on forward
 * fw (fw->protocol set) becomes a stream on the session to fw's peer: a
 * live one (dialed or accepted), else one being dialed, else a new dial
 * when fw has an address and no_dial is NULL.  Without any, fd is closed
 * with reason no_session, or connect_failed and the detail no_dial (the
 * node backs off after failed dials).
 */
void conn_forward_stream(struct conn_env *env,
    const struct config_forward *fw, evutil_socket_t fd,
    const struct sockaddr *from, const char *no_dial);

/*
 * Node mode: dial a session to ma (address and /p2p/ID) for [connect]
 * section name (route "connect.NAME").  NULL on failure.
 */
struct conn *conn_new_session(struct conn_env *env, const char *route,
    const struct multiaddr *ma, const enum sec_proto *sec, size_t nsec);

/* The session c carries, or NULL. */
struct session *conn_session(const struct conn *c);
/* Whether c is dialing or handshaking a session to peer. */
bool conn_session_pending_to(const struct conn *c,
    const struct peer_id *peer);

/* For session.c: yamux is running; open the streams that waited. */
void conn_session_ready(struct conn *c);
/* For session.c: the accepted side's address text of c. */
const char *conn_from(const struct conn *c);
/*
 * For session.c: our identify message (uvarint length + protobuf) for
 * the peer of c into buf (cap bytes); returns its length or 0.
 */
size_t conn_identify_msg(const struct conn *c, uint8_t *buf, size_t cap);

/* Socket helpers shared with session.c. */
void conn_bev_push(struct bufferevent *bev);
void conn_bev_wrote(struct bufferevent *bev);
void conn_bev_nodelay(struct bufferevent *bev);
void conn_bev_error(struct bufferevent *bev, char *buf, size_t cap);
void conn_format_addr(const struct sockaddr *sa, char *buf, size_t cap);
/*
 * One readv(2) of up to *rdsz bytes (adapted between 4 KiB and 128 KiB
 * to what the reads return; 0 starts at 4 KiB), not past high bytes of
 * input, straight into bev's input buffer: libevent 2.1's own reads are
 * 4 KiB each.  Returns the bytes read, 0 at EOF, -1 on an error (errno
 * set), -2 if there is nothing to read now.  fin_sent: we shut the
 * socket for writing; unless we did, an end of stream on a connection
 * the kernel aborted (a reset or timeout that a write consumed) is the
 * error, not EOF (tcpsock_aborted()).
 */
ev_ssize_t conn_bev_read(struct bufferevent *bev, size_t *rdsz, size_t high,
    size_t atleast, bool fin_sent);

/*
 * Cut a tunnel whose peer a reload no longer admits: both sockets are
 * reset (the app or target and the remote see an abort, not a clean
 * end) and the conn is dropped with CONN_R_REVOKED and detail.
 */
void conn_revoke(struct conn *c, const char *detail);

/* Read-only facts for the node (metrics, listings). */
struct conn_totals {
	unsigned long long up, down;	/* plaintext bytes each way */
	const char *proto;		/* negotiated protocol id or NULL */
	const char *route;
	const char *peer;		/* base58 peer ID or "-" */
	const struct peer_id *peer_id;	/* once authenticated, else NULL */
	bool session_dial;		/* dialing a node-mode session */
	const struct peer_id *dial_peer; /* session_dial: the expected peer */
	double age;			/* seconds */
	const struct sockaddr *from;	/* the accepted socket's peer */
	bool inbound;			/* accepted on the encrypted side */
	bool authenticated;		/* the handshake completed */
	double handshake;		/* handshake seconds, < 0 before */
	/*
	 * In on_close only: the close class (a reason name, or for
	 * handshake_failed the failure class: "peer_id_mismatch",
	 * "tls_verify", ...; "no_common_protocol" also for a dialer that
	 * left after our refusals), and whether the conn failed during
	 * the upgrade (handshake, timeout, early close, not allowed).
	 */
	const char *cls;
	bool handshake_failed;
	const char *detail;		/* on_close only: detail or NULL */
};
void conn_totals(const struct conn *c, struct conn_totals *t);
uint64_t conn_id(const struct conn *c);
/* Iterate live conns: first of env, then next (NULL at the end). */
struct conn *conn_first(const struct conn_env *env);
struct conn *conn_next(const struct conn *c);
enum conn_phase conn_phase(const struct conn *c);

#endif
