/*
 * frame.c - libp2p Noise framing: uint16_be(len) || noise message.
 * The length counts the ciphertext and tag (16..65535 for transport).
 */
#include "frame.h"

/* Big-endian 16-bit length header. */
void
frame_put_len(uint8_t hdr[static 2], size_t len)
{
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
}

/* Decode the big-endian 16-bit length header. */
size_t
frame_get_len(const uint8_t hdr[static 2])
{
	return (size_t)hdr[0] << 8 | hdr[1];
}

/* Header, then the transport ciphertext of pt. */
int
frame_seal(struct noise_cipher *c, const uint8_t *pt, size_t len,
    uint8_t *out)
{
	if (len > NOISE_MAX_PLAINTEXT)
		return -1;
	if (noise_cipher_encrypt(c, pt, len, out + NOISE_FRAME_HDR) != 0)
		return -1;
	frame_put_len(out, len + NOISE_TAG_LEN);
	return (int)FRAME_SEALED_LEN(len);
}

/* Check the body length, then decrypt it. */
int
frame_open(struct noise_cipher *c, const uint8_t *body, size_t blen,
    uint8_t *out)
{
	if (blen < NOISE_TAG_LEN || blen > NOISE_MAX_MSG)
		return -1;
	if (noise_cipher_decrypt(c, body, blen, out) != 0)
		return -1;
	return (int)(blen - NOISE_TAG_LEN);
}
