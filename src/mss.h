/*
 * mss.h - multistream-select 1.0.0, dialer and listener, sans-I/O (L1).
 *
 * The caller owns all I/O.  It feeds received bytes with mss_input(),
 * sends whatever the machine put in the output buffer, and stops when
 * the status is MSS_DONE or MSS_FAILED.  On MSS_DONE, *consumed stops
 * exactly after the selected protocol's message: any further bytes
 * belong to the next layer (pipelined Noise/TLS data) and are left to
 * the caller.
 */
#ifndef PEERLOCK_MSS_H
#define PEERLOCK_MSS_H

#include <stddef.h>
#include <stdint.h>

struct mss;

enum mss_status {
	MSS_CONTINUE,	/* need more input */
	MSS_DONE,	/* a protocol was selected: mss_selected() */
	MSS_FAILED	/* negotiation failed: mss_error() says why */
};

/* Largest output a single mss_start()/mss_input() call can produce. */
#define MSS_OUT_MAX 2200

/*
 * Create a dialer proposing protos[0..n) in order (n >= 1), or a listener
 * accepting any of protos[0..n).  Strings are borrowed and must outlive
 * the machine.  Returns NULL on allocation failure.
 */
struct mss *mss_new_dialer(const char *const *protos, size_t n);
struct mss *mss_new_listener(const char *const *protos, size_t n);

/* Free the machine; NULL is a no-op. */
void mss_free(struct mss *m);

/*
 * Produce the opening bytes: the dialer's header and first proposal in
 * one buffer; nothing for the listener (it answers the dialer's header).
 * out must hold MSS_OUT_MAX bytes.  Returns 0 or -1.
 */
int mss_start(struct mss *m, uint8_t *out, size_t *outlen);

/*
 * Feed in[0..len).  Sets *consumed (<= len) to bytes used and appends at
 * most MSS_OUT_MAX bytes to out (setting *outlen).  Bytes after a complete
 * selection are not consumed.
 */
enum mss_status mss_input(struct mss *m, const uint8_t *in, size_t len,
    size_t *consumed, uint8_t *out, size_t *outlen);

/* Selected protocol id (one of the configured strings) or NULL. */
const char *mss_selected(const struct mss *m);

/* Human-readable failure reason (escaped), or "" if none. */
const char *mss_error(const struct mss *m);

/* Encode one message uvarint(len+1) || s || '\n' into out; returns size. */
size_t mss_encode(const char *s, uint8_t *out, size_t cap);

#endif
