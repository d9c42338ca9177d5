/*
 * perf.c - the libp2p perf protocol's two ends, sans I/O (see perf.h).
 */
#include "perf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
perf_req_encode(uint64_t n, uint8_t out[static PERF_REQ_LEN])
{
	int i;

	for (i = PERF_REQ_LEN - 1; i >= 0; i--) {
		out[i] = (uint8_t)(n & 0xff);
		n >>= 8;
	}
}

uint64_t
perf_req_decode(const uint8_t in[static PERF_REQ_LEN])
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < PERF_REQ_LEN; i++)
		n = n << 8 | in[i];
	return n;
}

/* Fail p with a message. */
static int
perf_fail(struct perf *p, const char *msg)
{
	p->state = PERF_S_FAILED;
	snprintf(p->err, sizeof(p->err), "%s", msg);
	return -1;
}

void
perf_srv_init(struct perf *p, uint64_t max)
{
	memset(p, 0, sizeof(*p));
	p->state = PERF_S_REQUEST;
	p->max = max;
}

int
perf_srv_input(struct perf *p, const uint8_t *b, size_t n)
{
	char msg[PERF_ERR_MAX];
	size_t k;

	if (p->client || p->state == PERF_S_FAILED)
		return -1;
	if (p->state == PERF_S_REQUEST) {
		k = PERF_REQ_LEN - p->have;
		if (k > n)
			k = n;
		memcpy(p->req + p->have, b, k);
		p->have += (unsigned)k;
		b += k;
		n -= k;
		if (p->have < PERF_REQ_LEN)
			return 0;
		p->want = perf_req_decode(p->req);
		if (p->max != 0 && p->want > p->max) {
			snprintf(msg, sizeof(msg), "perf: the peer asked for "
			    "%" PRIu64 " bytes, more than perf_max_bytes (%"
			    PRIu64 ")", p->want, p->max);
			return perf_fail(p, msg);
		}
		p->state = PERF_S_UPLOAD;
	}
	if (n == 0)
		return 0;
	if (p->state != PERF_S_UPLOAD)
		return perf_fail(p, "perf: data from the client after its "
		    "end of stream");
	p->received += n;
	return 0;
}

int
perf_srv_eof(struct perf *p)
{
	char msg[PERF_ERR_MAX];

	if (p->client || p->state == PERF_S_FAILED)
		return -1;
	if (p->state == PERF_S_REQUEST) {
		snprintf(msg, sizeof(msg), "perf: the stream ended after %u "
		    "of the %u request bytes (expected a big-endian uint64 "
		    "byte count)", p->have, (unsigned)PERF_REQ_LEN);
		return perf_fail(p, msg);
	}
	if (p->state == PERF_S_UPLOAD)
		p->state = p->want > 0 ? PERF_S_SEND : PERF_S_DONE;
	return 0;
}

void
perf_cli_init(struct perf *p, uint64_t upload, uint64_t download)
{
	memset(p, 0, sizeof(*p));
	p->client = true;
	p->state = PERF_S_SEND;
	p->want = download;
	p->upload = upload;
	perf_req_encode(download, p->req);
}

int
perf_cli_input(struct perf *p, size_t n)
{
	char msg[PERF_ERR_MAX];

	if (!p->client || p->state == PERF_S_FAILED)
		return -1;
	if (n == 0)
		return 0;
	if (p->state != PERF_S_RECEIVE) {
		snprintf(msg, sizeof(msg), "perf: the server sent %zu bytes "
		    "before our upload ended (perf.md: it must not send "
		    "while it reads)", n);
		return perf_fail(p, msg);
	}
	if (n > p->want - p->received) {
		snprintf(msg, sizeof(msg), "perf: the server sent more than "
		    "the %" PRIu64 " bytes asked for (%" PRIu64 " so far)",
		    p->want, p->received + n);
		return perf_fail(p, msg);
	}
	p->received += n;
	return 0;
}

int
perf_cli_eof(struct perf *p)
{
	char msg[PERF_ERR_MAX];

	if (!p->client || p->state == PERF_S_FAILED)
		return -1;
	if (p->state != PERF_S_RECEIVE || p->received != p->want) {
		snprintf(msg, sizeof(msg), "perf: the server ended the stream "
		    "after %" PRIu64 " of the %" PRIu64 " bytes asked for%s",
		    p->received, p->want, p->state == PERF_S_SEND ?
		    ", before our upload ended" : "");
		return perf_fail(p, msg);
	}
	p->state = PERF_S_DONE;
	return 0;
}

uint64_t
perf_left(const struct perf *p)
{
	if (p->state != PERF_S_SEND)
		return 0;
	if (p->client)
		return PERF_REQ_LEN + p->upload - p->sent;
	return p->want - p->sent;
}

size_t
perf_fill(struct perf *p, uint8_t *buf, size_t room)
{
	uint64_t left = perf_left(p);
	size_t n = room < left ? room : (size_t)left, off = 0, k;

	if (p->client && p->sent < PERF_REQ_LEN) {
		k = PERF_REQ_LEN - (size_t)p->sent;
		if (k > n)
			k = n;
		memcpy(buf, p->req + p->sent, k);
		off = k;
	}
	memset(buf + off, 0, n - off);
	p->sent += n;
	if (n == left)
		p->state = p->client ? PERF_S_RECEIVE : PERF_S_DONE;
	return n;
}

const char *
perf_error(const struct perf *p)
{
	return p->state == PERF_S_FAILED ? p->err : "";
}

double
perf_bps(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes * 8 / s : 0;
}

int
perf_result_json(const struct perf_result *r, char *buf, size_t cap)
{
	int n;

	n = snprintf(buf, cap, "{\"type\":\"final\",\"timeSeconds\":%.6f,"
	    "\"uploadBytes\":%" PRIu64 ",\"downloadBytes\":%" PRIu64 ","
	    "\"uploadSeconds\":%.6f,\"downloadSeconds\":%.6f,"
	    "\"uploadBitsPerSecond\":%.0f,\"downloadBitsPerSecond\":%.0f}",
	    r->total_s, r->upload_bytes, r->download_bytes, r->upload_s,
	    r->download_s, perf_bps(r->upload_bytes, r->upload_s),
	    perf_bps(r->download_bytes, r->download_s));
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
