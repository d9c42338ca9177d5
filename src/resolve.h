/*
 * resolve.h - host name lookups as the system does them (L2):
 * getaddrinfo(3) in a few worker threads, results delivered on the
 * event loop.
 *
 * getaddrinfo follows /etc/nsswitch.conf (files, dns, mdns, ...),
 * resolv.conf's search domains, ndots, timeout and attempts, and asks
 * name servers in order (unless "options rotate"): a name resolves for
 * peerlock exactly as for every other program on the host.  It blocks,
 * so it runs off the loop; the queue of waiting lookups is bounded.
 */
#ifndef PEERLOCK_RESOLVE_H
#define PEERLOCK_RESOLVE_H

#include <event2/event.h>
#include <stdbool.h>
#include <sys/socket.h>

enum {
	RESOLVE_THREADS = 2,		/* worker threads per resolver */
	RESOLVE_QUEUE_MAX = 256		/* lookups waiting for a worker */
};

struct resolver;
struct resolve_req;

/*
 * A lookup finished: err is 0 and sa/salen the first address, or err is
 * a getaddrinfo EAI_* code (sa NULL; resolve_strerror() describes it).
 * Called on the loop, never from inside resolver_lookup(); the request
 * is freed after the callback returns.
 */
typedef void (*resolve_cb)(int err, const struct sockaddr *sa,
    socklen_t salen, void *arg);

/*
 * A resolver on base with nthreads workers and at most queue_max lookups
 * waiting.  Its workers block every signal.  NULL on failure.
 */
struct resolver *resolver_new(struct event_base *base, unsigned nthreads,
    unsigned queue_max);

/*
 * Stop delivering: pending lookups are cancelled (no callback runs).
 * Workers still inside getaddrinfo finish on their own and free what
 * is left; nothing waits for them.  NULL is a no-op.
 */
void resolver_free(struct resolver *r);

/*
 * Look up host (a name or a literal) for TCP port port in family
 * (AF_INET, AF_INET6 or AF_UNSPEC).  Returns a handle for
 * resolver_cancel(), or NULL when the queue is full or out of memory
 * (no callback then).
 */
struct resolve_req *resolver_lookup(struct resolver *r, const char *host,
    unsigned port, int family, resolve_cb cb, void *arg);

/* Forget a lookup: its callback never runs.  q must not be used after. */
void resolver_cancel(struct resolve_req *q);

/* Lookups waiting for a worker or being resolved. */
unsigned resolver_pending(const struct resolver *r);

/* Text of an EAI_* code ("Name or service not known", ...). */
const char *resolve_strerror(int err);

#endif
