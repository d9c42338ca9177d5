/*
 * aeadbench.c - CPU seconds per GB of ChaCha20-Poly1305 seal + open,
 * the libraries alone and through peerlock's Noise frame path.
 *
 * Built on demand from the automake build tree (not by `make check`):
 *
 *   make contrib/bench/aeadbench && contrib/bench/aeadbench [-t SECS]
 *       [-r REPS] [-s SIZE,SIZE,...]
 *
 * For each size and each way of sealing it measures, on one thread,
 * the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: other load on the
 * machine steals wall time but is not counted, though it still shares
 * caches and, on a hyperthread, the core) for seal and for open over at
 * least SECS seconds each, REPS times, and prints the median:
 *
 *   sodium-raw      crypto_aead_chacha20poly1305_ietf_{en,de}crypt
 *   wolf-oneshot    wc_ChaCha20Poly1305_{Encrypt,Decrypt}
 *   wolf-stream     wc_ChaCha20Poly1305_Init/UpdateAad/UpdateData/Final
 *                   (+ CheckTag for open)
 *   aead-wolfcrypt  aead.c's wolfCrypt composition (tag checked before
 *                   decrypting)
 *   frame-sodium    frame_seal + frame_open in place, what conn.c does
 *   frame-wolfcrypt per Noise frame, with aead_select() set to each
 *
 * Seals are in place, as in peerlock; opens read one sealed frame
 * again and again and write the plaintext beside it (an in-place open
 * would destroy its input).  "pair" is seal + open: what one byte costs
 * a peerlock pair in AEAD work (A seals it, B opens it).  s/GB is CPU
 * seconds per 10^9 bytes of plaintext; MB/s = 1000 / (s/GB), one core.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/settings.h>
#if defined(HAVE_CHACHA) && defined(HAVE_POLY1305)
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#define HAVE_WOLF_AEAD 1
#endif

#include "aead.h"
#include "frame.h"
#include "noise.h"
#include "version.h"

enum { MAXSIZE = 1 << 20, MAXREPS = 31 };

static uint8_t buf[MAXSIZE + 64], ct[MAXSIZE + 64], out[MAXSIZE + 64];
static const uint8_t key[AEAD_KEY_LEN] = { 0x42, 0x17 };
static uint8_t nonce[AEAD_NONCE_LEN];

/* One way of sealing and opening len bytes in buf, in place. */
struct way {
	const char *name;
	int (*seal)(size_t len);
	int (*open)(size_t len);
	size_t max;		/* largest size it takes */
};

/* The next nonce (a counter, like Noise's). */
static void
next_nonce(void)
{
	sodium_increment(nonce + 4, 8);
}

static int
sodium_seal(size_t len)
{
	return crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, buf, len,
	    NULL, 0, NULL, nonce, key);
}

static int
sodium_open(size_t len)
{
	return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct,
	    len + AEAD_TAG_LEN, NULL, 0, nonce, key);
}

#ifdef HAVE_WOLF_AEAD
static int
wolf_oneshot_seal(size_t len)
{
	return wc_ChaCha20Poly1305_Encrypt(key, nonce, NULL, 0, buf,
	    (word32)len, buf, buf + len);
}

static int
wolf_oneshot_open(size_t len)
{
	return wc_ChaCha20Poly1305_Decrypt(key, nonce, NULL, 0, ct,
	    (word32)len, ct + len, out);
}

static int
wolf_stream_seal(size_t len)
{
	ChaChaPoly_Aead a;
	int r;

	r = wc_ChaCha20Poly1305_Init(&a, key, nonce,
	    CHACHA20_POLY1305_AEAD_ENCRYPT);
	if (r == 0)
		r = wc_ChaCha20Poly1305_UpdateAad(&a, NULL, 0);
	if (r == 0)
		r = wc_ChaCha20Poly1305_UpdateData(&a, buf, buf, (word32)len);
	if (r == 0)
		r = wc_ChaCha20Poly1305_Final(&a, buf + len);
	return r;
}

static int
wolf_stream_open(size_t len)
{
	ChaChaPoly_Aead a;
	uint8_t tag[AEAD_TAG_LEN];
	int r;

	r = wc_ChaCha20Poly1305_Init(&a, key, nonce,
	    CHACHA20_POLY1305_AEAD_DECRYPT);
	if (r == 0)
		r = wc_ChaCha20Poly1305_UpdateAad(&a, NULL, 0);
	if (r == 0)
		r = wc_ChaCha20Poly1305_UpdateData(&a, ct, out, (word32)len);
	if (r == 0)
		r = wc_ChaCha20Poly1305_Final(&a, tag);
	if (r == 0)
		r = wc_ChaCha20Poly1305_CheckTag(ct + len, tag);
	return r;
}
#endif

static int
aead_wolf_seal(size_t len)
{
	return aead_seal_with(AEAD_WOLFCRYPT, key, nonce, NULL, 0, buf, len,
	    buf);
}

static int
aead_wolf_open(size_t len)
{
	return aead_open_with(AEAD_WOLFCRYPT, key, nonce, NULL, 0, ct,
	    len + AEAD_TAG_LEN, out);
}

/*
 * The frame path: two ciphers with one key, as A's send and B's recv;
 * rx_at is rx as it was when ct was sealed (every open starts there).
 */
static struct noise_cipher tx, rx, rx_at;

static int
frame_seal_one(size_t len)
{
	return frame_seal(&tx, buf + NOISE_FRAME_HDR, len, buf) < 0 ? -1 : 0;
}

static int
frame_open_one(size_t len)
{
	rx = rx_at;
	return frame_open(&rx, ct + NOISE_FRAME_HDR, frame_get_len(ct),
	    out) == (int)len ? 0 : -1;
}

/* Thread CPU time in seconds. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median of v[0..n) (sorted in place). */
static double
median(double *v, int n)
{
	int i, j;
	double t;

	for (i = 1; i < n; i++) {
		t = v[i];
		for (j = i - 1; j >= 0 && v[j] > t; j--)
			v[j + 1] = v[j];
		v[j + 1] = t;
	}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * CPU seconds per 10^9 bytes for seal and for open of len bytes, each
 * timed in batches over at least secs; -1 if a call failed.  Seals run
 * in place in buf with a new nonce each; then one frame sealed into ct
 * is opened again and again into out (the clock is read per batch, so
 * its own cost stays out of the figure).
 */
static int
measure(const struct way *w, size_t len, double secs, double *seal_s,
    double *open_s)
{
	uint64_t n, i, batch = len >= 16384 ? 16 : len >= 1024 ? 256 : 4096;
	double t0, ts = 0, to = 0;

	memset(nonce, 0, sizeof(nonce));
	memset(&tx, 0, sizeof(tx));
	memcpy(tx.k, key, sizeof(key));
	rx = tx;
	randombytes_buf(buf, len + NOISE_FRAME_HDR);
	for (n = 0; ts < secs; n += batch) {
		t0 = cpu_now();
		for (i = 0; i < batch; i++) {
			if (w->seal(len) != 0)
				return -1;
			next_nonce();
		}
		ts += cpu_now() - t0;
	}
	*seal_s = ts / ((double)n * (double)len) * 1e9;

	rx.n = tx.n;
	rx_at = rx;
	if (w->seal(len) != 0)
		return -1;
	memcpy(ct, buf, len + NOISE_FRAME_HDR + AEAD_TAG_LEN);
	for (n = 0; to < secs; n += batch) {
		t0 = cpu_now();
		for (i = 0; i < batch; i++)
			if (w->open(len) != 0)
				return -1;
		to += cpu_now() - t0;
	}
	*open_s = to / ((double)n * (double)len) * 1e9;
	return 0;
}

/*
 * One measurement of w at len into *seal_s, *open_s (both -1 when w
 * does not apply: a frame path beyond a frame, wolfCrypt missing).
 * Returns -1 (with a message) if a call failed.
 */
static int
run_way(const struct way *w, size_t len, double secs, double *seal_s,
    double *open_s)
{
	*seal_s = *open_s = -1;
	if (len > w->max)
		return 0;
	if (strcmp(w->name, "frame-wolfcrypt") == 0 &&
	    aead_select(AEAD_WOLFCRYPT) != 0)
		return 0;
	if (strcmp(w->name, "frame-sodium") == 0)
		(void)aead_select(AEAD_SODIUM);
	if (measure(w, len, secs, seal_s, open_s) != 0) {
		fprintf(stderr, "aeadbench: %s failed at %zu bytes\n", w->name,
		    len);
		return -1;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: aeadbench [-t SECS] [-r REPS] "
	    "[-s SIZE,SIZE,...]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct way ways[] = {
		{ "sodium-raw", sodium_seal, sodium_open, MAXSIZE },
#ifdef HAVE_WOLF_AEAD
		{ "wolf-oneshot", wolf_oneshot_seal, wolf_oneshot_open,
		    MAXSIZE },
		{ "wolf-stream", wolf_stream_seal, wolf_stream_open, MAXSIZE },
		{ "aead-wolfcrypt", aead_wolf_seal, aead_wolf_open, MAXSIZE },
#endif
		{ "frame-sodium", frame_seal_one, frame_open_one,
		    NOISE_MAX_PLAINTEXT },
		{ "frame-wolfcrypt", frame_seal_one, frame_open_one,
		    NOISE_MAX_PLAINTEXT },
	};
	size_t sizes[16] = { NOISE_MAX_PLAINTEXT, 65536, 16384, 1024 };
	size_t nways = sizeof(ways) / sizeof(ways[0]), nsizes = 4, s, k;
	double secs = 0.3, seal[8][MAXREPS], open[8][MAXREPS], ms, mo;
	char *p, *end, d[64];
	int c, reps = 5, r;

	while ((c = getopt(argc, argv, "t:r:s:")) != -1) {
		switch (c) {
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 's':
			nsizes = 0;
			for (p = optarg; *p != '\0' && nsizes < 16; p = end) {
				errno = 0;
				sizes[nsizes++] = strtoul(p, &end, 10);
				if (errno != 0 || end == p)
					return usage();
				if (*end == ',')
					end++;
			}
			break;
		default:
			return usage();
		}
	}
	if (secs <= 0 || reps < 1 || reps > MAXREPS || optind != argc)
		return usage();
	if (sodium_init() < 0)
		return 1;
	for (s = 0; s < nsizes; s++)
		if (sizes[s] == 0 || sizes[s] > MAXSIZE)
			return usage();
	(void)aead_select(AEAD_AUTO);
	printf("# peerlock %s; libsodium %s; wolfSSL %s; AEAD_AUTO: %s\n",
	    version_release(), sodium_version_string(),
	    LIBWOLFSSL_VERSION_STRING, aead_describe(d, sizeof(d)));
	printf("# CPU s per GB of plaintext (thread CPU time), median of %d "
	    "x >= %.2f s; in place, empty AD\n", reps, secs);
	printf("%-16s %7s %8s %8s %8s %9s %9s\n", "way", "bytes", "seal s/GB",
	    "open", "pair", "seal MB/s", "open MB/s");
	for (s = 0; s < nsizes; s++) {
		/* round robin: a change of load hits every way alike */
		for (r = 0; r < reps; r++)
			for (k = 0; k < nways; k++)
				if (run_way(&ways[k], sizes[s], secs,
				    &seal[k][r], &open[k][r]) != 0)
					return 1;
		for (k = 0; k < nways; k++) {
			if (seal[k][0] < 0)
				continue;
			ms = median(seal[k], reps);
			mo = median(open[k], reps);
			printf("%-16s %7zu %9.3f %8.3f %8.3f %9.0f %9.0f\n",
			    ways[k].name, sizes[s], ms, mo, ms + mo, 1e3 / ms,
			    1e3 / mo);
		}
		fflush(stdout);
	}
	return 0;
}
