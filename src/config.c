/*
 * config.c - the INI configuration, parsed with libinih.
 *
 * libinih (Debian's build) calls the handler without a line number, so
 * the text is fed through ini_parse_stream() with a reader that counts
 * lines; the handler is called synchronously for the line just read and
 * takes the number from the shared parse state.  The reader also refuses
 * lines that do not fit libinih's buffer (it would silently cut them) and
 * notes which lines open a section, so a repeated header is noticed.
 *
 * libinih treats an indented line after a key as a continuation of that
 * key; only the list keys (security, peers) accept that.  libinih does not
 * strip inline comments from continuation lines, so we do.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire.h"

enum sect_kind {
	SECT_NONE, SECT_PEERLOCK, SECT_FORWARD, SECT_EXPOSE, SECT_CONNECT
};

enum key_id {
	K_IDENTITY, K_LISTEN, K_SECURITY, K_HANDSHAKE_TIMEOUT,
	K_CONNECT_TIMEOUT, K_IDLE_TIMEOUT, K_MAX_CONNECTIONS,
	K_THREADS, K_MAX_HANDSHAKES, K_MAX_CONNECTIONS_PER_IP, K_MAX_HANDSHAKES_PER_IP,
	K_LOG_LEVEL, K_LOG_FORMAT, K_ADMIN, K_SHUTDOWN_TIMEOUT, K_QUIET,
	K_USER, K_PEER, K_PEERS, K_TARGET, K_PROXY_PROTOCOL, K_PROTOCOL,
	K_MAX_STREAM_WINDOW, K_PEER_IDS, K_UNSAFE_LISTEN, K_LOCAL_RESERVE,
	K_TCP_KEEPALIVE, K_TCP_KEEPALIVE_IDLE, K_TCP_KEEPALIVE_INTERVAL,
	K_TCP_KEEPALIVE_COUNT, K_PERF, K_PERF_MAX_BYTES,
	K_COUNT
};

enum {
	CFG_VALUE_MAX = 512,	/* > libinih line buffer */
	CFG_MSG_MAX = 384,
	CFG_DEFAULT_TIMEOUT_MS = 10000,
	CFG_DEFAULT_SHUTDOWN_MS = 30000,
	CFG_DEFAULT_MAX_CONNECTIONS = 4096,
	CFG_DEFAULT_MAX_HANDSHAKES = 256,
	CFG_DEFAULT_MAX_CONNECTIONS_PER_IP = 256,
	CFG_DEFAULT_MAX_HANDSHAKES_PER_IP = 32,
	CFG_DEFAULT_KA_IDLE_S = 60,	/* tcp_keepalive_idle */
	CFG_DEFAULT_KA_INTERVAL_S = 10,	/* tcp_keepalive_interval */
	CFG_DEFAULT_KA_COUNT = 6	/* tcp_keepalive_count */
};

/* Where a section and its keys were seen. */
struct sect_meta {
	int hdr;			/* header line */
	int key_line[K_COUNT];		/* 0 = key not seen */
	int *peer_lines;		/* expose: line of each peer */
	size_t peer_cap;		/* expose: allocated peers */
	int any_line;			/* expose: line of '*' */
};

/* Everything the reader and handler share while parsing. */
struct pstate {
	const char *name;		/* for messages */
	const char *text;
	size_t len, pos;
	int lineno;			/* line last handed to libinih */
	int hdr_line;			/* last line starting with '[' */
	bool indented;			/* current line starts with blank */

	struct config *c;
	bool failed;
	int errline;			/* line named in the message */
	int failline;			/* line being read when it failed */
	char *err;
	size_t errlen;

	enum sect_kind kind;		/* current section */
	char sect[CONFIG_NAME_MAX + 16];
	size_t idx;			/* forward or expose index */
	struct sect_meta *cur;
	int last_key;			/* -1 after a header */

	bool seen_peerlock;
	struct sect_meta pmeta;
	struct sect_meta fmeta[CONFIG_MAX_FORWARDS];
	struct sect_meta emeta[CONFIG_MAX_EXPOSES];
	struct sect_meta cmeta[CONFIG_MAX_CONNECTS];
};

typedef int (*key_set)(struct pstate *, const char *, bool);

/* One accepted key: name, id, the section it belongs to, its setter. */
struct key_def {
	const char *name;
	enum key_id id;
	enum sect_kind sect;
	bool list;			/* may continue on indented lines */
	key_set set;
};

/* Record "name:line: problem" unless an error is already recorded. */
static int __attribute__((format(printf, 3, 4)))
cfg_fail(struct pstate *st, int line, const char *fmt, ...)
{
	char msg[CFG_MSG_MAX];
	va_list ap;

	if (st->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->failed = true;
	st->errline = line;
	st->failline = st->lineno;
	if (st->err != NULL && st->errlen > 0)
		snprintf(st->err, st->errlen, "%s:%d: %s", st->name, line,
		    msg);
	return 0;
}

const char *
sec_proto_id(enum sec_proto p)
{
	return p == SEC_TLS ? MSS_PROTO_TLS : MSS_PROTO_NOISE;
}

const char *
sec_proto_name(enum sec_proto p)
{
	return p == SEC_TLS ? "tls" : "noise";
}

int
config_parse_duration(const char *s, unsigned *ms)
{
	unsigned long long v, mult;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 60 * 60 * 1000;
	else
		return -1;
	if (v > UINT_MAX / mult)
		return -1;
	*ms = (unsigned)(v * mult);
	return 0;
}

/* Next token of *p, separated by blanks or commas; false at the end. */
static bool
cfg_token(const char **p, const char **tok, size_t *n)
{
	const char *s = *p;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return false;
	*tok = s;
	while (*s != '\0' && *s != ' ' && *s != '\t' && *s != ',')
		s++;
	*n = (size_t)(s - *tok);
	*p = s;
	return true;
}

/* Parse a security list (appending on continuation lines). */
static int
cfg_set_security_list(struct pstate *st, const char *v, bool cont,
    enum sec_proto *list, size_t *n)
{
	const char *tok;
	enum sec_proto p;
	size_t len, i;

	if (!cont)
		*n = 0;
	while (cfg_token(&v, &tok, &len)) {
		if (len == 5 && memcmp(tok, "noise", 5) == 0)
			p = SEC_NOISE;
		else if (len == 3 && memcmp(tok, "tls", 3) == 0)
			p = SEC_TLS;
		else
			return cfg_fail(st, st->lineno, "security: unknown "
			    "protocol '%.*s' (use noise or tls)",
			    (int)(len > 32 ? 32 : len), tok);
		for (i = 0; i < *n; i++)
			if (list[i] == p)
				return cfg_fail(st, st->lineno, "security: "
				    "'%s' listed twice", sec_proto_name(p));
		list[(*n)++] = p;
	}
	return 1;
}

/* [peerlock] / [forward.NAME] security = noise tls */
static int
cfg_set_security(struct pstate *st, const char *v, bool cont)
{
	struct config *c = st->c;

	if (st->kind == SECT_FORWARD)
		return cfg_set_security_list(st, v, cont,
		    c->forwards[st->idx].security,
		    &c->forwards[st->idx].nsecurity);
	if (st->kind == SECT_CONNECT)
		return cfg_set_security_list(st, v, cont,
		    c->connects[st->idx].security,
		    &c->connects[st->idx].nsecurity);
	return cfg_set_security_list(st, v, cont, c->security, &c->nsecurity);
}

/*
 * max_stream_window = SIZE: bytes, or a number with KiB or MiB (node
 * mode: how far a stream's receive window may grow).
 */
static int
cfg_set_window(struct pstate *st, const char *v, bool cont)
{
	unsigned long long n;
	unsigned long mul = 1;
	char *end;

	(void)cont;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (strcmp(end, "KiB") == 0)
		mul = 1024;
	else if (strcmp(end, "MiB") == 0)
		mul = 1024 * 1024;
	else if (*end != '\0')
		n = 0;
	if (v[0] < '0' || v[0] > '9' || errno == ERANGE ||
	    n > CONFIG_WINDOW_MAX || n * mul < CONFIG_WINDOW_MIN ||
	    n * mul > CONFIG_WINDOW_MAX)
		return cfg_fail(st, st->lineno, "max_stream_window: expected "
		    "256KiB to 1024MiB (bytes, or a number with KiB or MiB), "
		    "got '%.32s'", v);
	st->c->max_stream_window = (unsigned)(n * mul);
	return 1;
}

/* perf = on|off: serve /perf/1.0.0 (node mode; see config.h) */
static int
cfg_set_perf(struct pstate *st, const char *v, bool cont)
{
	(void)cont;
	if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
		st->c->perf = true;
	else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
		st->c->perf = false;
	else
		return cfg_fail(st, st->lineno, "perf: expected on or off, got "
		    "'%.32s'", v);
	return 1;
}

/* perf_max_bytes = SIZE: bytes, or a number with KiB, MiB or GiB */
static int
cfg_set_perf_max(struct pstate *st, const char *v, bool cont)
{
	unsigned long long n;
	unsigned long long mul = 1;
	char *end;

	(void)cont;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (strcmp(end, "KiB") == 0)
		mul = 1ull << 10;
	else if (strcmp(end, "MiB") == 0)
		mul = 1ull << 20;
	else if (strcmp(end, "GiB") == 0)
		mul = 1ull << 30;
	else if (*end != '\0')
		mul = 0;
	if (v[0] < '0' || v[0] > '9' || errno == ERANGE || mul == 0 ||
	    n == 0 || n > CONFIG_PERF_MAX / mul)
		return cfg_fail(st, st->lineno, "perf_max_bytes: expected 1 "
		    "to 1024GiB (bytes, or a number with KiB, MiB or GiB), "
		    "got '%.32s'", v);
	st->c->perf_max_bytes = n * mul;
	return 1;
}

/* identity = PATH */
static int
cfg_set_identity(struct pstate *st, const char *v, bool cont)
{
	if ((st->c->identity = strdup(v)) == NULL)
		return cfg_fail(st, st->lineno, "out of memory");
	return 1;
}

/* user = NAME: drop privileges to it after binding (checked at run) */
static int
cfg_set_user(struct pstate *st, const char *v, bool cont)
{
	size_t i;

	if (v[0] == '\0' || strlen(v) > CONFIG_USER_MAX)
		return cfg_fail(st, st->lineno, "user: expected a user name "
		    "of 1 to %d characters", CONFIG_USER_MAX);
	for (i = 0; v[i] != '\0'; i++)
		if (!(v[i] >= 'a' && v[i] <= 'z') &&
		    !(v[i] >= 'A' && v[i] <= 'Z') &&
		    !(v[i] >= '0' && v[i] <= '9') && strchr("._-", v[i]) ==
		    NULL)
			return cfg_fail(st, st->lineno, "user: bad user name "
			    "'%.32s'", v);
	if ((st->c->user = strdup(v)) == NULL)
		return cfg_fail(st, st->lineno, "out of memory");
	return 1;
}

/* Parse a multiaddr value for key; dial = needs a non-zero port. */
static int
cfg_addr(struct pstate *st, const char *key, const char *v,
    struct multiaddr *ma, bool dial)
{
	char err[CFG_MSG_MAX - 64];

	if (multiaddr_parse(v, ma, err, sizeof(err)) == -1)
		return cfg_fail(st, st->lineno, "%s: %s", key, err);
	if (dial && ma->port == 0)
		return cfg_fail(st, st->lineno, "%s: port 0 cannot be dialed",
		    key);
	return 1;
}

/* listen = ADDR, in [peerlock] (encrypted) or [forward.NAME] (plain) */
static int
cfg_set_listen(struct pstate *st, const char *v, bool cont)
{
	struct multiaddr *ma;

	if (st->kind == SECT_FORWARD)
		ma = &st->c->forwards[st->idx].listen;
	else
		ma = &st->c->listen;
	if (cfg_addr(st, "listen", v, ma, false) == 0)
		return 0;
	if (ma->has_peer)
		return cfg_fail(st, st->lineno, "listen: a listen address "
		    "takes no /p2p/ peer ID");
	if (st->kind == SECT_PEERLOCK) {
		st->c->has_listen = true;
		st->c->listen_line = st->lineno;
	} else
		st->c->forwards[st->idx].listen_line = st->lineno;
	return 1;
}

/* handshake_timeout, connect_timeout, idle_timeout = DURATION */
static int
cfg_set_timeout(struct pstate *st, const char *v, bool cont)
{
	struct config *c = st->c;
	const char *key;
	unsigned *dst;

	switch (st->last_key) {
	case K_HANDSHAKE_TIMEOUT:
		key = "handshake_timeout";
		dst = &c->handshake_timeout_ms;
		break;
	case K_CONNECT_TIMEOUT:
		key = "connect_timeout";
		dst = &c->connect_timeout_ms;
		break;
	case K_SHUTDOWN_TIMEOUT:
		key = "shutdown_timeout";
		dst = &c->shutdown_timeout_ms;
		break;
	default:
		key = "idle_timeout";
		dst = &c->idle_timeout_ms;
		break;
	}
	if (config_parse_duration(v, dst) == -1)
		return cfg_fail(st, st->lineno, "%s: bad duration '%.32s' "
		    "(examples: 10s, 500ms, 2m)", key, v);
	if (*dst == 0 && st->last_key != K_IDLE_TIMEOUT &&
	    st->last_key != K_SHUTDOWN_TIMEOUT)
		return cfg_fail(st, st->lineno, "%s must be greater than 0",
		    key);
	return 1;
}

/* tcp_keepalive = on|off (yes|no) */
static int
cfg_set_keepalive(struct pstate *st, const char *v, bool cont)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
		st->c->keepalive.on = true;
	else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
		st->c->keepalive.on = false;
	else
		return cfg_fail(st, st->lineno, "tcp_keepalive: expected on "
		    "or off, got '%.32s'", v);
	return 1;
}

/* tcp_keepalive_idle, tcp_keepalive_interval = DURATION (whole seconds) */
static int
cfg_set_keepalive_time(struct pstate *st, const char *v, bool cont)
{
	bool idle = st->last_key == K_TCP_KEEPALIVE_IDLE;
	const char *key = idle ? "tcp_keepalive_idle" :
	    "tcp_keepalive_interval";
	unsigned ms;

	if (config_parse_duration(v, &ms) == -1 || ms == 0 ||
	    ms % 1000 != 0 || ms / 1000 > TCPSOCK_KA_SECS_MAX)
		return cfg_fail(st, st->lineno, "%s: expected whole seconds "
		    "from 1s to %ds (the kernel counts seconds), got '%.32s'",
		    key, TCPSOCK_KA_SECS_MAX, v);
	if (idle)
		st->c->keepalive.idle_s = ms / 1000;
	else
		st->c->keepalive.interval_s = ms / 1000;
	return 1;
}

/* tcp_keepalive_count = N (1..127) */
static int
cfg_set_keepalive_count(struct pstate *st, const char *v, bool cont)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE ||
	    n == 0 || n > TCPSOCK_KA_COUNT_MAX)
		return cfg_fail(st, st->lineno, "tcp_keepalive_count: expected "
		    "a number from 1 to %d, got '%.32s'", TCPSOCK_KA_COUNT_MAX,
		    v);
	st->c->keepalive.count = (unsigned)n;
	return 1;
}

/* max_connections, max_handshakes, ..._per_ip = N (1..2^20) */
static int
cfg_set_limit(struct pstate *st, const char *v, bool cont)
{
	struct config *c = st->c;
	unsigned long n;
	const char *key;
	unsigned *dst;
	char *end;

	switch (st->last_key) {
	case K_MAX_HANDSHAKES:
		key = "max_handshakes";
		dst = &c->max_handshakes;
		break;
	case K_MAX_CONNECTIONS_PER_IP:
		key = "max_connections_per_ip";
		dst = &c->max_connections_per_ip;
		break;
	case K_MAX_HANDSHAKES_PER_IP:
		key = "max_handshakes_per_ip";
		dst = &c->max_handshakes_per_ip;
		break;
	default:
		key = "max_connections";
		dst = &c->max_connections;
		break;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE ||
	    n == 0 || n > CONFIG_MAX_CONNECTIONS)
		return cfg_fail(st, st->lineno, "%s: expected a number from 1 "
		    "to %d, got '%.32s'", key, CONFIG_MAX_CONNECTIONS, v);
	*dst = (unsigned)n;
	return 1;
}

/* threads = auto | N (1..CONFIG_THREADS_MAX); auto is stored as 0 */
static int
cfg_set_threads(struct pstate *st, const char *v, bool cont)
{
	unsigned long n;
	char *end;

	(void)cont;
	if (strcmp(v, "auto") == 0) {
		st->c->threads = 0;
		return 1;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE ||
	    n == 0 || n > CONFIG_THREADS_MAX)
		return cfg_fail(st, st->lineno, "threads: expected auto or a "
		    "number from 1 to %d, got '%.32s'", CONFIG_THREADS_MAX, v);
	st->c->threads = (unsigned)n;
	return 1;
}

/* local_reserve = N (0..2^20; below max_connections, checked at the end) */
static int
cfg_set_reserve(struct pstate *st, const char *v, bool cont)
{
	unsigned long n;
	char *end;

	(void)cont;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE ||
	    n > CONFIG_MAX_CONNECTIONS)
		return cfg_fail(st, st->lineno, "local_reserve: expected a "
		    "number from 0 to %d, got '%.32s'", CONFIG_MAX_CONNECTIONS,
		    v);
	st->c->local_reserve = (unsigned)n;
	return 1;
}

/* log_level = debug|info|warn|error */
static int
cfg_set_log_level(struct pstate *st, const char *v, bool cont)
{
	static const char *const names[] = { "debug", "info", "warn",
	    "error" };
	static const enum log_level lvls[] = { LOG_DEBUG, LOG_INFO, LOG_WARN,
	    LOG_ERR };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			st->c->log_level = lvls[i];
			return 1;
		}
	}
	return cfg_fail(st, st->lineno, "log_level: expected debug, info, "
	    "warn or error, got '%.32s'", v);
}

/* log_format = text|json */
static int
cfg_set_log_format(struct pstate *st, const char *v, bool cont)
{
	if (strcmp(v, "text") == 0 || strcmp(v, "json") == 0) {
		st->c->log_format_json = v[0] == 'j';
		return 1;
	}
	return cfg_fail(st, st->lineno, "log_format: expected text or json, "
	    "got '%.32s'", v);
}

/* admin = host:port (the HTTP admin listener) */
static int
cfg_set_admin(struct pstate *st, const char *v, bool cont)
{
	struct multiaddr *ma = &st->c->admin;

	if (cfg_addr(st, "admin", v, ma, false) == 0)
		return 0;
	if (ma->has_peer)
		return cfg_fail(st, st->lineno, "admin: takes no "
		    "/p2p/ peer ID");
	if (ma->kind != MA_IP4 && ma->kind != MA_IP6)
		return cfg_fail(st, st->lineno, "admin: needs an IP address, "
		    "e.g. 127.0.0.1:9090");
	st->c->has_admin = true;
	st->c->admin_line = st->lineno;
	return 1;
}

const char *const config_quiet_classes[] = {
	"closed_early", "handshake_timeout", "bad_message",
	"no_common_protocol", "peer_id_mismatch", "bad_identity",
	"tls_verify", "not_allowed", "connect_failed", "connect_timeout",
	"target_failed", "idle_timeout", "io_error", "protocol_error",
	"remote_closed_early", "revoked", "dns_failed", "shed",
	NULL
};

/* quiet = CLASS ... (close lines of these classes at debug level) */
static int
cfg_set_quiet(struct pstate *st, const char *v, bool cont)
{
	const char *tok;
	size_t len, i;

	if (!cont)
		st->c->quiet = 0;
	while (cfg_token(&v, &tok, &len)) {
		for (i = 0; config_quiet_classes[i] != NULL; i++)
			if (strlen(config_quiet_classes[i]) == len &&
			    memcmp(config_quiet_classes[i], tok, len) == 0)
				break;
		if (config_quiet_classes[i] == NULL)
			return cfg_fail(st, st->lineno, "quiet: unknown class "
			    "'%.*s' (e.g. closed_early handshake_timeout "
			    "bad_message)", (int)(len > 32 ? 32 : len), tok);
		st->c->quiet |= 1u << i;
	}
	return 1;
}

bool
config_quiet(const struct config *c, const char *cls)
{
	size_t i;

	if (c == NULL || cls == NULL || c->quiet == 0)
		return false;
	for (i = 0; config_quiet_classes[i] != NULL; i++)
		if (strcmp(config_quiet_classes[i], cls) == 0)
			return (c->quiet & (1u << i)) != 0;
	return false;
}

/* [expose.NAME] proxy_protocol = v2 | none */
static int
cfg_set_proxy(struct pstate *st, const char *v, bool cont)
{
	if (strcmp(v, "v2") == 0 || strcmp(v, "none") == 0) {
		st->c->exposes[st->idx].proxy_v2 = v[0] == 'v';
		return 1;
	}
	return cfg_fail(st, st->lineno, "proxy_protocol: expected v2 or "
	    "none, got '%.32s'", v);
}

/* [forward.NAME] unsafe_listen = yes | no */
static int
cfg_set_unsafe_listen(struct pstate *st, const char *v, bool cont)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		st->c->forwards[st->idx].unsafe_listen = v[0] == 'y';
		return 1;
	}
	return cfg_fail(st, st->lineno, "unsafe_listen: expected yes or no, "
	    "got '%.32s'", v);
}

/*
 * [forward.NAME] / [connect.NAME] peer = MULTIADDR/p2p/ID; a forward
 * may also name /p2p/ID alone (node mode: any live session to the peer).
 */
static int
cfg_set_peer(struct pstate *st, const char *v, bool cont)
{
	struct config_forward *f = st->kind == SECT_FORWARD ?
	    &st->c->forwards[st->idx] : NULL;
	struct multiaddr *ma = f != NULL ? &f->peer :
	    &st->c->connects[st->idx].peer;
	const char *id = NULL;

	(void)cont;
	if (strncmp(v, "/p2p/", 5) == 0)
		id = v + 5;
	else if (strncmp(v, "/ipfs/", 6) == 0)
		id = v + 6;
	if (id != NULL && f != NULL) {
		memset(ma, 0, sizeof(*ma));
		if (peer_id_parse(id, &ma->peer) != 0)
			return cfg_fail(st, st->lineno, "peer: bad peer ID "
			    "'%.60s'", id);
		ma->has_peer = true;
		f->no_addr = true;
		return 1;
	}
	if (cfg_addr(st, "peer", v, ma, true) == 0)
		return 0;
	/* a forward may list its IDs in peer_ids instead: see the check */
	if (!ma->has_peer && f == NULL)
		return cfg_fail(st, st->lineno, "peer: needs /p2p/PEERID, "
		    "as in /ip4/10.0.0.2/tcp/4001/p2p/12D3KooW...");
	return 1;
}

/* [forward.NAME] peer_ids = ID ID ... (any one may answer) */
static int
cfg_set_peer_ids(struct pstate *st, const char *v, bool cont)
{
	struct config_forward *f = &st->c->forwards[st->idx];
	char buf[PEER_ID_STR_MAX];
	const char *tok;
	size_t len;

	while (cfg_token(&v, &tok, &len)) {
		if (len >= sizeof(buf))
			return cfg_fail(st, st->lineno, "peer_ids: bad peer "
			    "ID '%.60s...'", tok);
		memcpy(buf, tok, len);
		buf[len] = '\0';
		if (f->npeer_ids == CONFIG_MAX_PEER_IDS)
			return cfg_fail(st, st->lineno, "peer_ids: more than "
			    "%d peer IDs in forward.%s", CONFIG_MAX_PEER_IDS,
			    f->name);
		if (peer_id_parse(buf, &f->peer_ids[f->npeer_ids]) == -1)
			return cfg_fail(st, st->lineno, "peer_ids: bad peer "
			    "ID '%.60s'", buf);
		if (peer_id_in(f->peer_ids, f->npeer_ids,
		    &f->peer_ids[f->npeer_ids]))
			return cfg_fail(st, st->lineno, "peer_ids: %s listed "
			    "twice", buf);
		f->npeer_ids++;
	}
	return 1;
}

/*
 * [forward.NAME] / [expose.NAME] protocol = /x/NAME: node mode.  A
 * multistream protocol id: printable ASCII without blanks, starting
 * with '/', and none of the ids peerlock serves itself.
 */
static int
cfg_set_protocol(struct pstate *st, const char *v, bool cont)
{
	static const char *const reserved[] = { MSS_PROTO_HEADER,
	    "/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0",
	    "/yamux/1.0.0", MSS_PROTO_NOISE, MSS_PROTO_TLS, NULL };
	char *dst = st->kind == SECT_FORWARD ?
	    st->c->forwards[st->idx].protocol :
	    st->c->exposes[st->idx].protocol;
	size_t i, n = strlen(v);

	(void)cont;
	if (v[0] != '/' || n < 2)
		return cfg_fail(st, st->lineno, "protocol: expected an id "
		    "starting with '/', as in /x/postgres, got '%.60s'", v);
	if (n >= CONFIG_PROTO_MAX)
		return cfg_fail(st, st->lineno, "protocol: longer than %d "
		    "characters", CONFIG_PROTO_MAX - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 127)
			return cfg_fail(st, st->lineno, "protocol: character "
			    "%zu is not printable ASCII or is a blank", i + 1);
	for (i = 0; reserved[i] != NULL; i++)
		if (strcmp(v, reserved[i]) == 0)
			return cfg_fail(st, st->lineno, "protocol: %s is "
			    "served by peerlock itself", v);
	memcpy(dst, v, n + 1);
	return 1;
}

/* [expose.NAME] target = ADDR */
static int
cfg_set_target(struct pstate *st, const char *v, bool cont)
{
	struct multiaddr *ma = &st->c->exposes[st->idx].target;

	if (cfg_addr(st, "target", v, ma, true) == 0)
		return 0;
	if (ma->has_peer)
		return cfg_fail(st, st->lineno, "target: a plaintext target "
		    "takes no /p2p/ peer ID");
	return 1;
}

/* Add '*' to the current expose. */
static int
cfg_add_any(struct pstate *st, struct config_expose *e)
{
	if (e->npeers > 0)
		return cfg_fail(st, st->lineno, "peers: '*' cannot be mixed "
		    "with peer IDs");
	if (e->any)
		return cfg_fail(st, st->lineno, "peers: '*' listed twice");
	e->any = true;
	st->cur->any_line = st->lineno;
	return 1;
}

/* Add one peer ID token to the current expose. */
static int
cfg_add_peer(struct pstate *st, struct config_expose *e, const char *tok,
    size_t len)
{
	char buf[PEER_ID_STR_MAX];
	struct peer_id *np;
	int *nl;
	size_t cap;

	if (e->any)
		return cfg_fail(st, st->lineno, "peers: '*' cannot be mixed "
		    "with peer IDs");
	if (len >= sizeof(buf))
		return cfg_fail(st, st->lineno, "peers: bad peer ID '%.60s...'",
		    tok);
	memcpy(buf, tok, len);
	buf[len] = '\0';
	if (e->npeers == CONFIG_MAX_PEERS)
		return cfg_fail(st, st->lineno, "peers: too many peers in "
		    "expose.%s (max %d)", e->name, CONFIG_MAX_PEERS);
	if (e->npeers == st->cur->peer_cap) {
		cap = e->npeers == 0 ? 4 : e->npeers * 2;
		if ((np = realloc(e->peers, cap * sizeof(*np))) == NULL)
			return cfg_fail(st, st->lineno, "out of memory");
		e->peers = np;
		if ((nl = realloc(st->cur->peer_lines,
		    cap * sizeof(*nl))) == NULL)
			return cfg_fail(st, st->lineno, "out of memory");
		st->cur->peer_lines = nl;
		st->cur->peer_cap = cap;
	}
	if (peer_id_parse(buf, &e->peers[e->npeers]) == -1)
		return cfg_fail(st, st->lineno, "peers: bad peer ID '%.60s'",
		    buf);
	st->cur->peer_lines[e->npeers++] = st->lineno;
	return 1;
}

/* [expose.NAME] peers = ID ID ... | * */
static int
cfg_set_peers(struct pstate *st, const char *v, bool cont)
{
	struct config_expose *e = &st->c->exposes[st->idx];
	const char *tok;
	size_t len;

	while (cfg_token(&v, &tok, &len)) {
		if (len == 1 && tok[0] == '*') {
			if (cfg_add_any(st, e) == 0)
				return 0;
		} else if (cfg_add_peer(st, e, tok, len) == 0)
			return 0;
	}
	return 1;
}

static const struct key_def cfg_keys[] = {
	{ "identity", K_IDENTITY, SECT_PEERLOCK, false, cfg_set_identity },
	{ "listen", K_LISTEN, SECT_PEERLOCK, false, cfg_set_listen },
	{ "security", K_SECURITY, SECT_PEERLOCK, true, cfg_set_security },
	{ "handshake_timeout", K_HANDSHAKE_TIMEOUT, SECT_PEERLOCK, false,
	    cfg_set_timeout },
	{ "connect_timeout", K_CONNECT_TIMEOUT, SECT_PEERLOCK, false,
	    cfg_set_timeout },
	{ "idle_timeout", K_IDLE_TIMEOUT, SECT_PEERLOCK, false,
	    cfg_set_timeout },
	{ "max_connections", K_MAX_CONNECTIONS, SECT_PEERLOCK, false,
	    cfg_set_limit },
	{ "max_handshakes", K_MAX_HANDSHAKES, SECT_PEERLOCK, false,
	    cfg_set_limit },
	{ "max_connections_per_ip", K_MAX_CONNECTIONS_PER_IP, SECT_PEERLOCK,
	    false, cfg_set_limit },
	{ "max_handshakes_per_ip", K_MAX_HANDSHAKES_PER_IP, SECT_PEERLOCK,
	    false, cfg_set_limit },
	{ "max_stream_window", K_MAX_STREAM_WINDOW, SECT_PEERLOCK, false,
	    cfg_set_window },
	{ "local_reserve", K_LOCAL_RESERVE, SECT_PEERLOCK, false,
	    cfg_set_reserve },
	{ "threads", K_THREADS, SECT_PEERLOCK, false, cfg_set_threads },
	{ "log_level", K_LOG_LEVEL, SECT_PEERLOCK, false, cfg_set_log_level },
	{ "log_format", K_LOG_FORMAT, SECT_PEERLOCK, false,
	    cfg_set_log_format },
	{ "admin", K_ADMIN, SECT_PEERLOCK, false, cfg_set_admin },
	{ "shutdown_timeout", K_SHUTDOWN_TIMEOUT, SECT_PEERLOCK, false,
	    cfg_set_timeout },
	{ "quiet", K_QUIET, SECT_PEERLOCK, true, cfg_set_quiet },
	{ "user", K_USER, SECT_PEERLOCK, false, cfg_set_user },
	{ "tcp_keepalive", K_TCP_KEEPALIVE, SECT_PEERLOCK, false,
	    cfg_set_keepalive },
	{ "tcp_keepalive_idle", K_TCP_KEEPALIVE_IDLE, SECT_PEERLOCK, false,
	    cfg_set_keepalive_time },
	{ "tcp_keepalive_interval", K_TCP_KEEPALIVE_INTERVAL, SECT_PEERLOCK,
	    false, cfg_set_keepalive_time },
	{ "tcp_keepalive_count", K_TCP_KEEPALIVE_COUNT, SECT_PEERLOCK, false,
	    cfg_set_keepalive_count },
	{ "perf", K_PERF, SECT_PEERLOCK, false, cfg_set_perf },
	{ "perf_max_bytes", K_PERF_MAX_BYTES, SECT_PEERLOCK, false,
	    cfg_set_perf_max },
	{ "listen", K_LISTEN, SECT_FORWARD, false, cfg_set_listen },
	{ "peer", K_PEER, SECT_FORWARD, false, cfg_set_peer },
	{ "peer_ids", K_PEER_IDS, SECT_FORWARD, true, cfg_set_peer_ids },
	{ "security", K_SECURITY, SECT_FORWARD, true, cfg_set_security },
	{ "protocol", K_PROTOCOL, SECT_FORWARD, false, cfg_set_protocol },
	{ "protocol", K_PROTOCOL, SECT_EXPOSE, false, cfg_set_protocol },
	{ "peer", K_PEER, SECT_CONNECT, false, cfg_set_peer },
	{ "security", K_SECURITY, SECT_CONNECT, true, cfg_set_security },
	{ "unsafe_listen", K_UNSAFE_LISTEN, SECT_FORWARD, false,
	    cfg_set_unsafe_listen },
	{ "peers", K_PEERS, SECT_EXPOSE, true, cfg_set_peers },
	{ "target", K_TARGET, SECT_EXPOSE, false, cfg_set_target },
	{ "proxy_protocol", K_PROXY_PROTOCOL, SECT_EXPOSE, false,
	    cfg_set_proxy },
};

/* Name of a section kind as written in the file ("forward"). */
static const char *
cfg_sect_name(enum sect_kind k)
{
	switch (k) {
	case SECT_PEERLOCK:
		return "peerlock";
	case SECT_FORWARD:
		return "forward";
	case SECT_EXPOSE:
		return "expose";
	case SECT_CONNECT:
		return "connect";
	default:
		return "?";
	}
}

/* Key i of the parser's table; see config.h. */
const char *
config_key_at(size_t i, const char **section)
{
	if (i >= sizeof(cfg_keys) / sizeof(cfg_keys[0]))
		return NULL;
	*section = cfg_sect_name(cfg_keys[i].sect);
	return cfg_keys[i].name;
}

/* The definition of key name in section kind, or NULL. */
static const struct key_def *
cfg_key(enum sect_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (cfg_keys[i].sect == kind &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* The definition of key id in section kind (it exists). */
static const struct key_def *
cfg_key_by_id(enum sect_kind kind, int id)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (cfg_keys[i].sect == kind && (int)cfg_keys[i].id == id)
			return &cfg_keys[i];
	return NULL;
}

/* True if NAME of forward.NAME / expose.NAME is well-formed. */
static bool
cfg_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return i >= 1 && i <= CONFIG_SECTION_NAME_MAX;
}

/* Open a [forward.NAME] section. */
static int
cfg_begin_forward(struct pstate *st, const char *name)
{
	struct config *c = st->c;
	struct config_forward *f;
	size_t i;

	for (i = 0; i < c->nforwards; i++)
		if (strcmp(c->forwards[i].name, name) == 0)
			return cfg_fail(st, st->hdr_line, "duplicate section "
			    "[forward.%s] (first at line %d)", name,
			    st->fmeta[i].hdr);
	if (c->nforwards == CONFIG_MAX_FORWARDS)
		return cfg_fail(st, st->hdr_line, "too many [forward.*] "
		    "sections (max %d)", CONFIG_MAX_FORWARDS);
	f = realloc(c->forwards, (c->nforwards + 1) * sizeof(*f));
	if (f == NULL)
		return cfg_fail(st, st->hdr_line, "out of memory");
	c->forwards = f;
	f = &c->forwards[c->nforwards];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	st->idx = c->nforwards++;
	st->cur = &st->fmeta[st->idx];
	st->kind = SECT_FORWARD;
	return 1;
}

/* Open an [expose.NAME] section. */
static int
cfg_begin_expose(struct pstate *st, const char *name)
{
	struct config *c = st->c;
	struct config_expose *e;
	size_t i;

	for (i = 0; i < c->nexposes; i++)
		if (strcmp(c->exposes[i].name, name) == 0)
			return cfg_fail(st, st->hdr_line, "duplicate section "
			    "[expose.%s] (first at line %d)", name,
			    st->emeta[i].hdr);
	if (c->nexposes == CONFIG_MAX_EXPOSES)
		return cfg_fail(st, st->hdr_line, "too many [expose.*] "
		    "sections (max %d)", CONFIG_MAX_EXPOSES);
	e = realloc(c->exposes, (c->nexposes + 1) * sizeof(*e));
	if (e == NULL)
		return cfg_fail(st, st->hdr_line, "out of memory");
	c->exposes = e;
	e = &c->exposes[c->nexposes];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	st->idx = c->nexposes++;
	st->cur = &st->emeta[st->idx];
	st->kind = SECT_EXPOSE;
	return 1;
}

/* Open a [connect.NAME] section. */
static int
cfg_begin_connect(struct pstate *st, const char *name)
{
	struct config *c = st->c;
	struct config_connect *k;
	size_t i;

	for (i = 0; i < c->nconnects; i++)
		if (strcmp(c->connects[i].name, name) == 0)
			return cfg_fail(st, st->hdr_line, "duplicate section "
			    "[connect.%s] (first at line %d)", name,
			    st->cmeta[i].hdr);
	if (c->nconnects == CONFIG_MAX_CONNECTS)
		return cfg_fail(st, st->hdr_line, "too many [connect.*] "
		    "sections (max %d)", CONFIG_MAX_CONNECTS);
	k = realloc(c->connects, (c->nconnects + 1) * sizeof(*k));
	if (k == NULL)
		return cfg_fail(st, st->hdr_line, "out of memory");
	c->connects = k;
	k = &c->connects[c->nconnects];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	st->idx = c->nconnects++;
	st->cur = &st->cmeta[st->idx];
	st->kind = SECT_CONNECT;
	return 1;
}

/* A new section header was seen (at st->hdr_line): open it. */
static int
cfg_begin_section(struct pstate *st, const char *section)
{
	const char *name = NULL;
	int rc;

	snprintf(st->sect, sizeof(st->sect), "%s", section);
	st->last_key = -1;
	st->kind = SECT_NONE;
	if (strcmp(section, "peerlock") == 0) {
		if (st->seen_peerlock)
			return cfg_fail(st, st->hdr_line, "duplicate section "
			    "[peerlock] (first at line %d)", st->pmeta.hdr);
		st->seen_peerlock = true;
		st->kind = SECT_PEERLOCK;
		st->cur = &st->pmeta;
		st->cur->hdr = st->hdr_line;
		return 1;
	}
	if (strncmp(section, "forward.", 8) == 0)
		name = section + 8;
	else if (strncmp(section, "expose.", 7) == 0)
		name = section + 7;
	else if (strncmp(section, "connect.", 8) == 0)
		name = section + 8;
	else
		return cfg_fail(st, st->hdr_line, "unknown section [%.60s] "
		    "(expected [peerlock], [forward.NAME], [expose.NAME] or "
		    "[connect.NAME])", section);
	if (!cfg_name_ok(name))
		return cfg_fail(st, st->hdr_line, "bad section name [%.60s]: "
		    "NAME must be 1 to %d of A-Z a-z 0-9 _ -", section,
		    CONFIG_SECTION_NAME_MAX);
	if (section[0] == 'f')
		rc = cfg_begin_forward(st, name);
	else if (section[0] == 'e')
		rc = cfg_begin_expose(st, name);
	else
		rc = cfg_begin_connect(st, name);
	if (rc != 0)
		st->cur->hdr = st->hdr_line;
	return rc;
}

/* Cut a " ; comment" off a continuation line and trailing blanks. */
static void
cfg_strip_comment(char *s)
{
	char *p;
	size_t n;

	for (p = s; *p != '\0'; p++) {
		if (*p == ';' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* An indented line continuing the previous key. */
static int
cfg_continue(struct pstate *st, const char *value)
{
	const struct key_def *k = cfg_key_by_id(st->kind, st->last_key);
	char buf[CFG_VALUE_MAX];

	if (k == NULL || !k->list)
		return cfg_fail(st, st->lineno, "indented line continues "
		    "'%s'; only security, peers, peer_ids and quiet may "
		    "span lines "
		    "(remove the indentation)", k != NULL ? k->name : "?");
	snprintf(buf, sizeof(buf), "%s", value);
	cfg_strip_comment(buf);
	return k->set(st, buf, true);
}

/* libinih handler: one key = value (or continuation) of the line. */
static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct pstate *st = user;
	const struct key_def *k;

	if (st->failed)
		return 1;
	if (strcmp(section, st->sect) != 0 ||
	    (st->hdr_line != 0 && st->hdr_line != st->cur->hdr)) {
		if (cfg_begin_section(st, section) == 0)
			return 0;
	}
	if (st->kind == SECT_NONE)
		return cfg_fail(st, st->lineno, "'%.60s' outside any section "
		    "(start with [peerlock])", name);
	k = st->last_key >= 0 ? cfg_key_by_id(st->kind, st->last_key) : NULL;
	if (st->indented && k != NULL && strcmp(name, k->name) == 0)
		return cfg_continue(st, value);
	if ((k = cfg_key(st->kind, name)) == NULL)
		return cfg_fail(st, st->lineno, "unknown key '%.60s' in "
		    "[%s]", name, st->sect);
	if (st->cur->key_line[k->id] != 0)
		return cfg_fail(st, st->lineno, "duplicate key '%s' (first "
		    "at line %d)", name, st->cur->key_line[k->id]);
	st->cur->key_line[k->id] = st->lineno;
	st->last_key = (int)k->id;
	if (value[0] == '\0' && !k->list)
		return cfg_fail(st, st->lineno, "'%s' has no value", name);
	return k->set(st, value, false);
}

/* libinih reader: hand out one line, counting and checking it. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct pstate *st = stream;
	const char *p, *nl;
	size_t n, content, i = 0;

	if (st->failed || st->pos >= st->len || num < 4)
		return NULL;
	p = st->text + st->pos;
	nl = memchr(p, '\n', st->len - st->pos);
	n = nl != NULL ? (size_t)(nl - p) + 1 : st->len - st->pos;
	st->lineno++;
	content = n;
	while (content > 0 && (p[content - 1] == '\n' ||
	    p[content - 1] == '\r'))
		content--;
	if (content > (size_t)num - 3) {
		cfg_fail(st, st->lineno, "line too long (max %d characters; "
		    "continue long peer lists on indented lines)", num - 3);
		return NULL;
	}
	/* Copy the content and one '\n' only: a run of trailing CRs is not
	 * counted above and must not reach inih's fixed line buffer. */
	memcpy(str, p, content);
	str[content] = '\n';
	str[content + 1] = '\0';
	st->pos += n;
	st->indented = p[0] == ' ' || p[0] == '\t';
	if (st->lineno == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && p[i] == '[')
		st->hdr_line = st->lineno;
	return str;
}

/* Describe a syntax error libinih found at line (1-based). */
static void
cfg_syntax_error(struct pstate *st, int line)
{
	const char *p = st->text;
	int l;

	for (l = 1; l < line && (p = strchr(p, '\n')) != NULL; l++)
		p++;
	if (p == NULL)
		p = "";
	while (*p == ' ' || *p == '\t')
		p++;
	st->failed = false;
	if (*p == '[')
		cfg_fail(st, line, "section header without closing ']'");
	else
		cfg_fail(st, line, "expected 'key = value'");
}

/*
 * The identities a forward's remote may prove: peer_ids when given (then
 * a /p2p/ in peer must be one of them), else peer's /p2p/ alone.
 */
static int
cfg_check_peer_ids(struct pstate *st, struct config_forward *f,
    const struct sect_meta *m)
{
	char id[PEER_ID_STR_MAX];

	if (m->key_line[K_PEER_IDS] == 0) {
		if (!f->peer.has_peer)
			return cfg_fail(st, m->key_line[K_PEER], "peer: needs "
			    "/p2p/PEERID, as in /ip4/10.0.0.2/tcp/4001/p2p/"
			    "12D3KooW... (or list the IDs in peer_ids)");
		f->peer_ids[0] = f->peer.peer;
		f->npeer_ids = 1;
		return 1;
	}
	if (f->npeer_ids == 0)
		return cfg_fail(st, m->key_line[K_PEER_IDS], "peer_ids is "
		    "empty");
	if (f->peer.has_peer && !peer_id_in(f->peer_ids, f->npeer_ids,
	    &f->peer.peer))
		return cfg_fail(st, m->key_line[K_PEER], "peer: /p2p/%s is "
		    "not in peer_ids (line %d); list it there too, or drop "
		    "/p2p/ from peer", peer_id_to_string(&f->peer.peer, id,
		    sizeof(id)), m->key_line[K_PEER_IDS]);
	return 1;
}

/* Whether a listen address is reachable from this host only. */
static bool
cfg_loopback(const struct multiaddr *ma)
{
	switch (ma->kind) {
	case MA_IP4:
		return strncmp(ma->host, "127.", 4) == 0;
	case MA_IP6:
		return strcmp(ma->host, "::1") == 0;
	default:
		return strcasecmp(ma->host, "localhost") == 0;
	}
}

/* Whether warning w applies to c; see config.h. */
bool
config_warning(const struct config *c, enum config_warning w, char *buf,
    size_t cap)
{
	switch (w) {
	case CONFIG_WARN_ADMIN_EXPOSED:
		if (!c->has_admin || cfg_loopback(&c->admin))
			return false;
		snprintf(buf, cap, "%s:%d: admin = %s%s%s:%u is reachable "
		    "from other hosts, and the admin endpoint has no "
		    "authentication: anyone who reaches it reads the peers, "
		    "routes and tunnels of this host (/status, /connections, "
		    "/metrics); bind it to 127.0.0.1 or ::1 unless probes or "
		    "scrapers elsewhere need it", c->path, c->admin_line,
		    c->admin.kind == MA_IP6 ? "[" : "", c->admin.host,
		    c->admin.kind == MA_IP6 ? "]" : "", (unsigned)c->admin.port);
		return true;
	default:
		return false;
	}
}

/* Check that a forward is complete and inherit the global security. */
static int
cfg_check_forward(struct pstate *st, size_t i)
{
	struct config_forward *f = &st->c->forwards[i];
	const struct sect_meta *m = &st->fmeta[i];

	if (m->key_line[K_LISTEN] == 0)
		return cfg_fail(st, m->hdr, "forward.%s needs listen",
		    f->name);
	if (m->key_line[K_PEER] == 0)
		return cfg_fail(st, m->hdr, "forward.%s needs peer", f->name);
	if (cfg_check_peer_ids(st, f, m) == 0)
		return 0;
	/*
	 * A forward's port is plaintext and acts with this host's identity:
	 * whoever reaches it gets a tunnel.  Off loopback only on request
	 * (ghostunnel's --unsafe-listen).
	 */
	if (!cfg_loopback(&f->listen) && !f->unsafe_listen)
		return cfg_fail(st, m->key_line[K_LISTEN], "[forward.%s] "
		    "listen %s%s%s:%u is not loopback: anyone who reaches it "
		    "gets a plaintext tunnel to the peer as this host. Listen "
		    "on 127.0.0.1 or ::1, or set unsafe_listen = yes in "
		    "[forward.%s] if that network is trusted", f->name,
		    f->listen.kind == MA_IP6 ? "[" : "", f->listen.host,
		    f->listen.kind == MA_IP6 ? "]" : "",
		    (unsigned)f->listen.port, f->name);
	if (m->key_line[K_SECURITY] != 0 && f->nsecurity == 0)
		return cfg_fail(st, m->key_line[K_SECURITY], "security is "
		    "empty");
	if (m->key_line[K_SECURITY] == 0) {
		memcpy(f->security, st->c->security, sizeof(f->security));
		f->nsecurity = st->c->nsecurity;
	}
	if (m->key_line[K_PEER_IDS] != 0 && f->protocol[0] != '\0')
		return cfg_fail(st, m->key_line[K_PEER_IDS], "peer_ids: raw "
		    "mode only (a node-mode forward finds its session by the "
		    "/p2p/ ID of peer)");
	if (f->no_addr && f->protocol[0] == '\0')
		return cfg_fail(st, m->key_line[K_PEER], "peer: /p2p/ID alone "
		    "needs node mode (set protocol); a raw-mode forward dials "
		    "an address");
	return 1;
}

/* Check that a connect is complete and inherit the global security. */
static int
cfg_check_connect(struct pstate *st, size_t i)
{
	struct config_connect *k = &st->c->connects[i];
	const struct sect_meta *m = &st->cmeta[i];

	if (m->key_line[K_PEER] == 0)
		return cfg_fail(st, m->hdr, "connect.%s needs peer", k->name);
	if (m->key_line[K_SECURITY] != 0 && k->nsecurity == 0)
		return cfg_fail(st, m->key_line[K_SECURITY], "security is "
		    "empty");
	if (m->key_line[K_SECURITY] == 0) {
		memcpy(k->security, st->c->security, sizeof(k->security));
		k->nsecurity = st->c->nsecurity;
	}
	return 1;
}

/* One '*' expose per protocol (raw mode counts as the protocol ""). */
static int
cfg_check_any_unique(struct pstate *st)
{
	const struct config *c = st->c;
	size_t i, j;

	for (i = 0; i < c->nexposes; i++) {
		if (!c->exposes[i].any)
			continue;
		for (j = 0; j < i; j++) {
			if (!c->exposes[j].any || strcmp(c->exposes[i].protocol,
			    c->exposes[j].protocol) != 0)
				continue;
			return cfg_fail(st, st->emeta[i].any_line, "peers: '*' "
			    "is already used by expose.%s (line %d); only one "
			    "expose %s%s may admit any peer",
			    c->exposes[j].name, st->emeta[j].any_line,
			    c->exposes[i].protocol[0] != '\0' ?
			    "of protocol " : "in raw mode",
			    c->exposes[i].protocol);
		}
	}
	return 1;
}

/* Check that an expose is complete. */
static int
cfg_check_expose(struct pstate *st, size_t i)
{
	const struct config_expose *e = &st->c->exposes[i];
	const struct sect_meta *m = &st->emeta[i];

	if (m->key_line[K_PEERS] == 0)
		return cfg_fail(st, m->hdr, "expose.%s needs peers", e->name);
	if (e->npeers == 0 && !e->any)
		return cfg_fail(st, m->key_line[K_PEERS], "peers is empty");
	if (m->key_line[K_TARGET] == 0)
		return cfg_fail(st, m->hdr, "expose.%s needs target",
		    e->name);
	if (!st->c->has_listen && (e->protocol[0] == '\0' ||
	    st->c->nconnects == 0))
		return cfg_fail(st, m->hdr, "expose.%s needs [peerlock] "
		    "listen%s", e->name, e->protocol[0] != '\0' ? " or a "
		    "[connect.NAME] session for peers to reach it" : "");
	return 1;
}

/* One listed peer, for the duplicate check. */
struct peer_ref {
	const char *proto;		/* expose's protocol, "" = raw */
	const struct peer_id *id;
	size_t expose;
	int line;
};

/* qsort order: protocol, multihash bytes, then line. */
static int
cfg_peer_cmp(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;
	int r;

	if ((r = strcmp(x->proto, y->proto)) != 0)
		return r;
	if (x->id->len != y->id->len)
		return x->id->len < y->id->len ? -1 : 1;
	if ((r = memcmp(x->id->mh, y->id->mh, x->id->len)) != 0)
		return r;
	return (x->line > y->line) - (x->line < y->line);
}

/* A peer ID may appear in one expose only, and only once there. */
static int
cfg_check_peers_unique(struct pstate *st)
{
	const struct config *c = st->c;
	char id[PEER_ID_STR_MAX];
	struct peer_ref *refs, *a, *b;
	size_t i, j, n = 0;

	for (i = 0; i < c->nexposes; i++)
		n += c->exposes[i].npeers;
	if (n < 2)
		return 1;
	if ((refs = calloc(n, sizeof(*refs))) == NULL)
		return cfg_fail(st, 1, "out of memory");
	n = 0;
	for (i = 0; i < c->nexposes; i++)
		for (j = 0; j < c->exposes[i].npeers; j++)
			refs[n++] = (struct peer_ref){ c->exposes[i].protocol,
			    &c->exposes[i].peers[j], i,
			    st->emeta[i].peer_lines[j] };
	qsort(refs, n, sizeof(*refs), cfg_peer_cmp);
	for (i = 1; i < n; i++) {
		a = &refs[i - 1];
		b = &refs[i];
		if (strcmp(a->proto, b->proto) != 0 ||
		    !peer_id_equal(a->id, b->id))
			continue;
		peer_id_to_string(b->id, id, sizeof(id));
		cfg_fail(st, b->line, "peer %s in expose.%s is already in "
		    "expose.%s (line %d)%s%s%s", id, c->exposes[b->expose].name,
		    c->exposes[a->expose].name, a->line,
		    a->proto[0] != '\0' ? "; (peer, protocol) must be unique: "
		    "both serve " : "", a->proto, a->proto[0] != '\0' ? "" :
		    "; a peer may be in one raw-mode expose only (set "
		    "protocol for node mode)");
		break;
	}
	free(refs);
	return st->failed ? 0 : 1;
}

/* One address the config binds, for the conflict check. */
struct cfg_bind {
	const struct multiaddr *ma;
	const char *what;		/* "[forward.db] listen" */
	int line;
};

/* Whether ma is the IPv4 or IPv6 wildcard address. */
static bool
cfg_wildcard(const struct multiaddr *ma, enum ma_host kind)
{
	return ma->kind == kind && strcmp(ma->host, kind == MA_IP4 ?
	    "0.0.0.0" : "::") == 0;
}

/* Whether a literal or "localhost" may be the address ip of kind. */
static bool
cfg_same_host(const struct multiaddr *a, const struct multiaddr *b)
{
	if (a->kind == b->kind ||
	    ((a->kind == MA_DNS || a->kind == MA_DNS4 || a->kind == MA_DNS6) &&
	    (b->kind == MA_DNS || b->kind == MA_DNS4 || b->kind == MA_DNS6)))
		return strcasecmp(a->host, b->host) == 0;
	/* the one name a listener commonly uses */
	if (a->kind == MA_DNS || a->kind == MA_DNS4 || a->kind == MA_DNS6)
		return strcasecmp(a->host, "localhost") == 0 &&
		    (strcmp(b->host, "127.0.0.1") == 0 ||
		    strcmp(b->host, "::1") == 0);
	if (b->kind == MA_DNS || b->kind == MA_DNS4 || b->kind == MA_DNS6)
		return cfg_same_host(b, a);
	return false;
}

/*
 * Whether binding a and b would collide on Linux: same port (0 never
 * collides), and the same host, or a wildcard covering the other ("::"
 * covers IPv4 too: net.ipv6.bindv6only is 0 by default and peerlock
 * does not set IPV6_V6ONLY).
 */
static bool
cfg_binds_overlap(const struct multiaddr *a, const struct multiaddr *b)
{
	if (a->port == 0 || a->port != b->port)
		return false;
	if (cfg_wildcard(a, MA_IP6) || cfg_wildcard(b, MA_IP6))
		return true;
	if (cfg_wildcard(a, MA_IP4))
		return b->kind != MA_IP6 && b->kind != MA_DNS6;
	if (cfg_wildcard(b, MA_IP4))
		return a->kind != MA_IP6 && a->kind != MA_DNS6;
	return cfg_same_host(a, b);
}

/*
 * No two listeners (encrypted, admin, forwards) may bind overlapping
 * addresses: `run` would fail with "Address already in use".  The later
 * line is the error; the message names the earlier one.
 */
static int
cfg_check_binds(struct pstate *st)
{
	const struct config *c = st->c;
	struct cfg_bind *b, *x, *y;
	char what[CONFIG_MAX_FORWARDS][CONFIG_NAME_MAX + 24];
	char ax[MULTIADDR_STR_MAX], ay[MULTIADDR_STR_MAX];
	size_t i, j, n = 0;

	if ((b = calloc(c->nforwards + 2, sizeof(*b))) == NULL)
		return cfg_fail(st, 1, "out of memory");
	if (c->has_listen)
		b[n++] = (struct cfg_bind){ &c->listen, "[peerlock] listen",
		    c->listen_line };
	if (c->has_admin)
		b[n++] = (struct cfg_bind){ &c->admin, "[peerlock] admin",
		    c->admin_line };
	for (i = 0; i < c->nforwards; i++) {
		snprintf(what[i], sizeof(what[i]), "[forward.%s] listen",
		    c->forwards[i].name);
		b[n++] = (struct cfg_bind){ &c->forwards[i].listen, what[i],
		    c->forwards[i].listen_line };
	}
	for (i = 0; i < n && !st->failed; i++) {
		for (j = i + 1; j < n; j++) {
			x = b[i].line < b[j].line ? &b[i] : &b[j];
			y = x == &b[i] ? &b[j] : &b[i];
			if (!cfg_binds_overlap(x->ma, y->ma))
				continue;
			multiaddr_to_string(x->ma, ax, sizeof(ax));
			multiaddr_to_string(y->ma, ay, sizeof(ay));
			cfg_fail(st, y->line, "%s %s conflicts with %s %s at "
			    "%s:%d: both bind port %u; give each listener its "
			    "own address or port", y->what, ay, x->what, ax,
			    st->name, x->line, (unsigned)y->ma->port);
			break;
		}
	}
	free(b);
	return st->failed ? 0 : 1;
}

/* Whole-file rules, checked once every line is read. */
static int
cfg_check(struct pstate *st)
{
	struct config *c = st->c;
	size_t i;

	if (!st->seen_peerlock)
		return cfg_fail(st, 1, "missing [peerlock] section");
	if (c->identity == NULL)
		return cfg_fail(st, st->pmeta.hdr, "[peerlock] needs "
		    "identity");
	if (st->pmeta.key_line[K_SECURITY] != 0 && c->nsecurity == 0)
		return cfg_fail(st, st->pmeta.key_line[K_SECURITY],
		    "security is empty");
	for (i = 0; i < c->nforwards; i++)
		if (cfg_check_forward(st, i) == 0)
			return 0;
	for (i = 0; i < c->nexposes; i++)
		if (cfg_check_expose(st, i) == 0)
			return 0;
	for (i = 0; i < c->nconnects; i++)
		if (cfg_check_connect(st, i) == 0)
			return 0;
	if (cfg_check_any_unique(st) == 0 || cfg_check_peers_unique(st) == 0)
		return 0;
	if (cfg_check_binds(st) == 0)
		return 0;
	if (st->pmeta.key_line[K_LOCAL_RESERVE] == 0)
		c->local_reserve = c->nforwards > 0 ? c->max_connections / 8 :
		    0;
	else if (c->local_reserve >= c->max_connections)
		return cfg_fail(st, st->pmeta.key_line[K_LOCAL_RESERVE],
		    "local_reserve (%u) must be less than max_connections "
		    "(%u): remote peers would get nothing", c->local_reserve,
		    c->max_connections);
	if (c->nforwards == 0 && c->nexposes == 0 && c->nconnects == 0)
		return cfg_fail(st, st->pmeta.hdr, "nothing to do: add a "
		    "[forward.NAME], [expose.NAME] or [connect.NAME] section");
	return 1;
}

/* A config with every default set. */
static struct config *
cfg_new(const char *name)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->path = strdup(name)) == NULL) {
		free(c);
		return NULL;
	}
	c->security[0] = SEC_NOISE;
	c->nsecurity = 1;
	c->handshake_timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = CFG_DEFAULT_TIMEOUT_MS;
	c->idle_timeout_ms = 0;
	c->max_connections = CFG_DEFAULT_MAX_CONNECTIONS;
	c->max_handshakes = CFG_DEFAULT_MAX_HANDSHAKES;
	c->threads = 1;
	c->max_connections_per_ip = CFG_DEFAULT_MAX_CONNECTIONS_PER_IP;
	c->max_handshakes_per_ip = CFG_DEFAULT_MAX_HANDSHAKES_PER_IP;
	c->max_stream_window = CONFIG_WINDOW_DEFAULT;
	c->perf_max_bytes = CONFIG_PERF_DEFAULT;
	c->log_level = LOG_INFO;
	c->log_format_json = false;
	c->shutdown_timeout_ms = CFG_DEFAULT_SHUTDOWN_MS;
	c->keepalive.on = true;
	c->keepalive.idle_s = CFG_DEFAULT_KA_IDLE_S;
	c->keepalive.interval_s = CFG_DEFAULT_KA_INTERVAL_S;
	c->keepalive.count = CFG_DEFAULT_KA_COUNT;
	return c;
}

/* Parse len bytes of text (NUL-free) into a config. */
static struct config *
cfg_parse_text(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct pstate *st;
	struct config *c = NULL;
	size_t i;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->c = cfg_new(name)) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", name);
		free(st);
		return NULL;
	}
	st->name = name;
	st->text = text;
	st->len = len;
	st->err = err;
	st->errlen = errlen;
	st->last_key = -1;
	st->cur = &st->pmeta;
	/*
	 * libinih returns the first line it found bad, including the line
	 * where our handler failed; an earlier one is a syntax error.
	 */
	r = ini_parse_stream(cfg_reader, st, cfg_handler, st);
	if (r > 0 && (!st->failed || r < st->failline))
		cfg_syntax_error(st, r);
	else if (r < 0)
		cfg_fail(st, st->lineno, "out of memory");
	if (!st->failed)
		cfg_check(st);
	for (i = 0; i < CONFIG_MAX_EXPOSES; i++)
		free(st->emeta[i].peer_lines);
	if (!st->failed)
		c = st->c;
	else
		config_free(st->c);
	free(st);
	return c;
}

struct config *
config_parse(const char *text, const char *name, char *err, size_t errlen)
{
	if (name == NULL)
		name = "<config>";
	return cfg_parse_text(text, strlen(text), name, err, errlen);
}

/* Read a whole file (at most CONFIG_FILE_MAX bytes) into a string. */
static char *
cfg_slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc((size_t)CONFIG_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || n > CONFIG_FILE_MAX) {
		snprintf(err, errlen, ferror(f) ? "%s: read error" :
		    "%s: larger than 4 MiB", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

/*
 * A relative identity path names a file next to the config, not in the
 * working directory (which is / under systemd): make it absolute from
 * the config's directory.  0, or -1 with err set.
 */
static int
cfg_resolve_identity(struct config *c, const char *path, char *err,
    size_t errlen)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash, *abs;
	size_t n;

	if (c->identity[0] == '/')
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) == NULL) {
		snprintf(err, errlen, "%s: identity: cannot resolve the "
		    "directory of the config file: %s", path, strerror(errno));
		return -1;
	}
	n = strlen(real) + 1 + strlen(c->identity) + 1;
	if ((abs = malloc(n)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	snprintf(abs, n, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/",
	    c->identity);
	free(c->identity);
	c->identity = abs;
	return 0;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *c;
	const char *nul, *p;
	char dummy[1];
	size_t len;
	char *text;
	int line = 1;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if ((text = cfg_slurp(path, &len, err, errlen)) == NULL)
		return NULL;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (p = text; p < nul; p++)
			line += *p == '\n';
		snprintf(err, errlen, "%s:%d: NUL byte in file", path, line);
		free(text);
		return NULL;
	}
	c = cfg_parse_text(text, len, path, err, errlen);
	free(text);
	if (c != NULL && cfg_resolve_identity(c, path, err, errlen) != 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nexposes; i++)
		free(c->exposes[i].peers);
	free(c->exposes);
	free(c->forwards);
	free(c->connects);
	free(c->identity);
	free(c->user);
	free(c->path);
	free(c);
}

const struct config_expose *
config_route(const struct config *c, const struct peer_id *peer)
{
	return config_route_proto(c, peer, "");
}

const struct config_expose *
config_route_proto(const struct config *c, const struct peer_id *peer,
    const char *proto)
{
	const struct config_expose *any = NULL;
	size_t i, j;

	for (i = 0; i < c->nexposes; i++) {
		if (strcmp(c->exposes[i].protocol, proto) != 0)
			continue;
		if (c->exposes[i].any)
			any = &c->exposes[i];
		for (j = 0; j < c->exposes[i].npeers; j++)
			if (peer_id_equal(&c->exposes[i].peers[j], peer))
				return &c->exposes[i];
	}
	return any;
}

bool
config_node_mode(const struct config *c)
{
	size_t i;

	if (c->nconnects > 0)
		return true;
	for (i = 0; i < c->nforwards; i++)
		if (c->forwards[i].protocol[0] != '\0')
			return true;
	for (i = 0; i < c->nexposes; i++)
		if (c->exposes[i].protocol[0] != '\0')
			return true;
	return false;
}

size_t
config_peer_protocols(const struct config *c, const struct peer_id *peer,
    const char **out, size_t cap)
{
	size_t i, n = 0;
	const char *p;

	for (i = 0; i < c->nexposes && n < cap; i++) {
		p = c->exposes[i].protocol;
		if (p[0] != '\0' && config_route_proto(c, peer, p) ==
		    &c->exposes[i])
			out[n++] = p;
	}
	return n;
}

bool
config_peer_node(const struct config *c, const struct peer_id *peer)
{
	const char *p;
	size_t i;

	if (config_peer_protocols(c, peer, &p, 1) > 0)
		return true;
	for (i = 0; i < c->nforwards; i++)
		if (c->forwards[i].protocol[0] != '\0' &&
		    peer_id_in(c->forwards[i].peer_ids,
		    c->forwards[i].npeer_ids, peer))
			return true;
	for (i = 0; i < c->nconnects; i++)
		if (peer_id_equal(&c->connects[i].peer.peer, peer))
			return true;
	return false;
}
