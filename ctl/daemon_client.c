/* SPDX-License-Identifier: MIT */
/* Talking to the running signetd over its control socket: one JSON request line, one
 * JSON reply line, with a bounded wait. */
#include "ctl/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (4 << 20)

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_daemon_call(const ctl *c, json_t *req, int timeout_ms, json_t **reply_out, char *err,
                    size_t errcap)
{
    *reply_out = NULL;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(c->socket) >= sizeof sa.sun_path) {
        snprintf(err, errcap, "socket path too long");
        return CTL_ERR;
    }
    memcpy(sa.sun_path, c->socket, strlen(c->socket));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        snprintf(err, errcap, "cannot reach signetd at %s: %s", c->socket, strerror(e));
        if (fd >= 0)
            close(fd);
        if (e == EACCES || e == EPERM) { /* retrying will not help */
            ctl_error_set("denied");
            return CTL_ERR;
        }
        ctl_error_set("unreachable");
        return CTL_TEMPFAIL; /* not running yet, or restarting: try again later */
    }
    char *line = json_dumps(req, JSON_COMPACT);
    size_t len = line ? strlen(line) : 0;
    char *out = line ? malloc(len + 2) : NULL;
    char *buf = malloc(REPLY_MAX + 1);
    int rc = CTL_ERR;
    if (!out || !buf) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    memcpy(out, line, len);
    out[len++] = '\n';
    int64_t deadline = ms_now() + timeout_ms;
    int sent_failed = 0;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, out + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* the daemon may have refused and closed before reading: its reply says why */
            snprintf(err, errcap, "sending to signetd: %s", strerror(errno));
            sent_failed = 1;
            break;
        }
        off += (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        char *nl = got ? memchr(buf, '\n', got) : NULL;
        if (nl) {
            *nl = 0;
            break;
        }
        int64_t left = deadline - ms_now();
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || got == REPLY_MAX || poll(&p, 1, (int)left) == 0) {
            snprintf(err, errcap, "no reply from signetd within %d ms", timeout_ms);
            ctl_error_set("timeout");
            rc = CTL_TEMPFAIL;
            goto done;
        }
        ssize_t r = recv(fd, buf + got, REPLY_MAX - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (!sent_failed)
                snprintf(err, errcap, "signetd closed the connection without a reply%s%s",
                         r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
            goto done;
        }
        got += (size_t)r;
    }
    json_error_t jerr;
    *reply_out = json_loads(buf, 0, &jerr);
    if (!*reply_out || !json_is_object(*reply_out)) {
        json_decref(*reply_out);
        *reply_out = NULL;
        snprintf(err, errcap, "signetd sent a reply that is not a JSON object");
        goto done;
    }
    rc = CTL_OK;
done:
    free(line);
    free(out);
    free(buf);
    close(fd);
    return rc;
}

void ctl_daemon_tell_zones_changed(const ctl *c)
{
    /* best effort, quietly: a signetd that is not running, or listens elsewhere, finds the
     * change at its next poll of the keystore all the same */
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (!c->socket || strlen(c->socket) >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, c->socket, strlen(c->socket));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    static const char req[] = "{\"cmd\":\"zones-changed\"}\n";
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1)) {
        /* the reply: signetd has woken its followers when it comes (a second at most) */
        char buf[256];
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 1000) > 0 && recv(fd, buf, sizeof buf, 0) < 0) {
            /* nothing to do: the poll is the fallback */
        }
    }
    close(fd);
}
