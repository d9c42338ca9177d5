/*
 * status.h - the operator's view of a running instance (L3): routes,
 * peers and their reachability, live tunnels, as text tables.  The admin
 * listener serves it at GET /status; `peerlock status` fetches and
 * prints it.
 */
#ifndef PEERLOCK_STATUS_H
#define PEERLOCK_STATUS_H

#include <stddef.h>
#include <stdio.h>

#include "multiaddr.h"

struct evbuffer;
struct node;

/* Render the tables for node n into b.  0, or -1 when out of memory. */
int status_render(const struct node *n, struct evbuffer *b);

/*
 * As status_render over several event loops (threads = N): n is loop
 * 0's node (config, identity, ports); each(ctx, fn, arg) must call
 * fn(node, arg) for every loop's node, on that node's own thread.
 */
typedef void status_each_fn(void *ctx, void (*fn)(struct node *, void *),
    void *arg);
int status_render_each(const struct node *n, status_each_fn *each,
    void *ctx, struct evbuffer *b);

/*
 * Client side: GET http://addr/status (a blocking request with a 5 s
 * timeout) and write the body to out.  0, or -1 with the reason in err
 * (errlen bytes), e.g. "127.0.0.1:9090: Connection refused".
 */
int status_fetch(const struct multiaddr *addr, FILE *out, char *err,
    size_t errlen);

#endif
