/* progress — see progress.h for the contract. */
#include "util/progress.h"

#include <time.h>
#include <unistd.h>

/* A terminal redraw at most every 100 ms: faster only burns CPU and flickers. */
#define PROGRESS_REDRAW_NS 100000000ull
#define PROGRESS_BAR_WIDTH 24

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Formats an amount: "14.4 MB" for bytes (decimal units), "1,234 rows" for items. */
static void format_amount(const struct progress *p, double v, char *buf, size_t n)
{
    if (p->noun) {
        snprintf(buf, n, "%.0f %s", v, p->noun);
        return;
    }
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    unsigned u = 0;
    while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f %s", v, units[u]);
    else
        snprintf(buf, n, "%.1f %s", v, units[u]);
}

/* An ETA: "m:ss" or "h:mm:ss". */
static void format_duration(double s, char *buf, size_t n)
{
    if (s < 0 || s > 359999) s = 359999;
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%u:%02u", t / 60, t % 60);
}

/* An elapsed time: "1.2 s" for short jobs, else like an ETA. */
static void format_elapsed(double s, char *buf, size_t n)
{
    if (s < 60)
        snprintf(buf, n, "%.1f s", s);
    else
        format_duration(s, buf, n);
}

/* Percentage as an integer 0..100; only meaningful when total > 0. */
static unsigned percent(const struct progress *p)
{
    if (p->total == 0) return 0;
    return (unsigned)((double)p->done * 100.0 / (double)p->total);
}

static void draw_bar(struct progress *p, uint64_t now, bool final)
{
    double elapsed = (double)(now - p->start_ns) / 1e9;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char rate_s[32], amount_s[32];
    format_amount(p, rate, rate_s, sizeof rate_s);

    fprintf(p->out, "\r%s ", p->label);
    if (p->total > 0) {
        unsigned filled = (unsigned)((double)p->done * PROGRESS_BAR_WIDTH / (double)p->total);
        fputc('[', p->out);
        for (unsigned i = 0; i < PROGRESS_BAR_WIDTH; i++)
            fputc(i < filled ? '#' : '.', p->out);
        fprintf(p->out, "] %3u%%", percent(p));
    } else {
        format_amount(p, (double)p->done, amount_s, sizeof amount_s);
        fprintf(p->out, "%s", amount_s);
    }
    fprintf(p->out, "  %s/s", rate_s);
    char t_s[16];
    if (final) {
        format_elapsed(elapsed, t_s, sizeof t_s);
        fprintf(p->out, "  done in %s\n", t_s);
    } else if (p->total > 0 && rate > 0) {
        format_duration((double)(p->total - p->done) / rate, t_s, sizeof t_s);
        /* Trailing spaces wipe leftovers of a longer previous draw. */
        fprintf(p->out, "  ETA %s   ", t_s);
    } else {
        fputs("   ", p->out);
    }
    fflush(p->out);
    p->last_draw_ns = now;
}

static void print_line(struct progress *p, unsigned pct)
{
    char done_s[32], total_s[32];
    format_amount(p, (double)p->done, done_s, sizeof done_s);
    format_amount(p, (double)p->total, total_s, sizeof total_s);
    fprintf(p->out, "%s: %u%% (%s of %s)\n", p->label, pct, done_s, total_s);
    fflush(p->out);
}

void progress_init(struct progress *p, const char *label, uint64_t total, FILE *out)
{
    *p = (struct progress){
        .label = label ? label : "progress",
        .out = out,
        .total = total,
        .start_ns = now_ns(),
        .tty = out && isatty(fileno(out)),
    };
}

void progress_set_items(struct progress *p, const char *noun)
{
    p->noun = noun;
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p->out || p->finished || done < p->done) return;
    p->done = (p->total > 0 && done > p->total) ? p->total : done;
    if (p->tty) {
        uint64_t now = now_ns();
        if (now - p->last_draw_ns >= PROGRESS_REDRAW_NS) draw_bar(p, now, false);
        return;
    }
    if (p->total == 0) return;
    /* Only the latest 10% step crossed is printed, so a jump from 0 to 50%
     * gives one line, not five. 100% is left to progress_finish(). */
    int decile = (int)(percent(p) / 10);
    if (decile > p->last_decile && decile < 10) {
        p->last_decile = decile;
        print_line(p, (unsigned)decile * 10);
    }
}

void progress_finish(struct progress *p)
{
    if (!p->out || p->finished) return;
    p->finished = true;
    if (p->tty) {
        draw_bar(p, now_ns(), true);
        return;
    }
    char done_s[32], total_s[32], t_s[16];
    format_elapsed(progress_elapsed(p), t_s, sizeof t_s);
    format_amount(p, (double)p->done, done_s, sizeof done_s);
    if (p->total > 0) {
        format_amount(p, (double)p->total, total_s, sizeof total_s);
        fprintf(p->out, "%s: %u%% (%s of %s) done in %s\n", p->label, percent(p), done_s, total_s,
                t_s);
    } else {
        fprintf(p->out, "%s: %s done in %s\n", p->label, done_s, t_s);
    }
    fflush(p->out);
}

double progress_elapsed(const struct progress *p)
{
    return (double)(now_ns() - p->start_ns) / 1e9;
}
