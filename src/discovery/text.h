/*
 * text — turns product text and search queries into normalized terms.
 *
 * One analyzer per thread (it holds an ICU word-break iterator and a Snowball
 * stemmer, neither of which is thread-safe). Every token carries:
 *
 *   term     what goes into / is looked up in the index: NFKC + case folded
 *            (ICU NFKC_Casefold), English words stemmed (Snowball "english");
 *   surface  the same without stemming (what a user types; prefix and typo
 *            matching run over surfaces);
 *   start/end byte offsets of the token in the caller's input (for highlight).
 *
 * Rules:
 * - Words come from ICU's word-break iterator (UAX #29 plus ICU's dictionary
 *   segmentation for Chinese/Japanese). Segments with no letters or digits
 *   (spaces, punctuation, emoji, symbols) are dropped.
 * - A segment with a letter is TEXT_WORD; it is stemmed when all its
 *   characters are Latin letters (or an apostrophe). Digits-only segments
 *   ("2008", "3.5", "1,000") are TEXT_NUMBER and are kept verbatim.
 * - Chinese and Japanese (ICU's ideographic and kana segments): consecutive
 *   segments form a CJK run. TEXT_MODE_INDEX emits ICU's words (except
 *   two-character ones, which equal a bigram) plus every character bigram
 *   across the run, so 北京奥运会双肩包 holds 双肩 and 肩包 (→ found by 双肩包)
 *   and 奥运 and 运会 (→ found by 奥运会). TEXT_MODE_QUERY emits only the
 *   bigrams of a run (or the single character of a one-character run), so a
 *   query matches whatever way ICU happened to split the indexed text.
 * - Only TEXT_MODE_INDEX runs ICU's dictionary over CJK text; the other
 *   modes need characters only. Pure-ASCII stretches skip ICU: they are split
 *   by the same UAX #29 rules written out for ASCII (letters, digits, "_";
 *   "." and "'" inside letters or digits, "," and ";" inside digits), which
 *   the tests check against ICU.
 * - Input longer than max_bytes is cut at a character boundary (the token
 *   list says so); at most TEXT_MAX_TOKENS tokens are produced and a term is
 *   at most TEXT_MAX_TERM bytes. Work is linear in the (capped) input.
 *
 * Ownership: a struct text_tokens owns its token array and string buffer;
 * reuse it across calls (text_analyze resets it) and text_tokens_release it.
 * Token pointers are valid until the next text_analyze on the same list.
 */
#ifndef SOUK_DISCOVERY_TEXT_H
#define SOUK_DISCOVERY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_MAX_TERM   64    /* bytes; longer words are cut at a character boundary */
#define TEXT_MAX_TOKENS 65535 /* per call; the rest of the input is ignored */

enum text_kind {
    TEXT_WORD = 1,   /* letters (maybe with digits): "iphone15", "don't", "run" */
    TEXT_NUMBER,     /* digits only, with inner . or , : "2008", "3.5" */
    TEXT_CJK_WORD,   /* an ICU word inside a CJK run (index mode), or a lone CJK char */
    TEXT_CJK_BIGRAM, /* two adjacent characters of a CJK run */
};

enum text_mode {
    TEXT_MODE_INDEX,     /* ICU words + bigrams for CJK runs */
    TEXT_MODE_QUERY,     /* bigrams only (one char for a one-char run) */
    TEXT_MODE_HIGHLIGHT, /* bigrams + every single CJK char (for marking matches) */
};

struct text_token {
    const char *term;     /* NUL-terminated; stemmed for English words */
    const char *surface;  /* NUL-terminated; folded, not stemmed (== term for non-words) */
    uint16_t term_len;    /* bytes */
    uint16_t surface_len; /* bytes */
    uint32_t start, end;  /* byte range in the input */
    uint32_t pos;         /* word position (bigrams: position of their first char) */
    uint8_t kind;         /* enum text_kind */
    bool stemmed;         /* term came out of the stemmer (it was a Latin word) */
};

struct text_tokens {
    struct text_token *v;
    uint32_t n, cap;
    bool truncated; /* the input was longer than max_bytes or had too many tokens */
    /* private */
    char *buf;
    size_t buf_len, buf_cap;
};

struct text_analyzer;

/* Returns NULL if ICU or the stemmer cannot be opened. */
struct text_analyzer *text_analyzer_new(void);
void text_analyzer_free(struct text_analyzer *a);

/*
 * Tokenizes s[0..len) (UTF-8; invalid bytes are treated as U+FFFD and
 * dropped) into out, replacing its previous content. At most max_bytes of the
 * input are read (0 = no limit). Returns the number of tokens.
 */
uint32_t text_analyze(struct text_analyzer *a, const char *s, size_t len, size_t max_bytes,
                      enum text_mode mode, struct text_tokens *out);

/*
 * Stems one folded word (as found in text_token.surface) into buf (at least
 * TEXT_MAX_TERM + 1 bytes); returns its length. Words that are not Latin are
 * copied unchanged.
 */
size_t text_stem(struct text_analyzer *a, const char *word, size_t len, char *buf);

void text_tokens_init(struct text_tokens *t);
void text_tokens_release(struct text_tokens *t);

/* Number of code points in a valid UTF-8 string. */
size_t text_utf8_count(const char *s, size_t len);

#endif
