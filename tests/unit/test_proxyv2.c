/*
 * test_proxyv2.c - the PROXY protocol v2 header against hand-assembled
 * bytes (haproxy proxy-protocol.txt, section 2.2).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxyv2.h"
#include "vec.h"

#define SIG "0d0a0d0a000d0a515549540a"
#define PEER "12D3KooWtest"	/* 12 bytes: TLV e0 000c */
#define PEER_HEX "313244334b6f6f5774657374"

static struct sockaddr_in
v4(const char *ip, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6
v6(const char *ip, unsigned port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

	sa.sin6_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return sa;
}

static void
expect(const uint8_t *got, size_t n, const char *want_hex)
{
	size_t wlen;
	uint8_t *want = vec_hex(want_hex, &wlen);

	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(got, want, n);
	free(want);
}

START_TEST(test_ipv4)
{
	struct sockaddr_in s = v4("10.0.0.2", 40000), d = v4("10.0.0.1", 4001);
	uint8_t h[PROXY_V2_MAX];
	size_t n = proxy_v2_header(h, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, PEER);

	/* 21 PROXY, 11 TCP/IPv4, length 12 + 3 + 12 = 27 */
	expect(h, n, SIG "2111001b" "0a000002" "0a000001" "9c40" "0fa1"
	    "e0000c" PEER_HEX);
}
END_TEST

START_TEST(test_ipv6_and_mixed)
{
	struct sockaddr_in6 s = v6("2001:db8::2", 1), d = v6("2001:db8::1", 2);
	struct sockaddr_in m = v4("192.0.2.7", 258);
	uint8_t h[PROXY_V2_MAX];
	size_t n;

	/* 21 TCP/IPv6, length 36 + 15 = 51 */
	n = proxy_v2_header(h, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    PEER);
	expect(h, n, SIG "21210033"
	    "20010db8000000000000000000000002"
	    "20010db8000000000000000000000001" "0001" "0002"
	    "e0000c" PEER_HEX);
	/* an IPv4 source with an IPv6 destination: ::ffff:192.0.2.7 */
	n = proxy_v2_header(h, (struct sockaddr *)&m, (struct sockaddr *)&d,
	    PEER);
	expect(h, n, SIG "21210033"
	    "00000000000000000000ffffc0000207"
	    "20010db8000000000000000000000001" "0102" "0002"
	    "e0000c" PEER_HEX);
}
END_TEST

START_TEST(test_local)
{
	struct sockaddr_in d = v4("10.0.0.1", 4001);
	struct sockaddr un = { .sa_family = AF_UNIX };
	uint8_t h[PROXY_V2_MAX];
	size_t n;

	/* 20 LOCAL, 00 unspecified, only the TLV */
	n = proxy_v2_header(h, NULL, (struct sockaddr *)&d, PEER);
	expect(h, n, SIG "2000000f" "e0000c" PEER_HEX);
	n = proxy_v2_header(h, &un, (struct sockaddr *)&d, PEER);
	expect(h, n, SIG "2000000f" "e0000c" PEER_HEX);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proxyv2");
	TCase *tc = tcase_create("header");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6_and_mixed);
	tcase_add_test(tc, test_local);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
