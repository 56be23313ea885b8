/*
 * log: everything smtpsend prints on stderr.  Warnings and notes respect
 * -q and -v; the protocol transcript (-v) goes through log_proto(), which
 * is the one place a line of the SMTP conversation reaches the terminal.
 * printable() makes untrusted text (server replies, file names) safe to
 * print.
 */
#ifndef SMTPSEND_LOG_H
#define SMTPSEND_LOG_H

#include <stddef.h>

enum log_level { LOG_QUIET = -1, LOG_NORMAL = 0, LOG_VERBOSE = 1 };

void log_set_level(int level);
int log_level(void);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Transcript line; dir is "-->" (sent) or "<--" (received). */
void log_proto(const char *dir, const char *line, size_t len);
/*
 * Copy at most len bytes of src into dst (size dstsz, always terminated),
 * replacing control characters, CR and LF with '?' and stopping at NUL.
 * Valid UTF-8 passes unchanged.  Returns dst.
 */
char *printable(char *dst, size_t dstsz, const char *src, size_t len);

#endif
