/*
 * idem — Idempotency-Key records.
 *
 * A record is keyed by (scope, key): scope is the caller's user id (0 for
 * anonymous callers). It remembers a fingerprint of the first request
 * (blake2b of method, path and body) and, once that request succeeded, its
 * status and body. The record is written in the SAME unit of work as the
 * effect it describes, so after a crash either both exist or neither.
 *
 * Only 2xx answers are stored: an error has no side effect, so a retry
 * simply runs again. Records older than 24 h are forgotten.
 *
 * Memory: once the answer is committed, its body is dropped from memory
 * (idem_committed) and a replay reads it back from the store; a record then
 * costs its key and fingerprint (~100 bytes) instead of a whole response
 * (a checkout's is ~2.5 KB), which matters at thousands of writes a second.
 * The records have their own lock: callers need not hold the state lock.
 */
#ifndef SOUK_IDEM_H
#define SOUK_IDEM_H
#include <stddef.h>
#include <stdint.h>
#include "core/state.h"

#define IDEM_TTL_MS (24LL * 3600 * 1000)

enum idem_result { IDEM_PROCEED, IDEM_REPLAY, IDEM_REUSED, IDEM_IN_PROGRESS };

/* Look up or create the record for (scope, key). IDEM_PROCEED: *out is a new
 * record the caller must finish or abort. IDEM_REPLAY: *out holds the stored
 * answer. The others: refuse the request. */
enum idem_result idem_begin(int64_t scope, const char *key, size_t klen,
                            const unsigned char fp[32], int64_t now, struct idem **out);
/* The request succeeded: store the answer (copied) and append its row to t. */
void idem_finish(struct idem *e, struct wtx *t, int status, const char *body, size_t len);
/* The answer is durable (writer thread): drop the in-memory body. */
void idem_committed(struct idem *e);
/* The stored answer: *body is malloc'd (from memory or the store). 0 or -1. */
int idem_answer(struct idem *e, char **body, size_t *len);
/* The request failed: forget the record. */
void idem_abort(struct idem *e);
/* Restore a committed record at load. */
void idem_restore(int64_t id, int64_t scope, const char *key, size_t klen,
                  const unsigned char fp[32], int status, const char *body, size_t blen,
                  int64_t created_at);
/* Drop records older than the TTL; appends the purge to t. */
void idem_expire(struct wtx *t, int64_t now);
/* fingerprint of a request */
void idem_fingerprint(const char *method, const char *path, size_t plen, const char *body,
                      size_t blen, unsigned char out[32]);

#endif
