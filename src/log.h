/*
 * log.h - leveled logging to stderr (L0).
 * Messages are single lines; peer-supplied strings must pass through
 * log_escape() first.
 *
 * Plain format:  2024-05-01T12:34:56.789Z INFO message k=v ...
 * JSON format:   {"ts":"2024-05-01T12:34:56.789Z","level":"info",
 *                 "msg":"message","k":"v",...}  (one object per line)
 * Timestamps are UTC with milliseconds.  Control characters in the
 * formatted message are escaped (\xHH in plain, \uXXXX / \n in JSON) so
 * a message can never span lines.  A message longer than LOG_MSG_MAX
 * bytes is truncated and ends in "...".  Each line goes out in a single
 * write(2).  The settings are process-global and not thread-safe.
 */
#ifndef PEERLOCK_LOG_H
#define PEERLOCK_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Longest formatted message kept (bytes, before escaping). */
#define LOG_MSG_MAX 2048

/* Set the minimum level printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* Switch between plain lines (0, default) and JSON lines (non-zero). */
void log_set_format_json(int on);

/* Print one line "ts level msg" to stderr. */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Structured lines.  A field is a key and its value as text; the kind
 * says how each format shows it:
 *
 *   kind          text                    JSON
 *   LOG_F_STR     " key=val"              ,"key":"val"
 *   LOG_F_NUM     " key=val"              ,"key":val   (val is a number)
 *   LOG_F_SECS    " key=vals"             ,"key":val   (seconds)
 *   LOG_F_ID      (in the message)        ,"key":val   (JSON only)
 *   LOG_F_DETAIL  ": val"                 ,"key":"val"
 *
 * so a text line reads as before ("conn 3 closed route=... reason=done:
 * detail") while a JSON line carries "msg":"conn 3 closed" and one member
 * per field.  A field with val NULL is left out.
 */
enum log_fkind { LOG_F_STR, LOG_F_NUM, LOG_F_SECS, LOG_F_ID, LOG_F_DETAIL };
struct log_field {
	const char *key;
	const char *val;
	enum log_fkind kind;
};

/* Print one line: the formatted message, then the n fields. */
void log_fields(enum log_level lvl, const struct log_field *f, size_t n,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

/*
 * Copy at most len bytes of untrusted s into out (cap bytes, always
 * NUL-terminated), replacing non-printable bytes (outside 0x20..0x7e)
 * and the characters '\\' and '"' by \xHH, so the result is plain
 * ASCII and can be quoted.  If the escaped text does not fit, it is cut
 * at an escape boundary and ends in "...".  s may be NULL when len is 0.
 * cap must be >= 1.  Returns out.
 */
char *log_escape(const void *s, size_t len, char *out, size_t cap);

#endif
