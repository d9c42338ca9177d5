/*
 * tcpsock.c - TCP socket options and failure texts (see tcpsock.h).
 */
#include "tcpsock.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
/* the kernel's struct tcp_info (tcpi_snd_wnd; glibc's copy stops short) */
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

/* tcpi_state of a closed socket (the kernel's TCP_CLOSE, tcp_states.h,
 * which only glibc's <netinet/tcp.h> names, and that clashes with the
 * kernel header above) */
enum { TCPSOCK_STATE_CLOSE = 7 };

/* Bytes fd's kernel send queue holds that were not sent yet. */
size_t
tcpsock_unsent(int fd)
{
	int v = 0;

	if (ioctl(fd, SIOCOUTQNSD, &v) != 0 || v < 0)
		return 0;
	return (size_t)v;
}

/* Turn keepalive on with ka's timers, or off. */
int
tcpsock_keepalive(int fd, const struct tcpsock_keepalive *ka)
{
	int on = ka->on ? 1 : 0;
	int idle = (int)ka->idle_s, intvl = (int)ka->interval_s;
	int cnt = (int)ka->count;
	unsigned int user_ms = tcpsock_user_timeout_ms(ka);

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms,
	    sizeof(user_ms)) != 0)
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

/* See tcpsock.h: the keepalive's whole budget, also for unacked data. */
unsigned int
tcpsock_user_timeout_ms(const struct tcpsock_keepalive *ka)
{
	unsigned long long ms;

	if (!ka->on)
		return 0;
	ms = ((unsigned long long)ka->idle_s +
	    (unsigned long long)ka->interval_s * ka->count) * 1000ULL;
	return ms > INT_MAX ? (unsigned int)INT_MAX : (unsigned int)ms;
}

/*
 * fd's TCP_INFO into ti (fields an older kernel does not fill stay 0);
 * -1 if fd is not a TCP socket.  *got: how many bytes the kernel filled.
 */
static int
tcpsock_info(int fd, struct tcp_info *ti, socklen_t *got)
{
	*got = sizeof(*ti);
	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, got);
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

	if (tcpsock_info(fd, &ti, &len) != 0 ||
	    ti.tcpi_state != TCPSOCK_STATE_CLOSE)
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
	socklen_t len;
	int a;

	if (err == EPIPE && (a = tcpsock_aborted(fd)) != 0)
		err = a;
	if (err == ETIMEDOUT && tcpsock_info(fd, &ti, &len) == 0) {
		if (ti.tcpi_retransmits > 0) {
			snprintf(buf, cap, "tcp: peer unreachable (%u "
			    "retransmissions unanswered: %s)",
			    (unsigned)ti.tcpi_retransmits, strerror(err));
			return;
		}
		/* the same counter serves the persist timer: data waiting
		 * for a window the peer closed, then never reopened */
		if (ti.tcpi_probes > 0 && len >= offsetof(struct tcp_info,
		    tcpi_snd_wnd) + sizeof(ti.tcpi_snd_wnd) &&
		    ti.tcpi_snd_wnd == 0) {
			snprintf(buf, cap, "tcp: peer unreachable (%u "
			    "zero-window probes unanswered: %s)",
			    (unsigned)ti.tcpi_probes, strerror(err));
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
