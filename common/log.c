/* SPDX-License-Identifier: MIT */
/* Logging to stderr with one write per line, so that threads never interleave, or to
 * syslog; a thread may also capture what it logs for a control client. */
#include "common/log.h"
#include "common/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static volatile int g_level = SG_LOG_INFO;
static volatile int g_syslog;
static volatile int g_json;

static _Thread_local char *t_cap;
static _Thread_local size_t t_cap_size, t_cap_len;
static _Thread_local int t_cap_errors;

void sg_log_set_level(enum sg_log_level lvl) { g_level = lvl; }
enum sg_log_level sg_log_get_level(void) { return (enum sg_log_level)g_level; }
int sg_log_enabled(enum sg_log_level lvl) { return (int)lvl <= g_level || (t_cap && lvl <= SG_LOG_WARN); }

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

int sg_log_set_target(const char *target, const char *ident)
{
    if (!target)
        return SG_EINVAL;
    if (!strcmp(target, "stderr")) {
        if (g_syslog)
            closelog();
        g_syslog = 0;
        return 0;
    }
    if (!strcmp(target, "syslog")) {
        openlog(ident ? ident : "signet", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        g_syslog = 1;
        return 0;
    }
    return SG_EINVAL;
}

int sg_log_set_format(const char *format)
{
    if (!format || (strcmp(format, "text") && strcmp(format, "json")))
        return SG_EINVAL;
    g_json = !strcmp(format, "json");
    return 0;
}

/* Append s to out (at *n) as the inside of a JSON string; stops 64 bytes before cap, which
 * leaves room for the keys that follow. */
static void json_escape(char *out, size_t cap, int *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p && (size_t)*n + 64 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)c;
        } else if (c == '\n') {
            out[(*n)++] = '\\';
            out[(*n)++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + *n, "\\u00", 4);
            out[*n + 4] = hex[c >> 4];
            out[*n + 5] = hex[c & 15];
            *n += 6;
        } else {
            out[(*n)++] = (char)c; /* UTF-8 passes as it is */
        }
    }
    out[*n] = 0;
}

/* The JSON form of one line into out; returns its length (without a newline). */
static int json_line(char *out, size_t cap, const char *stamp, int lvl, const char *component,
                     const char *zone, const char *msg)
{
    static const char *levels[] = { "error", "warning", "info", "debug" };
    int n = 0;
    if (stamp)
        n = snprintf(out, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"", stamp, levels[lvl]);
    else
        n = snprintf(out, cap, "{\"level\":\"%s\",\"component\":\"", levels[lvl]);
    json_escape(out, cap, &n, component ? component : "signet");
    if (zone) {
        n += snprintf(out + n, cap - (size_t)n, "\",\"zone\":\"");
        json_escape(out, cap, &n, zone);
        n += snprintf(out + n, cap - (size_t)n, "\",\"message\":\"");
    } else {
        n += snprintf(out + n, cap - (size_t)n, "\",\"zone\":null,\"message\":\"");
    }
    json_escape(out, cap, &n, msg);
    n += snprintf(out + n, cap - (size_t)n, "\"}");
    return n < (int)cap ? n : (int)cap - 1;
}

void sg_log_capture_begin(char *buf, size_t cap)
{
    t_cap = cap ? buf : NULL;
    t_cap_size = cap;
    t_cap_len = 0;
    t_cap_errors = 0;
    if (t_cap)
        t_cap[0] = 0;
}

int sg_log_capture_end(void)
{
    t_cap = NULL;
    return t_cap_errors;
}

static void capture(enum sg_log_level lvl, const char *msg, size_t len)
{
    if (lvl == SG_LOG_ERR)
        t_cap_errors++;
    if (t_cap_len + 1 >= t_cap_size)
        return;
    size_t room = t_cap_size - t_cap_len - 1;
    size_t n = len + 1 <= room ? len : room; /* the line and its newline, or what fits */
    memcpy(t_cap + t_cap_len, msg, n);
    t_cap_len += n;
    if (t_cap_len + 1 < t_cap_size)
        t_cap[t_cap_len++] = '\n';
    t_cap[t_cap_len] = 0;
}

void sg_log(enum sg_log_level lvl, const char *component, const char *zone,
            const char *fmt, ...)
{
    static const char *tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    int want = (int)lvl <= g_level, cap = t_cap && lvl <= SG_LOG_WARN;
    if (!want && !cap)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int stamp = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                         tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    int n = stamp;
    n += snprintf(line + n, sizeof line - n, "[%s] %s: ", tags[lvl],
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
    if (cap)
        capture(lvl, line + stamp, (size_t)(n - stamp));
    if (!want)
        return;
    if (g_json) {
        /* the message alone, then the whole line again as an object */
        char msg[2048], js[4200], ts_text[32];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(ts_text, sizeof ts_text, "%.*s", stamp - 1, line);
        int jn = json_line(js, sizeof js - 1, g_syslog ? NULL : ts_text, lvl, component, zone, msg);
        if (g_syslog) {
            syslog(prio[lvl], "%s", js);
            return;
        }
        js[jn++] = '\n';
        ssize_t w = write(STDERR_FILENO, js, (size_t)jn);
        (void)w;
        return;
    }
    if (g_syslog) {
        line[n] = 0;
        /* syslog stamps the time itself */
        syslog(prio[lvl], "%s", line + stamp);
        return;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
