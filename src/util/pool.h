/*
 * pool — a few worker threads for slow CPU work (password hashing) that
 * must not run on an event loop. The queue is bounded: when it is full,
 * pool_submit refuses (the caller answers 429) instead of letting latency
 * grow without bound.
 */
#ifndef SOUK_POOL_H
#define SOUK_POOL_H

void pool_start(int threads, int max_queued);
/* Run fn(arg) on a worker. 0, or -1 when the queue is full. */
int pool_submit(void (*fn)(void *arg), void *arg);
void pool_stop(void);

#endif
