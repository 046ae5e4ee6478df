#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/jsonx.h"
#include "util/log.h"

json_t *jpack(const char *fmt, ...)
{
    va_list ap;
    json_error_t err;
    va_start(ap, fmt);
    json_t *j = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!j) {
        log_err("jpack(\"%s\"): %s at position %d", fmt, err.text, err.position);
        abort();
    }
    return j;
}
