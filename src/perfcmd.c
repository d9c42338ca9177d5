/*
 * perfcmd.c - `peerlock perf`: dial a peer in node mode (multistream,
 * Noise or TLS, yamux) with our identity, open one /perf/1.0.0 stream,
 * upload U bytes, download D bytes, and print what it took.
 *
 * The session is a [connect] of a node built from config text (the same
 * code as `peerlock run`, so the figures are the daemon's); a timer
 * opens the stream once the session is usable.  The identity is the
 * key file of -k, the one a config (-c) names, or a fresh Ed25519 key.
 */
#include "perfcmd.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "perf.h"
#include "resolve.h"

enum {
	PERFCMD_POLL_MS = 5,		/* session up yet? */
	PERFCMD_TIMEOUT_MS = 120000,	/* default -t */
	PERFCMD_TEXT_MAX = 2048
};

struct perfcmd {
	struct event_base *base;
	struct node *node;
	struct peer_id peer;
	uint64_t upload, download;
	struct event *poll, *deadline;
	unsigned timeout_ms;
	bool started, finished, ok;
	char why[400];
	struct perf_result res;
};

static void
perfcmd_usage(FILE *f)
{
	fprintf(f, "usage: peerlock perf [-k KEYFILE | -c CONFIG] "
	    "[-s noise|tls|'noise tls'] [-u SIZE] [-d SIZE] [-t TIME] [-v] "
	    "/ip4/HOST/tcp/PORT/p2p/PEERID\n");
}

/*
 * SIZE: bytes, or a number with K/KiB, M/MiB, G/GiB (powers of 1024).
 * 0, or -1 for garbage or overflow.
 */
static int
perfcmd_size(const char *v, uint64_t *out)
{
	unsigned long long n;
	uint64_t mul = 1;
	char *end;

	errno = 0;
	if (v[0] < '0' || v[0] > '9')
		return -1;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)
		mul = 1ull << 10;
	else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
		mul = 1ull << 20;
	else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)
		mul = 1ull << 30;
	else if (*end != '\0')
		return -1;
	if (n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

/* The stream ended (session.c): keep the result, stop the loop. */
static void
perfcmd_on_done(struct perfcmd *pc, bool ok, const char *reason,
    const char *detail, const struct perf_result *res)
{
	pc->finished = true;
	pc->ok = ok;
	pc->res = *res;
	if (!ok)
		snprintf(pc->why, sizeof(pc->why), "%s%s%s%s", reason,
		    detail != NULL ? ": " : "", detail != NULL ? detail : "",
		    strcmp(reason, "reset") == 0 && res->download_bytes == 0 ?
		    " (before any download: a peerlock resets a request over "
		    "its perf_max_bytes; the peer's log says why)" : "");
	event_base_loopbreak(pc->base);
}

/* Is the session up?  Then open the stream. */
static void
perfcmd_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct perfcmd *pc = arg;
	struct timeval tv = { 0, PERFCMD_POLL_MS * 1000 };
	const struct node_stats *st = node_stats(pc->node);
	char id[PEER_ID_STR_MAX], me[PEER_ID_STR_MAX];
	int rc, r;

	(void)fd;
	(void)what;
	/* a connection ended before any session: refused, unreachable */
	for (r = 0; r < CONN_R_COUNT; r++)
		if (st->closed[r] > 0) {
			snprintf(pc->why, sizeof(pc->why), "the connection to "
			    "%s ended before a session was up (reason %s; -v "
			    "logs more); does the peer admit our peer ID %s?",
			    peer_id_to_string(&pc->peer, id, sizeof(id)),
			    conn_reason_name((enum conn_reason)r),
			    peer_id_to_string(identity_peer_id(node_identity(
			    pc->node)), me, sizeof(me)));
			event_base_loopbreak(pc->base);
			return;
		}
	rc = node_perf(pc->node, &pc->peer, pc->upload, pc->download,
	    perfcmd_on_done, pc);
	if (rc == 0) {
		evtimer_add(pc->poll, &tv);
		return;
	}
	pc->started = true;
	if (rc < 0 && !pc->finished) {
		snprintf(pc->why, sizeof(pc->why), "cannot open a stream "
		    "(see the log above)");
		event_base_loopbreak(pc->base);
	}
}

/* -t ran out. */
static void
perfcmd_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct perfcmd *pc = arg;
	char id[PEER_ID_STR_MAX];

	(void)fd;
	(void)what;
	if (!pc->started)
		snprintf(pc->why, sizeof(pc->why), "no session to %s within "
		    "%u ms (unreachable, refused, or not this peer ID; see "
		    "the log above)", peer_id_to_string(&pc->peer, id,
		    sizeof(id)), pc->timeout_ms);
	else
		snprintf(pc->why, sizeof(pc->why), "timed out after %u ms",
		    pc->timeout_ms);
	event_base_loopbreak(pc->base);
}

/* The identity: -k, the config's, or a fresh key.  NULL (printed). */
static struct identity *
perfcmd_identity(const char *key, const char *conf)
{
	struct config *c;
	struct identity *id;
	char err[512];

	if (conf != NULL) {
		if ((c = config_load(conf, err, sizeof(err))) == NULL) {
			fprintf(stderr, "peerlock perf: %s\n", err);
			return NULL;
		}
		id = identity_load(c->identity, err, sizeof(err));
		config_free(c);
	} else if (key != NULL)
		id = identity_load(key, err, sizeof(err));
	else if ((id = identity_generate(KEY_ED25519)) == NULL)
		snprintf(err, sizeof(err), "cannot generate a key");
	if (id == NULL)
		fprintf(stderr, "peerlock perf: %s\n", err);
	return id;
}

/* Print the result: JSON on stdout, a line for people on stderr. */
static void
perfcmd_print(const struct perfcmd *pc)
{
	const struct perf_result *r = &pc->res;
	char json[512], id[PEER_ID_STR_MAX];

	if (perf_result_json(r, json, sizeof(json)) > 0)
		printf("%s\n", json);
	fprintf(stderr, "perf %s: upload %" PRIu64 " B in %.3f s (%.1f "
	    "Mbit/s), download %" PRIu64 " B in %.3f s (%.1f Mbit/s), total "
	    "%.3f s\n", peer_id_to_string(&pc->peer, id, sizeof(id)),
	    r->upload_bytes, r->upload_s,
	    perf_bps(r->upload_bytes, r->upload_s) / 1e6, r->download_bytes,
	    r->download_s, perf_bps(r->download_bytes, r->download_s) / 1e6,
	    r->total_s);
}

/* Run the measurement on a node built from text.  Exit status. */
static int
perfcmd_run(struct perfcmd *pc, const char *text, struct identity *id)
{
	struct resolver *dns;
	struct config *cfg;
	struct timeval now = { 0, 0 }, tv;
	char err[512];
	int rc = 1;

	if ((cfg = config_parse(text, "peerlock perf", err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "peerlock perf: %s\n", err);
		identity_free(id);
		return 2;
	}
	pc->peer = cfg->connects[0].peer.peer;
	if ((pc->base = event_base_new()) == NULL ||
	    (dns = resolver_new(pc->base, 1, RESOLVE_QUEUE_MAX)) == NULL) {
		fprintf(stderr, "peerlock perf: cannot start the event loop\n");
		config_free(cfg);
		identity_free(id);
		if (pc->base != NULL)
			event_base_free(pc->base);
		return 1;
	}
	pc->node = node_new(pc->base, dns, cfg, id, "");
	if (pc->node == NULL || node_start(pc->node) != 0)
		goto out;
	pc->poll = evtimer_new(pc->base, perfcmd_on_poll, pc);
	pc->deadline = evtimer_new(pc->base, perfcmd_on_deadline, pc);
	if (pc->poll == NULL || pc->deadline == NULL)
		goto out;
	tv.tv_sec = pc->timeout_ms / 1000;
	tv.tv_usec = (pc->timeout_ms % 1000) * 1000;
	evtimer_add(pc->poll, &now);
	evtimer_add(pc->deadline, &tv);
	event_base_dispatch(pc->base);
	if (pc->finished && pc->ok) {
		perfcmd_print(pc);
		rc = 0;
	} else
		fprintf(stderr, "peerlock perf: failed: %s\n", pc->why);
out:
	if (pc->poll != NULL)
		event_free(pc->poll);
	if (pc->deadline != NULL)
		event_free(pc->deadline);
	node_free(pc->node);
	resolver_free(dns);
	event_base_free(pc->base);
	return rc;
}

int
perfcmd_main(int argc, char **argv)
{
	struct perfcmd pc;
	const char *key = NULL, *conf = NULL, *sec = "noise";
	struct identity *id;
	char text[PERFCMD_TEXT_MAX];
	bool verbose = false;
	int ch, n;

	memset(&pc, 0, sizeof(pc));
	pc.upload = pc.download = 64ull << 20;
	pc.timeout_ms = PERFCMD_TIMEOUT_MS;
	while ((ch = getopt(argc, argv, "k:c:s:u:d:t:v")) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 's':
			sec = optarg;
			break;
		case 'u':
		case 'd':
			if (perfcmd_size(optarg, ch == 'u' ? &pc.upload :
			    &pc.download) != 0) {
				fprintf(stderr, "peerlock perf: -%c: expected "
				    "bytes or a number with K, M or G, got "
				    "'%s'\n", ch, optarg);
				return 2;
			}
			break;
		case 't':
			if (config_parse_duration(optarg, &pc.timeout_ms) !=
			    0 || pc.timeout_ms == 0) {
				fprintf(stderr, "peerlock perf: -t: expected a "
				    "duration (e.g. 30s), got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		default:
			perfcmd_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || (key != NULL && conf != NULL) ||
	    strchr(argv[optind], '\n') != NULL || strchr(sec, '\n') != NULL ||
	    (key != NULL && strchr(key, '\n') != NULL)) {
		perfcmd_usage(stderr);
		return 2;
	}
	log_set_level(verbose ? LOG_INFO : LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	/* the identity is passed in; the key only names it for the parser */
	n = snprintf(text, sizeof(text), "[peerlock]\nidentity = %s\n"
	    "security = %s\n[connect.perf]\npeer = %s\n", key != NULL ?
	    key : "in-memory", sec, argv[optind]);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		perfcmd_usage(stderr);
		return 2;
	}
	if ((id = perfcmd_identity(key, conf)) == NULL)
		return 1;
	return perfcmd_run(&pc, text, id);
}
