/* vec.c - hex and JSON vector helpers for the unit tests. */
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Load and parse one JSON vector file. */
json_t *
vec_load(const char *name)
{
	char path[1024];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", VECTOR_DIR, name);
	j = json_load_file(path, 0, &jerr);
	if (j == NULL) {
		fprintf(stderr, "vec_load %s: %s (line %d)\n", path, jerr.text,
		    jerr.line);
		abort();
	}
	return j;
}

/* Value of one hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a hex string into a new buffer. */
uint8_t *
vec_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex), i;
	uint8_t *out;

	if (n % 2 != 0)
		return NULL;
	out = malloc(n / 2 + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

/* Encode bytes as lower-case hex. */
char *
vec_tohex(const uint8_t *b, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

/* String member of a JSON object, or NULL. */
const char *
vec_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
vec_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
