/*
 * test_resolve.c - getaddrinfo off the event loop: results arrive on the
 * loop, a cancelled lookup never calls back, the queue is bounded, and a
 * resolver freed with lookups in flight leaves them to its workers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "../../src/resolve.h"
#include "vec.h"

struct got {
	int calls, err, family;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	struct event_base *base;
};

/* Record one result and stop the loop. */
static void
on_result(int err, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	struct got *g = arg;
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;

	(void)salen;
	g->calls++;
	g->err = err;
	if (err == 0) {
		g->family = sa->sa_family;
		if (sa->sa_family == AF_INET) {
			inet_ntop(AF_INET, &s4->sin_addr, g->ip, sizeof(g->ip));
			g->port = ntohs(s4->sin_port);
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, g->ip,
			    sizeof(g->ip));
			g->port = ntohs(s6->sin6_port);
		}
	}
	event_base_loopbreak(g->base);
}

/* Run base until a callback or ms milliseconds. */
static void
run_for(struct event_base *base, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Literals and /etc/hosts names come back on the loop with the port. */
START_TEST(test_lookup)
{
	struct event_base *base = event_base_new();
	struct resolver *r = resolver_new(base, RESOLVE_THREADS, 8);
	struct got g = { .base = base };

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(resolver_lookup(r, "127.0.0.1", 4001, AF_INET,
	    on_result, &g));
	ck_assert_int_eq(g.calls, 0);	/* never from inside the call */
	run_for(base, 5000);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.err, 0);
	ck_assert_int_eq(g.family, AF_INET);
	ck_assert_str_eq(g.ip, "127.0.0.1");
	ck_assert_uint_eq(g.port, 4001);

	memset(&g, 0, sizeof(g));
	g.base = base;
	ck_assert_ptr_nonnull(resolver_lookup(r, "::1", 5, AF_INET6,
	    on_result, &g));
	run_for(base, 5000);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_str_eq(g.ip, "::1");
	ck_assert_uint_eq(g.port, 5);

	memset(&g, 0, sizeof(g));
	g.base = base;
	ck_assert_ptr_nonnull(resolver_lookup(r, "localhost", 80, AF_INET,
	    on_result, &g));
	run_for(base, 5000);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.err, 0);
	ck_assert_str_eq(g.ip, "127.0.0.1");
	ck_assert_uint_eq(resolver_pending(r), 0);
	resolver_free(r);
	event_base_free(base);
}
END_TEST

/* A cancelled lookup never calls back; the next one still does. */
START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	struct resolver *r = resolver_new(base, 1, 8);
	struct got g = { .base = base }, h = { .base = base };
	struct resolve_req *q;

	q = resolver_lookup(r, "127.0.0.1", 1, AF_INET, on_result, &g);
	ck_assert_ptr_nonnull(q);
	resolver_cancel(q);
	ck_assert_ptr_nonnull(resolver_lookup(r, "127.0.0.2", 2, AF_INET,
	    on_result, &h));
	run_for(base, 5000);
	run_for(base, 200);		/* anything late would come now */
	ck_assert_int_eq(g.calls, 0);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_str_eq(h.ip, "127.0.0.2");
	resolver_free(r);
	event_base_free(base);
}
END_TEST

/* Past queue_max waiting lookups, resolver_lookup refuses (EAGAIN). */
START_TEST(test_bounded)
{
	struct event_base *base = event_base_new();
	struct resolver *r = resolver_new(base, 1, 0);
	struct got g = { .base = base };

	ck_assert_ptr_nonnull(r);
	errno = 0;
	ck_assert_ptr_null(resolver_lookup(r, "127.0.0.1", 1, AF_INET,
	    on_result, &g));
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(g.calls, 0);
	resolver_free(r);
	event_base_free(base);
}
END_TEST

/* Freed with lookups queued and in flight: no callback, no leak. */
START_TEST(test_free_pending)
{
	struct event_base *base = event_base_new();
	struct resolver *r = resolver_new(base, 2, 64);
	struct got g = { .base = base };
	int i;

	for (i = 0; i < 32; i++)
		ck_assert_ptr_nonnull(resolver_lookup(r, "localhost", 1,
		    AF_UNSPEC, on_result, &g));
	resolver_free(r);
	run_for(base, 200);
	ck_assert_int_eq(g.calls, 0);
	event_base_free(base);
	usleep(200000);		/* let the workers finish and free */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_free_pending);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
