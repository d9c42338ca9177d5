/*
 * admin.h - the HTTP admin listener (L3; a small HTTP/1.x server).
 *
 *   GET /healthz      200 "serving" while the node serves; 503 with
 *                     "starting" or "draining" otherwise
 *   GET /metrics      Prometheus text format (version 0.0.4)
 *   GET /connections  live tunnels as JSON
 *   GET /status       routes, peers, tunnels as text tables (status.h;
 *                     what `peerlock status` prints)
 *
 * Only GET and HEAD are answered; anything else gets 405, unknown paths
 * 404.  One request per connection; each connection is closed 10 s
 * after it was accepted, answered or not, and at most 16 are open at
 * once (more get 503 and are closed).  Meant for loopback: no
 * authentication.
 */
#ifndef PEERLOCK_ADMIN_H
#define PEERLOCK_ADMIN_H

#include <event2/event.h>

#include "multiaddr.h"
#include "node.h"

struct admin;

/*
 * Serve node n (borrowed; must outlive the admin) on addr (an IP and
 * port).  NULL with the reason logged if it cannot listen.
 */
struct admin *admin_new(struct event_base *base, struct node *n,
    const struct multiaddr *addr);

/*
 * threads = N: /metrics and /connections sum every loop of L (each
 * loop's part is taken on its own thread, loops.h); the node given to
 * admin_new must be loop 0's, and the admin runs on loop 0.
 */
struct loops;
void admin_set_loops(struct admin *a, struct loops *L);

/* Stop listening and free; NULL is a no-op. */
void admin_free(struct admin *a);

#endif
