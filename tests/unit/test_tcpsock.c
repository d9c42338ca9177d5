/*
 * test_tcpsock.c - keepalive options read back from the kernel, and an
 * aborted connection told apart from a clean FIN on real loopback
 * sockets, also after a write consumed the reset.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "tcpsock.h"
#include "vec.h"

/* A connected loopback pair: *cli dialed, *srv accepted. */
static void
tcp_pair(int *cli, int *srv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lis;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lis = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lis, 0);
	ck_assert_int_eq(bind(lis, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lis, 1), 0);
	ck_assert_int_eq(getsockname(lis, (struct sockaddr *)&sin, &len), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*cli, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	*srv = accept(lis, NULL, NULL);
	ck_assert_int_ge(*srv, 0);
	close(lis);
}

/* An integer socket option of fd. */
static int
opt(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* Wait until fd is readable (the peer's FIN or RST arrived). */
static void
wait_readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	ck_assert_int_eq(poll(&p, 1, 5000), 1);
}

START_TEST(test_keepalive_options)
{
	struct tcpsock_keepalive on = { true, 7, 3, 4 };
	struct tcpsock_keepalive off = { false, 7, 3, 4 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(opt(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(tcpsock_keepalive(fd, &on), 0);
	ck_assert_int_eq(opt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
	/* unacknowledged data gets the same budget: 7 + 3 * 4 s */
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 19000);
	ck_assert_int_eq(tcpsock_keepalive(fd, &off), 0);
	ck_assert_int_eq(opt(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
	close(fd);
	/* not a socket: the error comes back */
	ck_assert_int_eq(tcpsock_keepalive(-1, &on), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* The user timeout: keepalive's total, capped at what the kernel takes. */
START_TEST(test_user_timeout)
{
	struct tcpsock_keepalive d = { true, 60, 10, 6 };
	struct tcpsock_keepalive big = { true, TCPSOCK_KA_SECS_MAX,
	    TCPSOCK_KA_SECS_MAX, TCPSOCK_KA_COUNT_MAX };
	struct tcpsock_keepalive off = { false, 60, 10, 6 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_uint_eq(tcpsock_user_timeout_ms(&d), 120000);
	ck_assert_uint_eq(tcpsock_user_timeout_ms(&big), INT_MAX);
	ck_assert_uint_eq(tcpsock_user_timeout_ms(&off), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tcpsock_keepalive(fd, &big), 0);
	ck_assert_int_eq(opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), INT_MAX);
	close(fd);
}
END_TEST

/* A FIN is not an abort; neither is an open connection. */
START_TEST(test_clean_fin)
{
	char b;
	int cli, srv;

	tcp_pair(&cli, &srv);
	ck_assert_int_eq(tcpsock_aborted(cli), 0);
	close(srv);
	wait_readable(cli);
	ck_assert_int_eq(read(cli, &b, 1), 0);
	ck_assert_int_eq(tcpsock_aborted(cli), 0);
	close(cli);
	/*
	 * The limit tcpsock.h states: after our own FIN, the peer's FIN
	 * leaves the socket closed too, like an abort (callers pass
	 * fin_sent and do not ask then).
	 */
	tcp_pair(&cli, &srv);
	ck_assert_int_eq(shutdown(cli, SHUT_WR), 0);
	wait_readable(srv);
	ck_assert_int_eq(read(srv, &b, 1), 0);
	close(srv);
	wait_readable(cli);
	ck_assert_int_eq(read(cli, &b, 1), 0);
	ck_assert_int_ne(tcpsock_aborted(cli), 0);
	close(cli);
}
END_TEST

/* A reset: seen pending, and still seen after a write consumed it. */
START_TEST(test_reset)
{
	struct linger lg = { 1, 0 };
	char b = 'x', text[200];
	int cli, srv, sv[2];

	tcp_pair(&cli, &srv);
	ck_assert_int_eq(setsockopt(srv, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(srv);
	wait_readable(cli);
	/* a write takes the pending error; reads then look like EOF */
	ck_assert_int_eq(send(cli, &b, 1, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ck_assert_int_eq(read(cli, &b, 1), 0);
	ck_assert_int_eq(tcpsock_aborted(cli), ECONNRESET);
	ck_assert_int_eq(send(cli, &b, 1, MSG_NOSIGNAL), -1);
	ck_assert_int_eq(errno, EPIPE);
	tcpsock_strerror(cli, EPIPE, text, sizeof(text));
	ck_assert_str_eq(text, strerror(ECONNRESET));
	close(cli);
	/* still pending: tcpsock_aborted takes it (SO_ERROR) */
	tcp_pair(&cli, &srv);
	ck_assert_int_eq(setsockopt(srv, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(srv);
	wait_readable(cli);
	ck_assert_int_eq(tcpsock_aborted(cli), ECONNRESET);
	ck_assert_int_eq(opt(cli, SOL_SOCKET, SO_ERROR), 0);
	close(cli);
	/* not TCP: never "aborted" */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(tcpsock_aborted(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Texts: errno's own where no probe or retransmission explains it. */
START_TEST(test_strerror)
{
	char text[200];
	int cli, srv;

	tcp_pair(&cli, &srv);
	tcpsock_strerror(cli, ECONNREFUSED, text, sizeof(text));
	ck_assert_str_eq(text, strerror(ECONNREFUSED));
	tcpsock_strerror(cli, ETIMEDOUT, text, sizeof(text));
	ck_assert_str_eq(text, strerror(ETIMEDOUT));
	/* EPIPE on a socket that was not aborted stays EPIPE */
	tcpsock_strerror(cli, EPIPE, text, sizeof(text));
	ck_assert_str_eq(text, strerror(EPIPE));
	tcpsock_strerror(cli, EPIPE, text, 8);
	ck_assert_uint_eq(strlen(text), 7);
	close(cli);
	close(srv);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tcpsock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_keepalive_options);
	tcase_add_test(tc, test_user_timeout);
	tcase_add_test(tc, test_clean_fin);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
