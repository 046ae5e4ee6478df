/*
 * auth — passwords and bearer tokens.
 *
 * Passwords: Argon2id through libsodium with OWASP's minimum parameters
 * (m = 19 MiB, t = 2, p = 1): ~30 ms a hash here instead of ~97 ms for
 * libsodium's INTERACTIVE, still memory-hard. Hashing is slow on purpose, so
 * callers run it on the worker pool (util/pool.h), never on a loop thread and
 * never with the state lock held.
 *
 * Tokens: 32 random bytes, base64url (43 chars). Only blake2b(token) is
 * stored, so a copy of the database does not hand out sessions.
 */
#ifndef SOUK_AUTH_H
#define SOUK_AUTH_H
#include <stddef.h>
#include <sodium.h>
#include "core/state.h"

#define AUTH_HASH_MAX crypto_pwhash_STRBYTES
#define AUTH_TOKEN_LEN 43

int auth_init(void);
/* Hash pw into out (NUL-terminated); 0 or -1. Slow. */
int auth_hash_password(const char *pw, size_t len, char out[AUTH_HASH_MAX]);
/* 1 when pw matches hash. Slow. hash NULL: burns the same time, returns 0. */
int auth_verify_password(const char *hash, const char *pw, size_t len);
/* New token for u into out (44 bytes), registered in state, row in t.
 * Tokens have their own lock: these two need not hold the state lock. */
void auth_issue_token(struct wtx *t, struct user *u, char out[AUTH_TOKEN_LEN + 1]);
/* The user a token belongs to, or NULL. */
struct user *auth_lookup(const char *token, size_t len);

#endif
