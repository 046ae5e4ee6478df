/*
 * log — process log lines on stderr: "2026-11-22T01:02:03.456Z level msg".
 * Safe from any thread; each line is written with one write(2) so lines
 * from different threads never interleave.
 */
#ifndef SOUK_LOG_H
#define SOUK_LOG_H
#include <stdint.h>

void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_err(...)  log_msg("error", __VA_ARGS__)

/* Set to 1 to silence info lines (tests, import). */
extern int log_quiet;

/* Current wall time in milliseconds since the epoch. */
int64_t now_ms(void);
/* A monotonic clock in microseconds (durations, not times of day). */
int64_t mono_us(void);
/* Format ms since the epoch as RFC 3339 UTC with millisecond precision
 * ("2026-11-22T01:02:03.456Z") into buf (at least 32 bytes); returns buf. */
char *time_fmt(int64_t ms, char *buf);
/* Parse RFC 3339 ("2026-11-22T01:02:03Z", optional fraction and offset)
 * into ms since the epoch; returns 0 on success, -1 on bad input. */
int time_parse(const char *s, int64_t *ms);

#endif
