/*
 * resolve.c - getaddrinfo(3) off the event loop.
 *
 *   loop: resolver_lookup -> todo queue (bounded) --cond--> worker
 *   worker: getaddrinfo -> done list --eventfd--> loop: callback, free
 *
 * Requests are owned by the resolver from resolver_lookup() until the
 * loop has run (or, cancelled, skipped) their callback.  Cancelling only
 * sets a flag; the request travels on and is freed on the loop.  The
 * shared state is freed by whoever leaves it last: the loop's
 * resolver_free() or the last worker coming back from a slow lookup, so
 * stopping never waits for a name server.
 */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct resolve_req {
	struct resolve_req *next;
	struct resolver *r;
	char host[256];
	unsigned port;
	int family;
	resolve_cb cb;
	void *arg;
	bool cancelled;
	int err;			/* EAI_* or 0 */
	struct sockaddr_storage sa;
	socklen_t salen;
};

struct resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct resolve_req *todo, **todo_tail;	/* FIFO */
	struct resolve_req *done;	/* finished, for the loop */
	unsigned queued, busy, queue_max;
	unsigned refs;			/* the loop + each live worker */
	bool stop;
	int efd;			/* eventfd: done is not empty */
	struct event *ev;		/* loop side of efd */
};

/* Free the shared state (the last reference is gone). */
static void
resolver_destroy(struct resolver *r)
{
	struct resolve_req *q;

	while ((q = r->todo) != NULL) {
		r->todo = q->next;
		free(q);
	}
	while ((q = r->done) != NULL) {
		r->done = q->next;
		free(q);
	}
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Drop one reference (lock held); unlocks; frees on the last. */
static void
resolver_unref_locked(struct resolver *r)
{
	bool last = --r->refs == 0;

	pthread_mutex_unlock(&r->mu);
	if (last)
		resolver_destroy(r);
}

/* Resolve q: the first address getaddrinfo gives, in its order. */
static void
resolve_one(struct resolve_req *q)
{
	struct addrinfo hints, *res = NULL;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = q->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/*
	 * Any family: only the families configured here (no AAAA answer
	 * first on a host without IPv6).  A family asked for explicitly
	 * (/dns4, /dns6) is taken as given: glibc's AI_ADDRCONFIG ignores
	 * loopback, so it would fail every lookup on a loopback-only host.
	 */
	hints.ai_flags = AI_NUMERICSERV |
	    (q->family == AF_UNSPEC ? AI_ADDRCONFIG : 0);
	snprintf(port, sizeof(port), "%u", q->port);
	q->err = getaddrinfo(q->host, port, &hints, &res);
	if (q->err == 0 && (res == NULL ||
	    res->ai_addrlen > sizeof(q->sa)))
		q->err = EAI_FAIL;
	if (q->err == 0) {
		memcpy(&q->sa, res->ai_addr, res->ai_addrlen);
		q->salen = res->ai_addrlen;
	}
	if (res != NULL)
		freeaddrinfo(res);
}

/* A worker: take lookups until the resolver stops. */
static void *
resolve_worker(void *arg)
{
	struct resolver *r = arg;
	struct resolve_req *q;
	uint64_t one = 1;
	bool cancelled;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->todo == NULL && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		q = r->todo;
		if ((r->todo = q->next) == NULL)
			r->todo_tail = &r->todo;
		r->queued--;
		r->busy++;
		cancelled = q->cancelled;
		pthread_mutex_unlock(&r->mu);
		if (!cancelled)
			resolve_one(q);
		pthread_mutex_lock(&r->mu);
		r->busy--;
		if (r->stop) {
			free(q);
			break;
		}
		q->next = r->done;
		r->done = q;
		/* the loop reads it; a full counter still wakes it */
		(void)!write(r->efd, &one, sizeof(one));
	}
	pthread_cond_broadcast(&r->cv);	/* resolver_free may wait */
	resolver_unref_locked(r);
	return NULL;
}

/* The loop side: run the callbacks of finished lookups. */
static void
resolve_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	struct resolve_req *list, *q, *rev = NULL;
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&r->mu);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	while ((q = list) != NULL) {	/* oldest first */
		list = q->next;
		q->next = rev;
		rev = q;
	}
	while ((q = rev) != NULL) {
		rev = q->next;
		if (!q->cancelled)
			q->cb(q->err, q->err == 0 ?
			    (const struct sockaddr *)&q->sa : NULL,
			    q->salen, q->arg);
		free(q);
	}
}

/* Create a resolver; see resolve.h. */
struct resolver *
resolver_new(struct event_base *base, unsigned nthreads, unsigned queue_max)
{
	struct resolver *r = calloc(1, sizeof(*r));
	sigset_t all, old;
	pthread_t t;
	unsigned i;

	if (r == NULL)
		return NULL;
	r->efd = -1;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r);
		return NULL;
	}
	pthread_cond_init(&r->cv, NULL);
	r->todo_tail = &r->todo;
	r->queue_max = queue_max;
	r->refs = 1;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0 || (r->ev = event_new(base, r->efd,
	    EV_READ | EV_PERSIST, resolve_on_done, r)) == NULL ||
	    event_add(r->ev, NULL) != 0) {
		if (r->ev != NULL)
			event_free(r->ev);
		resolver_destroy(r);
		return NULL;
	}
	/* signals stay with the loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		pthread_mutex_lock(&r->mu);
		r->refs++;
		pthread_mutex_unlock(&r->mu);
		if (pthread_create(&t, NULL, resolve_worker, r) != 0) {
			pthread_mutex_lock(&r->mu);
			r->refs--;
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_detach(t);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (i == 0) {
		resolver_free(r);
		return NULL;
	}
	return r;
}

/* Stop; see resolve.h. */
void
resolver_free(struct resolver *r)
{
	struct resolve_req *q;
	struct timespec until;

	if (r == NULL)
		return;
	event_free(r->ev);
	r->ev = NULL;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	while ((q = r->todo) != NULL) {
		r->todo = q->next;
		free(q);
	}
	r->todo_tail = &r->todo;
	r->queued = 0;
	pthread_cond_broadcast(&r->cv);
	/*
	 * Idle workers leave at once: wait for them (a second at most), so
	 * that a clean exit has no thread left; one busy in getaddrinfo is
	 * not waited for.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	while (r->refs - 1 > r->busy &&
	    pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
		;
	resolver_unref_locked(r);
}

/* Queue a lookup; see resolve.h. */
struct resolve_req *
resolver_lookup(struct resolver *r, const char *host, unsigned port,
    int family, resolve_cb cb, void *arg)
{
	struct resolve_req *q;

	if (strlen(host) >= sizeof(q->host) ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	memcpy(q->host, host, strlen(host) + 1);
	q->r = r;
	q->port = port;
	q->family = family;
	q->cb = cb;
	q->arg = arg;
	pthread_mutex_lock(&r->mu);
	if (r->queued >= r->queue_max) {
		pthread_mutex_unlock(&r->mu);
		free(q);
		errno = EAGAIN;
		return NULL;
	}
	*r->todo_tail = q;
	r->todo_tail = &q->next;
	r->queued++;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return q;
}

/* Cancel; see resolve.h. */
void
resolver_cancel(struct resolve_req *q)
{
	struct resolver *r;

	if (q == NULL)
		return;
	r = q->r;
	pthread_mutex_lock(&r->mu);
	q->cancelled = true;
	pthread_mutex_unlock(&r->mu);
}

/* Lookups in flight. */
unsigned
resolver_pending(const struct resolver *r)
{
	struct resolver *w = (struct resolver *)r;
	unsigned n;

	pthread_mutex_lock(&w->mu);
	n = w->queued + w->busy;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* Text of an EAI_* code. */
const char *
resolve_strerror(int err)
{
	return gai_strerror(err);
}
