/*
 * text.c — see text.h. The input is converted to UTF-16 once (keeping, for
 * every UTF-16 unit, the byte offset it came from), segmented by ICU, and
 * each word segment is normalized on its own, so offsets always point into
 * the caller's bytes even when NFKC changes lengths (ＡＢＣ → abc).
 */
#include "discovery/text.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#define STEM_CACHE_SIZE 4096 /* direct-mapped; product vocabularies are Zipfian */
#define STEM_CACHE_WORD 30

struct stem_slot {
    uint8_t len, stem_len;
    char word[STEM_CACHE_WORD];
    char stem[STEM_CACHE_WORD];
};

struct run_char {
    uint32_t start, end; /* source byte range */
    uint8_t len;         /* UTF-8 bytes of the normalized character */
    char b[4];
};

struct run_word {
    uint32_t lo, hi; /* char range in the run */
};

struct text_analyzer {
    UBreakIterator *bi;
    const UNormalizer2 *nfkc_cf;
    struct sb_stemmer *stemmer;
    UChar *u;     /* input as UTF-16 */
    uint32_t *uo; /* uo[i] = byte offset of u[i] in the input; uo[ulen] = input length */
    size_t ucap;
    UChar *nb; /* normalization output */
    size_t nbcap;
    struct run_char *rc;
    size_t rc_n, rc_cap;
    struct run_word *rw;
    size_t rw_n, rw_cap;
    struct stem_slot *cache;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) abort(); /* souk aborts on OOM (STYLE.md) */
    return q;
}

struct text_analyzer *text_analyzer_new(void)
{
    struct text_analyzer *a = calloc(1, sizeof(*a));
    UErrorCode e = U_ZERO_ERROR;
    if (!a) abort();
    a->bi = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
    if (U_SUCCESS(e)) a->nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
    a->stemmer = sb_stemmer_new("english", "UTF_8");
    a->cache = calloc(STEM_CACHE_SIZE, sizeof(*a->cache));
    if (U_FAILURE(e) || !a->stemmer || !a->cache) {
        text_analyzer_free(a);
        return NULL;
    }
    return a;
}

void text_analyzer_free(struct text_analyzer *a)
{
    if (!a) return;
    if (a->bi) ubrk_close(a->bi);
    if (a->stemmer) sb_stemmer_delete(a->stemmer);
    free(a->u);
    free(a->uo);
    free(a->nb);
    free(a->rc);
    free(a->rw);
    free(a->cache);
    free(a);
}

void text_tokens_init(struct text_tokens *t)
{
    memset(t, 0, sizeof(*t));
}

void text_tokens_release(struct text_tokens *t)
{
    free(t->v);
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

size_t text_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* ---- UTF-8 / UTF-16 ---------------------------------------------------- */

/* Decodes one code point at s[i..len); returns its byte length (1 for bad bytes, cp = FFFD). */
static int utf8_decode(const unsigned char *s, size_t i, size_t len, uint32_t *cp)
{
    unsigned c = s[i];
    int n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (i + n > len) goto bad;
    for (int k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
        (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
        goto bad;
    *cp = v;
    return n;
bad:
    *cp = 0xFFFD;
    return 1;
}

static int utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the code point at u[*i] (advancing *i). */
static uint32_t u16_next(const UChar *u, size_t n, size_t *i)
{
    uint32_t c = u[(*i)++];
    if (c >= 0xD800 && c <= 0xDBFF && *i < n && u[*i] >= 0xDC00 && u[*i] <= 0xDFFF)
        c = 0x10000 + ((c - 0xD800) << 10) + (u[(*i)++] - 0xDC00);
    return c;
}

/* Converts s[from..to) to UTF-16 in a->u; a->uo maps units to byte offsets in s. */
static size_t to_utf16(struct text_analyzer *a, const char *s, size_t from, size_t to)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, len = to - from;
    if (a->ucap < len + 1) {
        a->ucap = len + 1;
        a->u = xrealloc(a->u, a->ucap * sizeof(UChar));
        a->uo = xrealloc(a->uo, a->ucap * sizeof(uint32_t));
    }
    for (size_t i = from; i < to;) {
        uint32_t cp;
        int k = utf8_decode(p, i, to, &cp);
        if (cp >= 0x10000) {
            a->u[n] = (UChar)(0xD800 + ((cp - 0x10000) >> 10));
            a->uo[n++] = (uint32_t)i;
            a->u[n] = (UChar)(0xDC00 + ((cp - 0x10000) & 0x3FF));
        } else {
            a->u[n] = (UChar)cp;
        }
        a->uo[n++] = (uint32_t)i;
        i += k;
    }
    a->uo[n] = (uint32_t)to;
    return n;
}

/* Han, kana and their compatibility forms: the characters that form CJK runs. */
static bool is_cjk(uint32_t cp)
{
    if (cp < 0x3005) return false;
    return cp == 0x3005 || cp == 0x3007 || (cp >= 0x3041 && cp <= 0x309F) ||
           (cp >= 0x30A1 && cp <= 0x30FA) || (cp >= 0x30FC && cp <= 0x30FF) ||
           (cp >= 0x31F0 && cp <= 0x31FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFF66 && cp <= 0xFF9F) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

/* ---- output ------------------------------------------------------------ */

/* Appends bytes to the token buffer; returns their offset (terms are NUL-terminated). */
static uint32_t buf_put(struct text_tokens *t, const char *s, size_t n)
{
    if (t->buf_len + n + 1 > t->buf_cap) {
        t->buf_cap = (t->buf_len + n + 1) * 2 + 256;
        t->buf = xrealloc(t->buf, t->buf_cap);
    }
    uint32_t off = (uint32_t)t->buf_len;
    memcpy(t->buf + off, s, n);
    t->buf[off + n] = 0;
    t->buf_len += n + 1;
    return off;
}

/*
 * While analysing, term/surface hold buffer offsets (the buffer may move);
 * text_analyze turns them into pointers at the end.
 */
static bool emit(struct text_tokens *t, const char *term, size_t tl, const char *surf, size_t sl,
                 uint32_t start, uint32_t end, uint32_t pos, int kind, bool stemmed)
{
    if (t->n >= TEXT_MAX_TOKENS) {
        t->truncated = true;
        return false;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    struct text_token *k = &t->v[t->n++];
    uint32_t so = buf_put(t, surf, sl);
    uint32_t to = (tl == sl && memcmp(term, surf, sl) == 0) ? so : buf_put(t, term, tl);
    k->term = (const char *)(uintptr_t)to;
    k->surface = (const char *)(uintptr_t)so;
    k->term_len = (uint16_t)tl;
    k->surface_len = (uint16_t)sl;
    k->start = start;
    k->end = end;
    k->pos = pos;
    k->kind = (uint8_t)kind;
    k->stemmed = stemmed;
    return true;
}

/* ---- stemming ---------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

size_t text_stem(struct text_analyzer *a, const char *w, size_t n, char *out)
{
    struct stem_slot *slot = NULL;
    if (n < STEM_CACHE_WORD) {
        slot = &a->cache[hash_bytes(w, n) & (STEM_CACHE_SIZE - 1)];
        if (slot->len == n && memcmp(slot->word, w, n) == 0) {
            memcpy(out, slot->stem, slot->stem_len);
            out[slot->stem_len] = 0;
            return slot->stem_len;
        }
    }
    const sb_symbol *r = sb_stemmer_stem(a->stemmer, (const sb_symbol *)w, (int)n);
    size_t rl = r ? (size_t)sb_stemmer_length(a->stemmer) : 0;
    if (!r || rl == 0 || rl > TEXT_MAX_TERM) {
        r = (const sb_symbol *)w;
        rl = n > TEXT_MAX_TERM ? TEXT_MAX_TERM : n;
    }
    memcpy(out, r, rl);
    out[rl] = 0;
    if (slot && rl < STEM_CACHE_WORD) {
        slot->len = (uint8_t)n;
        memcpy(slot->word, w, n);
        slot->stem_len = (uint8_t)rl;
        memcpy(slot->stem, out, rl);
    }
    return rl;
}

/* ---- segments ---------------------------------------------------------- */

/*
 * Normalizes u[a..b) with NFKC_Casefold into a UTF-16 buffer; returns it and
 * its length. Already-normal text (most of it) is returned in place.
 */
static const UChar *normalize(struct text_analyzer *a, size_t s, size_t e, int32_t *nlen)
{
    UErrorCode err = U_ZERO_ERROR;
    const UChar *src = a->u + s;
    int32_t len = (int32_t)(e - s);
    int32_t ok = unorm2_spanQuickCheckYes(a->nfkc_cf, src, len, &err);
    if (U_SUCCESS(err) && ok == len) {
        *nlen = len;
        return src;
    }
    for (;;) {
        err = U_ZERO_ERROR;
        int32_t n = unorm2_normalize(a->nfkc_cf, src, len, a->nb, (int32_t)a->nbcap, &err);
        if (err == U_BUFFER_OVERFLOW_ERROR || (size_t)n > a->nbcap) {
            a->nbcap = (size_t)n + 64;
            a->nb = xrealloc(a->nb, a->nbcap * sizeof(UChar));
            continue;
        }
        if (U_FAILURE(err)) {
            *nlen = len;
            return src;
        }
        *nlen = n;
        return a->nb;
    }
}

/* Emits a folded word whose characters are classified already. */
static void emit_word(struct text_analyzer *a, struct text_tokens *t, const char *surf, size_t sl,
                      bool has_letter, bool has_digit, bool latin, uint32_t start, uint32_t end,
                      uint32_t pos)
{
    char stem[TEXT_MAX_TERM + 1];
    if (sl == 0 || (!has_letter && !has_digit)) return;
    if (!has_letter) {
        emit(t, surf, sl, surf, sl, start, end, pos, TEXT_NUMBER, false);
    } else if (latin && !has_digit) {
        size_t tl = text_stem(a, surf, sl, stem);
        emit(t, stem, tl, surf, sl, start, end, pos, TEXT_WORD, true);
    } else {
        emit(t, surf, sl, surf, sl, start, end, pos, TEXT_WORD, false);
    }
}

/* An ICU word segment u[s..e) outside CJK runs. */
static void word_segment(struct text_analyzer *a, struct text_tokens *t, size_t s, size_t e,
                         uint32_t pos)
{
    char surf[TEXT_MAX_TERM + 8];
    size_t sl = 0;
    bool has_letter = false, has_digit = false, latin = true;
    int32_t nlen;
    const UChar *n = normalize(a, s, e, &nlen);
    for (size_t i = 0; i < (size_t)nlen;) {
        uint32_t cp = u16_next(n, (size_t)nlen, &i);
        if (cp == 0x2019) cp = '\''; /* men’s → men's, as typed on phones */
        if (u_isalpha((UChar32)cp)) {
            has_letter = true;
            if (cp >= 0x250) latin = false;
        } else if (u_isdigit((UChar32)cp)) {
            has_digit = true;
        } else if (cp != '\'') {
            latin = false; /* "a_b", "e.g": not for the stemmer */
        }
        char b[4];
        int k = utf8_encode(cp, b);
        if (sl + k > TEXT_MAX_TERM) break;
        memcpy(surf + sl, b, k);
        sl += k;
    }
    emit_word(a, t, surf, sl, has_letter, has_digit, latin, a->uo[s], a->uo[e], pos);
}

enum { A_OTHER, A_LETTER, A_DIGIT, A_USCORE, A_MIDNUMLET, A_MIDNUM };

static int ascii_class(unsigned char c)
{
    if ((c | 32) >= 'a' && (c | 32) <= 'z') return A_LETTER;
    if (c >= '0' && c <= '9') return A_DIGIT;
    if (c == '_') return A_USCORE;
    if (c == '.' || c == '\'') return A_MIDNUMLET;
    if (c == ',' || c == ';') return A_MIDNUM;
    return A_OTHER;
}

/*
 * UAX #29 word boundaries for ASCII: letters, digits and "_" stick together
 * (WB5, WB8-10, WB13a/b); "." or "'" between two letters (WB6/7) and ".",
 * "'", "," or ";" between two digits (WB11/12) stay inside the word.
 */
static void ascii_words(struct text_analyzer *a, struct text_tokens *t, const char *s, size_t from,
                        size_t to, uint32_t *pos)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = from;
    while (i < to) {
        int c = ascii_class(p[i]);
        if (c != A_LETTER && c != A_DIGIT && c != A_USCORE) {
            i++;
            continue;
        }
        size_t w = i++;
        for (;;) {
            if (i >= to) break;
            int k = ascii_class(p[i]);
            if (k == A_LETTER || k == A_DIGIT || k == A_USCORE) {
                i++;
                continue;
            }
            if ((k == A_MIDNUMLET || k == A_MIDNUM) && i + 1 < to) {
                int prev = ascii_class(p[i - 1]), next = ascii_class(p[i + 1]);
                if ((k == A_MIDNUMLET && prev == A_LETTER && next == A_LETTER) ||
                    (prev == A_DIGIT && next == A_DIGIT)) {
                    i += 2;
                    continue;
                }
            }
            break;
        }
        char surf[TEXT_MAX_TERM + 1];
        size_t sl = 0;
        bool has_letter = false, has_digit = false, latin = true;
        for (size_t j = w; j < i && sl < TEXT_MAX_TERM; j++) {
            unsigned char c2 = p[j];
            int k = ascii_class(c2);
            if (k == A_LETTER)
                has_letter = true, c2 = (unsigned char)(c2 | 32);
            else if (k == A_DIGIT)
                has_digit = true;
            else if (c2 != '\'')
                latin = false;
            surf[sl++] = (char)c2;
        }
        emit_word(a, t, surf, sl, has_letter, has_digit, latin, (uint32_t)w, (uint32_t)i, (*pos)++);
        if (t->n >= TEXT_MAX_TOKENS) return;
    }
}

/* A non-CJK stretch with non-ASCII characters: ICU word break. */
static void icu_words(struct text_analyzer *a, struct text_tokens *t, const char *s, size_t from,
                      size_t to, uint32_t *pos)
{
    UErrorCode err = U_ZERO_ERROR;
    size_t ulen = to_utf16(a, s, from, to);
    ubrk_setText(a->bi, a->u, (int32_t)ulen, &err);
    if (U_FAILURE(err)) return;
    int32_t p = ubrk_first(a->bi);
    for (int32_t q = ubrk_next(a->bi); q != UBRK_DONE; p = q, q = ubrk_next(a->bi)) {
        if (t->n >= TEXT_MAX_TOKENS) return;
        if (ubrk_getRuleStatus(a->bi) < UBRK_WORD_NONE_LIMIT)
            continue; /* spaces, punctuation, emoji */
        word_segment(a, t, (size_t)p, (size_t)q, (*pos)++);
    }
}

/* Adds an ideographic/kana segment to the current CJK run. */
static void run_add(struct text_analyzer *a, size_t s, size_t e)
{
    int32_t nlen;
    const UChar *n = normalize(a, s, e, &nlen);
    size_t ncp = 0, ocp = 0, first = a->rc_n;
    for (size_t i = 0; i < (size_t)nlen;)
        u16_next(n, (size_t)nlen, &i), ncp++;
    for (size_t i = s; i < e;)
        u16_next(a->u, e, &i), ocp++;
    if (a->rc_n + ncp > a->rc_cap) {
        a->rc_cap = (a->rc_n + ncp) * 2 + 32;
        a->rc = xrealloc(a->rc, a->rc_cap * sizeof(*a->rc));
    }
    /* Offsets map 1:1 when normalization kept the character count, else the whole segment. */
    size_t oi = s;
    for (size_t i = 0; i < (size_t)nlen;) {
        struct run_char *c = &a->rc[a->rc_n++];
        uint32_t cp = u16_next(n, (size_t)nlen, &i);
        c->len = (uint8_t)utf8_encode(cp, c->b);
        if (ncp == ocp) {
            c->start = a->uo[oi];
            u16_next(a->u, e, &oi);
            c->end = a->uo[oi];
        } else {
            c->start = a->uo[s];
            c->end = a->uo[e];
        }
    }
    if (a->rw_n == a->rw_cap) {
        a->rw_cap = a->rw_cap * 2 + 16;
        a->rw = xrealloc(a->rw, a->rw_cap * sizeof(*a->rw));
    }
    a->rw[a->rw_n].lo = (uint32_t)first;
    a->rw[a->rw_n].hi = (uint32_t)a->rc_n;
    a->rw_n++;
}

static void run_flush(struct text_analyzer *a, struct text_tokens *t, enum text_mode mode,
                      uint32_t *pos)
{
    char b[TEXT_MAX_TERM + 8];
    size_t n = a->rc_n, w = 0;
    for (size_t i = 0; i < n; i++) {
        const struct run_char *c = &a->rc[i];
        if (mode == TEXT_MODE_INDEX) {
            /* ICU words starting here, but not the two-character ones: those are bigrams. */
            for (; w < a->rw_n && a->rw[w].lo == i; w++) {
                size_t lo = a->rw[w].lo, hi = a->rw[w].hi, bl = 0;
                if (hi - lo == 2 || hi == lo) continue;
                for (size_t k = lo; k < hi && bl + a->rc[k].len <= TEXT_MAX_TERM; k++) {
                    memcpy(b + bl, a->rc[k].b, a->rc[k].len);
                    bl += a->rc[k].len;
                }
                emit(t, b, bl, b, bl, a->rc[lo].start, a->rc[hi - 1].end, *pos + (uint32_t)lo,
                     TEXT_CJK_WORD, false);
            }
        } else if (mode == TEXT_MODE_HIGHLIGHT || n == 1) {
            emit(t, c->b, c->len, c->b, c->len, c->start, c->end, *pos + (uint32_t)i, TEXT_CJK_WORD,
                 false);
        }
        if (i + 1 < n) {
            const struct run_char *d = &a->rc[i + 1];
            memcpy(b, c->b, c->len);
            memcpy(b + c->len, d->b, d->len);
            emit(t, b, c->len + d->len, b, c->len + d->len, c->start, d->end, *pos + (uint32_t)i,
                 TEXT_CJK_BIGRAM, false);
        }
    }
    *pos += (uint32_t)n;
    a->rc_n = 0;
    a->rw_n = 0;
}

/* A stretch of CJK characters: ICU's dictionary words (index mode) and bigrams. */
static void cjk_run(struct text_analyzer *a, struct text_tokens *t, const char *s, size_t from,
                    size_t to, enum text_mode mode, uint32_t *pos)
{
    size_t ulen = to_utf16(a, s, from, to);
    a->rc_n = a->rw_n = 0;
    if (mode == TEXT_MODE_INDEX) {
        UErrorCode err = U_ZERO_ERROR;
        ubrk_setText(a->bi, a->u, (int32_t)ulen, &err);
        if (U_FAILURE(err)) return;
        int32_t p = ubrk_first(a->bi);
        for (int32_t q = ubrk_next(a->bi); q != UBRK_DONE; p = q, q = ubrk_next(a->bi))
            run_add(a, (size_t)p, (size_t)q);
    } else {
        run_add(a, 0, ulen);
    }
    run_flush(a, t, mode, pos);
}

uint32_t text_analyze(struct text_analyzer *a, const char *s, size_t len, size_t max_bytes,
                      enum text_mode mode, struct text_tokens *t)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t pos = 0;

    t->n = 0;
    t->buf_len = 0;
    t->truncated = false;
    if (!s) len = 0;
    if (max_bytes && len > max_bytes) {
        len = max_bytes;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--; /* do not split a character */
        t->truncated = true;
    }
    /* Split into CJK and other stretches; the other ones are ASCII-only or not. */
    for (size_t i = 0; i < len && t->n < TEXT_MAX_TOKENS;) {
        uint32_t cp;
        int k = utf8_decode(p, i, len, &cp);
        size_t j = i + k;
        if (is_cjk(cp)) {
            while (j < len) {
                k = utf8_decode(p, j, len, &cp);
                if (!is_cjk(cp)) break;
                j += k;
            }
            cjk_run(a, t, s, i, j, mode, &pos);
        } else {
            bool ascii = cp < 0x80;
            while (j < len) {
                if (p[j] < 0x80) {
                    j++;
                    continue;
                }
                k = utf8_decode(p, j, len, &cp);
                if (is_cjk(cp)) break;
                ascii = false;
                j += k;
            }
            if (ascii)
                ascii_words(a, t, s, i, j, &pos);
            else
                icu_words(a, t, s, i, j, &pos);
        }
        i = j;
    }
    if (t->n >= TEXT_MAX_TOKENS) t->truncated = true;
    for (uint32_t i = 0; i < t->n; i++) {
        t->v[i].term = t->buf + (uintptr_t)t->v[i].term;
        t->v[i].surface = t->buf + (uintptr_t)t->v[i].surface;
    }
    return t->n;
}
