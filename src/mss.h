/*
 * mss.h - multistream-select 1.0.0, dialer and listener, sans-I/O (L1).
 *
 * The caller owns all I/O.  It feeds received bytes with mss_input(),
 * sends whatever the machine put in the output buffer, and stops when
 * the status is MSS_DONE or MSS_FAILED.  On MSS_DONE, *consumed stops
 * exactly after the selected protocol's message: any further bytes
 * belong to the next layer (pipelined Noise/TLS data) and are left to
 * the caller.
 *
 * Behaviour (spec: multistream-select.md sections 1-6):
 * - Messages are uvarint(N) || text || '\n'.  Received messages with a
 *   length prefix longer than MSS_MAX_VARINT bytes or not minimal, N of 0
 *   or above MSS_MAX_MSG, no trailing '\n', an empty text or an interior
 *   '\n' fail the negotiation.
 * - Dialer: mss_start() emits the header and the first proposal in one
 *   buffer.  The first message received must be the header.  On "na" the
 *   next proposal is emitted; when none is left the machine fails with
 *   "multistream: peer refused all of /tls/1.0.0 /noise".  Any other
 *   answer fails.  Since only one proposal is outstanding, bytes that
 *   follow an "na" in the same mss_input() call (the listener cannot have
 *   seen the new proposal yet) are a protocol violation and fail.
 * - Listener: waits for the dialer's header and answers it with its own
 *   header; answers produced in the same mss_input() call go in the same
 *   output buffer, so the pipelined "header + proposal" gets "header +
 *   answer" in one write.  A supported proposal is echoed (MSS_DONE);
 *   anything else, including "ls" (we do not list, like go-multistream)
 *   and a repeated header, gets "na".  After MSS_MAX_NA "na" answers the
 *   next unsupported proposal fails the negotiation.
 * - Input may arrive in pieces of any size (one byte at a time works);
 *   partial messages are kept inside the machine, so outside MSS_DONE
 *   and MSS_FAILED every input byte is consumed.
 * - mss_error() strings name the layer ("multistream: ...") and give the
 *   expected and received values; peer text is escaped with log_escape().
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

/* Why a negotiation failed (mss_fail_kind()). */
enum mss_fail {
	MSS_FAIL_NONE,
	MSS_FAIL_MALFORMED,	/* the peer broke the framing or the order */
	MSS_FAIL_NO_PROTOCOL,	/* well-formed, but no protocol in common */
	MSS_FAIL_INTERNAL	/* misuse by the caller */
};

/* Largest output a single mss_start()/mss_input() call can produce. */
#define MSS_OUT_MAX 2200

/* Number of "na" answers a listener gives before it gives up. */
#define MSS_MAX_NA 16

/*
 * Create a dialer proposing protos[0..n) in order (n >= 1), or a listener
 * accepting any of protos[0..n).  Strings are borrowed and must outlive
 * the machine (the array itself is copied).  Returns NULL on allocation
 * failure or invalid arguments (n == 0, an empty id, an id containing
 * '\n' or longer than MSS_MAX_MSG - 1 bytes).
 */
struct mss *mss_new_dialer(const char *const *protos, size_t n);
struct mss *mss_new_listener(const char *const *protos, size_t n);

/* Free the machine; NULL is a no-op. */
void mss_free(struct mss *m);

/*
 * Produce the opening bytes: the dialer's header and first proposal in
 * one buffer; nothing for the listener (it answers the dialer's header).
 * out must hold MSS_OUT_MAX bytes; *outlen is set to the bytes written.
 * Returns 0, or -1 if a dialer is started twice.  A dialer must be
 * started before mss_input(); for a listener mss_start() is optional.
 */
int mss_start(struct mss *m, uint8_t *out, size_t *outlen);

/*
 * Feed in[0..len).  Sets *consumed (<= len) to bytes used, writes at most
 * MSS_OUT_MAX bytes to out[0..) and sets *outlen to that count; the
 * caller sends them before feeding more input.  Bytes after a complete
 * selection are not consumed.  With MSS_CONTINUE, *consumed == len.
 * Once MSS_DONE or MSS_FAILED is returned, later calls return the same
 * status and consume and produce nothing.  Output produced together
 * with MSS_FAILED may be discarded.
 */
enum mss_status mss_input(struct mss *m, const uint8_t *in, size_t len,
    size_t *consumed, uint8_t *out, size_t *outlen);

/* Selected protocol id (one of the configured strings) or NULL. */
const char *mss_selected(const struct mss *m);

/* Human-readable failure reason (escaped), or "" if none. */
const char *mss_error(const struct mss *m);

/* The class of the failure, MSS_FAIL_NONE while not failed. */
enum mss_fail mss_fail_kind(const struct mss *m);

/*
 * Encode one message uvarint(len+1) || s || '\n' into out; returns size,
 * or 0 if it does not fit in cap or s is empty, contains '\n' or is
 * longer than MSS_MAX_MSG - 1 bytes.
 */
size_t mss_encode(const char *s, uint8_t *out, size_t cap);

#endif
