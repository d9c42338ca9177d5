/*
 * test_config.c - the INI configuration: the shipped example, a table of
 * broken files with their "name:LINE: problem" messages, limits, security
 * inheritance, routing and durations.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * By path: a plain "config.h" from tests/unit/ would find autoconf's
 * generated config.h in the build directory (-I. comes first).
 */
#include "../../src/config.h"
#include "vec.h"

#define ID1 "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define ID1_CID \
	"bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"
#define ID2 "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
#define ID3 "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"

#define SHIPPED_CONF VECTOR_DIR "/../../conf/peerlock.conf"
#define MAN_CONF VECTOR_DIR "/../../man/peerlock.conf.5"

/* [peerlock] with a listener: lines 1-3. */
#define PL "[peerlock]\nidentity = /k\nlisten = /ip4/0.0.0.0/tcp/4001\n"
/* [peerlock] without a listener: lines 1-2. */
#define PLN "[peerlock]\nidentity = /k\n"
/* A complete forward: 3 lines. */
#define FWD(name) "[forward." name "]\nlisten = 127.0.0.1:15432\n" \
	"peer = /ip4/10.0.0.2/tcp/4001/p2p/" ID1 "\n"
/* A complete forward listening on 127.0.0.1:port: 3 lines. */
#define FWDP(name, port) "[forward." name "]\nlisten = 127.0.0.1:" port \
	"\npeer = /ip4/10.0.0.2/tcp/4001/p2p/" ID1 "\n"
/* A forward listening on addr: 3 lines. */
#define FWDA(name, addr) "[forward." name "]\nlisten = " addr \
	"\npeer = /ip4/10.0.0.2/tcp/4001/p2p/" ID1 "\n"
/* A complete expose: 3 lines. */
#define EXP(name, peers) "[expose." name "]\npeers = " peers "\n" \
	"target = 127.0.0.1:5432\n"

enum { ERR_MAX = 512 };

/* Parse text under the name "t.conf". */
static struct config *
parse(const char *text, char *err)
{
	err[0] = '\0';
	return config_parse(text, "t.conf", err, ERR_MAX);
}

/* Parse text that must be valid. */
static struct config *
parse_ok(const char *text)
{
	char err[ERR_MAX];
	struct config *c = parse(text, err);

	ck_assert_msg(c != NULL, "unexpected error: %s", err);
	return c;
}

/* A broken config, the line its error names and a phrase of the error. */
static const struct {
	const char *text;
	int line;
	const char *why;
} broken[] = {
	{ "", 1, "missing [peerlock] section" },
	{ "; only a comment\n", 1, "missing [peerlock] section" },
	{ "[peerlock]\nlisten = /ip4/0.0.0.0/tcp/1\n" FWD("a"), 1,
	    "[peerlock] needs identity" },
	{ PL, 1, "nothing to do" },
	{ "identity = /k\n" PL FWD("a"), 1, "'identity' outside any section" },
	{ PL "bogus = 1\n" FWD("a"), 4, "unknown key 'bogus' in [peerlock]" },
	{ PL "identity = /x\n" FWD("a"), 4,
	    "duplicate key 'identity' (first at line 2)" },
	{ PL "security = noise quic\n" FWD("a"), 4,
	    "security: unknown protocol 'quic'" },
	{ PL "security = noise noise\n" FWD("a"), 4, "'noise' listed twice" },
	{ PL "security = tls,tls\n" FWD("a"), 4, "'tls' listed twice" },
	{ PL "security =\n" FWD("a"), 4, "security is empty" },
	{ PL "handshake_timeout = 10x\n" FWD("a"), 4,
	    "handshake_timeout: bad duration '10x'" },
	{ PL "handshake_timeout = 0\n" FWD("a"), 4,
	    "handshake_timeout must be greater than 0" },
	{ PL "connect_timeout = 0s\n" FWD("a"), 4,
	    "connect_timeout must be greater than 0" },
	{ PL "idle_timeout = 99999999999999999999\n" FWD("a"), 4,
	    "idle_timeout: bad duration" },
	{ PL "max_connections = 0\n" FWD("a"), 4,
	    "max_connections: expected a number" },
	{ PL "max_connections = 12abc\n" FWD("a"), 4,
	    "max_connections: expected a number" },
	{ PL "max_connections = 1048577\n" FWD("a"), 4,
	    "max_connections: expected a number" },
	{ PL "local_reserve = -1\n" FWD("a"), 4,
	    "local_reserve: expected a number from 0" },
	{ PL "max_connections = 8\nlocal_reserve = 8\n" FWD("a"), 5,
	    "local_reserve (8) must be less than max_connections (8)" },
	{ PL "tcp_keepalive = maybe\n" FWD("a"), 4,
	    "tcp_keepalive: expected on or off, got 'maybe'" },
	{ PL "tcp_keepalive_idle = 0\n" FWD("a"), 4,
	    "tcp_keepalive_idle: expected whole seconds from 1s to 32767s" },
	{ PL "tcp_keepalive_idle = 1500ms\n" FWD("a"), 4,
	    "tcp_keepalive_idle: expected whole seconds" },
	{ PL "tcp_keepalive_interval = 32768s\n" FWD("a"), 4,
	    "tcp_keepalive_interval: expected whole seconds" },
	{ PL "perf = maybe\n" FWD("a"), 4,
	    "perf: expected on or off, got 'maybe'" },
	{ PL "perf_max_bytes = 0\n" FWD("a"), 4,
	    "perf_max_bytes: expected 1 to 1024GiB" },
	{ PL "perf_max_bytes = 1025GiB\n" FWD("a"), 4,
	    "perf_max_bytes: expected 1 to 1024GiB" },
	{ PL "perf_max_bytes = 5TiB\n" FWD("a"), 4,
	    "perf_max_bytes: expected 1 to 1024GiB" },
	{ PL "tcp_keepalive_count = 0\n" FWD("a"), 4,
	    "tcp_keepalive_count: expected a number from 1 to 127, got '0'" },
	{ PL "tcp_keepalive_count = 128\n" FWD("a"), 4,
	    "tcp_keepalive_count: expected a number from 1 to 127" },
	{ PL "log_level = verbose\n" FWD("a"), 4, "log_level: expected" },
	{ PL "log_format = xml\n" FWD("a"), 4, "log_format: expected" },
	{ PL "log_level =\n" FWD("a"), 4, "'log_level' has no value" },
	{ PLN "listen = /ip4/1.2.3/tcp/1\n" FWD("a"), 3,
	    "listen: multiaddr: bad ip4 address '1.2.3'" },
	{ PLN "listen = /ip4/1.2.3.4/udp/1\n" FWD("a"), 3,
	    "multiaddr: unsupported protocol /udp" },
	{ PLN "listen = /ip4/1.2.3.4/tcp/1/p2p/" ID1 "\n" FWD("a"), 3,
	    "takes no /p2p/" },
	/* forwards */
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n", 4, "forward.a needs peer" },
	{ PL "[forward.a]\npeer = /ip4/1.2.3.4/tcp/1/p2p/" ID1 "\n", 4,
	    "forward.a needs listen" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\n", 6, "peer: needs /p2p/PEERID" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001/p2p/" ID1 "\npeer_ids = " ID2 "\n",
	    6, "peer: /p2p/" ID1 " is not in peer_ids (line 7)" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\npeer_ids = " ID1 " " ID1 "\n",
	    7, "peer_ids: " ID1 " listed twice" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\npeer_ids = nope\n",
	    7, "peer_ids: bad peer ID 'nope'" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\npeer_ids =\n",
	    7, "peer_ids is empty" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\npeer_ids = " ID1 "\n  " ID2
	    "\n  " ID1_CID "\n", 9, "listed twice" },
	{ PL EXP("a", ID1) "peer_ids = " ID2 "\n", 7, "peer_ids" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\nprotocol = /x/db\n"
	    "peer = /ip4/10.0.0.2/tcp/4001\npeer_ids = " ID1 "\n", 8,
	    "peer_ids: raw mode only" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/0/p2p/" ID1 "\n", 6,
	    "port 0 cannot be dialed" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /ip4/10.0.0.2/tcp/1/p2p/nope\n", 6,
	    "peer: multiaddr: bad peer ID 'nope'" },
	{ PL "[forward.a]\nlisten = 127.0.0.1\n", 5,
	    "listen: multiaddr: expected" },
	{ PL FWD("a") "security = ssh\n", 7, "unknown protocol 'ssh'" },
	{ PL "[forward.a]\nfoo = 1\n", 5, "unknown key 'foo' in [forward.a]" },
	{ PL "[forward.a]\ntarget = 127.0.0.1:1\n", 5,
	    "unknown key 'target' in [forward.a]" },
	{ PL "[forward.bad name]\nlisten = 127.0.0.1:1\n", 4,
	    "bad section name [forward.bad name]" },
	{ PL "[forward.]\nlisten = 127.0.0.1:1\n", 4, "bad section name" },
	{ PL "[forward.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
	    "listen = 127.0.0.1:1\n", 4, "bad section name" },
	{ PL "[forwards.a]\nlisten = 127.0.0.1:1\n", 4,
	    "unknown section [forwards.a]" },
	{ PL FWD("a") FWD("a"), 7,
	    "duplicate section [forward.a] (first at line 4)" },
	{ PL FWD("a") "[expose.x]\npeers = *\ntarget = 1.2.3.4:5\n" FWD("a"),
	    10, "duplicate section [forward.a] (first at line 4)" },
	{ PL FWD("a") "[peerlock]\nlog_level = info\n", 7,
	    "duplicate section [peerlock] (first at line 1)" },
	/* exposes */
	{ PL "[expose.e]\ntarget = 127.0.0.1:1\n", 4, "expose.e needs peers" },
	{ PL "[expose.e]\npeers = " ID1 "\n", 4, "expose.e needs target" },
	{ PLN EXP("e", ID1), 3, "expose.e needs [peerlock] listen" },
	{ PL EXP("a", ID1) EXP("b", ID2 " " ID1), 8,
	    "peer " ID1 " in expose.b is already in expose.a (line 5)" },
	{ PL EXP("a", ID1 " " ID3) EXP("b", ID2 " " ID1_CID), 8,
	    "peer " ID1 " in expose.b is already in expose.a (line 5)" },
	{ PL EXP("a", ID1 " " ID1), 5,
	    "in expose.a is already in expose.a (line 5)" },
	{ PL EXP("a", "*") EXP("b", "*"), 8,
	    "'*' is already used by expose.a (line 5)" },
	{ PL EXP("a", "* " ID1), 5, "'*' cannot be mixed with peer IDs" },
	{ PL EXP("a", ID1 " *"), 5, "'*' cannot be mixed with peer IDs" },
	{ PL EXP("a", "* *"), 5, "'*' listed twice" },
	{ PL EXP("a", "notapeer"), 5, "peers: bad peer ID 'notapeer'" },
	{ PL "[expose.a]\npeers =\ntarget = 127.0.0.1:5\n", 5,
	    "peers is empty" },
	{ PL "[expose.a]\npeers = *\ntarget = /ip4/127.0.0.1/tcp/5/p2p/" ID1
	    "\n", 6, "takes no /p2p/" },
	{ PL "[expose.a]\npeers = *\ntarget = 127.0.0.1:0\n", 6,
	    "target: port 0 cannot be dialed" },
	{ PL "[expose.a]\npeers = " ID1 "\n  ; c\n  " ID2 " x\n"
	    "target = 1.2.3.4:5\n", 7, "bad peer ID 'x'" },
	/* syntax, continuation and line length */
	{ PL "garbage line\n" FWD("a"), 4, "expected 'key = value'" },
	{ PL "[forward.a\nlisten = 127.0.0.1:1\n", 4,
	    "section header without closing ']'" },
	{ PL "junk\nbogus = 1\n", 4, "expected 'key = value'" },
	{ PL "bogus = 1\njunk\n", 4, "unknown key 'bogus'" },
	{ PL "  max_connections = 5\n" FWD("a"), 4,
	    "indented line continues 'listen'" },
	{ PL "; comment\n\n" "identity2 = "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\n", 6, "line too long (max 197 characters" },
	{ "[peerlock]\r\nidentity = /k\r\nbogus = 1\r\n", 3,
	    "unknown key 'bogus'" },
	{ PL "admin = /ip4/1.2.3.4/tcp/9/p2p/" ID1 "\n" FWD("a"), 4,
	    "admin: takes no /p2p/ peer ID" },
	{ PL "admin = localhost:9090\n" FWD("a"), 4,
	    "admin: needs an IP address" },
	{ PL "shutdown_timeout = soon\n" FWD("a"), 4,
	    "shutdown_timeout: bad duration 'soon'" },
	{ PL "quiet = closed_early loud\n" FWD("a"), 4,
	    "quiet: unknown class 'loud'" },
	{ PL EXP("a", ID1) "proxy_protocol = v1\n", 7,
	    "proxy_protocol: expected v2 or none, got 'v1'" },
	{ PL FWD("a") "proxy_protocol = v2\n", 7,
	    "unknown key 'proxy_protocol' in [forward.a]" },
	/* node mode */
	{ PL "max_stream_window = 100KiB\n" FWD("a"), 4,
	    "max_stream_window: expected 256KiB to 1024MiB" },
	{ PL "max_stream_window = 2048MiB\n" FWD("a"), 4,
	    "max_stream_window: expected 256KiB to 1024MiB" },
	{ PL "max_stream_window = 16 MiB\n" FWD("a"), 4,
	    "max_stream_window: expected" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\npeer = /p2p/" ID1 "\n", 6,
	    "peer: /p2p/ID alone needs node mode (set protocol)" },
	{ PL "[forward.a]\nlisten = 127.0.0.1:1\npeer = /p2p/xyz\n"
	    "protocol = /x/a\n", 6, "peer: bad peer ID 'xyz'" },
	{ PL FWD("a") "protocol = x/a\n", 7,
	    "protocol: expected an id starting with '/'" },
	{ PL FWD("a") "protocol = /x/a b\n", 7,
	    "protocol: character 5 is not printable ASCII or is a blank" },
	{ PL FWD("a") "protocol = /ipfs/ping/1.0.0\n", 7,
	    "protocol: /ipfs/ping/1.0.0 is served by peerlock itself" },
	{ PL EXP("a", ID1) "protocol = /x/a\n" EXP("b", ID2 " " ID1)
	    "protocol = /x/a\n", 9, "peer " ID1 " in expose.b is already in "
	    "expose.a (line 5); (peer, protocol) must be unique: both serve "
	    "/x/a" },
	{ PL EXP("a", "*") "protocol = /x/a\n" EXP("b", "*")
	    "protocol = /x/a\n", 9, "'*' is already used by expose.a (line "
	    "5); only one expose of protocol /x/a may admit any peer" },
	{ PL "[connect.h]\nsecurity = tls\n", 4, "connect.h needs peer" },
	{ PL "[connect.h]\npeer = /p2p/" ID1 "\n", 5,
	    "peer: multiaddr:" },
	{ PL "[connect.h]\npeer = /ip4/1.2.3.4/tcp/1/p2p/" ID1 "\n"
	    "protocol = /x/a\n", 6, "unknown key 'protocol' in [connect.h]" },
	{ PL "[connects.h]\npeer = /p2p/" ID1 "\n", 4,
	    "(expected [peerlock], [forward.NAME], [expose.NAME] or "
	    "[connect.NAME])" },
	/* plaintext forwards off loopback only when asked for */
	{ PL FWDA("a", "0.0.0.0:15432"), 5, "[forward.a] listen "
	    "0.0.0.0:15432 is not loopback: anyone who reaches it gets a "
	    "plaintext tunnel to the peer as this host. Listen on 127.0.0.1 "
	    "or ::1, or set unsafe_listen = yes in [forward.a]" },
	{ PL FWDA("a", "[::]:15432"), 5, "listen [::]:15432 is not loopback" },
	{ PL FWDA("a", "10.0.0.1:15432"), 5, "10.0.0.1:15432 is not loopback" },
	{ PL FWDA("a", "/dns4/db.example/tcp/1"), 5, "is not loopback" },
	{ PL FWDA("a", "0.0.0.0:1") "unsafe_listen = no\n", 5,
	    "is not loopback" },
	{ PL FWDA("a", "0.0.0.0:1") "unsafe_listen = 1\n", 7,
	    "unsafe_listen: expected yes or no, got '1'" },
	{ PL EXP("a", ID1) "unsafe_listen = yes\n", 7,
	    "unknown key 'unsafe_listen' in [expose.a]" },
	/* listeners that `run` could not all bind */
	{ PL FWD("a") FWD("b"), 8, "[forward.b] listen /ip4/127.0.0.1/tcp/"
	    "15432 conflicts with [forward.a] listen /ip4/127.0.0.1/tcp/15432 "
	    "at t.conf:5: both bind port 15432" },
	{ PL "admin = 127.0.0.1:15432\n" FWD("a"), 6, "[forward.a] listen "
	    "/ip4/127.0.0.1/tcp/15432 conflicts with [peerlock] admin "
	    "/ip4/127.0.0.1/tcp/15432 at t.conf:4" },
	{ PL FWDP("a", "4001"), 5, "[forward.a] listen /ip4/127.0.0.1/tcp/4001 "
	    "conflicts with [peerlock] listen /ip4/0.0.0.0/tcp/4001 at "
	    "t.conf:3" },
	{ PLN "admin = 127.0.0.1:4001\nlisten = /ip6/::/tcp/4001\n" FWD("a"),
	    4, "[peerlock] listen /ip6/::/tcp/4001 conflicts with [peerlock] "
	    "admin /ip4/127.0.0.1/tcp/4001 at t.conf:3" },
	{ PL FWD("a") FWDA("b", "localhost:15432"), 8, "conflicts with "
	    "[forward.a] listen /ip4/127.0.0.1/tcp/15432 at t.conf:5" },
	{ PL FWDP("a", "1") FWDP("b", "2") FWDP("c", "1"), 11,
	    "[forward.c] listen /ip4/127.0.0.1/tcp/1 conflicts with "
	    "[forward.a] listen /ip4/127.0.0.1/tcp/1 at t.conf:5" },
};

/* Each broken config fails with "t.conf:LINE: ..." naming the problem. */
START_TEST(test_broken)
{
	char err[ERR_MAX], prefix[32];
	struct config *c;

	c = parse(broken[_i].text, err);
	ck_assert_msg(c == NULL, "case %d parsed", _i);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", broken[_i].line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "case %d: got '%s', want line %d", _i, err, broken[_i].line);
	ck_assert_msg(strstr(err, broken[_i].why) != NULL,
	    "case %d: got '%s', want '%s'", _i, err, broken[_i].why);
}
END_TEST

/* The shipped conf/peerlock.conf loads with the documented values. */
START_TEST(test_shipped)
{
	char err[ERR_MAX] = "";
	struct config *c;
	const struct config_forward *f;
	const struct config_expose *e;

	c = config_load(SHIPPED_CONF, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->path, SHIPPED_CONF);
	ck_assert_str_eq(c->identity, "/var/lib/peerlock/identity.key");
	ck_assert(c->has_listen);
	ck_assert_int_eq(c->listen.kind, MA_IP4);
	ck_assert_str_eq(c->listen.host, "0.0.0.0");
	ck_assert_uint_eq(c->listen.port, 4001);
	ck_assert_uint_eq(c->nsecurity, 1);
	ck_assert_int_eq(c->security[0], SEC_NOISE);
	ck_assert_uint_eq(c->handshake_timeout_ms, 10000);
	ck_assert_uint_eq(c->connect_timeout_ms, 10000);
	ck_assert_uint_eq(c->idle_timeout_ms, 0);
	ck_assert_uint_eq(c->max_connections, 4096);
	ck_assert_uint_eq(c->local_reserve, 4096 / 8);	/* has a forward */
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert(!c->log_format_json);

	ck_assert_uint_eq(c->nforwards, 1);
	f = &c->forwards[0];
	ck_assert_str_eq(f->name, "db");
	ck_assert_str_eq(f->listen.host, "127.0.0.1");
	ck_assert_uint_eq(f->listen.port, 15432);
	ck_assert(f->peer.has_peer);
	ck_assert_str_eq(f->peer.host, "10.0.0.2");
	ck_assert_uint_eq(f->nsecurity, 1);
	ck_assert_int_eq(f->security[0], SEC_NOISE);

	ck_assert_uint_eq(c->nexposes, 1);
	e = &c->exposes[0];
	ck_assert_str_eq(e->name, "db");
	ck_assert_uint_eq(e->npeers, 2);
	ck_assert(!e->any);
	ck_assert_uint_eq(e->target.port, 5432);
	config_free(c);
}
END_TEST

/* Every global setting, inline comments, commas, CRLF and continuations. */
START_TEST(test_values)
{
	struct config *c;
	char text[] =
	    "; leading comment\r\n"
	    "[peerlock]\r\n"
	    "identity = /etc/k ; inline comment\r\n"
	    "listen = [::]:4001\r\n"
	    "security = tls, noise\r\n"
	    "handshake_timeout = 500ms\r\n"
	    "connect_timeout = 2m\r\n"
	    "idle_timeout = 1h\r\n"
	    "max_connections = 1048576\r\n"
	    "log_level = debug\r\n"
	    "log_format = json\r\n"
	    "# hash comment\r\n"
	    "[expose.big]   ; header comment\r\n"
	    "peers =\r\n"
	    "    " ID1 " ; first\r\n"
	    "\r\n"
	    "    " ID2 "," ID3 "\r\n"
	    "target = localhost:5432\r\n";

	c = parse_ok(text);
	ck_assert_str_eq(c->identity, "/etc/k");
	ck_assert_int_eq(c->listen.kind, MA_IP6);
	ck_assert_str_eq(c->listen.host, "::");
	ck_assert_uint_eq(c->nsecurity, 2);
	ck_assert_int_eq(c->security[0], SEC_TLS);
	ck_assert_int_eq(c->security[1], SEC_NOISE);
	ck_assert_uint_eq(c->handshake_timeout_ms, 500);
	ck_assert_uint_eq(c->connect_timeout_ms, 120000);
	ck_assert_uint_eq(c->idle_timeout_ms, 3600000);
	ck_assert_uint_eq(c->max_connections, 1048576);
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert(c->log_format_json);
	ck_assert_uint_eq(c->nforwards, 0);
	ck_assert_uint_eq(c->nexposes, 1);
	ck_assert_uint_eq(c->exposes[0].npeers, 3);
	ck_assert_int_eq(c->exposes[0].target.kind, MA_DNS);
	ck_assert_str_eq(c->exposes[0].target.host, "localhost");
	config_free(c);
}
END_TEST

/* The operations keys: admin, shutdown_timeout, quiet, proxy_protocol. */
START_TEST(test_ops_keys)
{
	struct config *c;

	c = parse_ok(PL EXP("a", ID1));
	ck_assert(!c->has_admin);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 30000);
	ck_assert_uint_eq(c->quiet, 0);
	ck_assert(!config_quiet(c, "closed_early"));
	ck_assert(!c->exposes[0].proxy_v2);
	config_free(c);
	c = parse_ok(PL "admin = 127.0.0.1:9090\nshutdown_timeout = 0\n"
	    "quiet = closed_early handshake_timeout\n  bad_message\n"
	    EXP("a", ID1) "proxy_protocol = v2\n");
	ck_assert(c->has_admin);
	ck_assert_int_eq(c->admin.kind, MA_IP4);
	ck_assert_str_eq(c->admin.host, "127.0.0.1");
	ck_assert_uint_eq(c->admin.port, 9090);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 0);
	ck_assert(config_quiet(c, "closed_early"));
	ck_assert(config_quiet(c, "handshake_timeout"));
	ck_assert(config_quiet(c, "bad_message"));
	ck_assert(!config_quiet(c, "not_allowed"));
	ck_assert(!config_quiet(c, "nonsense"));
	ck_assert(c->exposes[0].proxy_v2);
	config_free(c);
	/* node mode sends the header per stream */
	c = parse_ok(PL EXP("a", ID1) "protocol = /x/a\nproxy_protocol = v2\n");
	ck_assert(c->exposes[0].proxy_v2);
	ck_assert_str_eq(c->exposes[0].protocol, "/x/a");
	config_free(c);
}
END_TEST

/* A whole file as a string (malloc'd). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The part of text from the line starting with head up to the next line
 * starting with next (or the end), in a malloc'd copy; NULL if head is
 * not there.
 */
static char *
region(const char *text, const char *head, const char *next)
{
	const char *a = strstr(text, head), *b;
	char *r;

	if (a == NULL)
		return NULL;
	b = strstr(a + strlen(head), next);
	if (b == NULL)
		b = a + strlen(a);
	r = strndup(a, (size_t)(b - a));
	ck_assert_ptr_nonnull(r);
	return r;
}

/*
 * Every key the parser knows is documented in its section of
 * peerlock.conf(5) (a ".BI key" entry) and of the shipped example (a
 * "key = " line, commented out or not, in a section that may itself be
 * commented out).  Driven by the parser's own
 * table: a new key fails here until it is documented in both.
 */
START_TEST(test_keys_documented)
{
	char *man = slurp(MAN_CONF), *conf = slurp(SHIPPED_CONF);
	char head[64], want[96], *m, *f;
	const char *key, *sect;
	size_t i, n = 0;

	for (i = 0; (key = config_key_at(i, &sect)) != NULL; i++, n++) {
		/* man: from ".SH [forward.NAME]" to the next ".SH" */
		snprintf(head, sizeof(head), strcmp(sect, "peerlock") == 0 ?
		    "\n.SH [%s]" : "\n.SH [%s.NAME]", sect);
		m = region(man, head, "\n.SH ");
		ck_assert_msg(m != NULL, "peerlock.conf.5 has no section "
		    "'%s' for key %s", head + 1, key);
		snprintf(want, sizeof(want), "\n.BI %s \"", key);
		ck_assert_msg(strstr(m, want) != NULL, "peerlock.conf.5: "
		    "key '%s' of [%s] is not documented there (want a line "
		    "'.BI %s \" = ...\"')", key, sect, key);
		free(m);
		/*
		 * conf: from "[forward." to the next section header; an
		 * optional section may be shown commented out (";[connect.")
		 */
		snprintf(head, sizeof(head), strcmp(sect, "peerlock") == 0 ?
		    "\n[%s]" : "\n[%s.", sect);
		if ((f = region(conf, head, "\n[")) == NULL) {
			snprintf(head, sizeof(head), "\n;[%s.", sect);
			f = region(conf, head, "\n[");
		}
		ck_assert_msg(f != NULL, "conf/peerlock.conf has no [%s] "
		    "section for key %s", sect, key);
		snprintf(want, sizeof(want), "\n%s = ", key);
		snprintf(head, sizeof(head), "\n;%s = ", key);
		ck_assert_msg(strstr(f, want) != NULL ||
		    strstr(f, head) != NULL, "conf/peerlock.conf: key '%s' of "
		    "[%s] is missing (want '%s = ...' or ';%s = ...')", key,
		    sect, key, key);
		free(f);
	}
	ck_assert_uint_ge(n, 20);
	free(man);
	free(conf);
}
END_TEST

/* Listeners that can all be bound together are accepted. */
START_TEST(test_binds_ok)
{
	struct config *c;

	c = parse_ok(PL "admin = 127.0.0.1:4002\n" FWDA("a", "127.0.0.1:0")
	    FWDA("b", "127.0.0.1:0") FWDA("c", "127.0.0.2:15432")
	    FWDA("d", "127.0.0.3:15432") FWDA("e", "[::1]:15432"));
	ck_assert_uint_eq(c->nforwards, 5);
	ck_assert_int_eq(c->listen_line, 3);
	ck_assert_int_eq(c->admin_line, 4);
	ck_assert_int_eq(c->forwards[0].listen_line, 6);
	config_free(c);
	/* loopback in every spelling; elsewhere with unsafe_listen */
	c = parse_ok(PL FWDA("a", "127.0.0.5:1") FWDA("b", "localhost:2")
	    FWDA("c", "/ip6/::1/tcp/3") FWDA("d", "0.0.0.0:4")
	    "unsafe_listen = yes\n" FWDA("e", "10.1.2.3:5")
	    "unsafe_listen = yes\n");
	ck_assert(!c->forwards[0].unsafe_listen);
	ck_assert(c->forwards[3].unsafe_listen);
	config_free(c);
	/* "::1" and "127.0.0.1" are different sockets */
	config_free(parse_ok(PLN FWDA("a", "[::1]:5") FWDA("b", "127.0.0.1:5")));
}
END_TEST

/* Per-forward security overrides; otherwise the global list is inherited. */
START_TEST(test_security_inherit)
{
	struct config *c;

	c = parse_ok(PL "security = tls noise\n" FWD("a")
	    FWDP("b", "15433") "security = noise\n");
	ck_assert_uint_eq(c->nforwards, 2);
	ck_assert_uint_eq(c->forwards[0].nsecurity, 2);
	ck_assert_int_eq(c->forwards[0].security[0], SEC_TLS);
	ck_assert_int_eq(c->forwards[0].security[1], SEC_NOISE);
	ck_assert_uint_eq(c->forwards[1].nsecurity, 1);
	ck_assert_int_eq(c->forwards[1].security[0], SEC_NOISE);
	config_free(c);

	/* Default: noise only, inherited too. */
	c = parse_ok(PLN FWD("a"));
	ck_assert(!c->has_listen);
	ck_assert_uint_eq(c->nsecurity, 1);
	ck_assert_int_eq(c->security[0], SEC_NOISE);
	ck_assert_uint_eq(c->forwards[0].nsecurity, 1);
	ck_assert_int_eq(c->forwards[0].security[0], SEC_NOISE);
	ck_assert_str_eq(sec_proto_id(SEC_NOISE), "/noise");
	ck_assert_str_eq(sec_proto_id(SEC_TLS), "/tls/1.0.0");
	ck_assert_str_eq(sec_proto_name(SEC_TLS), "tls");
	config_free(c);
}
END_TEST

/* Parse a peer ID text for the routing tests. */
static struct peer_id pid(const char *s);

/*
 * A forward's accepted identities: peer's /p2p/ alone, or peer_ids (a
 * rotation's current and next key), with or without /p2p/ in peer, the
 * list continued on an indented line.
 */
START_TEST(test_peer_ids)
{
	struct config *c;
	struct peer_id a = pid(ID1), b = pid(ID2), q = pid(ID3);

	c = parse_ok(PLN FWD("a"));
	ck_assert_uint_eq(c->forwards[0].npeer_ids, 1);
	ck_assert(peer_id_equal(&c->forwards[0].peer_ids[0], &a));
	config_free(c);

	c = parse_ok(PLN "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer_ids = " ID2 "\n  " ID1 "\n"
	    "peer = /ip4/10.0.0.2/tcp/4001/p2p/" ID1 "\n");
	ck_assert_uint_eq(c->forwards[0].npeer_ids, 2);
	ck_assert(peer_id_equal(&c->forwards[0].peer_ids[0], &b));
	ck_assert(peer_id_equal(&c->forwards[0].peer_ids[1], &a));
	config_free(c);

	c = parse_ok(PLN "[forward.a]\nlisten = 127.0.0.1:1\n"
	    "peer = /dns4/db.example/tcp/4001\npeer_ids = " ID1 " " ID3 "\n");
	ck_assert(!c->forwards[0].peer.has_peer);
	ck_assert_uint_eq(c->forwards[0].npeer_ids, 2);
	ck_assert(peer_id_in(c->forwards[0].peer_ids, 2, &q));
	ck_assert(!peer_id_in(c->forwards[0].peer_ids, 2, &b));
	config_free(c);
}
END_TEST
static struct peer_id
pid(const char *s)
{
	struct peer_id id;

	ck_assert_int_eq(peer_id_parse(s, &id), 0);
	return id;
}

/* An exact entry beats '*'; an unknown peer goes to '*' or nowhere. */
START_TEST(test_route)
{
	struct config *c;
	struct peer_id p1 = pid(ID1), p2 = pid(ID2), p3 = pid(ID3);
	const struct config_expose *e;

	c = parse_ok(PL EXP("a", ID1_CID) EXP("any", "*") EXP("c", ID2));
	e = config_route(c, &p1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "a");
	e = config_route(c, &p2);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "c");
	e = config_route(c, &p3);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "any");
	ck_assert(e->any);
	config_free(c);

	c = parse_ok(PL EXP("a", ID1 " " ID2));
	ck_assert_str_eq(config_route(c, &p2)->name, "a");
	ck_assert_ptr_null(config_route(c, &p3));
	config_free(c);
}
END_TEST

/*
 * Node mode: one peer in several exposes by protocol, beside its raw
 * expose; forwards by /p2p/ID alone; [connect] sections.
 */
START_TEST(test_node_mode)
{
	struct config *c;
	struct peer_id p1 = pid(ID1), p2 = pid(ID2), p3 = pid(ID3);
	const char *protos[8];

	c = parse_ok(PL EXP("raw", ID1) EXP("pg", ID1 " " ID2)
	    "protocol = /x/postgres\n" EXP("web", ID1) "protocol = /x/http\n"
	    EXP("any", "*") "protocol = /x/http\n");
	ck_assert(config_node_mode(c));
	ck_assert_str_eq(config_route(c, &p1)->name, "raw");
	ck_assert_ptr_null(config_route(c, &p2));
	ck_assert_str_eq(config_route_proto(c, &p1, "/x/postgres")->name,
	    "pg");
	ck_assert_str_eq(config_route_proto(c, &p1, "/x/http")->name, "web");
	ck_assert_str_eq(config_route_proto(c, &p3, "/x/http")->name, "any");
	ck_assert_ptr_null(config_route_proto(c, &p3, "/x/postgres"));
	ck_assert_uint_eq(config_peer_protocols(c, &p1, protos, 8), 2);
	ck_assert_uint_eq(config_peer_protocols(c, &p3, protos, 8), 1);
	ck_assert_str_eq(protos[0], "/x/http");
	ck_assert(config_peer_node(c, &p2));
	config_free(c);

	c = parse_ok(PLN "[forward.f]\nlisten = 127.0.0.1:1\npeer = /p2p/" ID1
	    "\nprotocol = /x/a\n[connect.hub]\npeer = /dns4/hub.example/tcp/"
	    "4001/p2p/" ID2 "\nsecurity = tls\n");
	ck_assert(c->forwards[0].no_addr);
	ck_assert(c->forwards[0].peer.has_peer);
	ck_assert(peer_id_equal(&c->forwards[0].peer.peer, &p1));
	ck_assert_str_eq(c->forwards[0].protocol, "/x/a");
	ck_assert_uint_eq(c->nconnects, 1);
	ck_assert_str_eq(c->connects[0].name, "hub");
	ck_assert_uint_eq(c->connects[0].nsecurity, 1);
	ck_assert_int_eq(c->connects[0].security[0], SEC_TLS);
	ck_assert(config_peer_node(c, &p1));
	ck_assert(config_peer_node(c, &p2));
	ck_assert(!config_peer_node(c, &p3));
	config_free(c);

	/* a [connect] alone is something to do */
	c = parse_ok(PLN "[connect.hub]\npeer = /ip4/10.0.0.1/tcp/4001/p2p/"
	    ID2 "\n");
	ck_assert(config_node_mode(c));
	ck_assert_uint_eq(c->connects[0].nsecurity, 1);
	ck_assert_int_eq(c->connects[0].security[0], SEC_NOISE);
	config_free(c);

	c = parse_ok(PL FWD("a") EXP("b", ID1));
	ck_assert(!config_node_mode(c));
	ck_assert_uint_eq(c->max_stream_window, 16u << 20);
	config_free(c);
	c = parse_ok(PL "max_stream_window = 512KiB\n" FWD("a"));
	ck_assert_uint_eq(c->max_stream_window, 512u << 10);
	config_free(c);
	c = parse_ok(PL "max_stream_window = 1048576\n" FWD("a"));
	ck_assert_uint_eq(c->max_stream_window, 1u << 20);
	config_free(c);
}
END_TEST

/* Limits: 256 forwards and 1024 peers per expose are fine, one more not. */
/* tcp_keepalive*: defaults, and every key read. */
START_TEST(test_keepalive)
{
	struct config *c;

	c = parse_ok(PL FWD("a"));
	ck_assert(c->keepalive.on);
	ck_assert_uint_eq(c->keepalive.idle_s, 60);
	ck_assert_uint_eq(c->keepalive.interval_s, 10);
	ck_assert_uint_eq(c->keepalive.count, 6);
	config_free(c);
	c = parse_ok(PL "tcp_keepalive = off\ntcp_keepalive_idle = 2m\n"
	    "tcp_keepalive_interval = 1s\ntcp_keepalive_count = 127\n"
	    FWD("a"));
	ck_assert(!c->keepalive.on);
	ck_assert_uint_eq(c->keepalive.idle_s, 120);
	ck_assert_uint_eq(c->keepalive.interval_s, 1);
	ck_assert_uint_eq(c->keepalive.count, 127);
	config_free(c);
	c = parse_ok(PL "tcp_keepalive = on\ntcp_keepalive_idle = 32767\n"
	    FWD("a"));
	ck_assert(c->keepalive.on);
	ck_assert_uint_eq(c->keepalive.idle_s, 32767);
	config_free(c);
}
END_TEST

/* perf, perf_max_bytes: off and 4 GiB by default, every unit read. */
START_TEST(test_perf)
{
	struct config *c;

	c = parse_ok(PL FWD("a"));
	ck_assert(!c->perf);
	ck_assert_uint_eq(c->perf_max_bytes, 4ull << 30);
	config_free(c);
	c = parse_ok(PL "perf = on\nperf_max_bytes = 3GiB\n" FWD("a"));
	ck_assert(c->perf);
	ck_assert_uint_eq(c->perf_max_bytes, 3ull << 30);
	config_free(c);
	c = parse_ok(PL "perf = off\nperf_max_bytes = 1024GiB\n" FWD("a"));
	ck_assert(!c->perf);
	ck_assert_uint_eq(c->perf_max_bytes, 1ull << 40);
	config_free(c);
	c = parse_ok(PL "perf_max_bytes = 7\n" FWD("a"));
	ck_assert_uint_eq(c->perf_max_bytes, 7);
	config_free(c);
	c = parse_ok(PL "perf_max_bytes = 2KiB\n" FWD("a"));
	ck_assert_uint_eq(c->perf_max_bytes, 2048);
	config_free(c);
}
END_TEST

START_TEST(test_threads)
{
	static const char *const bad[] = { "0", "65", "-1", "2x", "Auto",
	    "99999999999999999999" };
	char err[ERR_MAX], text[512];
	struct config *c;
	size_t i;

	c = parse_ok(PL FWD("a"));
	ck_assert_uint_eq(c->threads, 1);
	config_free(c);
	c = parse_ok(PL "threads = auto\n" FWD("a"));
	ck_assert_uint_eq(c->threads, 0);
	config_free(c);
	c = parse_ok(PL "threads = 64\n" FWD("a"));
	ck_assert_uint_eq(c->threads, CONFIG_THREADS_MAX);
	config_free(c);
	c = parse_ok(PL "threads = 2\n" FWD("a"));
	ck_assert_uint_eq(c->threads, 2);
	config_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), PL "threads = %s\n" FWD("a"),
		    bad[i]);
		ck_assert_ptr_null(parse(text, err));
		ck_assert_msg(strstr(err, "threads: expected auto or a number "
		    "from 1 to 64") != NULL, "%s: %s", bad[i], err);
	}
}
END_TEST

START_TEST(test_limits)
{
	char err[ERR_MAX], *text;
	struct config *c;
	size_t cap = 64 * 1024, off, i;

	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	off = (size_t)snprintf(text, cap, PLN);
	for (i = 0; i < CONFIG_MAX_FORWARDS; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "[forward.f%zu]\nlisten = 127.0.0.1:%zu\n"
		    "peer = /dns/h/tcp/1/p2p/" ID1 "\n", i, i + 1000);
	c = parse_ok(text);
	ck_assert_uint_eq(c->nforwards, CONFIG_MAX_FORWARDS);
	ck_assert_str_eq(c->forwards[255].name, "f255");
	config_free(c);
	snprintf(text + off, cap - off, FWD("extra"));
	ck_assert_ptr_null(parse(text, err));
	ck_assert_ptr_nonnull(strstr(err, "t.conf:771: too many [forward.*]"));

	/*
	 * 1024 peers, one per continuation line.  Repeats are only caught
	 * after parsing, so the count limit fires first on the 1025th.
	 */
	free(text);
	cap = 128 * 1024;
	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	off = (size_t)snprintf(text, cap, PL "[expose.e]\npeers =\n");
	for (i = 0; i < CONFIG_MAX_PEERS; i++)
		off += (size_t)snprintf(text + off, cap - off, "  %s\n", ID1);
	snprintf(text + off, cap - off, "target = 1.2.3.4:5\n");
	ck_assert_ptr_null(parse(text, err));
	ck_assert_ptr_nonnull(strstr(err, "is already in expose.e"));
	snprintf(text + off, cap - off, "  %s\ntarget = 1.2.3.4:5\n", ID2);
	ck_assert_ptr_null(parse(text, err));
	ck_assert_msg(strstr(err, "t.conf:1030: peers: too many peers in "
	    "expose.e (max 1024)") != NULL, "%s", err);
	free(text);
}
END_TEST

/* Write text to dir/name; returns the path in buf. */
static const char *
write_file(const char *dir, const char *name, const char *text, char *buf,
    size_t cap)
{
	FILE *f;

	snprintf(buf, cap, "%s/%s", dir, name);
	f = fopen(buf, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return buf;
}

/*
 * A relative identity is found next to the config file, whatever the
 * working directory (systemd starts us in /); absolute ones stay.
 */
START_TEST(test_identity_relative)
{
	char dir[] = "/tmp/test_config_dir_XXXXXX", path[PATH_MAX];
	char want[PATH_MAX], cwd[PATH_MAX], rel[PATH_MAX], err[ERR_MAX];
	struct config *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	write_file(dir, "p.conf", "[peerlock]\nidentity = keys/id.key\n"
	    FWD("a"), path, sizeof(path));
	ck_assert_int_eq(chdir("/"), 0);
	c = config_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	snprintf(want, sizeof(want), "%s/keys/id.key", dir);
	ck_assert_str_eq(c->identity, want);
	config_free(c);

	/* a relative config path: still the config's directory */
	ck_assert_int_eq(chdir("/tmp"), 0);
	snprintf(rel, sizeof(rel), "%s/p.conf", dir + strlen("/tmp/"));
	c = config_load(rel, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->identity, want);
	config_free(c);

	/* ./id.key and an absolute path */
	write_file(dir, "p.conf", "[peerlock]\nidentity = ./id.key\n"
	    FWD("a"), path, sizeof(path));
	c = config_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	snprintf(want, sizeof(want), "%s/./id.key", dir);
	ck_assert_str_eq(c->identity, want);
	config_free(c);
	write_file(dir, "p.conf", "[peerlock]\nidentity = /etc/id.key\n"
	    FWD("a"), path, sizeof(path));
	c = config_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->identity, "/etc/id.key");
	config_free(c);
	ck_assert_int_eq(chdir(cwd), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* config_load: missing file, NUL byte, and errors named by path. */
START_TEST(test_load_errors)
{
	char path[] = "/tmp/test_config_XXXXXX", err[ERR_MAX], want[64];
	static const char bad[] = PL "x = 1\n";
	static const char nul[] = "[peerlock]\nidentity = /k\0\n";
	FILE *f;
	int fd;

	ck_assert_ptr_null(config_load("/nonexistent/peerlock.conf", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/peerlock.conf: "
	    "cannot open"));

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(bad, 1, sizeof(bad) - 1, f);
	fclose(f);
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: unknown key 'x'", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(nul, 1, sizeof(nul) - 1, f);
	fclose(f);
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: NUL byte", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	unlink(path);
	config_free(NULL);
}
END_TEST

/* user = NAME: kept as given; empty, odd or too long names refused. */
START_TEST(test_user)
{
	static const struct {
		const char *text;
		const char *user;	/* accepted as this, or NULL */
		const char *why;	/* else this error */
	} t[] = {
		{ PL "user = nobody\n" FWD("a"), "nobody", NULL },
		{ PL "user = peer-lock_1.x\n" FWD("a"), "peer-lock_1.x", NULL },
		{ PL "user = no body\n" FWD("a"), NULL,
		    "4: user: bad user name 'no body'" },
		{ PL "user = root;x\n" FWD("a"), NULL,
		    "4: user: bad user name" },
		{ PL "user = ../x\n" FWD("a"), NULL, "4: user: bad user name" },
		{ PL "user = abcdefghijabcdefghijabcdefghijabc\n" FWD("a"), NULL,
		    "4: user: expected a user name of 1 to 32" },
	};
	char err[ERR_MAX];
	struct config *c;
	size_t i;

	c = parse_ok(PL FWD("a"));
	ck_assert_ptr_null(c->user);
	config_free(c);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = parse(t[i].text, err);
		if (t[i].user != NULL) {
			ck_assert_msg(c != NULL, "case %zu: %s", i, err);
			ck_assert_str_eq(c->user, t[i].user);
			config_free(c);
		} else {
			ck_assert_ptr_null(c);
			ck_assert_msg(strstr(err, t[i].why) != NULL,
			    "case %zu: %s", i, err);
		}
	}
}
END_TEST

/* A duration text and its milliseconds, or -1 for a rejected one. */
static const struct {
	const char *in;
	long long ms;
} durations[] = {
	{ "10s", 10000 }, { "500ms", 500 }, { "2m", 120000 },
	{ "1h", 3600000 }, { "7", 7000 }, { "0", 0 }, { "0ms", 0 },
	{ "007s", 7000 }, { "4294967295ms", 4294967295LL },
	{ "4294967s", 4294967000LL }, { "71582m", 4294920000LL },
	{ "", -1 }, { "s", -1 }, { "ms", -1 }, { "-1", -1 }, { "+1", -1 },
	{ " 1", -1 }, { "1 s", -1 }, { "10x", -1 }, { "1.5s", -1 },
	{ "10S", -1 }, { "10sec", -1 }, { "4294967296ms", -1 },
	{ "4294968s", -1 }, { "71583m", -1 }, { "1194h", -1 },
	{ "99999999999999999999", -1 },
	{ "18446744073709551615ms", -1 }, { "18446744073709551616", -1 },
};

/* config_parse_duration accepts units and rejects garbage and overflow. */
START_TEST(test_durations)
{
	unsigned ms = 12345;
	int rc;

	rc = config_parse_duration(durations[_i].in, &ms);
	if (durations[_i].ms < 0) {
		ck_assert_msg(rc == -1, "'%s' accepted", durations[_i].in);
		ck_assert_uint_eq(ms, 12345);
	} else {
		ck_assert_msg(rc == 0, "'%s' rejected", durations[_i].in);
		ck_assert_uint_eq(ms, (unsigned)durations[_i].ms);
	}
}
END_TEST

/*
 * Regression (found by fuzz_config): trailing CRs are not counted against
 * inih's 200-byte line buffer, and used to be copied into it anyway,
 * smashing the stack.  A line of 190 characters plus 1000 CRs must parse
 * like the same line without them.
 */
START_TEST(test_trailing_crs_do_not_overflow)
{
	static const char head[] = "[peerlock]\nidentity = /k\n"
	    "listen = /ip4/127.0.0.1/tcp/4001\n[expose.x]\npeers = *\n"
	    "target = 127.0.0.1:1\n; ";
	size_t hl = sizeof(head) - 1, i;
	char *text = malloc(hl + 190 + 1000 + 2), err[512];
	struct config *c;

	memcpy(text, head, hl);
	for (i = 0; i < 190; i++)
		text[hl + i] = 'x';
	for (i = 0; i < 1000; i++)
		text[hl + 190 + i] = '\r';
	text[hl + 1190] = '\n';
	text[hl + 1191] = '\0';
	c = config_parse(text, "crs", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_uint_eq(c->nexposes, 1);
	config_free(c);
	free(text);
}
END_TEST

/* `admin` beyond loopback is a warning naming file:line, not an error. */
START_TEST(test_admin_exposed_warning)
{
	static const struct {
		const char *admin;
		bool warns;
	} cases[] = {
		{ "0.0.0.0:9090", true }, { "10.0.0.5:9090", true },
		{ "[::]:9090", true }, { "127.0.0.1:9090", false },
		{ "127.0.0.2:9090", false }, { "[::1]:9090", false },
	};
	char text[512], buf[512];
	struct config *c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), PL "admin = %s\n" FWD("a"),
		    cases[i].admin);
		c = parse_ok(text);
		buf[0] = '\0';
		ck_assert_msg(config_warning(c, CONFIG_WARN_ADMIN_EXPOSED, buf,
		    sizeof(buf)) == cases[i].warns, "%s: %s", cases[i].admin,
		    buf);
		if (cases[i].warns) {
			ck_assert_msg(strncmp(buf, "t.conf:4: admin = ", 18) ==
			    0, "%s", buf);
			ck_assert_msg(strstr(buf, "no authentication") != NULL,
			    "%s", buf);
		}
		config_free(c);
	}
	snprintf(text, sizeof(text), PL FWD("a"));	/* no admin at all */
	c = parse_ok(text);
	ck_assert(!config_warning(c, CONFIG_WARN_ADMIN_EXPOSED, buf,
	    sizeof(buf)));
	config_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_broken, 0,
	    sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, test_shipped);
	tcase_add_test(tc, test_binds_ok);
	tcase_add_test(tc, test_keys_documented);
	tcase_add_test(tc, test_admin_exposed_warning);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_ops_keys);
	tcase_add_test(tc, test_security_inherit);
	tcase_add_test(tc, test_route);
	tcase_add_test(tc, test_node_mode);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_perf);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_identity_relative);
	tcase_add_test(tc, test_trailing_crs_do_not_overflow);
	tcase_add_test(tc, test_user);
	tcase_add_test(tc, test_peer_ids);
	tcase_add_loop_test(tc, test_durations, 0,
	    sizeof(durations) / sizeof(durations[0]));
	suite_add_tcase(s, tc);
	return vec_run(s);
}
