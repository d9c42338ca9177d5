/*
 * perf.h - the libp2p perf protocol, /perf/1.0.0 (L1, no I/O).
 *
 * libp2p/specs perf/perf.md: the client opens a stream and sends the
 * number of bytes it wants back as one big-endian uint64, then uploads
 * any number of bytes and closes its write side.  The server reads the
 * number, reads (and drops) the upload until EOF, and only then sends
 * exactly that many bytes and closes the stream ("MUST NOT be run
 * concurrently").  The spec leaves authorisation to the implementation
 * and says perf SHOULD NOT be on by default: a client makes the server
 * send what it asks for.
 *
 * This core keeps the counts and the state of either end; session.c
 * moves the bytes under yamux flow control and calls it:
 *
 *   server: perf_srv_input() for each chunk of the stream,
 *           perf_srv_eof() at the client's FIN, then perf_fill() for the
 *           bytes to send until perf_left() is 0, then FIN.
 *   client: perf_fill() for the request and the upload until perf_left()
 *           is 0, then FIN; perf_cli_input() for what comes back,
 *           perf_cli_eof() at the server's FIN.
 */
#ifndef PEERLOCK_PERF_H
#define PEERLOCK_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERF_PROTO "/perf/1.0.0"

enum {
	PERF_REQ_LEN = 8,		/* the request: big-endian uint64 */
	PERF_ERR_MAX = 160
};

enum perf_state {
	PERF_S_REQUEST,		/* server: reading the 8-byte request */
	PERF_S_UPLOAD,		/* server: dropping the upload until EOF */
	PERF_S_SEND,		/* sending (client: request + upload) */
	PERF_S_RECEIVE,		/* client: counting the download */
	PERF_S_DONE,
	PERF_S_FAILED
};

/* One end of a perf stream (plain data; no allocation, nothing secret). */
struct perf {
	bool client;
	enum perf_state state;
	uint8_t req[PERF_REQ_LEN];	/* client: encoded; server: read */
	unsigned have;			/* server: request bytes read */
	uint64_t want;			/* bytes the server sends */
	uint64_t upload;		/* client: upload bytes to send */
	uint64_t max;			/* server: cap on want (0: none) */
	uint64_t sent;			/* bytes given out by perf_fill */
	uint64_t received;		/* upload (server) or download */
	char err[PERF_ERR_MAX];
};

/* A server end that accepts requests of at most max bytes (0: any). */
void perf_srv_init(struct perf *p, uint64_t max);

/*
 * Bytes b[0..n) from the client: the request first, then upload.  0, or
 * -1 with perf_error() set: the request asks for more than max, or data
 * came after the request while sending (not possible over yamux: EOF
 * came first).
 */
int perf_srv_input(struct perf *p, const uint8_t *b, size_t n);

/*
 * The client closed its write side.  0: send perf_left() bytes now; -1
 * with perf_error() set: the request was cut short (fewer than 8 bytes).
 */
int perf_srv_eof(struct perf *p);

/* A client end asking for download bytes after uploading upload. */
void perf_cli_init(struct perf *p, uint64_t upload, uint64_t download);

/*
 * Bytes b[0..n) from the server.  0, or -1 with perf_error() set: more
 * than was asked for, or bytes before our upload was done.
 */
int perf_cli_input(struct perf *p, size_t n);

/*
 * The server closed its side.  0: exactly the bytes asked for came; -1
 * with perf_error() set naming expected and received.
 */
int perf_cli_eof(struct perf *p);

/*
 * Bytes this end still has to send in its current state (0 while it
 * must not send: a server reading, a client receiving).
 */
uint64_t perf_left(const struct perf *p);

/*
 * Write the next min(room, perf_left()) bytes to send into buf (the
 * client's request first, then zeros) and count them; when the last
 * byte is out the state moves on (client: RECEIVE, server: DONE).
 * Returns the count.
 */
size_t perf_fill(struct perf *p, uint8_t *buf, size_t room);

/* What failed (after -1), "" otherwise. */
const char *perf_error(const struct perf *p);

/* Encode n as the 8-byte request; decode it. */
void perf_req_encode(uint64_t n, uint8_t out[static PERF_REQ_LEN]);
uint64_t perf_req_decode(const uint8_t in[static PERF_REQ_LEN]);

/* A client's measurement (seconds from the stream's open). */
struct perf_result {
	uint64_t upload_bytes, download_bytes;
	double upload_s;		/* open -> server had it all */
	double download_s;		/* then -> server's FIN */
	double total_s;			/* open -> server's FIN */
};

/*
 * The result as one JSON object (one line, no newline) into buf, in the
 * shape the libp2p perf programs print ("type":"final", "timeSeconds",
 * "uploadBytes", "downloadBytes") plus the split and bit rates.  Returns
 * the length, or -1 if cap is too small.
 */
int perf_result_json(const struct perf_result *r, char *buf, size_t cap);

/* Bits per second of bytes in s seconds (0 when s is 0). */
double perf_bps(uint64_t bytes, double s);

#endif
