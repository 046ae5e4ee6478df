/*
 * writer — souk's one durable write path (group commit).
 *
 * Every change to state is recorded as a unit of work (struct wtx: a list of
 * store statements with their values) and handed to writer_submit(). One
 * writer thread drains the queue and commits everything it found in ONE
 * transaction (synchronous=FULL), then calls each unit's done() callback.
 * A request is answered only from done(), so an acknowledged write is on
 * disk: one fsync (~0.36 ms here) is shared by the whole batch.
 *
 * Ordering: units commit in submission order. Callers mutate in-memory
 * state and submit under the same lock (core/state.h), so the order of
 * commits is the order of the changes, and every value written is the
 * latest.
 *
 * Failure: if a commit fails (disk full, I/O error) memory is ahead of
 * disk. The writer then logs and aborts the process (crash-only): nothing
 * unacknowledged was promised, and a restart reloads the durable state.
 */
#ifndef SOUK_WRITER_H
#define SOUK_WRITER_H
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

struct wtx;

/* A new, empty unit of work (owned by the caller until submitted). */
struct wtx *wtx_new(void);
void wtx_free(struct wtx *t);
int wtx_empty(const struct wtx *t);
/* Start a statement; the following wtx_* calls are its values in order. */
void wtx_stmt(struct wtx *t, enum store_stmt st);
void wtx_int(struct wtx *t, int64_t v);
/* Text (copied); NULL writes SQL NULL. */
void wtx_text(struct wtx *t, const char *s);
void wtx_textn(struct wtx *t, const char *s, size_t len);
void wtx_blob(struct wtx *t, const void *p, size_t len);
void wtx_null(struct wtx *t);
/* An int, or NULL when v == 0 (optional ids and times). */
void wtx_int_or_null(struct wtx *t, int64_t v);

typedef void (*writer_done_fn)(void *arg);

/* Start the writer thread on an open store (also starts the checkpointer). */
int writer_start(const struct store_ops *ops, struct store *s);
/* Hand t over (takes ownership). done(arg) runs on the writer thread after
 * t is durably committed; it must be quick (post the answer elsewhere).
 * done may be NULL. */
void writer_submit(struct wtx *t, writer_done_fn done, void *arg);
/* Commit everything submitted, then stop the threads. */
void writer_stop(void);
/* Submit and wait for the commit (CLI tools, tests; never a loop thread). */
void writer_submit_wait(struct wtx *t);

struct writer_stats {
    uint64_t batches, units, statements, max_batch, queued;
    uint64_t commit_us_total; /* whole batches: statements + COMMIT */
    uint64_t fsync_us_total;  /* the COMMIT alone (WAL write + fsync) */
};
void writer_stats_get(struct writer_stats *out);

#endif
