/*
 * viewers — N concurrent viewers of a live room's event stream, for
 * bench/run-flash.sh.
 *
 * Opens N keep-alive connections to GET /api/v1/live/rooms/{id}/events,
 * reads and discards the stream on one epoll thread, and counts events on the
 * raw bytes (snapshot, stock, order). It stands in for 10,000 phones that
 * would not share souk's two cores; in C rather than Node because the client
 * that shares them should cost as little as it can (the Node version took
 * ~1 s of CPU per 10 s sale, the buyers' generator's share).
 *
 *   viewers --port P --room ID --count N [--seconds S]
 *
 * Prints "viewers: N open, F failed" on stderr once every connection got its
 * first bytes, and key=value lines on stdout at SIGTERM/SIGINT or after S
 * seconds (default 120). Only 127.0.0.1; stops by itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAIL 16 /* longer than any pattern: a match may straddle two reads */

struct viewer {
    int fd, got_any;
    size_t tail_len;
    char tail[TAIL];
};

static const char *const patterns[] = {"event: snapshot", "event: stock", "event: order"};
enum { P_SNAPSHOT, P_STOCK, P_ORDER, NPAT };

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Occurrences of pat in buf[0..len) that end after byte `old` (those inside
 * the first `old` bytes, the previous read's tail, were counted then). */
static uint64_t count_new(const char *buf, size_t len, size_t old, const char *pat)
{
    size_t pl = strlen(pat);
    uint64_t n = 0;
    for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), pat, pl)) != NULL; p++)
        if ((size_t)(p - buf) + pl > old) n++;
    return n;
}

int main(int argc, char **argv)
{
    int port = 0, count = 1000, seconds = 120;
    const char *room = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--room"))
            room = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atoi(argv[i + 1]);
    }
    if (!port || !room || count < 1) {
        fprintf(stderr, "usage: viewers --port P --room ID --count N [--seconds S]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    char req[256];
    int reqlen = snprintf(req, sizeof req,
                          "GET /api/v1/live/rooms/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Accept: text/event-stream\r\n\r\n",
                          room);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct viewer *v = calloc((size_t)count, sizeof *v);
    int failed = 0, open = 0, closed = 0;
    for (int i = 0; i < count; i++) {
        v[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (v[i].fd < 0 || connect(v[i].fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            write(v[i].fd, req, (size_t)reqlen) != reqlen) {
            if (v[i].fd >= 0) close(v[i].fd);
            v[i].fd = -1;
            failed++;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &v[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, v[i].fd, &ev);
        /* Let the server accept and answer in waves: the listen backlog is
         * finite, and 10,000 unanswered requests would all time out alike. */
        if (i % 500 == 499) usleep(20 * 1000);
    }

    uint64_t counts[NPAT] = {0}, bytes = 0;
    double cpu0 = -1;
    time_t deadline = time(NULL) + seconds;
    static char buf[TAIL + 65536];
    struct epoll_event evs[512];
    while (!stop && time(NULL) < deadline) {
        int n = epoll_wait(ep, evs, 512, 200);
        for (int i = 0; i < n; i++) {
            struct viewer *w = evs[i].data.ptr;
            memcpy(buf, w->tail, w->tail_len);
            ssize_t r = read(w->fd, buf + w->tail_len, sizeof buf - TAIL);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
                close(w->fd);
                w->fd = -1;
                closed++;
                continue;
            }
            if (!w->got_any) {
                w->got_any = 1;
                if (++open + failed == count) {
                    fprintf(stderr, "viewers: %d open, %d failed\n", open, failed);
                    cpu0 = cpu_s();
                }
            }
            bytes += (uint64_t)r;
            size_t len = w->tail_len + (size_t)r;
            for (int p = 0; p < NPAT; p++)
                counts[p] += count_new(buf, len, w->tail_len, patterns[p]);
            w->tail_len = len < TAIL ? len : TAIL;
            memcpy(w->tail, buf + len - w->tail_len, w->tail_len);
        }
    }
    printf("client_cpu_s_since_connected=%.1f\n", cpu0 < 0 ? 0 : cpu_s() - cpu0);
    printf("viewers_open=%d\nviewers_failed=%d\nviewers_closed=%d\n", open, failed, closed);
    printf("snapshots=%llu\nstock_events=%llu\norder_events=%llu\nbytes=%llu\n",
           (unsigned long long)counts[P_SNAPSHOT], (unsigned long long)counts[P_STOCK],
           (unsigned long long)counts[P_ORDER], (unsigned long long)bytes);
    return 0;
}
