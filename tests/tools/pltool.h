/*
 * pltool.h - what the hostile test peers (plpeer, plyamux) share: a
 * monotonic clock, blocking writes, a loopback dial and an honest
 * multistream + Noise/TLS upgrade over a blocking socket.
 */
#ifndef PEERLOCK_PLTOOL_H
#define PEERLOCK_PLTOOL_H

#include <stddef.h>
#include <stdint.h>

#include "secchan.h"

/* Seconds on a monotonic clock. */
double pl_now_s(void);

/* Write all of b[0..n) on a blocking socket; -1 on error. */
int pl_write_all(int fd, const uint8_t *b, size_t n);

/* Connect to 127.0.0.1:port; the socket, or -1 on error. */
int pl_dial_local(int port);

/*
 * Send out[0..outlen) (the dialer's opening), then drive sc over fd,
 * reading into in[0..incap), until READY or FAILED; the final status.
 * The peer closing first is FAILED (reported on stderr as prog's).
 */
enum secchan_status pl_upgrade_loop(const char *prog, int fd,
    struct secchan *sc, uint8_t *in, size_t incap, uint8_t *out,
    size_t outlen);

#endif
