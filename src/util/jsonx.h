/*
 * jsonx — jansson helpers. jpack is json_pack that treats a format/argument
 * mismatch as the programming error it is: it logs the format and aborts,
 * so a test run finds it at once instead of a silently missing object.
 */
#ifndef SOUK_JSONX_H
#define SOUK_JSONX_H
#include <jansson.h>

json_t *jpack(const char *fmt, ...);

#endif
