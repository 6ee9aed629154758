/* SPDX-License-Identifier: MIT */
/* NOTIFY (RFC 1996) to secondaries: UDP, retries with backoff, TSIG-signed when keyed. */
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRIES 5

typedef struct job {
    uint8_t apex[SG_NAME_MAX];
    char zone[1024];
    uint32_t serial;
    uint8_t soa[512];      /* the SOA's RDATA, sent in the answer section (RFC 1996 3.7) */
    uint16_t soa_len;
    uint32_t soa_ttl;
    struct sockaddr_storage to;
    sg_tsig_key *key;
    pthread_t thread;
    atomic_int done;       /* the thread has finished: join and free it */
    atomic_int stop;       /* the zone goes: give up now */
    struct job *next;
} job;

/* Every NOTIFY in flight, so that none outlives its zone (or the process). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static job *g_jobs;

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

/* Wait for the acknowledgement of id on fd for ms; 1 acknowledged, 0 not (yet). */
static int await_ack(job *j, int fd, uint16_t id, int ms, sg_tsig_ctx *tc, char *why,
                     size_t why_cap)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = ms - (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0 || atomic_load(&j->stop))
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, left < 100 ? left : 100) <= 0) /* slices: a stop is seen soon */
            continue;
        uint8_t r[4096];
        ssize_t n = recv(fd, r, sizeof r, 0);
        if (n < 12 || ((r[0] << 8) | r[1]) != id || !(r[2] & 0x80) || ((r[2] >> 3) & 0xf) != 4)
            continue; /* not ours: a late reply to an earlier try, or noise */
        if (j->key) {
            uint16_t err = 0;
            int rc = sg_tsig_verify_response(tc, r, (size_t)n, (uint64_t)time(NULL), &err);
            if (rc || err) {
                snprintf(why, why_cap, "reply failed TSIG (%s)",
                         rc ? sg_strerror(rc) : err == SG_TSIG_BADKEY ? "BADKEY"
                                              : err == SG_TSIG_BADSIG ? "BADSIG" : "BADTIME");
                continue;
            }
        }
        int rcode = r[3] & 0xf;
        if (rcode) {
            snprintf(why, why_cap, "rcode %d", rcode);
            return -1;
        }
        return 1;
    }
}

static void *send_one(void *arg)
{
    job *j = arg;
    char to[80], why[128] = "no reply";
    sg_xfr_addr_text(&j->to, to, sizeof to);
    int fd = socket(j->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t alen = j->to.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                : sizeof(struct sockaddr_in6);
    int done = 0;
    for (int t = 0; fd >= 0 && t < TRIES && !done && !atomic_load(&j->stop); t++) {
        uint16_t id;
        RAND_bytes((uint8_t *)&id, sizeof id);
        uint8_t m[1024];
        size_t len = make_notify(j, id, m);
        sg_tsig_ctx tc;
        sg_tsig_ctx_init(&tc, j->key);
        if (j->key && sg_tsig_sign(&tc, m, &len, sizeof m, (uint64_t)time(NULL))) {
            snprintf(why, sizeof why, "cannot sign");
            sg_tsig_ctx_deinit(&tc);
            break;
        }
        if (sendto(fd, m, len, 0, (const struct sockaddr *)&j->to, alen) < 0)
            snprintf(why, sizeof why, "%s", strerror(errno));
        else {
            int r = await_ack(j, fd, id, 1000 << t, &tc, why, sizeof why);
            if (r)
                done = r;
        }
        sg_tsig_ctx_deinit(&tc);
    }
    if (done == 1)
        sg_log(SG_LOG_INFO, "notify", j->zone, "serial %u: %s acknowledged", j->serial, to);
    else if (!atomic_load(&j->stop)) /* stopped: the zone is going, nothing to report */
        sg_log(SG_LOG_WARN, "notify", j->zone, "serial %u: %s not acknowledged: %s", j->serial,
               to, why);
    if (fd >= 0)
        close(fd);
    atomic_store(&j->done, 1);
    return NULL;
}

void sg_xfr_notify_reap(const uint8_t *apex, int stop)
{
    job *dead = NULL;
    pthread_mutex_lock(&g_lock);
    for (job **jp = &g_jobs; *jp;) {
        job *j = *jp;
        if (stop && (!apex || sg_name_eq(apex, j->apex)))
            atomic_store(&j->stop, 1);
        if (atomic_load(&j->done) || atomic_load(&j->stop)) {
            *jp = j->next;
            j->next = dead;
            dead = j;
        } else {
            jp = &j->next;
        }
    }
    pthread_mutex_unlock(&g_lock);
    while (dead) {
        job *j = dead;
        dead = j->next;
        pthread_join(j->thread, NULL);
        sg_tsig_key_free(j->key);
        free(j);
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
        pthread_mutex_lock(&g_lock);
        int e = pthread_create(&j->thread, NULL, send_one, j);
        if (e == 0)
            pthread_setname_np(j->thread, "sg-notify");
        if (e != 0) {
            pthread_mutex_unlock(&g_lock);
            sg_tsig_key_free(j->key);
            free(j);
            continue;
        }
        j->next = g_jobs;
        g_jobs = j;
        pthread_mutex_unlock(&g_lock);
    }
}
