/* SPDX-License-Identifier: MIT */
/* The --json contract, kept in one place: while a command runs, its stdout and stderr go to
 * memory; afterwards stdout is one JSON value (the command's own, or {"ok":true,...} for a
 * command that only says what it did) and a failure is one JSON object on stderr with a
 * stable "error" code, so that scripts never parse prose. */
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *take(int fd)
{
    off_t len = lseek(fd, 0, SEEK_END);
    if (len < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return strdup("");
    char *buf = malloc((size_t)len + 1);
    size_t got = 0;
    while (buf && got < (size_t)len) {
        ssize_t r = read(fd, buf + got, (size_t)len - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (buf)
        buf[got] = 0;
    return buf;
}

/* Without trailing white space, and with each line's "signetctl: " prefix removed. */
static void tidy(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    static const char prefix[] = "signetctl: ";
    char *w = s;
    for (char *r = s; *r;) {
        if (!strncmp(r, prefix, sizeof prefix - 1))
            r += sizeof prefix - 1;
        while (*r && *r != '\n')
            *w++ = *r++;
        if (*r)
            *w++ = *r++;
    }
    *w = 0;
}

int ctl_capture_begin(ctl_capture *cap)
{
    fflush(stdout);
    fflush(stderr);
    cap->out = memfd_create("signetctl-out", MFD_CLOEXEC);
    cap->err = memfd_create("signetctl-err", MFD_CLOEXEC);
    cap->saved_out = dup(STDOUT_FILENO);
    cap->saved_err = dup(STDERR_FILENO);
    if (cap->out < 0 || cap->err < 0 || cap->saved_out < 0 || cap->saved_err < 0 ||
        dup2(cap->out, STDOUT_FILENO) < 0 || dup2(cap->err, STDERR_FILENO) < 0) {
        if (cap->saved_out >= 0)
            dup2(cap->saved_out, STDOUT_FILENO);
        if (cap->saved_err >= 0)
            dup2(cap->saved_err, STDERR_FILENO);
        for (int *fd = &cap->saved_out; fd <= &cap->err; fd++)
            if (*fd >= 0)
                close(*fd);
        cap->out = -1;
        return CTL_ERR;
    }
    return CTL_OK;
}

static void emit(FILE *f, json_t *o)
{
    if (o) {
        json_dumpf(o, f, JSON_COMPACT);
        fputc('\n', f);
        json_decref(o);
    }
}

int ctl_capture_end(ctl_capture *cap, int rc)
{
    if (cap->out < 0)
        return rc;
    fflush(stdout);
    fflush(stderr);
    char *out = take(cap->out), *err = take(cap->err);
    dup2(cap->saved_out, STDOUT_FILENO);
    dup2(cap->saved_err, STDERR_FILENO);
    close(cap->saved_out);
    close(cap->saved_err);
    close(cap->out);
    close(cap->err);
    cap->out = -1;
    if (!out || !err) {
        free(out);
        free(err);
        fputs("{\"error\":\"failed\",\"message\":\"out of memory\",\"exit\":1}\n", stderr);
        return CTL_ERR;
    }
    tidy(err);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = 0;
    json_t *value = n ? json_loads(out, JSON_DECODE_ANY, NULL) : NULL;
    if (value) {
        emit(stdout, value); /* the command's own JSON, compact */
    } else if (rc == CTL_OK) {
        /* a command without a JSON form of its own: what it said, as a message */
        tidy(out);
        emit(stdout, *out ? json_pack("{s:b, s:s}", "ok", 1, "message", out) : json_pack("{s:b}", "ok", 1));
    }
    if (rc != CTL_OK) {
        const char *code = ctl_error_get();
        if (!code)
            code = rc == CTL_USAGE ? "usage" : rc == CTL_TEMPFAIL ? "busy" : "failed";
        json_t *e = json_pack("{s:s, s:s, s:i}", "error", code, "message", *err ? err : code, "exit", rc);
        if (e && n && !value) {
            tidy(out);
            json_object_set_new(e, "output", json_string(out));
        }
        emit(stderr, e);
    } else if (*err) {
        emit(stderr, json_pack("{s:s}", "warning", err));
    }
    free(out);
    free(err);
    if (fflush(stdout) != 0)
        rc = CTL_ERR;
    return rc;
}
