/*
 * tls.c - libp2p /tls/1.0.0 session over wolfSSL, sans I/O (L1).
 *
 * The only file that includes <wolfssl/ssl.h>.  wolfSSL talks to two
 * byte queues through custom I/O callbacks: it reads from the input
 * queue the caller fills with tls_feed() (WANT_READ when empty) and
 * appends to the output queue the caller drains with tls_take_output().
 *
 * Peer authentication: wolfSSL's chain validation is switched into "ask
 * the callback" mode (VERIFY_PEER | FAIL_IF_NO_PEER_CERT with a verify
 * callback).  The callback ignores wolfSSL's verdict (a libp2p cert is
 * self-signed and may carry a critical extension wolfSSL does not know)
 * and runs tlscert_verify() on the raw DER chain instead; returning 0
 * makes wolfSSL abort with a bad_certificate alert.  wolfSSL still
 * checks the TLS 1.3 CertificateVerify with the certificate key.
 *
 * A critical libp2p extension only reaches the callback if wolfSSL was
 * built with WOLFSSL_NO_ASN_STRICT (contrib/build-wolfssl.sh): stock
 * 5.5.4 aborts in ProcessPeerCerts on its first, NO_VERIFY parse of the
 * leaf, before any callback (docs/tls.md).  tlscert_verify() itself
 * rejects every other unknown critical extension.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "peerid.h"
#include "tls.h"
#include "tlscert.h"
#include "tlsrec.h"

/*
 * After the handshake, wolfSSL's traffic secrets move into two tlsrec
 * directions and the WOLFSSL object is freed (tls_offload): an idle
 * tunnel then holds a few hundred bytes of TLS state, not ~40 KB, and a
 * record is sealed straight into the caller's buffer.  This needs the
 * secret callback (HAVE_SECRET_CALLBACK, contrib/build-wolfssl.sh);
 * without it wolfSSL keeps the records, as before.
 */
#if defined(HAVE_SECRET_CALLBACK) && defined(ATOMIC_USER) && \
    defined(WORD64_AVAILABLE)
#define TLS_CAN_OFFLOAD 1
#else
#define TLS_CAN_OFFLOAD 0
#endif

/*
 * Suite preference: AES-GCM first where wolfSSL has its AES-NI code and
 * the CPU has AES-NI (several times faster than any ChaCha20 here);
 * otherwise ChaCha20-Poly1305, which beats table-based AES in C.
 */
#define TLS_SUITES_CHACHA_FIRST \
	"TLS13-CHACHA20-POLY1305-SHA256:" \
	"TLS13-AES128-GCM-SHA256:" \
	"TLS13-AES256-GCM-SHA384"
#define TLS_SUITES_AES_FIRST \
	"TLS13-AES128-GCM-SHA256:" \
	"TLS13-AES256-GCM-SHA384:" \
	"TLS13-CHACHA20-POLY1305-SHA256"

enum {
	MAX_PEER_CERTS = 8,	/* we only look at how many there are */
	OUT_INITIAL = 8192,
	/*
	 * Records sealed under one key before we update it (RFC 8446 5.5
	 * puts AES-GCM's limit at 2^24.5 full records).
	 */
	TLS_REKEY_RECORDS = 1 << 24,
	/*
	 * Records a peer may send in a row without application data
	 * (BoringSSL's limits): empty ones, warning alerts, post-handshake
	 * messages (KeyUpdate, NewSessionTicket).  Each costs us a record
	 * open and perhaps an answer, and gives the tunnel nothing.
	 */
	TLS_MAX_EMPTY_RECORDS = 32,
	TLS_MAX_WARNING_ALERTS = 4,
	TLS_MAX_POST_HS_MSGS = 32,
	/*
	 * While wolfSSL keeps the records we cannot tell those kinds apart
	 * (wolfSSL itself allows 5 alerts per session): at most this many
	 * records in a row without application data, the sum of the three.
	 */
	TLS_WOLF_MAX_IDLE_RECORDS = TLS_MAX_EMPTY_RECORDS +
	    TLS_MAX_WARNING_ALERTS + TLS_MAX_POST_HS_MSGS,
	/* post-handshake handshake messages (RFC 8446 4.6) */
	HS_NEW_SESSION_TICKET = 4,
	HS_KEY_UPDATE = 24,
	/* alerts (RFC 8446 6) */
	ALERT_CLOSE_NOTIFY = 0,
	ALERT_UNEXPECTED_MESSAGE = 10,
	ALERT_BAD_RECORD_MAC = 20,
	ALERT_RECORD_OVERFLOW = 22,
	ALERT_ILLEGAL_PARAMETER = 47,
	ALERT_DECODE_ERROR = 50,
	ALERT_USER_CANCELED = 90
};

/* KeyUpdate messages: [0] update_not_requested, [1] update_requested. */
static const uint8_t tls_ku[2][5] = {
	{ HS_KEY_UPDATE, 0, 0, 1, 0 }, { HS_KEY_UPDATE, 0, 0, 1, 1 }
};

/*
 * Test hooks (tls_set_offload, tls_set_suites): set once before any
 * session exists and before other threads start, read-only afterwards.
 */
static bool tls_offload_enabled = true;
static const char *tls_suite_override;	/* tls_set_suites() */

struct tls_session {
	enum tls_role role;
	enum tls_status status;
	WOLFSSL_CTX *ctx;		/* shared (tls_ctx_get), not ours */
	WOLFSSL *ssl;
	bool verified;			/* our verify callback accepted */
	bool verify_failed;		/* ... or rejected (reason in err) */
	struct pubkey *remote;
	struct peer_id expect[TLS_EXPECT_MAX];	/* accepted peers, if any */
	size_t nexpect;
	uint8_t *out;			/* output queue: out[off..off+len) */
	size_t out_off, out_len, out_cap;
	/*
	 * Input queue in[off..off+len), TLS_INPUT_MAX bytes while it holds
	 * data and freed when it runs empty, like the output queue: an idle
	 * tunnel keeps no buffer here.
	 */
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	/*
	 * During the handshake wolfSSL gets input one record at a time, so
	 * that it never holds bytes past its last handshake record: the
	 * header of the record being passed on, and what is left of it.
	 */
	uint8_t rhdr[TLSREC_HDR];
	size_t rhdr_have, rleft;
	/* After tls_offload(): our record layer. */
	bool offloaded;
	bool sent_close;
	struct tlsrec_dir rx, tx;
	/* opened content left at in[in_off + rd_off], rd_pad after it */
	size_t rd_off, rd_len, rd_pad;
	/* post-handshake handshake message being read (RFC 8446 4.6) */
	uint8_t hs_hdr[4];
	size_t hs_have, hs_left;
	uint64_t key_updates;		/* KeyUpdates received */
	/* records without application data since the last that had some */
	unsigned empty_run, warn_run, post_hs_run;
	/* records given to wolfSSL since it last gave us data (no offload) */
	unsigned wolf_run;
	/*
	 * Our KeyUpdate answer is queued in out and not yet taken: later
	 * requests share it (RFC 8446 4.6.3 asks for one before our next
	 * data, not one per request).
	 */
	bool ku_answer_queued;
	/* traffic secrets from wolfSSL's callback until the offload */
	uint8_t sec_c[TLSREC_SECRET_MAX], sec_s[TLSREC_SECRET_MAX];
	size_t sec_c_len, sec_s_len;
	char cipher[40];
	char err[256];
	enum tls_fail fail;		/* class of err */
	/* ALPN (tls_set_muxers): configured at the first tls_handshake() */
	const char *const *muxers;	/* borrowed */
	size_t nmuxers;
	bool alpn_done, alpn_omit;
	const char *muxer;		/* negotiated: one of muxers, or NULL */
	bool peer_muxer;		/* the peer offered/chose a muxer id */
};

/*
 * One WOLFSSL_CTX per role and credential, shared by all sessions: it
 * carries only the certificate, key, suites and callbacks, and building
 * it per connection cost a certificate parse and several KiB each.
 * Sessions hold it through wolfSSL's own reference count (wolfSSL_new
 * takes one, wolfSSL_free drops it); the cache holds one more.
 *
 * One cache per thread (threads = N, docs/threads.md): each event loop
 * has credentials of its own, hence its own certificate, and a shared
 * cache would replace one loop's context by the other's at every
 * handshake; a shared one also let another thread free the context
 * between the lookup and wolfSSL_new's reference (the session is now
 * made under the lock as well).  tls_thread_cleanup() drops a thread's
 * entries when it exits.
 */
static _Thread_local struct {
	WOLFSSL_CTX *ctx;
	uint8_t id[32];			/* hash of certificate and key */
} tls_ctx_cache[2];
static pthread_mutex_t tls_ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_init_ok;

static void tls_set_error(struct tls_session *, enum tls_fail, const char *,
    ...) __attribute__((format(printf, 3, 4)));
static const char *tls_alert_name(uint8_t);

/* Initialise wolfSSL exactly once per process. */
static void
tls_init_once(void)
{
	tls_init_ok = wolfSSL_Init() == WOLFSSL_SUCCESS &&
	    sodium_init() >= 0;
}

/* Record the first error of the session and mark it failed. */
static void
tls_set_error(struct tls_session *s, enum tls_fail kind, const char *fmt, ...)
{
	va_list ap;

	s->status = TLS_FAILED;
	if (s->err[0] != '\0')
		return;
	s->fail = kind;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

/* Set the error from wolfSSL's last error on ssl for return value r. */
static void
tls_set_wolf_error(struct tls_session *s, const char *what, int r)
{
	char reason[WOLFSSL_MAX_ERROR_SZ];
	int e = wolfSSL_get_error(s->ssl, r);
	WOLFSSL_ALERT_HISTORY h;

	/* the same reasons as our record layer's, for logs and tests */
	if (s->status == TLS_DONE && e == VERIFY_MAC_ERROR) {
		tls_set_error(s, TLS_FAIL_PROTOCOL, "tls: record failed "
		    "authentication (tampered, replayed or reordered)");
		return;
	}
	if (s->status == TLS_DONE && e == FATAL_ERROR &&
	    wolfSSL_get_alert_history(s->ssl, &h) == WOLFSSL_SUCCESS &&
	    h.last_rx.level == 2) {
		tls_set_error(s, TLS_FAIL_ALERT, "tls: peer sent alert %s (%d)",
		    tls_alert_name((uint8_t)h.last_rx.code), h.last_rx.code);
		return;
	}
	wolfSSL_ERR_error_string_n((unsigned long)e, reason, sizeof(reason));
	/*
	 * A wolfSSL without WOLFSSL_NO_ASN_STRICT refuses a certificate with
	 * a critical extension it does not know (js/rust peers' libp2p one)
	 * before our verify callback: a bad certificate all the same.
	 */
	tls_set_error(s, e == ASN_CRIT_EXT_E ? TLS_FAIL_IDENTITY :
	    TLS_FAIL_PROTOCOL, "tls: %s failed: %s (%d)", what, reason, e);
}

/*
 * The input queue ran empty: free it.  Both queues hold only wire bytes
 * (records as sent on the network), so they are not wiped.
 */
static void
tls_release_in(struct tls_session *s)
{
	free(s->in);
	s->in = NULL;
	s->in_off = s->in_len = s->in_cap = 0;
}

/*
 * Grow the input queue to hold need bytes (<= TLS_INPUT_MAX): 16 KiB
 * first (small messages stay small), then doubling.
 */
static int
tls_in_grow(struct tls_session *s, size_t need)
{
	size_t cap = s->in_cap ? s->in_cap : 16384;
	uint8_t *nb;

	while (cap < need)
		cap *= 2;
	if (cap > TLS_INPUT_MAX)
		cap = TLS_INPUT_MAX;
	if ((nb = realloc(s->in, cap)) == NULL)
		return -1;
	s->in = nb;
	s->in_cap = cap;
	return 0;
}

/* The output queue was taken completely: free it. */
static void
tls_release_out(struct tls_session *s)
{
	free(s->out);
	s->out = NULL;
	s->out_off = s->out_len = s->out_cap = 0;
}

/* Make room for n more bytes in the output queue (one allocation). */
static int
tls_out_room(struct tls_session *s, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (s->out_off > 0 && s->out_off + s->out_len + n > s->out_cap) {
		memmove(s->out, s->out + s->out_off, s->out_len);
		s->out_off = 0;
	}
	if (s->out_len + n <= s->out_cap)
		return 0;
	cap = s->out_cap ? s->out_cap : OUT_INITIAL;
	while (cap < s->out_len + n)
		cap *= 2;
	if ((nb = realloc(s->out, cap)) == NULL)
		return -1;
	s->out = nb;
	s->out_cap = cap;
	return 0;
}

/*
 * How many of the queued input bytes wolfSSL may take now: never more
 * than the rest of the current record, so that bytes after the last
 * handshake record stay in the queue for our own record layer.
 */
static size_t
tls_recv_limit(struct tls_session *s, size_t want)
{
	size_t n = want < s->in_len ? want : s->in_len;

	if (s->rhdr_have < TLSREC_HDR) {
		if (n > TLSREC_HDR - s->rhdr_have)
			n = TLSREC_HDR - s->rhdr_have;
		memcpy(s->rhdr + s->rhdr_have, s->in + s->in_off, n);
		s->rhdr_have += n;
		if (s->rhdr_have == TLSREC_HDR) {
			s->rleft = tlsrec_hdr_len(s->rhdr);
			if (s->rleft == 0)
				s->rhdr_have = 0;	/* empty record */
		}
		return n;
	}
	if (n > s->rleft)
		n = s->rleft;
	s->rleft -= n;
	if (s->rleft == 0)
		s->rhdr_have = 0;
	return n;
}

/* wolfSSL receive callback: take bytes from the input queue. */
static int
tls_on_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_session *s = ctx;
	size_t n;

	(void)ssl;
	if (s->in_len == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	/* a new record after the handshake; the last may carry data */
	if (s->status == TLS_DONE && s->rhdr_have == 0 &&
	    ++s->wolf_run > TLS_WOLF_MAX_IDLE_RECORDS + 1) {
		tls_set_error(s, TLS_FAIL_PROTOCOL, "tls: more than %d records "
		    "in a row without application data",
		    TLS_WOLF_MAX_IDLE_RECORDS);
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
	n = tls_recv_limit(s, sz < 0 ? 0 : (size_t)sz);
	memcpy(buf, s->in + s->in_off, n);
	s->in_off += n;
	s->in_len -= n;
	if (s->in_len == 0)
		tls_release_in(s);
	return (int)n;
}

/* wolfSSL send callback: append bytes to the output queue. */
static int
tls_on_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_session *s = ctx;
	size_t n = sz < 0 ? 0 : (size_t)sz;

	(void)ssl;
	if (s->status == TLS_DONE && s->out_len + n > TLS_WOLF_OUTPUT_MAX) {
		tls_set_error(s, TLS_FAIL_PROTOCOL, "tls: over %d bytes of "
		    "our answers queued (the peer asks for KeyUpdates and does "
		    "not read)",
		    TLS_WOLF_OUTPUT_MAX);
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
	if (tls_out_room(s, n) != 0)
		return WOLFSSL_CBIO_ERR_GENERAL;
	memcpy(s->out + s->out_off + s->out_len, buf, n);
	s->out_len += n;
	return (int)n;
}

/*
 * wolfSSL verify callback, called for the peer's chain.  Runs the libp2p
 * verification once and returns its verdict (1 accept, 0 abort),
 * overriding wolfSSL's own (a self-signed certificate has no signer).
 */
static int
tls_on_verify(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	struct tls_session *s = store->userCtx;
	const uint8_t *certs[MAX_PEER_CERTS];
	size_t lens[MAX_PEER_CERTS], n, i;
	char why[200];

	(void)preverify;
	if (s == NULL)
		return 0;
	if (s->verified || s->verify_failed)
		return s->verified ? 1 : 0;
	n = store->totalCerts < 0 ? 0 : (size_t)store->totalCerts;
	for (i = 0; i < n && i < MAX_PEER_CERTS; i++) {
		certs[i] = store->certs[i].buffer;
		lens[i] = store->certs[i].length;
	}
	if (store->certs == NULL)
		n = 0;
	if (tlscert_verify(certs, lens, n, time(NULL), &s->remote, why,
	    sizeof(why)) == -1) {
		s->verify_failed = true;
		tls_set_error(s, TLS_FAIL_IDENTITY, "%s", why);
		return 0;
	}
	if (s->nexpect > 0 &&
	    !peer_id_in(s->expect, s->nexpect, pubkey_peer_id(s->remote))) {
		char want[TLS_EXPECT_MAX * (PEER_ID_STR_MAX + 4)];
		char got[PEER_ID_STR_MAX];

		peer_id_list(s->expect, s->nexpect, want, sizeof(want));
		peer_id_to_string(pubkey_peer_id(s->remote), got, sizeof(got));
		s->verify_failed = true;
		tls_set_error(s, TLS_FAIL_PEER_MISMATCH,
		    "peer id mismatch: expected %s, remote is %s", want, got);
		return 0;
	}
	s->verified = true;
	return 1;
}

/* The suite list for this build and CPU. */
static const char *
tls_suites(void)
{
	if (tls_suite_override != NULL)
		return tls_suite_override;
#if defined(WOLFSSL_AESNI) && (defined(__x86_64__) || defined(__i386__))
	if (__builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul"))
		return TLS_SUITES_AES_FIRST;
#endif
	return TLS_SUITES_CHACHA_FIRST;
}

/* The suite this build and CPU put first (wolfSSL's name). */
const char *
tls_preferred_cipher(void)
{
	return strncmp(tls_suites(), "TLS13-CHACHA20", 14) == 0 ?
	    "TLS13-CHACHA20-POLY1305-SHA256" : "TLS13-AES128-GCM-SHA256";
}

/* Configure ctx: version, suites, groups, verification, I/O. */
static int
tls_setup_ctx(struct tls_session *s)
{
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1 };

	if (wolfSSL_CTX_SetMinVersion(s->ctx, WOLFSSL_TLSV1_3) !=
	    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_cipher_list(s->ctx, tls_suites()) !=
	    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_groups(s->ctx, groups, 2) != WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot configure suites and groups");
		return -1;
	}
	wolfSSL_CTX_set_session_cache_mode(s->ctx, WOLFSSL_SESS_CACHE_OFF);
	wolfSSL_CTX_no_ticket_TLSv13(s->ctx);
	wolfSSL_CTX_set_verify(s->ctx, WOLFSSL_VERIFY_PEER |
	    WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_on_verify);
	wolfSSL_CTX_SetIORecv(s->ctx, tls_on_recv);
	wolfSSL_CTX_SetIOSend(s->ctx, tls_on_send);
	return 0;
}

/* Load our certificate and key into ctx. */
static int
tls_load_cert(struct tls_session *s, const uint8_t *cert, size_t certlen,
    const uint8_t *key, size_t keylen)
{
	if (certlen > LONG_MAX || keylen > LONG_MAX ||
	    wolfSSL_CTX_use_certificate_buffer(s->ctx, cert, (long)certlen,
	    WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_buffer(s->ctx, key, (long)keylen,
	    WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot load certificate");
		return -1;
	}
	return 0;
}

/*
 * Point s->ctx at the shared context for its role and this certificate
 * and key, building it on first use or when the credential changed.
 * Called with tls_ctx_lock held.
 */
static int
tls_ctx_get_locked(struct tls_session *s, const uint8_t *cert,
    size_t certlen, const uint8_t *key, size_t keylen)
{
	crypto_generichash_state st;
	uint8_t id[32];
	int slot = s->role == TLS_CLIENT ? 0 : 1;

	crypto_generichash_init(&st, NULL, 0, sizeof(id));
	crypto_generichash_update(&st, cert, certlen);
	crypto_generichash_update(&st, key, keylen);
	crypto_generichash_update(&st, (const uint8_t *)tls_suites(),
	    strlen(tls_suites()));
	crypto_generichash_final(&st, id, sizeof(id));
	if (tls_ctx_cache[slot].ctx != NULL &&
	    sodium_memcmp(tls_ctx_cache[slot].id, id, sizeof(id)) == 0) {
		s->ctx = tls_ctx_cache[slot].ctx;
		return 0;
	}
	s->ctx = wolfSSL_CTX_new(s->role == TLS_CLIENT ?
	    wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method());
	if (s->ctx == NULL) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot create context");
		return -1;
	}
	if (tls_setup_ctx(s) == -1 ||
	    tls_load_cert(s, cert, certlen, key, keylen) == -1) {
		wolfSSL_CTX_free(s->ctx);
		s->ctx = NULL;
		return -1;
	}
	/* live sessions keep the old one through their own reference */
	if (tls_ctx_cache[slot].ctx != NULL)
		wolfSSL_CTX_free(tls_ctx_cache[slot].ctx);
	tls_ctx_cache[slot].ctx = s->ctx;
	memcpy(tls_ctx_cache[slot].id, id, sizeof(id));
	return 0;
}

/*
 * tls_ctx_get_locked() and the session on it (s->ssl, which holds its
 * own reference to the context) under the cache lock.
 */
static int
tls_ctx_get(struct tls_session *s, const uint8_t *cert, size_t certlen,
    const uint8_t *key, size_t keylen)
{
	int r;

	pthread_mutex_lock(&tls_ctx_lock);
	r = tls_ctx_get_locked(s, cert, certlen, key, keylen);
	if (r == 0 && (s->ssl = wolfSSL_new(s->ctx)) == NULL) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot create session");
		r = -1;
	}
	pthread_mutex_unlock(&tls_ctx_lock);
	return r;
}

#if TLS_CAN_OFFLOAD
/* wolfSSL secret callback: keep the two application traffic secrets. */
static int
tls_on_secret(WOLFSSL *ssl, int id, const unsigned char *secret, int len,
    void *ctx)
{
	struct tls_session *s = ctx;

	(void)ssl;
	if (len <= 0 || len > TLSREC_SECRET_MAX)
		return 0;
	if (id == CLIENT_TRAFFIC_SECRET) {
		memcpy(s->sec_c, secret, (size_t)len);
		s->sec_c_len = (size_t)len;
	} else if (id == SERVER_TRAFFIC_SECRET) {
		memcpy(s->sec_s, secret, (size_t)len);
		s->sec_s_len = (size_t)len;
	}
	return 0;
}
#endif

/* Configure the WOLFSSL object: I/O contexts (ALPN: tls_setup_alpn). */
static int
tls_setup_ssl(struct tls_session *s)
{
	wolfSSL_SetIOReadCtx(s->ssl, s);
	wolfSSL_SetIOWriteCtx(s->ssl, s);
	wolfSSL_SetCertCbCtx(s->ssl, s);
#if TLS_CAN_OFFLOAD
	if (tls_offload_enabled &&
	    wolfSSL_set_tls13_secret_cb(s->ssl, tls_on_secret, s) !=
	    WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot install the secret callback");
		return -1;
	}
#endif
	return 0;
}

/*
 * ALPN, set when the handshake starts so that tls_set_muxers() can come
 * after the session is made: [muxers..., "libp2p"] (tls.md 3).  wolfSSL
 * walks a client's offers in the client's order and takes the first one
 * it also has, so a server answers the client's preferred muxer we
 * speak, else "libp2p" (go-libp2p SecureInbound prefers the client's
 * order the same way), and with FAILED_ON_MISMATCH aborts when nothing
 * matches.  A client that sends no ALPN at all is accepted.
 */
static int
tls_setup_alpn(struct tls_session *s)
{
	char list[TLS_MUXERS_MAX * (TLS_MUXER_ID_MAX + 1) + sizeof(TLS_ALPN)];
	size_t i, n = 0, len;

	s->alpn_done = true;
	if (s->alpn_omit)
		return 0;
	for (i = 0; i < s->nmuxers; i++) {
		len = strlen(s->muxers[i]);
		memcpy(list + n, s->muxers[i], len);
		n += len;
		list[n++] = ',';
	}
	memcpy(list + n, TLS_ALPN, sizeof(TLS_ALPN));
	n += sizeof(TLS_ALPN) - 1;
	/* either side aborts on a mismatch */
	if (wolfSSL_UseALPN(s->ssl, list, (unsigned)n,
	    WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot configure ALPN");
		return -1;
	}
	return 0;
}

/* Muxer ids to offer or accept in ALPN before "libp2p"; see tls.h. */
int
tls_set_muxers(struct tls_session *s, const char *const *ids, size_t n)
{
	size_t i, len;

	if (s->alpn_done || n > TLS_MUXERS_MAX || (n > 0 && ids == NULL))
		return -1;
	for (i = 0; i < n; i++) {
		if (ids[i] == NULL)
			return -1;
		len = strlen(ids[i]);
		if (len == 0 || len > TLS_MUXER_ID_MAX ||
		    strchr(ids[i], ',') != NULL || strcmp(ids[i], TLS_ALPN) == 0)
			return -1;
	}
	s->muxers = ids;
	s->nmuxers = n;
	return 0;
}

/* Tests: no ALPN extension at all (what some clients send). */
void
tls_omit_alpn(struct tls_session *s)
{
	s->alpn_omit = true;
}

/* The muxer agreed in ALPN, or NULL; see tls.h. */
const char *
tls_muxer(const struct tls_session *s)
{
	return s->muxer;
}

/* Whether the peer offered (client) or chose (server) a muxer id. */
bool
tls_peer_offered_muxer(const struct tls_session *s)
{
	return s->peer_muxer;
}

/*
 * Server: what the client's ALPN list holds: -1 no ALPN extension at
 * all, 0 only "libp2p", 1 something else (a muxer id).
 */
static int
tls_client_alpn(struct tls_session *s)
{
	char *list = NULL, *p, *q;
	unsigned short len = 0;
	int any = 0;

	if (wolfSSL_ALPN_GetPeerProtocol(s->ssl, &list, &len) !=
	    WOLFSSL_SUCCESS || list == NULL)
		return -1;
	/* wolfSSL joins the offers with ',' into a NUL-ended string */
	for (p = list; any == 0 && p != NULL; p = q != NULL ? q + 1 : NULL) {
		q = strchr(p, ',');
		any = (q != NULL ? (size_t)(q - p) : strlen(p)) !=
		    sizeof(TLS_ALPN) - 1 ||
		    memcmp(p, TLS_ALPN, sizeof(TLS_ALPN) - 1) != 0;
	}
	wolfSSL_ALPN_FreePeerProtocol(s->ssl, &list);
	return any;
}

/*
 * The negotiated ALPN protocol: "libp2p" or none means no muxer agreed;
 * otherwise it must be one of ours (wolfSSL already refused anything
 * else, and aborted on a mismatch).  A client without ALPN leaves the
 * server with nothing negotiated, which is fine; a server that answers
 * no ALPN is not a libp2p peer.  0, or -1 with the error set.
 */
static int
tls_check_alpn(struct tls_session *s)
{
	char *proto = NULL;
	unsigned short plen = 0;
	int r, offer = -1;
	size_t i;

	if (s->role == TLS_SERVER && !s->alpn_omit)
		offer = tls_client_alpn(s);
	s->peer_muxer = offer == 1;
	r = wolfSSL_ALPN_GetProtocol(s->ssl, &proto, &plen);
	if (r == WOLFSSL_ALPN_NOT_FOUND || (r != WOLFSSL_SUCCESS &&
	    s->role == TLS_SERVER && offer == -1))
		return 0;
	if (r != WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_PROTOCOL,
		    s->role == TLS_CLIENT ? "tls: the server "
		    "selected no ALPN protocol (we offered \"libp2p\")" :
		    "tls: cannot read ALPN result");
		return -1;
	}
	if (plen == sizeof(TLS_ALPN) - 1 && memcmp(proto, TLS_ALPN, plen) == 0)
		return 0;
	for (i = 0; i < s->nmuxers; i++)
		if (strlen(s->muxers[i]) == plen &&
		    memcmp(s->muxers[i], proto, plen) == 0) {
			s->muxer = s->muxers[i];
			s->peer_muxer = true;
			return 0;
		}
	tls_set_error(s, TLS_FAIL_PROTOCOL,
	    "tls: unexpected ALPN protocol (%u bytes), expected "
	    "\"libp2p\" or one of our %zu muxers", plen, s->nmuxers);
	return -1;
}

struct tls_session *
tls_session_new_cert(enum tls_role role, const uint8_t *cert,
    size_t certlen, const uint8_t *key, size_t keylen, char *err,
    size_t errlen)
{
	struct tls_session *s;

	pthread_once(&tls_once, tls_init_once);
	if (!tls_init_ok) {
		snprintf(err, errlen, "tls: wolfSSL initialisation failed");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "tls: out of memory");
		return NULL;
	}
	s->role = role;
	s->status = TLS_WANT_IO;
	if (tls_ctx_get(s, cert, certlen, key, keylen) == -1)
		goto fail;
	if (tls_setup_ssl(s) == -1)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s", s->err);
	tls_session_free(s);
	return NULL;
}

struct tls_session *
tls_session_new(enum tls_role role, const struct identity *id, char *err,
    size_t errlen)
{
	struct tls_session *s;
	uint8_t *cert, *key;
	size_t certlen, keylen;

	if (tlscert_generate(id, &cert, &certlen, &key, &keylen) == -1) {
		snprintf(err, errlen, "tls: cannot generate certificate");
		return NULL;
	}
	s = tls_session_new_cert(role, cert, certlen, key, keylen, err,
	    errlen);
	free(cert);
	tlscert_free_key(key, keylen);
	return s;
}

void
tls_expect_peer(struct tls_session *s, const struct peer_id *expect)
{
	if (s->nexpect < TLS_EXPECT_MAX)
		s->expect[s->nexpect++] = *expect;
}

void
tls_session_free(struct tls_session *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL)
		wolfSSL_free(s->ssl);
	/* s->ctx is the cache's: wolfSSL_free dropped our reference */
	pubkey_free(s->remote);
	tlsrec_wipe(&s->rx);
	tlsrec_wipe(&s->tx);
	tls_release_out(s);
	tls_release_in(s);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

size_t
tls_input_space(const struct tls_session *s)
{
	return TLS_INPUT_MAX - s->in_len;
}

size_t
tls_feed(struct tls_session *s, const uint8_t *in, size_t len)
{
	size_t n = tls_input_space(s);

	if (n > len)
		n = len;
	if (n == 0)
		return 0;
	if (s->in_off > 0 && s->in_off + s->in_len + n > s->in_cap) {
		memmove(s->in, s->in + s->in_off, s->in_len);
		s->in_off = 0;
	}
	if (s->in_len + n > s->in_cap && tls_in_grow(s, s->in_len + n) != 0)
		return 0;
	memcpy(s->in + s->in_off + s->in_len, in, n);
	s->in_len += n;
	return n;
}

/*
 * Move the record layer out of wolfSSL: the application traffic secrets
 * become our two directions, checked against the keys and sequence
 * numbers wolfSSL itself derived, and the WOLFSSL object is freed.  Any
 * doubt leaves wolfSSL in charge of the records.
 */
static void
tls_offload(struct tls_session *s)
{
#if TLS_CAN_OFFLOAD
	const char *name = wolfSSL_get_cipher_name(s->ssl);
	struct tlsrec_dir *c, *sv;
	enum tlsrec_suite suite;
	word64 wseq = 0, rseq = 0;
	const unsigned char *ck, *civ, *sk, *siv;

	if (!tls_offload_enabled || s->sec_c_len == 0 || s->sec_s_len == 0 ||
	    s->rhdr_have != 0 || tlsrec_suite_from_name(name, &suite) != 0)
		goto out;
	c = s->role == TLS_CLIENT ? &s->tx : &s->rx;
	sv = s->role == TLS_CLIENT ? &s->rx : &s->tx;
	if (tlsrec_init(c, suite, s->sec_c, s->sec_c_len) != 0 ||
	    tlsrec_init(sv, suite, s->sec_s, s->sec_s_len) != 0)
		goto undo;
	ck = wolfSSL_GetClientWriteKey(s->ssl);
	civ = wolfSSL_GetClientWriteIV(s->ssl);
	sk = wolfSSL_GetServerWriteKey(s->ssl);
	siv = wolfSSL_GetServerWriteIV(s->ssl);
	if (ck == NULL || civ == NULL || sk == NULL || siv == NULL ||
	    wolfSSL_GetKeySize(s->ssl) != c->key_len ||
	    wolfSSL_GetIVSize(s->ssl) != TLSREC_IV ||
	    sodium_memcmp(ck, c->key, c->key_len) != 0 ||
	    sodium_memcmp(civ, c->iv, TLSREC_IV) != 0 ||
	    sodium_memcmp(sk, sv->key, sv->key_len) != 0 ||
	    sodium_memcmp(siv, sv->iv, TLSREC_IV) != 0 ||
	    wolfSSL_GetSequenceNumber(s->ssl, &wseq) < 0 ||
	    wolfSSL_GetPeerSequenceNumber(s->ssl, &rseq) < 0)
		goto undo;
	s->tx.seq = wseq;
	s->rx.seq = rseq;
	snprintf(s->cipher, sizeof(s->cipher), "%s", name);
	wolfSSL_free(s->ssl);
	s->ssl = NULL;
	s->offloaded = true;
	goto out;
undo:
	tlsrec_wipe(&s->rx);
	tlsrec_wipe(&s->tx);
out:
	sodium_memzero(s->sec_c, sizeof(s->sec_c));
	sodium_memzero(s->sec_s, sizeof(s->sec_s));
	s->sec_c_len = s->sec_s_len = 0;
#else
	(void)s;
#endif
}

/* Wire bytes tls_seal_records() writes for len bytes, at most. */
static size_t
tls_records_bound(size_t len)
{
	size_t records = len / TLSREC_MAX_PLAINTEXT + 1;

	/* plus one KeyUpdate record when the write key is due */
	return len + records * TLSREC_OVERHEAD + TLSREC_OVERHEAD +
	    sizeof(tls_ku[0]);
}

/*
 * Seal len bytes from pt as application data records at dst (room for
 * tls_records_bound(len)).  pt may be dst + TLSREC_HDR when len fits one
 * record (sealed in place); otherwise they must not overlap.  Updates
 * the write key first when it sealed TLS_REKEY_RECORDS records.
 * Returns the bytes written or -1.
 */
static int
tls_seal_records(struct tls_session *s, const uint8_t *pt, size_t len,
    uint8_t *dst)
{
	const uint8_t *ku = tls_ku[0];
	size_t pos = 0, off = 0, chunk;
	uint8_t *rec;
	bool rekey;
	int r;

	do {
		chunk = len - off < TLSREC_MAX_PLAINTEXT ? len - off :
		    TLSREC_MAX_PLAINTEXT;
		rekey = s->tx.seq >= TLS_REKEY_RECORDS;
		rec = dst + pos + (rekey ? TLSREC_OVERHEAD + sizeof(tls_ku[0]) :
		    0);
		if (rec + TLSREC_HDR != pt + off)
			memmove(rec + TLSREC_HDR, pt + off, chunk);
		if (rekey) {
			/* KeyUpdate(update_not_requested) under the old key */
			memcpy(dst + pos + TLSREC_HDR, ku, sizeof(tls_ku[0]));
			if ((r = tlsrec_seal(&s->tx, TLSREC_HANDSHAKE,
			    dst + pos, sizeof(tls_ku[0]))) < 0 ||
			    tlsrec_update(&s->tx) != 0)
				goto fail;
			pos += (size_t)r;
		}
		if ((r = tlsrec_seal(&s->tx, TLSREC_APPDATA, rec, chunk)) < 0)
			goto fail;
		pos += (size_t)r;
		off += chunk;
	} while (off < len);
	return (int)pos;
fail:
	tls_set_error(s, TLS_FAIL_INTERNAL,
	    "tls: cannot seal a record (write sequence "
	    "exhausted)");
	return -1;
}

/* Queue one protocol record (alert, KeyUpdate) on the output. */
static int
tls_queue_record(struct tls_session *s, uint8_t type, const uint8_t *msg,
    size_t len)
{
	uint8_t *rec;
	int r;

	if (tls_out_room(s, len + TLSREC_OVERHEAD) != 0)
		return -1;
	rec = s->out + s->out_off + s->out_len;
	memcpy(rec + TLSREC_HDR, msg, len);
	if ((r = tlsrec_seal(&s->tx, type, rec, len)) < 0)
		return -1;
	s->out_len += (size_t)r;
	return 0;
}

/* Fail the session with a reason and queue the fatal alert for it. */
static void tls_fail_alert(struct tls_session *, uint8_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
tls_fail_alert(struct tls_session *s, uint8_t alert, const char *fmt, ...)
{
	uint8_t msg[2] = { 2, alert };	/* fatal */
	bool first = s->err[0] == '\0';
	va_list ap;

	s->status = TLS_FAILED;
	if (first) {
		s->fail = TLS_FAIL_PROTOCOL;
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	if (first && !s->sent_close) {
		s->sent_close = true;
		(void)tls_queue_record(s, TLSREC_ALERT, msg, sizeof(msg));
	}
}

/*
 * Queue a KeyUpdate (asking the peer for one back if request) under the
 * current write key, then switch to the next one.  0 or -1.
 */
static int
tls_send_key_update(struct tls_session *s, bool request)
{
	return tls_queue_record(s, TLSREC_HANDSHAKE, tls_ku[request],
	    sizeof(tls_ku[0])) == 0 && tlsrec_update(&s->tx) == 0 ? 0 : -1;
}

/* A received KeyUpdate (RFC 8446 4.6.3): new read key, maybe answer. */
static int
tls_on_key_update(struct tls_session *s, uint8_t request)
{
	if (request > 1) {
		tls_fail_alert(s, ALERT_ILLEGAL_PARAMETER,
		    "tls: KeyUpdate with request_update %u (expected 0 or 1)",
		    request);
		return -1;
	}
	if (tlsrec_update(&s->rx) != 0) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot derive the next read key");
		return -1;
	}
	s->key_updates++;
	if (request == 0 || s->sent_close || s->ku_answer_queued)
		return 0;
	if (tls_send_key_update(s, false) != 0) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot answer the peer's KeyUpdate");
		return -1;
	}
	s->ku_answer_queued = true;
	return 0;
}

/*
 * Handshake bytes after the handshake: NewSessionTicket is skipped (we
 * never resume), KeyUpdate is honoured, anything else is an error.
 * Messages may span records; their headers are parsed as they come.
 */
static int
tls_on_post_handshake(struct tls_session *s, const uint8_t *p, size_t n)
{
	size_t i = 0, k;
	uint8_t type;

	if (n == 0) {
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: empty handshake record");
		return -1;
	}
	while (i < n) {
		if (s->hs_have < sizeof(s->hs_hdr)) {
			s->hs_hdr[s->hs_have++] = p[i++];
			if (s->hs_have < sizeof(s->hs_hdr))
				continue;
			type = s->hs_hdr[0];
			s->hs_left = (size_t)s->hs_hdr[1] << 16 |
			    (size_t)s->hs_hdr[2] << 8 | s->hs_hdr[3];
			/* only a server issues tickets (RFC 8446 4.6.1) */
			if ((type != HS_NEW_SESSION_TICKET &&
			    type != HS_KEY_UPDATE) ||
			    (type == HS_NEW_SESSION_TICKET &&
			    s->role == TLS_SERVER)) {
				tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
				    "tls: unexpected post-handshake message "
				    "type %u%s", type, type ==
				    HS_NEW_SESSION_TICKET ? " (NewSessionTicket "
				    "from a client)" : "");
				return -1;
			}
			if (++s->post_hs_run > TLS_MAX_POST_HS_MSGS) {
				tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
				    "tls: more than %d post-handshake messages "
				    "without application data",
				    TLS_MAX_POST_HS_MSGS);
				return -1;
			}
			if (type == HS_KEY_UPDATE && s->hs_left != 1) {
				tls_fail_alert(s, ALERT_DECODE_ERROR,
				    "tls: KeyUpdate of %zu bytes (expected 1)",
				    s->hs_left);
				return -1;
			}
		} else {
			k = n - i < s->hs_left ? n - i : s->hs_left;
			if (s->hs_hdr[0] == HS_KEY_UPDATE) {
				/* a key change ends its record */
				if (i + 1 != n) {
					tls_fail_alert(s,
					    ALERT_UNEXPECTED_MESSAGE,
					    "tls: KeyUpdate is not the last "
					    "message of its record");
					return -1;
				}
				s->hs_have = 0;
				s->hs_left = 0;
				return tls_on_key_update(s, p[i]);
			}
			i += k;
			s->hs_left -= k;
		}
		if (s->hs_have == sizeof(s->hs_hdr) && s->hs_left == 0)
			s->hs_have = 0;		/* message done */
	}
	return 0;
}

/* The name of an alert we may receive, for the error text. */
static const char *
tls_alert_name(uint8_t a)
{
	switch (a) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 47: return "illegal_parameter";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 80: return "internal_error";
	default: return "alert";
	}
}

/* A received alert: close_notify ends the stream, others fail it. */
static int
tls_on_alert(struct tls_session *s, const uint8_t *p, size_t n)
{
	if (n == 0) {
		/* a zero-length fragment, as tlsfuzzer's empty-alert script
		 * and OpenSSL see it (RFC 8446 5.1: one whole alert per
		 * record), not a malformed alert */
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: empty alert record");
		return -1;
	}
	if (n != 2) {
		tls_fail_alert(s, ALERT_DECODE_ERROR,
		    "tls: alert record of %zu bytes (expected 2)", n);
		return -1;
	}
	if (p[1] == ALERT_CLOSE_NOTIFY) {
		s->status = TLS_CLOSED;
		return -1;
	}
	if (p[1] == ALERT_USER_CANCELED) {
		if (++s->warn_run > TLS_MAX_WARNING_ALERTS) {
			tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
			    "tls: more than %d warning alerts without "
			    "application data", TLS_MAX_WARNING_ALERTS);
			return -1;
		}
		return 0;	/* a close_notify follows */
	}
	tls_set_error(s, TLS_FAIL_ALERT,
	    "tls: peer sent alert %s (%u)", tls_alert_name(p[1]),
	    p[1]);
	return -1;
}

/* Why a record header after the handshake is not acceptable. */
static void
tls_bad_header(struct tls_session *s, const uint8_t *hdr)
{
	size_t blen = tlsrec_hdr_len(hdr);

	if (hdr[0] != TLSREC_APPDATA)
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: unprotected record of type %u after the handshake",
		    hdr[0]);
	else if (hdr[1] != 0x03 || hdr[2] != 0x03)
		tls_fail_alert(s, ALERT_DECODE_ERROR,
		    "tls: record version %02x%02x, expected 0303", hdr[1],
		    hdr[2]);
	else if (blen > TLSREC_MAX_CIPHERTEXT)
		tls_fail_alert(s, ALERT_RECORD_OVERFLOW,
		    "tls: record of %zu bytes exceeds the %d-byte limit",
		    blen, TLSREC_MAX_CIPHERTEXT);
	else
		tls_fail_alert(s, ALERT_DECODE_ERROR,
		    "tls: record of %zu bytes is shorter than its tag", blen);
}

/* Fail for a record tlsrec_open() refused, with RFC 8446's alert. */
static void
tls_open_failed(struct tls_session *s, int why, size_t blen)
{
	if (why == TLSREC_E_OVERFLOW)
		tls_fail_alert(s, ALERT_RECORD_OVERFLOW,
		    "tls: record of %zu inner plaintext bytes exceeds the "
		    "%d-byte limit", blen - TLSREC_TAG, TLSREC_MAX_INNER);
	else if (why == TLSREC_E_NOTYPE)
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: record of only zero bytes (no content type)");
	else
		tls_fail_alert(s, ALERT_BAD_RECORD_MAC,
		    "tls: record failed authentication (tampered, replayed "
		    "or reordered)");
}

int
tls_open_record(struct tls_session *s, const uint8_t *hdr, uint8_t *body,
    size_t blen)
{
	uint8_t type = 0;
	int n;

	if (!s->offloaded || s->status != TLS_DONE)
		return s->status == TLS_CLOSED ? 0 : -1;
	if (tlsrec_body_len(hdr) != (int)blen) {
		tls_bad_header(s, hdr);
		return -1;
	}
	if ((n = tlsrec_open(&s->rx, hdr, body, blen, &type)) < 0) {
		tls_open_failed(s, n, blen);
		return -1;
	}
	if (s->hs_have > 0 && type != TLSREC_HANDSHAKE) {
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: record of type %u inside a handshake message", type);
		return -1;
	}
	switch (type) {
	case TLSREC_APPDATA:
		if (n > 0) {
			s->empty_run = s->warn_run = s->post_hs_run = 0;
		} else if (++s->empty_run > TLS_MAX_EMPTY_RECORDS) {
			tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
			    "tls: more than %d empty records in a row",
			    TLS_MAX_EMPTY_RECORDS);
			return -1;
		}
		return n;
	case TLSREC_HANDSHAKE:
		return tls_on_post_handshake(s, body, (size_t)n) == 0 ? 0 : -1;
	case TLSREC_ALERT:
		return tls_on_alert(s, body, (size_t)n) == 0 ? 0 : -1;
	default:
		tls_fail_alert(s, ALERT_UNEXPECTED_MESSAGE,
		    "tls: record of content type %u after the handshake",
		    type);
		return -1;
	}
}

/* Post-handshake checks: our callback ran and accepted, ALPN matches. */
static void
tls_check_established(struct tls_session *s)
{
	if (!s->verified || s->remote == NULL) {
		tls_set_error(s, TLS_FAIL_IDENTITY,
		    "tls: peer certificate was not verified");
		return;
	}
	if (tls_check_alpn(s) != 0)
		return;
	s->status = TLS_DONE;
	tls_offload(s);
}

enum tls_status
tls_handshake(struct tls_session *s)
{
	int r, e;

	if (s->status != TLS_WANT_IO)
		return s->status;
	if (!s->alpn_done && tls_setup_alpn(s) != 0)
		return s->status;
	r = s->role == TLS_CLIENT ? wolfSSL_connect(s->ssl) :
	    wolfSSL_accept(s->ssl);
	if (r == WOLFSSL_SUCCESS) {
		tls_check_established(s);
		return s->status;
	}
	e = wolfSSL_get_error(s->ssl, r);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_WANT_IO;
	tls_set_wolf_error(s, "handshake", r);
	return s->status;
}

enum tls_status
tls_status(const struct tls_session *s)
{
	return s->status;
}

size_t
tls_pending_output(const struct tls_session *s)
{
	return s->out_len;
}

size_t
tls_take_output(struct tls_session *s, uint8_t *out, size_t cap)
{
	size_t n = s->out_len < cap ? s->out_len : cap;

	if (n == 0)
		return 0;	/* the queue may not even be allocated yet */
	memcpy(out, s->out + s->out_off, n);
	s->out_off += n;
	s->out_len -= n;
	if (s->out_len == 0) {
		tls_release_out(s);
		s->ku_answer_queued = false;	/* it is on its way */
	}
	return n;
}

int
tls_write(struct tls_session *s, const uint8_t *pt, size_t len)
{
	int r;

	if (s->status != TLS_DONE && s->status != TLS_CLOSED)
		return -1;
	if (s->out_len > TLS_OUTPUT_HIGH)
		return 0;
	if (len > TLS_WRITE_MAX)
		len = TLS_WRITE_MAX;
	if (len == 0)
		return 0;
	/* size the queue once: records are 16 KiB + 22 bytes at most */
	if (tls_out_room(s, tls_records_bound(len)) != 0) {
		tls_set_error(s, TLS_FAIL_INTERNAL, "tls: out of memory");
		return -1;
	}
	if (s->offloaded) {
		r = tls_seal_records(s, pt, len,
		    s->out + s->out_off + s->out_len);
		if (r < 0)
			return -1;
		s->out_len += (size_t)r;
		return (int)len;
	}
	r = wolfSSL_write(s->ssl, pt, (int)len);
	if (r > 0)
		return r;
	tls_set_wolf_error(s, "write", r);
	return -1;
}

size_t
tls_seal_bound(const struct tls_session *s, size_t len)
{
	return s->out_len + tls_records_bound(len);
}

int
tls_seal(struct tls_session *s, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap)
{
	size_t pos;
	int r;

	if (cap < tls_seal_bound(s, len) || len > TLS_WRITE_MAX)
		return -1;
	if (!s->offloaded) {
		if (len > 0 && tls_write(s, pt, len) != (int)len)
			return -1;
		return (int)tls_take_output(s, out, cap);
	}
	if (s->status != TLS_DONE && s->status != TLS_CLOSED)
		return -1;
	pos = tls_take_output(s, out, cap);
	if (len == 0)
		return (int)pos;
	if ((r = tls_seal_records(s, pt, len, out + pos)) < 0)
		return -1;
	return (int)(pos + (size_t)r);
}

/* Drop the opened record at the head of the input queue. */
static void
tls_in_consume(struct tls_session *s, size_t n)
{
	s->in_off += n;
	s->in_len -= n;
	if (s->in_len == 0)
		tls_release_in(s);
}

/*
 * tls_read() on our record layer: open the records queued by tls_feed()
 * in place and hand out their content; a record stays queued until all
 * of its content was taken.
 */
static int
tls_read_records(struct tls_session *s, uint8_t *out, size_t cap)
{
	uint8_t *rec;
	size_t k;
	int blen, n;

	for (;;) {
		if (s->rd_len > 0) {
			k = s->rd_len < cap ? s->rd_len : cap;
			memcpy(out, s->in + s->in_off + s->rd_off, k);
			s->rd_off += k;
			s->rd_len -= k;
			if (s->rd_len == 0) {
				tls_in_consume(s, s->rd_off + s->rd_pad);
				s->rd_off = s->rd_pad = 0;
			}
			return (int)k;
		}
		if (s->status != TLS_DONE)
			return -1;
		if (s->in_len < TLSREC_HDR)
			return 0;
		rec = s->in + s->in_off;
		if ((blen = tlsrec_body_len(rec)) < 0) {
			tls_bad_header(s, rec);
			return -1;
		}
		if (s->in_len < TLSREC_HDR + (size_t)blen)
			return 0;
		n = tls_open_record(s, rec, rec + TLSREC_HDR, (size_t)blen);
		if (n < 0)
			return -1;
		if (n == 0) {
			tls_in_consume(s, TLSREC_HDR + (size_t)blen);
			continue;
		}
		s->rd_off = TLSREC_HDR;
		s->rd_len = (size_t)n;
		s->rd_pad = (size_t)blen - (size_t)n;
	}
}

int
tls_read(struct tls_session *s, uint8_t *out, size_t cap)
{
	int r, e;

	if (s->offloaded && cap > 0)
		return tls_read_records(s, out, cap);	/* checks the status */
	if (s->status != TLS_DONE)
		return -1;
	if (cap == 0)
		return 0;
	r = wolfSSL_read(s->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0) {
		s->wolf_run = 0;
		return r;
	}
	e = wolfSSL_get_error(s->ssl, r);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return 0;
	if (e == WOLFSSL_ERROR_ZERO_RETURN) {
		s->status = TLS_CLOSED;
		return -1;
	}
	tls_set_wolf_error(s, "read", r);
	return -1;
}

int
tls_shutdown(struct tls_session *s)
{
	static const uint8_t cn[2] = { 1, ALERT_CLOSE_NOTIFY };
	int r;

	if (s->status != TLS_DONE && s->status != TLS_CLOSED)
		return -1;
	if (s->offloaded) {
		if (s->sent_close)
			return 0;
		s->sent_close = true;
		if (tls_queue_record(s, TLSREC_ALERT, cn, sizeof(cn)) == 0)
			return 0;
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot queue close_notify");
		return -1;
	}
	r = wolfSSL_shutdown(s->ssl);
	if (r == WOLFSSL_SUCCESS || r == WOLFSSL_SHUTDOWN_NOT_DONE)
		return 0;
	if (wolfSSL_get_error(s->ssl, r) == WOLFSSL_ERROR_WANT_READ)
		return 0;
	tls_set_wolf_error(s, "shutdown", r);
	return -1;
}

int
tls_send_record(struct tls_session *s, uint8_t type, const uint8_t *msg,
    size_t len)
{
	if (!s->offloaded || s->status != TLS_DONE || s->sent_close ||
	    len > TLSREC_MAX_SEAL)
		return -1;
	return tls_queue_record(s, type, msg, len);
}

/*
 * tls_key_update() while wolfSSL keeps the records: wolfSSL_update_keys()
 * asks for an answer unless a request of ours is outstanding, when it
 * sends a plain KeyUpdate (and clears it) instead; so one more call
 * makes the next one a request.  Only requests can be sent this way.
 */
static int
tls_wolf_key_update(struct tls_session *s, bool request)
{
	int outstanding = 0;

	if (!request || wolfSSL_key_update_response(s->ssl, &outstanding) != 0)
		return -1;
	if ((outstanding &&
	    wolfSSL_update_keys(s->ssl) != WOLFSSL_SUCCESS) ||
	    wolfSSL_update_keys(s->ssl) != WOLFSSL_SUCCESS) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot send a KeyUpdate");
		return -1;
	}
	return 0;
}

int
tls_key_update(struct tls_session *s, bool request)
{
	if (s->status != TLS_DONE || s->sent_close)
		return -1;
	if (!s->offloaded)
		return s->ssl != NULL ? tls_wolf_key_update(s, request) : -1;
	if (tls_send_key_update(s, request) != 0) {
		tls_set_error(s, TLS_FAIL_INTERNAL,
		    "tls: cannot send a KeyUpdate");
		return -1;
	}
	return 0;
}

bool
tls_offloaded(const struct tls_session *s)
{
	return s->offloaded;
}

size_t
tls_seal_run(const struct tls_session *s, size_t want)
{
	uint64_t left;

	if (!s->offloaded || s->out_len != 0 ||
	    (s->status != TLS_DONE && s->status != TLS_CLOSED) ||
	    s->tx.seq >= TLS_REKEY_RECORDS)
		return 0;
	left = TLS_REKEY_RECORDS - s->tx.seq;
	return want < left ? want : (size_t)left;
}

uint64_t
tls_key_updates(const struct tls_session *s)
{
	return s->key_updates;
}

void
tls_set_offload(bool on)
{
	tls_offload_enabled = on;
}

void
tls_set_suites(const char *list)
{
	tls_suite_override = list;
}

bool
tls_offload_supported(void)
{
	return TLS_CAN_OFFLOAD;
}

const struct pubkey *
tls_remote_key(const struct tls_session *s)
{
	return s->status == TLS_DONE || s->status == TLS_CLOSED ?
	    s->remote : NULL;
}

const char *
tls_cipher(const struct tls_session *s)
{
	const char *n;

	if (s->status != TLS_DONE && s->status != TLS_CLOSED)
		return "";
	if (s->offloaded)
		return s->cipher;
	n = wolfSSL_get_cipher_name(s->ssl);
	return n != NULL ? n : "";
}

const char *
tls_error(const struct tls_session *s)
{
	return s->err;
}

enum tls_fail
tls_fail_kind(const struct tls_session *s)
{
	return s->fail;
}

bool
tls_critical_ext_supported(void)
{
#ifdef WOLFSSL_NO_ASN_STRICT
	return true;
#else
	return false;
#endif
}

/*
 * What this build's wolfSSL can do, for `peerlock version -v` and the
 * start-up log: its version and the three build options that differ
 * between Debian's stock library and contrib/build-wolfssl.sh.
 */
char *
tls_library_describe(char *buf, size_t cap)
{
	bool aesni = false;

#if defined(WOLFSSL_AESNI)
	aesni = true;
#endif
	snprintf(buf, cap, "wolfSSL %s: critical libp2p extension %s "
	    "(WOLFSSL_NO_ASN_STRICT), own TLS record layer %s "
	    "(HAVE_SECRET_CALLBACK), AES-NI/AVX assembly %s",
	    wolfSSL_lib_version(), tls_critical_ext_supported() ? "yes" : "no",
	    tls_offload_supported() ? "yes" : "no", aesni ? "yes" : "no");
	return buf;
}

/* Free wolfCrypt's per-thread caches; see tls.h. */
void
tls_thread_cleanup(void)
{
	size_t i;

	pthread_mutex_lock(&tls_ctx_lock);
	for (i = 0; i < sizeof(tls_ctx_cache) / sizeof(tls_ctx_cache[0]);
	    i++) {
		/* live sessions keep theirs through their own reference */
		if (tls_ctx_cache[i].ctx != NULL)
			wolfSSL_CTX_free(tls_ctx_cache[i].ctx);
		tls_ctx_cache[i].ctx = NULL;
	}
	pthread_mutex_unlock(&tls_ctx_lock);
#if defined(FP_ECC) && defined(HAVE_ECC)
	wc_ecc_fp_free();
#endif
}
