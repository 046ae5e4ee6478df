/* accounts.c — POST /auth/register, POST /auth/login, GET /me. Password
 * hashing runs on the worker pool; the handler resumes on its loop thread. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "util/jsonx.h"
#include "api/handlers.h"
#include "core/auth.h"
#include "core/market.h"
#include "domain/err.h"
#include "util/log.h"
#include "util/map.h"
#include "util/pool.h"

struct pwjob {
    struct http_req *r;
    char *email, *name, *password;
    char hash[AUTH_HASH_MAX];
    int ok;
};

static void pwjob_free(struct pwjob *j)
{
    free(j->email);
    free(j->name);
    if (j->password) sodium_memzero(j->password, strlen(j->password));
    free(j->password);
    free(j);
}

static int email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " \t\r\n");
}

/* Resumes on the loop thread once the hash is ready. */
static void register_finish(struct http_req *r, void *arg)
{
    struct pwjob *j = arg;
    state_lock();
    if (!j->ok) {
        api_fail(r, ERR_INTERNAL, "password hashing failed");
    } else if (market_user_by_email(j->email)) {
        api_fail(r, ERR_EMAIL_TAKEN, NULL);
    } else {
        struct wtx *t = wtx_new();
        struct user *u = market_user_create(t, j->email, j->name, ROLE_SHOPPER, j->hash, now_ms());
        char token[AUTH_TOKEN_LEN + 1];
        auth_issue_token(t, u, token);
        api_commit(r, t, 201, jpack("{soss}", "user", render_user(u, 1), "token", token));
    }
    state_unlock();
    pwjob_free(j);
}

static void register_hash(void *arg)
{
    struct pwjob *j = arg;
    j->ok = auth_hash_password(j->password, strlen(j->password), j->hash) == 0;
    http_post(j->r, register_finish, j);
}

void h_register(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    struct fields f = {0};
    const char *email = field_str(b, "email", 1, 3, 254, &f);
    const char *pw = field_str(b, "password", 1, 8, 128, &f);
    const char *name = field_str(b, "name", 1, 1, 100, &f);
    if (email && !email_ok(email)) field_err(&f, "email", "must be an email address");
    state_lock();
    if (api_fields_fail(r, &f) || api_idem(r, NULL)) goto out;
    if (market_user_by_email(email)) {
        api_fail(r, ERR_EMAIL_TAKEN, NULL);
        goto out;
    }
    struct pwjob *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->email = xstrdup(email);
    j->name = xstrdup(name);
    j->password = xstrdup(pw);
    if (pool_submit(register_hash, j) != 0) {
        pwjob_free(j);
        api_fail(r, ERR_BUSY, "too many sign-ups at once");
    }
out:
    state_unlock();
    json_decref(b);
}

struct loginjob {
    struct http_req *r;
    char *password;
    char *hash;
    int64_t user_id;
    int ok;
};

static void login_finish(struct http_req *r, void *arg)
{
    struct loginjob *j = arg;
    state_lock();
    struct user *u = j->ok ? user_get(j->user_id) : NULL;
    if (!u) {
        api_fail(r, ERR_BAD_CREDENTIALS, NULL);
    } else {
        struct wtx *t = wtx_new();
        char token[AUTH_TOKEN_LEN + 1];
        auth_issue_token(t, u, token);
        api_commit(r, t, 200, jpack("{ssso}", "token", token, "user", render_user(u, 1)));
    }
    state_unlock();
    free(j->hash);
    free(j);
}

static void login_verify(void *arg)
{
    struct loginjob *j = arg;
    j->ok = auth_verify_password(j->hash, j->password, strlen(j->password));
    sodium_memzero(j->password, strlen(j->password));
    free(j->password);
    j->password = NULL;
    http_post(j->r, login_finish, j);
}

void h_login(struct http_req *r)
{
    json_t *b = api_body(r);
    if (!b) return;
    struct fields f = {0};
    const char *email = field_str(b, "email", 1, 1, 254, &f);
    const char *pw = field_str(b, "password", 1, 1, 1024, &f);
    state_lock();
    if (api_fields_fail(r, &f)) goto out;
    struct user *u = market_user_by_email(email);
    struct loginjob *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->password = xstrdup(pw);
    j->hash = u && u->pwhash ? xstrdup(u->pwhash) : NULL;
    j->user_id = u ? u->id : 0;
    if (pool_submit(login_verify, j) != 0) {
        free(j->password);
        free(j->hash);
        free(j);
        api_fail(r, ERR_BUSY, "too many sign-ins at once");
    }
out:
    state_unlock();
    json_decref(b);
}

void h_me(struct http_req *r)
{
    state_lock();
    struct user *u = api_need_user(r);
    if (u) api_reply(r, 200, render_user(u, 1));
    state_unlock();
}
