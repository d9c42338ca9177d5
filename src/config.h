/*
 * config.h - the INI configuration, parsed once into an immutable struct
 * (L1).  Parsed with libinih; every error names file, line and problem.
 * conf/peerlock.conf documents the format.
 *
 * Limits: a line holds at most 197 characters (libinih's 200-byte line
 * buffer; longer lines are an error, never truncated); long peer lists
 * continue on indented lines.  Section NAMEs are [A-Za-z0-9_-], at most
 * CONFIG_SECTION_NAME_MAX characters (libinih truncates section names at
 * 49 bytes).  A section with no keys is invisible to libinih and ignored.
 */
#ifndef PEERLOCK_CONFIG_H
#define PEERLOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "multiaddr.h"
#include "peerid.h"
#include "tcpsock.h"

enum sec_proto { SEC_NOISE, SEC_TLS };
enum {
	SEC_MAX = 2,
	CONFIG_NAME_MAX = 64,		/* buffer for NAME in forward.NAME */
	CONFIG_SECTION_NAME_MAX = 40,	/* longest NAME accepted */
	CONFIG_FILE_MAX = 4 << 20,	/* config file size cap */
	CONFIG_MAX_FORWARDS = 256,
	CONFIG_MAX_EXPOSES = 256,
	CONFIG_MAX_CONNECTS = 256,
	CONFIG_PROTO_MAX = 128,		/* node-mode protocol id + NUL */
	CONFIG_WINDOW_MIN = 256 * 1024,	/* max_stream_window range */
	CONFIG_WINDOW_MAX = 1 << 30,
	CONFIG_WINDOW_DEFAULT = 16 * 1024 * 1024,
	CONFIG_MAX_PEERS = 1024,	/* per expose */
	CONFIG_MAX_PEER_IDS = 8,	/* per forward (peer_ids) */
	CONFIG_MAX_CONNECTIONS = 1 << 20,
	CONFIG_THREADS_MAX = 64,	/* threads = auto caps here */
	CONFIG_USER_MAX = 32		/* longest user name accepted */
};
/* perf_max_bytes: default 4 GiB, at most 1 TiB */
#define CONFIG_PERF_DEFAULT (4ull << 30)
#define CONFIG_PERF_MAX (1ull << 40)

/* The multistream id of a security protocol ("/noise", "/tls/1.0.0"). */
const char *sec_proto_id(enum sec_proto p);
/* Its short name ("noise", "tls"). */
const char *sec_proto_name(enum sec_proto p);

/*
 * [forward.NAME]: local plaintext listener -> remote peer.  With
 * protocol set (node mode) each app connection is a yamux stream of that
 * protocol on the one session to the peer; peer may then be /p2p/ID
 * alone (no_addr: use a live session, never dial).
 */
struct config_forward {
	char name[CONFIG_NAME_MAX];
	struct multiaddr listen;	/* local plaintext address */
	struct multiaddr peer;		/* remote; /p2p/ optional w/ peer_ids */
	bool no_addr;			/* peer = /p2p/ID alone */
	char protocol[CONFIG_PROTO_MAX];	/* "" = raw mode */
	/*
	 * The identities the remote may prove, any one of them: peer_ids
	 * when set (e.g. the current and the next key of a rotation), else
	 * peer's /p2p/ alone.  Never empty after parsing.
	 */
	struct peer_id peer_ids[CONFIG_MAX_PEER_IDS];
	size_t npeer_ids;
	enum sec_proto security[SEC_MAX];
	size_t nsecurity;		/* inherited from [peerlock] if unset */
	int listen_line;		/* line of listen, for run-time errors */
	bool unsafe_listen;		/* unsafe_listen = yes: not loopback */
};

/* [expose.NAME]: authenticated peers -> local plaintext target. */
struct config_expose {
	char name[CONFIG_NAME_MAX];
	struct peer_id *peers;
	size_t npeers;
	bool any;			/* peers = * */
	struct multiaddr target;
	bool proxy_v2;			/* proxy_protocol = v2 */
	char protocol[CONFIG_PROTO_MAX];	/* "" = raw mode */
};

/*
 * [connect.NAME]: keep a node-mode session to peer open (reconnecting
 * with backoff), so that the peer can open streams to us over it.
 */
struct config_connect {
	char name[CONFIG_NAME_MAX];
	struct multiaddr peer;		/* address and /p2p/ID */
	enum sec_proto security[SEC_MAX];
	size_t nsecurity;
};

struct config {
	char *path;			/* file it was read from */
	char *identity;			/* identity key file (config_load:
					   absolute) */
	bool has_listen;
	struct multiaddr listen;	/* encrypted listener */
	enum sec_proto security[SEC_MAX];	/* preference order */
	size_t nsecurity;		/* default: noise only */
	unsigned handshake_timeout_ms;	/* default 10 s */
	unsigned connect_timeout_ms;	/* default 10 s */
	unsigned idle_timeout_ms;	/* 0 = none (default) */
	unsigned max_connections;	/* default 4096, all tunnels */
	unsigned max_handshakes;	/* default 256, inbound pending */
	/*
	 * Event loops (docs/threads.md): 0 = auto (online CPUs, at most
	 * CONFIG_THREADS_MAX); default 1.  Read at start only.
	 */
	unsigned threads;
	unsigned max_connections_per_ip;	/* default 256, inbound */
	unsigned max_handshakes_per_ip;	/* default 32, inbound pending */
	/*
	 * Of max_connections, how many only local forwards may use: what
	 * remote peers hold (inbound conns and the streams they open) is
	 * capped at max_connections - local_reserve.  Default: 1/8 of
	 * max_connections when there are forwards, else 0.
	 */
	unsigned local_reserve;
	unsigned max_stream_window;	/* node mode: bytes, default 16 MiB */
	/*
	 * perf = on: serve /perf/1.0.0 (libp2p perf) to the peers a
	 * node-mode expose admits; off by default (it makes us send what
	 * the peer asks for).  perf_max_bytes caps one request.
	 */
	bool perf;
	unsigned long long perf_max_bytes;	/* default 4 GiB */
	/*
	 * TCP keepalive on the encrypted sockets: default on, 60 s idle,
	 * probes 10 s apart, dead after 6 unanswered (tcp_keepalive*).
	 */
	struct tcpsock_keepalive keepalive;
	enum log_level log_level;	/* default LOG_INFO */
	bool log_format_json;		/* log_format = json; default text */
	bool has_admin;
	struct multiaddr admin;		/* admin HTTP listener (host:port) */
	int listen_line, admin_line;	/* their lines, for run-time errors */
	unsigned shutdown_timeout_ms;	/* default 30 s; 0 = close at once */
	unsigned quiet;			/* bit i: config_quiet_classes[i] */
	char *user;			/* drop to this user after binding */
	struct config_forward *forwards;
	size_t nforwards;
	struct config_expose *exposes;
	size_t nexposes;
	struct config_connect *connects;
	size_t nconnects;
};

/*
 * Parse the file at path.  On failure returns NULL and writes
 * "path:line: problem" into err (errlen bytes).  A relative identity
 * path is made absolute from the config file's directory.  The caller
 * owns the result and releases it with config_free().
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Parse text (name is used in error messages).  As config_load(). */
struct config *config_parse(const char *text, const char *name,
    char *err, size_t errlen);

/* Free; NULL is a no-op. */
void config_free(struct config *c);

/*
 * The keys the parser accepts, for tests that hold the documentation to
 * the parser: key i's name, and in *section the section it belongs in
 * ("peerlock", or "forward" for [forward.NAME], ...).  NULL past the end.
 */
const char *config_key_at(size_t i, const char **section);

/*
 * The raw-mode expose (no protocol) that admits peer (exact entry
 * first, then '*'), or NULL.
 */
const struct config_expose *config_route(const struct config *c,
    const struct peer_id *peer);

/*
 * The node-mode expose serving protocol proto to peer (exact entry
 * first, then '*'), or NULL.
 */
const struct config_expose *config_route_proto(const struct config *c,
    const struct peer_id *peer, const char *proto);

/*
 * Whether peer may hold a node-mode session with us: a node-mode expose
 * admits it, or a node-mode forward or a [connect] names it.
 */
bool config_peer_node(const struct config *c, const struct peer_id *peer);

/* Whether any route or [connect] uses node mode. */
bool config_node_mode(const struct config *c);

/*
 * The protocols of the node-mode exposes that admit peer, into
 * out[0..cap) (borrowed from c); returns the count (at most cap).
 */
size_t config_peer_protocols(const struct config *c,
    const struct peer_id *peer, const char **out, size_t cap);

/*
 * Things a valid config does that work but are risky; `peerlock check`
 * prints them (it does not fail) and `run` logs them.
 */
enum config_warning {
	CONFIG_WARN_ADMIN_EXPOSED,	/* admin bound beyond loopback */
	CONFIG_WARN_COUNT
};
/*
 * Whether warning w applies to c; if so its text, starting with
 * "FILE:LINE: ", into buf (cap bytes).
 */
bool config_warning(const struct config *c, enum config_warning w,
    char *buf, size_t cap);

/*
 * Close classes that `quiet` may name (NULL-terminated): close reasons
 * and handshake failure classes ("closed_early", "bad_message", ...).
 */
extern const char *const config_quiet_classes[];

/* Whether close lines of class cls are demoted to debug level. */
bool config_quiet(const struct config *c, const char *cls);

/*
 * Parse a duration: digits followed by "ms", "s", "m", "h" or nothing
 * (seconds), e.g. "10s", "500ms", "2m".  Stores milliseconds in *ms.
 * Returns 0, or -1 for garbage or a value over UINT_MAX ms.
 */
int config_parse_duration(const char *s, unsigned *ms);

#endif
