/* SPDX-License-Identifier: MIT */
/* Small HTTP endpoints (/metrics, /health, /ready). Requests are rare and small: one
 * thread per address serves up to 16 connections at once with poll(), each with a bounded
 * request (8 KiB) and deadlines for reading the request and writing the reply; when all
 * are taken the oldest reader goes (issue 15). */
#include "daemon/http_endpoint.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"

#include <arpa/inet.h>
#include <assert.h>
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
#define MAX_CLIENTS 16
#define MAX_ROUTES 4
#define PATH_MAX_LEN 32

typedef struct route {
    char path[PATH_MAX_LEN]; /* "": a free slot */
    sg_http_fn fn;
    int refs;
} route;

typedef struct listener {
    char addr[128];
    int refs;
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    route routes[MAX_ROUTES]; /* under g_lock: the thread copies what it calls */
    struct listener *next;
} listener;

struct sg_http_ref {
    listener *l;
    route *r;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static listener *g_list;

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

int sg_http_check_addr(const char *addr)
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

/* One scrape in progress: the request being read, then the reply being written, each
 * within its deadline. */
typedef struct client {
    int fd;                /* -1: a free slot */
    int64_t since;         /* accepted (ms), to drop the oldest reader when full */
    int64_t deadline;
    char req[REQ_MAX + 1];
    size_t len;
    char *out;             /* the whole reply, once the request is read */
    size_t out_len, out_off;
} client;

static char *response(const char *status, const char *ctype, const char *body, size_t len,
                      size_t *out_len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, ctype, len);
    char *out = malloc((size_t)n + len);
    if (!out)
        return NULL;
    memcpy(out, head, (size_t)n);
    memcpy(out + n, body, len);
    *out_len = (size_t)n + len;
    return out;
}

static char *simple(const char *status, size_t *out_len)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%s\n", status);
    return response(status, "text/plain; charset=utf-8", body, (size_t)n, out_len);
}

/* The reply to a whole request (NUL-terminated in req). */
static char *answer(listener *l, char *req, size_t *out_len)
{
    /* "METHOD SP TARGET SP HTTP/1.x" */
    char *sp1 = strchr(req, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *eol = strpbrk(req, "\r\n");
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7))
        return simple("400 Bad Request", out_len);
    *sp1 = *sp2 = 0;
    char *q = strchr(sp1 + 1, '?');
    if (q)
        *q = 0;
    sg_http_fn fn = NULL;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < MAX_ROUTES && !fn; i++)
        if (l->routes[i].path[0] && !strcmp(l->routes[i].path, sp1 + 1))
            fn = l->routes[i].fn;
    pthread_mutex_unlock(&g_lock);
    if (!fn)
        return simple("404 Not Found", out_len);
    if (strcmp(req, "GET"))
        return simple("405 Method Not Allowed", out_len);
    sg_buf b;
    sg_buf_init(&b);
    const char *ctype = "text/plain; charset=utf-8";
    const char *status = fn(l->addr, &b, &ctype);
    if (b.oom) {
        sg_buf_deinit(&b);
        return simple("500 Internal Server Error", out_len);
    }
    char *out = response(status, ctype, b.data ? b.data : "", b.len, out_len);
    sg_buf_deinit(&b);
    return out;
}

static void drop(client *c, int graceful)
{
    if (c->fd < 0)
        return;
    if (graceful)
        shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->fd = -1;
}

/* Read what is there; once the request is whole, make the reply. 0: keep the client. */
static int on_readable(listener *l, client *c, int64_t now)
{
    for (;;) {
        if (c->len == REQ_MAX) {
            c->out = simple("431 Request Header Fields Too Large", &c->out_len);
            break;
        }
        ssize_t r = recv(c->fd, c->req + c->len, REQ_MAX - c->len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
        c->req[c->len] = 0;
        if (memmem(c->req, c->len, "\r\n\r\n", 4) || memmem(c->req, c->len, "\n\n", 2)) {
            c->out = answer(l, c->req, &c->out_len);
            break;
        }
    }
    if (!c->out)
        return -1;
    c->out_off = 0;
    c->deadline = now + WRITE_DEADLINE_MS;
    return 0;
}

/* Write what the socket takes. 1: all written; 0: more to come; -1: gone. */
static int on_writable(client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return -1;
        c->out_off += (size_t)w;
    }
    return 1;
}

/* Several scrapes at once, each with its own deadlines: a slow or silent client holds one
 * slot for its deadline at most, and when every slot is taken the oldest reader goes, so
 * that a real scraper or probe is served at once (issue 15: one slow client held /metrics). */
static void *http_main(void *arg)
{
    listener *h = arg;
    client cl[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++) {
        cl[i].fd = -1;
        cl[i].out = NULL;
    }
    for (;;) {
        struct pollfd p[2 + MAX_CLIENTS];
        int idx[MAX_CLIENTS], np = 2;
        p[0] = (struct pollfd){ .fd = h->fd, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = h->stop_pipe[0], .events = POLLIN };
        int64_t now = mono_ms(), next = -1;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (cl[i].fd < 0)
                continue;
            idx[np - 2] = i;
            p[np++] = (struct pollfd){ .fd = cl[i].fd, .events = cl[i].out ? POLLOUT : POLLIN };
            if (next < 0 || cl[i].deadline < next)
                next = cl[i].deadline;
        }
        int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
        int r = poll(p, (nfds_t)np, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        now = mono_ms();
        for (int k = 2; k < np; k++) {
            client *c = &cl[idx[k - 2]];
            if (!p[k].revents)
                continue;
            if (!c->out && on_readable(h, c, now)) {
                drop(c, 0);
                continue;
            }
            if (c->out) {
                int w = on_writable(c);
                if (w)
                    drop(c, w > 0);
            }
        }
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (cl[i].fd >= 0 && now >= cl[i].deadline)
                drop(&cl[i], 0); /* too slow: just close */
        if (p[0].revents) {
            int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0)
                continue;
            int slot = -1, oldest = -1;
            for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                if (cl[i].fd < 0)
                    slot = i;
            for (int i = 0; slot < 0 && i < MAX_CLIENTS; i++)
                if (!cl[i].out && (oldest < 0 || cl[i].since < cl[oldest].since))
                    oldest = i;
            if (slot < 0 && oldest >= 0) {
                drop(&cl[oldest], 0);
                slot = oldest;
            }
            if (slot < 0) {
                close(fd); /* every slot is writing a reply: come back in a moment */
                continue;
            }
            client *c = &cl[slot];
            c->fd = fd;
            c->since = now;
            c->deadline = now + READ_DEADLINE_MS;
            c->len = 0;
            c->out = NULL;
        }
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        drop(&cl[i], 0);
    return NULL;
}

/* A route for path on l: the one there (same function), or a free slot. Under g_lock. */
static int route_take(listener *l, const char *path, sg_http_fn fn, route **out)
{
    route *free_slot = NULL;
    for (int i = 0; i < MAX_ROUTES; i++) {
        route *r = &l->routes[i];
        if (!r->path[0]) {
            if (!free_slot)
                free_slot = r;
            continue;
        }
        if (strcmp(r->path, path))
            continue;
        if (r->fn != fn)
            return SG_EEXIST;
        r->refs++;
        *out = r;
        return 0;
    }
    if (!free_slot)
        return SG_ESPACE;
    snprintf(free_slot->path, sizeof free_slot->path, "%s", path);
    free_slot->fn = fn;
    free_slot->refs = 1;
    *out = free_slot;
    return 0;
}

static listener *listener_open(const char *addr, const struct sockaddr_storage *ss, socklen_t slen,
                               const char *who)
{
    listener *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->fd = -1;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;
    snprintf(h->addr, sizeof h->addr, "%s", addr);
    h->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (h->fd >= 0)
        setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (h->fd < 0 || bind(h->fd, (const struct sockaddr *)ss, slen) || listen(h->fd, 16)) {
        sg_log(SG_LOG_ERR, who, NULL, "cannot listen on %s: %s", addr, strerror(errno));
        goto fail;
    }
    if (pipe2(h->stop_pipe, O_CLOEXEC) || pthread_create(&h->thread, NULL, http_main, h))
        goto fail;
    pthread_setname_np(h->thread, "sg-http");
    return h;
fail:
    if (h->fd >= 0)
        close(h->fd);
    if (h->stop_pipe[0] >= 0) {
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
    }
    free(h);
    return NULL;
}

int sg_http_acquire(const char *addr, const char *path, sg_http_fn fn, const char *who,
                    sg_http_ref **out)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    if (!addr || !path || !fn || !out || strlen(path) >= PATH_MAX_LEN || parse_addr(addr, &ss, &slen))
        return SG_EINVAL;
    sg_http_ref *ref = calloc(1, sizeof *ref);
    if (!ref)
        return SG_ENOMEM;
    pthread_mutex_lock(&g_lock);
    listener *h = g_list;
    while (h && strcmp(h->addr, addr))
        h = h->next;
    int fresh = !h;
    if (fresh && !(h = listener_open(addr, &ss, slen, who))) {
        pthread_mutex_unlock(&g_lock);
        free(ref);
        return SG_EIO;
    }
    int rc = route_take(h, path, fn, &ref->r);
    if (rc) {
        pthread_mutex_unlock(&g_lock);
        if (rc == SG_EEXIST)
            sg_log(SG_LOG_ERR, who, NULL, "%s%s is served by another plugin", addr, path);
        free(ref);
        assert(!fresh); /* a new listener has every route free */
        return rc;
    }
    ref->l = h;
    h->refs++;
    if (fresh) {
        h->next = g_list;
        g_list = h;
    }
    pthread_mutex_unlock(&g_lock);
    if (fresh || ref->r->refs == 1)
        sg_log(SG_LOG_INFO, who, NULL, "serving http://%s%s", addr, path);
    *out = ref;
    return 0;
}

void sg_http_release(sg_http_ref *ref)
{
    if (!ref)
        return;
    listener *h = ref->l;
    pthread_mutex_lock(&g_lock);
    if (--ref->r->refs == 0)
        memset(ref->r, 0, sizeof *ref->r);
    free(ref);
    if (--h->refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    for (listener **p = &g_list; *p; p = &(*p)->next)
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
