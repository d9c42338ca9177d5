/*
 * demo.h - `peerlock demo`: two instances on loopback in front of an
 * in-process echo service, driven by an in-process client (L4).
 */
#ifndef PEERLOCK_DEMO_H
#define PEERLOCK_DEMO_H

/* Run the demo; prints what happened.  Returns the exit status. */
int demo_run(void);

#endif
