/*
 * plyamux.c - a hostile node-mode (yamux) peer for node-hostile.sh.
 *
 * usage: plyamux PORT --key FILE --expect PEERID --mode MODE
 *                [--proto P] [--seconds S] [--hold S]
 *
 * Dials a peerlock listener on 127.0.0.1:PORT and runs a real upgrade
 * (secchan.h: multistream-select, Noise XX, muxers ["/yamux/1.0.0"] so
 * the muxer is agreed inside the handshake), then speaks yamux badly:
 * raw frames built here, sealed with secchan_seal().  MODE:
 *
 *   ping-flood    Ping SYN frames as fast as the socket takes them; never
 *                 reads.  Stops once the socket made no progress for 2 s
 *                 (blocked=1: the peer stopped reading) or after S s.
 *   ping-trickle  the same, but 1000 pings per sealed frame, 1 ms apart:
 *                 each read of the peer sees less than its control
 *                 queue's high mark of them.
 *   syn-flood     Window Update|SYN for ids 1, 3, 5, ...; never
 *                 negotiates, never reads; until blocked, closed or S s.
 *   window-flood  opens stream 1 to --proto (multistream header and
 *                 proposal behind the SYN), then Window Update frames for
 *                 it, deltas 0xffffffff and 1 in turn (the 32-bit window
 *                 sum overflows at once), for S s; then sends a token on
 *                 the stream and reads until the echo of it comes back
 *                 (echo=1) or --hold s pass.
 *   lazy          opens stream 1 with the multistream header, a proposal
 *                 for --proto and a token in one data frame (a lazy
 *                 proposal, multistream-select.md), then reads until the
 *                 echo of the token comes back (echo=1) or --hold s.
 *   push          opens stream 1 with a proposal of /ipfs/id/push/1.0.0,
 *                 a small identify message and a FIN; echo=1 when the
 *                 answer accepts the protocol (not "na").
 *   perf-short    opens stream 1 to /perf/1.0.0 with 3 of the 8 request
 *                 bytes and a FIN (a malformed perf request), then stream
 *                 3 to --proto lazily with a token, and reads until its
 *                 echo comes back (echo=1: the session still serves).
 *   perf-stall    opens stream 1 to /perf/1.0.0 with a 16 MiB window on
 *                 the SYN and 0xffffffff more behind it, a request for
 *                 1 TiB and a FIN, then never reads for S s: the server
 *                 may send only as its output drains.
 *   overrun       opens stream 1 to --proto, then one data frame of
 *                 256 KiB: more than the receive window left after the
 *                 proposal.
 *   bad-version, bad-type, syn-id0, syn-parity
 *                 one frame with version 1 / type 9 / a SYN on stream 0 /
 *                 a SYN on (even, the listener's) stream 2.
 *   stall         opens stream 1 to --proto with a 16 MiB window on the
 *                 SYN and 0xffffffff more behind it, then never reads
 *                 for S s (the target, echod --mode source, talks
 *                 without end).
 *
 * Every mode then ends its direction (FIN) and reads (decrypting) until
 * the peer closes or --hold (default 10) seconds pass.  One line:
 *
 *   plyamux MODE: frames=N bytes=N blocked=0|1 open_after=0|1
 *       echo=0|1 closed=eof|reset|open secs=S
 *
 * frames and bytes count the yamux frames and wire bytes written;
 * open_after says the connection was still open when the attack phase
 * ended.  Exit 0 when the run went as described, 2 on a setup error
 * (usage, key, connect, an upgrade that failed, no muxer agreed).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "config.h"
#include "keys.h"
#include "wire.h"
#include "peerid.h"
#include "secchan.h"
#include "pltool.h"
#include "yamux.h"

enum { EXIT_OK = 0, EXIT_SETUP = 2 };
enum { INBUF = 1 << 17, BATCH = 16 * 1024, STUCK_MS = 2000 };

static const char *const yamux_id = "/yamux/1.0.0";

struct opts {
	const char *key, *expect, *mode, *proto;
	int port;
	double seconds, hold;
};

struct peer {
	int fd;
	struct secchan *sc;
	uint64_t frames, bytes;
	bool blocked, gone;	/* no progress for STUCK_MS; write failed */
	uint8_t pt[BATCH];	/* plaintext batch */
	size_t ptlen, ptframes;
};

/*
 * Write b[0..n) on the non-blocking socket: waits while the socket
 * makes progress, gives up (p->blocked) after STUCK_MS without any.
 * 0 when all was written, -1 otherwise.
 */
static int
write_nb(struct peer *p, const uint8_t *b, size_t n)
{
	struct pollfd pf = { .fd = p->fd, .events = POLLOUT };
	ssize_t w;

	while (n > 0) {
		w = send(p->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			p->bytes += (uint64_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			p->gone = true;
			return -1;
		}
		if (poll(&pf, 1, STUCK_MS) <= 0) {
			p->blocked = true;
			return -1;
		}
	}
	return 0;
}

/* Seal and send the plaintext batch; 0 or -1. */
static int
flush(struct peer *p)
{
	static uint8_t wire[SECCHAN_SEALED_MAX];
	int n;

	if (p->ptlen == 0)
		return 0;
	n = secchan_seal(p->sc, p->pt, p->ptlen, wire, sizeof(wire));
	p->ptlen = 0;
	if (n < 0) {
		fprintf(stderr, "plyamux: seal: %s\n", secchan_error(p->sc));
		p->gone = true;
		return -1;
	}
	if (write_nb(p, wire, (size_t)n) != 0)
		return -1;
	p->frames += p->ptframes;
	p->ptframes = 0;
	return 0;
}

/* Append plaintext (flushing as the batch fills); 0 or -1. */
static int
put(struct peer *p, const uint8_t *b, size_t n)
{
	size_t k;

	while (n > 0) {
		if (p->ptlen == sizeof(p->pt) && flush(p) != 0)
			return -1;
		k = sizeof(p->pt) - p->ptlen;
		if (k > n)
			k = n;
		memcpy(p->pt + p->ptlen, b, k);
		p->ptlen += k;
		b += k;
		n -= k;
	}
	return 0;
}

/* Queue one yamux header (version ver); 0 or -1. */
static int
hdr(struct peer *p, uint8_t ver, uint8_t type, uint16_t flags, uint32_t id,
    uint32_t len)
{
	uint8_t h[YAMUX_HDR] = { ver, type, (uint8_t)(flags >> 8),
	    (uint8_t)flags, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
	    (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(len >> 24),
	    (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

	p->ptframes++;
	return put(p, h, sizeof(h));
}

/*
 * Open stream 1 with a window delta on the SYN, and send the
 * multistream header and a proposal for proto as its first data, with
 * extra[0..elen) in the same frame (a lazy proposal: app bytes before
 * the answer).
 */
static int
open_proto_id(struct peer *p, uint32_t id, const char *proto,
    uint32_t delta, const uint8_t *extra, size_t elen)
{
	uint8_t m[2 + 256 + 64 + 64];
	size_t n = 0, pl = strlen(proto), hl = strlen(MSS_PROTO_HEADER);

	if (pl + 1 > 127)
		return -1;
	m[n++] = (uint8_t)(hl + 1);
	memcpy(m + n, MSS_PROTO_HEADER "\n", hl + 1);
	n += hl + 1;
	m[n++] = (uint8_t)(pl + 1);
	memcpy(m + n, proto, pl);
	n += pl;
	m[n++] = '\n';
	if (elen > 64)
		return -1;
	if (elen > 0)
		memcpy(m + n, extra, elen);
	n += elen;
	if (hdr(p, 0, YAMUX_T_WINDOW, YAMUX_F_SYN, id, delta) != 0 ||
	    hdr(p, 0, YAMUX_T_DATA, 0, id, (uint32_t)n) != 0 ||
	    put(p, m, n) != 0)
		return -1;
	return flush(p);
}

/* open_proto_id on stream 1. */
static int
open_proto(struct peer *p, const char *proto, uint32_t delta,
    const uint8_t *extra, size_t elen)
{
	return open_proto_id(p, 1, proto, delta, extra, elen);
}

/*
 * Read and decrypt until the peer closes or hold seconds pass; if token
 * is set, stop as soon as it appears in the plaintext (*seen).  Returns
 * "eof", "reset" or "open".
 */
static const char *
read_until(struct peer *p, double hold, const uint8_t *token, size_t tlen,
    bool *seen)
{
	static uint8_t in[INBUF], pt[NOISE_MAX_MSG + 64];
	static uint8_t tail[64];
	size_t inlen = 0, used, need, room, inl, keep = 0, total;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };
	double t0 = pl_now_s(), left;
	ssize_t r;
	int n;

	for (;;) {
		left = hold - (pl_now_s() - t0);
		if (left <= 0)
			return "open";
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = recv(p->fd, in + inlen, sizeof(in) - inlen, 0);
		if (r == 0)
			return "eof";
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? "reset" : "error";
		}
		inlen += (size_t)r;
		/* decrypt whole frames; look for the token across frames */
		while (token != NULL && !*seen) {
			room = secchan_open_room(p->sc, in, inlen, &inl);
			if (room == 0 || room > sizeof(pt) - sizeof(tail))
				break;
			n = secchan_open(p->sc, in, inl, &used, &need,
			    pt + keep, room);
			if (n < 0)
				return "bad-frame";
			memmove(in, in + used, inlen - used);
			inlen -= used;
			if (n == 0 && used == 0)
				break;
			memcpy(pt, tail, keep);
			total = keep + (size_t)n;
			if (memmem(pt, total, token, tlen) != NULL) {
				*seen = true;
				return "open";
			}
			keep = total < sizeof(tail) ? total : sizeof(tail);
			memcpy(tail, pt + total - keep, keep);
		}
		if (token == NULL || *seen)
			inlen = 0;	/* only the close matters */
		else if (inlen == sizeof(in))
			return "full";
	}
}

/* The attack phase; 0, or -1 when the connection went away. */
static int
attack(struct peer *p, const struct opts *o, bool *echo)
{
	double t_end = pl_now_s() + o->seconds;
	static const uint8_t token[] = "plyamux-token-7d1e5c";
	uint32_t i = 0, id;
	uint8_t zero[4096];
	size_t left;

	memset(zero, 0, sizeof(zero));
	if (strcmp(o->mode, "ping-flood") == 0) {
		while (!p->blocked && !p->gone && pl_now_s() < t_end)
			if (hdr(p, 0, YAMUX_T_PING, YAMUX_F_SYN, 0, ++i) != 0)
				break;
		return flush(p) == 0 || p->blocked ? 0 : -1;
	}
	if (strcmp(o->mode, "ping-trickle") == 0) {
		/*
		 * 1000 pings (12 KB) per sealed frame, 1 ms apart: less than
		 * the control queue's high mark per read of the peer.
		 */
		while (!p->blocked && !p->gone && pl_now_s() < t_end) {
			for (id = 0; id < 1000; id++)
				(void)hdr(p, 0, YAMUX_T_PING, YAMUX_F_SYN, 0,
				    ++i);
			if (flush(p) != 0)
				break;
			usleep(1000);
		}
		return p->gone ? -1 : 0;
	}
	if (strcmp(o->mode, "syn-flood") == 0) {
		for (id = 1; !p->blocked && !p->gone && pl_now_s() < t_end &&
		    id < 0x7fffffffu; id += 2)
			if (hdr(p, 0, YAMUX_T_WINDOW, YAMUX_F_SYN, id, 0) != 0)
				break;
		return flush(p) == 0 || p->blocked ? 0 : -1;
	}
	if (strcmp(o->mode, "window-flood") == 0) {
		if (open_proto(p, o->proto, 0, NULL, 0) != 0)
			return -1;
		while (!p->blocked && !p->gone && pl_now_s() < t_end)
			if (hdr(p, 0, YAMUX_T_WINDOW, 0, 1,
			    (i++ & 1) ? 1 : 0xffffffffu) != 0)
				break;
		if (flush(p) != 0 && !p->blocked)
			return -1;
		/* the stream still echoes */
		if (hdr(p, 0, YAMUX_T_DATA, 0, 1, sizeof(token) - 1) != 0 ||
		    put(p, token, sizeof(token) - 1) != 0 || flush(p) != 0)
			return -1;
		(void)read_until(p, o->hold, token, sizeof(token) - 1, echo);
		return 0;
	}
	if (strcmp(o->mode, "lazy") == 0) {
		if (open_proto(p, o->proto, 0, token, sizeof(token) - 1) != 0)
			return -1;
		(void)read_until(p, o->hold, token, sizeof(token) - 1, echo);
		return 0;
	}
	if (strcmp(o->mode, "push") == 0) {
		/*
		 * identify push: a small identify message (agentVersion,
		 * field 6) behind the proposal; the answer echoes the
		 * protocol id when it is accepted (not "na").
		 */
		static const uint8_t msg[] = { 9, 0x32, 7, 'p', 'l', 'y',
		    'a', 'm', 'u', 'x' };
		static const uint8_t acc[] = "/ipfs/id/push/1.0.0\n";

		if (open_proto(p, "/ipfs/id/push/1.0.0", 0, msg,
		    sizeof(msg)) != 0 || hdr(p, 0, YAMUX_T_DATA, YAMUX_F_FIN,
		    1, 0) != 0 || flush(p) != 0)
			return -1;
		(void)read_until(p, o->hold, acc, sizeof(acc) - 1, echo);
		return 0;
	}
	if (strcmp(o->mode, "perf-short") == 0) {
		static const uint8_t part[3] = { 0, 0, 0 };

		if (open_proto(p, "/perf/1.0.0", 0, part, sizeof(part)) != 0 ||
		    hdr(p, 0, YAMUX_T_DATA, YAMUX_F_FIN, 1, 0) != 0 ||
		    open_proto_id(p, 3, o->proto, 0, token,
		    sizeof(token) - 1) != 0)
			return -1;
		(void)read_until(p, o->hold, token, sizeof(token) - 1, echo);
		return 0;
	}
	if (strcmp(o->mode, "perf-stall") == 0) {
		static const uint8_t tib[8] = { 0, 0, 1, 0, 0, 0, 0, 0 };

		if (open_proto(p, "/perf/1.0.0", 16u << 20, tib,
		    sizeof(tib)) != 0 ||
		    hdr(p, 0, YAMUX_T_WINDOW, 0, 1, 0xffffffffu) != 0 ||
		    hdr(p, 0, YAMUX_T_DATA, YAMUX_F_FIN, 1, 0) != 0 ||
		    flush(p) != 0)
			return -1;
		while (pl_now_s() < t_end)
			usleep(50000);
		return 0;
	}
	if (strcmp(o->mode, "overrun") == 0) {
		if (open_proto(p, o->proto, 0, NULL, 0) != 0 ||
		    hdr(p, 0, YAMUX_T_DATA, 0, 1, YAMUX_INITIAL_WINDOW) != 0)
			return -1;
		for (left = YAMUX_INITIAL_WINDOW; left > 0;
		    left -= left < sizeof(zero) ? left : sizeof(zero))
			if (put(p, zero, left < sizeof(zero) ? left :
			    sizeof(zero)) != 0)
				break;
		(void)flush(p);
		return 0;
	}
	if (strcmp(o->mode, "stall") == 0) {
		if (open_proto(p, o->proto, 16u << 20, NULL, 0) != 0 ||
		    hdr(p, 0, YAMUX_T_WINDOW, 0, 1, 0xffffffffu) != 0 ||
		    flush(p) != 0)
			return -1;
		while (pl_now_s() < t_end)
			usleep(50000);
		return 0;
	}
	if (strcmp(o->mode, "bad-version") == 0)
		(void)hdr(p, 1, YAMUX_T_PING, YAMUX_F_SYN, 0, 1);
	else if (strcmp(o->mode, "bad-type") == 0)
		(void)hdr(p, 0, 9, 0, 0, 0);
	else if (strcmp(o->mode, "syn-id0") == 0)
		(void)hdr(p, 0, YAMUX_T_WINDOW, YAMUX_F_SYN, 0, 0);
	else if (strcmp(o->mode, "syn-parity") == 0)
		(void)hdr(p, 0, YAMUX_T_WINDOW, YAMUX_F_SYN, 2, 0);
	else
		return -1;
	return flush(p);
}

/* Upgrade, attack, end, report. */
static int
run(const struct opts *o, const struct identity *id)
{
	static uint8_t in[INBUF], out[SECCHAN_OUT_MAX];
	static struct peer p;
	enum sec_proto proto = SEC_NOISE;
	struct secchan_cred *cr = NULL;
	struct peer_id expect;
	const char *closed = "open";
	double t0;
	size_t outlen = 0;
	bool echo = false, open_after;
	int rc = EXIT_SETUP;

	p.fd = -1;
	if (peer_id_parse(o->expect, &expect) != 0) {
		fprintf(stderr, "plyamux: bad --expect\n");
		return EXIT_SETUP;
	}
	if ((cr = secchan_cred_new(id)) == NULL ||
	    (p.sc = secchan_new(SECCHAN_DIALER, cr, &proto, 1,
	    &expect)) == NULL || secchan_set_muxers(p.sc, &yamux_id, 1) != 0)
		goto out;
	if ((p.fd = pl_dial_local(o->port)) < 0) {
		perror("plyamux: connect");
		goto out;
	}
	if (secchan_start(p.sc, out, &outlen) != 0 ||
	    pl_upgrade_loop("plyamux", p.fd, p.sc, in, sizeof(in), out,
	    outlen) != SECCHAN_READY) {
		fprintf(stderr, "plyamux: upgrade failed: %s\n",
		    secchan_error(p.sc));
		goto out;
	}
	if (secchan_muxer(p.sc) == NULL ||
	    strcmp(secchan_muxer(p.sc), yamux_id) != 0) {
		fprintf(stderr, "plyamux: no muxer agreed in the handshake\n");
		goto out;
	}
	t0 = pl_now_s();
	if (attack(&p, o, &echo) != 0 && !p.gone && !p.blocked) {
		fprintf(stderr, "plyamux: unknown mode %s\n", o->mode);
		goto out;
	}
	open_after = !p.gone;
	if (!p.gone) {
		shutdown(p.fd, SHUT_WR);
		closed = read_until(&p, o->hold, NULL, 0, NULL);
	} else
		closed = "reset";
	printf("plyamux %s: frames=%llu bytes=%llu blocked=%d open_after=%d "
	    "echo=%d closed=%s secs=%.2f\n", o->mode,
	    (unsigned long long)p.frames, (unsigned long long)p.bytes,
	    p.blocked ? 1 : 0, open_after ? 1 : 0, echo ? 1 : 0, closed,
	    pl_now_s() - t0);
	rc = EXIT_OK;
out:
	if (p.fd >= 0)
		close(p.fd);
	secchan_free(p.sc);
	secchan_cred_free(cr);
	return rc;
}

/* Parse argv into o; 0 or -1. */
static int
parse(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->hold = 10;
	o->seconds = 3;
	o->proto = "/x/echo";
	if (argc < 2)
		return -1;
	o->port = atoi(argv[1]);
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--key") == 0)
			o->key = argv[i + 1];
		else if (strcmp(argv[i], "--expect") == 0)
			o->expect = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			o->mode = argv[i + 1];
		else if (strcmp(argv[i], "--proto") == 0)
			o->proto = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--hold") == 0)
			o->hold = atof(argv[i + 1]);
		else
			return -1;
	}
	if (i != argc || o->key == NULL || o->mode == NULL ||
	    o->expect == NULL || o->port <= 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct identity *id;
	struct opts o;
	char err[256];
	int rc;

	if (parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: plyamux PORT --key FILE --expect ID "
		    "--mode MODE [--proto P] [--seconds S] [--hold S]\n");
		return EXIT_SETUP;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((id = identity_load(o.key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "plyamux: %s\n", err);
		return EXIT_SETUP;
	}
	rc = run(&o, id);
	identity_free(id);
	return rc;
}
