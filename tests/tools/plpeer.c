/*
 * plpeer.c - a misbehaving libp2p peer for the hostile end-to-end tests.
 *
 * usage: plpeer dial PORT --key FILE --expect PEERID --mode MODE [--hold S]
 *        plpeer listen PORT --key FILE --mode MODE [--port-file F] [--hold S]
 *        plpeer tls PORT --key FILE --mode MODE [--signer FILE] [--hold S]
 *        plpeer upgrade PORT --key FILE --mode ROLE-PROTO [--expect PEERID]
 *               [--muxers ID,ID...] [--port-file F]
 *
 * dial/listen run a real upgrade (secchan.h: multistream-select, then
 * Noise XX with a libp2p identity) against a real peerlock on 127.0.0.1,
 * but spoil one of their own Noise handshake messages on the way out:
 * the dialer msg 3, the listener msg 2.  MODE:
 *
 *   flip-tag    flip a bit in the message's last byte (the payload tag)
 *   flip-body   flip a bit at byte 40 (inside the encrypted static key)
 *   flip-e      flip a bit at byte 0
 *   short       declare and send only 16 bytes of it (wrong length)
 *   pad         append 8 junk bytes and declare them (wrong length)
 *   trunc       send the length prefix and half, then FIN
 *   stall       send the length prefix and half, then nothing
 *   stop        send none of it: the handshake stops halfway
 *   honest      send it unchanged (control)
 *
 * tls does multistream-select for /tls/1.0.0 by hand, then a TLS 1.3
 * client handshake (tls.h) presenting a certificate built by
 * tlscert_build() for the identity in --key:
 *
 *   valid        a correct certificate
 *   foreign-sig  the libp2p extension claims --key's identity but is
 *                signed by --signer's (an impersonation attempt)
 *   no-ext       no libp2p extension
 *   expired      validity ended yesterday
 *   corrupt-key  SignedKey.publicKey is garbage
 *   extra-crit   an unknown critical extension
 *   ku-flood     valid; then, for --hold seconds, KeyUpdate(update_
 *                requested) records with one byte of data after every
 *                31, never reading (issue 13.1); prints the count and
 *                exits 0 whatever the peerlock did
 *   zero-record  valid; then one record of only zero bytes: exits 0 if
 *                the peerlock answers with the unexpected_message alert
 *                before it closes, 1 if not
 *
 * upgrade runs an honest upgrade (secchan.h) as ROLE dial or listen
 * over PROTO noise or tls (e.g. --mode listen-tls), advertising the
 * muxers of --muxers (inlined muxer negotiation), and prints
 *
 *   plpeer upgrade: ready proto=P peer=ID muxer=M peer_offered=0|1
 *
 * (M "none" when no muxer was agreed) once READY, ends its direction
 * (TLS close_notify, FIN), waits up to --hold seconds for the peer's end
 * and exits 0; 1 if the upgrade failed (the reason on stderr).
 *
 * Then plpeer waits up to --hold seconds (default 10) for the peerlock
 * to close the connection.  Prints one line and exits 0 if it did
 * (EOF or reset), 1 if the connection was still open, 2 on a setup
 * error (usage, key, connect, or an upgrade that failed on our side
 * before the spoiled message went out).
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
#include "peerid.h"
#include "secchan.h"
#include "pltool.h"
#include "tls.h"
#include "tlscert.h"
#include "wire.h"

enum { EXIT_CLOSED_OK = 0, EXIT_STILL_OPEN = 1, EXIT_SETUP = 2 };
enum { MSS_BYTES = 28 };	/* header + "/noise" each way */
enum { INBUF = 1 << 17 };

struct opts {
	const char *cmd, *key, *expect, *mode, *port_file, *signer, *muxers;
	int port;
	double hold;
};

/*
 * Wait up to hold seconds for the remote to close: read and discard.
 * Prints the outcome; returns the exit code.
 */
static int
wait_close(int fd, const char *mode, double hold)
{
	double t0 = pl_now_s(), left;
	uint8_t buf[4096];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;
	size_t got = 0;

	for (;;) {
		left = hold - (pl_now_s() - t0);
		if (left <= 0) {
			printf("plpeer %s: still open after %.1fs (%zu bytes "
			    "received)\n", mode, hold, got);
			return EXIT_STILL_OPEN;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		printf("plpeer %s: peer closed (%s) after %.2fs, %zu bytes "
		    "received\n", mode, r == 0 ? "eof" : strerror(errno),
		    pl_now_s() - t0, got);
		return EXIT_CLOSED_OK;
	}
}

/*
 * Listen on 127.0.0.1:port (0: any), write the port to path (if not
 * NULL) once listening, accept one connection.
 */
static int
accept_one(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	FILE *f;
	int lfd, fd, one = 1;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		close(lfd);
		return -1;
	}
	if (path != NULL) {
		if ((f = fopen(path, "w")) == NULL) {
			close(lfd);
			return -1;
		}
		fprintf(f, "%d\n", ntohs(sa.sin_port));
		fclose(f);
	}
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	return fd;
}

/*
 * Send one of our Noise handshake frames f[0..n) (prefix included),
 * spoiled as mode says.  Returns 1 if the handshake should go on
 * (honest), 0 if the frame was spoiled, -1 on an unknown mode or error.
 */
static int
spoil(int fd, const char *mode, uint8_t *f, size_t n)
{
	size_t blen = n - NOISE_FRAME_HDR, half = NOISE_FRAME_HDR + blen / 2;
	uint8_t junk[8 + NOISE_MAX_MSG];

	if (strcmp(mode, "honest") == 0)
		return pl_write_all(fd, f, n) == 0 ? 1 : -1;
	if (strcmp(mode, "flip-tag") == 0)
		f[n - 1] ^= 0x01;
	else if (strcmp(mode, "flip-body") == 0 && blen > 40)
		f[NOISE_FRAME_HDR + 40] ^= 0x04;
	else if (strcmp(mode, "flip-e") == 0)
		f[NOISE_FRAME_HDR] ^= 0x80;
	else if (strcmp(mode, "short") == 0) {
		f[0] = 0;
		f[1] = 16;
		n = NOISE_FRAME_HDR + 16;
	} else if (strcmp(mode, "pad") == 0 && n + 8 <= sizeof(junk)) {
		memcpy(junk, f, n);
		memset(junk + n, 0xa5, 8);
		junk[0] = (uint8_t)((blen + 8) >> 8);
		junk[1] = (uint8_t)(blen + 8);
		return pl_write_all(fd, junk, n + 8) == 0 ? 0 : -1;
	} else if (strcmp(mode, "trunc") == 0) {
		if (pl_write_all(fd, f, half) != 0)
			return -1;
		shutdown(fd, SHUT_WR);
		return 0;
	} else if (strcmp(mode, "stall") == 0)
		n = half;
	else if (strcmp(mode, "stop") == 0)
		return 0;
	else
		return -1;
	return pl_write_all(fd, f, n) == 0 ? 0 : -1;
}

/*
 * Send secchan output out[0..n): multistream bytes pass untouched
 * (*mss counts them down), so do the first *honest Noise frames; the
 * next one goes through spoil().  Returns 1 to go on, 0 once a frame
 * was spoiled, -1 on error.
 */
static int
send_out(int fd, const char *mode, size_t *mss, size_t *honest,
    uint8_t *out, size_t n)
{
	size_t k, flen;
	int r;

	k = *mss < n ? *mss : n;
	if (k > 0 && pl_write_all(fd, out, k) != 0)
		return -1;
	*mss -= k;
	while (k < n) {
		if (n - k < NOISE_FRAME_HDR)
			return -1;
		flen = NOISE_FRAME_HDR + ((size_t)out[k] << 8 | out[k + 1]);
		if (flen > n - k)
			return -1;
		if (*honest > 0) {
			(*honest)--;
			r = pl_write_all(fd, out + k, flen) == 0 ? 1 : -1;
		} else
			r = spoil(fd, mode, out + k, flen);
		if (r != 1)
			return r;
		k += flen;
	}
	return 1;
}

/* dial/listen: a Noise upgrade that spoils our last handshake message. */
static int
run_noise(const struct opts *o, const struct identity *id)
{
	static uint8_t in[INBUF], out[SECCHAN_OUT_MAX];
	enum sec_proto proto = SEC_NOISE;
	struct secchan_cred *cr = NULL;
	struct secchan *sc = NULL;
	struct peer_id expect;
	size_t inlen = 0, outlen = 0, used, mss = MSS_BYTES;
	bool dialer = strcmp(o->cmd, "dial") == 0;
	size_t honest = dialer ? 1 : 0;	/* msg 1 goes out unspoiled */
	enum secchan_status st;
	int fd = -1, r = 1, rc = EXIT_SETUP;
	ssize_t got;

	if (dialer && (o->expect == NULL ||
	    peer_id_parse(o->expect, &expect) != 0)) {
		fprintf(stderr, "plpeer: dial needs a valid --expect\n");
		return EXIT_SETUP;
	}
	if ((cr = secchan_cred_new(id)) == NULL ||
	    (sc = secchan_new(dialer ? SECCHAN_DIALER : SECCHAN_LISTENER, cr,
	    &proto, 1, dialer ? &expect : NULL)) == NULL)
		goto out;
	fd = dialer ? pl_dial_local(o->port) :
	    accept_one(o->port, o->port_file);
	if (fd < 0) {
		perror("plpeer: connect/accept");
		goto out;
	}
	if (secchan_start(sc, out, &outlen) != 0 ||
	    send_out(fd, o->mode, &mss, &honest, out, outlen) < 0)
		goto out;
	while (r == 1) {
		got = recv(fd, in + inlen, sizeof(in) - inlen, 0);
		if (got <= 0) {
			fprintf(stderr, "plpeer: peer closed before our "
			    "message went out\n");
			goto out;
		}
		inlen += (size_t)got;
		outlen = 0;
		st = secchan_input(sc, in, inlen, &used, out, &outlen);
		memmove(in, in + used, inlen - used);
		inlen -= used;
		r = send_out(fd, o->mode, &mss, &honest, out, outlen);
		if (r < 0)
			goto out;
		if (st == SECCHAN_FAILED) {
			fprintf(stderr, "plpeer: our upgrade failed: %s\n",
			    secchan_error(sc));
			goto out;
		}
		if (st == SECCHAN_READY && r == 1) {
			/* honest: the peer authorises (or not) after msg 3 */
			break;
		}
	}
	rc = wait_close(fd, o->mode, o->hold);
out:
	if (fd >= 0)
		close(fd);
	secchan_free(sc);
	secchan_cred_free(cr);
	return rc;
}

/* Build the certificate variant mode names; 0 or -1. */
static int
tls_cert(const char *mode, const struct identity *id,
    const struct identity *signer, uint8_t **cert, size_t *certlen,
    uint8_t **key, size_t *keylen)
{
	struct tlscert_params p;

	memset(&p, 0, sizeof(p));
	p.now = time(NULL);
	if (strcmp(mode, "foreign-sig") == 0) {
		if (signer == NULL)
			return -1;
		p.ext_signer = signer;
	} else if (strcmp(mode, "no-ext") == 0)
		p.omit_libp2p_ext = true;
	else if (strcmp(mode, "expired") == 0) {
		p.set_validity = true;
		p.not_before = p.now - 2 * 86400;
		p.not_after = p.now - 86400;
	} else if (strcmp(mode, "corrupt-key") == 0)
		p.corrupt_pubkey = true;
	else if (strcmp(mode, "extra-crit") == 0)
		p.extra_critical_ext = true;
	else if (strcmp(mode, "valid") != 0 && strcmp(mode, "ku-flood") != 0 &&
	    strcmp(mode, "zero-record") != 0)
		return -1;
	return tlscert_build(id, &p, cert, certlen, key, keylen);
}

/* Send whatever the TLS session has queued; 0 or -1. */
static int
tls_flush(int fd, struct tls_session *s)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = tls_take_output(s, buf, sizeof(buf))) > 0)
		if (pl_write_all(fd, buf, n) != 0)
			return -1;
	return 0;
}

/*
 * ku-flood: KeyUpdate requests for hold seconds, never reading; sends
 * only what the socket takes without blocking.  Returns EXIT_CLOSED_OK.
 */
static int
tls_ku_flood(int fd, struct tls_session *s, double hold)
{
	uint8_t buf[4096];
	double end = pl_now_s() + hold;
	unsigned long long n = 0;
	size_t have = 0, off = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t w;
	int small = 4096;

	/* the answers must pile up in the peerlock, not in our kernel */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (pl_now_s() < end) {
		if (off == have) {
			/* refill: 31 requests (the cap is 32 in a row), data */
			for (int i = 0; i < 31; i++, n++)
				if (tls_key_update(s, true) != 0)
					goto done;
			if (tls_write(s, (const uint8_t *)"k", 1) != 1)
				goto done;
			have = tls_take_output(s, buf, sizeof(buf));
			off = 0;
		}
		if (poll(&p, 1, 100) < 0 || (p.revents & (POLLERR |
		    POLLHUP)))
			break;
		if (!(p.revents & POLLOUT))
			continue;
		w = send(fd, buf + off, have - off, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			break;
		if (w > 0)
			off += (size_t)w;
	}
done:
	printf("plpeer ku-flood: %llu KeyUpdate requests\n", n);
	return EXIT_CLOSED_OK;
}

/* zero-record: send an all-zero record; want unexpected_message back. */
static int
tls_zero_record(int fd, struct tls_session *s, double hold)
{
	static const uint8_t zeros[2];
	uint8_t buf[4096];
	double end = pl_now_s() + hold;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t got;
	int n;

	if (tls_send_record(s, 0, zeros, sizeof(zeros)) != 0 ||
	    tls_flush(fd, s) != 0)
		return EXIT_SETUP;
	while (pl_now_s() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((got = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		if (tls_feed(s, buf, (size_t)got) != (size_t)got)
			break;
		while ((n = tls_read(s, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			break;
	}
	printf("plpeer zero-record: %s\n", tls_error(s));
	return strcmp(tls_error(s), "tls: peer sent alert "
	    "unexpected_message (10)") == 0 ? EXIT_CLOSED_OK : EXIT_STILL_OPEN;
}

/* tls: multistream for /tls/1.0.0, then a client presenting a bad cert. */
static int
run_tls(const struct opts *o, const struct identity *id,
    const struct identity *signer)
{
	static const uint8_t hello[] = "\x13" MSS_PROTO_HEADER "\n"
	    "\x0b" MSS_PROTO_TLS "\n";
	uint8_t *cert = NULL, *key = NULL, buf[4096];
	size_t certlen = 0, keylen = 0, have = 0;
	struct tls_session *s = NULL;
	char err[256];
	enum tls_status st = TLS_WANT_IO;
	int fd = -1, rc = EXIT_SETUP;
	ssize_t got;

	if (tls_cert(o->mode, id, signer, &cert, &certlen, &key,
	    &keylen) != 0) {
		fprintf(stderr, "plpeer: cannot build a '%s' certificate\n",
		    o->mode);
		return EXIT_SETUP;
	}
	if ((s = tls_session_new_cert(TLS_CLIENT, cert, certlen, key, keylen,
	    err, sizeof(err))) == NULL) {
		fprintf(stderr, "plpeer: %s\n", err);
		goto out;
	}
	if ((fd = pl_dial_local(o->port)) < 0 ||
	    pl_write_all(fd, hello, sizeof(hello) - 1) != 0)
		goto out;
	/* the listener echoes both lines when it accepts /tls/1.0.0 */
	while (have < sizeof(hello) - 1) {
		if ((got = recv(fd, buf + have, sizeof(hello) - 1 - have,
		    0)) <= 0)
			goto out;
		have += (size_t)got;
	}
	if (memcmp(buf, hello, have) != 0) {
		fprintf(stderr, "plpeer: listener did not accept /tls/1.0.0\n");
		goto out;
	}
	while ((st = tls_handshake(s)) == TLS_WANT_IO) {
		if (tls_flush(fd, s) != 0)
			goto out;
		if ((got = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		if (tls_feed(s, buf, (size_t)got) != (size_t)got)
			goto out;
	}
	if (tls_flush(fd, s) != 0 && st != TLS_DONE)
		goto out;
	printf("plpeer %s: our side: %s\n", o->mode, st == TLS_DONE ?
	    "handshake done" : tls_error(s));
	if (st == TLS_DONE && strcmp(o->mode, "ku-flood") == 0)
		rc = tls_ku_flood(fd, s, o->hold);
	else if (st == TLS_DONE && strcmp(o->mode, "zero-record") == 0)
		rc = tls_zero_record(fd, s, o->hold);
	else
		rc = wait_close(fd, o->mode, o->hold);
out:
	if (fd >= 0)
		close(fd);
	tls_session_free(s);
	free(cert);
	if (key != NULL)
		tlscert_free_key(key, keylen);
	return rc;
}

/* Split a comma-separated list in place into ids (at most max); count. */
static size_t
split_ids(char *list, const char **ids, size_t max)
{
	size_t n = 0;
	char *p;

	for (p = strtok(list, ","); p != NULL && n < max;
	    p = strtok(NULL, ","))
		ids[n++] = p;
	return n;
}

/* upgrade: an honest upgrade with muxers; print what was agreed. */
static int
run_upgrade(const struct opts *o, const struct identity *id)
{
	static uint8_t in[INBUF], out[SECCHAN_OUT_MAX];
	static char list[1024];
	const char *ids[SECCHAN_MUXERS_MAX];
	bool dialer = strncmp(o->mode, "dial-", 5) == 0;
	const char *p = strchr(o->mode, '-');
	enum sec_proto proto = SEC_NOISE;
	struct secchan_cred *cr = NULL;
	struct secchan *sc = NULL;
	struct peer_id expect;
	char pid[PEER_ID_STR_MAX];
	size_t n = 0, outlen = 0;
	int fd = -1, rc = EXIT_SETUP;

	if (p == NULL || (strcmp(p, "-noise") != 0 && strcmp(p, "-tls") != 0) ||
	    (!dialer && strncmp(o->mode, "listen-", 7) != 0) ||
	    (dialer && (o->expect == NULL ||
	    peer_id_parse(o->expect, &expect) != 0))) {
		fprintf(stderr, "plpeer: upgrade needs --mode dial-noise|"
		    "dial-tls|listen-noise|listen-tls (dial: and --expect)\n");
		return EXIT_SETUP;
	}
	if (strcmp(p, "-tls") == 0)
		proto = SEC_TLS;
	if (o->muxers != NULL) {
		snprintf(list, sizeof(list), "%s", o->muxers);
		n = split_ids(list, ids, SECCHAN_MUXERS_MAX);
	}
	if ((cr = secchan_cred_new(id)) == NULL ||
	    (sc = secchan_new(dialer ? SECCHAN_DIALER : SECCHAN_LISTENER, cr,
	    &proto, 1, dialer ? &expect : NULL)) == NULL ||
	    secchan_set_muxers(sc, ids, n) != 0) {
		fprintf(stderr, "plpeer: cannot set up the upgrade\n");
		goto out;
	}
	fd = dialer ? pl_dial_local(o->port) :
	    accept_one(o->port, o->port_file);
	if (fd < 0) {
		perror("plpeer: connect/accept");
		goto out;
	}
	if (secchan_start(sc, out, &outlen) != 0)
		goto out;
	if (pl_upgrade_loop("plpeer", fd, sc, in, sizeof(in), out, outlen) !=
	    SECCHAN_READY) {
		fprintf(stderr, "plpeer: upgrade failed: %s\n",
		    secchan_error(sc));
		rc = EXIT_STILL_OPEN;
		goto out;
	}
	printf("plpeer upgrade: ready proto=%s peer=%s muxer=%s "
	    "peer_offered=%d\n", proto == SEC_TLS ? "tls" : "noise",
	    peer_id_to_string(secchan_peer(sc), pid, sizeof(pid)),
	    secchan_muxer(sc) != NULL ? secchan_muxer(sc) : "none",
	    secchan_peer_offered_muxer(sc) ? 1 : 0);
	/*
	 * End our direction cleanly (TLS: close_notify) and wait for the
	 * peer to end its own, so that it finishes its side of the
	 * handshake (TLS tickets) before the socket goes.
	 */
	if (secchan_close(sc) == 0 && (outlen = secchan_take(sc, out,
	    sizeof(out))) > 0)
		(void)pl_write_all(fd, out, outlen);
	shutdown(fd, SHUT_WR);
	(void)wait_close(fd, "upgrade", o->hold);
	rc = EXIT_CLOSED_OK;
out:
	if (fd >= 0)
		close(fd);
	secchan_free(sc);
	secchan_cred_free(cr);
	return rc;
}

/* Parse argv into o; 0 or -1. */
static int
parse(int argc, char **argv, struct opts *o)
{
	int i = 2;

	memset(o, 0, sizeof(*o));
	o->hold = 10;
	if (argc < 2)
		return -1;
	o->cmd = argv[1];
	if (strcmp(o->cmd, "dial") != 0 && strcmp(o->cmd, "tls") != 0 &&
	    strcmp(o->cmd, "listen") != 0 && strcmp(o->cmd, "upgrade") != 0)
		return -1;
	if (argc < 3)
		return -1;
	o->port = atoi(argv[2]);
	i = 3;
	for (; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--key") == 0)
			o->key = argv[i + 1];
		else if (strcmp(argv[i], "--expect") == 0)
			o->expect = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			o->mode = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			o->port_file = argv[i + 1];
		else if (strcmp(argv[i], "--signer") == 0)
			o->signer = argv[i + 1];
		else if (strcmp(argv[i], "--hold") == 0)
			o->hold = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--muxers") == 0)
			o->muxers = argv[i + 1];
		else
			return -1;
	}
	if (i != argc || o->key == NULL || o->mode == NULL)
		return -1;
	return 0;
}

/* Load the identities and run the command. */
int
main(int argc, char **argv)
{
	struct identity *id, *signer = NULL;
	struct opts o;
	char err[256];
	int rc;

	if (parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: plpeer dial|listen|tls PORT "
		    "--key FILE --mode MODE [--expect ID] [--port-file F] "
		    "[--signer FILE] [--hold S] [--muxers ID,ID...]\n");
		return EXIT_SETUP;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((id = identity_load(o.key, err, sizeof(err))) == NULL ||
	    (o.signer != NULL &&
	    (signer = identity_load(o.signer, err, sizeof(err))) == NULL)) {
		fprintf(stderr, "plpeer: %s\n", err);
		identity_free(id);
		return EXIT_SETUP;
	}
	if (strcmp(o.cmd, "tls") == 0)
		rc = run_tls(&o, id, signer);
	else if (strcmp(o.cmd, "upgrade") == 0)
		rc = run_upgrade(&o, id);
	else
		rc = run_noise(&o, id);
	identity_free(signer);
	identity_free(id);
	return rc;
}
