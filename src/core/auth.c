#include <string.h>
#include "core/auth.h"
#include "util/log.h"

#define PW_OPS 2
#define PW_MEM (19u * 1024 * 1024)

static char dummy_hash[AUTH_HASH_MAX];
/* Tokens have their own lock so the live buy path can authenticate without
 * the state lock (S.tokens is only touched here). */
static pthread_rwlock_t tokens_lock = PTHREAD_RWLOCK_INITIALIZER;

int auth_init(void)
{
    if (sodium_init() < 0) return -1;
    return 0;
}

int auth_hash_password(const char *pw, size_t len, char out[AUTH_HASH_MAX])
{
    return crypto_pwhash_str_alg(out, pw, len, PW_OPS, PW_MEM, crypto_pwhash_ALG_ARGON2ID13);
}

int auth_verify_password(const char *hash, const char *pw, size_t len)
{
    if (!hash) {
        /* Same cost for an unknown email, so timing does not reveal accounts. */
        if (!dummy_hash[0]) auth_hash_password("dummy-password", 14, dummy_hash);
        if (crypto_pwhash_str_verify(dummy_hash, pw, len) == 0) return 0;
        return 0;
    }
    return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

static void token_key(const char *token, size_t len, unsigned char hash[32], char hex[65])
{
    crypto_generichash(hash, 32, (const unsigned char *)token, len, NULL, 0);
    sodium_bin2hex(hex, 65, hash, 32);
}

void auth_issue_token(struct wtx *t, struct user *u, char out[AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[32], hash[32];
    char hex[65];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    token_key(out, AUTH_TOKEN_LEN, hash, hex);
    pthread_rwlock_wrlock(&tokens_lock);
    smap_put(&S.tokens, hex, 64, u);
    pthread_rwlock_unlock(&tokens_lock);
    wtx_stmt(t, ST_TOKEN_PUT);
    wtx_blob(t, hash, 32);
    wtx_int(t, u->id);
    wtx_int(t, now_ms());
}

struct user *auth_lookup(const char *token, size_t len)
{
    if (len != AUTH_TOKEN_LEN) return NULL;
    unsigned char hash[32];
    char hex[65];
    token_key(token, len, hash, hex);
    pthread_rwlock_rdlock(&tokens_lock);
    struct user *u = smap_get(&S.tokens, hex, 64);
    pthread_rwlock_unlock(&tokens_lock);
    return u;
}
