/*
 * loops.c - one event loop per thread (threads = N); see loops.h and
 * docs/threads.md.
 */
#include "loops.h"

#include <event2/thread.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tls.h"

struct loop {
	struct event_base *base;
	struct node *node;
	pthread_t thread;
	bool running;
};

struct loops {
	unsigned n;
	struct loop *l;
};

/* A call waiting to run on another loop (see loops_call). */
struct loops_call {
	void (*fn)(struct node *, void *);
	struct node *node;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* A function to run on loop 0 (see loops_post_main). */
struct loops_post {
	void (*fn)(void *);
	void *arg;
};

static int loops_threading_rc;

/* evthread_use_pthreads() exactly once. */
static void
loops_threading_once(void)
{
	loops_threading_rc = evthread_use_pthreads();
}

int
loops_init_threading(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, loops_threading_once);
	return loops_threading_rc;
}

struct loops *
loops_new(unsigned n, struct event_base *base0,
    struct event_base *(*new_base)(void))
{
	struct loops *L = calloc(1, sizeof(*L));
	unsigned k;

	if (L == NULL || n == 0 || (L->l = calloc(n, sizeof(*L->l))) == NULL) {
		free(L);
		return NULL;
	}
	L->n = n;
	L->l[0].base = base0;
	for (k = 1; k < n; k++)
		if ((L->l[k].base = new_base()) == NULL) {
			loops_free(L);
			return NULL;
		}
	return L;
}

unsigned
loops_count(const struct loops *L)
{
	return L->n;
}

struct event_base *
loops_base(const struct loops *L, unsigned k)
{
	return L->l[k].base;
}

struct node *
loops_node(const struct loops *L, unsigned k)
{
	return L->l[k].node;
}

void
loops_set_node(struct loops *L, unsigned k, struct node *n)
{
	L->l[k].node = n;
}

/* Thread body of loops 1..n-1: dispatch until loops_stop(). */
static void *
loops_run(void *arg)
{
	struct loop *l = arg;

	(void)event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	tls_thread_cleanup();
	return NULL;
}

int
loops_start(struct loops *L)
{
	unsigned k;
	int rc;

	for (k = 1; k < L->n; k++) {
		if ((rc = pthread_create(&L->l[k].thread, NULL, loops_run,
		    &L->l[k])) != 0) {
			log_err("threads: cannot start the thread of loop %u: "
			    "%s", k, strerror(rc));
			loops_stop(L);
			return -1;
		}
		L->l[k].running = true;
	}
	return 0;
}

/* Run a call on its loop and wake the caller. */
static void
loops_on_call(evutil_socket_t fd, short what, void *arg)
{
	struct loops_call *c = arg;

	(void)fd;
	(void)what;
	c->fn(c->node, c->arg);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
loops_call(struct loops *L, unsigned k, void (*fn)(struct node *, void *),
    void *arg)
{
	struct loops_call c;
	struct timeval now = { 0, 0 };

	if (k == 0 || !L->l[k].running) {
		fn(L->l[k].node, arg);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.fn = fn;
	c.node = L->l[k].node;
	c.arg = arg;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	if (event_base_once(L->l[k].base, -1, EV_TIMEOUT, loops_on_call, &c,
	    &now) != 0) {
		/* out of memory: skipped (running it here would race) */
		log_err("threads: cannot schedule a call on loop %u", k);
	} else {
		pthread_mutex_lock(&c.mu);
		while (!c.done)
			pthread_cond_wait(&c.cv, &c.mu);
		pthread_mutex_unlock(&c.mu);
	}
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
}

/* Run a posted function on its loop. */
static void
loops_on_post(evutil_socket_t fd, short what, void *arg)
{
	struct loops_post *p = arg;

	(void)fd;
	(void)what;
	p->fn(p->arg);
	free(p);
}

int
loops_post(struct loops *L, unsigned k, void (*fn)(void *), void *arg)
{
	struct loops_post *p = malloc(sizeof(*p));
	struct timeval now = { 0, 0 };

	if (p == NULL)
		return -1;
	p->fn = fn;
	p->arg = arg;
	if (event_base_once(L->l[k].base, -1, EV_TIMEOUT, loops_on_post, p,
	    &now) != 0) {
		free(p);
		return -1;
	}
	return 0;
}

void
loops_stop(struct loops *L)
{
	unsigned k;

	if (L == NULL)
		return;
	for (k = 1; k < L->n; k++)
		if (L->l[k].running)
			event_base_loopexit(L->l[k].base, NULL);
	for (k = 1; k < L->n; k++)
		if (L->l[k].running) {
			pthread_join(L->l[k].thread, NULL);
			L->l[k].running = false;
		}
}

void
loops_free(struct loops *L)
{
	unsigned k;

	if (L == NULL)
		return;
	for (k = 1; k < L->n; k++)
		if (L->l[k].base != NULL)
			event_base_free(L->l[k].base);
	free(L->l);
	free(L);
}
