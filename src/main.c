/*
 * main.c - command line, signals and the event loop (L4).
 *
 *   peerlock keygen -o FILE [-t TYPE]   new identity, prints its peer ID
 *   peerlock id [--cid] FILE            peer ID of an identity file
 *   peerlock check -c FILE              validate a config (and identity)
 *   peerlock run -c FILE                run
 *   peerlock demo                       two instances + echo, on loopback
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "demo.h"
#include "keys.h"
#include "log.h"
#include "node.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

enum { SHUTDOWN_TIMEOUT_MS = 30000, ERRLEN = 512 };

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: peerlock keygen -o FILE [-t ed25519|secp256k1|ecdsa|rsa]\n"
	    "       peerlock id [--cid] FILE\n"
	    "       peerlock check -c FILE\n"
	    "       peerlock run -c FILE\n"
	    "       peerlock demo\n"
	    "       peerlock version\n");
}

/* peerlock keygen: write a new identity file, print its peer ID. */
static int
cmd_keygen(int argc, char **argv)
{
	const char *out = NULL;
	enum key_type t = KEY_ED25519;
	struct identity *id;
	char err[ERRLEN], pid[PEER_ID_STR_MAX];
	int ch;

	while ((ch = getopt(argc, argv, "o:t:")) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 't':
			if (key_type_parse(optarg, &t) != 0) {
				fprintf(stderr, "peerlock: unknown key type "
				    "'%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (out == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((id = identity_generate(t)) == NULL) {
		fprintf(stderr, "peerlock: cannot generate a %s key\n",
		    key_type_name(t));
		return 1;
	}
	if (identity_save(id, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "peerlock: %s\n", err);
		identity_free(id);
		return 1;
	}
	printf("%s\n", peer_id_to_string(identity_peer_id(id), pid,
	    sizeof(pid)));
	identity_free(id);
	return 0;
}

/* peerlock id: print the peer ID of an identity file. */
static int
cmd_id(int argc, char **argv)
{
	struct identity *id;
	char err[ERRLEN], pid[PEER_ID_STR_MAX];
	int cid = 0, i = 1;

	if (i < argc && strcmp(argv[i], "--cid") == 0) {
		cid = 1;
		i++;
	}
	if (i + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if ((id = identity_load(argv[i], err, sizeof(err))) == NULL) {
		fprintf(stderr, "peerlock: %s\n", err);
		return 1;
	}
	if (cid)
		peer_id_to_cid(identity_peer_id(id), pid, sizeof(pid));
	else
		peer_id_to_string(identity_peer_id(id), pid, sizeof(pid));
	printf("%s\n", pid);
	identity_free(id);
	return 0;
}

/* Parse "-c FILE"; returns the path or NULL after printing usage. */
static const char *
opt_config(int argc, char **argv)
{
	const char *path = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c') {
			usage(stderr);
			return NULL;
		}
		path = optarg;
	}
	if (path == NULL || optind != argc)
		usage(stderr);
	return optind == argc ? path : NULL;
}

/* Load config and identity; print the error and return -1 on failure. */
static int
load(const char *path, struct config **cfg, struct identity **id)
{
	char err[ERRLEN];

	if ((*cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "peerlock: %s\n", err);
		return -1;
	}
	if ((*id = identity_load((*cfg)->identity, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "peerlock: %s: %s\n", path, err);
		config_free(*cfg);
		return -1;
	}
	return 0;
}

/*
 * Look up the user of "user = NAME"; print why and return -1 if it does
 * not exist.
 */
static int
lookup_user(const char *path, const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "peerlock: %s: user: no such user '%s'%s%s\n",
		    path, user, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * After binding: become uid/gid for good (supplementary groups cleared
 * first, then gid, then uid) and check that root cannot be regained.
 * Nothing to do when we already are uid.  0 or -1 (logged).
 */
static int
drop_privileges(const char *user, uid_t uid, gid_t gid)
{
	if (geteuid() == uid && getuid() == uid)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		log_err("user: cannot drop privileges to %s (uid %u): %s",
		    user, (unsigned)uid, strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("user: root could be regained after dropping to %s",
		    user);
		return -1;
	}
	/* setuid() resets it to fs.suid_dumpable: keep it off */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_info("dropped privileges to user %s (uid %u, gid %u)", user,
	    (unsigned)uid, (unsigned)gid);
	return 0;
}

/* peerlock check: validate a config and its identity. */
static int
cmd_check(int argc, char **argv)
{
	const char *path = opt_config(argc, argv);
	struct config *cfg;
	struct identity *id;
	char pid[PEER_ID_STR_MAX];

	uid_t uid;
	gid_t gid;

	if (path == NULL)
		return 2;
	if (load(path, &cfg, &id) != 0)
		return 1;
	if (cfg->user != NULL &&
	    lookup_user(path, cfg->user, &uid, &gid) != 0) {
		identity_free(id);
		config_free(cfg);
		return 1;
	}
	printf("%s: ok: %zu forward(s), %zu expose(s), peer id %s\n", path,
	    cfg->nforwards, cfg->nexposes,
	    peer_id_to_string(identity_peer_id(id), pid, sizeof(pid)));
	identity_free(id);
	config_free(cfg);
	return 0;
}

static struct event_base *run_base;
static struct node *run_node;

/* Every tunnel is gone: leave the loop. */
static void
on_stopped(struct node *n)
{
	(void)n;
	event_base_loopexit(run_base, NULL);
}

/* SIGTERM/SIGINT: drain; a second one stops at once. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	static int seen;

	(void)what;
	(void)arg;
	if (seen++) {
		log_warn("signal %d again: stopping now", (int)sig);
		event_base_loopexit(run_base, NULL);
		return;
	}
	log_info("signal %d: no new connections; draining (up to %d ms)",
	    (int)sig, SHUTDOWN_TIMEOUT_MS);
	node_stop(run_node, SHUTDOWN_TIMEOUT_MS, on_stopped);
}

/* peerlock run: serve until signalled. */
static int
cmd_run(int argc, char **argv)
{
	const char *path = opt_config(argc, argv);
	struct config *cfg;
	struct identity *id;
	struct evdns_base *dns;
	struct event *sigterm, *sigint;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc = 1;

	if (path == NULL)
		return 2;
	/*
	 * No core dumps and no ptrace by other processes of our user: the
	 * identity key and every session key live in this process.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "peerlock: prctl(PR_SET_DUMPABLE): %s\n",
		    strerror(errno));
		return 1;
	}
	if (load(path, &cfg, &id) != 0)
		return 1;
	if (cfg->user != NULL &&
	    lookup_user(path, cfg->user, &uid, &gid) != 0) {
		identity_free(id);
		config_free(cfg);
		return 1;
	}
	log_set_level(cfg->log_level);
	log_set_format_json(cfg->log_format_json);
	signal(SIGPIPE, SIG_IGN);
	run_base = event_base_new();
	dns = node_dns_new(run_base);
	run_node = node_new(run_base, dns, cfg, id, "");
	if (run_node == NULL || node_start(run_node) != 0)
		goto out;
	if (cfg->user != NULL && drop_privileges(cfg->user, uid, gid) != 0)
		goto out;
	sigterm = evsignal_new(run_base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(run_base, SIGINT, on_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	log_info("peerlock %s ready", PACKAGE_VERSION);
	event_base_dispatch(run_base);
	event_free(sigterm);
	event_free(sigint);
	log_info("peerlock stopped");
	rc = 0;
out:
	node_free(run_node);
	evdns_base_free(dns, 0);
	event_base_free(run_base);
	return rc;
}

/* Dispatch the subcommand. */
int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "peerlock: libsodium failed to initialise\n");
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	if (strcmp(argv[0], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[0], "id") == 0)
		return cmd_id(argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(argv[0], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[0], "demo") == 0)
		return demo_run();
	if (strcmp(argv[0], "version") == 0 ||
	    strcmp(argv[0], "--version") == 0) {
		printf("peerlock %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "peerlock: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return 2;
}
