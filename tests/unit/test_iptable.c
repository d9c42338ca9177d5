/*
 * test_iptable.c - per-IP counters: basic counting, IPv4-mapped IPv6,
 * IPv6 /64 grouping, capacity and growth, and a randomised comparison with a naive model that
 * exercises backward-shift deletion in long probe chains.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "iptable.h"
#include "vec.h"

/* An IPv4 sockaddr for a.b.c.d-style index i. */
static struct sockaddr_in
v4(unsigned i)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(0x0a000000u + i);
	return s;
}

START_TEST(test_counts)
{
	struct iptable *t = iptable_new(8);
	struct sockaddr_in a = v4(1), b = v4(2);
	struct ipcount c;

	ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 1, &c), 0);
	ck_assert_uint_eq(c.conns, 1);
	ck_assert_uint_eq(c.handshakes, 1);
	iptable_add(t, (void *)&a, 1, 1, &c);
	ck_assert_uint_eq(c.conns, 2);
	iptable_add(t, (void *)&b, 1, 0, &c);
	ck_assert_uint_eq(iptable_size(t), 2);
	iptable_add(t, (void *)&a, 0, -1, &c);
	ck_assert_uint_eq(c.handshakes, 1);
	iptable_add(t, (void *)&a, -2, -1, &c);
	ck_assert_uint_eq(iptable_size(t), 1);
	ck_assert_uint_eq(iptable_get(t, (void *)&a).conns, 0);
	ck_assert_uint_eq(iptable_get(t, (void *)&b).conns, 1);
	iptable_free(t);
}
END_TEST

START_TEST(test_v4_mapped_is_v4)
{
	struct iptable *t = iptable_new(8);
	struct sockaddr_in a = v4(7);
	struct sockaddr_in6 m;
	struct ipcount c;

	memset(&m, 0, sizeof(m));
	m.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.0.0.7", &m.sin6_addr);
	iptable_add(t, (void *)&a, 1, 0, &c);
	iptable_add(t, (void *)&m, 1, 0, &c);
	ck_assert_uint_eq(c.conns, 2);
	ck_assert_uint_eq(iptable_size(t), 1);
	iptable_free(t);
}
END_TEST

/* An IPv6 sockaddr for text. */
static struct sockaddr_in6
v6(const char *text)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, text, &s.sin6_addr), 1);
	return s;
}

/* IPv6 sources count per /64; IPv4 and v4-mapped stay per address. */
START_TEST(test_v6_grouped_by_64)
{
	struct iptable *t = iptable_new(8);
	struct sockaddr_in6 a = v6("2001:db8:1:2::1"),
	    b = v6("2001:db8:1:2:ffff:ffff:ffff:fffe"),
	    other = v6("2001:db8:1:3::1"), m1 = v6("::ffff:10.0.0.1"),
	    m2 = v6("::ffff:10.0.0.2");
	struct sockaddr_in v = v4(1);
	uint8_t k[16], want[16];
	struct ipcount c;

	ck_assert_int_eq(iptable_key((void *)&b, k), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2::", want), 1);
	ck_assert_mem_eq(k, want, 16);
	ck_assert_int_eq(iptable_key((void *)&m2, k), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.2", want), 1);
	ck_assert_mem_eq(k, want, 16);
	iptable_add(t, (void *)&a, 1, 1, &c);
	iptable_add(t, (void *)&b, 1, 1, &c);
	ck_assert_uint_eq(c.conns, 2);		/* same /64 */
	ck_assert_uint_eq(c.handshakes, 2);
	iptable_add(t, (void *)&other, 1, 0, &c);
	ck_assert_uint_eq(c.conns, 1);		/* next /64 */
	iptable_add(t, (void *)&m1, 1, 0, &c);
	iptable_add(t, (void *)&m2, 1, 0, &c);
	ck_assert_uint_eq(c.conns, 1);		/* v4-mapped: per address */
	iptable_add(t, (void *)&v, 1, 0, &c);
	ck_assert_uint_eq(c.conns, 2);		/* 10.0.0.1 == ::ffff:10.0.0.1 */
	ck_assert_uint_eq(iptable_size(t), 4);
	ck_assert_uint_eq(iptable_get(t, (void *)&b).conns, 2);
	iptable_free(t);
}
END_TEST

/* Growing keeps every counter and admits new addresses up to the cap. */
START_TEST(test_grow)
{
	struct iptable *t = iptable_new(4);
	struct ipcount c;
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct sockaddr_in a = v4(i);
		ck_assert_int_eq(iptable_add(t, (void *)&a, (int)i + 1, 0, &c),
		    0);
	}
	{
		struct sockaddr_in a = v4(100);
		ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c), -1);
	}
	ck_assert_int_eq(iptable_grow(t, 100), 0);
	ck_assert_uint_ge(iptable_cap(t), 100);
	for (i = 0; i < 4; i++) {
		struct sockaddr_in a = v4(i);
		ck_assert_uint_eq(iptable_get(t, (void *)&a).conns, i + 1);
	}
	for (i = 4; i < 100; i++) {
		struct sockaddr_in a = v4(i);
		ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c), 0);
	}
	ck_assert_uint_eq(iptable_size(t), 100);
	{
		struct sockaddr_in a = v4(1000);
		ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c), -1);
	}
	ck_assert_int_eq(iptable_grow(t, 10), 0);	/* no shrinking */
	ck_assert_uint_ge(iptable_cap(t), 100);
	iptable_free(t);
}
END_TEST

START_TEST(test_capacity)
{
	struct iptable *t = iptable_new(4);
	struct ipcount c;
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct sockaddr_in a = v4(i);
		ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c), 0);
	}
	{
		struct sockaddr_in a = v4(99), old = v4(0);
		ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c), -1);
		/* an existing address can still be counted */
		ck_assert_int_eq(iptable_add(t, (void *)&old, 1, 0, &c), 0);
		ck_assert_uint_eq(c.conns, 2);
	}
	iptable_free(t);
}
END_TEST

START_TEST(test_random_against_model)
{
	enum { N = 300, OPS = 200000 };
	static unsigned model[N];
	struct iptable *t = iptable_new(N);
	struct ipcount c;
	unsigned i, k, live = 0;

	srandom(12345);
	memset(model, 0, sizeof(model));
	for (i = 0; i < OPS; i++) {
		struct sockaddr_in a;

		k = (unsigned)random() % N;
		a = v4(k);
		if (model[k] > 0 && random() % 2) {
			iptable_add(t, (void *)&a, -1, 0, &c);
			if (--model[k] == 0)
				live--;
		} else {
			ck_assert_int_eq(iptable_add(t, (void *)&a, 1, 0, &c),
			    0);
			if (model[k]++ == 0)
				live++;
		}
		ck_assert_uint_eq(c.conns, model[k]);
		ck_assert_uint_eq(iptable_size(t), live);
	}
	for (k = 0; k < N; k++) {
		struct sockaddr_in a = v4(k);
		ck_assert_uint_eq(iptable_get(t, (void *)&a).conns, model[k]);
	}
	iptable_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("iptable");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_v4_mapped_is_v4);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_v6_grouped_by_64);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_random_against_model);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
