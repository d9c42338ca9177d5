/*
 * vec.h - test helpers: hex codec and JSON vector files under
 * tests/vectors/ (VECTOR_DIR).
 */
#ifndef PEERLOCK_TEST_VEC_H
#define PEERLOCK_TEST_VEC_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Load tests/vectors/<name>; aborts the test run if missing. */
json_t *vec_load(const char *name);

/*
 * Decode hex (either case) into a malloc'd buffer; *len is set.
 * Returns NULL for invalid hex.  Caller frees.
 */
uint8_t *vec_hex(const char *hex, size_t *len);

/* Encode bytes as lower-case hex into a malloc'd string. */
char *vec_tohex(const uint8_t *b, size_t len);

/*
 * Run suite s (taking ownership) with Check's normal output; returns
 * EXIT_SUCCESS if every test passed, else EXIT_FAILURE.  Every unit
 * test's main() ends with it.
 */
int vec_run(Suite *s);

/* Lookup helper: json_string_value(json_object_get(o, key)) or NULL. */
const char *vec_str(const json_t *o, const char *key);

#endif
