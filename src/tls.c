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
	OUT_INITIAL = 8192
};

struct tls_session {
	enum tls_role role;
	enum tls_status status;
	WOLFSSL_CTX *ctx;		/* shared (tls_ctx_get), not ours */
	WOLFSSL *ssl;
	bool verified;			/* our verify callback accepted */
	bool verify_failed;		/* ... or rejected (reason in err) */
	struct pubkey *remote;
	struct peer_id expect;		/* required peer, if has_expect */
	bool has_expect;
	uint8_t *out;			/* output queue: out[off..off+len) */
	size_t out_off, out_len, out_cap;
	/*
	 * Input queue in[off..off+len), TLS_INPUT_MAX bytes while it holds
	 * data and freed when it runs empty, like the output queue: an idle
	 * tunnel keeps no buffer here.
	 */
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	char err[256];
};

/*
 * One WOLFSSL_CTX per role and credential, shared by all sessions: it
 * carries only the certificate, key, suites and callbacks, and building
 * it per connection cost a certificate parse and several KiB each.
 * Sessions hold it through wolfSSL's own reference count (wolfSSL_new
 * takes one, wolfSSL_free drops it); the cache holds one more.
 */
static struct {
	WOLFSSL_CTX *ctx;
	uint8_t id[32];			/* hash of certificate and key */
} tls_ctx_cache[2];
static pthread_mutex_t tls_ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_init_ok;

static void tls_set_error(struct tls_session *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Initialise wolfSSL exactly once per process. */
static void
tls_init_once(void)
{
	tls_init_ok = wolfSSL_Init() == WOLFSSL_SUCCESS &&
	    sodium_init() >= 0;
}

/* Record the first error of the session and mark it failed. */
static void
tls_set_error(struct tls_session *s, const char *fmt, ...)
{
	va_list ap;

	s->status = TLS_FAILED;
	if (s->err[0] != '\0')
		return;
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

	wolfSSL_ERR_error_string_n((unsigned long)e, reason, sizeof(reason));
	tls_set_error(s, "tls: %s failed: %s (%d)", what, reason, e);
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

/* wolfSSL receive callback: take bytes from the input queue. */
static int
tls_on_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_session *s = ctx;
	size_t n;

	(void)ssl;
	if (s->in_len == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	n = sz < 0 ? 0 : (size_t)sz;
	if (n > s->in_len)
		n = s->in_len;
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
		tls_set_error(s, "%s", why);
		return 0;
	}
	if (s->has_expect &&
	    !peer_id_equal(&s->expect, pubkey_peer_id(s->remote))) {
		char want[PEER_ID_STR_MAX], got[PEER_ID_STR_MAX];

		peer_id_to_string(&s->expect, want, sizeof(want));
		peer_id_to_string(pubkey_peer_id(s->remote), got, sizeof(got));
		s->verify_failed = true;
		tls_set_error(s, "tls: peer ID mismatch: expected %s, got %s",
		    want, got);
		return 0;
	}
	s->verified = true;
	return 1;
}

/* The suite list for this build and CPU. */
static const char *
tls_suites(void)
{
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
		tls_set_error(s, "tls: cannot configure suites and groups");
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
		tls_set_error(s, "tls: cannot load certificate");
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
	crypto_generichash_final(&st, id, sizeof(id));
	if (tls_ctx_cache[slot].ctx != NULL &&
	    sodium_memcmp(tls_ctx_cache[slot].id, id, sizeof(id)) == 0) {
		s->ctx = tls_ctx_cache[slot].ctx;
		return 0;
	}
	s->ctx = wolfSSL_CTX_new(s->role == TLS_CLIENT ?
	    wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method());
	if (s->ctx == NULL) {
		tls_set_error(s, "tls: cannot create context");
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

/* tls_ctx_get_locked() under the cache lock. */
static int
tls_ctx_get(struct tls_session *s, const uint8_t *cert, size_t certlen,
    const uint8_t *key, size_t keylen)
{
	int r;

	pthread_mutex_lock(&tls_ctx_lock);
	r = tls_ctx_get_locked(s, cert, certlen, key, keylen);
	pthread_mutex_unlock(&tls_ctx_lock);
	return r;
}

/* Configure the WOLFSSL object: I/O contexts and ALPN. */
static int
tls_setup_ssl(struct tls_session *s)
{
	char alpn[] = TLS_ALPN;

	wolfSSL_SetIOReadCtx(s->ssl, s);
	wolfSSL_SetIOWriteCtx(s->ssl, s);
	wolfSSL_SetCertCbCtx(s->ssl, s);
	/* ALPN "libp2p"; either side aborts on a mismatch */
	if (wolfSSL_UseALPN(s->ssl, alpn, sizeof(alpn) - 1,
	    WOLFSSL_ALPN_FAILED_ON_MISMATCH) != WOLFSSL_SUCCESS) {
		tls_set_error(s, "tls: cannot configure ALPN");
		return -1;
	}
	return 0;
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
	if ((s->ssl = wolfSSL_new(s->ctx)) == NULL) {
		tls_set_error(s, "tls: cannot create session");
		goto fail;
	}
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
	s->expect = *expect;
	s->has_expect = true;
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

/* Post-handshake checks: our callback ran and accepted, ALPN matches. */
static void
tls_check_established(struct tls_session *s)
{
	char *proto = NULL;
	unsigned short plen = 0;
	int r;

	if (!s->verified || s->remote == NULL) {
		tls_set_error(s, "tls: peer certificate was not verified");
		return;
	}
	r = wolfSSL_ALPN_GetProtocol(s->ssl, &proto, &plen);
	if (r == WOLFSSL_SUCCESS && (plen != sizeof(TLS_ALPN) - 1 ||
	    memcmp(proto, TLS_ALPN, plen) != 0)) {
		tls_set_error(s, "tls: unexpected ALPN protocol");
		return;
	}
	if (r != WOLFSSL_SUCCESS && r != WOLFSSL_ALPN_NOT_FOUND) {
		tls_set_error(s, "tls: cannot read ALPN result");
		return;
	}
	s->status = TLS_DONE;
}

enum tls_status
tls_handshake(struct tls_session *s)
{
	int r, e;

	if (s->status != TLS_WANT_IO)
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
	if (s->out_len == 0)
		tls_release_out(s);
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
	if (tls_out_room(s, len + (len / 16384 + 1) * 22) != 0) {
		tls_set_error(s, "tls: out of memory");
		return -1;
	}
	r = wolfSSL_write(s->ssl, pt, (int)len);
	if (r > 0)
		return r;
	tls_set_wolf_error(s, "write", r);
	return -1;
}

int
tls_read(struct tls_session *s, uint8_t *out, size_t cap)
{
	int r, e;

	if (s->status != TLS_DONE)
		return -1;
	if (cap == 0)
		return 0;
	r = wolfSSL_read(s->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0)
		return r;
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
	int r;

	if (s->status != TLS_DONE && s->status != TLS_CLOSED)
		return -1;
	r = wolfSSL_shutdown(s->ssl);
	if (r == WOLFSSL_SUCCESS || r == WOLFSSL_SHUTDOWN_NOT_DONE)
		return 0;
	if (wolfSSL_get_error(s->ssl, r) == WOLFSSL_ERROR_WANT_READ)
		return 0;
	tls_set_wolf_error(s, "shutdown", r);
	return -1;
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
	n = wolfSSL_get_cipher_name(s->ssl);
	return n != NULL ? n : "";
}

const char *
tls_error(const struct tls_session *s)
{
	return s->err;
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
