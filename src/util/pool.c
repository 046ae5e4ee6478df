#include <pthread.h>
#include <stdlib.h>
#include "util/pool.h"
#include "util/map.h"

struct job {
    void (*fn)(void *);
    void *arg;
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct job *head, **tail = &head;
static int queued, cap, stop, nthreads;
static pthread_t *tids;

static void *worker(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "souk-pool");
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head && !stop) pthread_cond_wait(&cond, &lock);
        if (!head) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        struct job *j = head;
        head = j->next;
        if (!head) tail = &head;
        queued--;
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        free(j);
    }
}

void pool_start(int threads, int max_queued)
{
    nthreads = threads;
    cap = max_queued;
    stop = 0;
    tids = xcalloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker, NULL);
}

int pool_submit(void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&lock);
    if (queued >= cap) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    struct job *j = xmalloc(sizeof *j);
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    *tail = j;
    tail = &j->next;
    queued++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return 0;
}

void pool_stop(void)
{
    pthread_mutex_lock(&lock);
    stop = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nthreads; i++) pthread_join(tids[i], NULL);
    free(tids);
    nthreads = 0;
}
