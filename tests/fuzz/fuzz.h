/*
 * fuzz.h - helpers shared by the libFuzzer harnesses (tests/fuzz only).
 *
 * Harnesses are deterministic (fixed keys from the spec vectors where a
 * handshake is driven), free everything they allocate, and report a
 * broken contract with FUZZ_CHECK(), which aborts so libFuzzer records
 * the input.
 */
#ifndef PEERLOCK_FUZZ_H
#define PEERLOCK_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a finding) when a contract the harness checks does not hold. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: contract broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* NUL-terminated malloc'd copy of data[0..size); NULL on failure. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Decode a hex constant of exactly len bytes into out; aborts if bad. */
static inline void
fuzz_hex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;
	unsigned int b;

	FUZZ_CHECK(strlen(hex) == 2 * len);
	for (i = 0; i < len; i++) {
		FUZZ_CHECK(sscanf(hex + 2 * i, "%2x", &b) == 1);
		out[i] = (uint8_t)b;
	}
}

#endif
