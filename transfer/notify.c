/* SPDX-License-Identifier: MIT */
/* NOTIFY (RFC 1996) to secondaries: UDP, retries with backoff, TSIG-signed when keyed;
 * and the SOA probes that follow what they serve (sg_xfr_probe), over the same sockets. */
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRIES 5          /* each waits 1, 2, 4, 8, 16 s for the acknowledgement */
#define IN_FLIGHT 1024   /* jobs sent and not yet acknowledged, at most; others queue */
/* ... of which one target holds at most this many: a target that never answers holds its
 * jobs for 31 s each, and must not hold up the NOTIFYs of the others (they are sent from
 * its own queue, round-robin with every other target's) */
#define PER_PEER 256

struct target;

/* One NOTIFY to one target. Every job is sent by the one sender thread (`sg-notify`) over
 * its nonblocking socket of the target's family; replies are matched by (ID, peer). */
typedef struct job {
    uint8_t apex[SG_NAME_MAX];
    char zone[1024];
    uint32_t serial;
    uint8_t soa[512];      /* the SOA's RDATA, sent in the answer section (RFC 1996 3.7) */
    uint16_t soa_len;
    uint32_t soa_ttl;
    struct sockaddr_storage to;
    sg_tsig_key *key;
    sg_tsig_ctx tc;        /* of the try in flight (a reply is verified against its MAC) */
    int tries;             /* sent so far; 0: waiting for its turn */
    uint16_t id;           /* of the try in flight */
    int64_t deadline;      /* ms (CLOCK_MONOTONIC): the try in flight is given up */
    char why[128];         /* the last reason it was not acknowledged */
    int stop;              /* the zone goes: give up now, say nothing */
    struct target *peer;   /* its target's queue */
    /* a probe (sg_xfr_probe): one SOA query, its result handed to done */
    int probe, probe_ms, probe_i;
    void (*done)(void *arg, int i, int rc, uint32_t serial);
    void *done_arg;
    struct job *next;
} job;

/* One target: the jobs waiting for their first try (a FIFO) and how many are in flight.
 * There while it has either. */
typedef struct target {
    struct sockaddr_storage to;
    job *wait, **tail;
    int nfly;
    struct target *next;
} target;

/* Every NOTIFY not yet finished, so that none outlives its zone (or the process): those
 * waiting for their first try (a FIFO per target: ten thousand zones' first versions make
 * ten thousand jobs at once) and those in flight (at most IN_FLIGHT: the sender's loop
 * walks only these). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static target *g_peers;
static int g_nwait;
static job *g_fly;
static int g_nfly;
static int g_running;      /* the sender thread is there (it leaves when no job is) */
static int g_wake[2] = { -1, -1 }; /* a pipe: new jobs or a stop for the sender */

void sg_xfr_addr_text(const struct sockaddr_storage *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *v = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &v->sin_addr, ip, sizeof ip);
        port = ntohs(v->sin_port);
        snprintf(buf, cap, "%s:%u", ip, port);
    } else {
        const struct sockaddr_in6 *v = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &v->sin6_addr, ip, sizeof ip);
        port = ntohs(v->sin6_port);
        snprintf(buf, cap, "[%s]:%u", ip, port);
    }
}

static size_t make_notify(const job *j, uint16_t id, uint8_t *m)
{
    size_t nl = sg_name_len(j->apex);
    memset(m, 0, 12);
    m[0] = id >> 8;
    m[1] = id & 0xff;
    m[2] = (4 << 3) | 0x04; /* opcode NOTIFY, AA */
    m[5] = 1;
    memcpy(m + 12, j->apex, nl);
    size_t o = 12 + nl;
    m[o++] = 0;
    m[o++] = SG_TYPE_SOA;
    m[o++] = 0;
    m[o++] = SG_CLASS_IN;
    if (j->soa_len) {
        m[7] = 1;
        m[o++] = 0xc0;
        m[o++] = 12;
        m[o++] = 0;
        m[o++] = SG_TYPE_SOA;
        m[o++] = 0;
        m[o++] = SG_CLASS_IN;
        for (int i = 3; i >= 0; i--)
            m[o++] = (uint8_t)(j->soa_ttl >> (8 * i));
        m[o++] = (uint8_t)(j->soa_len >> 8);
        m[o++] = (uint8_t)j->soa_len;
        memcpy(m + o, j->soa, j->soa_len);
        o += j->soa_len;
    }
    return o;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static void job_free(job *j)
{
    sg_tsig_ctx_deinit(&j->tc);
    sg_tsig_key_free(j->key);
    free(j);
}

/* Send the next try of j (lock held: only the sender thread changes a job's tries). 0 sent
 * or failed to send (retried at the deadline), -1 when it cannot be signed. */
static int send_try(job *j, const int fds[2], int64_t now)
{
    uint16_t id;
    RAND_bytes((uint8_t *)&id, sizeof id);
    uint8_t m[1024];
    size_t len = j->probe ? sg_xfr_soa_query(j->apex, id, m) : make_notify(j, id, m);
    sg_tsig_ctx_deinit(&j->tc);
    sg_tsig_ctx_init(&j->tc, j->key);
    if (j->key && sg_tsig_sign(&j->tc, m, &len, sizeof m, (uint64_t)time(NULL))) {
        snprintf(j->why, sizeof j->why, "cannot sign");
        return -1;
    }
    j->id = id;
    j->deadline = now + (j->probe ? j->probe_ms : 1000 << j->tries);
    j->tries++;
    int fd = fds[j->to.ss_family == AF_INET6];
    socklen_t alen = j->to.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                : sizeof(struct sockaddr_in6);
    if (fd < 0)
        snprintf(j->why, sizeof j->why, "no socket for the address family");
    else if (sendto(fd, m, len, 0, (const struct sockaddr *)&j->to, alen) < 0)
        snprintf(j->why, sizeof j->why, "%s", strerror(errno));
    return 0;
}

/* A reply r from peer: the job it acknowledges is done (1), or failed (-1) with an error
 * rcode; a reply that fails TSIG is noted and ignored (a forged one must not end the job).
 * Lock held. */
static void match_reply(const uint8_t *r, size_t n, const struct sockaddr_storage *peer)
{
    if (n < 12 || !(r[2] & 0x80))
        return;
    int opcode = (r[2] >> 3) & 0xf;
    uint16_t id = (uint16_t)((r[0] << 8) | r[1]);
    for (job **jp = &g_fly; *jp; jp = &(*jp)->next) {
        job *j = *jp;
        if (!j->tries || j->stop || j->id != id || !same_peer(&j->to, peer) ||
            opcode != (j->probe ? 0 : 4))
            continue; /* not ours: a late reply to an earlier try, or noise */
        if (j->probe) {
            uint32_t serial = 0;
            int rc = sg_xfr_soa_answer(r, n, &serial);
            j->done(j->done_arg, j->probe_i, rc, serial);
            j->stop = 1;
            return;
        }
        if (j->key) {
            uint16_t err = 0;
            int rc = sg_tsig_verify_response(&j->tc, r, n, (uint64_t)time(NULL), &err);
            if (rc || err) {
                snprintf(j->why, sizeof j->why, "reply failed TSIG (%s)",
                         rc ? sg_strerror(rc) : err == SG_TSIG_BADKEY ? "BADKEY"
                                              : err == SG_TSIG_BADSIG ? "BADSIG" : "BADTIME");
                return;
            }
        }
        char to[80];
        sg_xfr_addr_text(&j->to, to, sizeof to);
        int rcode = r[3] & 0xf;
        if (rcode)
            sg_log(SG_LOG_WARN, "notify", j->zone, "serial %u: %s not acknowledged: rcode %d",
                   j->serial, to, rcode);
        else
            sg_log(SG_LOG_INFO, "notify", j->zone, "serial %u: %s acknowledged", j->serial, to);
        j->stop = 1; /* done: dropped below */
        return;
    }
}

/* The sender: sends first tries (at most IN_FLIGHT in flight), retries at each deadline,
 * reads acknowledgements from both sockets, and leaves when no job is left. */
static void *sender(void *arg)
{
    (void)arg;
    int fds[2] = { socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                   socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) };
    pthread_mutex_lock(&g_lock);
    for (;;) {
        int64_t now = now_ms(), next = now + 1000;
        /* first tries, each target's oldest first, one target after another, while
         * there is room in flight (and in the target's share) */
        for (int moved = 1; moved && g_nwait && g_nfly < IN_FLIGHT;) {
            moved = 0;
            for (target *pr = g_peers; pr && g_nfly < IN_FLIGHT; pr = pr->next) {
                if (!pr->wait || pr->nfly >= PER_PEER)
                    continue;
                job *j = pr->wait;
                if (!(pr->wait = j->next))
                    pr->tail = &pr->wait;
                g_nwait--;
                moved = 1;
                if (j->stop || send_try(j, fds, now)) {
                    if (j->probe && !j->stop)
                        j->done(j->done_arg, j->probe_i, SG_EIO, 0);
                    job_free(j);
                    continue;
                }
                j->next = g_fly;
                g_fly = j;
                g_nfly++;
                pr->nfly++;
            }
        }
        for (job **jp = &g_fly; *jp;) {
            job *j = *jp;
            if (!j->stop && now >= j->deadline) {
                if (j->probe) {
                    j->done(j->done_arg, j->probe_i, SG_ETIMEOUT, 0);
                    j->stop = 1;
                } else if (j->tries == TRIES) {
                    char to[80];
                    sg_xfr_addr_text(&j->to, to, sizeof to);
                    sg_log(SG_LOG_WARN, "notify", j->zone, "serial %u: %s not acknowledged: %s",
                           j->serial, to, j->why);
                    j->stop = 1;
                } else if (send_try(j, fds, now)) {
                    j->stop = 1;
                }
            }
            if (j->stop) {
                *jp = j->next;
                g_nfly--;
                j->peer->nfly--;
                job_free(j);
                continue;
            }
            if (j->deadline < next)
                next = j->deadline;
            jp = &j->next;
        }
        int room = 0;
        for (target **pp = &g_peers; *pp;) {
            target *pr = *pp;
            if (!pr->wait && !pr->nfly) {
                *pp = pr->next; /* nothing for it: made again by its next job */
                free(pr);
                continue;
            }
            room |= pr->wait && pr->nfly < PER_PEER;
            pp = &pr->next;
        }
        if (room && g_nfly < IN_FLIGHT)
            next = now; /* room made above: the next first tries at once */
        if (!g_nwait && !g_fly) {
            g_running = 0;
            break;
        }
        pthread_mutex_unlock(&g_lock);
        struct pollfd p[3] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN },
                               { .fd = g_wake[0], .events = POLLIN } };
        int ms = (int)(next - now);
        if (poll(p, 3, ms < 0 ? 0 : ms > 1000 ? 1000 : ms) > 0 && (p[2].revents & POLLIN)) {
            char b[64];
            while (read(g_wake[0], b, sizeof b) > 0)
                ;
        }
        pthread_mutex_lock(&g_lock);
        for (int f = 0; f < 2; f++) {
            if (fds[f] < 0 || !(p[f].revents & POLLIN))
                continue;
            uint8_t r[4096];
            struct sockaddr_storage peer;
            socklen_t plen;
            ssize_t n;
            while (plen = sizeof peer,
                   (n = recvfrom(fds[f], r, sizeof r, 0, (struct sockaddr *)&peer, &plen)) >= 0)
                match_reply(r, (size_t)n, &peer);
        }
    }
    pthread_mutex_unlock(&g_lock);
    for (int f = 0; f < 2; f++)
        if (fds[f] >= 0)
            close(fds[f]);
    return NULL;
}

static void poke(void)
{
    if (g_wake[1] >= 0) {
        char c = 1;
        ssize_t w = write(g_wake[1], &c, 1);
        (void)w; /* full pipe: the sender has a wake pending already */
    }
}

void sg_xfr_notify_reap(const uint8_t *apex, int stop)
{
    if (!stop)
        return; /* finished jobs are freed by the sender itself */
    pthread_mutex_lock(&g_lock);
    for (job *j = g_fly; j; j = j->next)
        if (!apex || sg_name_eq(apex, j->apex))
            j->stop = 1;
    for (target *pr = g_peers; pr; pr = pr->next)
        for (job *j = pr->wait; j; j = j->next)
            if (!apex || sg_name_eq(apex, j->apex))
                j->stop = 1;
    poke();
    pthread_mutex_unlock(&g_lock);
}

/* Queue j on its target's FIFO, the sender started if it is not there. Lock held. 0, or
 * -1 (nothing queued; the caller frees j) when no sender thread can be made. */
static int enqueue(job *j)
{
    if (g_wake[0] < 0 && pipe2(g_wake, O_CLOEXEC | O_NONBLOCK))
        g_wake[0] = g_wake[1] = -1;
    target *pr = g_peers;
    while (pr && !same_peer(&pr->to, &j->to))
        pr = pr->next;
    if (!pr) {
        if (!(pr = calloc(1, sizeof *pr)))
            return -1;
        pr->to = j->to;
        pr->tail = &pr->wait;
        pr->next = g_peers;
        g_peers = pr;
    }
    if (!g_running) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (g_wake[0] < 0 || pthread_create(&t, &a, sender, NULL) != 0) {
            pthread_attr_destroy(&a);
            return -1; /* an empty peer is dropped by the next sender */
        }
        pthread_attr_destroy(&a);
        pthread_setname_np(t, "sg-notify");
        g_running = 1;
    }
    j->peer = pr;
    *pr->tail = j;
    pr->tail = &j->next;
    g_nwait++;
    poke();
    return 0;
}

void sg_xfr_probe(const uint8_t *apex, const struct sockaddr_storage *to, int timeout_ms,
                  void (*done)(void *arg, int i, int rc, uint32_t serial), void *arg, int i)
{
    job *j = calloc(1, sizeof *j);
    if (!j) {
        done(arg, i, SG_ENOMEM, 0);
        return;
    }
    memcpy(j->apex, apex, sg_name_len(apex));
    sg_name_to_str(apex, j->zone, sizeof j->zone);
    j->to = *to;
    j->probe = 1;
    j->probe_ms = timeout_ms > 0 ? timeout_ms : 1000;
    j->probe_i = i;
    j->done = done;
    j->done_arg = arg;
    sg_tsig_ctx_init(&j->tc, NULL);
    pthread_mutex_lock(&g_lock);
    int rc = enqueue(j);
    pthread_mutex_unlock(&g_lock);
    if (rc) {
        job_free(j);
        done(arg, i, SG_EIO, 0);
    }
}

void sg_xfr_notify(const uint8_t *apex, uint32_t serial, const sg_xfr_rr *soa,
                   const struct sockaddr_storage *targets, int n, const sg_tsig_key *key)
{
    for (int i = 0; i < n; i++) {
        job *j = calloc(1, sizeof *j);
        if (!j)
            return;
        memcpy(j->apex, apex, sg_name_len(apex));
        sg_name_to_str(apex, j->zone, sizeof j->zone);
        j->serial = serial;
        if (soa && soa->rdlen <= sizeof j->soa) {
            memcpy(j->soa, soa->rdata, soa->rdlen);
            j->soa_len = soa->rdlen;
            j->soa_ttl = soa->ttl;
        }
        j->to = targets[i];
        j->key = key ? sg_tsig_key_dup(key) : NULL;
        sg_tsig_ctx_init(&j->tc, j->key);
        snprintf(j->why, sizeof j->why, "no reply");
        pthread_mutex_lock(&g_lock);
        if (enqueue(j)) {
            pthread_mutex_unlock(&g_lock);
            sg_log(SG_LOG_ERR, "notify", j->zone, "serial %u: no NOTIFY sender thread", serial);
            job_free(j);
            return;
        }
        pthread_mutex_unlock(&g_lock);
    }
}
