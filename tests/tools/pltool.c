/*
 * pltool.c - shared helpers of the hostile test peers; see pltool.h.
 */
#include "pltool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double
pl_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
pl_write_all(int fd, const uint8_t *b, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, b, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pl_dial_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

enum secchan_status
pl_upgrade_loop(const char *prog, int fd, struct secchan *sc, uint8_t *in,
    size_t incap, uint8_t *out, size_t outlen)
{
	size_t inlen = 0, used;
	enum secchan_status st = SECCHAN_CONTINUE;
	ssize_t got;

	if (outlen > 0 && pl_write_all(fd, out, outlen) != 0)
		return SECCHAN_FAILED;
	while (st == SECCHAN_CONTINUE) {
		got = recv(fd, in + inlen, incap - inlen, 0);
		if (got <= 0) {
			fprintf(stderr, "%s: peer closed during the upgrade\n",
			    prog);
			return SECCHAN_FAILED;
		}
		inlen += (size_t)got;
		st = secchan_input(sc, in, inlen, &used, out, &outlen);
		memmove(in, in + used, inlen - used);
		inlen -= used;
		if (outlen > 0 && pl_write_all(fd, out, outlen) != 0)
			return SECCHAN_FAILED;
	}
	return st;
}
