/*
 * log.c - leveled, single-line logging to stderr (L0).
 */
#include "log.h"

#include <stdatomic.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Room for LOG_MSG_MAX bytes escaped six-fold plus the JSON frame, and
 * as much again for the fields of a structured line.
 */
#define LOG_LINE_MAX (LOG_MSG_MAX * 12 + 256)

/*
 * Set by the main thread (start, reload), read by every event loop's
 * thread: relaxed atomics.  Each line is written with one write(2), so
 * lines of several threads never interleave.
 */
static _Atomic int log_min = LOG_INFO;
static _Atomic int log_json;

/* Set the minimum level printed. */
void
log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&log_min, (int)lvl, memory_order_relaxed);
}

/* Choose plain or JSON lines. */
void
log_set_format_json(int on)
{
	atomic_store_explicit(&log_json, on != 0, memory_order_relaxed);
}

/* Name of a level, upper case for plain lines, lower case for JSON. */
static const char *
log_level_name(enum log_level lvl, int json)
{
	switch (lvl) {
	case LOG_DEBUG:
		return json ? "debug" : "DEBUG";
	case LOG_INFO:
		return json ? "info" : "INFO";
	case LOG_WARN:
		return json ? "warn" : "WARN";
	default:
		return json ? "error" : "ERROR";
	}
}

/* Format the current UTC time as 2024-05-01T12:34:56.789Z. */
static void
log_timestamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
	}
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strcpy(base, "1970-01-01T00:00:00");
	snprintf(out, cap, "%s.%03ldZ", base, (long)(ts.tv_nsec / 1000000));
}

/* Length of a valid UTF-8 sequence at s[0..len), or 0 if invalid. */
static size_t
log_utf8_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Append msg as the body of a JSON string; returns the new length. */
static size_t
log_put_json(char *line, size_t used, size_t cap, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t len = strlen(msg), i = 0, n;

	while (i < len && used + 8 < cap) {
		if (s[i] == '"' || s[i] == '\\') {
			line[used++] = '\\';
			line[used++] = (char)s[i++];
		} else if (s[i] == '\n') {
			line[used++] = '\\';
			line[used++] = 'n';
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			used += (size_t)snprintf(line + used, cap - used,
			    "\\u%04x", s[i]);
			i++;
		} else if ((n = log_utf8_len(s + i, len - i)) == 0) {
			/* Invalid UTF-8 would make the line invalid JSON. */
			used += (size_t)snprintf(line + used, cap - used,
			    "\\ufffd");
			i++;
		} else {
			memcpy(line + used, s + i, n);
			used += n;
			i += n;
		}
	}
	return used;
}

/* Append msg with control characters escaped; returns the new length. */
static size_t
log_put_plain(char *line, size_t used, size_t cap, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;

	for (; *s != '\0' && used + 8 < cap; s++) {
		if (*s < 0x20 || *s == 0x7f)
			used += (size_t)snprintf(line + used, cap - used,
			    "\\x%02x", *s);
		else
			line[used++] = (char)*s;
	}
	return used;
}

/* Write all of buf to stderr, retrying on EINTR and short writes. */
static void
log_write(const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(STDERR_FILENO, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

/* Append the text form of the fields to msg (cap bytes). */
static void
log_text_fields(char *msg, size_t cap, const struct log_field *f, size_t n)
{
	size_t used = strlen(msg), i;
	int w;

	for (i = 0; i < n && used < cap; i++) {
		if (f[i].val == NULL || f[i].kind == LOG_F_ID)
			continue;
		if (f[i].kind == LOG_F_DETAIL)
			w = snprintf(msg + used, cap - used, ": %s", f[i].val);
		else
			w = snprintf(msg + used, cap - used, " %s=%s%s",
			    f[i].key, f[i].val, f[i].kind == LOG_F_SECS ? "s" :
			    "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (used >= cap)
		memcpy(msg + cap - 4, "...", 4);
}

/* Append the literal s if it fits whole; returns the new length. */
static size_t
log_lit(char *line, size_t used, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (used + n < cap) {
		memcpy(line + used, s, n);
		used += n;
	}
	return used;
}

/* Append the fields as JSON members; returns the new length. */
static size_t
log_json_fields(char *line, size_t used, size_t cap,
    const struct log_field *f, size_t n)
{
	size_t i;
	bool num;

	for (i = 0; i < n && used + 16 < cap; i++) {
		if (f[i].val == NULL)
			continue;
		num = f[i].kind == LOG_F_NUM || f[i].kind == LOG_F_SECS ||
		    f[i].kind == LOG_F_ID;
		used = log_lit(line, used, cap, ",\"");
		used = log_put_json(line, used, cap, f[i].key);
		used = log_lit(line, used, cap, num ? "\":" : "\":\"");
		used = log_put_json(line, used, cap, f[i].val);
		if (!num)
			used = log_lit(line, used, cap, "\"");
	}
	return used;
}

/* Format and print one line with fields if lvl is enabled. */
static void __attribute__((format(printf, 4, 0)))
log_vemit(enum log_level lvl, const struct log_field *f, size_t nf,
    const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX + 4], ts[48];
	char line[LOG_LINE_MAX];
	size_t used;
	int n, saved = errno;

	n = vsnprintf(msg, LOG_MSG_MAX + 1, fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(log format error)");
	else if (n > LOG_MSG_MAX)
		memcpy(msg + LOG_MSG_MAX, "...", 4);
	log_timestamp(ts, sizeof(ts));
	if (atomic_load_explicit(&log_json, memory_order_relaxed)) {
		used = (size_t)snprintf(line, sizeof(line),
		    "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
		    log_level_name(lvl, 1));
		used = log_put_json(line, used, sizeof(line), msg);
		line[used++] = '"';
		used = log_json_fields(line, used, sizeof(line), f, nf);
		if (used > sizeof(line) - 3)
			used = sizeof(line) - 3;
		line[used++] = '}';
		line[used++] = '\n';
	} else {
		if (nf > 0 && n >= 0 && n <= LOG_MSG_MAX)
			log_text_fields(msg, LOG_MSG_MAX + 1, f, nf);
		used = (size_t)snprintf(line, sizeof(line), "%s %s ", ts,
		    log_level_name(lvl, 0));
		used = log_put_plain(line, used, sizeof(line), msg);
		line[used++] = '\n';
	}
	log_write(line, used);
	errno = saved;
}

/* Format and print one log line if lvl is enabled. */
void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl < atomic_load_explicit(&log_min, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	log_vemit(lvl, NULL, 0, fmt, ap);
	va_end(ap);
}

/* A line with fields. */
void
log_fields(enum log_level lvl, const struct log_field *f, size_t n,
    const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl < atomic_load_explicit(&log_min, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	log_vemit(lvl, f, n, fmt, ap);
	va_end(ap);
}

/* Escape untrusted bytes into printable ASCII, cut to fit cap. */
char *
log_escape(const void *s, size_t len, char *out, size_t cap)
{
	const unsigned char *p = s;
	size_t i, need = 0, used = 0, room;
	int plain;

	if (cap == 0)
		return out;
	for (i = 0; i < len; i++)
		need += (p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '\\' &&
		    p[i] != '"') ? 1 : 4;
	/* When cutting, keep room for the "..." marker. */
	room = need < cap ? cap - 1 : (cap > 4 ? cap - 4 : 0);
	for (i = 0; i < len; i++) {
		plain = p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '\\' &&
		    p[i] != '"';
		if (used + (plain ? 1 : 4) > room)
			break;
		if (plain)
			out[used++] = (char)p[i];
		else
			used += (size_t)snprintf(out + used, cap - used,
			    "\\x%02x", p[i]);
	}
	if (i < len && cap > 4) {
		memcpy(out + used, "...", 3);
		used += 3;
	}
	out[used] = '\0';
	return out;
}
