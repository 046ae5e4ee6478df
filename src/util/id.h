/*
 * id — 64-bit, time-ordered, unique ids.
 *
 * Layout: 41 bits of milliseconds since 2024-01-01 UTC, 10 bits of node
 * number, 12 bits of sequence. Ids from one process are strictly increasing
 * even when the clock stalls or steps back (the sequence borrows from the
 * next millisecond), so "newest first" is "id descending" and a list sorted
 * by insertion is sorted by id. Several nodes get distinct node numbers.
 */
#ifndef SOUK_ID_H
#define SOUK_ID_H
#include <stdint.h>

/* Set this process's node number (0..1023). Default 0. */
void id_set_node(unsigned node);
/* A new id, greater than every id returned or bumped before. Thread-safe. */
int64_t id_next(void);
/* Make every later id_next() greater than seen (ids loaded from storage). */
void id_bump(int64_t seen);
/* The smallest id id_next could return at ms (for time bounds on ids). */
int64_t id_at(int64_t ms);
/* Milliseconds since the Unix epoch encoded in an id. */
int64_t id_time_ms(int64_t id);

/* Parse a decimal id string of length len; 0 when it is not a positive id. */
int64_t id_parse(const char *s, size_t len);
/* Write id as decimal into buf (at least 21 bytes); returns buf. */
char *id_fmt(int64_t id, char *buf);

#endif
