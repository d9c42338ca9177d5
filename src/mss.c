/*
 * mss.c - multistream-select 1.0.0 dialer and listener, sans-I/O (L1).
 *
 * Wire format (multistream-select.md section 1):
 *	message = uvarint(N) || text || 0x0a,  N = len(text) + 1
 *
 *   dialer                                listener
 *   header + proposal[0]        ---->
 *                               <----     header + ("na" | echo)
 *   proposal[1] (after "na")    ---->
 *                               <----     "na" | echo
 *
 * Messages are read one at a time into an internal buffer, taking only
 * the bytes each message needs, so the byte after the selected protocol's
 * message is never consumed.
 */
#include "mss.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "varint.h"
#include "wire.h"

/* Escaped peer text shown in an error message (incl. NUL). */
#define MSS_ESC_MAX 96

enum mss_role { MSS_DIALER, MSS_LISTENER };

enum mss_state {
	MSS_ST_INIT,		/* dialer not started yet */
	MSS_ST_HEADER,		/* waiting for the peer's header */
	MSS_ST_NEGOTIATE,	/* dialer: await answer; listener: proposal */
	MSS_ST_DONE,
	MSS_ST_FAILED
};

struct mss {
	enum mss_role role;
	enum mss_state state;
	const char **protos;	/* copied array, borrowed strings */
	size_t n;
	size_t cur;		/* dialer: index of the outstanding proposal */
	unsigned int na_sent;	/* listener: "na" answers so far */
	const char *selected;

	/* Reader: length prefix, then the message body. */
	uint8_t vbuf[MSS_MAX_VARINT];
	size_t vlen;
	size_t want;		/* declared length N; 0 while reading prefix */
	uint8_t msg[MSS_MAX_MSG];
	size_t mlen;

	char err[384];
	enum mss_fail fail;
};

/* Output under construction for one call. */
struct mss_out {
	uint8_t *buf;
	size_t len;
};

/* Record a failure reason and enter the failed state; returns -1. */
static int mss_not_header(struct mss *m, uint64_t v, const uint8_t *rest,
    size_t restlen);
static int mss_fail(struct mss *m, enum mss_fail kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
mss_fail(struct mss *m, enum mss_fail kind, const char *fmt, ...)
{
	va_list ap;

	m->fail = kind;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	m->state = MSS_ST_FAILED;
	return -1;
}

/* Encode one message; see mss.h. */
size_t
mss_encode(const char *s, uint8_t *out, size_t cap)
{
	uint8_t pfx[VARINT_MAX_LEN];
	size_t len = strlen(s), plen;

	if (len == 0 || len + 1 > MSS_MAX_MSG || memchr(s, '\n', len) != NULL)
		return 0;
	plen = varint_encode(len + 1, pfx);
	if (plen + len + 1 > cap)
		return 0;
	memcpy(out, pfx, plen);
	memcpy(out + plen, s, len);
	out[plen + len] = '\n';
	return plen + len + 1;
}

/* Create a machine of either role after checking every protocol id. */
static struct mss *
mss_new(enum mss_role role, const char *const *protos, size_t n)
{
	uint8_t tmp[MSS_MAX_MSG + VARINT_MAX_LEN];
	struct mss *m;
	size_t i;

	if (protos == NULL || n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (protos[i] == NULL ||
		    mss_encode(protos[i], tmp, sizeof(tmp)) == 0)
			return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->protos = calloc(n, sizeof(*m->protos))) == NULL) {
		free(m);
		return NULL;
	}
	for (i = 0; i < n; i++)
		m->protos[i] = protos[i];
	m->n = n;
	m->role = role;
	m->state = role == MSS_DIALER ? MSS_ST_INIT : MSS_ST_HEADER;
	return m;
}

/* Create a dialer proposing protos in order. */
struct mss *
mss_new_dialer(const char *const *protos, size_t n)
{
	return mss_new(MSS_DIALER, protos, n);
}

/* Create a listener accepting any of protos. */
struct mss *
mss_new_listener(const char *const *protos, size_t n)
{
	return mss_new(MSS_LISTENER, protos, n);
}

/* Free a machine. */
void
mss_free(struct mss *m)
{
	if (m == NULL)
		return;
	free(m->protos);
	free(m);
}

/* Append one encoded message to the call's output; -1 if no room. */
static int
mss_emit(struct mss *m, struct mss_out *o, const char *s)
{
	size_t n;

	n = mss_encode(s, o->buf + o->len, MSS_OUT_MAX - o->len);
	if (n == 0)
		return mss_fail(m, MSS_FAIL_INTERNAL,
		    "multistream: internal: no room to send "
		    "\"%s\"", s);
	o->len += n;
	return 0;
}

/* Produce the opening bytes. */
int
mss_start(struct mss *m, uint8_t *out, size_t *outlen)
{
	struct mss_out o = { out, 0 };

	*outlen = 0;
	if (m->role == MSS_LISTENER)
		return 0;
	if (m->state != MSS_ST_INIT)
		return -1;
	m->state = MSS_ST_HEADER;
	if (mss_emit(m, &o, MSS_PROTO_HEADER) != 0 ||
	    mss_emit(m, &o, m->protos[m->cur]) != 0)
		return -1;
	*outlen = o.len;
	return 0;
}

/* Escape peer bytes for an error message. */
static const char *
mss_esc(const uint8_t *p, size_t len, char buf[static MSS_ESC_MAX])
{
	return log_escape(p, len, buf, MSS_ESC_MAX);
}

/*
 * Fail on an invalid length prefix in m->vbuf.  rest[0..restlen) is the
 * unread input, used only to name the declared length if it is there.
 */
static int
mss_bad_prefix(struct mss *m, const uint8_t *rest, size_t restlen)
{
	uint8_t tmp[VARINT_MAX_LEN];
	size_t tlen, k;
	uint64_t v;

	if (m->vbuf[m->vlen - 1] == 0)
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: non-minimal length prefix "
		    "%02x %02x", m->vbuf[0], m->vbuf[1]);
	memcpy(tmp, m->vbuf, m->vlen);
	k = sizeof(tmp) - m->vlen;
	if (k > restlen)
		k = restlen;
	memcpy(tmp + m->vlen, rest, k);
	tlen = m->vlen + k;
	if (varint_decode(tmp, tlen, VARINT_MAX_LEN, &v) > 0)
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: message length %llu exceeds "
		    "%d", (unsigned long long)v, MSS_MAX_MSG);
	return mss_fail(m, MSS_FAIL_MALFORMED,
	    "multistream: length prefix longer than %d bytes "
	    "(message length > 16383 exceeds %d)", MSS_MAX_VARINT, MSS_MAX_MSG);
}

/* Check a complete message body in m->msg[0..m->want). */
static int
mss_check_msg(struct mss *m)
{
	char esc[MSS_ESC_MAX];
	size_t n = m->want;

	if (m->msg[n - 1] != '\n')
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: message of %zu bytes lacks "
		    "trailing newline: \"%s\"", n, mss_esc(m->msg, n, esc));
	if (n == 1)
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: empty message");
	if (memchr(m->msg, '\n', n - 1) != NULL)
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: message contains an interior "
		    "newline: \"%s\"", mss_esc(m->msg, n - 1, esc));
	return 0;
}

/*
 * Read one message from in[*off..len), advancing *off only over the
 * bytes it takes.  Returns 1 with the text in m->msg[0..m->mlen), 0 if
 * more input is needed, -1 on a malformed message.
 */
static int
mss_read_msg(struct mss *m, const uint8_t *in, size_t len, size_t *off)
{
	uint64_t v;
	size_t take;
	int r;

	while (m->want == 0) {
		if (*off >= len)
			return 0;
		m->vbuf[m->vlen++] = in[(*off)++];
		r = varint_decode(m->vbuf, m->vlen, MSS_MAX_VARINT, &v);
		if (r == 0)
			continue;
		if (r < 0)
			return mss_bad_prefix(m, in + *off, len - *off);
		m->vlen = 0;
		if (v == 0)
			return mss_fail(m, MSS_FAIL_MALFORMED,
			    "multistream: message length 0");
		if (v > MSS_MAX_MSG)
			return mss_fail(m, MSS_FAIL_MALFORMED,
			    "multistream: message length %llu "
			    "exceeds %d", (unsigned long long)v, MSS_MAX_MSG);
		/* The first message can only be the header: fail fast on
		 * anything else (an HTTP probe, a TLS ClientHello) instead of
		 * waiting for bytes that will never come. */
		if (m->state == MSS_ST_HEADER &&
		    v != sizeof(MSS_PROTO_HEADER))
			return mss_not_header(m, v, in + *off, len - *off);
		m->want = (size_t)v;
		m->mlen = 0;
	}
	take = len - *off;
	if (take > m->want - m->mlen)
		take = m->want - m->mlen;
	memcpy(m->msg + m->mlen, in + *off, take);
	m->mlen += take;
	*off += take;
	if (m->mlen < m->want)
		return 0;
	if (mss_check_msg(m) != 0)
		return -1;
	m->mlen = m->want - 1;		/* text without the '\n' */
	m->want = 0;
	return 1;
}

/*
 * The first message declares length v, but the header is 19 bytes:
 * name what arrived instead (the prefix byte and what follows).
 */
static int
mss_not_header(struct mss *m, uint64_t v, const uint8_t *rest, size_t restlen)
{
	char esc[MSS_ESC_MAX];
	uint8_t first[32];
	size_t n = restlen < sizeof(first) - 1 ? restlen : sizeof(first) - 1;

	first[0] = m->vbuf[0];
	memcpy(first + 1, rest, n);
	return mss_fail(m, MSS_FAIL_MALFORMED,
	    "multistream: expected header \"%s\" (length %zu), "
	    "received a message of length %llu starting \"%s\"",
	    MSS_PROTO_HEADER, sizeof(MSS_PROTO_HEADER),
	    (unsigned long long)v, mss_esc(first, n + 1, esc));
}

/* Does the text just read equal s? */
static int
mss_msg_is(const struct mss *m, const char *s)
{
	return strlen(s) == m->mlen && memcmp(m->msg, s, m->mlen) == 0;
}

/* Fail because the listener refused every proposal. */
static int
mss_refused_all(struct mss *m)
{
	size_t i, used;
	int w;

	used = (size_t)snprintf(m->err, sizeof(m->err),
	    "multistream: peer refused all of");
	for (i = 0; i < m->n && used < sizeof(m->err); i++) {
		w = snprintf(m->err + used, sizeof(m->err) - used, " %s",
		    m->protos[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	m->fail = MSS_FAIL_NO_PROTOCOL;
	m->state = MSS_ST_FAILED;
	return -1;
}

/* Dialer: act on one message; *more says unread input follows it. */
static int
mss_dialer_msg(struct mss *m, struct mss_out *o, int more)
{
	char esc[MSS_ESC_MAX];

	if (m->state == MSS_ST_HEADER) {
		if (!mss_msg_is(m, MSS_PROTO_HEADER))
			return mss_fail(m, MSS_FAIL_MALFORMED,
			    "multistream: expected header "
			    "\"%s\" from listener, received \"%s\"",
			    MSS_PROTO_HEADER,
			    mss_esc(m->msg, m->mlen, esc));
		m->state = MSS_ST_NEGOTIATE;
		return 0;
	}
	if (mss_msg_is(m, m->protos[m->cur])) {
		m->selected = m->protos[m->cur];
		m->state = MSS_ST_DONE;
		return 0;
	}
	if (!mss_msg_is(m, MSS_NA))
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: expected \"%s\" or \"na\" in "
		    "answer to proposal, received \"%s\"", m->protos[m->cur],
		    mss_esc(m->msg, m->mlen, esc));
	if (++m->cur == m->n)
		return mss_refused_all(m);
	if (more)
		return mss_fail(m, MSS_FAIL_MALFORMED,
		    "multistream: listener sent more data after "
		    "\"na\" before seeing proposal \"%s\"", m->protos[m->cur]);
	return mss_emit(m, o, m->protos[m->cur]);
}

/* Listener: act on one message from the dialer. */
static int
mss_listener_msg(struct mss *m, struct mss_out *o)
{
	char esc[MSS_ESC_MAX];
	size_t i;

	if (m->state == MSS_ST_HEADER) {
		if (!mss_msg_is(m, MSS_PROTO_HEADER))
			return mss_fail(m, MSS_FAIL_MALFORMED,
			    "multistream: expected header "
			    "\"%s\" from dialer, received \"%s\"",
			    MSS_PROTO_HEADER,
			    mss_esc(m->msg, m->mlen, esc));
		m->state = MSS_ST_NEGOTIATE;
		return mss_emit(m, o, MSS_PROTO_HEADER);
	}
	for (i = 0; i < m->n; i++) {
		if (mss_msg_is(m, m->protos[i])) {
			m->selected = m->protos[i];
			m->state = MSS_ST_DONE;
			return mss_emit(m, o, m->protos[i]);
		}
	}
	/* "ls", "na", a repeated header and unknown ids all get "na". */
	if (m->na_sent >= MSS_MAX_NA)
		return mss_fail(m, MSS_FAIL_NO_PROTOCOL,
		    "multistream: no common protocol after %d "
		    "proposals, last \"%s\"", MSS_MAX_NA + 1,
		    mss_esc(m->msg, m->mlen, esc));
	m->na_sent++;
	return mss_emit(m, o, MSS_NA);
}

/* Status the caller sees for the current state. */
static enum mss_status
mss_status_of(const struct mss *m)
{
	if (m->state == MSS_ST_DONE)
		return MSS_DONE;
	if (m->state == MSS_ST_FAILED)
		return MSS_FAILED;
	return MSS_CONTINUE;
}

/* Feed received bytes; see mss.h. */
enum mss_status
mss_input(struct mss *m, const uint8_t *in, size_t len, size_t *consumed,
    uint8_t *out, size_t *outlen)
{
	struct mss_out o = { out, 0 };
	size_t off = 0;
	int r;

	*consumed = 0;
	*outlen = 0;
	if (m->state == MSS_ST_DONE || m->state == MSS_ST_FAILED)
		return mss_status_of(m);
	if (m->state == MSS_ST_INIT) {
		mss_fail(m, MSS_FAIL_INTERNAL,
		    "multistream: input before mss_start()");
		return MSS_FAILED;
	}
	while ((r = mss_read_msg(m, in, len, &off)) == 1) {
		if (m->role == MSS_DIALER)
			r = mss_dialer_msg(m, &o, off < len);
		else
			r = mss_listener_msg(m, &o);
		if (r != 0 || m->state == MSS_ST_DONE)
			break;
	}
	*consumed = off;
	*outlen = o.len;
	return mss_status_of(m);
}

/* Selected protocol or NULL. */
const char *
mss_selected(const struct mss *m)
{
	return m->selected;
}

/* Failure reason or "". */
const char *
mss_error(const struct mss *m)
{
	return m->err;
}

enum mss_fail
mss_fail_kind(const struct mss *m)
{
	return m->fail;
}
