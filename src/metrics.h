/*
 * metrics.h - counters and a histogram behind the admin /metrics
 * endpoint (L0).  No I/O: the admin listener renders them.
 *
 * A family is a set of counters keyed by up to two label values, e.g.
 * (route, protocol); series appear on first use and are never removed
 * (their number is bounded by the config: routes x protocols, reasons).
 */
#ifndef PEERLOCK_METRICS_H
#define PEERLOCK_METRICS_H

#include <stddef.h>

enum {
	METRICS_LABEL_MAX = 80,		/* bytes per label value, NUL incl. */
	METRICS_HIST_BUCKETS = 12
};

struct metrics_family;

/* An empty family, or NULL when out of memory. */
struct metrics_family *metrics_family_new(void);
/* Free; NULL is a no-op. */
void metrics_family_free(struct metrics_family *f);

/*
 * Add delta to the series (a, b); b may be NULL for a one-label family.
 * Values longer than METRICS_LABEL_MAX - 1 are cut.  0, or -1 when out
 * of memory (the event is lost, nothing else changes).
 */
int metrics_add(struct metrics_family *f, const char *a, const char *b,
    unsigned long long delta);

/* Value of the series (a, b), 0 if it does not exist. */
unsigned long long metrics_get(const struct metrics_family *f,
    const char *a, const char *b);

/* Number of series. */
size_t metrics_len(const struct metrics_family *f);

/*
 * Series i (0 <= i < metrics_len) in order of creation: its value; *a
 * and *b get its label values ("" when unused).
 */
unsigned long long metrics_at(const struct metrics_family *f, size_t i,
    const char **a, const char **b);

/* Upper bounds (seconds) of the histogram buckets; +Inf is implicit. */
extern const double metrics_hist_bounds[METRICS_HIST_BUCKETS];

/* A histogram: per-bucket (not cumulative) counts, total and sum. */
struct metrics_hist {
	unsigned long long bucket[METRICS_HIST_BUCKETS + 1];	/* last: +Inf */
	unsigned long long count;
	double sum;
};

/* Record one observation v (seconds). */
void metrics_hist_observe(struct metrics_hist *h, double v);

/*
 * Escape s as a Prometheus label value (\\, \", \n) into out (cap bytes,
 * always NUL-terminated, cut at an escape boundary).  Returns out.
 */
char *metrics_escape(const char *s, char *out, size_t cap);

#endif
