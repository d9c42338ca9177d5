/*
 * test_multiaddr.c - multiaddr parsing, canonical text and binary form,
 * including the peer-ids.md section 5 examples.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "multiaddr.h"
#include "vec.h"

#define ID_ED "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define ID_ED_CID \
	"bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"
#define ID_QM "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define MH_ED "0024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f" \
	"0e42d474fce27e"
#define MH_QM "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21b" \
	"f6f0b9"

/* A good input, its canonical text, binary form (hex), kind and port. */
static const struct {
	const char *in;
	const char *canon;
	const char *hex;
	enum ma_host kind;
	unsigned port;
	bool has_peer;
} good[] = {
	/* peer-ids.md section 5, exact */
	{ "/ip4/127.0.0.1/tcp/4001/p2p/" ID_ED,
	    "/ip4/127.0.0.1/tcp/4001/p2p/" ID_ED,
	    "047f000001060fa1a50326" MH_ED, MA_IP4, 4001, true },
	{ "/ip6/::1/tcp/4001", "/ip6/::1/tcp/4001",
	    "2900000000000000000000000000000001060fa1", MA_IP6, 4001, false },
	{ "/dns4/example.com/tcp/443", "/dns4/example.com/tcp/443",
	    "360b6578616d706c652e636f6d0601bb", MA_DNS4, 443, false },
	/* /ipfs/ alias and the CID form of the same peer */
	{ "/ip4/127.0.0.1/tcp/4001/ipfs/" ID_ED,
	    "/ip4/127.0.0.1/tcp/4001/p2p/" ID_ED,
	    "047f000001060fa1a50326" MH_ED, MA_IP4, 4001, true },
	{ "/ip4/10.0.0.2/tcp/4001/p2p/" ID_ED_CID,
	    "/ip4/10.0.0.2/tcp/4001/p2p/" ID_ED,
	    "040a000002060fa1a50326" MH_ED, MA_IP4, 4001, true },
	{ "/dns/peer.example.org/tcp/4001/p2p/" ID_QM,
	    "/dns/peer.example.org/tcp/4001/p2p/" ID_QM,
	    "3510706565722e6578616d706c652e6f7267060fa1a50322" MH_QM,
	    MA_DNS, 4001, true },
	{ "/dns6/a.b/tcp/0", "/dns6/a.b/tcp/0", "3703612e62060000",
	    MA_DNS6, 0, false },
	/* canonicalisation */
	{ "/ip6/0:0:0:0:0:0:0:1/tcp/1", "/ip6/::1/tcp/1", NULL, MA_IP6, 1,
	    false },
	{ "/ip4/1.2.3.4/tcp/04001", "/ip4/1.2.3.4/tcp/4001", NULL, MA_IP4,
	    4001, false },
	{ "/dns/under_score.x-y.example/tcp/65535",
	    "/dns/under_score.x-y.example/tcp/65535", NULL, MA_DNS, 65535,
	    false },
	/* host:port forms */
	{ "127.0.0.1:15432", "/ip4/127.0.0.1/tcp/15432",
	    "047f000001063c48", MA_IP4, 15432, false },
	{ "[::1]:8080", "/ip6/::1/tcp/8080", NULL, MA_IP6, 8080, false },
	{ "[FE80::0001]:0", "/ip6/fe80::1/tcp/0", NULL, MA_IP6, 0, false },
	{ "localhost:5432", "/dns/localhost/tcp/5432",
	    "35096c6f63616c686f7374061538", MA_DNS, 5432, false },
	{ "0.0.0.0:4001", "/ip4/0.0.0.0/tcp/4001", NULL, MA_IP4, 4001,
	    false },
};

/* A bad input and a phrase its error must contain. */
static const struct {
	const char *in;
	const char *why;
} bad[] = {
	{ "", "multiaddr: empty address" },
	{ "/udp/1234", "multiaddr: unsupported protocol /udp" },
	{ "/ip4/127.0.0.1/udp/1234", "multiaddr: unsupported protocol /udp" },
	{ "/ip4/1.2.3.4", "multiaddr: missing /tcp port" },
	{ "/ip4/1.2.3.4/tcp", "multiaddr: missing /tcp port" },
	{ "/ip4/1.2.3/tcp/1", "multiaddr: bad ip4 address '1.2.3'" },
	{ "/ip4/256.1.1.1/tcp/1", "bad ip4 address '256.1.1.1'" },
	{ "/ip4/::1/tcp/1", "bad ip4 address" },
	{ "/ip4/01.2.3.4/tcp/1", "bad ip4 address" },
	{ "/ip6/1.2.3.4/tcp/1", "bad ip6 address '1.2.3.4'" },
	{ "/ip6/fe80::1%eth0/tcp/1", "bad ip6 address" },
	{ "/ip4/1.2.3.4/tcp/65536", "bad tcp port '65536'" },
	{ "/ip4/1.2.3.4/tcp/-1", "bad tcp port '-1'" },
	{ "/ip4/1.2.3.4/tcp/12a", "bad tcp port '12a'" },
	{ "/ip4/1.2.3.4/tcp/123456", "bad tcp port" },
	{ "/ip4/1.2.3.4/tcp/1/", "empty component" },
	{ "//ip4/1.2.3.4/tcp/1", "empty component" },
	{ "/", "empty component" },
	{ "/ip4", "missing /ip4 value" },
	{ "/dns", "missing /dns value" },
	{ "/ip4/1.2.3.4/tcp/1/p2p", "missing /p2p peer ID" },
	{ "/ip4/1.2.3.4/tcp/1/p2p/notapeer", "bad peer ID 'notapeer'" },
	{ "/ip4/1.2.3.4/tcp/1/p2p/" ID_ED "/tcp/2",
	    "unexpected /tcp after /p2p" },
	{ "/ip4/1.2.3.4/tcp/1/ws", "unsupported protocol /ws" },
	{ "/ip4/1.2.3.4/tcp/1/p2p/a/b/c/d", "too many components" },
	{ "/dns4/-bad.example/tcp/1", "bad dns name '-bad.example'" },
	{ "/dns4/bad-.example/tcp/1", "label ends with '-'" },
	{ "/dns4/a..b/tcp/1", "empty label" },
	{ "/dns4/example.com./tcp/1", "empty label" },
	{ "/dns/exa mple/tcp/1", "invalid character" },
	{ "/dns/a\x01" "b/tcp/1", "bad dns name 'a?b'" },
	{ "/dnsaddr/example.com", "unsupported protocol /dnsaddr" },
	{ "/unix/tmp/sock", "unsupported protocol /unix" },
	{ "1.2.3.4", "expected /ip4, /ip6, /dns or host:port" },
	{ "::1:80", "needs brackets" },
	{ "[::1]", "missing port" },
	{ "[::1", "missing ']'" },
	{ "[1.2.3.4]:80", "bad ip6 address '1.2.3.4'" },
	{ ":80", "missing host" },
	{ "localhost:", "missing port" },
	{ "localhost:99999", "bad port '99999'" },
	{ "1.2.3:80", "bad ip4 address '1.2.3'" },
	{ "bad_host!:80", "invalid character" },
};

/* Each good input parses to the expected fields, text and bytes. */
START_TEST(test_good)
{
	struct multiaddr ma, again;
	char err[256], text[MULTIADDR_STR_MAX];
	uint8_t bin[MULTIADDR_BYTES_MAX], bin2[MULTIADDR_BYTES_MAX];
	uint8_t *want;
	size_t wantlen;
	char *hex;
	int n, n2;

	err[0] = '\0';
	ck_assert_msg(multiaddr_parse(good[_i].in, &ma, err, sizeof(err)) ==
	    0, "%s: %s", good[_i].in, err);
	ck_assert_int_eq(ma.kind, good[_i].kind);
	ck_assert_uint_eq(ma.port, good[_i].port);
	ck_assert(ma.has_peer == good[_i].has_peer);
	ck_assert_str_eq(multiaddr_to_string(&ma, text, sizeof(text)),
	    good[_i].canon);
	n = multiaddr_to_bytes(&ma, bin, sizeof(bin));
	ck_assert_int_gt(n, 0);
	if (good[_i].hex != NULL) {
		want = vec_hex(good[_i].hex, &wantlen);
		ck_assert_ptr_nonnull(want);
		hex = vec_tohex(bin, (size_t)n);
		ck_assert_str_eq(hex, good[_i].hex);
		ck_assert_uint_eq((size_t)n, wantlen);
		free(hex);
		free(want);
	}
	/* The canonical text parses back to the same binary form. */
	ck_assert_int_eq(multiaddr_parse(text, &again, err, sizeof(err)), 0);
	n2 = multiaddr_to_bytes(&again, bin2, sizeof(bin2));
	ck_assert_int_eq(n2, n);
	ck_assert_mem_eq(bin, bin2, (size_t)n);
}
END_TEST

/* Each bad input fails with a precise reason and a zeroed result. */
START_TEST(test_bad)
{
	struct multiaddr ma, zero;
	char err[256];

	memset(&ma, 0xa5, sizeof(ma));
	memset(&zero, 0, sizeof(zero));
	err[0] = '\0';
	ck_assert_int_eq(multiaddr_parse(bad[_i].in, &ma, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL,
	    "'%s': got '%s', want '%s'", bad[_i].in, err, bad[_i].why);
	ck_assert(strncmp(err, "multiaddr: ", 11) == 0);
	ck_assert_mem_eq(&ma, &zero, sizeof(ma));
}
END_TEST

/* DNS length limits: 253 characters and 63 per label. */
START_TEST(test_dns_limits)
{
	char in[400], name[300], err[256];
	struct multiaddr ma;
	size_t i;

	/* 63-character label is fine, 64 is not. */
	memset(name, 'a', 63);
	name[63] = '\0';
	snprintf(in, sizeof(in), "/dns/%s.com/tcp/1", name);
	ck_assert_int_eq(multiaddr_parse(in, &ma, err, sizeof(err)), 0);
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(in, sizeof(in), "/dns/%s.com/tcp/1", name);
	ck_assert_int_eq(multiaddr_parse(in, &ma, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "label longer than 63"));

	/* 253 characters in labels of 9 + dot. */
	for (i = 0; i < 253; i++)
		name[i] = (i % 10 == 9) ? '.' : 'b';
	name[253] = '\0';
	snprintf(in, sizeof(in), "/dns/%s/tcp/1", name);
	ck_assert_msg(multiaddr_parse(in, &ma, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_uint_eq(strlen(ma.host), 253);
	ck_assert_int_eq(multiaddr_to_bytes(&ma, (uint8_t[300]){ 0 }, 300),
	    1 + 2 + 253 + 3);
	name[253] = 'b';
	name[254] = '\0';
	snprintf(in, sizeof(in), "/dns/%s/tcp/1", name);
	ck_assert_int_eq(multiaddr_parse(in, &ma, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 253"));
}
END_TEST

/* to_bytes refuses a short buffer at every length; to_string truncates. */
START_TEST(test_short_buffers)
{
	struct multiaddr ma;
	uint8_t bin[MULTIADDR_BYTES_MAX];
	char err[256], text[8];
	int n;
	size_t cap;

	ck_assert_int_eq(multiaddr_parse("/ip4/127.0.0.1/tcp/4001/p2p/" ID_ED,
	    &ma, err, sizeof(err)), 0);
	n = multiaddr_to_bytes(&ma, bin, sizeof(bin));
	ck_assert_int_eq(n, 49);
	for (cap = 0; cap < (size_t)n; cap++)
		ck_assert_int_eq(multiaddr_to_bytes(&ma, bin, cap), -1);
	ck_assert_int_eq(multiaddr_to_bytes(&ma, bin, (size_t)n), n);
	ck_assert_str_eq(multiaddr_to_string(&ma, text, sizeof(text)),
	    "/ip4/12");
	/* A tiny err buffer is still NUL-terminated. */
	ck_assert_int_eq(multiaddr_parse("/udp/1", &ma, err, 5), -1);
	ck_assert_str_eq(err, "mult");
	ck_assert_int_eq(multiaddr_parse("/udp/1", &ma, NULL, 0), -1);
}
END_TEST

/* The parsed peer equals the spec's multihash. */
/* Socket addresses for logs: IPv6 in brackets, so the port is clear. */
START_TEST(test_fmt_sockaddr)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET,
	    .sin_port = htons(58962) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(58962) };
	struct sockaddr_storage other = { .ss_family = AF_UNIX };
	char buf[MULTIADDR_SOCKADDR_MAX], small[8];

	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.7", &s4.sin_addr), 1);
	ck_assert_str_eq(multiaddr_fmt_sockaddr((struct sockaddr *)&s4, buf,
	    sizeof(buf)), "10.0.0.7:58962");
	ck_assert_int_eq(inet_pton(AF_INET6, "::1", &s6.sin6_addr), 1);
	ck_assert_str_eq(multiaddr_fmt_sockaddr((struct sockaddr *)&s6, buf,
	    sizeof(buf)), "[::1]:58962");
	/* the longest form fits MULTIADDR_SOCKADDR_MAX */
	ck_assert_int_eq(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255", &s6.sin6_addr), 1);
	s6.sin6_port = htons(65535);
	ck_assert_str_eq(multiaddr_fmt_sockaddr((struct sockaddr *)&s6, buf,
	    sizeof(buf)), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ck_assert_str_eq(multiaddr_fmt_sockaddr((struct sockaddr *)&other, buf,
	    sizeof(buf)), "-");
	ck_assert_str_eq(multiaddr_fmt_sockaddr(NULL, buf, sizeof(buf)), "-");
	ck_assert_str_eq(multiaddr_fmt_sockaddr((struct sockaddr *)&s4, small,
	    sizeof(small)), "10.0.0.");
}
END_TEST

START_TEST(test_peer_bytes)
{
	struct multiaddr ma;
	char err[256];
	uint8_t *mh;
	size_t len;

	ck_assert_int_eq(multiaddr_parse("/dns4/x.example/tcp/1/p2p/" ID_QM,
	    &ma, err, sizeof(err)), 0);
	mh = vec_hex(MH_QM, &len);
	ck_assert_uint_eq(ma.peer.len, len);
	ck_assert_mem_eq(ma.peer.mh, mh, len);
	free(mh);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("multiaddr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_dns_limits);
	tcase_add_test(tc, test_short_buffers);
	tcase_add_test(tc, test_peer_bytes);
	tcase_add_test(tc, test_fmt_sockaddr);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
