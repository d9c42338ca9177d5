/*
 * test_noise.c - Noise_XX_25519_ChaChaPoly_SHA256 core: the published
 * cacophony/snow/noise-c vectors, the derived libp2p transcript, and
 * the failure paths (tampering, lengths, caps, order, nonces).  The
 * suite runs once with each ChaCha20-Poly1305 implementation (aead.h)
 * forced: the vectors' bytes prove both.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "frame.h"
#include "noise.h"
#include "vec.h"

#define SUITE_NAME "Noise_XX_25519_ChaChaPoly_SHA256"
#define NVECTORS 3

enum { BUFSZ = 70000 };

static uint8_t buf[BUFSZ], out[BUFSZ];

/* Decode the hex member key of o; it must exist and be valid. */
static uint8_t *
jhex(const json_t *o, const char *key, size_t *len)
{
	const char *s = vec_str(o, key);
	uint8_t *b;

	ck_assert_msg(s != NULL, "missing member %s", key);
	b = vec_hex(s, len);
	ck_assert_msg(b != NULL, "bad hex in %s", key);
	return b;
}

/* Assert b[0..len) equals the bytes of hex string want. */
static void
assert_bytes(const uint8_t *b, size_t len, const char *want)
{
	size_t wlen;
	uint8_t *w = vec_hex(want, &wlen);
	char *gh, *wh;

	ck_assert_ptr_nonnull(w);
	gh = vec_tohex(b, len);
	wh = vec_tohex(w, wlen);
	ck_assert_str_eq(gh, wh);
	free(gh);
	free(wh);
	free(w);
}

/* Assert b[0..len) equals member key of o (hex). */
static void
assert_member(const uint8_t *b, size_t len, const json_t *o,
    const char *key)
{
	const char *s = vec_str(o, key);

	ck_assert_msg(s != NULL, "missing member %s", key);
	assert_bytes(b, len, s);
}

/* After message 3: h, static keys, split keys (cacophony: derived). */
static void
check_split(const json_t *v, const json_t *derived, struct noise_hs *ini,
    struct noise_hs *res, struct noise_cipher c[4])
{
	const char *hh = vec_str(v, "handshake_hash");

	ck_assert_int_eq(noise_hs_next(ini), NOISE_SPLIT);
	ck_assert_int_eq(noise_hs_next(res), NOISE_SPLIT);
	ck_assert_mem_eq(noise_hs_hash(ini), noise_hs_hash(res), 32);
	if (hh != NULL)
		assert_bytes(noise_hs_hash(ini), 32, hh);
	ck_assert_mem_eq(noise_hs_remote_static(ini),
	    noise_hs_local_static(res), 32);
	ck_assert_mem_eq(noise_hs_remote_static(res),
	    noise_hs_local_static(ini), 32);
	/* c[0] isend, c[1] irecv, c[2] rsend, c[3] rrecv */
	ck_assert_int_eq(noise_hs_split(ini, &c[0], &c[1]), 0);
	ck_assert_int_eq(noise_hs_split(res, &c[2], &c[3]), 0);
	ck_assert_mem_eq(c[0].k, c[3].k, 32);
	ck_assert_mem_eq(c[1].k, c[2].k, 32);
	if (derived != NULL) {
		assert_member(c[0].k, 32, derived,
		    "cacophony_split_k1_initiator_to_responder");
		assert_member(c[1].k, 32, derived,
		    "cacophony_split_k2_responder_to_initiator");
	}
}

/* One published vector through both sides, byte for byte. */
START_TEST(test_published_vectors)
{
	json_t *root = vec_load("noise-vectors.json");
	json_t *vecs = json_object_get(root, "vectors");
	json_t *v = json_object_get(json_array_get(vecs, (size_t)_i),
	    "vector");
	json_t *msgs, *derived;
	struct noise_hs *ini, *res;
	struct noise_cipher c[4];
	uint8_t *pro, *is, *ie, *rs, *re;
	size_t prolen, l, i, nmsg;
	const char *name;

	ck_assert_uint_eq(json_array_size(vecs), NVECTORS);
	ck_assert_ptr_nonnull(v);
	name = vec_str(v, "protocol_name");
	if (name == NULL)
		name = vec_str(v, "name");	/* noise-c layout */
	ck_assert_str_eq(name, SUITE_NAME);

	pro = jhex(v, "init_prologue", &prolen);
	ck_assert_str_eq(vec_str(v, "init_prologue"),
	    vec_str(v, "resp_prologue"));
	is = jhex(v, "init_static", &l);
	ck_assert_uint_eq(l, 32);
	ie = jhex(v, "init_ephemeral", &l);
	ck_assert_uint_eq(l, 32);
	rs = jhex(v, "resp_static", &l);
	ck_assert_uint_eq(l, 32);
	re = jhex(v, "resp_ephemeral", &l);
	ck_assert_uint_eq(l, 32);

	ini = noise_hs_new(NOISE_INITIATOR, pro, prolen, is, ie);
	res = noise_hs_new(NOISE_RESPONDER, pro, prolen, rs, re);
	ck_assert_ptr_nonnull(ini);
	ck_assert_ptr_nonnull(res);

	/* cacophony: h after MixHash(prologue), from the derived checks */
	derived = json_object_get(root, "derived_checks_NOT_IN_SOURCE");
	if (_i == 0)
		assert_member(noise_hs_hash(ini), 32, derived,
		    "cacophony_h_after_prologue");

	msgs = json_object_get(v, "messages");
	nmsg = json_array_size(msgs);
	ck_assert_uint_ge(nmsg, 4);
	for (i = 0; i < nmsg; i++) {
		json_t *m = json_array_get(msgs, i);
		struct noise_hs *w, *r;
		struct noise_cipher *tx, *rx;
		uint8_t *pt, *ct;
		size_t ptlen, ctlen, len, olen;

		pt = jhex(m, "payload", &ptlen);
		ct = jhex(m, "ciphertext", &ctlen);
		if (i < 3) {
			w = i % 2 == 0 ? ini : res;
			r = i % 2 == 0 ? res : ini;
			ck_assert_int_eq(noise_hs_next(w), NOISE_WRITE);
			ck_assert_int_eq(noise_hs_next(r), NOISE_READ);
			ck_assert_int_eq(noise_hs_write(w, pt, ptlen, buf,
			    sizeof(buf), &len), 0);
			assert_member(buf, len, m, "ciphertext");
			ck_assert_int_eq(noise_hs_read(r, buf, len, out,
			    sizeof(out), &olen), 0);
			assert_member(out, olen, m, "payload");
		} else {
			if (i == 3)
				check_split(v, _i == 0 ? derived : NULL, ini,
				    res, c);
			/* index 3 is R->I (c2), then alternating */
			tx = (i - 3) % 2 == 0 ? &c[2] : &c[0];
			rx = (i - 3) % 2 == 0 ? &c[1] : &c[3];
			ck_assert_int_eq(noise_cipher_encrypt(tx, pt, ptlen,
			    buf), 0);
			assert_member(buf, ptlen + 16, m, "ciphertext");
			ck_assert_int_eq(noise_cipher_decrypt(rx, buf,
			    ptlen + 16, out), 0);
			assert_member(out, ptlen, m, "payload");
		}
		free(pt);
		free(ct);
	}
	noise_hs_free(ini);
	noise_hs_free(res);
	free(pro);
	free(is);
	free(ie);
	free(rs);
	free(re);
	json_decref(root);
}
END_TEST

/* Write a framed handshake message and compare with the wire bytes. */
static size_t
framed_write(struct noise_hs *w, const json_t *ex, const char *pkey,
    const char *wkey)
{
	uint8_t *p = NULL;
	size_t plen = 0, len;

	if (pkey != NULL)
		p = jhex(ex, pkey, &plen);
	ck_assert_int_eq(noise_hs_write(w, p, plen, buf + 2,
	    sizeof(buf) - 2, &len), 0);
	frame_put_len(buf, len);
	assert_member(buf, len + 2, ex, wkey);
	free(p);
	return len + 2;
}

/* The derived libp2p transcript: framed messages, keys, first frames. */
START_TEST(test_libp2p_example)
{
	json_t *ex = vec_load("noise-libp2p-derived-example.json");
	struct noise_hs *ini, *res;
	struct noise_cipher isend, irecv, rsend, rrecv;
	uint8_t *is, *ie, *rs, *re, *tp;
	size_t l, wlen, plen, tplen;
	int n;

	ck_assert_str_eq(vec_str(ex, "protocol_name"), SUITE_NAME);
	ck_assert_str_eq(vec_str(ex, "prologue"), "");
	is = jhex(ex, "init_static_priv", &l);
	ie = jhex(ex, "init_ephemeral_priv", &l);
	rs = jhex(ex, "resp_static_priv", &l);
	re = jhex(ex, "resp_ephemeral_priv", &l);
	ini = noise_hs_new(NOISE_INITIATOR, NULL, 0, is, ie);
	res = noise_hs_new(NOISE_RESPONDER, NULL, 0, rs, re);
	ck_assert_ptr_nonnull(ini);
	ck_assert_ptr_nonnull(res);
	assert_member(noise_hs_hash(ini), 32, ex,
	    "h_after_MixHash_empty_prologue");
	assert_member(noise_hs_local_static(ini), 32, ex, "init_static_pub");
	assert_member(noise_hs_local_static(res), 32, ex, "resp_static_pub");
	ck_assert_ptr_null(noise_hs_remote_static(ini));
	ck_assert_ptr_null(noise_hs_remote_static(res));

	/* msg 1: empty payload */
	wlen = framed_write(ini, ex, NULL, "wire_msg1");
	ck_assert_uint_eq(frame_get_len(buf), wlen - 2);
	ck_assert_int_eq(noise_hs_read(res, buf + 2, wlen - 2, out,
	    sizeof(out), &plen), 0);
	ck_assert_uint_eq(plen, 0);

	/* msg 2: responder's NoiseHandshakePayload */
	wlen = framed_write(res, ex, "msg2_payload_NoiseHandshakePayload",
	    "wire_msg2");
	ck_assert_uint_eq(frame_get_len(buf), wlen - 2);
	ck_assert_int_eq(noise_hs_read(ini, buf + 2, wlen - 2, out,
	    sizeof(out), &plen), 0);
	assert_member(out, plen, ex, "msg2_payload_NoiseHandshakePayload");
	assert_member(noise_hs_remote_static(ini), 32, ex, "resp_static_pub");

	/* msg 3: initiator's NoiseHandshakePayload */
	wlen = framed_write(ini, ex, "msg3_payload_NoiseHandshakePayload",
	    "wire_msg3");
	ck_assert_int_eq(noise_hs_read(res, buf + 2, wlen - 2, out,
	    sizeof(out), &plen), 0);
	assert_member(out, plen, ex, "msg3_payload_NoiseHandshakePayload");
	assert_member(noise_hs_remote_static(res), 32, ex, "init_static_pub");

	assert_member(noise_hs_hash(ini), 32, ex, "handshake_hash");
	assert_member(noise_hs_hash(res), 32, ex, "handshake_hash");
	ck_assert_int_eq(noise_hs_split(ini, &isend, &irecv), 0);
	ck_assert_int_eq(noise_hs_split(res, &rsend, &rrecv), 0);
	assert_member(isend.k, 32, ex, "k_initiator_to_responder");
	assert_member(rrecv.k, 32, ex, "k_initiator_to_responder");
	assert_member(rsend.k, 32, ex, "k_responder_to_initiator");
	assert_member(irecv.k, 32, ex, "k_responder_to_initiator");
	/* h survives split (it is not secret) */
	assert_member(noise_hs_hash(ini), 32, ex, "handshake_hash");

	/* first transport frame each way */
	tp = jhex(ex, "transport_plaintext", &tplen);
	n = frame_seal(&isend, tp, tplen, buf);
	ck_assert_int_eq(n, (int)FRAME_SEALED_LEN(tplen));
	assert_member(buf, (size_t)n, ex, "wire_transport_init_to_resp_n0");
	ck_assert_int_eq(frame_open(&rrecv, buf + 2, frame_get_len(buf),
	    out), (int)tplen);
	ck_assert_mem_eq(out, tp, tplen);
	n = frame_seal(&rsend, tp, tplen, buf);
	assert_member(buf, (size_t)n, ex, "wire_transport_resp_to_init_n0");
	ck_assert_int_eq(frame_open(&irecv, buf + 2, frame_get_len(buf),
	    out), (int)tplen);
	ck_assert_mem_eq(out, tp, tplen);

	noise_hs_free(ini);
	noise_hs_free(res);
	free(tp);
	free(is);
	free(ie);
	free(rs);
	free(re);
	json_decref(ex);
}
END_TEST

/* A handshake between fresh random keys, one message at a time. */
struct pair {
	struct noise_hs *hs[2];	/* [0] initiator, [1] responder */
	uint8_t msg[3][256];
	size_t len[3];
};

static const uint8_t payloads[3][8] = {
	"", "resp-id", "init-id"
};
static const size_t payload_lens[3] = { 0, 7, 7 };
static const size_t msg_min[3] = { 32, 96, 64 };	/* empty payload */

/* Both sides with random static and ephemeral keys. */
static void
pair_new(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->hs[0] = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL, NULL);
	p->hs[1] = noise_hs_new(NOISE_RESPONDER, NULL, 0, NULL, NULL);
	ck_assert_ptr_nonnull(p->hs[0]);
	ck_assert_ptr_nonnull(p->hs[1]);
}

/* Free both sides. */
static void
pair_free(struct pair *p)
{
	noise_hs_free(p->hs[0]);
	noise_hs_free(p->hs[1]);
}

/* Writer of message i (0-based) writes it. */
static void
pair_write(struct pair *p, int i)
{
	ck_assert_int_eq(noise_hs_write(p->hs[i % 2], payloads[i],
	    payload_lens[i], p->msg[i], sizeof(p->msg[i]), &p->len[i]), 0);
}

/* Message i written and read successfully. */
static void
pair_step(struct pair *p, int i)
{
	size_t plen;

	pair_write(p, i);
	ck_assert_int_eq(noise_hs_read(p->hs[(i + 1) % 2], p->msg[i],
	    p->len[i], out, sizeof(out), &plen), 0);
	ck_assert_uint_eq(plen, payload_lens[i]);
	ck_assert_mem_eq(out, payloads[i], plen);
}

/* Handshake and split; the four ciphers are returned. */
static void
pair_split(struct noise_cipher *isend, struct noise_cipher *irecv,
    struct noise_cipher *rsend, struct noise_cipher *rrecv)
{
	struct pair p;
	int i;

	pair_new(&p);
	for (i = 0; i < 3; i++)
		pair_step(&p, i);
	ck_assert_int_eq(noise_hs_split(p.hs[0], isend, irecv), 0);
	ck_assert_int_eq(noise_hs_split(p.hs[1], rsend, rrecv), 0);
	pair_free(&p);
}

/* Every call on a failed handshake fails. */
static void
assert_dead(struct noise_hs *hs)
{
	struct noise_cipher a, b;
	size_t len;

	ck_assert_int_eq(noise_hs_next(hs), NOISE_FAILED);
	ck_assert_int_eq(noise_hs_write(hs, NULL, 0, buf, sizeof(buf),
	    &len), -1);
	ck_assert_int_eq(noise_hs_read(hs, buf, 200, out, sizeof(out), &len),
	    -1);
	ck_assert_int_eq(noise_hs_split(hs, &a, &b), -1);
	ck_assert_int_eq(noise_hs_next(hs), NOISE_FAILED);
}

/* Random keys: full handshake, matching h, fresh ephemeral each time. */
START_TEST(test_random_roundtrip)
{
	struct pair p, q;
	struct noise_cipher isend, irecv, rsend, rrecv;
	int i;

	pair_new(&p);
	pair_new(&q);
	ck_assert_int_eq(noise_hs_next(p.hs[0]), NOISE_WRITE);
	ck_assert_int_eq(noise_hs_next(p.hs[1]), NOISE_READ);
	for (i = 0; i < 3; i++)
		pair_step(&p, i);
	pair_write(&q, 0);
	ck_assert_uint_eq(p.len[0], 32);
	ck_assert_mem_ne(p.msg[0], q.msg[0], 32);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(p.len[i], msg_min[i] + payload_lens[i]);
	ck_assert_mem_eq(noise_hs_hash(p.hs[0]), noise_hs_hash(p.hs[1]), 32);
	ck_assert_int_eq(noise_hs_split(p.hs[0], &isend, &irecv), 0);
	ck_assert_int_eq(noise_hs_split(p.hs[1], &rsend, &rrecv), 0);
	ck_assert_mem_eq(isend.k, rrecv.k, 32);
	ck_assert_mem_eq(rsend.k, irecv.k, 32);
	ck_assert_mem_ne(isend.k, irecv.k, 32);
	/* spent after split */
	assert_dead(p.hs[0]);
	assert_dead(p.hs[1]);
	pair_free(&p);
	pair_free(&q);
}
END_TEST

/*
 * One bit flipped in each byte of message 2 or 3 (_i = 1, 2): the
 * reader rejects it and is dead afterwards.
 */
START_TEST(test_tamper_msg23)
{
	struct pair p;
	size_t j, len, plen;
	int i = _i, m;

	pair_new(&p);
	for (m = 0; m < i; m++)
		pair_step(&p, m);
	pair_write(&p, i);
	len = p.len[i];
	pair_free(&p);
	for (j = 0; j < len; j++) {
		pair_new(&p);
		for (m = 0; m < i; m++)
			pair_step(&p, m);
		pair_write(&p, i);
		p.msg[i][j] ^= (uint8_t)(1u << (j % 8));
		ck_assert_int_eq(noise_hs_read(p.hs[(i + 1) % 2], p.msg[i],
		    p.len[i], out, sizeof(out), &plen), -1);
		assert_dead(p.hs[(i + 1) % 2]);
		pair_free(&p);
	}
}
END_TEST

/*
 * Message 1 is unauthenticated, so a flipped bit (any byte, including
 * the X25519 top bit) is caught when the initiator reads message 2.
 */
START_TEST(test_tamper_msg1)
{
	struct pair p;
	size_t j, plen;
	static const uint8_t pl[4] = "abcd";

	for (j = 0; j < 32 + sizeof(pl); j++) {
		pair_new(&p);
		ck_assert_int_eq(noise_hs_write(p.hs[0], pl, sizeof(pl),
		    p.msg[0], sizeof(p.msg[0]), &p.len[0]), 0);
		ck_assert_uint_eq(p.len[0], 36);
		/* j = 31 flips the top bit, which X25519 ignores */
		p.msg[0][j] ^= (uint8_t)(1u << (j % 8));
		ck_assert_int_eq(noise_hs_read(p.hs[1], p.msg[0], p.len[0],
		    out, sizeof(out), &plen), 0);
		pair_write(&p, 1);
		ck_assert_int_eq(noise_hs_read(p.hs[0], p.msg[1], p.len[1],
		    out, sizeof(out), &plen), -1);
		assert_dead(p.hs[0]);
		pair_free(&p);
	}
}
END_TEST

/* Wrong lengths per message: each must fail and kill the reader. */
static const struct {
	int msg;	/* 0..2 */
	long delta;	/* added to the valid length, or */
	size_t abs;	/* absolute length when delta == 0 */
} badlen[] = {
	{ 0, 0, 0 },		/* empty */
	{ 0, 0, 31 },		/* short e */
	{ 0, 0, 65536 },	/* over NOISE_MAX_MSG */
	{ 1, 0, 0 },
	{ 1, 0, 32 },		/* e only */
	{ 1, 0, 80 },		/* e, s: no payload tag */
	{ 1, 0, 95 },		/* one short of the minimum */
	{ 1, -1, 0 },		/* truncated payload */
	{ 1, 1, 0 },		/* one trailing byte */
	{ 1, 0, 65536 },
	{ 2, 0, 0 },
	{ 2, 0, 47 },		/* short s */
	{ 2, 0, 48 },		/* s only */
	{ 2, 0, 63 },		/* one short of the minimum */
	{ 2, -1, 0 },
	{ 2, 1, 0 },
	{ 2, 0, 65536 },
};

/* Table-driven wrong message lengths. */
START_TEST(test_bad_lengths)
{
	static uint8_t big[65536 + 16];
	struct pair p;
	int i = badlen[_i].msg, m;
	size_t len, plen;

	pair_new(&p);
	for (m = 0; m < i; m++)
		pair_step(&p, m);
	pair_write(&p, i);
	if (badlen[_i].delta != 0)
		len = (size_t)((long)p.len[i] + badlen[_i].delta);
	else
		len = badlen[_i].abs;
	memset(big, 0, sizeof(big));
	memcpy(big, p.msg[i], p.len[i]);
	ck_assert_int_eq(noise_hs_read(p.hs[(i + 1) % 2], big, len, out,
	    sizeof(out), &plen), -1);
	assert_dead(p.hs[(i + 1) % 2]);
	pair_free(&p);
}
END_TEST

/* Payload capacity one byte short fails; exactly enough succeeds. */
START_TEST(test_payload_cap)
{
	struct pair p;
	size_t plen, len;
	int i = _i, m;

	size_t need = msg_min[i] + payload_lens[i];

	pair_new(&p);
	for (m = 0; m < i; m++)
		pair_step(&p, m);
	/* writer: output capacity one byte short */
	ck_assert_int_eq(noise_hs_write(p.hs[i % 2], payloads[i],
	    payload_lens[i], buf, need - 1, &len), -1);
	assert_dead(p.hs[i % 2]);
	pair_free(&p);

	pair_new(&p);
	for (m = 0; m < i; m++)
		pair_step(&p, m);
	/* exact output capacity is enough */
	ck_assert_int_eq(noise_hs_write(p.hs[i % 2], payloads[i],
	    payload_lens[i], p.msg[i], need, &len), 0);
	ck_assert_uint_eq(len, need);
	if (payload_lens[i] > 0) {
		/* reader: payload capacity one byte short */
		ck_assert_int_eq(noise_hs_read(p.hs[(i + 1) % 2], p.msg[i],
		    len, out, payload_lens[i] - 1, &plen), -1);
		assert_dead(p.hs[(i + 1) % 2]);
	} else {
		/* an empty payload fits in zero bytes */
		ck_assert_int_eq(noise_hs_read(p.hs[(i + 1) % 2], p.msg[i],
		    len, NULL, 0, &plen), 0);
		ck_assert_uint_eq(plen, 0);
	}
	pair_free(&p);
}
END_TEST

/* A payload too large for a 65535-byte message is refused. */
START_TEST(test_payload_too_large)
{
	static uint8_t big[65536];
	struct noise_hs *hs;
	size_t len;

	memset(big, 'x', sizeof(big));
	hs = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL, NULL);
	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq(noise_hs_write(hs, big, 65535 - 32 + 1, buf,
	    sizeof(buf), &len), -1);
	assert_dead(hs);
	noise_hs_free(hs);
	hs = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL, NULL);
	ck_assert_int_eq(noise_hs_write(hs, big, 65535 - 32, buf,
	    sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 65535);
	noise_hs_free(hs);
}
END_TEST

/* Out-of-turn calls fail and kill the handshake. */
START_TEST(test_wrong_turn)
{
	struct noise_hs *hs;
	struct noise_cipher a, b;
	size_t len;

	memset(buf, 0x42, 64);
	hs = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL, NULL);
	ck_assert_int_eq(noise_hs_read(hs, buf, 64, out, sizeof(out), &len),
	    -1);
	assert_dead(hs);
	noise_hs_free(hs);

	hs = noise_hs_new(NOISE_RESPONDER, NULL, 0, NULL, NULL);
	ck_assert_int_eq(noise_hs_write(hs, NULL, 0, buf, sizeof(buf),
	    &len), -1);
	assert_dead(hs);
	noise_hs_free(hs);

	hs = noise_hs_new(NOISE_INITIATOR, NULL, 0, NULL, NULL);
	ck_assert_int_eq(noise_hs_split(hs, &a, &b), -1);
	assert_dead(hs);
	noise_hs_free(hs);
	noise_hs_free(NULL);
}
END_TEST

/* Low-order X25519 points (u = 0, 1, an order-8 point). */
static const char *const low_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
};

/* A low-order ephemeral makes the DH all-zero: both sides refuse. */
START_TEST(test_low_order)
{
	struct pair p;
	uint8_t *pt;
	size_t l, len, plen;

	pt = vec_hex(low_order[_i], &l);
	ck_assert_uint_eq(l, 32);

	/* responder gets it in msg 1: ee fails when writing msg 2 */
	pair_new(&p);
	ck_assert_int_eq(noise_hs_read(p.hs[1], pt, 32, out, sizeof(out),
	    &plen), 0);
	ck_assert_int_eq(noise_hs_write(p.hs[1], NULL, 0, buf, sizeof(buf),
	    &len), -1);
	assert_dead(p.hs[1]);
	pair_free(&p);

	/* initiator gets it in msg 2: ee fails before any tag check */
	pair_new(&p);
	pair_step(&p, 0);
	pair_write(&p, 1);
	memcpy(p.msg[1], pt, 32);
	ck_assert_int_eq(noise_hs_read(p.hs[0], p.msg[1], p.len[1], out,
	    sizeof(out), &plen), -1);
	assert_dead(p.hs[0]);
	pair_free(&p);
	free(pt);
}
END_TEST

/* Transport: round trip, tamper, replay, short input, in place. */
START_TEST(test_transport)
{
	static const uint8_t msg[] = "hello over noise";
	struct noise_cipher isend, irecv, rsend, rrecv;
	uint8_t ct[sizeof(msg) + 16], ct2[sizeof(msg) + 16];
	uint8_t ip[sizeof(msg) + 16];

	pair_split(&isend, &irecv, &rsend, &rrecv);
	ck_assert_int_eq(noise_cipher_encrypt(&isend, msg, sizeof(msg), ct),
	    0);
	ck_assert_uint_eq(isend.n, 1);

	/* flipped bit: rejected, counter unchanged, original still fine */
	memcpy(ct2, ct, sizeof(ct));
	ct2[3] ^= 0x10;
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct2, sizeof(ct2), out),
	    -1);
	ck_assert_uint_eq(rrecv.n, 0);
	memcpy(ct2, ct, sizeof(ct));
	ct2[sizeof(ct2) - 1] ^= 0x01;		/* in the tag */
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct2, sizeof(ct2), out),
	    -1);
	ck_assert_uint_eq(rrecv.n, 0);
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, msg, sizeof(msg));
	ck_assert_uint_eq(rrecv.n, 1);

	/* replay: the nonce has moved on */
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct, sizeof(ct), out),
	    -1);
	ck_assert_uint_eq(rrecv.n, 1);

	/* the wrong direction's key does not open it */
	ck_assert_int_eq(noise_cipher_encrypt(&isend, msg, sizeof(msg), ct),
	    0);
	ck_assert_int_eq(noise_cipher_decrypt(&irecv, ct, sizeof(ct), out),
	    -1);

	/* shorter than a tag */
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct, 15, out), -1);
	ck_assert_int_eq(noise_cipher_decrypt(&rrecv, ct, 0, out), -1);
	ck_assert_uint_eq(rrecv.n, 1);

	/* in place equals out of place, both ways */
	{
		struct noise_cipher a = rsend, b = rsend;

		ck_assert_int_eq(noise_cipher_encrypt(&a, msg, sizeof(msg),
		    ct), 0);
		memcpy(ip, msg, sizeof(msg));
		ck_assert_int_eq(noise_cipher_encrypt(&b, ip, sizeof(msg),
		    ip), 0);
		ck_assert_mem_eq(ip, ct, sizeof(ct));
		ck_assert_int_eq(noise_cipher_decrypt(&irecv, ip, sizeof(ip),
		    ip), 0);
		ck_assert_mem_eq(ip, msg, sizeof(msg));
	}
}
END_TEST

/* Nonce n = 2^64-1 is reserved: one message at 2^64-2, then refusal. */
START_TEST(test_nonce_exhaustion)
{
	struct noise_cipher tx, rx;
	uint8_t ct[16 + 4];

	memset(&tx, 0, sizeof(tx));
	memset(tx.k, 7, sizeof(tx.k));
	rx = tx;
	tx.n = UINT64_MAX - 1;
	rx.n = UINT64_MAX - 1;
	ck_assert_int_eq(noise_cipher_encrypt(&tx, (const uint8_t *)"abcd", 4,
	    ct), 0);
	ck_assert_uint_eq(tx.n, UINT64_MAX);
	ck_assert_int_eq(noise_cipher_encrypt(&tx, (const uint8_t *)"abcd", 4,
	    ct), -1);
	ck_assert_uint_eq(tx.n, UINT64_MAX);
	ck_assert_int_eq(noise_cipher_decrypt(&rx, ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, "abcd", 4);
	ck_assert_uint_eq(rx.n, UINT64_MAX);
	ck_assert_int_eq(noise_cipher_decrypt(&rx, ct, sizeof(ct), out), -1);
}
END_TEST

/* Nonce layout: 00000000 || LE64(n), checked at a many-byte n. */
START_TEST(test_nonce_layout)
{
	static const uint8_t nonce[12] = {
		0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
	};
	struct noise_cipher c;
	uint8_t a[5 + 16], b[5 + 16];

	ck_assert_int_ge(sodium_init(), 0);
	memset(&c, 0, sizeof(c));
	memset(c.k, 0x5a, sizeof(c.k));
	c.n = 0x0102030405060708ULL;
	ck_assert_int_eq(noise_cipher_encrypt(&c, (const uint8_t *)"hello", 5,
	    a), 0);
	ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_encrypt(b, NULL,
	    (const uint8_t *)"hello", 5, NULL, 0, NULL, nonce, c.k), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_uint_eq(c.n, 0x0102030405060709ULL);
}
END_TEST

/* noise_cipher_wipe zeroes key and counter. */
START_TEST(test_cipher_wipe)
{
	static const uint8_t zero[NOISE_KEY_LEN];
	struct noise_cipher isend, irecv, rsend, rrecv;

	pair_split(&isend, &irecv, &rsend, &rrecv);
	isend.n = 12345;
	ck_assert_mem_ne(isend.k, zero, sizeof(zero));
	noise_cipher_wipe(&isend);
	ck_assert_mem_eq(isend.k, zero, sizeof(zero));
	ck_assert_uint_eq(isend.n, 0);
}
END_TEST

/* The whole suite, run once per ChaCha20-Poly1305 implementation. */
static Suite *
noise_suite(void)
{
	Suite *s = suite_create("noise");
	TCase *tv = tcase_create("vectors");
	TCase *tn = tcase_create("negative");
	TCase *tt = tcase_create("transport");

	tcase_add_loop_test(tv, test_published_vectors, 0, NVECTORS);
	tcase_add_test(tv, test_libp2p_example);
	tcase_add_test(tv, test_random_roundtrip);
	suite_add_tcase(s, tv);

	tcase_set_timeout(tn, 60);
	tcase_add_loop_test(tn, test_tamper_msg23, 1, 3);
	tcase_add_test(tn, test_tamper_msg1);
	tcase_add_loop_test(tn, test_bad_lengths, 0,
	    (int)(sizeof(badlen) / sizeof(badlen[0])));
	tcase_add_loop_test(tn, test_payload_cap, 0, 3);
	tcase_add_test(tn, test_payload_too_large);
	tcase_add_test(tn, test_wrong_turn);
	tcase_add_loop_test(tn, test_low_order, 0,
	    (int)(sizeof(low_order) / sizeof(low_order[0])));
	suite_add_tcase(s, tn);

	tcase_add_test(tt, test_transport);
	tcase_add_test(tt, test_nonce_exhaustion);
	tcase_add_test(tt, test_nonce_layout);
	tcase_add_test(tt, test_cipher_wipe);
	suite_add_tcase(s, tt);

	return s;
}

int
main(void)
{
	static const enum aead_impl impls[] = { AEAD_SODIUM, AEAD_WOLFCRYPT };
	int rc = EXIT_SUCCESS;
	size_t k;

	for (k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		if (aead_select(impls[k]) != 0) {
			printf("test_noise: no %s in this build: its run is "
			    "skipped\n", aead_name(impls[k]));
			continue;
		}
		printf("test_noise: ChaCha20-Poly1305 by %s\n",
		    aead_name(aead_current()));
		if (vec_run(noise_suite()) != EXIT_SUCCESS)
			rc = EXIT_FAILURE;
	}
	return rc;
}
