/*
 * test_identify.c - the identify message codec of pb.c (/ipfs/id/1.0.0):
 * the exact bytes of a message built by hand from the protobuf rules,
 * round trips, the caps on counts and lengths, malformed input, and the
 * binary multiaddrs that go into listenAddrs and observedAddr.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "multiaddr.h"
#include "pb.h"
#include "vec.h"
#include "wire.h"

/*
 * A whole Identify message, field by field (tag = number << 3 | 2):
 *   0a 24  publicKey: PublicKey{Type=Ed25519, Data=32 x 0x11}
 *   12 08  listenAddrs[0]: /ip4/127.0.0.1/tcp/4001
 *   12 14  listenAddrs[1]: /ip6/::1/tcp/4001
 *   1a 0e  protocols[0]: "/ipfs/id/1.0.0"
 *   1a 10  protocols[1]: "/ipfs/ping/1.0.0"
 *   22 08  observedAddr: /ip4/192.168.1.2/tcp/54321
 *   2a 0a  protocolVersion: "ipfs/0.1.0"
 *   32 0c  agentVersion: "peerlock/0.1"
 *   42 03  signedPeerRecord: aa bb cc
 */
static const char known_hex[] =
    "0a24" "08011220" "1111111111111111111111111111111111111111111111111111111111111111"
    "1208" "047f000001060fa1"
    "1214" "2900000000000000000000000000000001060fa1"
    "1a0e" "2f697066732f69642f312e302e30"
    "1a10" "2f697066732f70696e672f312e302e30"
    "2208" "04c0a80102" "06d431"
    "2a0a" "697066732f302e312e30"
    "320c" "706565726c6f636b2f302e31"
    "4203" "aabbcc";

/* Binary form of a text multiaddr, checked against hex. */
static size_t
ma_bytes(const char *text, const char *hex, uint8_t *out)
{
	struct multiaddr ma;
	char err[128];
	uint8_t *want;
	size_t wlen;
	int n;

	ck_assert_msg(multiaddr_parse(text, &ma, err, sizeof(err)) == 0, "%s",
	    err);
	n = multiaddr_to_bytes(&ma, out, PB_ID_ADDR_MAX);
	want = vec_hex(hex, &wlen);
	ck_assert_int_eq(n, (int)wlen);
	ck_assert_mem_eq(out, want, wlen);
	free(want);
	return (size_t)n;
}

/* The struct of the known message; addresses come from multiaddr.c. */
static struct pb_identify *
known_struct(void)
{
	struct pb_identify *id = calloc(1, sizeof(*id));

	ck_assert_ptr_nonnull(id);
	id->has_public_key = true;
	memcpy(id->public_key, "\x08\x01\x12\x20", 4);
	memset(id->public_key + 4, 0x11, 32);
	id->public_key_len = 36;
	id->listen_addr_len[0] = ma_bytes("/ip4/127.0.0.1/tcp/4001",
	    "047f000001060fa1", id->listen_addrs[0]);
	id->listen_addr_len[1] = ma_bytes("/ip6/::1/tcp/4001",
	    "2900000000000000000000000000000001060fa1", id->listen_addrs[1]);
	id->n_listen_addrs = 2;
	strcpy(id->protocols[0], IDENTIFY_PROTO);
	strcpy(id->protocols[1], PING_PROTO);
	id->n_protocols = 2;
	id->has_observed_addr = true;
	id->observed_addr_len = ma_bytes("/ip4/192.168.1.2/tcp/54321",
	    "04c0a8010206d431", id->observed_addr);
	id->has_protocol_version = true;
	strcpy(id->protocol_version, "ipfs/0.1.0");
	id->has_agent_version = true;
	strcpy(id->agent_version, "peerlock/0.1");
	id->has_signed_peer_record = true;
	memcpy(id->signed_peer_record, "\xaa\xbb\xcc", 3);
	id->signed_peer_record_len = 3;
	return id;
}

/* Field-by-field equality of two decoded/encoded structs. */
static void
assert_same(const struct pb_identify *a, const struct pb_identify *b)
{
	size_t i;

	ck_assert_int_eq(a->has_public_key, b->has_public_key);
	ck_assert_uint_eq(a->public_key_len, b->public_key_len);
	ck_assert_mem_eq(a->public_key, b->public_key, a->public_key_len);
	ck_assert_uint_eq(a->n_listen_addrs, b->n_listen_addrs);
	for (i = 0; i < a->n_listen_addrs; i++) {
		ck_assert_uint_eq(a->listen_addr_len[i], b->listen_addr_len[i]);
		ck_assert_mem_eq(a->listen_addrs[i], b->listen_addrs[i],
		    a->listen_addr_len[i]);
	}
	ck_assert_uint_eq(a->n_protocols, b->n_protocols);
	for (i = 0; i < a->n_protocols; i++)
		ck_assert_str_eq(a->protocols[i], b->protocols[i]);
	ck_assert_int_eq(a->has_observed_addr, b->has_observed_addr);
	ck_assert_uint_eq(a->observed_addr_len, b->observed_addr_len);
	ck_assert_mem_eq(a->observed_addr, b->observed_addr,
	    a->observed_addr_len);
	ck_assert_int_eq(a->has_protocol_version, b->has_protocol_version);
	ck_assert_str_eq(a->protocol_version, b->protocol_version);
	ck_assert_int_eq(a->has_agent_version, b->has_agent_version);
	ck_assert_str_eq(a->agent_version, b->agent_version);
	ck_assert_int_eq(a->has_signed_peer_record, b->has_signed_peer_record);
	ck_assert_uint_eq(a->signed_peer_record_len, b->signed_peer_record_len);
	ck_assert_mem_eq(a->signed_peer_record, b->signed_peer_record,
	    a->signed_peer_record_len);
}

/* The encoder writes exactly the hand-built bytes; they decode back. */
START_TEST(test_known_encoding)
{
	struct pb_identify *id = known_struct(), *back = malloc(sizeof(*back));
	uint8_t out[512], *want;
	size_t n, wlen;
	char err[256];

	want = vec_hex(known_hex, &wlen);
	ck_assert_ptr_nonnull(want);
	n = (size_t)pb_identify_encode(id, out, sizeof(out));
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(out, want, wlen);
	/* one byte short of room: refused */
	ck_assert_int_eq(pb_identify_encode(id, out, wlen - 1), -1);
	ck_assert_msg(pb_identify_decode(want, wlen, back, err,
	    sizeof(err)) == 0, "%s", err);
	assert_same(id, back);
	free(want);
	free(id);
	free(back);
}
END_TEST

/* Absent and empty fields: an empty message, empty strings kept apart. */
START_TEST(test_absent_and_empty)
{
	struct pb_identify *id = calloc(1, sizeof(*id));
	struct pb_identify *back = malloc(sizeof(*back));
	uint8_t out[64];
	char err[256];
	size_t n;

	ck_assert_int_eq(pb_identify_encode(id, out, sizeof(out)), 0);
	ck_assert_int_eq(pb_identify_decode(out, 0, back, err, sizeof(err)),
	    0);
	ck_assert(!back->has_public_key && !back->has_agent_version);
	ck_assert_uint_eq(back->n_protocols + back->n_listen_addrs, 0);
	/* agentVersion "" is present (32 00), not absent */
	id->has_agent_version = true;
	n = (size_t)pb_identify_encode(id, out, sizeof(out));
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, "\x32\x00", 2);
	ck_assert_int_eq(pb_identify_decode(out, n, back, err, sizeof(err)),
	    0);
	ck_assert(back->has_agent_version);
	ck_assert_str_eq(back->agent_version, "");
	free(id);
	free(back);
}
END_TEST

/* Unknown fields of every wire type are skipped. */
START_TEST(test_unknown_fields)
{
	/* 7: varint; 9: bytes; 10: fixed64; 11: fixed32; then protocols */
	static const uint8_t m[] = {
		0x38, 0x96, 0x01,
		0x4a, 0x02, 'h', 'i',
		0x51, 1, 2, 3, 4, 5, 6, 7, 8,
		0x5d, 1, 2, 3, 4,
		0x1a, 0x03, '/', 'i', 'd' };
	struct pb_identify *back = malloc(sizeof(*back));
	char err[256];

	ck_assert_msg(pb_identify_decode(m, sizeof(m), back, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back->n_protocols, 1);
	ck_assert_str_eq(back->protocols[0], "/id");
	free(back);
}
END_TEST

/* Append field (tag) of len bytes of c to b at *n (len < 2^14). */
static void
put(uint8_t *b, size_t *n, uint8_t tag, size_t len, int c)
{
	b[(*n)++] = tag;
	if (len >= 128) {
		b[(*n)++] = (uint8_t)(len | 0x80);
		b[(*n)++] = (uint8_t)(len >> 7);
	} else
		b[(*n)++] = (uint8_t)len;
	memset(b + *n, c, len);
	*n += len;
}

/* Decode b[0..n) expecting failure with an error containing want. */
static void
refused(const uint8_t *b, size_t n, const char *want)
{
	struct pb_identify *back = malloc(sizeof(*back));
	char err[256];

	ck_assert_int_eq(pb_identify_decode(b, n, back, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
	/* out is zeroed on failure */
	ck_assert_uint_eq(back->n_protocols + back->n_listen_addrs, 0);
	ck_assert(!back->has_public_key);
	free(back);
}

/* Decode b[0..n) expecting success. */
static void
accepted(const uint8_t *b, size_t n)
{
	struct pb_identify *back = malloc(sizeof(*back));
	char err[256];

	ck_assert_msg(pb_identify_decode(b, n, back, err, sizeof(err)) == 0,
	    "%s", err);
	free(back);
}

/* Every count and length cap: at the limit accepted, one beyond refused. */
START_TEST(test_caps)
{
	uint8_t *b = malloc(2 * PB_ID_MSG_MAX);
	size_t n, i;

	ck_assert_ptr_nonnull(b);
	for (n = 0, i = 0; i < PB_ID_PROTOCOLS_MAX; i++)
		put(b, &n, 0x1a, 4, 'p');
	accepted(b, n);
	put(b, &n, 0x1a, 4, 'p');
	refused(b, n, "identify: 65 protocols, at most 64 accepted");
	for (n = 0, i = 0; i < PB_ID_ADDRS_MAX; i++)
		put(b, &n, 0x12, 8, 1);
	accepted(b, n);
	put(b, &n, 0x12, 8, 1);
	refused(b, n, "identify: 17 listenAddrs, at most 16 accepted");
	n = 0;
	put(b, &n, 0x1a, PB_ID_PROTO_MAX, 'p');
	accepted(b, n);
	n = 0;
	put(b, &n, 0x1a, PB_ID_PROTO_MAX + 1, 'p');
	refused(b, n, "identify: protocols[0] is 1024 bytes, at most 1023");
	n = 0;
	put(b, &n, 0x12, PB_ID_ADDR_MAX + 1, 1);
	refused(b, n, "identify: listenAddrs[0] is 1025 bytes, at most 1024");
	n = 0;
	put(b, &n, 0x22, PB_ID_ADDR_MAX + 1, 1);
	refused(b, n, "identify: observedAddr is 1025 bytes");
	n = 0;
	put(b, &n, 0x0a, KEY_PB_MAX + 1, 1);
	refused(b, n, "identify: publicKey is 1201 bytes, at most 1200");
	n = 0;
	put(b, &n, 0x2a, PB_ID_VERSION_MAX, 'v');
	put(b, &n, 0x32, PB_ID_VERSION_MAX, 'a');
	accepted(b, n);
	n = 0;
	put(b, &n, 0x2a, PB_ID_VERSION_MAX + 1, 'v');
	refused(b, n, "identify: protocolVersion is 257 bytes, at most 256");
	n = 0;
	put(b, &n, 0x32, PB_ID_VERSION_MAX + 1, 'a');
	refused(b, n, "identify: agentVersion is 257 bytes");
	n = 0;
	put(b, &n, 0x42, PB_ID_RECORD_MAX, 1);
	accepted(b, n);
	n = 0;
	put(b, &n, 0x42, PB_ID_RECORD_MAX + 1, 1);
	refused(b, n, "identify: signedPeerRecord is 8193 bytes, at most "
	    "8192");
	/* the whole message: 65536 bytes of an unknown field pass, +1 not */
	n = 0;
	put(b, &n, 0x4a, 16000, 0);
	put(b, &n, 0x4a, 16000, 0);
	put(b, &n, 0x4a, 16000, 0);
	put(b, &n, 0x4a, 16000, 0);
	put(b, &n, 0x4a, PB_ID_MSG_MAX - n - 3, 0);
	ck_assert_uint_eq(n, PB_ID_MSG_MAX);
	accepted(b, n);
	b[n - 1] = 0;
	refused(b, n + 1, "identify: message of 65537 bytes, at most 65536 "
	    "accepted");
	free(b);
}
END_TEST

/* Broken protobuf and bad strings; peer text in the error is escaped. */
START_TEST(test_malformed)
{
	uint8_t *want;
	size_t wlen;

	want = vec_hex(known_hex, &wlen);
	refused(want, wlen - 1, "is not a valid Identify protobuf");
	refused((const uint8_t *)"\x1a\x05/ab", 4, "not a valid Identify");
	refused((const uint8_t *)"\x1f\x00", 2, "not a valid Identify");
	refused((const uint8_t *)"\x1a\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xff", 11, "not a valid Identify");
	/* wire type mismatch: protocols as a varint */
	refused((const uint8_t *)"\x18\x01", 2, "not a valid Identify");
	refused((const uint8_t *)"\x1a\x03/\xff\x01", 5,
	    "identify: protocols[0] is not valid UTF-8 or holds a NUL: "
	    "\"/\\xff\\x01\"");
	refused((const uint8_t *)"\x32\x03\x61\x00\x62", 5,
	    "identify: agentVersion is not valid UTF-8 or holds a NUL");
	refused((const uint8_t *)"\x2a\x03\xed\xa0\x80", 5,
	    "protocolVersion is not valid UTF-8");	/* a surrogate */
	refused((const uint8_t *)"\x2a\x02\xc0\x80", 4,
	    "protocolVersion is not valid UTF-8");	/* overlong NUL */
	accepted((const uint8_t *)"\x2a\x04\xf0\x9f\x98\x80", 6); /* U+1F600 */
	free(want);
}
END_TEST

/* The encoder refuses what the decoder would refuse. */
START_TEST(test_encode_refuses)
{
	struct pb_identify *id = known_struct();
	uint8_t *out = malloc(2 * PB_ID_MSG_MAX);
	size_t i;

	id->n_protocols = PB_ID_PROTOCOLS_MAX + 1;
	ck_assert_int_eq(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), -1);
	id->n_protocols = 2;
	id->n_listen_addrs = PB_ID_ADDRS_MAX + 1;
	ck_assert_int_eq(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), -1);
	id->n_listen_addrs = 2;
	strcpy(id->agent_version, "bad\xff");
	ck_assert_int_eq(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), -1);
	strcpy(id->agent_version, "ok");
	id->public_key_len = KEY_PB_MAX + 1;
	ck_assert_int_eq(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), -1);
	id->public_key_len = 36;
	ck_assert_int_gt(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), 0);
	/* every cap at its limit: the whole message would pass 64 KiB */
	for (i = 0; i < PB_ID_PROTOCOLS_MAX; i++) {
		memset(id->protocols[i], 'p', PB_ID_PROTO_MAX);
		id->protocols[i][PB_ID_PROTO_MAX] = '\0';
	}
	id->n_protocols = PB_ID_PROTOCOLS_MAX;
	for (i = 0; i < PB_ID_ADDRS_MAX; i++)
		id->listen_addr_len[i] = PB_ID_ADDR_MAX;
	id->n_listen_addrs = PB_ID_ADDRS_MAX;
	ck_assert_int_eq(pb_identify_encode(id, out, 2 * PB_ID_MSG_MAX), -1);
	free(out);
	free(id);
}
END_TEST

/* The node-mode constants are the spec's strings. */
START_TEST(test_constants)
{
	ck_assert_str_eq(IDENTIFY_PROTO, "/ipfs/id/1.0.0");
	ck_assert_str_eq(IDENTIFY_PUSH_PROTO, "/ipfs/id/push/1.0.0");
	ck_assert_str_eq(PING_PROTO, "/ipfs/ping/1.0.0");
	ck_assert_str_eq(YAMUX_PROTO, "/yamux/1.0.0");
	ck_assert_int_eq(PING_SIZE, 32);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("identify");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_known_encoding);
	tcase_add_test(tc, test_absent_and_empty);
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_constants);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
