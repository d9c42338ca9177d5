/*
 * test_log.c - log lines as an operator's tools read them: the text
 * close line unchanged, and in JSON every field a member of its own
 * type (numbers as numbers), escaped, one valid object per line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/log.h"
#include "vec.h"

enum { OUT_MAX = 65536 };

/*
 * Call the logger with stderr sent to a temporary file; returns what it
 * wrote (static buffer).
 */
static const char *
capture(void (*fn)(void))
{
	static char out[OUT_MAX];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

/* The fields of a close line, as conn.c logs it. */
static void
close_line(void)
{
	const struct log_field f[] = {
		{ "conn", "3", LOG_F_ID },
		{ "route", "forward.db", LOG_F_STR },
		{ "from", "[::1]:40522", LOG_F_STR },
		{ "peer", "12D3KooWQ", LOG_F_STR },
		{ "proto", "/noise", LOG_F_STR },
		{ "up", "1832", LOG_F_NUM },
		{ "down", "90211", LOG_F_NUM },
		{ "dur", "4.210", LOG_F_SECS },
		{ "reason", "handshake_failed", LOG_F_STR },
		{ "detail", "multistream: got \"GET /\"\r\n", LOG_F_DETAIL },
	};

	log_fields(LOG_WARN, f, sizeof(f) / sizeof(f[0]), "conn %s closed",
	    "3");
}

/* Text: the line operators and scripts already know. */
START_TEST(test_text)
{
	const char *out;

	log_set_format_json(0);
	out = capture(close_line);
	out = strstr(out, " WARN ");
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, " WARN conn 3 closed route=forward.db "
	    "from=[::1]:40522 peer=12D3KooWQ proto=/noise up=1832 down=90211 "
	    "dur=4.210s reason=handshake_failed: multistream: got \"GET /\""
	    "\\x0d\\x0a\n");
}
END_TEST

/* JSON: one object, each field a member; numbers are numbers. */
START_TEST(test_json)
{
	json_error_t e;
	json_t *o;
	const char *out;

	log_set_format_json(1);
	out = capture(close_line);
	log_set_format_json(0);
	ck_assert_ptr_nonnull(strchr(out, '\n'));
	ck_assert_ptr_eq(strchr(out, '\n') + 1, out + strlen(out));
	o = json_loads(out, 0, &e);
	ck_assert_msg(o != NULL, "not JSON: %s: %s", e.text, out);
	ck_assert_str_eq(vec_str(o, "level"), "warn");
	ck_assert_str_eq(vec_str(o, "msg"), "conn 3 closed");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "conn")), 3);
	ck_assert_str_eq(vec_str(o, "route"), "forward.db");
	ck_assert_str_eq(vec_str(o, "from"), "[::1]:40522");
	ck_assert_str_eq(vec_str(o, "peer"), "12D3KooWQ");
	ck_assert_str_eq(vec_str(o, "proto"), "/noise");
	ck_assert(json_is_integer(json_object_get(o, "up")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "up")), 1832);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "down")),
	    90211);
	ck_assert(json_is_real(json_object_get(o, "dur")));
	ck_assert(json_real_value(json_object_get(o, "dur")) > 4.2);
	ck_assert_str_eq(vec_str(o, "reason"), "handshake_failed");
	ck_assert_str_eq(vec_str(o, "detail"), "multistream: got \"GET /\""
	    "\r\n");
	json_decref(o);
}
END_TEST

/* A field without a value is left out; plain lines have no fields. */
static void
sparse_line(void)
{
	const struct log_field f[] = {
		{ "route", "expose.x", LOG_F_STR },
		{ "detail", NULL, LOG_F_DETAIL },
	};

	log_fields(LOG_INFO, f, 2, "conn %d closed", 9);
	log_info("plain \"quoted\"");
}

START_TEST(test_sparse)
{
	const char *out;

	log_set_format_json(0);
	out = capture(sparse_line);
	ck_assert_ptr_nonnull(strstr(out, " INFO conn 9 closed "
	    "route=expose.x\n"));
	log_set_format_json(1);
	out = capture(sparse_line);
	log_set_format_json(0);
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"conn 9 closed\","
	    "\"route\":\"expose.x\"}\n"));
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"plain \\\"quoted\\\"\"}"
	    "\n"));
	ck_assert_ptr_null(strstr(out, "detail"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_sparse);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
