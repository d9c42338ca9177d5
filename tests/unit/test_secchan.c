/*
 * test_secchan.c - the libp2p upgrade end to end in memory: two secchans
 * (dialer and listener) exchange bytes until both are READY, then carry
 * transport frames.  Covers peer ID checks, key types, pipelining,
 * byte-at-a-time delivery and tampering.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "keys.h"
#include "noise.h"
#include "pb.h"
#include "secchan.h"
#include "tls.h"
#include "vec.h"
#include "wire.h"

#define TLS_REC_PT 16384	/* plaintext of one TLS record */

static const enum sec_proto NOISE_ONLY[] = { SEC_NOISE };
static const enum sec_proto TLS_ONLY[] = { SEC_TLS };

struct pair {
	struct identity *di, *li;
	struct secchan_cred *dc, *lc;
	struct secchan *d, *l;
	uint8_t d2l[1 << 17], l2d[1 << 17];	/* queued wire bytes */
	size_t nd2l, nl2d;
};

/*
 * Set up a dialer proposing dp[0..nd) and expecting `expect` (NULL: the
 * listener's real id), and a listener accepting lp[0..nl); not started.
 */
static void
pair_setup(struct pair *p, enum key_type dt, enum key_type lt,
    const struct peer_id *expect, const enum sec_proto *dp, size_t nd,
    const enum sec_proto *lp, size_t nl)
{
	memset(p, 0, sizeof(*p));
	p->di = identity_generate(dt);
	p->li = identity_generate(lt);
	ck_assert_ptr_nonnull(p->di);
	ck_assert_ptr_nonnull(p->li);
	p->dc = secchan_cred_new(p->di);
	p->lc = secchan_cred_new(p->li);
	ck_assert_ptr_nonnull(p->dc);
	ck_assert_ptr_nonnull(p->lc);
	p->d = secchan_new(SECCHAN_DIALER, p->dc, dp, nd,
	    expect != NULL ? expect : identity_peer_id(p->li));
	p->l = secchan_new(SECCHAN_LISTENER, p->lc, lp, nl, NULL);
	ck_assert_ptr_nonnull(p->d);
	ck_assert_ptr_nonnull(p->l);
}

/* Start the dialer of a set-up pair: its first bytes queue in d2l. */
static void
pair_start(struct pair *p)
{
	size_t n;

	ck_assert_int_eq(secchan_start(p->d, p->d2l, &n), 0);
	p->nd2l = n;
}

/* pair_setup(), then pair_start(). */
static void
pair_init_protos(struct pair *p, enum key_type dt, enum key_type lt,
    const struct peer_id *expect, const enum sec_proto *dp, size_t nd,
    const enum sec_proto *lp, size_t nl)
{
	pair_setup(p, dt, lt, expect, dp, nd, lp, nl);
	pair_start(p);
}

/* A Noise-only pair. */
static void
pair_init(struct pair *p, enum key_type dt, enum key_type lt,
    const struct peer_id *expect)
{
	pair_init_protos(p, dt, lt, expect, NOISE_ONLY, 1, NOISE_ONLY, 1);
}

/* A TLS-only pair. */
static void
pair_init_tls(struct pair *p, enum key_type dt, enum key_type lt,
    const struct peer_id *expect)
{
	pair_init_protos(p, dt, lt, expect, TLS_ONLY, 1, TLS_ONLY, 1);
}

/*
 * A new Noise-only upgrade on p's dialer credentials against a listener
 * on lc whose peer ID is lid: the next connection of the same nodes.
 */
static void
pair_renew(struct pair *p, const struct secchan_cred *lc,
    const struct peer_id *lid)
{
	secchan_free(p->d);
	secchan_free(p->l);
	p->d = secchan_new(SECCHAN_DIALER, p->dc, NOISE_ONLY, 1, lid);
	p->l = secchan_new(SECCHAN_LISTENER, lc, NOISE_ONLY, 1, NULL);
	ck_assert_ptr_nonnull(p->d);
	ck_assert_ptr_nonnull(p->l);
	ck_assert_int_eq(secchan_start(p->d, p->d2l, &p->nd2l), 0);
	p->nl2d = 0;
}

/* Free a pair. */
static void
pair_free(struct pair *p)
{
	secchan_free(p->d);
	secchan_free(p->l);
	secchan_cred_free(p->dc);
	secchan_cred_free(p->lc);
	identity_free(p->di);
	identity_free(p->li);
}

/*
 * Let chunk more bytes of q "arrive" and offer everything arrived so far
 * to sc (unconsumed bytes are offered again later, as a socket reader
 * would), appending sc's output to out.
 */
static enum secchan_status
deliver(struct secchan *sc, uint8_t *q, size_t *nq, size_t *arrived,
    size_t chunk, uint8_t *out, size_t *nout)
{
	uint8_t o[SECCHAN_OUT_MAX];
	size_t used, olen;
	enum secchan_status st;

	*arrived = *arrived + chunk < *nq ? *arrived + chunk : *nq;
	st = secchan_input(sc, q, *arrived, &used, o, &olen);
	memmove(q, q + used, *nq - used);
	*nq -= used;
	*arrived -= used;
	memcpy(out + *nout, o, olen);
	*nout += olen;
	return st;
}

/* Pump both ways until both are READY, one failed, or nothing moves. */
static void
pair_run(struct pair *p, size_t chunk)
{
	size_t ad = 0, al = 0;
	int rounds;

	for (rounds = 0; rounds < 200000; rounds++) {
		enum secchan_status sl, sd;

		sl = deliver(p->l, p->d2l, &p->nd2l, &ad, chunk, p->l2d,
		    &p->nl2d);
		sd = deliver(p->d, p->l2d, &p->nl2d, &al, chunk, p->d2l,
		    &p->nd2l);
		if (sl == SECCHAN_FAILED || sd == SECCHAN_FAILED)
			return;
		if (sl == SECCHAN_READY && sd == SECCHAN_READY)
			return;
		if (p->nd2l == 0 && p->nl2d == 0)
			return;
	}
}

/* Assert both ends of a pair finished the handshake. */
static void
pair_assert_ready(const struct pair *p)
{
	ck_assert_int_eq(secchan_status(p->d), SECCHAN_READY);
	ck_assert_int_eq(secchan_status(p->l), SECCHAN_READY);
}

/* Seal msg on `from`, open on `to`, compare. */
static void
roundtrip(struct secchan *from, struct secchan *to, size_t len)
{
	uint8_t *pt = malloc(len + 1), *wire, *back;
	size_t off = 0, woff = 0, used, need, total = 0;
	int n;

	randombytes_buf(pt, len);
	wire = malloc(len + (len / SECCHAN_SEAL_MAX + 1) * 18 + 18);
	back = malloc(SECCHAN_SEAL_MAX);
	do {
		size_t k = len - off > SECCHAN_SEAL_MAX ? SECCHAN_SEAL_MAX :
		    len - off;
		n = secchan_seal(from, pt + off, k, wire + woff,
		    SECCHAN_SEALED_MAX);
		ck_assert_int_eq(n, (int)(k + 18));
		off += k;
		woff += (size_t)n;
	} while (off < len);
	off = 0;
	while (off < woff) {
		n = secchan_open(to, wire + off, woff - off, &used, &need, back,
		    SECCHAN_SEAL_MAX);
		ck_assert_int_ge(n, 0);
		ck_assert_uint_gt(used, 0);
		ck_assert_mem_eq(back, pt + total, (size_t)n);
		total += (size_t)n;
		off += used;
	}
	ck_assert_uint_eq(total, len);
	free(pt);
	free(wire);
	free(back);
}

/*
 * Open everything in wire[0..wlen) on `to` the way conn does (room, then
 * open into exactly that space), appending plaintext to back.  Returns
 * the plaintext length, or -1 on an open failure.
 */
static long
drain_open(struct secchan *to, const uint8_t *wire, size_t wlen,
    uint8_t *back)
{
	size_t off = 0, total = 0, room, inlen, used, need;
	int n;

	for (;;) {
		room = secchan_open_room(to, wire + off, wlen - off, &inlen);
		if (room == 0)
			break;
		n = secchan_open(to, wire + off, inlen, &used, &need,
		    back + total, room);
		if (n < 0)
			return -1;
		ck_assert_uint_le((size_t)n, room);
		total += (size_t)n;
		off += used;
		if (n == 0 && used == 0)
			break;
	}
	ck_assert_uint_eq(off, wlen);
	return (long)total;
}

/* Seal len random bytes on `from` in conn-sized chunks, open on `to`. */
static void
roundtrip_any(struct secchan *from, struct secchan *to, size_t len)
{
	uint8_t *pt = malloc(len + 1), *wire, *back;
	size_t off = 0, woff = 0, cap;
	int n;

	randombytes_buf(pt, len);
	cap = (len / SECCHAN_SEAL_MAX + 1) * SECCHAN_SEALED_MAX;
	wire = malloc(cap);
	back = malloc(len + 1);
	do {
		size_t k = len - off > SECCHAN_SEAL_MAX ? SECCHAN_SEAL_MAX :
		    len - off;
		ck_assert_uint_le(secchan_seal_bound(from, k),
		    SECCHAN_SEALED_MAX);
		n = secchan_seal(from, pt + off, k, wire + woff,
		    secchan_seal_bound(from, k));
		ck_assert_int_ge(n, (int)k);
		off += k;
		woff += (size_t)n;
	} while (off < len);
	ck_assert_int_eq(drain_open(to, wire, woff, back), (long)len);
	ck_assert_mem_eq(back, pt, len);
	free(pt);
	free(wire);
	free(back);
}

START_TEST(test_handshake_each_key_type)
{
	static const enum key_type types[] = { KEY_ED25519, KEY_SECP256K1,
	    KEY_ECDSA, KEY_RSA };
	struct pair p;

	pair_init(&p, types[_i], types[(_i + 1) % 4], NULL);
	pair_run(&p, sizeof(p.d2l));
	pair_assert_ready(&p);
	ck_assert(peer_id_equal(secchan_peer(p.d), identity_peer_id(p.li)));
	ck_assert(peer_id_equal(secchan_peer(p.l), identity_peer_id(p.di)));
	ck_assert_int_eq(secchan_proto(p.d), SEC_NOISE);
	roundtrip(p.d, p.l, 1);
	roundtrip(p.l, p.d, 200000);
	roundtrip(p.d, p.l, 0);
	pair_free(&p);
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	struct pair p;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, 1);
	pair_assert_ready(&p);
	pair_free(&p);
}
END_TEST

START_TEST(test_peer_mismatch)
{
	struct identity *other = identity_generate(KEY_ED25519);
	struct pair p;

	pair_init(&p, KEY_ED25519, KEY_ED25519, identity_peer_id(other));
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_status(p.d), SECCHAN_FAILED);
	ck_assert_int_eq(secchan_fail(p.d), SECCHAN_FAIL_PEER_MISMATCH);
	ck_assert_ptr_nonnull(strstr(secchan_error(p.d),
	    "peer id mismatch: expected "));
	/* the dialer never sent msg 3: the listener is not authenticated */
	ck_assert_int_ne(secchan_status(p.l), SECCHAN_READY);
	identity_free(other);
	pair_free(&p);
}
END_TEST

START_TEST(test_pipelined_transport_after_msg3)
{
	struct pair p;
	uint8_t frame[64], back[SECCHAN_SEAL_MAX];
	size_t used, need;
	int n;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	/* run until the dialer is READY and msg 3 is queued for the listener */
	while (secchan_status(p.d) != SECCHAN_READY) {
		size_t a = 0, b = 0;

		deliver(p.l, p.d2l, &p.nd2l, &a, sizeof(p.d2l), p.l2d,
		    &p.nl2d);
		deliver(p.d, p.l2d, &p.nl2d, &b, sizeof(p.l2d), p.d2l,
		    &p.nd2l);
	}
	n = secchan_seal(p.d, (const uint8_t *)"early", 5, frame,
	    sizeof(frame) + SECCHAN_SEALED_MAX);
	ck_assert_int_eq(n, 23);
	memcpy(p.d2l + p.nd2l, frame, (size_t)n);
	p.nd2l += (size_t)n;
	{
		size_t a = 0;

		deliver(p.l, p.d2l, &p.nd2l, &a, sizeof(p.d2l), p.l2d,
		    &p.nl2d);
	}
	ck_assert_int_eq(secchan_status(p.l), SECCHAN_READY);
	/* the transport frame was left unconsumed for the relay */
	ck_assert_uint_eq(p.nd2l, 23);
	n = secchan_open(p.l, p.d2l, p.nd2l, &used, &need, back,
	    sizeof(back));
	ck_assert_int_eq(n, 5);
	ck_assert_mem_eq(back, "early", 5);
	pair_free(&p);
}
END_TEST

START_TEST(test_tampered_frames)
{
	struct pair p;
	uint8_t wire[100], back[SECCHAN_SEAL_MAX];
	size_t used, need;
	int n;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	n = secchan_seal(p.d, (const uint8_t *)"0123456789", 10, wire,
	    SECCHAN_SEALED_MAX);
	ck_assert_int_eq(n, 28);
	wire[2 + _i] ^= 0x01;		/* ciphertext or tag byte */
	ck_assert_int_eq(secchan_open(p.l, wire, 28, &used, &need, back,
	    sizeof(back)), -1);
	ck_assert_ptr_nonnull(strstr(secchan_error(p.l),
	    "failed authentication"));
	pair_free(&p);
}
END_TEST

START_TEST(test_short_and_partial_frames)
{
	struct pair p;
	uint8_t wire[100], back[SECCHAN_SEAL_MAX];
	size_t used, need;
	int n;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	n = secchan_seal(p.d, (const uint8_t *)"abc", 3, wire,
	    SECCHAN_SEALED_MAX);
	ck_assert_int_eq(n, 21);
	/* partial: asks for the whole frame, consumes nothing */
	ck_assert_int_eq(secchan_open(p.l, wire, 1, &used, &need, back,
	    sizeof(back)), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(secchan_open(p.l, wire, 20, &used, &need, back,
	    sizeof(back)), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(need, 21);
	/* a replay of the same frame after it was opened fails */
	ck_assert_int_eq(secchan_open(p.l, wire, 21, &used, &need, back,
	    sizeof(back)), 3);
	ck_assert_int_eq(secchan_open(p.l, wire, 21, &used, &need, back,
	    sizeof(back)), -1);
	pair_free(&p);
}
END_TEST

START_TEST(test_frame_shorter_than_tag)
{
	struct pair p;
	uint8_t wire[] = { 0x00, 0x05, 1, 2, 3, 4, 5 };
	uint8_t back[SECCHAN_SEAL_MAX];
	size_t used, need;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_open(p.l, wire, sizeof(wire), &used, &need,
	    back, sizeof(back)), -1);
	ck_assert_ptr_nonnull(strstr(secchan_error(p.l), "shorter than"));
	pair_free(&p);
}
END_TEST

START_TEST(test_listener_refuses_unknown_protocol)
{
	struct identity *id = identity_generate(KEY_ED25519);
	struct secchan_cred *cr = secchan_cred_new(id);
	struct secchan *l = secchan_new(SECCHAN_LISTENER, cr, NOISE_ONLY, 1,
	    NULL);
	/* header + "/tls/1.0.0" proposal: the listener answers na */
	static const uint8_t in[] = {
	    0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
	    '/', '1', '.', '0', '.', '0', '\n',
	    0x0b, '/', 't', 'l', 's', '/', '1', '.', '0', '.', '0', '\n' };
	static const uint8_t na[] = { 0x03, 'n', 'a', '\n' };
	uint8_t out[SECCHAN_OUT_MAX];
	size_t used, olen;

	ck_assert_int_eq(secchan_input(l, in, sizeof(in), &used, out, &olen),
	    SECCHAN_CONTINUE);
	ck_assert_uint_eq(used, sizeof(in));
	ck_assert_uint_eq(olen, 20 + sizeof(na));
	ck_assert_mem_eq(out + 20, na, sizeof(na));
	secchan_free(l);
	secchan_cred_free(cr);
	identity_free(id);
}
END_TEST

START_TEST(test_tls_each_key_type)
{
	static const enum key_type types[] = { KEY_ED25519, KEY_SECP256K1,
	    KEY_ECDSA, KEY_RSA };
	struct pair p;

	pair_init_tls(&p, types[_i], types[(_i + 1) % 4], NULL);
	pair_run(&p, sizeof(p.d2l));
	pair_assert_ready(&p);
	ck_assert_int_eq(secchan_proto(p.d), SEC_TLS);
	ck_assert_int_eq(secchan_proto(p.l), SEC_TLS);
	ck_assert(peer_id_equal(secchan_peer(p.d), identity_peer_id(p.li)));
	ck_assert(peer_id_equal(secchan_peer(p.l), identity_peer_id(p.di)));
	ck_assert_int_eq(pubkey_type(secchan_peer_key(p.l)), types[_i]);
	/* ChaCha20-Poly1305 is preferred and what two peerlocks get */
	ck_assert_str_eq(secchan_cipher(p.d), tls_preferred_cipher());
	ck_assert_str_eq(secchan_cipher(p.l), tls_preferred_cipher());
	roundtrip_any(p.d, p.l, 1);
	roundtrip_any(p.l, p.d, 200000);
	roundtrip_any(p.d, p.l, 65519);
	roundtrip_any(p.d, p.l, 0);
	pair_free(&p);
}
END_TEST

START_TEST(test_noise_roundtrip_any)
{
	struct pair p;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_status(p.l), SECCHAN_READY);
	roundtrip_any(p.d, p.l, 1);
	roundtrip_any(p.l, p.d, 300000);
	pair_free(&p);
}
END_TEST

START_TEST(test_tls_byte_at_a_time)
{
	struct pair p;

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, 1);
	pair_assert_ready(&p);
	roundtrip_any(p.d, p.l, 5000);
	pair_free(&p);
}
END_TEST

/* Preference (dialer order) and fallback on na, every combination. */
static const struct {
	enum sec_proto d[2], l[2];
	size_t nd, nl;
	int want;			/* SEC_NOISE, SEC_TLS or -1 */
} pref_cases[] = {
	{ { SEC_NOISE }, { SEC_NOISE }, 1, 1, SEC_NOISE },
	{ { SEC_NOISE }, { SEC_TLS }, 1, 1, -1 },
	{ { SEC_NOISE }, { SEC_NOISE, SEC_TLS }, 1, 2, SEC_NOISE },
	{ { SEC_NOISE }, { SEC_TLS, SEC_NOISE }, 1, 2, SEC_NOISE },
	{ { SEC_TLS }, { SEC_NOISE }, 1, 1, -1 },
	{ { SEC_TLS }, { SEC_TLS }, 1, 1, SEC_TLS },
	{ { SEC_TLS }, { SEC_NOISE, SEC_TLS }, 1, 2, SEC_TLS },
	{ { SEC_TLS }, { SEC_TLS, SEC_NOISE }, 1, 2, SEC_TLS },
	{ { SEC_NOISE, SEC_TLS }, { SEC_NOISE }, 2, 1, SEC_NOISE },
	{ { SEC_NOISE, SEC_TLS }, { SEC_TLS }, 2, 1, SEC_TLS },
	{ { SEC_NOISE, SEC_TLS }, { SEC_NOISE, SEC_TLS }, 2, 2, SEC_NOISE },
	{ { SEC_NOISE, SEC_TLS }, { SEC_TLS, SEC_NOISE }, 2, 2, SEC_NOISE },
	{ { SEC_TLS, SEC_NOISE }, { SEC_NOISE }, 2, 1, SEC_NOISE },
	{ { SEC_TLS, SEC_NOISE }, { SEC_TLS }, 2, 1, SEC_TLS },
	{ { SEC_TLS, SEC_NOISE }, { SEC_NOISE, SEC_TLS }, 2, 2, SEC_TLS },
	{ { SEC_TLS, SEC_NOISE }, { SEC_TLS, SEC_NOISE }, 2, 2, SEC_TLS },
};

START_TEST(test_preference_and_fallback)
{
	struct pair p;
	char hint[256];

	pair_init_protos(&p, KEY_ED25519, KEY_ED25519, NULL,
	    pref_cases[_i].d, pref_cases[_i].nd, pref_cases[_i].l,
	    pref_cases[_i].nl);
	pair_run(&p, sizeof(p.d2l));
	if (pref_cases[_i].want < 0) {
		ck_assert_int_eq(secchan_status(p.d), SECCHAN_FAILED);
		ck_assert_int_eq(secchan_fail(p.d), SECCHAN_FAIL_NO_PROTOCOL);
		ck_assert_ptr_nonnull(strstr(secchan_error(p.d),
		    "multistream: peer refused all of "));
		ck_assert_int_ne(secchan_status(p.l), SECCHAN_READY);
		/*
		 * A lazy dialer's handshake follows its refused proposal and
		 * fails the listener; otherwise the listener waits for a
		 * next proposal, and the dialer's EOF gets the hint.
		 */
		if (secchan_status(p.l) == SECCHAN_FAILED) {
			ck_assert_int_eq(pref_cases[_i].nd, 1);
			ck_assert_int_eq(secchan_fail(p.l),
			    SECCHAN_FAIL_NO_PROTOCOL);
			snprintf(hint, sizeof(hint), "%s",
			    secchan_error(p.l));
		} else
			secchan_eof_hint(p.l, hint, sizeof(hint));
		ck_assert_ptr_nonnull(strstr(hint,
		    "no common security protocol"));
		ck_assert_ptr_nonnull(strstr(hint,
		    sec_proto_id(pref_cases[_i].l[0])));
	} else {
		pair_assert_ready(&p);
		ck_assert_int_eq(secchan_proto(p.d), pref_cases[_i].want);
		ck_assert_int_eq(secchan_proto(p.l), pref_cases[_i].want);
		secchan_eof_hint(p.l, hint, sizeof(hint));
		ck_assert_str_eq(hint, "");
		roundtrip_any(p.d, p.l, 70000);
		roundtrip_any(p.l, p.d, 3);
	}
	pair_free(&p);
}
END_TEST

START_TEST(test_tls_peer_mismatch)
{
	struct identity *other = identity_generate(KEY_ED25519);
	char want[300], a[PEER_ID_STR_MAX], b[PEER_ID_STR_MAX];
	struct pair p;

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, identity_peer_id(other));
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_status(p.d), SECCHAN_FAILED);
	ck_assert_int_eq(secchan_fail(p.d), SECCHAN_FAIL_PEER_MISMATCH);
	snprintf(want, sizeof(want),
	    "peer id mismatch: expected %s, remote is %s",
	    peer_id_to_string(identity_peer_id(other), a, sizeof(a)),
	    peer_id_to_string(identity_peer_id(p.li), b, sizeof(b)));
	ck_assert_str_eq(secchan_error(p.d), want);
	ck_assert_int_ne(secchan_status(p.l), SECCHAN_READY);
	identity_free(other);
	pair_free(&p);
}
END_TEST

/*
 * A dialer that accepts a set of peer IDs (a key rotation: current and
 * next): p's dialer is replaced by one expecting first, then also the
 * ids in more[0..nmore), started afresh.
 */
static void
pair_expect(struct pair *p, const enum sec_proto *protos,
    const struct peer_id *first, const struct peer_id *const *more,
    size_t nmore)
{
	size_t i;

	secchan_free(p->d);
	p->d = secchan_new(SECCHAN_DIALER, p->dc, protos, 1, first);
	ck_assert_ptr_nonnull(p->d);
	for (i = 0; i < nmore; i++)
		ck_assert_int_eq(secchan_expect(p->d, more[i]), 0);
	ck_assert_int_eq(secchan_start(p->d, p->d2l, &p->nd2l), 0);
	p->nl2d = 0;
}

/*
 * Over Noise and TLS: the remote may prove any ID of the set; one outside
 * it fails naming every accepted ID; a listener takes no set, and the
 * set is bounded.
 */
START_TEST(test_expect_set)
{
	const enum sec_proto *protos = _i == 0 ? NOISE_ONLY : TLS_ONLY;
	struct identity *o1 = identity_generate(KEY_ED25519);
	struct identity *o2 = identity_generate(KEY_ED25519);
	const struct peer_id *more[1];
	char want[400], a[PEER_ID_STR_MAX], b[PEER_ID_STR_MAX];
	char c[PEER_ID_STR_MAX];
	struct pair p;
	int i;

	pair_init_protos(&p, KEY_ED25519, KEY_ED25519, NULL, protos, 1,
	    protos, 1);
	/* the current key is o1, the next is the listener's: accepted */
	more[0] = identity_peer_id(p.li);
	pair_expect(&p, protos, identity_peer_id(o1), more, 1);
	pair_run(&p, sizeof(p.d2l));
	pair_assert_ready(&p);
	ck_assert(peer_id_equal(secchan_peer(p.d), identity_peer_id(p.li)));

	/* neither o1 nor o2: refused, both named */
	secchan_free(p.l);
	p.l = secchan_new(SECCHAN_LISTENER, p.lc, protos, 1, NULL);
	more[0] = identity_peer_id(o2);
	pair_expect(&p, protos, identity_peer_id(o1), more, 1);
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_status(p.d), SECCHAN_FAILED);
	ck_assert_int_eq(secchan_fail(p.d), SECCHAN_FAIL_PEER_MISMATCH);
	snprintf(want, sizeof(want),
	    "peer id mismatch: expected %s or %s, remote is %s",
	    peer_id_to_string(identity_peer_id(o1), a, sizeof(a)),
	    peer_id_to_string(identity_peer_id(o2), b, sizeof(b)),
	    peer_id_to_string(identity_peer_id(p.li), c, sizeof(c)));
	ck_assert_str_eq(secchan_error(p.d), want);
	ck_assert_int_ne(secchan_status(p.l), SECCHAN_READY);

	ck_assert_int_eq(secchan_expect(p.l, identity_peer_id(o1)), -1);
	secchan_free(p.d);
	p.d = secchan_new(SECCHAN_DIALER, p.dc, protos, 1,
	    identity_peer_id(o1));
	/* a repeated ID takes no room; distinct ones up to the bound */
	ck_assert_int_eq(secchan_expect(p.d, identity_peer_id(o1)), 0);
	for (i = 1; i < SECCHAN_EXPECT_MAX; i++) {
		struct identity *x = identity_generate(KEY_ED25519);

		ck_assert_int_eq(secchan_expect(p.d, identity_peer_id(x)), 0);
		identity_free(x);
	}
	ck_assert_int_eq(secchan_expect(p.d, identity_peer_id(o2)), -1);
	identity_free(o1);
	identity_free(o2);
	pair_free(&p);
}
END_TEST

/* Flip one byte of a sealed TLS record: the receiver rejects it. */
START_TEST(test_tls_tampered_record)
{
	struct pair p;
	uint8_t wire[200], back[TLS_REC_PT];
	size_t used, need;
	int n;

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	n = secchan_seal(p.d, (const uint8_t *)"0123456789", 10, wire,
	    sizeof(wire));
	ck_assert_int_eq(n, 10 + 22);
	wire[5 + _i] ^= 0x01;		/* ciphertext, type or tag byte */
	ck_assert_int_eq(secchan_open(p.l, wire, (size_t)n, &used, &need,
	    back, sizeof(back)), -1);
	ck_assert_int_eq(strncmp(secchan_error(p.l), "tls: ", 5), 0);
	ck_assert_int_eq(secchan_fail(p.l), SECCHAN_FAIL_BAD_MESSAGE);
	pair_free(&p);
}
END_TEST

/* Data the client sends right after its Finished comes out of open. */
START_TEST(test_tls_pipelined_after_handshake)
{
	struct pair p;
	uint8_t back[TLS_REC_PT], rec[64];
	size_t a = 0, used, need;
	int n;

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, NULL);
	while (secchan_status(p.d) != SECCHAN_READY) {
		size_t x = 0, y = 0;

		deliver(p.l, p.d2l, &p.nd2l, &x, sizeof(p.d2l), p.l2d,
		    &p.nl2d);
		deliver(p.d, p.l2d, &p.nl2d, &y, sizeof(p.l2d), p.d2l,
		    &p.nd2l);
	}
	n = secchan_seal(p.d, (const uint8_t *)"early", 5, rec, sizeof(rec));
	ck_assert_int_gt(n, 5);
	memcpy(p.d2l + p.nd2l, rec, (size_t)n);
	p.nd2l += (size_t)n;
	deliver(p.l, p.d2l, &p.nd2l, &a, sizeof(p.d2l), p.l2d, &p.nl2d);
	ck_assert_int_eq(secchan_status(p.l), SECCHAN_READY);
	ck_assert_int_eq(drain_open(p.l, p.d2l, p.nd2l, back), 5);
	ck_assert_mem_eq(back, "early", 5);
	(void)used;
	(void)need;
	pair_free(&p);
}
END_TEST

/*
 * Half-close: the dialer ends its direction (close_notify); the listener
 * sees the end, then still sends data the dialer reads, then closes too.
 */
START_TEST(test_tls_half_close)
{
	struct pair p;
	uint8_t wire[4096], back[TLS_REC_PT];
	size_t w;
	int n;

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	roundtrip_any(p.d, p.l, 100);
	ck_assert(!secchan_fin_is_eof(p.d));
	ck_assert_int_eq(secchan_close(p.d), 0);
	ck_assert_int_eq(secchan_close(p.d), 0);	/* idempotent */
	ck_assert_uint_gt(secchan_pending(p.d), 0);
	w = secchan_take(p.d, wire, sizeof(wire));
	ck_assert_uint_eq(secchan_pending(p.d), 0);
	ck_assert(!secchan_peer_closed(p.l));
	ck_assert_int_eq(drain_open(p.l, wire, w, back), 0);
	ck_assert(secchan_peer_closed(p.l));
	ck_assert_uint_eq(secchan_open_room(p.l, wire, 0, &w), 0);
	/* the other direction still flows */
	roundtrip_any(p.l, p.d, 40000);
	ck_assert_int_eq(secchan_close(p.l), 0);
	w = secchan_take(p.l, wire, sizeof(wire));
	n = (int)drain_open(p.d, wire, w, back);
	ck_assert_int_eq(n, 0);
	ck_assert(secchan_peer_closed(p.d));
	pair_free(&p);
}
END_TEST

START_TEST(test_noise_close_is_fin)
{
	struct pair p;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	ck_assert(secchan_fin_is_eof(p.d));
	ck_assert_int_eq(secchan_close(p.d), 0);
	ck_assert_uint_eq(secchan_pending(p.d), 0);
	ck_assert(!secchan_peer_closed(p.l));
	pair_free(&p);
}
END_TEST

/* The multistream header and the two proposals, as bytes on the wire. */
static const uint8_t MSS_HDR[] = {
    0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
    '/', '1', '.', '0', '.', '0', '\n' };
static const uint8_t MSS_NOISE[] = { 0x07, '/', 'n', 'o', 'i', 's', 'e',
    '\n' };
static const uint8_t MSS_TLS[] = {
    0x0b, '/', 't', 'l', 's', '/', '1', '.', '0', '.', '0', '\n' };

/*
 * One protocol to propose: the dialer is lazy, its opening bytes are the
 * header, the proposal and Noise message 1 (e, 32 bytes) in one write.
 */
START_TEST(test_lazy_dialer_noise_opening)
{
	struct pair p;
	size_t h = sizeof(MSS_HDR), n = sizeof(MSS_NOISE);

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	ck_assert_uint_eq(p.nd2l, h + n + 2 + 32);
	ck_assert_mem_eq(p.d2l, MSS_HDR, h);
	ck_assert_mem_eq(p.d2l + h, MSS_NOISE, n);
	ck_assert_uint_eq(frame_get_len(p.d2l + h + n), 32);
	pair_run(&p, 1);
	pair_assert_ready(&p);
	roundtrip(p.d, p.l, 1000);
	pair_free(&p);
}
END_TEST

/* TLS alone: the ClientHello (a handshake record) follows the proposal. */
START_TEST(test_lazy_dialer_tls_opening)
{
	struct pair p;
	size_t h = sizeof(MSS_HDR), n = sizeof(MSS_TLS);

	pair_init_tls(&p, KEY_ED25519, KEY_ED25519, NULL);
	ck_assert_uint_gt(p.nd2l, h + n + 5);
	ck_assert_mem_eq(p.d2l + h, MSS_TLS, n);
	ck_assert_uint_eq(p.d2l[h + n], 0x16);		/* handshake record */
	pair_run(&p, 7);
	pair_assert_ready(&p);
	pair_free(&p);
}
END_TEST

/* Two protocols to choose from: header and first proposal only, then wait. */
START_TEST(test_two_protocols_not_lazy)
{
	static const enum sec_proto both[] = { SEC_NOISE, SEC_TLS };
	struct pair p;
	size_t h = sizeof(MSS_HDR), n = sizeof(MSS_NOISE);

	pair_init_protos(&p, KEY_ED25519, KEY_ED25519, NULL, both, 2,
	    NOISE_ONLY, 1);
	ck_assert_uint_eq(p.nd2l, h + n);
	pair_run(&p, 3);
	ck_assert_int_eq(secchan_status(p.d), SECCHAN_READY);
	ck_assert_int_eq(secchan_proto(p.d), SEC_NOISE);
	pair_free(&p);
}
END_TEST

/*
 * A lazy dialer whose proposal the listener refuses: "na" fails the
 * upgrade as "no common protocol", naming what we proposed, and the
 * Noise message sent ahead is never taken for a multistream message.
 */
START_TEST(test_lazy_dialer_refused)
{
	struct pair p;
	uint8_t out[SECCHAN_OUT_MAX];
	size_t used, olen, i;
	enum secchan_status st = SECCHAN_CONTINUE;
	static const uint8_t na[] = { 0x03, 'n', 'a', '\n' };
	uint8_t ans[sizeof(MSS_HDR) + sizeof(na)];

	pair_init_protos(&p, KEY_ED25519, KEY_ED25519, NULL, NOISE_ONLY, 1,
	    TLS_ONLY, 1);
	memcpy(ans, MSS_HDR, sizeof(MSS_HDR));
	memcpy(ans + sizeof(MSS_HDR), na, sizeof(na));
	/* one byte at a time, as a slow network would deliver it */
	for (i = 0; i < sizeof(ans) && st == SECCHAN_CONTINUE; i++) {
		st = secchan_input(p.d, ans + i, 1, &used, out, &olen);
		ck_assert_uint_eq(olen, 0);
	}
	ck_assert_int_eq(st, SECCHAN_FAILED);
	ck_assert_uint_eq(i, sizeof(ans));
	ck_assert_int_eq(secchan_fail(p.d), SECCHAN_FAIL_NO_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(secchan_error(p.d), "/noise"));
	/* our listener sees the Noise bytes after its na as garbage */
	ck_assert_int_eq(secchan_input(p.l, p.d2l, p.nd2l, &used, out, &olen),
	    SECCHAN_FAILED);
	ck_assert_int_eq(secchan_fail(p.l), SECCHAN_FAIL_NO_PROTOCOL);
	pair_free(&p);
}
END_TEST

/* The listener closes without answering: the hint says so. */
START_TEST(test_lazy_dialer_eof_hint)
{
	struct pair p;
	char hint[256];

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	secchan_eof_hint(p.d, hint, sizeof(hint));
	ck_assert_ptr_nonnull(strstr(hint, "before answering our proposal "
	    "of /noise"));
	pair_run(&p, 64);
	ck_assert_int_eq(secchan_status(p.d), SECCHAN_READY);
	secchan_eof_hint(p.d, hint, sizeof(hint));
	ck_assert_str_eq(hint, "");
	pair_free(&p);
}
END_TEST

/*
 * The listener sees the same dialer three times: its signature is
 * verified once and found in the cache after that; a dialer with
 * another identity is verified afresh.
 */
START_TEST(test_signature_cache)
{
	struct pair p, q;
	uint64_t hit, miss;
	int i;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	pair_run(&p, sizeof(p.d2l));
	ck_assert_int_eq(secchan_status(p.l), SECCHAN_READY);
	for (i = 0; i < 2; i++) {
		pair_renew(&p, p.lc, identity_peer_id(p.li));
		pair_run(&p, sizeof(p.d2l));
		pair_assert_ready(&p);
		roundtrip(p.d, p.l, 100);
	}
	secchan_cred_sig_stats(p.lc, &hit, &miss);
	ck_assert_uint_eq(hit, 2);
	ck_assert_uint_eq(miss, 1);
	secchan_cred_sig_stats(p.dc, &hit, &miss);
	ck_assert_uint_eq(hit, 2);
	ck_assert_uint_eq(miss, 1);
	/* a new dialer identity against the same listener credentials */
	pair_init(&q, KEY_ED25519, KEY_ED25519, NULL);
	pair_renew(&q, p.lc, identity_peer_id(p.li));
	pair_run(&q, sizeof(q.d2l));
	ck_assert_int_eq(secchan_status(q.l), SECCHAN_READY);
	ck_assert_ptr_nonnull(secchan_peer(q.l));
	ck_assert(peer_id_equal(secchan_peer(q.l), identity_peer_id(q.di)));
	secchan_cred_sig_stats(p.lc, &hit, &miss);
	ck_assert_uint_eq(hit, 2);
	ck_assert_uint_eq(miss, 2);
	pair_free(&q);
	pair_free(&p);
}
END_TEST

/*
 * Ephemeral keys made ahead: the pool takes four; each handshake
 * takes one (on both sides), and works with it.
 */
START_TEST(test_ephemeral_pool)
{
	struct pair p;
	uint8_t e[3][32];
	int i;

	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	memcpy(e[2], p.d2l + 30, 32);	/* after mss (28) and length (2) */
	/* the dialer's start took none: its pool was empty */
	for (i = 0; i < 4; i++) {
		ck_assert(secchan_cred_refill(p.dc));
		ck_assert(secchan_cred_refill(p.lc));
	}
	ck_assert(!secchan_cred_refill(p.dc));
	ck_assert(!secchan_cred_refill(p.lc));
	for (i = 0; i < 2; i++) {
		pair_renew(&p, p.lc, identity_peer_id(p.li));
		memcpy(e[i], p.d2l + 30, 32);
		p.nl2d = 0;
		pair_run(&p, sizeof(p.d2l));
		pair_assert_ready(&p);
		roundtrip(p.d, p.l, 5000);
		roundtrip(p.l, p.d, 5000);
	}
	/* every handshake had an ephemeral key of its own */
	ck_assert_mem_ne(e[0], e[1], 32);
	ck_assert_mem_ne(e[0], e[2], 32);
	ck_assert_mem_ne(e[1], e[2], 32);
	/* two taken from each pool: room for exactly two */
	ck_assert(secchan_cred_refill(p.dc));
	ck_assert(secchan_cred_refill(p.dc));
	ck_assert(!secchan_cred_refill(p.dc));
	ck_assert(secchan_cred_refill(p.lc));
	ck_assert(secchan_cred_refill(p.lc));
	ck_assert(!secchan_cred_refill(p.lc));
	pair_free(&p);
}
END_TEST

START_TEST(test_supported)
{
	ck_assert(secchan_supported(SEC_NOISE));
	ck_assert(secchan_supported(SEC_TLS));
}
END_TEST

/* ---- inlined muxer negotiation (secchan_set_muxers) ---------------- */

/*
 * A pair over proto whose dialer advertises dm[0..nd) and listener
 * lm[0..nl), Ed25519 on both sides, set up but not run.
 */
static void
pair_init_mux(struct pair *p, enum sec_proto proto, const char *const *dm,
    size_t nd, const char *const *lm, size_t nl)
{
	pair_setup(p, KEY_ED25519, KEY_ED25519, NULL, &proto, 1, &proto, 1);
	ck_assert_int_eq(secchan_set_muxers(p->d, dm, nd), 0);
	ck_assert_int_eq(secchan_set_muxers(p->l, lm, nl), 0);
	pair_start(p);
}

#define YMX YAMUX_PROTO
struct mux_case {
	const char *d[3], *l[3];	/* NULL-ended muxer lists */
	const char *noise, *tls;	/* agreed muxer, per protocol */
	bool d_sees_noise, d_sees_tls;	/* dialer: remote offered one */
	bool l_sees;			/* listener: remote offered one */
};

static const struct mux_case mux_cases[] = {
	{ { YMX }, { YMX }, YMX, YMX, true, true, true },
	{ { YMX }, { NULL }, NULL, NULL, false, false, true },
	/* a TLS client learns only the server's choice */
	{ { NULL }, { YMX }, NULL, NULL, true, false, false },
	{ { NULL }, { NULL }, NULL, NULL, false, false, false },
	/* the initiator's (dialer's, client's) order wins */
	{ { "/a", YMX }, { YMX, "/a" }, "/a", "/a", true, true, true },
	{ { YMX, "/a" }, { "/a", YMX }, YMX, YMX, true, true, true },
	{ { "/a" }, { "/b", YMX }, NULL, NULL, true, false, true },
};
#define N_MUX_CASES (int)(sizeof(mux_cases) / sizeof(mux_cases[0]))

/* Count a NULL-ended list of at most 3. */
static size_t
mux_count(const char *const *ids)
{
	size_t n = 0;

	while (n < 3 && ids[n] != NULL)
		n++;
	return n;
}

/* Whether p is one of the entries of ids (the same pointer). */
static bool
mux_owned(const char *p, const char *const *ids)
{
	size_t i;

	for (i = 0; i < 3 && ids[i] != NULL; i++)
		if (p == ids[i])
			return true;
	return false;
}

/* Loop index: case i over Noise (even) or TLS (odd). */
START_TEST(test_muxer_negotiation)
{
	const struct mux_case *k = &mux_cases[_i / 2];
	enum sec_proto proto = _i % 2 == 0 ? SEC_NOISE : SEC_TLS;
	const char *want = proto == SEC_NOISE ? k->noise : k->tls;
	bool d_sees = proto == SEC_NOISE ? k->d_sees_noise : k->d_sees_tls;
	struct pair p;

	pair_init_mux(&p, proto, k->d, mux_count(k->d), k->l,
	    mux_count(k->l));
	/* before READY nothing is known */
	ck_assert_ptr_null(secchan_muxer(p.d));
	ck_assert(!secchan_peer_offered_muxer(p.l));
	pair_run(&p, 1 << 16);
	ck_assert_msg(secchan_status(p.d) == SECCHAN_READY, "dialer: %s",
	    secchan_error(p.d));
	ck_assert_msg(secchan_status(p.l) == SECCHAN_READY, "listener: %s",
	    secchan_error(p.l));
	if (want == NULL) {
		ck_assert_ptr_null(secchan_muxer(p.d));
		ck_assert_ptr_null(secchan_muxer(p.l));
	} else {
		ck_assert_pstr_eq(secchan_muxer(p.d), want);
		ck_assert_pstr_eq(secchan_muxer(p.l), want);
		/* the result is our own id, which the caller owns */
		ck_assert(mux_owned(secchan_muxer(p.d), k->d));
		ck_assert(mux_owned(secchan_muxer(p.l), k->l));
	}
	ck_assert_int_eq(secchan_peer_offered_muxer(p.d), d_sees);
	ck_assert_int_eq(secchan_peer_offered_muxer(p.l), k->l_sees);
	roundtrip_any(p.d, p.l, 3000);
	roundtrip_any(p.l, p.d, 3000);
	pair_free(&p);
}
END_TEST

/*
 * Noise message sizes: without muxers exactly the bytes of raw mode
 * (Ed25519: msg 2 = 96 + 104, msg 3 = 64 + 104); with ["/yamux/1.0.0"]
 * 16 more, the 216 / 184 byte frames go and js send (noise.md 5).
 */
START_TEST(test_muxer_noise_sizes)
{
	static const char *const y[] = { YMX };
	size_t ext = _i == 0 ? 0 : 16;
	size_t h = sizeof(MSS_HDR), n = sizeof(MSS_NOISE);
	uint8_t out[SECCHAN_OUT_MAX], out3[SECCHAN_OUT_MAX];
	size_t used, olen, olen3;
	struct pair p;

	pair_init_mux(&p, SEC_NOISE, y, _i, y, _i);
	/* msg 1 stays empty: 32 bytes */
	ck_assert_uint_eq(p.nd2l, h + n + 2 + 32);
	ck_assert_int_eq(secchan_input(p.l, p.d2l, p.nd2l, &used, out,
	    &olen), SECCHAN_CONTINUE);
	ck_assert_uint_eq(used, p.nd2l);
	ck_assert_uint_eq(olen, h + n + 2 + 96 + 104 + ext);
	ck_assert_uint_eq(frame_get_len(out + h + n), 96 + 104 + ext);
	ck_assert_int_eq(secchan_input(p.d, out, olen, &used, out3, &olen3),
	    SECCHAN_READY);
	ck_assert_uint_eq(olen3, 2 + 64 + 104 + ext);
	ck_assert_uint_eq(frame_get_len(out3), 64 + 104 + ext);
	ck_assert_int_eq(secchan_input(p.l, out3, olen3, &used, out, &olen),
	    SECCHAN_READY);
	if (_i == 0) {
		ck_assert_ptr_null(secchan_muxer(p.l));
	} else {
		ck_assert_pstr_eq(secchan_muxer(p.l), YMX);
	}
	pair_free(&p);
}
END_TEST

/* secchan_set_muxers() bounds, and refusal once the upgrade started. */
START_TEST(test_muxer_set_args)
{
	static const char *const dup[] = { YMX, YMX };
	static const char *const comma[] = { "/a,b" };
	static const char *const base[] = { "libp2p" };
	static const char *const bad8[] = { "/\xff" };
	static const char *const y[] = { YMX };
	const char *many[SECCHAN_MUXERS_MAX + 1];
	char big[SECCHAN_MUXER_ID_MAX + 2];
	const char *bigl[] = { big };
	struct pair p;
	size_t i, n, o;

	for (i = 0; i <= SECCHAN_MUXERS_MAX; i++)
		many[i] = i % 2 ? "/a" : "/b";
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pair_init(&p, KEY_ED25519, KEY_ED25519, NULL);
	/* started: the dialer already sent its opening */
	ck_assert_int_eq(secchan_set_muxers(p.d, y, 1), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, dup, 2), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, comma, 1), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, base, 1), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, bad8, 1), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, bigl, 1), -1);
	ck_assert_int_eq(secchan_set_muxers(p.l, many,
	    SECCHAN_MUXERS_MAX + 1), -1);
	big[SECCHAN_MUXER_ID_MAX] = '\0';
	ck_assert_int_eq(secchan_set_muxers(p.l, bigl, 1), 0);
	ck_assert_int_eq(secchan_set_muxers(p.l, y, 1), 0);
	ck_assert_int_eq(secchan_set_muxers(p.l, NULL, 0), 0);
	ck_assert_int_eq(secchan_input(p.l, p.d2l, 0, &n, p.l2d, &o),
	    SECCHAN_CONTINUE);
	ck_assert_int_eq(secchan_set_muxers(p.l, y, 1), -1);
	pair_free(&p);
}
END_TEST

/*
 * A hand-played Noise initiator whose message 3 payload carries the
 * extension bytes ext[0..elen) after a valid signed identity; the
 * listener's verdict and error text come back.
 */
static enum secchan_status
noise_peer_msg3_ext(const uint8_t *ext, size_t elen, char *err,
    size_t errlen)
{
	static const char *const y[] = { YMX };
	uint8_t buf[SECCHAN_OUT_MAX], out[SECCHAN_OUT_MAX];
	uint8_t payload[NOISE_MAX_PAYLOAD], sigmsg[24 + NOISE_KEY_LEN];
	uint8_t sig[SIG_MAX], pl2[NOISE_MAX_PAYLOAD];
	size_t h = sizeof(MSS_HDR), n = sizeof(MSS_NOISE), len, used, olen;
	size_t siglen, keylen, plen, mlen;
	struct identity *me = identity_generate(KEY_ED25519);
	struct identity *li = identity_generate(KEY_ED25519);
	struct secchan_cred *lc = secchan_cred_new(li);
	enum sec_proto proto = SEC_NOISE;
	struct secchan *l = secchan_new(SECCHAN_LISTENER, lc, &proto, 1, NULL);
	struct noise_hs *hs = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL,
	    NULL);
	const uint8_t *key;
	enum secchan_status st;

	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq(secchan_set_muxers(l, y, 1), 0);
	/* header, proposal, msg 1 */
	memcpy(buf, MSS_HDR, h);
	memcpy(buf + h, MSS_NOISE, n);
	ck_assert_int_eq(noise_hs_write(hs, NULL, 0, buf + h + n + 2,
	    sizeof(buf) - h - n - 2, &mlen), 0);
	frame_put_len(buf + h + n, mlen);
	len = h + n + 2 + mlen;
	ck_assert_int_eq(secchan_input(l, buf, len, &used, out, &olen),
	    SECCHAN_CONTINUE);
	/* msg 2: the listener lists its muxers */
	ck_assert_uint_eq(olen, h + n + 2 + frame_get_len(out + h + n));
	ck_assert_int_eq(noise_hs_read(hs, out + h + n + 2, olen - h - n - 2,
	    pl2, sizeof(pl2), &plen), 0);
	ck_assert_mem_eq(pl2 + plen - 16, "\x22\x0e\x12\x0c/yamux/1.0.0", 16);
	/* msg 3: our signed identity, then the extension bytes under test */
	memcpy(sigmsg, NOISE_SIG_PREFIX, 24);
	memcpy(sigmsg + 24, noise_hs_local_static(hs), NOISE_KEY_LEN);
	ck_assert_int_eq(identity_sign(me, sigmsg, sizeof(sigmsg), sig,
	    sizeof(sig), &siglen), 0);
	key = pubkey_bytes(identity_pubkey(me), &keylen);
	plen = pb_noise_payload_encode(key, keylen, sig, siglen, payload,
	    sizeof(payload));
	ck_assert_uint_gt(plen, 0);
	ck_assert_uint_le(plen + elen, sizeof(payload));
	memcpy(payload + plen, ext, elen);
	ck_assert_int_eq(noise_hs_write(hs, payload, plen + elen, buf + 2,
	    sizeof(buf) - 2, &mlen), 0);
	frame_put_len(buf, mlen);
	st = secchan_input(l, buf, 2 + mlen, &used, out, &olen);
	snprintf(err, errlen, "%s", secchan_error(l));
	if (st == SECCHAN_READY)
		snprintf(err, errlen, "%s", secchan_muxer(l) != NULL ?
		    secchan_muxer(l) : "(none)");
	noise_hs_free(hs);
	secchan_free(l);
	secchan_cred_free(lc);
	identity_free(li);
	identity_free(me);
	return st;
}

/* Append "12 len id" (len < 128) to b at *n. */
static void
ext_id(uint8_t *b, size_t *n, const char *id, size_t len)
{
	b[(*n)++] = 0x12;
	b[(*n)++] = (uint8_t)len;
	memcpy(b + *n, id, len);
	*n += len;
}

/* Wrap b[0..n) as field 4 into out; returns the length. */
static size_t
ext_wrap(const uint8_t *b, size_t n, uint8_t *out)
{
	size_t k = 0;

	out[k++] = 0x22;
	if (n >= 128) {
		out[k++] = (uint8_t)(n | 0x80);
		out[k++] = (uint8_t)(n >> 7);
	} else
		out[k++] = (uint8_t)n;
	memcpy(out + k, b, n);
	return k + n;
}

/*
 * A peer's extensions decoded strictly but tolerantly: certhashes and
 * unknown fields skipped; too many ids, an overlong or empty id, bad
 * UTF-8 or a broken protobuf fail the handshake naming the problem.
 */
START_TEST(test_muxer_peer_extensions)
{
	uint8_t in[3000], ext[3100];
	char err[512], id[PB_MUXER_ID_MAX + 2];
	size_t n = 0, i;

	/* tolerated: certhash, unknown field 7 (varint), then yamux */
	in[n++] = 0x0a; in[n++] = 2; in[n++] = 0x12; in[n++] = 0;
	in[n++] = 0x38; in[n++] = 1;
	ext_id(in, &n, "/mplex/6.7.0", 12);
	ext_id(in, &n, YMX, 12);
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_READY);
	ck_assert_str_eq(err, YMX);
	/* js with no muxers: an empty extensions message */
	ck_assert_int_eq(noise_peer_msg3_ext((const uint8_t *)"\x22\x00", 2,
	    err, sizeof(err)), SECCHAN_READY);
	ck_assert_str_eq(err, "(none)");
	/* 17 ids */
	for (n = 0, i = 0; i <= PB_MUXERS_MAX; i++)
		ext_id(in, &n, "/x", 2);
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "noise: malformed handshake "
	    "payload ("));
	ck_assert_ptr_nonnull(strstr(err, " bytes): NoiseExtensions."
	    "stream_muxers has more than 16 entries (PB_MUXERS_MAX)"));
	/* one id of 1025 bytes (two-byte length) */
	memset(id, 'y', sizeof(id));
	n = 0;
	in[n++] = 0x12;
	in[n++] = (uint8_t)((PB_MUXER_ID_MAX + 1) | 0x80);
	in[n++] = (uint8_t)((PB_MUXER_ID_MAX + 1) >> 7);
	memcpy(in + n, id, PB_MUXER_ID_MAX + 1);
	n += PB_MUXER_ID_MAX + 1;
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "noise: malformed handshake "
	    "payload"));
	ck_assert_ptr_nonnull(strstr(err, "longer than 1024 bytes "
	    "(PB_MUXER_ID_MAX)"));
	/* empty id, NUL inside, bad UTF-8 */
	n = 0;
	ext_id(in, &n, "", 0);
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	n = 0;
	ext_id(in, &n, "/yamux\0/1.0.0", 13);
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "not valid UTF-8 or holds a NUL"));
	n = 0;
	ext_id(in, &n, "/\xc0\xaf", 3);
	ck_assert_int_eq(noise_peer_msg3_ext(ext, ext_wrap(in, n, ext), err,
	    sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "not valid UTF-8"));
	/* broken protobuf: an id whose length runs past the extension */
	ck_assert_int_eq(noise_peer_msg3_ext((const uint8_t *)
	    "\x22\x03\x12\x05/", 5, err, sizeof(err)), SECCHAN_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "not a valid NoiseHandshakePayload "
	    "protobuf"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("secchan");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_handshake_each_key_type, 0, 4);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_peer_mismatch);
	tcase_add_test(tc, test_pipelined_transport_after_msg3);
	tcase_add_loop_test(tc, test_tampered_frames, 0, 26);
	tcase_add_test(tc, test_short_and_partial_frames);
	tcase_add_test(tc, test_frame_shorter_than_tag);
	tcase_add_test(tc, test_listener_refuses_unknown_protocol);
	tcase_add_loop_test(tc, test_tls_each_key_type, 0, 4);
	tcase_add_test(tc, test_noise_roundtrip_any);
	tcase_add_test(tc, test_tls_byte_at_a_time);
	tcase_add_loop_test(tc, test_preference_and_fallback, 0,
	    sizeof(pref_cases) / sizeof(pref_cases[0]));
	tcase_add_test(tc, test_tls_peer_mismatch);
	tcase_add_loop_test(tc, test_expect_set, 0, 2);
	tcase_add_loop_test(tc, test_tls_tampered_record, 0, 27);
	tcase_add_test(tc, test_tls_pipelined_after_handshake);
	tcase_add_test(tc, test_tls_half_close);
	tcase_add_test(tc, test_noise_close_is_fin);
	tcase_add_test(tc, test_supported);
	tcase_add_test(tc, test_lazy_dialer_noise_opening);
	tcase_add_test(tc, test_lazy_dialer_tls_opening);
	tcase_add_test(tc, test_two_protocols_not_lazy);
	tcase_add_test(tc, test_lazy_dialer_refused);
	tcase_add_test(tc, test_lazy_dialer_eof_hint);
	tcase_add_test(tc, test_signature_cache);
	tcase_add_test(tc, test_ephemeral_pool);
	tcase_add_loop_test(tc, test_muxer_negotiation, 0, 2 * N_MUX_CASES);
	tcase_add_loop_test(tc, test_muxer_noise_sizes, 0, 2);
	tcase_add_test(tc, test_muxer_set_args);
	tcase_add_test(tc, test_muxer_peer_extensions);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
