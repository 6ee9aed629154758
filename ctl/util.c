/* SPDX-License-Identifier: MIT */
/* signetctl helpers: opening the keystore, errors, options, durations, times. */
#include "ctl/ctl.h"

#include "common/cfg.h"
#include "common/errors.h"

#include <ctype.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ctl_open(ctl *c)
{
    if (c->ks)
        return CTL_OK;
    int r = sg_ks_new(c->db, "cli", &c->ks);
    if (r)
        return ctl_fail(c, r, "cannot open keystore %s", c->db);
    if (c->busy_ms >= 0)
        sg_ks_set_busy_timeout(c->ks, c->busy_ms);
    return CTL_OK;
}

static const char *g_error_code;

void ctl_error_set(const char *code)
{
    if (!g_error_code)
        g_error_code = code;
}

const char *ctl_error_get(void)
{
    return g_error_code;
}

int ctl_error_class(int err, const char **code_out)
{
    const char *code = "failed";
    int rc = CTL_ERR;
    switch (err) {
    case SG_KS_EBUSY: case SG_EBUSY: code = "busy"; rc = CTL_TEMPFAIL; break;
    case SG_ETIMEOUT: code = "timeout"; rc = CTL_TEMPFAIL; break;
    case SG_REG_ERETRY: code = "unreachable"; rc = CTL_TEMPFAIL; break;
    case SG_ENOTFOUND: code = "not_found"; break;
    case SG_EEXIST: code = "exists"; break;
    case SG_EINVAL: case SG_ESYNTAX: case SG_EZONE: case SG_EMALFORMED: code = "invalid"; break;
    case SG_KS_EINUSE: code = "in_use"; break;
    case SG_EIO: code = "io"; break;
    case SG_KS_ECORRUPT: case SG_KS_EDECRYPT: case SG_KS_ESCHEMA: code = "corrupt"; break;
    case SG_REG_ECRED: code = "credentials"; break;
    case SG_REG_EREJECT: code = "rejected"; break;
    default: break;
    }
    if (code_out)
        *code_out = code;
    return rc;
}

int ctl_fail(const ctl *c, int err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *detail = c && c->ks ? sg_ks_errmsg(c->ks) : "";
    fprintf(stderr, "signetctl: %s: %s%s%s\n", what, sg_strerror(err), *detail ? ": " : "",
            detail);
    const char *code;
    int rc = ctl_error_class(err, &code);
    ctl_error_set(code);
    return rc;
}

int ctl_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "signetctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'signetctl %s--help'.\n", cmd ? cmd : "");
    ctl_error_set("usage");
    return CTL_USAGE;
}

int ctl_parse(const char *cmd, int argc, char **argv, ctl_opt *opts, int nopts, char **pos,
              int maxpos, int *npos_out, int *help)
{
    int npos = 0;
    *help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
            if (npos >= maxpos)
                return ctl_usage(cmd, "unexpected argument '%s'", a);
            pos[npos++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        ctl_opt *o = NULL;
        for (int j = 0; j < nopts; j++)
            if (strlen(opts[j].name) == len && strncmp(opts[j].name, a + 2, len) == 0)
                o = &opts[j];
        if (!o)
            return ctl_usage(cmd, "unknown option '%s'", a);
        o->set = 1;
        if (!o->has_arg) {
            if (eq)
                return ctl_usage(cmd, "option '--%s' takes no value", o->name);
            continue;
        }
        if (eq) {
            o->val = eq + 1;
        } else {
            if (i + 1 >= argc)
                return ctl_usage(cmd, "option '--%s' needs a value", o->name);
            o->val = argv[++i];
        }
    }
    *npos_out = npos;
    return CTL_OK;
}

int ctl_parse_duration(const char *s, uint32_t *out)
{
    if (!s)
        return SG_ESYNTAX;
    if (strcmp(s, "never") == 0) {
        *out = 0;
        return 0;
    }
    /* Years are ours (365 days); the rest is the config's duration syntax. */
    uint64_t total = 0, v;
    const char *y = strchr(s, 'y');
    if (y) {
        char num[32];
        size_t n = (size_t)(y - s);
        if (n == 0 || n >= sizeof num)
            return SG_ESYNTAX;
        memcpy(num, s, n);
        num[n] = 0;
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)num[i]))
                return SG_ESYNTAX;
        total = strtoull(num, NULL, 10) * 365 * 86400;
        s = y + 1;
        if (!*s)
            goto done;
    }
    if (sg_cfg_parse_duration(s, &v) != 0)
        return SG_ESYNTAX;
    total += v;
done:
    if (total > UINT32_MAX)
        return SG_ESYNTAX;
    *out = (uint32_t)total;
    return 0;
}

int ctl_parse_time(const char *s, int64_t now, int64_t *out)
{
    if (!s || !*s)
        return SG_ESYNTAX;
    if (!strcmp(s, "none") || !strcmp(s, "unset")) {
        *out = 0;
        return 0;
    }
    if (!strcmp(s, "now")) {
        *out = now;
        return 0;
    }
    const char *rel = NULL;
    int sign = 1;
    if (!strncmp(s, "now+", 4) || !strncmp(s, "now-", 4)) {
        sign = s[3] == '-' ? -1 : 1;
        rel = s + 4;
    } else if (s[0] == '+') {
        rel = s + 1;
    }
    if (rel) {
        uint32_t d;
        if (ctl_parse_duration(rel, &d))
            return SG_ESYNTAX;
        *out = now + sign * (int64_t)d;
        return 0;
    }
    if (s[0] == '@') {
        char *end;
        long long v = strtoll(s + 1, &end, 10);
        if (end == s + 1 || *end || v <= 0)
            return SG_ESYNTAX;
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    size_t len = strlen(s);
    if (len == 14 && strspn(s, "0123456789") == 14) {
        n = sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
        if (n != 6)
            return SG_ESYNTAX;
    } else {
        char tail[8] = "";
        n = sscanf(s, "%4d-%2d-%2d%*[T ]%2d:%2d:%2d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, tail);
        if (n < 3)
            return SG_ESYNTAX;
        if (n == 3 && strlen(s) != 10)
            return SG_ESYNTAX;
        if (n == 5) {  /* no seconds: HH:MM then maybe Z */
            const char *z = strrchr(s, ':');
            if (!z || (strcmp(z + 3, "") && strcmp(z + 3, "Z")))
                return SG_ESYNTAX;
        }
        if (n == 7 && strcmp(tail, "Z"))
            return SG_ESYNTAX;
        if (n == 4)
            return SG_ESYNTAX;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return SG_ESYNTAX;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

void ctl_fmt_duration(uint32_t s, char *buf, size_t cap)
{
    static const struct { uint32_t secs; char unit; } units[] = {
        { 365 * 86400, 'y' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
    };
    if (s == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s % units[i].secs == 0) {
            snprintf(buf, cap, "%u%c", s / units[i].secs, units[i].unit);
            return;
        }
    snprintf(buf, cap, "%us", s);
}

void ctl_fmt_time(int64_t t, char *buf, size_t cap)
{
    if (t == 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ctl_zone_cmd(const char *cmd, int argc, char **argv, ctl_opt *opts, int nopts,
                 const char *help, char zone[SG_KS_ZONE_MAX])
{
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse(cmd, argc, argv, opts, nopts, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        fputs(help, stdout);
        return CTL_DONE;
    }
    if (npos != 1)
        return ctl_usage(cmd, "%sneeds one ZONE", cmd);
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage(cmd, "bad zone name '%s'", pos[0]);
    return CTL_OK;
}

void ctl_who(char *buf, size_t cap)
{
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    const char *sudo = getenv("SUDO_USER");
    if (sudo && *sudo)
        snprintf(buf, cap, "%s (uid %u, via sudo by %s)", pw ? pw->pw_name : "?", (unsigned)uid,
                 sudo);
    else
        snprintf(buf, cap, "%s (uid %u)", pw ? pw->pw_name : "?", (unsigned)uid);
}
