/* SPDX-License-Identifier: MIT */
/* Workers, sockets and the runtime swap.
 *
 * Every worker owns one UDP and one TCP listening socket per address (SO_REUSEPORT lets
 * the kernel spread packets and connections), its TCP connections and one epoll set, so
 * workers share nothing but the read-only runtime. The runtime pointer is swapped with
 * quiescent-state tracking: a worker marks itself busy (odd counter) while it handles a
 * batch and idle around epoll_wait; the old runtime is freed once each worker has been
 * seen idle or has moved on, which costs the query path two atomic stores per batch. */
#include "daemon/server.h"
#include "daemon/clock.h"
#include "daemon/tls.h"
#include "daemon/tcp_clients.h"
#include "common/arena.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDP_BATCH 32
#define UDP_IN_MAX 8192
#define TCP_MSG_MAX 65535
#define TCP_WBUF_HIGH (256 * 1024)

enum src_kind { SRC_UDP, SRC_TCP_LISTEN, SRC_TCP_CONN, SRC_WAKE };

typedef struct src {
    enum src_kind kind;
    int fd;
    int listen_idx;
} src;

typedef struct conn {
    src s;                 /* first: epoll data points here */
    struct conn *prev, *next;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    uint64_t last_active;  /* seconds, monotonic */
    uint64_t opened_ms;    /* accepted (monotonic ms): the first query must be whole within
                            * the idle timeout of it, however its bytes dribble in */
    uint64_t msg_since_ms; /* a message begun and not yet whole since then (0: none) */
    unsigned queries;      /* whole messages taken */
    int peer_closed;
    uint32_t events;
    sg_tls_conn *tls;      /* DNS over TLS (tls.c), else NULL */
    sg_stream stream;      /* a multi-message reply in progress (zone transfer) */
} conn;

typedef struct worker {
    struct sg_server *srv;
    int id;
    pthread_t thread;
    int epfd;
    src *udp;              /* per listen address */
    src *tcp;
    src wake;
    _Atomic uint64_t qs;   /* odd: inside a batch, using the runtime */
    conn *conns;
    sg_query q;
    sg_arena arena;        /* q's scratch */
    /* UDP batch */
    struct mmsghdr in_msgs[UDP_BATCH], out_msgs[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
    struct sockaddr_storage peers[UDP_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } ctrl[UDP_BATCH];
    uint8_t *in_bufs;      /* UDP_BATCH * UDP_IN_MAX */
    uint8_t *out_bufs;     /* UDP_BATCH * SG_UDP_PAYLOAD_MAX */
    uint8_t *tcp_out;      /* TCP_MSG_MAX */
} worker;

struct sg_server {
    sg_listen_addr *addrs;
    int naddrs;
    int *wildcard;          /* per address: bound to any, needs pktinfo */
    int nworkers;
    worker *workers;
    _Atomic(sg_runtime *) rt;
    atomic_int stop;
    atomic_uint tcp_conns;
    int started;
};


static int is_any(const sg_listen_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static int open_socket(const sg_listen_addr *a, int type, int wildcard)
{
    int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (a->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM && wildcard) {
        if (a->ss.ss_family == AF_INET)
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        else
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    if (type == SOCK_DGRAM) {
        int sz = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (type == SOCK_STREAM) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (listen(fd, 1024) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

int sg_server_new(const sg_runtime *rt, sg_server **srv_out)
{
    sg_server *s = calloc(1, sizeof *s);
    if (!s)
        return SG_ENOMEM;
    s->naddrs = rt->ntables;
    s->addrs = calloc(s->naddrs ? s->naddrs : 1, sizeof *s->addrs);
    s->wildcard = calloc(s->naddrs ? s->naddrs : 1, sizeof *s->wildcard);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s->nworkers = rt->opt.workers ? rt->opt.workers : (ncpu > 0 ? (int)ncpu : 1);
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->addrs || !s->wildcard || !s->workers) {
        sg_server_free(s);
        return SG_ENOMEM;
    }
    for (int i = 0; i < s->naddrs; i++) {
        s->addrs[i] = rt->tables[i].addr;
        s->wildcard[i] = is_any(&s->addrs[i]);
    }
    for (int w = 0; w < s->nworkers; w++) {
        worker *wk = &s->workers[w];
        wk->srv = s;
        wk->id = w;
        wk->epfd = -1;
        wk->wake.fd = -1;
        wk->udp = calloc(s->naddrs ? s->naddrs : 1, sizeof *wk->udp);
        wk->tcp = calloc(s->naddrs ? s->naddrs : 1, sizeof *wk->tcp);
        if (!wk->udp || !wk->tcp) {
            sg_server_free(s);
            return SG_ENOMEM;
        }
        for (int i = 0; i < s->naddrs; i++)
            wk->udp[i].fd = wk->tcp[i].fd = -1;
    }
    for (int w = 0; w < s->nworkers; w++) {
        worker *wk = &s->workers[w];
        for (int i = 0; i < s->naddrs; i++) {
            wk->udp[i] = (src){ SRC_UDP, -1, i };
            if (!s->addrs[i].tls) /* DNS over TLS: TCP only */
                wk->udp[i].fd = open_socket(&s->addrs[i], SOCK_DGRAM, s->wildcard[i]);
            if (wk->udp[i].fd < 0 && !s->addrs[i].tls) {
                sg_log(SG_LOG_ERR, "server", NULL, "cannot listen on %s (udp): %s",
                       s->addrs[i].text, strerror(errno));
                sg_server_free(s);
                return SG_EIO;
            }
            wk->tcp[i] = (src){ SRC_TCP_LISTEN, open_socket(&s->addrs[i], SOCK_STREAM, 0), i };
            if (wk->tcp[i].fd < 0) {
                sg_log(SG_LOG_ERR, "server", NULL, "cannot listen on %s (tcp): %s",
                       s->addrs[i].text, strerror(errno));
                sg_server_free(s);
                return SG_EIO;
            }
        }
    }
    *srv_out = s;
    return 0;
}

const sg_listen_addr *sg_server_addrs(const sg_server *srv, int *n_out)
{
    *n_out = srv->naddrs;
    return srv->addrs;
}

int sg_server_nworkers(const sg_server *srv) { return srv->nworkers; }

unsigned sg_server_tcp_connections(const sg_server *srv)
{
    return atomic_load(&((sg_server *)srv)->tcp_conns);
}

/* ---- quiescence ------------------------------------------------------------------ */

static inline sg_runtime *enter(worker *w)
{
    atomic_fetch_add(&w->qs, 1); /* now odd */
    return atomic_load(&w->srv->rt);
}

static inline void leave(worker *w) { atomic_fetch_add(&w->qs, 1); /* now even */ }

sg_runtime *sg_server_swap(sg_server *srv, sg_runtime *rt)
{
    sg_runtime *old = atomic_exchange(&srv->rt, rt);
    if (!srv->started)
        return old;
    for (int i = 0; i < srv->nworkers; i++) {
        worker *w = &srv->workers[i];
        uint64_t seen = atomic_load(&w->qs);
        if (!(seen & 1))
            continue;
        while (atomic_load(&w->qs) == seen) {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
    }
    return old;
}

/* ---- UDP --------------------------------------------------------------------------- */

static void udp_drain(worker *w, const src *s)
{
    const sg_server *srv = w->srv;
    for (int round = 0; round < 64; round++) {
        for (int i = 0; i < UDP_BATCH; i++) {
            w->in_iov[i].iov_base = w->in_bufs + (size_t)i * UDP_IN_MAX;
            w->in_iov[i].iov_len = UDP_IN_MAX;
            struct msghdr *m = &w->in_msgs[i].msg_hdr;
            m->msg_name = &w->peers[i];
            m->msg_namelen = sizeof w->peers[i];
            m->msg_iov = &w->in_iov[i];
            m->msg_iovlen = 1;
            m->msg_control = srv->wildcard[s->listen_idx] ? w->ctrl[i].buf : NULL;
            m->msg_controllen = srv->wildcard[s->listen_idx] ? sizeof w->ctrl[i].buf : 0;
            m->msg_flags = 0;
        }
        int n = recvmmsg(s->fd, w->in_msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        sg_runtime *rt = enter(w);
        uint64_t now = sg_now_ns();
        int k = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *m = &w->in_msgs[i].msg_hdr;
            if (m->msg_flags & MSG_TRUNC)
                continue; /* larger than any sane query */
            sg_query *q = &w->q;
            q->transport = SG_TRANSPORT_UDP;
            q->client = (const struct sockaddr *)&w->peers[i];
            q->client_len = m->msg_namelen;
            q->out = w->out_bufs + (size_t)k * SG_UDP_PAYLOAD_MAX;
            q->out_cap = SG_UDP_PAYLOAD_MAX;
            q->start_ns = now;
            size_t len = sg_server_answer(rt, s->listen_idx, q, w->in_iov[i].iov_base,
                                          w->in_msgs[i].msg_len);
            if (!len)
                continue;
            struct msghdr *o = &w->out_msgs[k].msg_hdr;
            w->out_iov[k].iov_base = q->out;
            w->out_iov[k].iov_len = len;
            o->msg_name = &w->peers[i];
            o->msg_namelen = m->msg_namelen;
            o->msg_iov = &w->out_iov[k];
            o->msg_iovlen = 1;
            o->msg_flags = 0;
            o->msg_control = NULL;
            o->msg_controllen = 0;
            if (m->msg_control && m->msg_controllen) {
                /* answer from the address the query was sent to */
                struct cmsghdr *c = CMSG_FIRSTHDR(m);
                for (; c; c = CMSG_NXTHDR(m, c)) {
                    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                        struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
                        pi->ipi_spec_dst = pi->ipi_addr;
                        pi->ipi_ifindex = 0;
                        c->cmsg_len = CMSG_LEN(sizeof *pi);
                        o->msg_control = c;
                        o->msg_controllen = CMSG_SPACE(sizeof *pi);
                        break;
                    }
                    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                        c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
                        o->msg_control = c;
                        o->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
                        break;
                    }
                }
            }
            k++;
        }
        leave(w);
        int sent = 0;
        while (sent < k) {
            int r = sendmmsg(s->fd, w->out_msgs + sent, k - sent, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                sent++; /* skip the message the kernel refused */
                continue;
            }
            sent += r;
        }
        if (n < UDP_BATCH)
            return;
    }
}

/* ---- TCP --------------------------------------------------------------------------- */

static uint64_t now_sec(void) { return sg_now_ns() / 1000000000ull; }
static uint64_t now_ms(void) { return sg_now_ns() / 1000000ull; }

static void conn_close(worker *w, conn *c)
{
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->s.fd, NULL);
    close(c->s.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sg_tls_conn_free(c->tls);
    if (c->stream.next)
        c->stream.done(c->stream.ctx);
    free(c->rbuf);
    free(c->wbuf);
    sg_tcp_client_release((struct sockaddr *)&c->peer);
    free(c);
    atomic_fetch_sub(&w->srv->tcp_conns, 1);
}

static void conn_events(worker *w, conn *c)
{
    uint32_t ev = 0;
    if (!c->peer_closed && c->wlen - c->woff < TCP_WBUF_HIGH && !c->stream.next)
        ev |= EPOLLIN; /* a stream answers its query first; pipelined ones wait */
    if (c->wlen > c->woff || sg_tls_wants_write(c->tls) || c->stream.next)
        ev |= EPOLLOUT;
    if (ev != c->events) {
        struct epoll_event e = { .events = ev, .data.ptr = &c->s };
        epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->s.fd, &e);
        c->events = ev;
    }
}

static ssize_t conn_recv(conn *c, void *buf, size_t n)
{
    return c->tls ? sg_tls_read(c->tls, buf, n) : read(c->s.fd, buf, n);
}

static ssize_t conn_send(conn *c, const void *buf, size_t n)
{
    return c->tls ? sg_tls_write(c->tls, buf, n) : write(c->s.fd, buf, n);
}

/* Returns -1 when the connection must be closed. */
static int conn_flush(conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t r = conn_send(c, c->wbuf + c->woff, c->wlen - c->woff);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->woff += (size_t)r;
    }
    c->woff = c->wlen = 0;
    return 0;
}

static int conn_append(conn *c, const uint8_t *msg, size_t len)
{
    if (c->wlen + len + 2 > c->wcap) {
        if (c->woff) {
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff;
            c->woff = 0;
        }
        if (c->wlen + len + 2 > c->wcap) {
            size_t nc = c->wcap ? c->wcap : 4096;
            while (nc < c->wlen + len + 2)
                nc *= 2;
            uint8_t *nb = realloc(c->wbuf, nc);
            if (!nb)
                return -1;
            c->wbuf = nb;
            c->wcap = nc;
        }
    }
    c->wbuf[c->wlen] = (uint8_t)(len >> 8);
    c->wbuf[c->wlen + 1] = (uint8_t)len;
    memcpy(c->wbuf + c->wlen + 2, msg, len);
    c->wlen += len + 2;
    return 0;
}

/* Fill the write buffer from a stream up to the high-water mark. -1: close. */
static int conn_pump(worker *w, conn *c)
{
    while (c->stream.next && c->wlen - c->woff < TCP_WBUF_HIGH) {
        long n = c->stream.next(c->stream.ctx, w->tcp_out, TCP_MSG_MAX);
        if (n > 0 && conn_append(c, w->tcp_out, (size_t)n) == 0)
            continue;
        c->stream.done(c->stream.ctx);
        c->stream = (sg_stream){ 0 };
        if (n != 0)
            return -1;
    }
    return 0;
}

static void conn_readable(worker *w, conn *c)
{
again:
    for (;;) {
        if (c->rlen == c->rcap) {
            size_t need = c->rcap * 2;
            if (c->rlen >= 2) {
                size_t m = 2 + ((size_t)c->rbuf[0] << 8 | c->rbuf[1]);
                if (m > need)
                    need = m;
            }
            if (need > 2 + TCP_MSG_MAX)
                need = 2 + TCP_MSG_MAX;
            if (need <= c->rcap)
                break; /* full of complete messages; handle them first */
            uint8_t *nb = realloc(c->rbuf, need);
            if (!nb) {
                conn_close(w, c);
                return;
            }
            c->rbuf = nb;
            c->rcap = need;
        }
        ssize_t r = conn_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_close(w, c);
            return;
        }
        if (r == 0) {
            c->peer_closed = 1;
            break;
        }
        c->rlen += (size_t)r;
        c->last_active = now_sec();
        if (c->rlen < c->rcap && !c->tls) /* TLS: read until it would block */
            break;
    }
    /* every complete message, in order (pipelining) */
    size_t off = 0;
    sg_runtime *rt = enter(w);
    while (!c->stream.next && c->rlen - off >= 2) {
        size_t m = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
        if (m < 12) {
            /* not even a header: no DNS message, and empty ones would count as queries
             * that keep a slot busy */
            leave(w);
            conn_close(w, c);
            return;
        }
        if (c->rlen - off < 2 + m)
            break;
        sg_query *q = &w->q;
        q->transport = c->tls ? SG_TRANSPORT_TLS : SG_TRANSPORT_TCP;
        q->client = (const struct sockaddr *)&c->peer;
        q->client_len = c->peer_len;
        q->out = w->tcp_out;
        q->out_cap = TCP_MSG_MAX;
        q->start_ns = sg_now_ns();
        size_t len = sg_server_answer(rt, c->s.listen_idx, q, c->rbuf + off + 2, m);
        off += 2 + m;
        c->queries++;
        if (q->stream.next) {
            c->stream = q->stream;
            q->stream = (sg_stream){ 0 };
        }
        if (len && conn_append(c, w->tcp_out, len)) {
            leave(w);
            conn_close(w, c);
            return;
        }
    }
    leave(w);
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    /* a message that has begun must be whole within tcp-io-timeout: a byte now and then
     * does not hold a slot (the idle timer alone restarted at every byte) */
    if (!c->rlen)
        c->msg_since_ms = 0;
    else if (off || !c->msg_since_ms)
        c->msg_since_ms = now_ms();
    if (conn_pump(w, c) || conn_flush(c) ||
        (c->peer_closed && c->wlen == c->woff && !c->stream.next)) {
        conn_close(w, c);
        return;
    }
    /* records already decrypted wake no epoll: take them now, once the output drained */
    if (c->tls && sg_tls_pending(c->tls) && !c->peer_closed && c->wlen == c->woff)
        goto again;
    conn_events(w, c);
}

static void tcp_accept_in(worker *w, const src *s, sg_runtime *rt)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(s->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        unsigned n = atomic_fetch_add(&w->srv->tcp_conns, 1);
        if (n >= rt->opt.tcp_max_connections ||
            sg_tcp_client_acquire((struct sockaddr *)&peer, rt->opt.tcp_max_per_client)) {
            atomic_fetch_sub(&w->srv->tcp_conns, 1);
            close(fd); /* over a cap: shed at once rather than queue */
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c || !(c->rbuf = malloc(4096))) {
            free(c);
            close(fd);
            atomic_fetch_sub(&w->srv->tcp_conns, 1);
            sg_tcp_client_release((struct sockaddr *)&peer);
            continue;
        }
        c->rcap = 4096;
        if (w->srv->addrs[s->listen_idx].tls) {
            const sg_route_table *t = s->listen_idx < rt->nby_socket ? rt->by_socket[s->listen_idx] : NULL;
            if (!t || !t->tls || !(c->tls = sg_tls_conn_new(t->tls, fd))) {
                free(c->rbuf);
                free(c);
                close(fd);
                atomic_fetch_sub(&w->srv->tcp_conns, 1);
                sg_tcp_client_release((struct sockaddr *)&peer);
                continue;
            }
        }
        c->s = (src){ SRC_TCP_CONN, fd, s->listen_idx };
        c->peer = peer;
        c->peer_len = plen;
        c->last_active = now_sec();
        c->opened_ms = now_ms();
        c->events = EPOLLIN;
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = &c->s };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            sg_tls_conn_free(c->tls);
            free(c->rbuf);
            free(c);
            close(fd);
            atomic_fetch_sub(&w->srv->tcp_conns, 1);
            sg_tcp_client_release((struct sockaddr *)&peer);
            continue;
        }
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
    }
}

/* Inside a quiescent section: a TLS connection takes the certificate from the runtime. */
static void tcp_accept(worker *w, const src *s)
{
    tcp_accept_in(w, s, enter(w));
    leave(w);
}

static void tcp_sweep(worker *w)
{
    sg_runtime *rt = atomic_load(&w->srv->rt);
    uint64_t now = now_sec(), ms = now_ms(), io = rt->opt.tcp_io_timeout;
    uint64_t idle_ms = (uint64_t)rt->opt.tcp_idle_timeout * 1000;
    for (conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->last_active >= rt->opt.tcp_idle_timeout ||
            (c->msg_since_ms && ms - c->msg_since_ms >= io) ||   /* a message dribbled in */
            /* no first query yet: a TLS handshake dribbled in byte by byte restarts the
             * idle timer and begins no message; this bound it cannot move */
            (!c->queries && !c->stream.next && ms - c->opened_ms >= idle_ms))
            conn_close(w, c);
    }
}

/* Stopping: replies already made still go out, for at most a second in all. */
static void stop_flush(worker *w)
{
    uint64_t deadline = sg_now_ns() + 1000000000ull;
    for (conn *c = w->conns; c; c = c->next) {
        while (c->wlen > c->woff && sg_now_ns() < deadline) {
            if (conn_flush(c))
                break;
            if (c->wlen > c->woff) {
                struct pollfd p = { c->s.fd, POLLOUT, 0 };
                poll(&p, 1, 10);
            }
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sg_metrics_thread_slot(w->id);
    struct epoll_event evs[64];
    uint64_t last_sweep = now_sec();
    while (!atomic_load(&w->srv->stop)) {
        int n = epoll_wait(w->epfd, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            src *s = evs[i].data.ptr;
            switch (s->kind) {
            case SRC_UDP:
                udp_drain(w, s);
                break;
            case SRC_TCP_LISTEN:
                tcp_accept(w, s);
                break;
            case SRC_TCP_CONN: {
                conn *c = (conn *)s;
                if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                    conn_close(w, c);
                    break;
                }
                int stream_ended = 0;
                if (evs[i].events & EPOLLOUT) {
                    c->last_active = now_sec();
                    int streaming = c->stream.next != NULL;
                    if (conn_flush(c) || conn_pump(w, c) || conn_flush(c) ||
                        (c->peer_closed && c->wlen == c->woff && !c->stream.next)) {
                        conn_close(w, c);
                        break;
                    }
                    stream_ended = streaming && !c->stream.next; /* what waited behind it */
                }
                /* TLS may read while it writes */
                if (evs[i].events & EPOLLIN || c->tls || stream_ended)
                    conn_readable(w, c);
                else
                    conn_events(w, c);
                break;
            }
            case SRC_WAKE:
                break;
            }
        }
        uint64_t now = now_sec();
        if (now != last_sweep) {
            tcp_sweep(w);
            last_sweep = now;
        }
    }
    stop_flush(w);
    while (w->conns)
        conn_close(w, w->conns);
    return NULL;
}

int sg_server_start(sg_server *srv, sg_runtime *rt)
{
    atomic_store(&srv->rt, rt);
    for (int i = 0; i < srv->nworkers; i++) {
        worker *w = &srv->workers[i];
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wake = (src){ SRC_WAKE, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), -1 };
        w->in_bufs = malloc((size_t)UDP_BATCH * UDP_IN_MAX);
        w->out_bufs = malloc((size_t)UDP_BATCH * SG_UDP_PAYLOAD_MAX);
        w->tcp_out = malloc(TCP_MSG_MAX);
        sg_arena_init(&w->arena, 64 * 1024);
        w->q.arena = &w->arena;
        if (w->epfd < 0 || w->wake.fd < 0 || !w->in_bufs || !w->out_bufs || !w->tcp_out)
            return SG_ENOMEM;
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = &w->wake };
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake.fd, &e);
        for (int a = 0; a < srv->naddrs; a++) {
            e.data.ptr = &w->udp[a];
            if (w->udp[a].fd >= 0)
                epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->udp[a].fd, &e);
            e.data.ptr = &w->tcp[a];
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tcp[a].fd, &e);
        }
    }
    for (int i = 0; i < srv->nworkers; i++) {
        char name[16];
        snprintf(name, sizeof name, "sg-worker/%d", i % 10000);
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) == 0)
            pthread_setname_np(srv->workers[i].thread, name);
        else {
            sg_log(SG_LOG_ERR, "server", NULL, "cannot start worker thread %d", i);
            atomic_store(&srv->stop, 1);
            for (int k = 0; k < i; k++) {
                uint64_t one = 1;
                ssize_t wr = write(srv->workers[k].wake.fd, &one, sizeof one);
                (void)wr;
                pthread_join(srv->workers[k].thread, NULL);
            }
            return SG_EIO;
        }
    }
    srv->started = 1;
    return 0;
}

void sg_server_free(sg_server *srv)
{
    if (!srv)
        return;
    if (srv->started) {
        atomic_store(&srv->stop, 1);
        for (int i = 0; i < srv->nworkers; i++) {
            uint64_t one = 1;
            ssize_t wr = write(srv->workers[i].wake.fd, &one, sizeof one);
            (void)wr;
        }
        for (int i = 0; i < srv->nworkers; i++)
            pthread_join(srv->workers[i].thread, NULL);
    }
    for (int i = 0; srv->workers && i < srv->nworkers; i++) {
        worker *w = &srv->workers[i];
        for (int a = 0; a < srv->naddrs; a++) {
            if (w->udp && w->udp[a].fd >= 0)
                close(w->udp[a].fd);
            if (w->tcp && w->tcp[a].fd >= 0)
                close(w->tcp[a].fd);
        }
        if (w->epfd >= 0)
            close(w->epfd);
        if (w->wake.fd >= 0)
            close(w->wake.fd);
        free(w->udp);
        free(w->tcp);
        free(w->in_bufs);
        free(w->out_bufs);
        free(w->tcp_out);
        sg_arena_deinit(&w->arena);
    }
    free(srv->workers);
    free(srv->addrs);
    free(srv->wildcard);
    free(srv);
}
