/*
 * progress — a progress reporter for long batch jobs (imports, bulk loads).
 *
 * What it prints depends on where it prints:
 *
 *   - a terminal (isatty): one bar redrawn in place with '\r', at most about
 *     ten times a second, then a final line and '\n' at progress_finish():
 *         import [##########..........]  50%  12.3 MB/s  ETA 0:02
 *   - anything else (a log file, a pipe, a CI log): one plain line each time
 *     another 10% is crossed, so logs stay short and greppable:
 *         import: 30% (14.4 MB of 48.0 MB)
 *
 * Amounts are bytes by default, shown in decimal units (1 MB = 1,000,000
 * bytes, as `ls -h --si` and disk vendors count). progress_set_items()
 * switches to plain counts of a named thing ("rows").
 *
 * Invariants and contracts:
 *   - The struct is owned by the caller (usually on the stack); it allocates
 *     nothing, so there is no progress_release().
 *   - `out` may be NULL: every call then does nothing (a silent reporter), so
 *     callers need not test for "no progress wanted".
 *   - `total` may be 0 when unknown: no percentage or ETA is shown; the
 *     terminal bar shows the amount and rate, the plain form prints only the
 *     final line.
 *   - progress_update() is cheap (one clock read, usually no output), so it
 *     can be called per buffer or per row. `done` values above `total` are
 *     clamped; values going backwards are ignored.
 *   - Not thread-safe: one reporter is driven from one thread.
 */
#ifndef SOUK_UTIL_PROGRESS_H
#define SOUK_UTIL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
    const char *label; /* borrowed, must outlive the reporter */
    const char *noun;  /* NULL = bytes; else counted items, e.g. "rows" */
    FILE *out;         /* NULL = silent */
    uint64_t total;    /* 0 = unknown */
    uint64_t done;
    uint64_t start_ns;     /* CLOCK_MONOTONIC at init */
    uint64_t last_draw_ns; /* terminal: last redraw */
    int last_decile;       /* plain: last 10% step printed (0..10) */
    bool tty;
    bool finished;
};

/*
 * Starts a reporter labelled `label` for `total` units (0 = unknown) that
 * writes to `out` (NULL = silent). Decides terminal vs plain form once, here.
 */
void progress_init(struct progress *p, const char *label, uint64_t total, FILE *out);

/* Counts items called `noun` ("rows", borrowed) instead of bytes. Call right after init. */
void progress_set_items(struct progress *p, const char *noun);

/* Records that `done` units of `total` are finished, and redraws if it is time. */
void progress_update(struct progress *p, uint64_t done);

/*
 * Marks the job finished at the amount last given to progress_update() (call
 * progress_update(p, total) first to end at 100%): prints the final bar or
 * line with the elapsed time. Calling it twice prints once.
 */
void progress_finish(struct progress *p);

/* Seconds since progress_init(), for callers that report their own timing. */
double progress_elapsed(const struct progress *p);

#endif
