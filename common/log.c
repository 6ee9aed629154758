/* SPDX-License-Identifier: MIT */
/* Logging to stderr with one write per line, so that threads never interleave. */
#include "common/log.h"
#include "common/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int g_level = SG_LOG_INFO;

void sg_log_set_level(enum sg_log_level lvl) { g_level = lvl; }
int sg_log_enabled(enum sg_log_level lvl) { return (int)lvl <= g_level; }

int sg_log_parse_level(const char *s, enum sg_log_level *out)
{
    static const char *names[] = { "error", "warning", "info", "debug" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum sg_log_level)i;
            return 0;
        }
    }
    return SG_EINVAL;
}

void sg_log(enum sg_log_level lvl, const char *component, const char *zone,
            const char *fmt, ...)
{
    static const char *tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    if (!sg_log_enabled(lvl))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, tags[lvl],
                     component ? component : "signet");
    if (zone && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, "%s: ", zone);
    if (n < (int)sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
    }
    if (n >= (int)sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
