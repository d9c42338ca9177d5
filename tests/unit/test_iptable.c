/*
 * test_iptable.c - per-IP counters: basic counting, IPv4-mapped IPv6,
 * capacity, and a randomised comparison with a naive model that
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
	tcase_add_test(tc, test_random_against_model);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
