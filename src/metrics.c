/*
 * metrics.c - labelled counters and a fixed-bucket histogram (L0).
 * Families are small (tens to a few hundred series), so a series is
 * found by a linear scan; lookups happen once per connection event.
 */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

/* One counter and its label values. */
struct metrics_series {
	char a[METRICS_LABEL_MAX];
	char b[METRICS_LABEL_MAX];
	unsigned long long v;
};

struct metrics_family {
	struct metrics_series *s;
	size_t n, cap;
};

const double metrics_hist_bounds[METRICS_HIST_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

/* New empty family. */
struct metrics_family *
metrics_family_new(void)
{
	return calloc(1, sizeof(struct metrics_family));
}

/* Free a family. */
void
metrics_family_free(struct metrics_family *f)
{
	if (f == NULL)
		return;
	free(f->s);
	free(f);
}

/* Whether series s has label values (a, b), cut as stored. */
static int
metrics_match(const struct metrics_series *s, const char *a, const char *b)
{
	return strncmp(s->a, a, METRICS_LABEL_MAX - 1) == 0 &&
	    strncmp(s->b, b, METRICS_LABEL_MAX - 1) == 0;
}

/* The series (a, b) or NULL. */
static struct metrics_series *
metrics_find(const struct metrics_family *f, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (metrics_match(&f->s[i], a, b))
			return &f->s[i];
	return NULL;
}

/* Add to a series, creating it. */
int
metrics_add(struct metrics_family *f, const char *a, const char *b,
    unsigned long long delta)
{
	struct metrics_series *s, *ns;
	size_t cap;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	if ((s = metrics_find(f, a, b)) == NULL) {
		if (f->n == f->cap) {
			cap = f->cap == 0 ? 8 : f->cap * 2;
			if ((ns = realloc(f->s, cap * sizeof(*ns))) == NULL)
				return -1;
			f->s = ns;
			f->cap = cap;
		}
		s = &f->s[f->n++];
		memset(s, 0, sizeof(*s));
		strncpy(s->a, a, sizeof(s->a) - 1);
		strncpy(s->b, b, sizeof(s->b) - 1);
	}
	s->v += delta;
	return 0;
}

/* Value of a series. */
unsigned long long
metrics_get(const struct metrics_family *f, const char *a, const char *b)
{
	const struct metrics_series *s;

	s = metrics_find(f, a != NULL ? a : "", b != NULL ? b : "");
	return s != NULL ? s->v : 0;
}

/* Number of series. */
size_t
metrics_len(const struct metrics_family *f)
{
	return f->n;
}

/* Series i. */
unsigned long long
metrics_at(const struct metrics_family *f, size_t i, const char **a,
    const char **b)
{
	*a = f->s[i].a;
	*b = f->s[i].b;
	return f->s[i].v;
}

/* Count v in its bucket. */
void
metrics_hist_observe(struct metrics_hist *h, double v)
{
	size_t i;

	for (i = 0; i < METRICS_HIST_BUCKETS; i++)
		if (v <= metrics_hist_bounds[i])
			break;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

/* Prometheus label value escaping. */
char *
metrics_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	const char *rep;
	char one[2] = { 0, 0 };

	for (; *s != '\0'; s++) {
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		else {
			one[0] = *s;
			rep = one;
		}
		if (o + strlen(rep) + 1 > cap)
			break;
		memcpy(out + o, rep, strlen(rep));
		o += strlen(rep);
	}
	out[o] = '\0';
	return out;
}
