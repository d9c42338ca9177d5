/*
 * loops.h - the event loops of one process (L3; threads = N, see
 * docs/threads.md).  Loop 0 is the caller's (main) thread; loops 1..N-1
 * each run their own event_base on a thread of their own.  Each loop
 * holds one node; nothing of a node is touched from another thread
 * except through loops_call(), which runs a function on the node's own
 * loop and waits for it.
 */
#ifndef PEERLOCK_LOOPS_H
#define PEERLOCK_LOOPS_H

#include <event2/event.h>
#include <stdbool.h>

struct node;
struct loops;

/*
 * Enable libevent's locking (once per process, before any event_base
 * exists) so that loops can be woken from other threads.  0 or -1.
 */
int loops_init_threading(void);

/*
 * n loops; base0 (the caller's, borrowed) is loop 0, loops 1..n-1 get a
 * new event_base each (made by new_base).  NULL on failure.
 */
struct loops *loops_new(unsigned n, struct event_base *base0,
    struct event_base *(*new_base)(void));

unsigned loops_count(const struct loops *L);
struct event_base *loops_base(const struct loops *L, unsigned k);

/* The node of loop k (set with loops_set_node; NULL before). */
struct node *loops_node(const struct loops *L, unsigned k);
void loops_set_node(struct loops *L, unsigned k, struct node *n);

/*
 * Start the threads of loops 1..n-1 (each dispatches until
 * loops_stop()).  0, or -1 with the reason logged (the threads started
 * are stopped again).
 */
int loops_start(struct loops *L);

/*
 * From loop 0's thread: run fn(loops_node(L, k), arg) on loop k and wait
 * until it returned (directly for k = 0 or when the threads are not
 * running).  Loops 1..n-1 never wait for loop 0, so this cannot
 * deadlock.
 */
void loops_call(struct loops *L, unsigned k,
    void (*fn)(struct node *n, void *arg), void *arg);

/*
 * From any loop: schedule fn(arg) on loop k (no waiting; loop 0 is
 * main's).  0 or -1 (out of memory; nothing scheduled).
 */
int loops_post(struct loops *L, unsigned k, void (*fn)(void *arg),
    void *arg);

/* Make loops 1..n-1 leave their dispatch and join their threads. */
void loops_stop(struct loops *L);

/*
 * Free the bases of loops 1..n-1 (after loops_stop and after their
 * nodes are freed); NULL is a no-op.
 */
void loops_free(struct loops *L);

#endif
