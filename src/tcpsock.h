/*
 * tcpsock.h - TCP socket options and failure texts (L0: plain socket
 * calls on a descriptor, no libevent).
 *
 * Keepalive: the encrypted sockets (raw and node mode, accepted and
 * dialed) get SO_KEEPALIVE with the configured idle time, probe interval
 * and probe count, and a TCP_USER_TIMEOUT of the same total, so a tunnel
 * whose peer vanished in a partition ends even with idle_timeout = 0,
 * whether it was idle or had data in flight.  Failures: a socket the kernel aborted (a
 * reset, unanswered keepalive probes or retransmissions) is told apart
 * from a peer's clean FIN even when a write consumed the error first.
 */
#ifndef PEERLOCK_TCPSOCK_H
#define PEERLOCK_TCPSOCK_H

#include <stdbool.h>
#include <stddef.h>

enum {
	TCPSOCK_KA_SECS_MAX = 32767,	/* kernel limit of idle, interval */
	TCPSOCK_KA_COUNT_MAX = 127	/* kernel limit of the probe count */
};

/* Keepalive settings ([peerlock] tcp_keepalive*). */
struct tcpsock_keepalive {
	bool on;
	unsigned idle_s;		/* idle time before the first probe */
	unsigned interval_s;		/* between unanswered probes */
	unsigned count;			/* unanswered probes: dead */
};

/*
 * Apply ka to TCP socket fd: SO_KEEPALIVE on with TCP_KEEPIDLE,
 * TCP_KEEPINTVL and TCP_KEEPCNT, or SO_KEEPALIVE off.  Returns 0, or
 * -1 with errno set (the socket is usable either way).
 */
int tcpsock_keepalive(int fd, const struct tcpsock_keepalive *ka);
/*
 * TCP_USER_TIMEOUT that tcpsock_keepalive() sets with ka: idle + interval
 * * count seconds in ms (capped at INT_MAX) when on, 0 (the kernel's
 * default, about 15 minutes of retransmissions) when off.  Keepalive
 * probes only go out on an idle connection: a partition that strikes
 * while data is unacknowledged (a transfer, or just the ACK of our last
 * segment lost) is ended by this timeout instead, after the same time.
 */
unsigned int tcpsock_user_timeout_ms(const struct tcpsock_keepalive *ka);

/*
 * Bytes in fd's send queue not yet sent (SIOCOUTQNSD): data the peer's
 * receive window or the congestion window holds back, as opposed to
 * data in flight.  0 on error or for a non-TCP fd.
 */
size_t tcpsock_unsent(int fd);

/*
 * If the kernel aborted fd's connection (state closed: a reset, or
 * keepalive probes or retransmissions unanswered), the error that did
 * it: the pending SO_ERROR, else ETIMEDOUT when probes or
 * retransmissions were outstanding, else ECONNRESET.  0 if it was not
 * aborted (open, or half-closed by a FIN) or fd is not TCP.  Takes
 * the pending error (as a read or write would).  Only meaningful while
 * we have not shut fd for writing: after our own FIN, the peer's FIN
 * also leaves the socket closed (its time-wait lives on elsewhere).
 */
int tcpsock_aborted(int fd);

/*
 * The close-line text of failure err on fd, naming the layer where
 * errno's own text does not: ETIMEDOUT after unanswered keepalive probes
 * is "tcp keepalive: peer unreachable (N probes unanswered)", after
 * retransmissions "tcp: peer unreachable (N retransmissions
 * unanswered)"; EPIPE on an aborted socket is the error that aborted it.
 * Otherwise strerror(err).  Always NUL-terminates buf (cap > 0).
 */
void tcpsock_strerror(int fd, int err, char *buf, size_t cap);

#endif
