/*
 * test_mss.c - multistream-select 1.0.0: exact bytes, dialer/listener
 * transcripts in memory, pipelining, fallback, limits and malformed input,
 * each fed whole and one byte at a time.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mss.h"
#include "vec.h"
#include "wire.h"

#define HDR_HEX "132f6d756c746973747265616d2f312e302e300a"
#define NOISE_HEX "072f6e6f6973650a"
#define TLS_HEX "0b2f746c732f312e302e300a"
#define NA_HEX "036e610a"

/* multistream-select.md section 2: every message's exact bytes. */
static const struct {
	const char *text;
	const char *hex;
} enc_table[] = {
	{ "/multistream/1.0.0", HDR_HEX },
	{ "/noise", NOISE_HEX },
	{ "/tls/1.0.0", TLS_HEX },
	{ "/yamux/1.0.0", "0d2f79616d75782f312e302e300a" },
	{ "na", NA_HEX },
	{ "ls", "036c730a" },
	{ "/mplex/6.7.0", "0d2f6d706c65782f362e372e300a" },
	{ "/ipfs/id/1.0.0", "0f2f697066732f69642f312e302e300a" },
	{ "/ipfs/ping/1.0.0", "112f697066732f70696e672f312e302e300a" },
};

/* Accumulated output of a machine across calls. */
struct sink {
	uint8_t buf[8192];
	size_t len;
};

/* Hex of a byte range, as a static string for assertions. */
static const char *
hex(const uint8_t *b, size_t len)
{
	static char s[16384];
	char *h = vec_tohex(b, len);

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_lt(strlen(h), sizeof(s));
	strcpy(s, h);
	free(h);
	return s;
}

/*
 * Feed in[0..len) to m whole or one byte per call, appending output to
 * o.  Stops at the first terminal status; *consumed is the total used.
 */
static enum mss_status
feed(struct mss *m, const uint8_t *in, size_t len, int bytewise,
    struct sink *o, size_t *consumed)
{
	uint8_t out[MSS_OUT_MAX];
	enum mss_status st = MSS_CONTINUE;
	size_t off = 0, step, used, outlen;

	do {
		step = bytewise && len - off > 0 ? 1 : len - off;
		st = mss_input(m, in + off, step, &used, out, &outlen);
		ck_assert_uint_le(used, step);
		ck_assert_uint_le(outlen, MSS_OUT_MAX);
		if (st == MSS_CONTINUE)
			ck_assert_uint_eq(used, step);
		ck_assert_uint_le(o->len + outlen, sizeof(o->buf));
		memcpy(o->buf + o->len, out, outlen);
		o->len += outlen;
		off += used;
	} while (st == MSS_CONTINUE && off < len);
	*consumed = off;
	return st;
}

START_TEST(test_encode_table)
{
	uint8_t out[64];
	size_t n;

	n = mss_encode(enc_table[_i].text, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	ck_assert_str_eq(hex(out, n), enc_table[_i].hex);
	/* One byte short of room: refused. */
	ck_assert_uint_eq(mss_encode(enc_table[_i].text, out, n - 1), 0);
}
END_TEST

/* Invalid ids and the length boundary around MSS_MAX_MSG. */
START_TEST(test_encode_limits)
{
	static char big[MSS_MAX_MSG + 1];
	static uint8_t out[MSS_MAX_MSG + 8];
	size_t n;

	ck_assert_uint_eq(mss_encode("", out, sizeof(out)), 0);
	ck_assert_uint_eq(mss_encode("/a\nb", out, sizeof(out)), 0);
	memset(big, 'x', MSS_MAX_MSG - 1);
	big[MSS_MAX_MSG - 1] = '\0';		/* N = 1024: allowed */
	n = mss_encode(big, out, sizeof(out));
	ck_assert_uint_eq(n, 2 + MSS_MAX_MSG);
	ck_assert_uint_eq(out[0], 0x80);
	ck_assert_uint_eq(out[1], 0x08);
	ck_assert_uint_eq(out[n - 1], '\n');
	big[MSS_MAX_MSG - 1] = 'x';		/* N = 1025: refused */
	big[MSS_MAX_MSG] = '\0';
	ck_assert_uint_eq(mss_encode(big, out, sizeof(out)), 0);
}
END_TEST

/* Constructors refuse ids that could not be sent. */
START_TEST(test_new_invalid)
{
	const char *empty[] = { "/noise", "" };
	const char *nl[] = { "/no\nise" };
	const char *null[] = { NULL };
	const char *ok[] = { "/noise" };
	struct mss *m;

	ck_assert_ptr_null(mss_new_dialer(ok, 0));
	ck_assert_ptr_null(mss_new_listener(NULL, 1));
	ck_assert_ptr_null(mss_new_dialer(empty, 2));
	ck_assert_ptr_null(mss_new_listener(nl, 1));
	ck_assert_ptr_null(mss_new_dialer(null, 1));
	m = mss_new_dialer(ok, 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(mss_selected(m));
	ck_assert_str_eq(mss_error(m), "");
	mss_free(m);
	mss_free(NULL);
}
END_TEST

/* Dialer opens with header + first proposal; start is one-shot. */
START_TEST(test_dialer_start)
{
	const char *protos[] = { MSS_PROTO_TLS, MSS_PROTO_NOISE };
	uint8_t out[MSS_OUT_MAX];
	size_t outlen = 99, used;
	struct mss *d, *l;

	d = mss_new_dialer(protos, 2);
	ck_assert_int_eq(mss_start(d, out, &outlen), 0);
	ck_assert_str_eq(hex(out, outlen), HDR_HEX TLS_HEX);
	ck_assert_int_eq(mss_start(d, out, &outlen), -1);
	ck_assert_uint_eq(outlen, 0);
	mss_free(d);

	/* Input before start is a caller error, reported as a failure. */
	d = mss_new_dialer(protos, 2);
	ck_assert_int_eq(mss_input(d, out, 1, &used, out, &outlen),
	    MSS_FAILED);
	ck_assert_ptr_nonnull(strstr(mss_error(d), "before mss_start"));
	mss_free(d);

	/* A listener's start produces nothing. */
	l = mss_new_listener(protos, 2);
	outlen = 99;
	ck_assert_int_eq(mss_start(l, out, &outlen), 0);
	ck_assert_uint_eq(outlen, 0);
	mss_free(l);
}
END_TEST

/* In-memory negotiations: the whole transcript is checked. */
static const struct {
	const char *name;
	const char *dial[4];
	const char *listen[3];
	const char *selected;	/* NULL: dialer fails */
	const char *error;	/* dialer's error when it fails */
	const char *wire;	/* "D:hex L:hex ..." */
} tr_table[] = {
	{ "direct", { "/noise" }, { "/noise" }, "/noise", NULL,
	    "D:" HDR_HEX NOISE_HEX " L:" HDR_HEX NOISE_HEX },
	/* multistream-select.md section 4 example. */
	{ "na fallback", { "/tls/1.0.0", "/noise" }, { "/noise" }, "/noise",
	    NULL, "D:" HDR_HEX TLS_HEX " L:" HDR_HEX NA_HEX " D:" NOISE_HEX
	    " L:" NOISE_HEX },
	{ "dialer order wins", { "/tls/1.0.0", "/noise" },
	    { "/noise", "/tls/1.0.0" }, "/tls/1.0.0", NULL,
	    "D:" HDR_HEX TLS_HEX " L:" HDR_HEX TLS_HEX },
	{ "no common protocol", { "/tls/1.0.0", "/noise" },
	    { "/yamux/1.0.0" }, NULL,
	    "multistream: peer refused all of /tls/1.0.0 /noise",
	    "D:" HDR_HEX TLS_HEX " L:" HDR_HEX NA_HEX " D:" NOISE_HEX
	    " L:" NA_HEX },
	{ "three rounds", { "/a", "/b", "/c", "/d" }, { "/x", "/d" }, "/d",
	    NULL, "D:" HDR_HEX "032f610a L:" HDR_HEX NA_HEX " D:032f620a L:"
	    NA_HEX " D:032f630a L:" NA_HEX " D:032f640a L:032f640a" },
};

/* Count the non-NULL entries of a fixed array of ids. */
static size_t
count_ids(const char *const *ids, size_t max)
{
	size_t n = 0;

	while (n < max && ids[n] != NULL)
		n++;
	return n;
}

/* Append " X:hex" for one hop to the transcript string. */
static void
log_hop(char *wire, size_t cap, char who, const struct sink *s)
{
	size_t used = strlen(wire);

	ck_assert_uint_lt(used + 4 + 2 * s->len, cap);
	snprintf(wire + used, cap - used, "%s%c:%s", used ? " " : "", who,
	    hex(s->buf, s->len));
}

START_TEST(test_transcript)
{
	int c = _i / 2, bytewise = _i % 2;
	struct sink dout, lout;
	static char wire[8192];
	enum mss_status ds = MSS_CONTINUE, ls = MSS_CONTINUE;
	struct mss *d, *l;
	size_t used, round;

	d = mss_new_dialer(tr_table[c].dial, count_ids(tr_table[c].dial, 4));
	l = mss_new_listener(tr_table[c].listen,
	    count_ids(tr_table[c].listen, 3));
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(l);
	wire[0] = '\0';
	ck_assert_int_eq(mss_start(d, dout.buf, &dout.len), 0);
	for (round = 0; round < 10 && dout.len > 0; round++) {
		log_hop(wire, sizeof(wire), 'D', &dout);
		lout.len = 0;
		ls = feed(l, dout.buf, dout.len, bytewise, &lout, &used);
		ck_assert_uint_eq(used, dout.len);
		if (lout.len == 0)
			break;
		log_hop(wire, sizeof(wire), 'L', &lout);
		dout.len = 0;
		ds = feed(d, lout.buf, lout.len, bytewise, &dout, &used);
		ck_assert_uint_eq(used, lout.len);
	}
	ck_assert_str_eq(wire, tr_table[c].wire);
	if (tr_table[c].selected != NULL) {
		ck_assert_int_eq(ds, MSS_DONE);
		ck_assert_int_eq(ls, MSS_DONE);
		ck_assert_str_eq(mss_selected(d), tr_table[c].selected);
		ck_assert_str_eq(mss_selected(l), tr_table[c].selected);
		ck_assert_str_eq(mss_error(d), "");
	} else {
		ck_assert_int_eq(ds, MSS_FAILED);
		ck_assert_int_eq(ls, MSS_CONTINUE);	/* awaits more */
		ck_assert_ptr_null(mss_selected(d));
		ck_assert_str_eq(mss_error(d), tr_table[c].error);
		ck_assert_int_eq(mss_fail_kind(d), MSS_FAIL_NO_PROTOCOL);
	}
	mss_free(d);
	mss_free(l);
}
END_TEST

/* Listener: header + proposal + Noise bytes in one buffer. */
START_TEST(test_listener_pipelined)
{
	const char *protos[] = { MSS_PROTO_NOISE };
	uint8_t out[MSS_OUT_MAX], *in, more[4];
	size_t len, used, outlen;
	struct mss *l;

	in = vec_hex(HDR_HEX NOISE_HEX
	    "0020000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f", &len);
	ck_assert_ptr_nonnull(in);
	l = mss_new_listener(protos, 1);
	ck_assert_int_eq(mss_input(l, in, len, &used, out, &outlen),
	    MSS_DONE);
	ck_assert_uint_eq(used, 20 + 8);
	ck_assert_uint_eq(in[used], 0x00);	/* Noise frame starts here */
	ck_assert_str_eq(hex(out, outlen), HDR_HEX NOISE_HEX);
	ck_assert_str_eq(mss_selected(l), MSS_PROTO_NOISE);
	/* Done: later input is left alone. */
	ck_assert_int_eq(mss_input(l, more, sizeof(more), &used, out,
	    &outlen), MSS_DONE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(outlen, 0);
	mss_free(l);
	free(in);
}
END_TEST

/* Same, one byte per call: the byte after the proposal is not taken. */
START_TEST(test_listener_pipelined_bytewise)
{
	const char *protos[] = { MSS_PROTO_TLS, MSS_PROTO_NOISE };
	struct sink o = { .len = 0 };
	uint8_t *in;
	size_t len, used;
	struct mss *l;

	in = vec_hex(HDR_HEX TLS_HEX "16030100", &len);
	l = mss_new_listener(protos, 2);
	ck_assert_int_eq(feed(l, in, len, 1, &o, &used), MSS_DONE);
	ck_assert_uint_eq(used, 20 + 12);
	ck_assert_str_eq(hex(o.buf, o.len), HDR_HEX TLS_HEX);
	mss_free(l);
	free(in);
}
END_TEST

/* Dialer: listener header + echo + first bytes of the next layer. */
START_TEST(test_dialer_pipelined)
{
	const char *protos[] = { MSS_PROTO_NOISE };
	uint8_t out[MSS_OUT_MAX], *in;
	size_t len, used, outlen;
	struct mss *d;

	d = mss_new_dialer(protos, 1);
	ck_assert_int_eq(mss_start(d, out, &outlen), 0);
	in = vec_hex(HDR_HEX NOISE_HEX "00300102", &len);
	ck_assert_int_eq(mss_input(d, in, len, &used, out, &outlen),
	    MSS_DONE);
	ck_assert_uint_eq(used, 28);
	ck_assert_uint_eq(outlen, 0);
	ck_assert_str_eq(mss_selected(d), MSS_PROTO_NOISE);
	mss_free(d);
	free(in);
}
END_TEST

/* Dialer receives header and "na" together: next proposal goes out. */
START_TEST(test_dialer_header_and_na)
{
	const char *protos[] = { MSS_PROTO_TLS, MSS_PROTO_NOISE };
	uint8_t out[MSS_OUT_MAX], *in;
	size_t len, used, outlen;
	struct mss *d;

	d = mss_new_dialer(protos, 2);
	ck_assert_int_eq(mss_start(d, out, &outlen), 0);
	in = vec_hex(HDR_HEX NA_HEX, &len);
	ck_assert_int_eq(mss_input(d, in, len, &used, out, &outlen),
	    MSS_CONTINUE);
	ck_assert_uint_eq(used, len);
	ck_assert_str_eq(hex(out, outlen), NOISE_HEX);
	mss_free(d);
	free(in);
}
END_TEST

/* Malformed input to a listener (whole and byte-at-a-time). */
static const struct {
	const char *name;
	const char *in;		/* hex */
	const char *error;	/* exact mss_error() */
	const char *error_bw;	/* when fed bytewise, if different */
} bad_l[] = {
	{ "non-minimal varint", "8100",
	    "multistream: non-minimal length prefix 81 00", NULL },
	{ "non-minimal after header", HDR_HEX "8000",
	    "multistream: non-minimal length prefix 80 00", NULL },
	{ "huge length", "f0a204",
	    "multistream: message length 70000 exceeds 1024",
	    "multistream: length prefix longer than 2 bytes (message length "
	    "> 16383 exceeds 1024)" },
	{ "overlong varint", "ffffffffffffffffff01",
	    "multistream: length prefix longer than 2 bytes (message length "
	    "> 16383 exceeds 1024)", NULL },
	{ "length 1025", "8108",
	    "multistream: message length 1025 exceeds 1024", NULL },
	{ "length 16383", "ff7f",
	    "multistream: message length 16383 exceeds 1024", NULL },
	{ "length 0", "00", "multistream: message length 0", NULL },
	{ "empty message", HDR_HEX "010a", "multistream: empty message",
	    NULL },
	{ "short first message", "010a",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 1 starting \"\\x01\\x0a\"",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 1 starting \"\\x01\"" },
	{ "missing newline", "132f6d756c746973747265616d2f312e302e3078",
	    "multistream: message of 19 bytes lacks trailing newline: "
	    "\"/multistream/1.0.0x\"", NULL },
	{ "interior newline", HDR_HEX "05610a62630a",
	    "multistream: message contains an interior newline: "
	    "\"a\\x0abc\"", NULL },
	{ "no header", NOISE_HEX,
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 7 starting \"\\x07/noise"
	    "\\x0a\"",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 7 starting \"\\x07\"" },
	{ "http probe", "474554202f20485454502f312e310d0a",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 71 starting \"GET / "
	    "HTTP/1.1\\x0d\\x0a\"",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 71 starting \"G\"" },
	{ "escaped garbage", "131b5b316d" "4141414141414141414141414141" "0a",
	    "multistream: expected header \"/multistream/1.0.0\" from "
	    "dialer, received \"\\x1b[1mAAAAAAAAAAAAAA\"", NULL },
	{ "quote escaped", "13612262" "414141414141414141414141414141" "0a",
	    "multistream: expected header \"/multistream/1.0.0\" from "
	    "dialer, received \"a\\x22bAAAAAAAAAAAAAAA\"", NULL },
	/* A TLS record: the escaped text is cut at MSS_ESC_MAX. */
	{ "tls client hello", "1e" "0301020001000101fc0303"
	    "00000000000000000000000000000000000000",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 30 starting \"\\x1e\\x03"
	    "\\x01\\x02\\x00\\x01\\x00\\x01\\x01\\xfc\\x03\\x03"
	    "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
	    "\\x00...\"",
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 30 starting \"\\x1e\"" },
};

START_TEST(test_listener_bad)
{
	const char *protos[] = { MSS_PROTO_NOISE };
	int c = _i / 2, bytewise = _i % 2;
	struct sink o = { .len = 0 };
	const char *want;
	uint8_t *in;
	size_t len, used;
	struct mss *l;

	in = vec_hex(bad_l[c].in, &len);
	ck_assert_ptr_nonnull(in);
	l = mss_new_listener(protos, 1);
	ck_assert_int_eq(feed(l, in, len, bytewise, &o, &used), MSS_FAILED);
	want = bytewise && bad_l[c].error_bw ? bad_l[c].error_bw :
	    bad_l[c].error;
	ck_assert_str_eq(mss_error(l), want);
	ck_assert_int_eq(mss_fail_kind(l), MSS_FAIL_MALFORMED);
	ck_assert_ptr_null(mss_selected(l));
	mss_free(l);
	free(in);
}
END_TEST

/* Malformed or unexpected answers to a dialer of {/tls, /noise}. */
static const struct {
	const char *name;
	const char *in;
	const char *error;
} bad_d[] = {
	{ "answer before header", NA_HEX,
	    "multistream: expected header \"/multistream/1.0.0\" (length "
	    "19), received a message of length 3 starting \"\\x03na\\x0a\"" },
	{ "wrong 19-byte header", "13" "2f6d756c746973747265616d2f322e302e30" "0a",
	    "multistream: expected header \"/multistream/1.0.0\" from "
	    "listener, received \"/multistream/2.0.0\"" },
	{ "unexpected answer", HDR_HEX NOISE_HEX,
	    "multistream: expected \"/tls/1.0.0\" or \"na\" in answer to "
	    "proposal, received \"/noise\"" },
	{ "header twice", HDR_HEX HDR_HEX,
	    "multistream: expected \"/tls/1.0.0\" or \"na\" in answer to "
	    "proposal, received \"/multistream/1.0.0\"" },
	{ "data after na", HDR_HEX NA_HEX NOISE_HEX,
	    "multistream: listener sent more data after \"na\" before "
	    "seeing proposal \"/noise\"" },
	{ "na to everything", HDR_HEX NA_HEX NA_HEX,
	    "multistream: listener sent more data after \"na\" before "
	    "seeing proposal \"/noise\"" },
	{ "huge length", HDR_HEX "f0a204",
	    "multistream: message length 70000 exceeds 1024" },
	{ "missing newline", HDR_HEX "036e6178",
	    "multistream: message of 3 bytes lacks trailing newline: "
	    "\"nax\"" },
};

START_TEST(test_dialer_bad)
{
	const char *protos[] = { MSS_PROTO_TLS, MSS_PROTO_NOISE };
	uint8_t out[MSS_OUT_MAX], *in;
	size_t len, used, outlen;
	struct mss *d;

	in = vec_hex(bad_d[_i].in, &len);
	ck_assert_ptr_nonnull(in);
	d = mss_new_dialer(protos, 2);
	ck_assert_int_eq(mss_start(d, out, &outlen), 0);
	ck_assert_int_eq(mss_input(d, in, len, &used, out, &outlen),
	    MSS_FAILED);
	ck_assert_str_eq(mss_error(d), bad_d[_i].error);
	ck_assert_ptr_null(mss_selected(d));
	/* Failed is final. */
	ck_assert_int_eq(mss_input(d, in, len, &used, out, &outlen),
	    MSS_FAILED);
	ck_assert_uint_eq(used, 0);
	mss_free(d);
	free(in);
}
END_TEST

/* "ls", "na" and a repeated header get "na"; the listener goes on. */
START_TEST(test_listener_ls_na)
{
	const char *protos[] = { MSS_PROTO_NOISE };
	struct sink o = { .len = 0 };
	uint8_t *in;
	size_t len, used;
	struct mss *l;

	in = vec_hex(HDR_HEX "036c730a" NA_HEX HDR_HEX NOISE_HEX, &len);
	l = mss_new_listener(protos, 1);
	ck_assert_int_eq(feed(l, in, len, _i, &o, &used), MSS_DONE);
	ck_assert_uint_eq(used, len);
	ck_assert_str_eq(hex(o.buf, o.len),
	    HDR_HEX NA_HEX NA_HEX NA_HEX NOISE_HEX);
	mss_free(l);
	free(in);
}
END_TEST

/* The listener answers MSS_MAX_NA unknown proposals, then gives up. */
START_TEST(test_listener_round_limit)
{
	const char *protos[] = { MSS_PROTO_NOISE };
	uint8_t in[1024], out[MSS_OUT_MAX];
	size_t len = 0, used, outlen, i;
	struct mss *l;

	len = mss_encode(MSS_PROTO_HEADER, in, sizeof(in));
	for (i = 0; i < MSS_MAX_NA + 1; i++)
		len += mss_encode("/unknown", in + len, sizeof(in) - len);
	len += mss_encode(MSS_PROTO_NOISE, in + len, sizeof(in) - len);
	l = mss_new_listener(protos, 1);
	ck_assert_int_eq(mss_input(l, in, len, &used, out, &outlen),
	    MSS_FAILED);
	ck_assert_str_eq(mss_error(l), "multistream: no common protocol "
	    "after 17 proposals, last \"/unknown\"");
	ck_assert_int_eq(mss_fail_kind(l), MSS_FAIL_NO_PROTOCOL);
	ck_assert_uint_eq(outlen, 20 + 4 * MSS_MAX_NA);
	mss_free(l);

	/* With exactly MSS_MAX_NA misses the next proposal still works. */
	len = mss_encode(MSS_PROTO_HEADER, in, sizeof(in));
	for (i = 0; i < MSS_MAX_NA; i++)
		len += mss_encode("/unknown", in + len, sizeof(in) - len);
	len += mss_encode(MSS_PROTO_NOISE, in + len, sizeof(in) - len);
	l = mss_new_listener(protos, 1);
	ck_assert_int_eq(mss_input(l, in, len, &used, out, &outlen),
	    MSS_DONE);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(outlen, 20 + 4 * MSS_MAX_NA + 8);
	mss_free(l);
}
END_TEST

/* A 1023-byte id (N = 1024, the maximum) is read and selected. */
START_TEST(test_max_length_id)
{
	static char id[MSS_MAX_MSG];
	const char *protos[] = { id };
	struct sink o = { .len = 0 };
	static uint8_t in[2 * MSS_MAX_MSG];
	size_t len, used;
	struct mss *l;

	id[0] = '/';
	memset(id + 1, 'p', MSS_MAX_MSG - 2);
	id[MSS_MAX_MSG - 1] = '\0';
	len = mss_encode(MSS_PROTO_HEADER, in, sizeof(in));
	len += mss_encode(id, in + len, sizeof(in) - len);
	l = mss_new_listener(protos, 1);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(feed(l, in, len, _i, &o, &used), MSS_DONE);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(o.len, 20 + 2 + MSS_MAX_MSG);
	ck_assert_mem_eq(o.buf + 20, in + 20, 2 + MSS_MAX_MSG);
	ck_assert_ptr_eq(mss_selected(l), id);
	mss_free(l);
}
END_TEST

/* log_escape: what peer text looks like in error messages. */
static const struct {
	const char *in;
	size_t len;
	size_t cap;
	const char *out;
} esc_table[] = {
	{ "abc", 3, 16, "abc" },
	{ "a\0b", 3, 16, "a\\x00b" },
	{ "\n\"\\\x7f\xff", 5, 32, "\\x0a\\x22\\x5c\\x7f\\xff" },
	{ "abcdefghij", 10, 11, "abcdefghij" },
	{ "abcdefghij", 10, 10, "abcdef..." },
	{ "\x01\x02", 2, 9, "\\x01\\x02" },
	{ "\x01\x02", 2, 8, "\\x01..." },
	{ "abc", 3, 1, "" },
	{ "", 0, 4, "" },
};

START_TEST(test_log_escape)
{
	char out[64];

	memset(out, 'Z', sizeof(out));
	ck_assert_ptr_eq(log_escape(esc_table[_i].in, esc_table[_i].len, out,
	    esc_table[_i].cap), out);
	ck_assert_str_eq(out, esc_table[_i].out);
	ck_assert_uint_lt(strlen(out), esc_table[_i].cap);
}
END_TEST

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int
main(void)
{
	Suite *s = suite_create("mss");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_encode_table, 0, NELEM(enc_table));
	tcase_add_test(tc, test_encode_limits);
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_dialer_start);
	tcase_add_loop_test(tc, test_transcript, 0, 2 * NELEM(tr_table));
	tcase_add_test(tc, test_listener_pipelined);
	tcase_add_test(tc, test_listener_pipelined_bytewise);
	tcase_add_test(tc, test_dialer_pipelined);
	tcase_add_test(tc, test_dialer_header_and_na);
	tcase_add_loop_test(tc, test_listener_bad, 0, 2 * NELEM(bad_l));
	tcase_add_loop_test(tc, test_dialer_bad, 0, NELEM(bad_d));
	tcase_add_loop_test(tc, test_listener_ls_na, 0, 2);
	tcase_add_test(tc, test_listener_round_limit);
	tcase_add_loop_test(tc, test_max_length_id, 0, 2);
	tcase_add_loop_test(tc, test_log_escape, 0, NELEM(esc_table));
	suite_add_tcase(s, tc);
	return vec_run(s);
}
