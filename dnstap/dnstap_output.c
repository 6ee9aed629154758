/* SPDX-License-Identifier: MIT */
/* Frame Streams output: libfstrm's I/O thread and queues over a transport of our own.
 *
 * fstrm's own Unix and TCP writers would do the writing, but two things need the
 * transport in our hands. First, counting: the I/O thread silently discards frames while
 * it is not connected, or when a write fails; it calls each frame's free callback after
 * its write, or instead of one. So the callback asks the transport whether the last thing
 * it did was a successful write: `up` is set by a write that succeeded and cleared by
 * everything else (open, a read, close, a failed write), which tells a written frame from
 * a discarded one exactly. Second, bounds: fstrm's writers block for as long as the
 * reader does, so a stopped reader would hold the I/O thread, and with it a reload or
 * a stop, for ever; ours gives every connect, write and read a timeout and then gives
 * the connection up (the frames of that write are counted dropped; fstrm reconnects). */
#include "dnstap/dnstap_output.h"
#include "common/errors.h"
#include "common/log.h"

#include <fstrm.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CONTENT_TYPE "protobuf:dnstap.Dnstap"

/* The transport: touched only by the I/O thread (and by the free callbacks fstrm calls
 * from the thread that destroys it, after joining the I/O thread). */
typedef struct conn {
    sg_dnstap_endpoint ep;
    unsigned timeout_ms;
    int fd;
    int up;          /* the last operation was a successful write */
    int accepted;    /* the reader's ACCEPT was read on this connection */
    int connected;   /* the handshake is done (its START written): logged as connected */
    int failing;     /* a failure to connect was logged (log lines on changes only) */
    uint64_t logged; /* when (monotonic seconds): a failure goes on is told once a minute */
} conn;

struct sg_dnstap_output {
    struct fstrm_iothr *iothr;
    struct fstrm_iothr_queue **queues;
    unsigned nqueues;
    sg_counters *counters;
    conn l;
};

int sg_dnstap_endpoint_parse(const char *s, sg_dnstap_endpoint *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!s || !out) {
        *why = "no socket given";
        return SG_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if (!strncmp(s, "tcp://", 6)) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *h = s + 6, *colon;
        if (*h == '[') {
            const char *end = strchr(h, ']');
            if (!end || end[1] != ':') {
                *why = "expected tcp://[IPv6]:PORT";
                return SG_EINVAL;
            }
            colon = end + 1;
            h++;
            if ((size_t)(end - h) >= sizeof host) {
                *why = "not an IP address";
                return SG_EINVAL;
            }
            memcpy(host, h, (size_t)(end - h));
            host[end - h] = 0;
        } else {
            colon = strrchr(h, ':');
            if (!colon || (size_t)(colon - h) >= sizeof host) {
                *why = "expected tcp://ADDRESS:PORT";
                return SG_EINVAL;
            }
            memcpy(host, h, (size_t)(colon - h));
            host[colon - h] = 0;
        }
        char *end;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || errno || port == 0 || port > 65535) {
            *why = "expected a port number (1-65535)";
            return SG_EINVAL;
        }
        struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
        if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)port);
            out->len = sizeof *v4;
        } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            out->len = sizeof *v6;
        } else {
            *why = "not an IP address (names are not resolved)";
            return SG_EINVAL;
        }
        snprintf(out->text, sizeof out->text, "tcp:%s", s + 6);
        return 0;
    }
    const char *path = s;
    if (!strncmp(s, "unix://", 7))
        path = s + 7;
    else if (!strncmp(s, "unix:", 5))
        path = s + 5;
    else if (strstr(s, "://")) {
        *why = "expected unix:///PATH, /PATH or tcp://ADDRESS:PORT";
        return SG_EINVAL;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)&out->addr;
    if (path[0] != '/') {
        *why = "a Unix socket path must be absolute";
        return SG_EINVAL;
    }
    if (strlen(path) >= sizeof un->sun_path) {
        *why = "the Unix socket path is too long";
        return SG_EINVAL;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    out->len = (socklen_t)sizeof *un;
    snprintf(out->text, sizeof out->text, "unix:%s", path);
    return 0;
}

/* ---- the transport (fstrm_rdwr) ------------------------------------------------- */

static void conn_drop_fd(conn *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->up = 0;
    l->accepted = 0;
}

/* A failure to connect or to shake hands is worth a line now: the first of a run, then a
 * reminder at most once a minute. */
static int conn_tell_failure(conn *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec;
    if (l->failing && now - l->logged < 60)
        return 0;
    l->logged = now;
    return 1;
}

static void conn_lost(conn *l, const char *what, int err)
{
    const char *why = err == EAGAIN ? "timed out" : err ? strerror(err) : "closed by the reader";
    if (l->connected)
        sg_log(SG_LOG_WARN, "dnstap", NULL, "%s: connection lost (%s %s); frames are dropped until it is back",
               l->ep.text, what, why);
    else if (conn_tell_failure(l))
        sg_log(SG_LOG_WARN, "dnstap", NULL, "%s: no Frame Streams handshake (%s %s); frames are dropped until a reader answers",
               l->ep.text, what, why);
    l->failing = !l->connected;
    l->connected = 0;
    conn_drop_fd(l);
}

static fstrm_res conn_open(void *obj)
{
    conn *l = obj;
    /* fstrm's thread is not ours to start: it takes its name at its first connect */
    pthread_setname_np(pthread_self(), "sg-dnstap");
    conn_drop_fd(l); /* a handshake that failed left the previous one open */
    struct timeval tv = { .tv_sec = l->timeout_ms / 1000, .tv_usec = (l->timeout_ms % 1000) * 1000 };
    int fd = socket(l->ep.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) &&
        !setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) &&
        !connect(fd, (const struct sockaddr *)&l->ep.addr, l->ep.len)) {
        l->fd = fd;
        return fstrm_res_success;
    }
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (conn_tell_failure(l))
        sg_log(SG_LOG_WARN, "dnstap", NULL, "%s: cannot connect (%s); frames are dropped until a reader listens",
               l->ep.text, strerror(err));
    l->failing = 1;
    l->connected = 0;
    return fstrm_res_failure;
}

static fstrm_res conn_close(void *obj)
{
    conn_drop_fd(obj);
    return fstrm_res_success;
}

static fstrm_res conn_read(void *obj, void *data, size_t count)
{
    conn *l = obj;
    l->up = 0;
    uint8_t *p = data;
    while (count && l->fd >= 0) {
        ssize_t n = recv(l->fd, p, count, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            conn_lost(l, "read", n < 0 ? errno : 0);
            return n < 0 ? fstrm_res_failure : fstrm_res_stop;
        }
        p += n;
        count -= (size_t)n;
    }
    if (l->fd < 0)
        return fstrm_res_failure;
    l->accepted = 1;
    return fstrm_res_success;
}

static fstrm_res conn_write(void *obj, const struct iovec *iov, int iovcnt)
{
    conn *l = obj;
    l->up = 0;
    int i = 0;
    size_t off = 0; /* bytes of iov[i] already written */
    while (l->fd >= 0) {
        while (i < iovcnt && off == iov[i].iov_len) {
            i++;
            off = 0;
        }
        if (i == iovcnt) {
            l->up = 1;
            if (l->accepted && !l->connected) { /* READY, ACCEPT, now START */
                sg_log(SG_LOG_INFO, "dnstap", NULL, "%s: connected", l->ep.text);
                l->connected = 1;
                l->failing = 0;
            }
            return fstrm_res_success;
        }
        ssize_t n;
        if (off) {
            /* the rest of a partly written one first, since iov is not ours to change */
            n = send(l->fd, (const uint8_t *)iov[i].iov_base + off, iov[i].iov_len - off, MSG_NOSIGNAL);
        } else {
            struct msghdr mh = { .msg_iov = (struct iovec *)&iov[i],
                                 .msg_iovlen = (size_t)(iovcnt - i < IOV_MAX ? iovcnt - i : IOV_MAX) };
            n = sendmsg(l->fd, &mh, MSG_NOSIGNAL);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* EAGAIN: the reader has not taken anything for timeout_ms */
            conn_lost(l, "write", errno);
            break;
        }
        for (size_t left = (size_t)n; left && i < iovcnt;) {
            size_t rest = iov[i].iov_len - off;
            if (left >= rest) {
                left -= rest;
                i++;
                off = 0;
            } else {
                off += left;
                left = 0;
            }
        }
    }
    return fstrm_res_failure;
}

/* ---- the output ----------------------------------------------------------------- */

static void frame_done(void *buf, void *arg)
{
    sg_dnstap_output *o = arg;
    free(buf);
    sg_counters_add(o->counters, o->l.up ? SG_DNSTAP_SENT : SG_DNSTAP_DROPPED, 1);
}

void sg_dnstap_output_send(sg_dnstap_output *o, uint8_t *buf, size_t len)
{
    unsigned q = sg_metrics_tls_slot % o->nqueues;
    if (fstrm_iothr_submit(o->iothr, o->queues[q], buf, len, frame_done, o) != fstrm_res_success) {
        free(buf);
        sg_counters_add(o->counters, SG_DNSTAP_DROPPED, 1);
    }
}

int sg_dnstap_output_new(const sg_dnstap_output_cfg *cfg, sg_dnstap_output **out)
{
    if (!cfg || !out || !cfg->counters || !cfg->nqueues || cfg->queue < FSTRM_IOTHR_INPUT_QUEUE_SIZE_MIN ||
        cfg->queue > FSTRM_IOTHR_INPUT_QUEUE_SIZE_MAX || (cfg->queue & (cfg->queue - 1)))
        return SG_EINVAL;
    sg_dnstap_output *o = calloc(1, sizeof *o);
    if (!o)
        return SG_ENOMEM;
    o->counters = cfg->counters;
    o->nqueues = cfg->nqueues;
    o->l.ep = cfg->endpoint;
    o->l.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 1000;
    o->l.fd = -1;
    int rc = SG_ELIB;
    struct fstrm_rdwr *rdwr = NULL;
    struct fstrm_writer_options *wopt = NULL;
    struct fstrm_writer *w = NULL;
    struct fstrm_iothr_options *iopt = NULL;
    if (!(o->queues = calloc(o->nqueues, sizeof *o->queues))) {
        rc = SG_ENOMEM;
        goto fail;
    }
    if (!(rdwr = fstrm_rdwr_init(&o->l)))
        goto fail;
    fstrm_rdwr_set_open(rdwr, conn_open);
    fstrm_rdwr_set_close(rdwr, conn_close);
    fstrm_rdwr_set_read(rdwr, conn_read); /* with read: the bidirectional handshake */
    fstrm_rdwr_set_write(rdwr, conn_write);
    if (!(wopt = fstrm_writer_options_init()) ||
        fstrm_writer_options_add_content_type(wopt, CONTENT_TYPE, strlen(CONTENT_TYPE)) != fstrm_res_success)
        goto fail;
    if (!(w = fstrm_writer_init(wopt, &rdwr))) /* takes rdwr */
        goto fail;
    if (!(iopt = fstrm_iothr_options_init()) ||
        /* one queue per worker, but threads that are not workers share queue 0: MPSC
         * (a mutex per queue, taken by its worker and the I/O thread only) */
        fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_MPSC) != fstrm_res_success ||
        fstrm_iothr_options_set_num_input_queues(iopt, o->nqueues) != fstrm_res_success ||
        fstrm_iothr_options_set_input_queue_size(iopt, cfg->queue) != fstrm_res_success ||
        fstrm_iothr_options_set_reopen_interval(iopt, 1) != fstrm_res_success ||
        fstrm_iothr_options_set_flush_timeout(iopt, 1) != fstrm_res_success)
        goto fail;
    if (!(o->iothr = fstrm_iothr_init(iopt, &w))) /* takes w */
        goto fail;
    for (unsigned i = 0; i < o->nqueues; i++)
        if (!(o->queues[i] = fstrm_iothr_get_input_queue(o->iothr)))
            goto fail;
    fstrm_iothr_options_destroy(&iopt);
    fstrm_writer_options_destroy(&wopt);
    *out = o;
    return 0;
fail:
    sg_log(SG_LOG_ERR, "dnstap", NULL, "%s: cannot set up the Frame Streams writer", cfg->endpoint.text);
    if (iopt)
        fstrm_iothr_options_destroy(&iopt);
    if (w)
        fstrm_writer_destroy(&w);
    if (wopt)
        fstrm_writer_options_destroy(&wopt);
    if (rdwr)
        fstrm_rdwr_destroy(&rdwr);
    sg_dnstap_output_free(o);
    return rc;
}

void sg_dnstap_output_free(sg_dnstap_output *o)
{
    if (!o)
        return;
    if (o->iothr)
        fstrm_iothr_destroy(&o->iothr);
    conn_drop_fd(&o->l);
    free(o->queues);
    free(o);
}
