/*
 * frame.h - libp2p Noise framing: uint16_be(len) || message (L1).
 * Used for the three handshake messages and every transport message.
 */
#ifndef PEERLOCK_FRAME_H
#define PEERLOCK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

/* Bytes a sealed frame of len plaintext bytes takes on the wire. */
#define FRAME_SEALED_LEN(len) ((len) + NOISE_FRAME_HDR + NOISE_TAG_LEN)

/* Write the 2-byte big-endian length of a body of len (<= 65535). */
void frame_put_len(uint8_t hdr[static 2], size_t len);

/* Read the body length from a 2-byte header. */
size_t frame_get_len(const uint8_t hdr[static 2]);

/*
 * Seal pt[0..len) (len <= NOISE_MAX_PLAINTEXT) into out, which must hold
 * FRAME_SEALED_LEN(len) bytes: header then ciphertext and tag.  pt may
 * be out + NOISE_FRAME_HDR (seal in place).  Returns the bytes written,
 * or -1 (len too large, or nonce exhausted: close the connection).
 */
int frame_seal(struct noise_cipher *c, const uint8_t *pt, size_t len,
    uint8_t *out);

/*
 * Open a frame body (the bytes after the header, blen in 16..65535) into
 * out (blen - 16 bytes); out may equal body.  Returns the plaintext
 * length, or -1 if blen is out of range, the tag fails, or the nonce
 * is exhausted.
 */
int frame_open(struct noise_cipher *c, const uint8_t *body, size_t blen,
    uint8_t *out);

#endif
