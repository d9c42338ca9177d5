/*
 * tcpsock.c - TCP socket options and failure texts (see tcpsock.h).
 */
#include "tcpsock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Turn keepalive on with ka's timers, or off. */
int
tcpsock_keepalive(int fd, const struct tcpsock_keepalive *ka)
{
	int on = ka->on ? 1 : 0;
	int idle = (int)ka->idle_s, intvl = (int)ka->interval_s;
	int cnt = (int)ka->count;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0)
		return -1;
	if (!ka->on)
		return 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
		return -1;
	return 0;
}

/* fd's TCP_INFO into ti; -1 if fd is not a TCP socket. */
static int
tcpsock_info(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

/*
 * A FIN leaves the socket in close-wait (or time-wait after our own);
 * only an abort takes it to closed while we still hold it.
 */
int
tcpsock_aborted(int fd)
{
	struct tcp_info ti;
	socklen_t len;
	int err = 0;

	if (tcpsock_info(fd, &ti) != 0 || ti.tcpi_state != TCP_CLOSE)
		return 0;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
		return err;
	return ti.tcpi_probes > 0 || ti.tcpi_retransmits > 0 ? ETIMEDOUT :
	    ECONNRESET;
}

/* Text of err on fd; see tcpsock.h. */
void
tcpsock_strerror(int fd, int err, char *buf, size_t cap)
{
	struct tcp_info ti;
	int a;

	if (err == EPIPE && (a = tcpsock_aborted(fd)) != 0)
		err = a;
	if (err == ETIMEDOUT && tcpsock_info(fd, &ti) == 0) {
		if (ti.tcpi_retransmits > 0) {
			snprintf(buf, cap, "tcp: peer unreachable (%u "
			    "retransmissions unanswered: %s)",
			    (unsigned)ti.tcpi_retransmits, strerror(err));
			return;
		}
		if (ti.tcpi_probes > 0) {
			snprintf(buf, cap, "tcp keepalive: peer unreachable "
			    "(%u probes unanswered: %s)",
			    (unsigned)ti.tcpi_probes, strerror(err));
			return;
		}
	}
	snprintf(buf, cap, "%s", strerror(err));
}
