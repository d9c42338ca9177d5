/*
 * secchan.c - the libp2p connection upgrade: multistream-select, then the
 * Noise XX handshake with the libp2p payload or a libp2p TLS 1.3
 * handshake (tls.c), then transport frames or records.
 *
 * Noise payload rules (libp2p noise spec, see docs/design.md):
 *   msg 1  I->R  e                       payload empty
 *   msg 2  R->I  e, ee, s, es            responder's signed identity
 *   msg 3  I->R  s, se                   initiator's signed identity
 * The initiator checks the responder's identity and the expected peer ID
 * before it sends msg 3; the responder authorises after msg 3 (caller).
 *
 * TLS (tls.c does the record layer and the certificate checks): the
 * dialer is the client and tells the session whom it expects, so a
 * wrong peer fails inside certificate verification, before the client
 * sends its own certificate.  Every node presents one certificate made
 * once in secchan_cred_new().
 */
#include "secchan.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "mss.h"
#include "noise.h"
#include "pb.h"
#include "sigcache.h"
#include "tls.h"
#include "tlsrec.h"
#include "tlscert.h"
#include "wire.h"

#define SIG_PREFIX_LEN (sizeof(NOISE_SIG_PREFIX) - 1)

struct secchan_cred {
	const struct identity *id;
	struct noise_keypair s;		/* the node's Noise static key */
	struct secchan_eph *eph;	/* ephemeral keys made ahead */
	uint8_t payload[KEY_PB_MAX + SIG_MAX + 16];
	size_t payload_len;
	uint8_t *tls_cert, *tls_key;	/* DER certificate, SEC1 key */
	size_t tls_cert_len, tls_key_len;
	struct sigcache *verified;	/* remote payload signatures */
};

/*
 * Ephemeral Noise key pairs made while the node waits for the network
 * (secchan_cred_refill), so that a handshake does not compute one while
 * the peer waits for its message.  Each is taken once and wiped.
 */
#define SECCHAN_EPH_POOL 4
struct secchan_eph {
	struct noise_keypair kp[SECCHAN_EPH_POOL];
	unsigned n;
};

enum sc_phase { PH_MSS, PH_NOISE, PH_TLS, PH_READY, PH_FAILED };

struct secchan {
	enum secchan_role role;
	const struct secchan_cred *cr;
	enum sec_proto protos[SEC_MAX];
	const char *ids[SEC_MAX];
	size_t nprotos;
	struct peer_id expected[SECCHAN_EXPECT_MAX];	/* dialer: any of */
	size_t nexpected;

	enum sc_phase phase;
	struct mss *mss;
	bool mss_lazy;			/* dialer: answer still to come */
	enum sec_proto proto;
	struct noise_hs *hs;
	int hs_msg;			/* next handshake message number */
	struct noise_cipher tx, rx;
	struct pubkey *peer_key;	/* Noise: owned */
	struct tls_session *tls;
	const struct pubkey *tls_peer;	/* TLS: owned by tls */
	bool peer_closed;		/* TLS close_notify received */
	bool closed;			/* secchan_close() called */
	unsigned na_sent;		/* listener: proposals refused */
	bool started;			/* secchan_start()/input() called */

	/* inlined muxer negotiation (secchan_set_muxers) */
	const char *const *muxers;	/* borrowed, preference order */
	size_t nmuxers;
	const char *muxer;		/* agreed: one of muxers, or NULL */
	bool peer_muxer;		/* the remote advertised a muxer */

	enum secchan_fail fail;
	char err[512];
};

/* Make one ephemeral key pair ahead if there is room; see secchan.h. */
bool
secchan_cred_refill(const struct secchan_cred *cr)
{
	struct secchan_eph *p = cr->eph;

	if (p->n >= SECCHAN_EPH_POOL ||
	    noise_keypair_init(&p->kp[p->n], NULL) != 0)
		return false;
	p->n++;
	return true;
}

/* Take a key pair made ahead into e (moved: the slot is wiped). */
static bool
sc_take_ephemeral(const struct secchan_cred *cr, struct noise_keypair *e)
{
	struct secchan_eph *p = cr->eph;

	if (p->n == 0)
		return false;
	p->n--;
	*e = p->kp[p->n];
	sodium_memzero(&p->kp[p->n], sizeof(p->kp[p->n]));
	return true;
}

/* Cache statistics of the remote signatures; see secchan.h. */
void
secchan_cred_sig_stats(const struct secchan_cred *cr, uint64_t *cached,
    uint64_t *verified)
{
	sigcache_stats(cr->verified, cached, verified);
}

/* Build the signed payload for the node's static key. */
struct secchan_cred *
secchan_cred_new(const struct identity *id)
{
	struct secchan_cred *cr;
	uint8_t msg[SIG_PREFIX_LEN + NOISE_KEY_LEN];
	uint8_t sig[SIG_MAX];
	const uint8_t *key;
	size_t keylen, siglen;

	if (sodium_init() < 0 || (cr = calloc(1, sizeof(*cr))) == NULL)
		return NULL;
	cr->id = id;
	if ((cr->verified = sigcache_new()) == NULL)
		goto fail;
	if ((cr->eph = calloc(1, sizeof(*cr->eph))) == NULL ||
	    noise_keypair_init(&cr->s, NULL) != 0)
		goto fail;
	memcpy(msg, NOISE_SIG_PREFIX, SIG_PREFIX_LEN);
	memcpy(msg + SIG_PREFIX_LEN, cr->s.pub, NOISE_KEY_LEN);
	if (identity_sign(id, msg, sizeof(msg), sig, sizeof(sig), &siglen) != 0)
		goto fail;
	key = pubkey_bytes(identity_pubkey(id), &keylen);
	cr->payload_len = pb_noise_payload_encode(key, keylen, sig, siglen,
	    cr->payload, sizeof(cr->payload));
	if (cr->payload_len == 0)
		goto fail;
	if (tlscert_generate(id, &cr->tls_cert, &cr->tls_cert_len,
	    &cr->tls_key, &cr->tls_key_len) != 0) {
		cr->tls_cert = cr->tls_key = NULL;
		goto fail;
	}
	sodium_memzero(sig, sizeof(sig));
	return cr;
fail:
	secchan_cred_free(cr);
	return NULL;
}

/* Wipe the static key and free. */
void
secchan_cred_free(struct secchan_cred *cr)
{
	if (cr == NULL)
		return;
	if (cr->tls_key != NULL)
		tlscert_free_key(cr->tls_key, cr->tls_key_len);
	free(cr->tls_cert);
	sigcache_free(cr->verified);
	if (cr->eph != NULL) {
		sodium_memzero(cr->eph, sizeof(*cr->eph));
		free(cr->eph);
	}
	sodium_memzero(cr, sizeof(*cr));
	free(cr);
}

/* Record a failure once; later failures keep the first reason. */
static enum secchan_status __attribute__((format(printf, 3, 4)))
sc_failf(struct secchan *sc, enum secchan_fail f, const char *fmt, ...)
{
	va_list ap;

	if (sc->phase != PH_FAILED) {
		va_start(ap, fmt);
		vsnprintf(sc->err, sizeof(sc->err), fmt, ap);
		va_end(ap);
		sc->fail = f;
		sc->phase = PH_FAILED;
	}
	noise_hs_free(sc->hs);
	sc->hs = NULL;
	return SECCHAN_FAILED;
}

/* Accept one more peer ID (dialer); see secchan.h. */
int
secchan_expect(struct secchan *sc, const struct peer_id *id)
{
	if (sc->role != SECCHAN_DIALER || sc->phase != PH_MSS ||
	    sc->nexpected == SECCHAN_EXPECT_MAX)
		return -1;
	if (!peer_id_in(sc->expected, sc->nexpected, id))
		sc->expected[sc->nexpected++] = *id;
	return 0;
}

/* Create an upgrade; see secchan.h. */
struct secchan *
secchan_new(enum secchan_role role, const struct secchan_cred *cr,
    const enum sec_proto *protos, size_t n, const struct peer_id *expected)
{
	struct secchan *sc;
	size_t i;

	if (role == SECCHAN_DIALER && expected == NULL)
		return NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	sc->role = role;
	sc->cr = cr;
	for (i = 0; i < n && sc->nprotos < SEC_MAX; i++) {
		if (!secchan_supported(protos[i]))
			continue;
		sc->protos[sc->nprotos] = protos[i];
		sc->ids[sc->nprotos++] = sec_proto_id(protos[i]);
	}
	if (expected != NULL)
		sc->expected[sc->nexpected++] = *expected;
	if (sc->nprotos == 0)
		goto fail;
	sc->mss = role == SECCHAN_DIALER ?
	    mss_new_dialer(sc->ids, sc->nprotos) :
	    mss_new_listener(sc->ids, sc->nprotos);
	if (sc->mss == NULL)
		goto fail;
	return sc;
fail:
	secchan_free(sc);
	return NULL;
}

/* Whether this build implements p. */
bool
secchan_supported(enum sec_proto p)
{
	return p == SEC_NOISE || p == SEC_TLS;
}

/* Wipe and free. */
void
secchan_free(struct secchan *sc)
{
	if (sc == NULL)
		return;
	mss_free(sc->mss);
	noise_hs_free(sc->hs);
	pubkey_free(sc->peer_key);
	tls_session_free(sc->tls);
	noise_cipher_wipe(&sc->tx);
	noise_cipher_wipe(&sc->rx);
	sodium_memzero(sc, sizeof(*sc));
	free(sc);
}

static enum secchan_status sc_begin_proto(struct secchan *, size_t,
    uint8_t *, size_t *);

/*
 * Opening bytes of the dialer.  With a single protocol to propose the
 * dialer is lazy (rust-libp2p's V1Lazy, multistream-select.md section 5):
 * the first handshake message follows the proposal at once instead of a
 * round trip later, and the listener's answer is checked when it comes.
 * A listener that does not speak the protocol answers "na", which fails
 * the upgrade just as it would have after waiting.
 */
int
secchan_start(struct secchan *sc, uint8_t *out, size_t *outlen)
{
	size_t n;

	*outlen = 0;
	sc->started = true;
	if (sc->role == SECCHAN_LISTENER)
		return 0;
	if (mss_start(sc->mss, out, outlen) != 0)
		return -1;
	if (sc->nprotos != 1)
		return 0;
	sc->mss_lazy = true;
	n = 0;
	if (sc_begin_proto(sc, 0, out + *outlen, &n) != SECCHAN_CONTINUE)
		return -1;
	*outlen += n;
	return 0;
}

/* Write one framed Noise handshake message with payload into out. */
static int
noise_emit(struct secchan *sc, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t *outlen)
{
	size_t room = SECCHAN_OUT_MAX - *outlen, mlen;
	uint8_t *p = out + *outlen;

	if (room < NOISE_FRAME_HDR + 1 ||
	    noise_hs_write(sc->hs, payload, plen, p + NOISE_FRAME_HDR,
	    room - NOISE_FRAME_HDR, &mlen) != 0) {
		sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "noise: cannot write handshake message %d", sc->hs_msg);
		return -1;
	}
	frame_put_len(p, mlen);
	*outlen += NOISE_FRAME_HDR + mlen;
	sc->hs_msg++;
	return 0;
}

/*
 * The muxer both sides listed in their NoiseExtensions: the first entry
 * of the initiator's list that the responder also lists (inlined muxer
 * negotiation; noise.md 9).  As initiator that is our order, as
 * responder the remote's; either way the result points into our list.
 */
static void
noise_pick_muxer(struct secchan *sc, const struct pb_noise_payload *pl)
{
	size_t i, j;

	sc->peer_muxer = pl->n_muxers > 0;
	sc->muxer = NULL;
	if (sc->role == SECCHAN_DIALER) {
		for (i = 0; i < sc->nmuxers && sc->muxer == NULL; i++)
			for (j = 0; j < pl->n_muxers; j++)
				if (strcmp(sc->muxers[i], pl->muxers[j]) == 0) {
					sc->muxer = sc->muxers[i];
					break;
				}
		return;
	}
	for (j = 0; j < pl->n_muxers && sc->muxer == NULL; j++)
		for (i = 0; i < sc->nmuxers; i++)
			if (strcmp(sc->muxers[i], pl->muxers[j]) == 0) {
				sc->muxer = sc->muxers[i];
				break;
			}
}

/*
 * Our handshake payload for message 2 or 3 into buf (NOISE_MAX_PAYLOAD
 * bytes): the node's signed identity, then NoiseExtensions with our
 * muxers if we have any (none: exactly the bytes of old).
 */
static int
noise_payload(struct secchan *sc, uint8_t *buf, size_t *len)
{
	size_t n;

	if (sc->cr->payload_len > NOISE_MAX_PAYLOAD)
		goto fail;
	memcpy(buf, sc->cr->payload, sc->cr->payload_len);
	*len = sc->cr->payload_len;
	if (sc->nmuxers == 0)
		return 0;
	n = pb_noise_extensions_encode(sc->muxers, sc->nmuxers, buf + *len,
	    NOISE_MAX_PAYLOAD - *len);
	if (n == 0)
		goto fail;
	*len += n;
	return 0;
fail:
	sc_failf(sc, SECCHAN_FAIL_INTERNAL, "noise: our handshake payload "
	    "with %zu muxer ids exceeds %d bytes", sc->nmuxers,
	    NOISE_MAX_PAYLOAD);
	return -1;
}

/*
 * Check the remote's payload: a libp2p public key whose signature covers
 * the Noise static key rs, and the expected peer ID if we have one.
 */
static int
noise_verify(struct secchan *sc, const uint8_t *p, size_t plen,
    const uint8_t *rs)
{
	struct pb_noise_payload *pl;
	uint8_t msg[SIG_PREFIX_LEN + NOISE_KEY_LEN], seen[SIGCACHE_DIGEST];
	char why[256], a[PEER_ID_STR_MAX], b[PEER_ID_STR_MAX];
	char want[SECCHAN_EXPECT_MAX * (PEER_ID_STR_MAX + 4)];
	int rc = -1;

	if ((pl = malloc(sizeof(*pl))) == NULL) {
		sc_failf(sc, SECCHAN_FAIL_INTERNAL, "noise: out of memory");
		return -1;
	}
	if (pb_noise_payload_decode(p, plen, pl) != 0) {
		sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: malformed handshake payload (%zu bytes): %s", plen,
		    pl->error != NULL ? pl->error : "unknown reason");
		goto out;
	}
	if (pl->identity_key_len == 0 || pl->identity_sig_len == 0) {
		sc_failf(sc, SECCHAN_FAIL_BAD_IDENTITY,
		    "noise: handshake payload lacks identity key or signature");
		goto out;
	}
	sc->peer_key = pubkey_parse(pl->identity_key, pl->identity_key_len,
	    why, sizeof(why));
	if (sc->peer_key == NULL) {
		sc_failf(sc, SECCHAN_FAIL_BAD_IDENTITY,
		    "noise: bad remote identity key: %s", why);
		goto out;
	}
	memcpy(msg, NOISE_SIG_PREFIX, SIG_PREFIX_LEN);
	memcpy(msg + SIG_PREFIX_LEN, rs, NOISE_KEY_LEN);
	/* the peer's static key and its signature repeat across handshakes */
	sigcache_digest(pl->identity_key, pl->identity_key_len, msg,
	    sizeof(msg), pl->identity_sig, pl->identity_sig_len, seen);
	if (!sigcache_has(sc->cr->verified, seen)) {
		if (pubkey_verify(sc->peer_key, msg, sizeof(msg),
		    pl->identity_sig, pl->identity_sig_len) != 0) {
			sc_failf(sc, SECCHAN_FAIL_BAD_IDENTITY,
			    "noise: identity signature over the static key "
			    "is invalid (claimed %s key of %s)",
			    key_type_name(pubkey_type(sc->peer_key)),
			    peer_id_to_string(pubkey_peer_id(sc->peer_key),
			    a, sizeof(a)));
			goto out;
		}
		sigcache_add(sc->cr->verified, seen);
	}
	if (sc->nexpected > 0 && !peer_id_in(sc->expected, sc->nexpected,
	    pubkey_peer_id(sc->peer_key))) {
		sc_failf(sc, SECCHAN_FAIL_PEER_MISMATCH,
		    "peer id mismatch: expected %s, remote is %s",
		    peer_id_list(sc->expected, sc->nexpected, want,
		    sizeof(want)),
		    peer_id_to_string(pubkey_peer_id(sc->peer_key), b,
		    sizeof(b)));
		goto out;
	}
	noise_pick_muxer(sc, pl);
	rc = 0;
out:
	sodium_memzero(pl, sizeof(*pl));
	free(pl);
	return rc;
}

/* Finish the handshake: derive the transport ciphers. */
static enum secchan_status
noise_finish(struct secchan *sc)
{
	if (noise_hs_split(sc->hs, &sc->tx, &sc->rx) != 0)
		return sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "noise: split failed");
	noise_hs_free(sc->hs);
	sc->hs = NULL;
	sc->phase = PH_READY;
	return SECCHAN_READY;
}

/*
 * Handle one whole handshake message body.  Message numbers: 1 (I->R),
 * 2 (R->I), 3 (I->R).
 */
static enum secchan_status
noise_on_message(struct secchan *sc, const uint8_t *m, size_t mlen,
    uint8_t *out, size_t *outlen)
{
	uint8_t payload[NOISE_MAX_PAYLOAD], our[NOISE_MAX_PAYLOAD];
	size_t plen, olen;
	int num = sc->hs_msg;
	enum secchan_status st = SECCHAN_CONTINUE;

	if (noise_hs_next(sc->hs) != NOISE_READ) {
		st = sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: unexpected handshake message");
		goto out;
	}
	if (noise_hs_read(sc->hs, m, mlen, payload, sizeof(payload),
	    &plen) != 0) {
		st = sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: handshake message %d (%zu bytes) rejected: "
		    "wrong length or failed authentication", num, mlen);
		goto out;
	}
	sc->hs_msg++;
	switch (num) {
	case 1:		/* responder: answer with e, ee, s, es + identity */
		if (noise_payload(sc, our, &olen) != 0 ||
		    noise_emit(sc, our, olen, out, outlen) != 0)
			st = SECCHAN_FAILED;
		break;
	case 2:		/* initiator: authenticate before sending msg 3 */
		if (noise_verify(sc, payload, plen,
		    noise_hs_remote_static(sc->hs)) != 0 ||
		    noise_payload(sc, our, &olen) != 0 ||
		    noise_emit(sc, our, olen, out, outlen) != 0) {
			st = SECCHAN_FAILED;
			break;
		}
		st = noise_finish(sc);
		break;
	case 3:		/* responder: authenticate the initiator */
		if (noise_verify(sc, payload, plen,
		    noise_hs_remote_static(sc->hs)) != 0) {
			st = SECCHAN_FAILED;
			break;
		}
		st = noise_finish(sc);
		break;
	default:
		st = sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: unexpected handshake message %d", num);
	}
out:
	sodium_memzero(payload, sizeof(payload));
	sodium_memzero(our, sizeof(our));
	return st;
}

/*
 * tls_take_output() without the empty case: tls.c would memcpy from a
 * NULL queue when nothing was ever queued (UBSan flags it).
 */
static size_t
sc_tls_take(struct secchan *sc, uint8_t *out, size_t cap)
{
	if (tls_pending_output(sc->tls) == 0 || cap == 0)
		return 0;
	return tls_take_output(sc->tls, out, cap);
}

/* Move the TLS session's pending output into out (handshake flights). */
static int
tls_drain(struct secchan *sc, uint8_t *out, size_t *outlen)
{
	size_t n = tls_pending_output(sc->tls);

	if (n > SECCHAN_OUT_MAX - *outlen) {
		sc_failf(sc, SECCHAN_FAIL_INTERNAL, "tls: handshake flight of "
		    "%zu bytes exceeds %d", n, SECCHAN_OUT_MAX);
		return -1;
	}
	*outlen += sc_tls_take(sc, out + *outlen, n);
	return 0;
}

/* Record the TLS session's failure under its class. */
static enum secchan_status
tls_failed(struct secchan *sc, const char *what)
{
	static const enum secchan_fail class[] = {
		[TLS_FAIL_NONE] = SECCHAN_FAIL_BAD_MESSAGE,
		[TLS_FAIL_PROTOCOL] = SECCHAN_FAIL_BAD_MESSAGE,
		[TLS_FAIL_ALERT] = SECCHAN_FAIL_BAD_MESSAGE,
		[TLS_FAIL_IDENTITY] = SECCHAN_FAIL_BAD_IDENTITY,
		[TLS_FAIL_PEER_MISMATCH] = SECCHAN_FAIL_PEER_MISMATCH,
		[TLS_FAIL_INTERNAL] = SECCHAN_FAIL_INTERNAL,
	};
	enum tls_fail k = tls_fail_kind(sc->tls);

	if (k == TLS_FAIL_NONE)
		return sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE, "tls: %s failed",
		    what);
	return sc_failf(sc, class[k], "%s", tls_error(sc->tls));
}

/*
 * Advance the TLS handshake with in[0..len): feed what the session's
 * queue takes, step, collect its output.  Sets *used.
 */
static enum secchan_status
tls_step(struct secchan *sc, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *outlen)
{
	enum tls_status ts;
	size_t n;

	*used = 0;
	for (;;) {
		n = tls_feed(sc->tls, in + *used, len - *used);
		*used += n;
		ts = tls_handshake(sc->tls);
		if (tls_drain(sc, out, outlen) != 0)
			return SECCHAN_FAILED;
		if (ts == TLS_DONE) {
			sc->tls_peer = tls_remote_key(sc->tls);
			if (sc->tls_peer == NULL)
				return sc_failf(sc, SECCHAN_FAIL_INTERNAL,
				    "tls: no verified peer key");
			sc->muxer = tls_muxer(sc->tls);
			sc->peer_muxer = tls_peer_offered_muxer(sc->tls);
			sc->phase = PH_READY;
			return SECCHAN_READY;
		}
		if (ts != TLS_WANT_IO)
			return tls_failed(sc, "handshake");
		if (n == 0)
			return SECCHAN_CONTINUE;
	}
}

/* Create the TLS session; the dialer's ClientHello follows in tls_step. */
static enum secchan_status
tls_begin(struct secchan *sc)
{
	char err[256];
	size_t i;

	sc->tls = tls_session_new_cert(sc->role == SECCHAN_DIALER ?
	    TLS_CLIENT : TLS_SERVER, sc->cr->tls_cert, sc->cr->tls_cert_len,
	    sc->cr->tls_key, sc->cr->tls_key_len, err, sizeof(err));
	if (sc->tls == NULL)
		return sc_failf(sc, SECCHAN_FAIL_INTERNAL, "%s", err);
	for (i = 0; i < sc->nexpected; i++)
		tls_expect_peer(sc->tls, &sc->expected[i]);
	if (tls_set_muxers(sc->tls, sc->muxers, sc->nmuxers) != 0)
		return sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "tls: cannot configure %zu muxer ALPN ids", sc->nmuxers);
	sc->phase = PH_TLS;
	return SECCHAN_CONTINUE;
}

/* Start security protocol i; the dialer's first message goes to out. */
static enum secchan_status
sc_begin_proto(struct secchan *sc, size_t i, uint8_t *out, size_t *outlen)
{
	struct noise_keypair e;
	bool have_e;
	size_t used;

	sc->proto = sc->protos[i];
	if (sc->proto == SEC_TLS) {
		if (tls_begin(sc) != SECCHAN_CONTINUE)
			return SECCHAN_FAILED;
		/* the dialer's ClientHello */
		return sc->role == SECCHAN_DIALER ?
		    tls_step(sc, (const uint8_t *)"", 0, &used, out, outlen) :
		    SECCHAN_CONTINUE;
	}
	have_e = sc_take_ephemeral(sc->cr, &e);
	sc->hs = noise_hs_new_keys(sc->role == SECCHAN_DIALER ?
	    NOISE_INITIATOR : NOISE_RESPONDER, NULL, 0, &sc->cr->s,
	    have_e ? &e : NULL);
	sodium_memzero(&e, sizeof(e));
	if (sc->hs == NULL)
		return sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "noise: cannot create handshake state");
	sc->hs_msg = 1;
	sc->phase = PH_NOISE;
	if (sc->role == SECCHAN_DIALER &&
	    noise_emit(sc, NULL, 0, out, outlen) != 0)
		return SECCHAN_FAILED;
	return SECCHAN_CONTINUE;
}

/* The multistream machine selected a protocol: start it. */
static enum secchan_status
sc_begin_security(struct secchan *sc, uint8_t *out, size_t *outlen)
{
	const char *sel = mss_selected(sc->mss);
	size_t i;

	for (i = 0; i < sc->nprotos; i++)
		if (sel != NULL && strcmp(sel, sc->ids[i]) == 0)
			break;
	if (i == sc->nprotos)
		return sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "multistream: selected an unknown protocol");
	mss_free(sc->mss);
	sc->mss = NULL;
	return sc_begin_proto(sc, i, out, outlen);
}

/* Map a multistream failure to a failure class. */
static enum secchan_fail
sc_mss_fail_class(const struct mss *m)
{
	return mss_fail_kind(m) == MSS_FAIL_NO_PROTOCOL ?
	    SECCHAN_FAIL_NO_PROTOCOL : SECCHAN_FAIL_MSS;
}

/* Count the "na" answers among the multistream messages in m[0..n). */
static unsigned
sc_count_na(const uint8_t *m, size_t n)
{
	unsigned na = 0;
	size_t i = 0;

	/* our own output: every message is shorter than 128 bytes */
	while (i < n && m[i] < 0x80) {
		if (m[i] == 3 && i + 4 <= n &&
		    memcmp(m + i + 1, "na\n", 3) == 0)
			na++;
		i += 1 + (size_t)m[i];
	}
	return na;
}

/*
 * A listener's "no common security protocol" sentence, naming the
 * protocols it accepts, into buf.
 */
static void
sc_no_common(const struct secchan *sc, char *buf, size_t cap)
{
	size_t i, used;

	used = (size_t)snprintf(buf, cap, "multistream: no common security "
	    "protocol: we refused every proposal of the dialer and accept "
	    "only");
	for (i = 0; i < sc->nprotos && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, " %s",
		    sc->ids[i]);
}

/*
 * The multistream machine failed.  A listener that had refused a
 * proposal says so first: a lazy dialer (multistream-select.md section
 * 5) sends its handshake right behind the proposal, so what breaks the
 * negotiation after our "na" is that handshake, and the cause the
 * operator needs is the missing common protocol.
 */
static enum secchan_status
sc_mss_failed(struct secchan *sc)
{
	char why[160];

	if (sc->role == SECCHAN_LISTENER && sc->na_sent > 0) {
		sc_no_common(sc, why, sizeof(why));
		return sc_failf(sc, SECCHAN_FAIL_NO_PROTOCOL,
		    "%s (after our na: %s)", why, mss_error(sc->mss));
	}
	return sc_failf(sc, sc_mss_fail_class(sc->mss), "%s",
	    mss_error(sc->mss));
}

/*
 * Lazy dialer: read the listener's header and echo that were not waited
 * for.  0 once they arrived, 1 if more input is needed, -1 on failure.
 */
static int
sc_lazy_answer(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed)
{
	uint8_t junk[MSS_OUT_MAX];
	size_t used, olen;
	enum mss_status ms;

	ms = mss_input(sc->mss, in, len, &used, junk, &olen);
	*consumed += used;
	if (ms == MSS_FAILED) {
		sc_mss_failed(sc);
		return -1;
	}
	if (ms == MSS_CONTINUE)
		return 1;
	mss_free(sc->mss);
	sc->mss = NULL;
	sc->mss_lazy = false;
	return 0;
}

/* Drive the upgrade with new input; see secchan.h. */
enum secchan_status
secchan_input(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed, uint8_t *out, size_t *outlen)
{
	enum secchan_status st = SECCHAN_CONTINUE;
	size_t used, mlen, olen;
	enum mss_status ms;

	*consumed = 0;
	*outlen = 0;
	sc->started = true;
	if (sc->mss_lazy && sc->phase != PH_FAILED) {
		int r = sc_lazy_answer(sc, in, len, consumed);

		if (r != 0)
			return r < 0 ? SECCHAN_FAILED : SECCHAN_CONTINUE;
	}
	while (st == SECCHAN_CONTINUE) {
		switch (sc->phase) {
		case PH_MSS:
			ms = mss_input(sc->mss, in + *consumed,
			    len - *consumed, &used, out + *outlen, &olen);
			*consumed += used;
			if (sc->role == SECCHAN_LISTENER)
				sc->na_sent += sc_count_na(out + *outlen, olen);
			*outlen += olen;
			if (ms == MSS_FAILED)
				return sc_mss_failed(sc);
			if (ms == MSS_CONTINUE)
				return SECCHAN_CONTINUE;
			st = sc_begin_security(sc, out, outlen);
			break;
		case PH_NOISE:
			if (len - *consumed < NOISE_FRAME_HDR)
				return SECCHAN_CONTINUE;
			mlen = frame_get_len(in + *consumed);
			if (len - *consumed < NOISE_FRAME_HDR + mlen)
				return SECCHAN_CONTINUE;
			st = noise_on_message(sc,
			    in + *consumed + NOISE_FRAME_HDR, mlen, out,
			    outlen);
			*consumed += NOISE_FRAME_HDR + mlen;
			break;
		case PH_TLS:
			st = tls_step(sc, in + *consumed, len - *consumed,
			    &used, out, outlen);
			*consumed += used;
			if (st == SECCHAN_CONTINUE)
				return st;	/* all input taken */
			break;
		case PH_READY:
			return SECCHAN_READY;
		case PH_FAILED:
			return SECCHAN_FAILED;
		}
	}
	return st;
}

/* Current status. */
enum secchan_status
secchan_status(const struct secchan *sc)
{
	return sc->phase == PH_READY ? SECCHAN_READY :
	    sc->phase == PH_FAILED ? SECCHAN_FAILED : SECCHAN_CONTINUE;
}

/* Failure class. */
enum secchan_fail
secchan_fail(const struct secchan *sc)
{
	return sc->fail;
}

/* Failure text. */
const char *
secchan_error(const struct secchan *sc)
{
	return sc->err;
}

/* Metric label of a failure class. */
const char *
secchan_fail_name(enum secchan_fail f)
{
	switch (f) {
	case SECCHAN_FAIL_NONE:
		return "none";
	case SECCHAN_FAIL_MSS:
		return "bad_message";
	case SECCHAN_FAIL_NO_PROTOCOL:
		return "no_common_protocol";
	case SECCHAN_FAIL_BAD_MESSAGE:
		return "bad_message";
	case SECCHAN_FAIL_BAD_IDENTITY:
		return "bad_identity";
	case SECCHAN_FAIL_PEER_MISMATCH:
		return "peer_id_mismatch";
	case SECCHAN_FAIL_INTERNAL:
		return "internal";
	}
	return "unknown";
}

/* Protocol in use. */
enum sec_proto
secchan_proto(const struct secchan *sc)
{
	return sc->proto;
}

/* Authenticated remote peer (valid once READY). */
const struct peer_id *
secchan_peer(const struct secchan *sc)
{
	const struct pubkey *k = secchan_peer_key(sc);

	return k != NULL ? pubkey_peer_id(k) : NULL;
}

/* Authenticated remote key (valid once READY). */
const struct pubkey *
secchan_peer_key(const struct secchan *sc)
{
	return sc->peer_key != NULL ? sc->peer_key : sc->tls_peer;
}

/* Whether the session speaks TLS (and has a session). */
static bool
sc_is_tls(const struct secchan *sc)
{
	return sc->proto == SEC_TLS && sc->tls != NULL;
}

/* Worst-case wire bytes of sealing len bytes, pending output included. */
size_t
secchan_seal_bound(const struct secchan *sc, size_t len)
{
	return sc_is_tls(sc) ? tls_seal_bound(sc->tls, len) :
	    FRAME_SEALED_LEN(len);
}

/* Seal through TLS: records after any pending protocol bytes. */
static int
sc_tls_seal(struct secchan *sc, const uint8_t *pt, size_t len, uint8_t *out,
    size_t cap)
{
	int w;

	if (sc->closed) {
		sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "tls: data after our close_notify");
		return -1;
	}
	if ((w = tls_seal(sc->tls, pt, len, out, cap)) < 0)
		tls_failed(sc, "write");
	return w;
}

/* Header bytes before the plaintext of an in-place seal; see secchan.h. */
size_t
secchan_seal_hdr(const struct secchan *sc, size_t len)
{
	if (sc->phase != PH_READY)
		return 0;
	if (!sc_is_tls(sc))
		return NOISE_FRAME_HDR;
	return tls_offloaded(sc->tls) && tls_pending_output(sc->tls) == 0 &&
	    len <= TLSREC_MAX_PLAINTEXT ? TLSREC_HDR : 0;
}

/* Largest plaintext one in-place seal takes. */
size_t
secchan_seal_max(const struct secchan *sc)
{
	return sc_is_tls(sc) && tls_offloaded(sc->tls) ?
	    TLSREC_MAX_PLAINTEXT : SECCHAN_SEAL_MAX;
}

/* Back-to-back in-place seals possible now; see secchan.h. */
size_t
secchan_seal_run(const struct secchan *sc, size_t want)
{
	if (sc->phase != PH_READY)
		return 0;
	if (!sc_is_tls(sc))
		return want;
	return sc->closed ? 0 : tls_seal_run(sc->tls, want);
}

/* Bytes after the plaintext of one in-place seal. */
size_t
secchan_seal_tail(const struct secchan *sc)
{
	return sc_is_tls(sc) ? TLSREC_OVERHEAD - TLSREC_HDR : NOISE_TAG_LEN;
}

/* Seal one transport frame (Noise) or up to four records (TLS). */
int
secchan_seal(struct secchan *sc, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap)
{
	int n;

	if (sc->phase != PH_READY || len > SECCHAN_SEAL_MAX ||
	    cap < secchan_seal_bound(sc, len))
		return -1;
	if (sc_is_tls(sc))
		return sc_tls_seal(sc, pt, len, out, cap);
	if ((n = frame_seal(&sc->tx, pt, len, out)) < 0)
		sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "noise: send nonce exhausted, closing as the spec requires");
	return n;
}

/* Whether TLS records can be opened in place: offloaded, queue empty. */
static bool
sc_tls_direct(const struct secchan *sc)
{
	return tls_offloaded(sc->tls) &&
	    tls_input_space(sc->tls) == TLS_INPUT_MAX;
}

/* Header bytes of an in-place open; see secchan.h. */
size_t
secchan_open_hdr(const struct secchan *sc)
{
	if (sc->phase != PH_READY)
		return 0;
	if (!sc_is_tls(sc))
		return NOISE_FRAME_HDR;
	return !sc->peer_closed && sc_tls_direct(sc) ? TLSREC_HDR : 0;
}

/* Size of the whole frame or record peek starts; see secchan.h. */
size_t
secchan_open_need(const struct secchan *sc, const uint8_t *peek,
    size_t avail)
{
	size_t hdr = secchan_open_hdr(sc);

	if (hdr == 0 || avail < hdr)
		return 0;
	if (hdr == NOISE_FRAME_HDR)
		return NOISE_FRAME_HDR + frame_get_len(peek);
	return TLSREC_HDR + tlsrec_hdr_len(peek);
}

/* What the next open needs; see secchan.h. */
size_t
secchan_open_room(const struct secchan *sc, const uint8_t *peek,
    size_t avail, size_t *in_len)
{
	size_t blen, space, hdr = secchan_open_hdr(sc);
	int tl;

	*in_len = 0;
	if (sc->phase != PH_READY)
		return 0;
	if (hdr == TLSREC_HDR) {
		if (avail < TLSREC_HDR)
			return 0;
		if ((tl = tlsrec_body_len(peek)) < 0) {
			/* malformed: let secchan_open() say so */
			*in_len = TLSREC_HDR;
			return TLSREC_MAX_PLAINTEXT;
		}
		if (avail < TLSREC_HDR + (size_t)tl)
			return 0;
		*in_len = TLSREC_HDR + (size_t)tl;
		return (size_t)tl > TLSREC_TAG + 1 ?
		    (size_t)tl - TLSREC_TAG - 1 : 1;
	}
	if (sc_is_tls(sc)) {
		if (sc->peer_closed)
			return 0;
		space = tls_input_space(sc->tls);
		*in_len = avail < space ? avail : space;
		return avail > 0 || space < TLS_INPUT_MAX ?
		    TLS_MAX_PLAINTEXT : 0;
	}
	if (avail < NOISE_FRAME_HDR)
		return 0;
	blen = frame_get_len(peek);
	if (blen < NOISE_TAG_LEN) {
		*in_len = avail < NOISE_FRAME_HDR + blen ? avail :
		    NOISE_FRAME_HDR + blen;
		return 1;	/* malformed: let secchan_open() say so */
	}
	if (avail < NOISE_FRAME_HDR + blen)
		return 0;
	*in_len = NOISE_FRAME_HDR + blen;
	return blen > NOISE_TAG_LEN ? blen - NOISE_TAG_LEN : 1;
}

/*
 * The result n of a TLS read or record open: data (n >= 0), the peer's
 * close_notify (0, peer_closed set) or a failure (-1, reason set).
 */
static int
sc_tls_opened(struct secchan *sc, int n)
{
	if (n >= 0)
		return n;
	if (tls_status(sc->tls) == TLS_CLOSED) {
		sc->peer_closed = true;
		return 0;
	}
	tls_failed(sc, "read");
	return -1;
}

/* Open through TLS: feed the queue, read at most one record. */
static int
sc_tls_open(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed, uint8_t *out, size_t cap)
{
	int n;

	if (sc->peer_closed)
		return 0;
	*consumed = tls_feed(sc->tls, in, len);
	n = tls_read(sc->tls, out, cap);
	return sc_tls_opened(sc, n);
}

/* Open one transport frame (Noise) or record (TLS). */
int
secchan_open(struct secchan *sc, const uint8_t *in, size_t len,
    size_t *consumed, size_t *need, uint8_t *out, size_t cap)
{
	size_t blen;
	int n;

	*consumed = 0;
	*need = sc_is_tls(sc) ? 0 : NOISE_FRAME_HDR;
	if (sc->phase != PH_READY)
		return -1;
	if (sc_is_tls(sc))
		return sc_tls_open(sc, in, len, consumed, out, cap);
	if (len < NOISE_FRAME_HDR)
		return 0;
	blen = frame_get_len(in);
	if (blen < NOISE_TAG_LEN) {
		sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: transport frame of %zu bytes is shorter than "
		    "its 16-byte tag", blen);
		return -1;
	}
	*need = NOISE_FRAME_HDR + blen;
	if (len < *need)
		return 0;
	if (cap < blen - NOISE_TAG_LEN)
		return -1;
	n = frame_open(&sc->rx, in + NOISE_FRAME_HDR, blen, out);
	if (n < 0) {
		sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: transport frame failed authentication "
		    "(tampered, replayed or reordered)");
		return -1;
	}
	*consumed = *need;
	return n;
}

/* Open one Noise frame or TLS record body in place. */
int
secchan_open_inplace(struct secchan *sc, const uint8_t *hdr, uint8_t *body,
    size_t blen)
{
	int n;

	if (secchan_open_hdr(sc) == 0) {
		sc_failf(sc, SECCHAN_FAIL_INTERNAL,
		    "secchan: in-place open outside an established session");
		return -1;
	}
	if (sc_is_tls(sc))
		return sc_tls_opened(sc, tls_open_record(sc->tls, hdr, body,
		    blen));
	if ((n = frame_open(&sc->rx, body, blen, body)) < 0)
		sc_failf(sc, SECCHAN_FAIL_BAD_MESSAGE,
		    "noise: transport frame failed authentication "
		    "(tampered, replayed or reordered)");
	return n;
}

/* The remote sent close_notify. */
bool
secchan_peer_closed(const struct secchan *sc)
{
	return sc->peer_closed;
}

/* Whether a FIN without a close message ends the stream cleanly. */
bool
secchan_fin_is_eof(const struct secchan *sc)
{
	return sc->proto != SEC_TLS;
}

/* End our direction: TLS queues close_notify. */
int
secchan_close(struct secchan *sc)
{
	if (sc->phase != PH_READY)
		return -1;
	if (sc->closed)
		return 0;
	sc->closed = true;
	if (sc_is_tls(sc) && tls_shutdown(sc->tls) != 0) {
		tls_failed(sc, "shutdown");
		return -1;
	}
	return 0;
}

/* Protocol bytes waiting outside seal. */
size_t
secchan_pending(const struct secchan *sc)
{
	return sc_is_tls(sc) ? tls_pending_output(sc->tls) : 0;
}

/* Take pending protocol bytes. */
size_t
secchan_take(struct secchan *sc, uint8_t *out, size_t cap)
{
	return sc_is_tls(sc) ? sc_tls_take(sc, out, cap) : 0;
}

/* Why the remote's EOF cut the handshake short, from our side. */
void
secchan_eof_hint(const struct secchan *sc, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (sc->mss_lazy && sc->phase != PH_FAILED) {
		snprintf(buf, cap, "multistream: the listener closed before "
		    "answering our proposal of %s", sc->ids[0]);
		return;
	}
	if (sc->phase != PH_MSS || sc->role != SECCHAN_LISTENER ||
	    sc->na_sent == 0)
		return;
	sc_no_common(sc, buf, cap);
}

/* Transport cipher in use. */
const char *
secchan_cipher(const struct secchan *sc)
{
	if (sc->phase != PH_READY)
		return "";
	return sc_is_tls(sc) ? tls_cipher(sc->tls) : "ChaChaPoly";
}

/* Muxers to advertise in the handshake; see secchan.h. */
int
secchan_set_muxers(struct secchan *sc, const char *const *ids, size_t n)
{
	size_t i, j, len;

	if (sc->started || n > SECCHAN_MUXERS_MAX || (n > 0 && ids == NULL))
		return -1;
	for (i = 0; i < n; i++) {
		if (ids[i] == NULL)
			return -1;
		len = strlen(ids[i]);
		if (len == 0 || len > SECCHAN_MUXER_ID_MAX ||
		    strchr(ids[i], ',') != NULL ||
		    strcmp(ids[i], TLS_ALPN) == 0 ||
		    !pb_utf8_valid((const uint8_t *)ids[i], len))
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				return -1;
	}
	sc->muxers = n > 0 ? ids : NULL;
	sc->nmuxers = n;
	return 0;
}

/* The muxer agreed inside the handshake, once READY. */
const char *
secchan_muxer(const struct secchan *sc)
{
	return sc->phase == PH_READY ? sc->muxer : NULL;
}

/* Whether the remote advertised any muxer, once READY. */
bool
secchan_peer_offered_muxer(const struct secchan *sc)
{
	return sc->phase == PH_READY && sc->peer_muxer;
}
