/*
 * fuzz_vectors.h - fixed keys and payloads of the libp2p derived Noise
 * example (tests/vectors/noise-libp2p-derived-example.json), hex.
 */
#ifndef PEERLOCK_FUZZ_VECTORS_H
#define PEERLOCK_FUZZ_VECTORS_H

/* Noise static and ephemeral X25519 private keys. */
#define EX_INIT_S "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed" \
	"542214d1"
#define EX_INIT_E "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da" \
	"977c464a"
#define EX_RESP_S "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114" \
	"246e4893"
#define EX_RESP_E "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63" \
	"da6b375b"

/* NoiseHandshakePayload of message 2 (responder) and 3 (initiator). */
#define EX_MSG2_PAYLOAD "0a240801122003a107bff3ce10be1d70dd18e74bc09967e4d6" \
	"309ba50d5f1ddc8664125531b812409d81d9e24c1aeb8f65ddb0c0cc4c5bfd1e69" \
	"339343da323fe9bf8e0501539a9d41081f7481ce6a24a071af825dacccdcae9d78" \
	"763b528a84cc298ce591447c05220e120c2f79616d75782f312e302e30"
#define EX_MSG3_PAYLOAD "0a24080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b87" \
	"1c3cacf6010f0e42d474fce27e1240e292a4b36dcd264cb7933551567462bf4b6b" \
	"dc79bcc37af23ea723110cf8cfde08000f9e95441ba4fd4b82844305554004fc4b" \
	"e681ce33c277510b6332588c09220e120c2f79616d75782f312e302e30"
#define EX_PAYLOAD_LEN 120

/* The identities (PrivateKey protobufs) and the responder's peer ID. */
#define EX_INIT_ID "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1" \
	"feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6" \
	"010f0e42d474fce27e"
#define EX_RESP_ID "08011240000102030405060708090a0b0c0d0e0f101112131415" \
	"161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d" \
	"5f1ddc8664125531b8"
#define EX_RESP_PEER "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
#define EX_ID_LEN 68

#endif
