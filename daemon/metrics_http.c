/* SPDX-License-Identifier: MIT */
/* The /metrics endpoint. Scrapes are rare and small, so one thread per address handles
 * one connection at a time, with a bounded request (8 KiB) and deadlines for reading the
 * request and writing the reply, so a slow or silent client cannot hold it for long. */
#include "daemon/metrics_http.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 8192
#define READ_DEADLINE_MS 2000
#define WRITE_DEADLINE_MS 5000

struct sg_metrics_http {
    char addr[128];
    int refs;
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    struct sg_metrics_http *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_metrics_http *g_list;

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || strlen(addr) >= sizeof host)
        return SG_EINVAL;
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535)
        return SG_EINVAL;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!host[0] || !strcmp(host, "localhost") || inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        if (!host[0])
            v4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (!strcmp(host, "localhost"))
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *v4;
        return 0;
    }
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            *len = sizeof *v6;
            return 0;
        }
    }
    return SG_EINVAL;
}

int sg_metrics_http_check_addr(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return parse_addr(addr, &ss, &len);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for ev before the deadline; 0 when ready. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = ev };
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static void write_all(int fd, const char *p, size_t len, int64_t deadline)
{
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !wait_fd(fd, POLLOUT, deadline))
            continue;
        return;
    }
}

static void reply(int fd, const char *status, const char *ctype, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, ctype, len);
    int64_t deadline = mono_ms() + WRITE_DEADLINE_MS;
    write_all(fd, head, (size_t)n, deadline);
    write_all(fd, body, len, deadline);
}

static void simple(int fd, const char *status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%s\n", status);
    reply(fd, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static void serve_conn(int fd)
{
    char req[REQ_MAX + 1];
    size_t len = 0;
    int64_t deadline = mono_ms() + READ_DEADLINE_MS;
    while (!memmem(req, len, "\r\n\r\n", 4) && !memmem(req, len, "\n\n", 2)) {
        if (len == REQ_MAX) {
            simple(fd, "431 Request Header Fields Too Large");
            return;
        }
        if (wait_fd(fd, POLLIN, deadline))
            return; /* too slow: just close */
        ssize_t r = recv(fd, req + len, REQ_MAX - len, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (r <= 0)
            return;
        len += (size_t)r;
    }
    req[len] = 0;
    /* "METHOD SP TARGET SP HTTP/1.x" */
    char *sp1 = strchr(req, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *eol = strpbrk(req, "\r\n");
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7)) {
        simple(fd, "400 Bad Request");
        return;
    }
    *sp1 = *sp2 = 0;
    char *q = strchr(sp1 + 1, '?');
    if (q)
        *q = 0;
    if (strcmp(sp1 + 1, "/metrics")) {
        simple(fd, "404 Not Found");
        return;
    }
    if (strcmp(req, "GET")) {
        simple(fd, "405 Method Not Allowed");
        return;
    }
    sg_buf b;
    sg_buf_init(&b);
    if (sg_metrics_render(&b)) {
        sg_buf_deinit(&b);
        simple(fd, "500 Internal Server Error");
        return;
    }
    reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
    sg_buf_deinit(&b);
}

static void *http_main(void *arg)
{
    sg_metrics_http *h = arg;
    for (;;) {
        struct pollfd p[2] = { { .fd = h->fd, .events = POLLIN }, { .fd = h->stop_pipe[0], .events = POLLIN } };
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve_conn(c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

int sg_metrics_http_acquire(const char *addr, sg_metrics_http **out)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    if (parse_addr(addr, &ss, &slen))
        return SG_EINVAL;
    pthread_mutex_lock(&g_lock);
    for (sg_metrics_http *h = g_list; h; h = h->next)
        if (!strcmp(h->addr, addr)) {
            h->refs++;
            *out = h;
            pthread_mutex_unlock(&g_lock);
            return 0;
        }
    sg_metrics_http *h = calloc(1, sizeof *h);
    int rc = SG_EIO;
    if (!h) {
        rc = SG_ENOMEM;
        goto fail;
    }
    h->fd = -1;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    snprintf(h->addr, sizeof h->addr, "%s", addr);
    h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (h->fd >= 0)
        setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&ss, slen) || listen(h->fd, 16)) {
        sg_log(SG_LOG_ERR, "prometheus", NULL, "cannot listen on %s: %s", addr, strerror(errno));
        goto fail;
    }
    if (pipe2(h->stop_pipe, O_CLOEXEC) || pthread_create(&h->thread, NULL, http_main, h))
        goto fail;
    pthread_setname_np(h->thread, "sg-metrics");
    h->refs = 1;
    h->next = g_list;
    g_list = h;
    pthread_mutex_unlock(&g_lock);
    sg_log(SG_LOG_INFO, "prometheus", NULL, "metrics on http://%s/metrics", addr);
    *out = h;
    return 0;
fail:
    if (h) {
        if (h->fd >= 0)
            close(h->fd);
        if (h->stop_pipe[0] >= 0) {
            close(h->stop_pipe[0]);
            close(h->stop_pipe[1]);
        }
        free(h);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void sg_metrics_http_release(sg_metrics_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&g_lock);
    if (--h->refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    for (sg_metrics_http **p = &g_list; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    ssize_t w = write(h->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(h->thread, NULL);
    close(h->fd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    free(h);
}
