/*
 * test_metrics.c - labelled counters, the histogram buckets and label
 * escaping behind /metrics.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/metrics.h"
#include "vec.h"

/* Series are created on first use, summed, listed in creation order. */
START_TEST(test_family)
{
	struct metrics_family *f = metrics_family_new();
	const char *a, *b;
	char longname[200];
	int i;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(metrics_len(f), 0);
	ck_assert_uint_eq(metrics_get(f, "forward.db", "/noise"), 0);
	ck_assert_int_eq(metrics_add(f, "forward.db", "/noise", 1), 0);
	ck_assert_int_eq(metrics_add(f, "expose.x", NULL, 5), 0);
	ck_assert_int_eq(metrics_add(f, "forward.db", "/noise", 2), 0);
	ck_assert_int_eq(metrics_add(f, "forward.db", "/tls/1.0.0", 7), 0);
	ck_assert_uint_eq(metrics_len(f), 3);
	ck_assert_uint_eq(metrics_get(f, "forward.db", "/noise"), 3);
	ck_assert_uint_eq(metrics_get(f, "expose.x", ""), 5);
	ck_assert_uint_eq(metrics_at(f, 1, &a, &b), 5);
	ck_assert_str_eq(a, "expose.x");
	ck_assert_str_eq(b, "");
	ck_assert_uint_eq(metrics_at(f, 2, &a, &b), 7);
	ck_assert_str_eq(b, "/tls/1.0.0");
	/* many series: the table grows */
	for (i = 0; i < 100; i++) {
		snprintf(longname, sizeof(longname), "r%d", i);
		ck_assert_int_eq(metrics_add(f, longname, "p", 1), 0);
	}
	ck_assert_uint_eq(metrics_len(f), 103);
	ck_assert_uint_eq(metrics_get(f, "r99", "p"), 1);
	/* over-long labels are cut, and still found by their long name */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(metrics_add(f, longname, NULL, 4), 0);
	ck_assert_uint_eq(metrics_get(f, longname, NULL), 4);
	metrics_at(f, 103, &a, &b);
	ck_assert_uint_eq(strlen(a), METRICS_LABEL_MAX - 1);
	metrics_family_free(f);
	metrics_family_free(NULL);
}
END_TEST

/* Each observation lands in the first bucket whose bound covers it. */
START_TEST(test_hist)
{
	struct metrics_hist h;

	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, 0.0005);	/* <= 0.001 */
	metrics_hist_observe(&h, 0.001);	/* bound is inclusive */
	metrics_hist_observe(&h, 0.003);	/* <= 0.005 */
	metrics_hist_observe(&h, 0.3);		/* <= 0.5 */
	metrics_hist_observe(&h, 60);		/* +Inf */
	ck_assert_uint_eq(h.bucket[0], 2);
	ck_assert_uint_eq(h.bucket[1], 0);
	ck_assert_uint_eq(h.bucket[2], 1);
	ck_assert_uint_eq(h.bucket[8], 1);
	ck_assert_uint_eq(h.bucket[METRICS_HIST_BUCKETS], 1);
	ck_assert_uint_eq(h.count, 5);
	ck_assert(h.sum > 60.30 && h.sum < 60.31);
}
END_TEST

/* Label values escape backslash, quote and newline; cut cleanly. */
START_TEST(test_escape)
{
	char out[16];

	ck_assert_str_eq(metrics_escape("a\"b\\c\nd", out, sizeof(out)),
	    "a\\\"b\\\\c\\nd");
	ck_assert_str_eq(metrics_escape("plain", out, sizeof(out)), "plain");
	/* cut before an escape that does not fit: never half an escape */
	ck_assert_str_eq(metrics_escape("0123456789abcd\"", out,
	    sizeof(out)), "0123456789abcd");
	ck_assert_str_eq(metrics_escape("0123456789abcdefgh", out,
	    sizeof(out)), "0123456789abcde");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_family);
	tcase_add_test(tc, test_hist);
	tcase_add_test(tc, test_escape);
	suite_add_tcase(s, tc);
	return vec_run(s);
}
