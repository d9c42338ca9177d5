/*
 * main.c - command line, signals and the event loop (L4).
 *
 *   peerlock keygen -o FILE [-t TYPE]   new identity, prints its peer ID
 *   peerlock id [--cid] FILE            peer ID of an identity file
 *   peerlock check -c FILE              validate a config (and identity)
 *   peerlock run -c FILE                run
 *   peerlock status -c FILE|-a ADDR     tables from a running instance
 *   peerlock demo                       two instances + echo, on loopback
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "aead.h"
#include "config.h"
#include "demo.h"
#include "keys.h"
#include "log.h"
#include "loops.h"
#include "node.h"
#include "perfcmd.h"
#include "status.h"
#include "tls.h"
#include "version.h"

enum {
	ERRLEN = 512,
	SD_LISTEN_FDS_START = 3,	/* sd_listen_fds(3) */
	MAX_INHERITED = 64
};

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: peerlock keygen -o FILE [-t ed25519|secp256k1|ecdsa|rsa]\n"
	    "       peerlock id [--cid] FILE\n"
	    "       peerlock check -c FILE\n"
	    "       peerlock run -c FILE\n"
	    "       peerlock status -c FILE | -a HOST:PORT\n"
	    "       peerlock demo\n"
	    "       peerlock perf [-k KEYFILE | -c FILE] [-s noise|tls] "
	    "[-u SIZE] [-d SIZE]\n"
	    "                     [-t TIME] [-v] /ip4/HOST/tcp/PORT/p2p/ID\n"
	    "       peerlock version [-v]\n");
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

/* Load config and identity; the error goes to err on failure (-1). */
static int
load_err(const char *path, struct config **cfg, struct identity **id,
    char *err, size_t errlen)
{
	char e[ERRLEN / 2];

	if ((*cfg = config_load(path, err, errlen)) == NULL)
		return -1;
	if ((*id = identity_load((*cfg)->identity, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, e);
		config_free(*cfg);
		return -1;
	}
	return 0;
}

/* Load config and identity; print the error and return -1 on failure. */
static int
load(const char *path, struct config **cfg, struct identity **id)
{
	char err[ERRLEN];

	if (load_err(path, cfg, id, err, sizeof(err)) != 0) {
		fprintf(stderr, "peerlock: %s\n", err);
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

/* Log what `check` would warn about (risky but valid settings). */
static void
log_config_warnings(const struct config *cfg)
{
	char warn[512];
	int w;

	for (w = 0; w < CONFIG_WARN_COUNT; w++)
		if (config_warning(cfg, (enum config_warning)w, warn,
		    sizeof(warn)))
			log_warn("config: %s", warn);
}

/* peerlock check: validate a config and its identity. */
static int
cmd_check(int argc, char **argv)
{
	const char *path = opt_config(argc, argv);
	struct config *cfg;
	struct identity *id;
	char pid[PEER_ID_STR_MAX], warn[512];
	int w;

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
	for (w = 0; w < CONFIG_WARN_COUNT; w++)
		if (config_warning(cfg, (enum config_warning)w, warn,
		    sizeof(warn)))
			fprintf(stderr, "peerlock: warning: %s\n", warn);
	printf("%s: ok: %zu forward(s), %zu expose(s), peer id %s\n", path,
	    cfg->nforwards, cfg->nexposes,
	    peer_id_to_string(identity_peer_id(id), pid, sizeof(pid)));
	identity_free(id);
	config_free(cfg);
	return 0;
}

/*
 * peerlock status: ask the admin endpoint of a running instance (the one
 * of -c FILE, or -a HOST:PORT) for its routes, peers and tunnels.
 */
static int
cmd_status(int argc, char **argv)
{
	const char *path = NULL, *addr = NULL;
	struct config *cfg = NULL;
	struct multiaddr ma;
	char err[ERRLEN];
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "c:a:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else if (ch == 'a')
			addr = optarg;
		else {
			usage(stderr);
			return 2;
		}
	}
	if ((path == NULL) == (addr == NULL) || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (addr != NULL && multiaddr_parse(addr, &ma, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "peerlock: -a %s: %s\n", addr, err);
		return 2;
	}
	if (path != NULL) {
		if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "peerlock: %s\n", err);
			return 1;
		}
		if (!cfg->has_admin) {
			fprintf(stderr, "peerlock: %s: no 'admin' in [peerlock]: "
			    "status reads the admin endpoint (e.g. admin = "
			    "127.0.0.1:9090)\n", path);
			goto out;
		}
		ma = cfg->admin;
	}
	if (ma.kind != MA_IP4 && ma.kind != MA_IP6) {
		fprintf(stderr, "peerlock: status needs an IP address\n");
		goto out;
	}
	if (strcmp(ma.host, "0.0.0.0") == 0)
		snprintf(ma.host, sizeof(ma.host), "127.0.0.1");
	else if (strcmp(ma.host, "::") == 0)
		snprintf(ma.host, sizeof(ma.host), "::1");
	if (status_fetch(&ma, stdout, err, sizeof(err)) != 0)
		fprintf(stderr, "peerlock: %s\n", err);
	else
		rc = 0;
out:
	config_free(cfg);
	return rc;
}

/*
 * The running instance (peerlock run): loop 0 is this thread; with
 * threads = N the loops 1..N-1 run on threads of their own (loops.c),
 * each with its own node built on the same shared config and identity.
 * Everything here is touched by loop 0's thread only (signals, reload,
 * admin); the pointer is set once before any other thread starts.
 */
struct run {
	struct event_base *base;	/* loop 0 */
	struct loops *loops;
	struct node_group *group;	/* NULL with one loop */
	struct resolver **dns;		/* one per loop */
	struct node *node;		/* loop 0's node */
	struct admin *admin;
	const char *path;
	unsigned nloops, stopped;
	int signals;			/* SIGTERM/SIGINT seen */
};
static struct run *run_ctx;

/*
 * Tell the service manager (systemd Type=notify) about a state change:
 * one datagram to $NOTIFY_SOCKET (a path, or @name for the abstract
 * namespace).  No libsystemd; does nothing when the variable is unset.
 */
static void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) < 0)
		log_warn("sd_notify: %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * Sockets passed by socket activation: LISTEN_PID must be us; the
 * LISTEN_FDS descriptors start at 3.  The variables are unset so that
 * nothing we start inherits them.  Returns how many were stored in fds.
 */
static size_t
listen_fds(int *fds, size_t cap)
{
	const char *spid = getenv("LISTEN_PID"), *sn = getenv("LISTEN_FDS");
	char *end;
	long pid, n;
	size_t i = 0;

	if (spid == NULL || sn == NULL)
		return 0;
	errno = 0;
	pid = strtol(spid, &end, 10);
	if (errno != 0 || *end != '\0' || pid != (long)getpid())
		return 0;
	n = strtol(sn, &end, 10);
	if (errno != 0 || *end != '\0' || n <= 0)
		return 0;
	for (; i < (size_t)n && i < cap; i++)
		fds[i] = SD_LISTEN_FDS_START + (int)i;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	log_info("socket activation: %zu socket(s) passed", i);
	return i;
}

/* Whether the admin addresses of a and b differ. */
static int
admin_changed(const struct config *a, const struct config *b)
{
	char x[320], y[320];

	if (a->has_admin != b->has_admin)
		return 1;
	if (!a->has_admin)
		return 0;
	multiaddr_to_string(&a->admin, x, sizeof(x));
	multiaddr_to_string(&b->admin, y, sizeof(y));
	return strcmp(x, y) != 0;
}

/* RELOADING=1 with the monotonic timestamp systemd asks for. */
static void
sd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	sd_notify_msg(msg);
}

/*
 * Reload: a broken file, identity or listener keeps the running config.
 * The admin listener moves first when its address changed, so a reload
 * that cannot bind it changes nothing.
 */
/* One loop's part of a reload: a reference to take over, the result. */
struct reload_call {
	struct node_cfgref *ref;
	int rc;
};

/* Reload one loop's node (loops_call). */
static void
reload_loop(struct node *n, void *arg)
{
	struct reload_call *c = arg;

	c->rc = node_reload_ref(n, c->ref);
}

/*
 * Reload: a broken file, identity or listener keeps the running config.
 * The admin listener moves first when its address changed, so a reload
 * that cannot bind it changes nothing.  The file is parsed once; every
 * loop then switches to the same shared config, loop 0 first (a loop
 * above 0 fails only where loop 0 succeeded, e.g. out of memory; that
 * is logged, and the loops before it keep the new config).
 */
static void
reload(struct run *r)
{
	struct config *cfg;
	struct identity *id;
	struct admin *na = NULL;
	struct node_cfgref *ref;
	char err[ERRLEN];
	struct reload_call call;
	unsigned k;
	int moved;

	log_info("signal %d: reloading %s", SIGHUP, r->path);
	if (load_err(r->path, &cfg, &id, err, sizeof(err)) != 0) {
		log_err("reload: %s; keeping the running configuration", err);
		node_reload_failed(r->node);
		return;
	}
	if (cfg->threads != node_config(r->node)->threads)
		log_warn("reload: threads is read at start only; keeping %u "
		    "event loop(s) until a restart", r->nloops);
	moved = admin_changed(node_config(r->node), cfg);
	if (moved && cfg->has_admin &&
	    (na = admin_new(r->base, r->node, &cfg->admin)) == NULL) {
		log_err("reload: keeping the running configuration");
		node_reload_failed(r->node);
		config_free(cfg);
		identity_free(id);
		return;
	}
	if (na != NULL && r->nloops > 1)
		admin_set_loops(na, r->loops);
	log_set_level(cfg->log_level);
	log_set_format_json(cfg->log_format_json);
	if ((ref = node_cfgref_new(cfg, id)) == NULL) {
		node_reload_failed(r->node);
		admin_free(na);
		return;
	}
	for (k = 0; k < r->nloops; k++) {
		node_cfgref_hold(ref);
		call.ref = ref;
		call.rc = -1;
		loops_call(r->loops, k, reload_loop, &call);
		if (call.rc != 0)
			break;
	}
	node_cfgref_drop(ref);
	if (k == 0) {
		log_set_level(node_config(r->node)->log_level);
		log_set_format_json(node_config(r->node)->log_format_json);
		admin_free(na);
		return;
	}
	if (k < r->nloops)
		log_err("reload: loop %u of %u failed; loops 0 to %u run the "
		    "new configuration, the others the old one", k, r->nloops,
		    k - 1);
	if (moved) {
		admin_free(r->admin);
		r->admin = na;
	}
}

/* One more loop has no tunnel left (on loop 0); all gone: leave. */
static void
on_loop_stopped(void *arg)
{
	struct run *r = arg;

	if (++r->stopped == r->nloops)
		event_base_loopexit(r->base, NULL);
}

/* A node has no tunnel left (on its own loop): tell loop 0. */
static void
on_stopped(struct node *n)
{
	(void)n;
	if (loops_post(run_ctx->loops, 0, on_loop_stopped, run_ctx) != 0)
		log_err("threads: cannot report a drained loop; exiting on "
		    "the second signal or shutdown_timeout");
}

/* node_stop on one loop (loops_call); arg is the timeout in ms. */
static void
stop_loop(struct node *n, void *arg)
{
	node_stop(n, *(unsigned *)arg, on_stopped);
}

/* node_close_all on one loop (loops_call). */
static void
close_loop(struct node *n, void *arg)
{
	(void)arg;
	node_close_all(n, "second signal");
}

/* Live connections of one loop, added to *arg (loops_call). */
static void
count_loop(struct node *n, void *arg)
{
	*(unsigned *)arg += node_conn_count(n);
}

/* SIGHUP: reload config and identity. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;

	(void)sig;
	(void)what;
	if (node_state(r->node) == NODE_DRAINING) {
		log_warn("signal %d: draining; reload ignored", SIGHUP);
		return;
	}
	sd_notify_reloading();
	reload(r);
	sd_notify_msg("READY=1");
}

/* SIGTERM/SIGINT: drain; a second one stops at once. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;
	unsigned ms = node_config(r->node)->shutdown_timeout_ms, k, live = 0;

	(void)what;
	if (r->signals++) {
		for (k = 0; k < r->nloops; k++)
			loops_call(r->loops, k, count_loop, &live);
		log_warn("signal %d again: closing %u tunnel(s) now, not "
		    "waiting for shutdown_timeout", (int)sig, live);
		for (k = 0; k < r->nloops; k++)
			loops_call(r->loops, k, close_loop, NULL);
		event_base_loopexit(r->base, NULL);
		return;
	}
	sd_notify_msg("STOPPING=1");
	log_info("signal %d: no new connections; draining (up to %u ms)",
	    (int)sig, ms);
	for (k = 0; k < r->nloops; k++)
		loops_call(r->loops, k, stop_loop, &ms);
}

/*
 * The event base.  With the epoll changelist an event disabled and enabled
 * again within one loop iteration (a bufferevent's read event around each
 * frame, say) costs no epoll_ctl at all: libevent applies only the net
 * change before it waits.  peerlock never dup()s a socket, the one case
 * where libevent warns the changelist is unsafe.
 */
static struct event_base *
new_base(void)
{
	struct event_config *ec;
	struct event_base *b;

	if ((ec = event_config_new()) == NULL)
		return (NULL);
	(void)event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return (b);
}

/*
 * The ChaCha20-Poly1305 of Noise frames: PEERLOCK_AEAD=auto (default),
 * sodium or wolfcrypt (aead.h).  0, or -1 with a message on stderr.
 */
static int
setup_aead(void)
{
	const char *v = getenv("PEERLOCK_AEAD");
	enum aead_impl impl;

	if (aead_parse(v, &impl) != 0) {
		fprintf(stderr, "peerlock: PEERLOCK_AEAD: expected auto, "
		    "sodium or wolfcrypt, got '%s'\n", v);
		return -1;
	}
	if (aead_select(impl) != 0) {
		fprintf(stderr, "peerlock: PEERLOCK_AEAD=%s: the wolfSSL of "
		    "this build has no ChaCha20-Poly1305\n", v);
		return -1;
	}
	return 0;
}

/* The startup line naming the AEAD in use and why. */
static void
log_aead(void)
{
	const char *v = getenv("PEERLOCK_AEAD");
	char d[64];

	log_info("noise transport: ChaCha20-Poly1305 by %s, %s",
	    aead_describe(d, sizeof(d)), v != NULL && *v != '\0' ?
	    "set by PEERLOCK_AEAD" : "chosen at startup");
}

/* Event loops for threads = N (0: auto = online CPUs, capped). */
static unsigned
run_threads(const struct config *cfg)
{
	long cpus;

	if (cfg->threads != 0)
		return cfg->threads;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return 1;
	return cpus > CONFIG_THREADS_MAX ? CONFIG_THREADS_MAX : (unsigned)cpus;
}

/*
 * Create and start the node of every loop on the shared ref (one
 * reference used per loop; the caller keeps its own).  Loop 0 adopts the
 * inherited sockets; every other loop gets duplicates of them (one
 * accept queue, shared).  0 or -1 (logged).
 */
static int
run_nodes(struct run *r, struct node_cfgref *ref, const int *fds,
    size_t nfds)
{
	int dups[MAX_INHERITED];
	char prefix[32];
	struct node *n;
	unsigned k;
	size_t i;

	for (k = 0; k < r->nloops; k++) {
		r->dns[k] = resolver_new(loops_base(r->loops, k),
		    RESOLVE_THREADS, RESOLVE_QUEUE_MAX);
		if (r->dns[k] == NULL) {
			log_err("resolver: cannot start its threads");
			return -1;
		}
		if (r->nloops > 1 && k > 0)
			snprintf(prefix, sizeof(prefix), "loop %u: ", k);
		else
			prefix[0] = '\0';
		node_cfgref_hold(ref);
		n = node_new_ref(loops_base(r->loops, k), r->dns[k], ref,
		    prefix);
		if (n == NULL)
			return -1;
		loops_set_node(r->loops, k, n);
		if (k == 0)
			r->node = n;
		if (r->group != NULL)
			node_set_group(n, r->group, k);
		if (k == 0) {
			node_set_inherited(n, fds, nfds);
		} else if (nfds > 0) {
			for (i = 0; i < nfds; i++)
				dups[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
			node_set_inherited(n, dups, nfds);
		}
		if (node_start(n) != 0)
			return -1;
	}
	return 0;
}

/* peerlock run: serve until signalled. */
static int
cmd_run(int argc, char **argv)
{
	const char *path = opt_config(argc, argv);
	struct run run;
	struct config *cfg;
	struct identity *id;
	struct node_cfgref *ref = NULL;
	struct event *sigterm, *sigint, *sighup;
	char ver[96], lib[256];
	int fds[MAX_INHERITED];
	size_t nfds;
	uid_t uid = 0;
	gid_t gid = 0;
	unsigned k;
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
	memset(&run, 0, sizeof(run));
	run.path = path;
	run.nloops = run_threads(cfg);
	if (cfg->user != NULL &&
	    lookup_user(path, cfg->user, &uid, &gid) != 0) {
		identity_free(id);
		config_free(cfg);
		return 1;
	}
	log_set_level(cfg->log_level);
	log_set_format_json(cfg->log_format_json);
	log_aead();
	signal(SIGPIPE, SIG_IGN);
	nfds = listen_fds(fds, MAX_INHERITED);
	if ((ref = node_cfgref_new(cfg, id)) == NULL)
		return 1;
	if (run.nloops > 1 && loops_init_threading() != 0) {
		log_err("libevent: no thread support");
		node_cfgref_drop(ref);
		return 1;
	}
	if ((run.base = new_base()) == NULL ||
	    (run.loops = loops_new(run.nloops, run.base, new_base)) == NULL ||
	    (run.dns = calloc(run.nloops, sizeof(*run.dns))) == NULL ||
	    (run.nloops > 1 &&
	    (run.group = node_group_new(run.nloops)) == NULL)) {
		log_err("libevent: cannot create the event loops");
		goto out;
	}
	if (run.group != NULL)
		node_group_set_loops(run.group, run.loops);
	run_ctx = &run;
	if (run.nloops > 1)
		log_info("threads: %u event loops%s", run.nloops,
		    cfg->threads == 0 ? " (auto: one per online CPU)" : "");
	if (run_nodes(&run, ref, fds, nfds) != 0)
		goto out;
	node_cfgref_drop(ref);
	ref = NULL;
	if (node_config(run.node)->has_admin && (run.admin = admin_new(run.base,
	    run.node, &node_config(run.node)->admin)) == NULL)
		goto out;
	if (run.admin != NULL && run.nloops > 1)
		admin_set_loops(run.admin, run.loops);
	log_config_warnings(node_config(run.node));
	if (node_config(run.node)->user != NULL &&
	    drop_privileges(node_config(run.node)->user, uid, gid) != 0)
		goto out;
	if (loops_start(run.loops) != 0)
		goto out;
	sigterm = evsignal_new(run.base, SIGTERM, on_signal, &run);
	sigint = evsignal_new(run.base, SIGINT, on_signal, &run);
	sighup = evsignal_new(run.base, SIGHUP, on_hup, &run);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);
	if (!tls_critical_ext_supported() || !tls_offload_supported())
		log_warn("tls: %s; see docs/tls.md", tls_library_describe(lib,
		    sizeof(lib)));
	log_info("peerlock %s ready", version_describe(ver, sizeof(ver)));
	sd_notify_msg("READY=1");
	event_base_dispatch(run.base);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	rc = 0;
out:
	node_cfgref_drop(ref);
	/* the other loops' threads end first: then everything is ours */
	if (run.loops != NULL)
		loops_stop(run.loops);
	admin_free(run.admin);
	for (k = run.nloops; run.loops != NULL && k-- > 0;)
		node_free(loops_node(run.loops, k));
	for (k = 0; run.dns != NULL && k < run.nloops; k++)
		resolver_free(run.dns[k]);
	free(run.dns);
	loops_free(run.loops);
	node_group_free(run.group);
	if (run.base != NULL)
		event_base_free(run.base);
	run_ctx = NULL;
	/* last: every close line is above it */
	if (rc == 0)
		log_info("peerlock stopped");
	return rc;
}

/* Dispatch the subcommand. */
int
main(int argc, char **argv)
{
	char ver[96], aead[64], lib[256];

	if (sodium_init() < 0) {
		fprintf(stderr, "peerlock: libsodium failed to initialise\n");
		return 1;
	}
	if (setup_aead() != 0)
		return 1;
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
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(argv[0], "perf") == 0)
		return perfcmd_main(argc, argv);
	if (strcmp(argv[0], "demo") == 0)
		return demo_run();
	if (strcmp(argv[0], "version") == 0 ||
	    strcmp(argv[0], "--version") == 0) {
		printf("peerlock %s\n", version_describe(ver, sizeof(ver)));
		printf("noise transport: ChaCha20-Poly1305 by %s\n",
		    aead_describe(aead, sizeof(aead)));
		if (argc > 1 && strcmp(argv[1], "-v") == 0)
			printf("%s\n", tls_library_describe(lib, sizeof(lib)));
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
