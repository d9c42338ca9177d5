/*
 * log.h - leveled logging to stderr (L0).
 * Messages are single lines; peer-supplied strings must pass through
 * log_escape() first.
 */
#ifndef PEERLOCK_LOG_H
#define PEERLOCK_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Set the minimum level printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* Print one line "ts level msg" to stderr. */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

/*
 * Copy at most len bytes of untrusted s into out (cap bytes, always
 * NUL-terminated), replacing non-printable bytes by \xHH.  Returns out.
 */
char *log_escape(const void *s, size_t len, char *out, size_t cap);

#endif
