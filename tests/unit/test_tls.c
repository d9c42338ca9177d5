/* test_tls.c - two libp2p TLS sessions pumped in memory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "peerid.h"
#include "tls.h"
#include "tlscert.h"
#include "tlsrec.h"
#include "vec.h"

/* A client/server pair and their identities. */
struct pair {
	struct identity *cid, *sid;
	struct tls_session *c, *s;
};

static struct pair P;

/* Move everything pending from a's output into b's input. */
static size_t
move(struct tls_session *a, struct tls_session *b)
{
	uint8_t buf[4096];
	size_t n, total = 0;

	while (tls_pending_output(a) > 0 && tls_input_space(b) > 0) {
		size_t cap = tls_input_space(b);

		n = tls_take_output(a, buf, cap < sizeof(buf) ? cap :
		    sizeof(buf));
		ck_assert_uint_eq(tls_feed(b, buf, n), n);
		total += n;
	}
	return total;
}

/* Run both handshakes until neither makes progress. */
static void
pump_handshake(struct tls_session *c, struct tls_session *s)
{
	int i;

	for (i = 0; i < 50; i++) {
		enum tls_status a = tls_handshake(c);
		size_t moved = move(c, s);
		enum tls_status b = tls_handshake(s);

		moved += move(s, c);
		if (a != TLS_WANT_IO && b != TLS_WANT_IO && moved == 0)
			break;
		if ((a == TLS_FAILED || b == TLS_FAILED) && moved == 0)
			break;
	}
}

static void
pair_setup(void)
{
	char err[256] = "";

	P.cid = identity_generate(KEY_ED25519);
	P.sid = identity_generate(KEY_ED25519);
	ck_assert_ptr_nonnull(P.cid);
	ck_assert_ptr_nonnull(P.sid);
	P.c = tls_session_new(TLS_CLIENT, P.cid, err, sizeof(err));
	ck_assert_msg(P.c != NULL, "%s", err);
	P.s = tls_session_new(TLS_SERVER, P.sid, err, sizeof(err));
	ck_assert_msg(P.s != NULL, "%s", err);
}

static void
pair_teardown(void)
{
	tls_session_free(P.c);
	tls_session_free(P.s);
	identity_free(P.cid);
	identity_free(P.sid);
	memset(&P, 0, sizeof(P));
}

/* Handshake the fixture pair and assert success. */
static void
pair_connect(void)
{
	tls_expect_peer(P.c, identity_peer_id(P.sid));
	pump_handshake(P.c, P.s);
	ck_assert_msg(tls_status(P.c) == TLS_DONE, "client: %s",
	    tls_error(P.c));
	ck_assert_msg(tls_status(P.s) == TLS_DONE, "server: %s",
	    tls_error(P.s));
}

START_TEST(test_handshake)
{
	const struct pubkey *k;

	ck_assert_ptr_null(tls_remote_key(P.c));
	pair_connect();
	k = tls_remote_key(P.c);
	ck_assert_ptr_nonnull(k);
	ck_assert(peer_id_equal(pubkey_peer_id(k), identity_peer_id(P.sid)));
	k = tls_remote_key(P.s);
	ck_assert_ptr_nonnull(k);
	ck_assert(peer_id_equal(pubkey_peer_id(k), identity_peer_id(P.cid)));
	ck_assert_str_eq(tls_cipher(P.c), tls_preferred_cipher());
	ck_assert_str_eq(tls_cipher(P.s), tls_preferred_cipher());
	ck_assert_str_eq(tls_error(P.c), "");
	ck_assert_int_eq(tls_handshake(P.c), TLS_DONE);	/* idempotent */
}
END_TEST

/* Send len bytes from a to b in chunks, check they arrive intact. */
static void
transfer(struct tls_session *a, struct tls_session *b, size_t len)
{
	uint8_t *src = malloc(len), *dst = malloc(len + 1);
	size_t sent = 0, got = 0, i;
	int n, rounds = 0;

	ck_assert(src != NULL && dst != NULL);
	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 31 + (i >> 8));
	while (got < len) {
		ck_assert_int_lt(rounds++, 100000);
		if (sent < len) {
			n = tls_write(a, src + sent, len - sent);
			ck_assert_int_ge(n, 0);
			sent += (size_t)n;
		}
		move(a, b);
		do {
			n = tls_read(b, dst + got, len + 1 - got);
			ck_assert_msg(n >= 0, "%s", tls_error(b));
			got += (size_t)n;
		} while (n > 0);
	}
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(src, dst, len) == 0);
	free(src);
	free(dst);
}

START_TEST(test_data_both_ways)
{
	static const size_t sizes[] = { 1, 65536, 1 << 20, 16384, 16385 };
	size_t i;

	pair_connect();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		transfer(P.c, P.s, sizes[i]);
		transfer(P.s, P.c, sizes[i]);
	}
}
END_TEST

/* Input beyond TLS_INPUT_MAX is refused, not buffered. */
START_TEST(test_input_bound)
{
	static uint8_t junk[TLS_INPUT_MAX + 100];

	ck_assert_uint_eq(tls_feed(P.s, junk, sizeof(junk)), TLS_INPUT_MAX);
	ck_assert_uint_eq(tls_input_space(P.s), 0);
	ck_assert_uint_eq(tls_feed(P.s, junk, 1), 0);
	/* and that garbage fails the handshake cleanly */
	ck_assert_int_eq(tls_handshake(P.s), TLS_FAILED);
	ck_assert(strncmp(tls_error(P.s), "tls: ", 5) == 0);
}
END_TEST

/* tls_write() applies backpressure above TLS_OUTPUT_HIGH. */
START_TEST(test_output_backpressure)
{
	static uint8_t buf[TLS_WRITE_MAX];
	int n, total = 0;

	pair_connect();
	while ((n = tls_write(P.c, buf, sizeof(buf))) > 0)
		total += n;
	ck_assert_int_eq(n, 0);
	ck_assert_int_gt(total, TLS_OUTPUT_HIGH - TLS_WRITE_MAX);
	ck_assert_uint_gt(tls_pending_output(P.c), TLS_OUTPUT_HIGH);
}
END_TEST

/*
 * The client's close_notify is in the server's input: the server reads
 * the clean end, answers with its own, and the client reads that.
 */
static void
close_rest(void)
{
	uint8_t buf[64];

	ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), -1);
	ck_assert_int_eq(tls_status(P.s), TLS_CLOSED);
	ck_assert_str_eq(tls_error(P.s), "");
	ck_assert_int_eq(tls_shutdown(P.s), 0);
	move(P.s, P.c);
	ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(tls_status(P.c), TLS_CLOSED);
}

START_TEST(test_close_notify)
{
	pair_connect();
	transfer(P.c, P.s, 100);
	ck_assert_int_eq(tls_shutdown(P.c), 0);
	ck_assert_uint_gt(move(P.c, P.s), 0);
	close_rest();
}
END_TEST

/* A client expecting a different peer aborts; the server sees it. */
START_TEST(test_wrong_peer_id)
{
	struct identity *other = identity_generate(KEY_ED25519);

	ck_assert_ptr_nonnull(other);
	tls_expect_peer(P.c, identity_peer_id(other));
	pump_handshake(P.c, P.s);
	ck_assert_int_eq(tls_status(P.c), TLS_FAILED);
	ck_assert_msg(strncmp(tls_error(P.c), "peer id mismatch: expected ",
	    27) == 0, "%s", tls_error(P.c));
	ck_assert_int_eq(tls_fail_kind(P.c), TLS_FAIL_PEER_MISMATCH);
	ck_assert_int_ne(tls_status(P.s), TLS_DONE);
	ck_assert_ptr_null(tls_remote_key(P.c));
	identity_free(other);
}
END_TEST

/* Tampered data in flight fails the record layer. */
START_TEST(test_tampered_record)
{
	uint8_t buf[256];
	size_t n;

	pair_connect();
	ck_assert_int_eq(tls_write(P.c, (const uint8_t *)"hello", 5), 5);
	n = tls_take_output(P.c, buf, sizeof(buf));
	buf[n - 1] ^= 1;
	tls_feed(P.s, buf, n);
	ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), -1);
	ck_assert_int_eq(tls_status(P.s), TLS_FAILED);
	ck_assert_str_eq(tls_error(P.s), "tls: record failed authentication "
	    "(tampered, replayed or reordered)");
	ck_assert_int_eq(tls_fail_kind(P.s), TLS_FAIL_PROTOCOL);
	/* the fatal alert (bad_record_mac) goes back to the sender */
	ck_assert_uint_gt(move(P.s, P.c), 0);
	ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), -1);
	ck_assert_str_eq(tls_error(P.c),
	    "tls: peer sent alert bad_record_mac (20)");
	ck_assert_int_eq(tls_fail_kind(P.c), TLS_FAIL_ALERT);
}
END_TEST

/* After the handshake both records layers left wolfSSL (tls.c). */
START_TEST(test_offloaded)
{
	pair_connect();
	ck_assert(tls_offload_supported());
	ck_assert(tls_offloaded(P.c));
	ck_assert(tls_offloaded(P.s));
	ck_assert_str_eq(tls_cipher(P.c), tls_preferred_cipher());
}
END_TEST

/*
 * Our record layer against wolfSSL's, every mix of the two and every
 * suite: data both ways, then a KeyUpdate asking for one back from each
 * side that can send one, data again, and close_notify both ways.
 */
static const char *const mix_suites[] = {
	"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
	"TLS13-CHACHA20-POLY1305-SHA256"
};

/*
 * One cell: data both ways, a KeyUpdate request from the client (ours,
 * or wolfSSL's through wolfSSL_update_keys()) answered by the server,
 * data again, a plain KeyUpdate from the server where it is ours (a
 * wolfSSL one can only ask: -1), data, close_notify both ways.
 */
static void
mixed_run(bool c_off, bool s_off, const char *suite)
{
	char err[256] = "";

	tls_session_free(P.c);
	tls_session_free(P.s);
	tls_set_suites(suite);
	tls_set_offload(c_off);
	P.c = tls_session_new(TLS_CLIENT, P.cid, err, sizeof(err));
	tls_set_offload(s_off);
	P.s = tls_session_new(TLS_SERVER, P.sid, err, sizeof(err));
	tls_set_offload(true);
	tls_set_suites(NULL);
	ck_assert(P.c != NULL && P.s != NULL);
	pair_connect();
	ck_assert_str_eq(tls_cipher(P.c), suite);
	ck_assert_int_eq(tls_offloaded(P.c), c_off);
	ck_assert_int_eq(tls_offloaded(P.s), s_off);
	transfer(P.c, P.s, 70000);
	transfer(P.s, P.c, 70000);
	ck_assert_int_eq(tls_key_update(P.c, true), 0);
	transfer(P.c, P.s, 20000);
	transfer(P.s, P.c, 20000);	/* carries the answer */
	if (c_off)
		ck_assert_uint_eq(tls_key_updates(P.c), 1);
	if (s_off)
		ck_assert_uint_eq(tls_key_updates(P.s), 1);
	if (s_off) {
		ck_assert_int_eq(tls_key_update(P.s, false), 0);
		transfer(P.s, P.c, 20000);
		transfer(P.c, P.s, 20000);
	} else
		ck_assert_int_eq(tls_key_update(P.s, false), -1);
	ck_assert_int_eq(tls_shutdown(P.c), 0);
	move(P.c, P.s);
	close_rest();
}

START_TEST(test_mixed_record_layers)
{
	mixed_run(_i & 1, _i & 2, mix_suites[_i / 4]);
}
END_TEST

/*
 * A wolfSSL without the offload: the wolfSSL/wolfSSL cell of
 * test_mixed_record_layers, for every suite.
 */
START_TEST(test_wolfssl_records)
{
	mixed_run(false, false, mix_suites[_i]);
}
END_TEST

/* Records opened in place through tls_open_record(), and sealed in place. */
START_TEST(test_inplace_records)
{
	uint8_t rec[TLSREC_HDR + 100 + TLSREC_OVERHEAD + 32];
	size_t n;
	int w;

	pair_connect();
	memcpy(rec + TLSREC_HDR, "in place", 8);
	w = tls_seal(P.c, rec + TLSREC_HDR, 8, rec, sizeof(rec));
	ck_assert_int_eq(w, 8 + TLSREC_OVERHEAD);
	ck_assert_int_eq(tls_open_record(P.s, rec, rec + TLSREC_HDR,
	    (size_t)w - TLSREC_HDR), 8);
	ck_assert(memcmp(rec + TLSREC_HDR, "in place", 8) == 0);
	/* a close_notify in place: 0 bytes, then closed */
	ck_assert_int_eq(tls_shutdown(P.c), 0);
	n = tls_take_output(P.c, rec, sizeof(rec));
	ck_assert_uint_eq(n, 2 + TLSREC_OVERHEAD);
	ck_assert_int_eq(tls_open_record(P.s, rec, rec + TLSREC_HDR,
	    n - TLSREC_HDR), -1);
	ck_assert_int_eq(tls_status(P.s), TLS_CLOSED);
	ck_assert_str_eq(tls_error(P.s), "");
}
END_TEST

/*
 * What a peer may send after the handshake, through our record layer:
 * records of any inner type (hex content) from the client, then "ok" as
 * application data when the server must carry on (err NULL), or the
 * server's exact error.
 */
struct ph_case {
	const char *name;
	struct { uint8_t type; const char *hex; } recs[4];
	const char *err;
	bool from_server;	/* the server sends, the client reads */
};

#define NST "040000080000000100000000"	/* ticket, 8-byte body */

static const struct ph_case ph_cases[] = {
	{ "ticket", { { 22, NST } }, NULL, true },
	{ "two tickets in one record", { { 22, NST NST } }, NULL, true },
	{ "ticket split over three records, header too",
	    { { 22, "0400" }, { 22, "0008000000" }, { 22, "0100000000" } },
	    NULL, true },
	{ "ticket from a client", { { 22, NST } },
	    "tls: unexpected post-handshake message type 4 "
	    "(NewSessionTicket from a client)", false },
	{ "all-zero inner plaintext", { { 0, "0000" } },
	    "tls: record of only zero bytes (no content type)", false },
	{ "empty application data record", { { 23, "" } }, NULL, false },
	{ "user_canceled is ignored", { { 21, "015a" } }, NULL, false },
	{ "KeyUpdate with request_update 2", { { 22, "1800000102" } },
	    "tls: KeyUpdate with request_update 2 (expected 0 or 1)", false },
	{ "KeyUpdate of 2 bytes", { { 22, "180000020000" } },
	    "tls: KeyUpdate of 2 bytes (expected 1)", false },
	{ "KeyUpdate not last in its record", { { 22, "1800000100" NST } },
	    "tls: KeyUpdate is not the last message of its record", false },
	{ "CertificateRequest", { { 22, "0d00000100" } },
	    "tls: unexpected post-handshake message type 13", false },
	{ "empty handshake record", { { 22, "" } },
	    "tls: empty handshake record", false },
	{ "data inside a fragmented ticket",
	    { { 22, "04000008" }, { 23, "6869" } },
	    "tls: record of type 23 inside a handshake message", true },
	{ "empty alert record", { { 21, "" } },
	    "tls: empty alert record", false },
	{ "alert of 1 byte", { { 21, "02" } },
	    "tls: alert record of 1 bytes (expected 2)", false },
	{ "alert of 3 bytes", { { 21, "020a00" } },
	    "tls: alert record of 3 bytes (expected 2)", false },
	{ "fatal alert", { { 21, "0228" } },
	    "tls: peer sent alert handshake_failure (40)", false },
	{ "change_cipher_spec inside", { { 20, "01" } },
	    "tls: record of content type 20 after the handshake", false },
};

START_TEST(test_post_handshake)
{
	const struct ph_case *t = &ph_cases[_i];
	struct tls_session *tx = t->from_server ? P.s : P.c;
	struct tls_session *rx = t->from_server ? P.c : P.s;
	uint8_t buf[64], *msg;
	size_t i, len;
	int n;

	pair_connect();
	for (i = 0; i < 4 && t->recs[i].hex != NULL; i++) {
		msg = vec_hex(t->recs[i].hex, &len);
		ck_assert_ptr_nonnull(msg);
		ck_assert_int_eq(tls_send_record(tx, t->recs[i].type, msg,
		    len), 0);
		free(msg);
	}
	if (t->err == NULL)
		ck_assert_int_eq(tls_write(tx, (const uint8_t *)"ok", 2), 2);
	move(tx, rx);
	n = tls_read(rx, buf, sizeof(buf));
	if (t->err != NULL) {
		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(tls_status(rx), TLS_FAILED);
		ck_assert_str_eq(tls_error(rx), t->err);
		return;
	}
	ck_assert_msg(n == 2, "%s: %d (%s)", t->name, n, tls_error(rx));
	ck_assert(memcmp(buf, "ok", 2) == 0);
}
END_TEST

/*
 * RFC 8446 5.4 and the caps on records without data: what the client
 * sends (count records of type with content len bytes of fill, the last
 * byte last), and the server's error and the alert the client then
 * reads (NULL: the server carries on, then reads "ok").
 */
static const struct {
	const char *name;
	uint8_t type, fill, last;
	size_t len, count;
	const char *err, *alert;
} limit_cases[] = {
	{ "2^14 content: the largest record", 23, 'a', 'a', 16384, 1,
	    NULL, NULL },
	{ "2^14 content, type, one byte of padding", 0, 'a', 23, 16385, 1,
	    "tls: record of 16386 inner plaintext bytes exceeds the "
	    "16385-byte limit", "record_overflow (22)" },
	{ "2^14 + 1 bytes of content", 23, 'a', 'a', 16385, 1,
	    "tls: record of 16386 inner plaintext bytes exceeds the "
	    "16385-byte limit", "record_overflow (22)" },
	{ "all-zero inner plaintext", 0, 0, 0, 100, 1,
	    "tls: record of only zero bytes (no content type)",
	    "unexpected_message (10)" },
	{ "32 empty records", 23, 0, 0, 0, 32, NULL, NULL },
	{ "33 empty records", 23, 0, 0, 0, 33,
	    "tls: more than 32 empty records in a row",
	    "unexpected_message (10)" },
	{ "4 user_canceled", 21, 1, 90, 2, 4, NULL, NULL },
	{ "5 user_canceled", 21, 1, 90, 2, 5,
	    "tls: more than 4 warning alerts without application data",
	    "unexpected_message (10)" },
	{ "empty alert record (tlsfuzzer test-tls13-empty-alert)", 21, 0, 0,
	    0, 1, "tls: empty alert record", "unexpected_message (10)" },
	{ "alert of 3 bytes", 21, 2, 0, 3, 1,
	    "tls: alert record of 3 bytes (expected 2)", "decode_error (50)" },
	{ "32 KeyUpdates", 22, 0, 0, 0, 32, NULL, NULL },
	{ "33 KeyUpdates", 22, 0, 0, 0, 33,
	    "tls: more than 32 post-handshake messages without application "
	    "data", "unexpected_message (10)" },
};

START_TEST(test_record_limits)
{
	static uint8_t msg[TLSREC_MAX_SEAL];
	char want[96];
	uint8_t buf[64];
	size_t i;
	int n;

	pair_connect();
	for (i = 0; i < limit_cases[_i].count; i++) {
		if (limit_cases[_i].type == 22) {
			/* KeyUpdate(update_not_requested) */
			ck_assert_int_eq(tls_key_update(P.c, false), 0);
		} else {
			memset(msg, limit_cases[_i].fill, sizeof(msg));
			if (limit_cases[_i].len > 0)
				msg[limit_cases[_i].len - 1] =
				    limit_cases[_i].last;
			ck_assert_int_eq(tls_send_record(P.c,
			    limit_cases[_i].type, msg, limit_cases[_i].len),
			    0);
		}
		move(P.c, P.s);
		/* each record alone, as a peer trickling them would */
		if (i + 1 < limit_cases[_i].count)
			ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), 0);
	}
	ck_assert_int_eq(tls_write(P.c, (const uint8_t *)"ok", 2), 2);
	move(P.c, P.s);
	do
		n = tls_read(P.s, buf, sizeof(buf));
	while (n > 0 && limit_cases[_i].len == 16384 && memcmp(buf, "ok",
	    2) != 0);
	if (limit_cases[_i].err == NULL) {
		ck_assert_msg(n == 2 && memcmp(buf, "ok", 2) == 0,
		    "%s: %d (%s)", limit_cases[_i].name, n, tls_error(P.s));
		return;
	}
	ck_assert_int_eq(n, -1);
	ck_assert_str_eq(tls_error(P.s), limit_cases[_i].err);
	/* the fatal alert reaches the client, with the right code */
	move(P.s, P.c);
	ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), -1);
	snprintf(want, sizeof(want), "tls: peer sent alert %s",
	    limit_cases[_i].alert);
	ck_assert_str_eq(tls_error(P.c), want);
}
END_TEST

/*
 * Issue 13 item 1: a peer that asks for KeyUpdates and never reads.
 * However many requests arrive before our output is taken, one answer
 * is queued (RFC 8446 4.6.3); the keys stay in step both ways.
 */
START_TEST(test_key_update_flood)
{
	uint8_t buf[64];
	size_t i, one = 0;
	int n;

	pair_connect();
	for (i = 0; i < 3000; i++) {
		ck_assert_int_eq(tls_key_update(P.c, true), 0);
		/* data now and then keeps under the in-a-row cap */
		if (i % 16 == 15)
			ck_assert_int_eq(tls_write(P.c,
			    (const uint8_t *)"x", 1), 1);
		move(P.c, P.s);
		while ((n = tls_read(P.s, buf, sizeof(buf))) > 0)
			;
		ck_assert_msg(n == 0, "%zu: %s", i, tls_error(P.s));
		if (i == 0)
			one = tls_pending_output(P.s);
		ck_assert_uint_eq(tls_pending_output(P.s), one);
	}
	ck_assert_uint_eq(one, 5 + TLSREC_OVERHEAD);
	ck_assert_uint_eq(tls_key_updates(P.s), 3000);
	/* the one answer moves the client's read key; data still flows */
	ck_assert_int_eq(tls_write(P.s, (const uint8_t *)"ok", 2), 2);
	move(P.s, P.c);
	n = tls_read(P.c, buf, sizeof(buf));
	ck_assert_msg(n == 2 && memcmp(buf, "ok", 2) == 0, "%d: %s", n,
	    tls_error(P.c));
	/* a request after the answer left gets a new answer */
	ck_assert_int_eq(tls_key_update(P.c, true), 0);
	move(P.c, P.s);
	ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(tls_pending_output(P.s), one);
}
END_TEST

/*
 * Issue 13 item 1 where wolfSSL keeps the records (no offload): wolfSSL
 * answers each request at once and cannot share answers, so a peer that
 * asks and never reads is cut off at TLS_WOLF_OUTPUT_MAX queued bytes.
 * Requests whose answers are taken keep the keys in step.
 */
START_TEST(test_key_update_flood_wolfssl)
{
	uint8_t buf[64];
	size_t i;
	int n;

	pair_connect();
	ck_assert(!tls_offloaded(P.c) && !tls_offloaded(P.s));
	for (i = 0; i < 30; i++) {
		ck_assert_int_eq(tls_key_update(P.c, true), 0);
		move(P.c, P.s);
		ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), 0);
		ck_assert_uint_gt(tls_pending_output(P.s), 0);
		move(P.s, P.c);
		ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), 0);
	}
	transfer(P.c, P.s, 20000);
	transfer(P.s, P.c, 20000);
	/* now the server's answers are never taken */
	for (i = 0; i < 100000 && tls_status(P.s) == TLS_DONE; i++) {
		ck_assert_int_eq(tls_key_update(P.c, true), 0);
		if (i % 16 == 15)
			ck_assert_int_eq(tls_write(P.c,
			    (const uint8_t *)"x", 1), 1);
		move(P.c, P.s);
		while ((n = tls_read(P.s, buf, sizeof(buf))) > 0)
			;
		ck_assert_uint_le(tls_pending_output(P.s),
		    TLS_WOLF_OUTPUT_MAX);
	}
	ck_assert_int_eq(tls_status(P.s), TLS_FAILED);
	ck_assert_msg(strncmp(tls_error(P.s), "tls: over ", 10) == 0, "%s",
	    tls_error(P.s));
	ck_assert_uint_gt(tls_pending_output(P.s), TLS_WOLF_OUTPUT_MAX -
	    1024);
}
END_TEST

/*
 * Where wolfSSL keeps the records: at most 68 records in a row without
 * application data (the sum of tlsrec's caps on empty records, warning
 * alerts and post-handshake messages), here KeyUpdate requests whose
 * answers are read, one record each.
 */
START_TEST(test_idle_records_wolfssl)
{
	uint8_t buf[64];
	size_t i;
	int n = 0;

	pair_connect();
	for (i = 0; i < 68; i++) {
		ck_assert_int_eq(tls_key_update(P.c, true), 0);
		move(P.c, P.s);
		ck_assert_msg(tls_read(P.s, buf, sizeof(buf)) == 0, "%zu: %s",
		    i, tls_error(P.s));
		move(P.s, P.c);
		ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), 0);
	}
	ck_assert_int_eq(tls_write(P.c, (const uint8_t *)"ok", 2), 2);
	move(P.c, P.s);
	ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), 2);
	/* the client counts the 68 answers too */
	ck_assert_int_eq(tls_write(P.s, (const uint8_t *)"ok", 2), 2);
	move(P.s, P.c);
	ck_assert_int_eq(tls_read(P.c, buf, sizeof(buf)), 2);
	/* the run starts again after data; 70 records without any fail */
	for (i = 0; i < 100 && n == 0; i++) {
		ck_assert_int_eq(tls_key_update(P.c, true), 0);
		move(P.c, P.s);
		n = tls_read(P.s, buf, sizeof(buf));
		move(P.s, P.c);
		(void)tls_read(P.c, buf, sizeof(buf));
	}
	ck_assert_int_eq(n, -1);
	ck_assert_uint_eq(i, 70);
	ck_assert_int_eq(tls_status(P.s), TLS_FAILED);
	ck_assert_str_eq(tls_error(P.s), "tls: more than 68 records in a row "
	    "without application data");
}
END_TEST

/* Raw, unprotected or oversized record headers after the handshake. */
static const struct {
	uint8_t hdr[5];
	const char *err;
} raw_cases[] = {
	{ { 22, 3, 3, 0, 40 },
	    "tls: unprotected record of type 22 after the handshake" },
	{ { 23, 3, 1, 0, 40 }, "tls: record version 0301, expected 0303" },
	{ { 23, 3, 3, 0x41, 0x01 },
	    "tls: record of 16641 bytes exceeds the 16640-byte limit" },
	{ { 23, 3, 3, 0, 16 },
	    "tls: record of 16 bytes is shorter than its tag" },
};

START_TEST(test_raw_headers)
{
	uint8_t buf[64];

	pair_connect();
	ck_assert_uint_eq(tls_feed(P.s, raw_cases[_i].hdr, 5), 5);
	ck_assert_int_eq(tls_read(P.s, buf, sizeof(buf)), -1);
	ck_assert_str_eq(tls_error(P.s), raw_cases[_i].err);
	/* the fatal alert goes back */
	ck_assert_uint_gt(tls_pending_output(P.s), 0);
}
END_TEST

/*
 * Sessions presenting certificates from tlscert_build() variants: who
 * presents the bad one, and what the verifier must say.
 */
struct badcert {
	const char *name;
	struct tlscert_params p;
	bool wrong_signer;	/* SignedKey signed by another identity */
	bool server_presents;	/* else the client presents it */
	const char *err;	/* NULL = handshake must succeed */
	/*
	 * Has a critical extension: a wolfSSL without
	 * WOLFSSL_NO_ASN_STRICT (stock Debian 5.5.4) fails it with -160
	 * before our verifier runs (docs/tls.md).
	 */
	bool crit;
};

static const char wolf_crit[] =
    "tls: handshake failed: X.509 Critical extension";

static const struct badcert presented[] = {
	{ "server critical libp2p ext (js/rust style)",
	    { .libp2p_critical = true }, false, true, NULL, true },
	{ "client critical libp2p ext (js/rust style)",
	    { .libp2p_critical = true }, false, false, NULL, true },
	{ "server unknown critical ext",
	    { .extra_critical_ext = true }, false, true,
	    "tls: unknown critical extension 1.2.3.4", true },
	{ "client unknown critical ext",
	    { .extra_critical_ext = true }, false, false,
	    "tls: unknown critical extension 1.2.3.4", true },
	{ "server critical libp2p ext, wrong signer",
	    { .libp2p_critical = true }, true, true,
	    "tls: certificate extension signature invalid", true },
	{ "client critical libp2p ext, wrong signer",
	    { .libp2p_critical = true }, true, false,
	    "tls: certificate extension signature invalid", true },
	{ "server critical libp2p ext twice",
	    { .libp2p_critical = true, .duplicate_libp2p_ext = true },
	    false, true, "tls: duplicate libp2p public key extension", true },
	{ "client missing ext", { .omit_libp2p_ext = true }, false, false,
	    "tls: certificate has no libp2p public key extension", false },
	{ "server wrong ext signer", { .now = 0 }, true, true,
	    "tls: certificate extension signature invalid", false },
	{ "client expired", { .set_validity = true }, false, false,
	    "tls: certificate expired", false },
	{ "server extra non-critical ext",
	    { .extra_noncritical_ext = true }, false, true, NULL, false },
};

START_TEST(test_presented_certs)
{
	const struct badcert *bc = &presented[_i];
	struct tlscert_params p = bc->p;
	struct identity *other = identity_generate(KEY_ED25519);
	struct tls_session *bad, *victim;
	const struct identity *presenter;
	const char *want = bc->err;
	uint8_t *cert, *key;
	size_t certlen, keylen;
	char err[256] = "";

	if (bc->crit && !tls_critical_ext_supported())
		want = wolf_crit;
	p.now = time(NULL);
	if (bc->wrong_signer)
		p.ext_signer = other;
	if (p.set_validity) {
		p.not_before = p.now - 7200;
		p.not_after = p.now - 3600;
	}
	presenter = bc->server_presents ? P.sid : P.cid;
	ck_assert_int_eq(tlscert_build(presenter, &p, &cert, &certlen, &key,
	    &keylen), 0);
	bad = tls_session_new_cert(bc->server_presents ? TLS_SERVER :
	    TLS_CLIENT, cert, certlen, key, keylen, err, sizeof(err));
	ck_assert_msg(bad != NULL, "%s", err);
	free(cert);
	tlscert_free_key(key, keylen);
	if (bc->server_presents) {
		tls_session_free(P.s);
		P.s = bad;
		victim = P.c;
	} else {
		tls_session_free(P.c);
		P.c = bad;
		victim = P.s;
	}
	/* the client dials the server's peer ID, as peerlock does */
	tls_expect_peer(P.c, identity_peer_id(P.sid));
	pump_handshake(P.c, P.s);
	if (want == NULL) {
		ck_assert_msg(tls_status(P.c) == TLS_DONE, "%s: client %s",
		    bc->name, tls_error(P.c));
		ck_assert_msg(tls_status(P.s) == TLS_DONE, "%s: server %s",
		    bc->name, tls_error(P.s));
		ck_assert(peer_id_equal(pubkey_peer_id(tls_remote_key(P.c)),
		    identity_peer_id(P.sid)));
		ck_assert(peer_id_equal(pubkey_peer_id(tls_remote_key(P.s)),
		    identity_peer_id(P.cid)));
		ck_assert(peer_id_equal(pubkey_peer_id(tls_remote_key(victim)),
		    identity_peer_id(presenter)));
		transfer(P.c, P.s, 100);
		transfer(P.s, P.c, 100);
	} else {
		ck_assert_int_eq(tls_status(victim), TLS_FAILED);
		ck_assert_msg(strncmp(tls_error(victim), want,
		    strlen(want)) == 0, "%s: got \"%s\"", bc->name,
		    tls_error(victim));
		ck_assert_int_eq(tls_fail_kind(victim), TLS_FAIL_IDENTITY);
		ck_assert_ptr_null(tls_remote_key(victim));
		if (victim == P.c) {
			/* the server (presenter) never completes */
			ck_assert_int_ne(tls_status(P.s), TLS_DONE);
		} else {
			uint8_t buf[64];

			/*
			 * TLS 1.3: the client finishes first; the server's
			 * alert then fails the client's next read.  Stock
			 * wolfSSL aborts on a critical extension without
			 * sending any alert, so nothing arrives.
			 */
			move(P.s, P.c);
			if (tls_status(P.c) == TLS_DONE)
				ck_assert_int_eq(tls_read(P.c, buf,
				    sizeof(buf)), want == wolf_crit ? 0 : -1);
			ck_assert_int_eq(tls_status(P.c), want == wolf_crit ?
			    TLS_DONE : TLS_FAILED);
		}
	}
	identity_free(other);
}
END_TEST

/*
 * Inlined muxer negotiation in ALPN (tls.md 3): what each side offers or
 * accepts before "libp2p" ("-" for no ALPN extension at all), whether
 * the handshake succeeds, the agreed muxer and what each side learns of
 * the other's muxers.
 */
struct alpn_case {
	const char *c[3], *s[3];	/* NULL-ended; {"-"}: omit ALPN */
	bool ok;
	const char *muxer;		/* agreed on both sides, or NULL */
	bool c_sees, s_sees;		/* tls_peer_offered_muxer() */
};

#define YMX "/yamux/1.0.0"
static const struct alpn_case alpn_cases[] = {
	{ { NULL }, { NULL }, true, NULL, false, false },
	/* a client that sends no ALPN at all is accepted, as before */
	{ { "-" }, { NULL }, true, NULL, false, false },
	{ { "-" }, { YMX }, true, NULL, false, false },
	{ { YMX }, { YMX }, true, YMX, true, true },
	{ { YMX }, { NULL }, true, NULL, false, true },
	{ { NULL }, { YMX }, true, NULL, false, false },
	/* the client's order wins */
	{ { "/a", YMX }, { YMX, "/a" }, true, "/a", true, true },
	{ { YMX, "/a" }, { "/a", YMX }, true, YMX, true, true },
	{ { "/a" }, { "/b" }, true, NULL, false, true },
	/* a server that answers no ALPN is not a libp2p peer */
	{ { NULL }, { "-" }, false, NULL, false, false },
	{ { YMX }, { "-" }, false, NULL, false, false },
};

/* Count a NULL-ended id list. */
static size_t
alpn_count(const char *const *ids)
{
	size_t n = 0;

	while (n < 3 && ids[n] != NULL)
		n++;
	return n;
}

/* Configure one side of an ALPN case. */
static void
alpn_side(struct tls_session *t, const char *const *ids)
{
	if (ids[0] != NULL && strcmp(ids[0], "-") == 0)
		tls_omit_alpn(t);
	else
		ck_assert_int_eq(tls_set_muxers(t, ids, alpn_count(ids)), 0);
}

START_TEST(test_alpn_muxers)
{
	const struct alpn_case *k = &alpn_cases[_i];

	alpn_side(P.c, k->c);
	alpn_side(P.s, k->s);
	tls_expect_peer(P.c, identity_peer_id(P.sid));
	pump_handshake(P.c, P.s);
	if (!k->ok) {
		ck_assert_int_eq(tls_status(P.c), TLS_FAILED);
		ck_assert_str_eq(tls_error(P.c), "tls: the server selected no "
		    "ALPN protocol (we offered \"libp2p\")");
		return;
	}
	ck_assert_msg(tls_status(P.c) == TLS_DONE, "client: %s",
	    tls_error(P.c));
	ck_assert_msg(tls_status(P.s) == TLS_DONE, "server: %s",
	    tls_error(P.s));
	if (k->muxer == NULL) {
		ck_assert_ptr_null(tls_muxer(P.c));
		ck_assert_ptr_null(tls_muxer(P.s));
	} else {
		ck_assert_pstr_eq(tls_muxer(P.c), k->muxer);
		ck_assert_pstr_eq(tls_muxer(P.s), k->muxer);
	}
	ck_assert_int_eq(tls_peer_offered_muxer(P.c), k->c_sees);
	ck_assert_int_eq(tls_peer_offered_muxer(P.s), k->s_sees);
	transfer(P.c, P.s, 1000);
}
END_TEST

/* tls_set_muxers() refuses bad ids and calls after the handshake began. */
START_TEST(test_alpn_set_muxers_args)
{
	static const char *const comma[] = { "/a,b" };
	static const char *const base[] = { "libp2p" };
	static const char *const empty[] = { "" };
	static const char *const nul[] = { NULL };
	static const char *const ok[] = { YMX };
	static char big[TLS_MUXER_ID_MAX + 2];
	const char *const bigl[] = { big };
	const char *many[TLS_MUXERS_MAX + 1];
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	for (i = 0; i <= TLS_MUXERS_MAX; i++)
		many[i] = YMX;
	ck_assert_int_eq(tls_set_muxers(P.c, comma, 1), -1);
	ck_assert_int_eq(tls_set_muxers(P.c, base, 1), -1);
	ck_assert_int_eq(tls_set_muxers(P.c, empty, 1), -1);
	ck_assert_int_eq(tls_set_muxers(P.c, nul, 1), -1);
	ck_assert_int_eq(tls_set_muxers(P.c, bigl, 1), -1);
	big[TLS_MUXER_ID_MAX] = '\0';
	ck_assert_int_eq(tls_set_muxers(P.c, bigl, 1), 0);
	ck_assert_int_eq(tls_set_muxers(P.c, many, TLS_MUXERS_MAX + 1), -1);
	ck_assert_int_eq(tls_set_muxers(P.c, ok, 1), 0);
	(void)tls_handshake(P.c);
	ck_assert_int_eq(tls_set_muxers(P.c, ok, 1), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("session");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_data_both_ways);
	tcase_add_loop_test(tc, test_alpn_muxers, 0,
	    (int)(sizeof(alpn_cases) / sizeof(alpn_cases[0])));
	tcase_add_test(tc, test_alpn_set_muxers_args);
	tcase_add_test(tc, test_input_bound);
	tcase_add_test(tc, test_output_backpressure);
	tcase_add_test(tc, test_close_notify);
	tcase_add_test(tc, test_wrong_peer_id);
	tcase_add_test(tc, test_tampered_record);
	if (tls_offload_supported()) {
		tcase_add_test(tc, test_offloaded);
		tcase_add_loop_test(tc, test_mixed_record_layers, 0, 12);
		tcase_add_test(tc, test_inplace_records);
		tcase_add_loop_test(tc, test_post_handshake, 0,
		    (int)(sizeof(ph_cases) / sizeof(ph_cases[0])));
		tcase_add_test(tc, test_key_update_flood);
		tcase_add_loop_test(tc, test_record_limits, 0,
		    (int)(sizeof(limit_cases) / sizeof(limit_cases[0])));
		tcase_add_loop_test(tc, test_raw_headers, 0,
		    (int)(sizeof(raw_cases) / sizeof(raw_cases[0])));
	} else {
		tcase_add_loop_test(tc, test_wolfssl_records, 0, 3);
		tcase_add_test(tc, test_key_update_flood_wolfssl);
		tcase_add_test(tc, test_idle_records_wolfssl);
		fprintf(stderr, "test_tls: SKIP %zu checks: this wolfSSL "
		    "lacks HAVE_SECRET_CALLBACK (Debian's stock build), so "
		    "the records stay in wolfSSL and our record layer "
		    "(tlsrec) is not in the path: test_offloaded (1), "
		    "test_mixed_record_layers (12; its 3 wolfSSL-only "
		    "cells run as test_wolfssl_records), "
		    "test_inplace_records (1), test_post_handshake (%zu), "
		    "test_key_update_flood (1; "
		    "test_key_update_flood_wolfssl runs instead), "
		    "test_record_limits (%zu), test_raw_headers (%zu).  "
		    "contrib/build-wolfssl.sh builds a wolfSSL with it.\n",
		    (size_t)15 + sizeof(ph_cases) / sizeof(ph_cases[0]) +
		    sizeof(limit_cases) / sizeof(limit_cases[0]) +
		    sizeof(raw_cases) / sizeof(raw_cases[0]),
		    sizeof(ph_cases) / sizeof(ph_cases[0]),
		    sizeof(limit_cases) / sizeof(limit_cases[0]),
		    sizeof(raw_cases) / sizeof(raw_cases[0]));
	}
	tcase_add_loop_test(tc, test_presented_certs, 0,
	    (int)(sizeof(presented) / sizeof(presented[0])));
	suite_add_tcase(s, tc);
	if (!tls_critical_ext_supported())
		fprintf(stderr, "test_tls: NOTE: this wolfSSL lacks "
		    "WOLFSSL_NO_ASN_STRICT and rejects a critical libp2p "
		    "extension (no js/rust TLS interop): the 7 critical "
		    "cases of test_presented_certs expect its -160 failure "
		    "instead; run contrib/build-wolfssl.sh\n");
	return vec_run(s);
}
