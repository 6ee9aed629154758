/* SPDX-License-Identifier: MIT */
/* Signing a whole zone: the same RRSIG maker and chains as online signing, in one pass. */
#include "signer/zonesign.h"
#include "signer/zonetext.h"
#include "common/errors.h"
#include "common/phase.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* One RRset to emit, and its signatures once made. */
typedef struct job {
    const uint8_t *owner;
    const sg_rrset *rrset;
    uint8_t sign;       /* needs RRSIGs */
    uint8_t keyset;     /* signed by the key-signing keys */
    uint8_t reused;     /* sig came from the reuse callback */
    sg_rrset sig;       /* filled by the signing phase */
} job;

#define CHUNK 16384     /* jobs signed in parallel, then emitted in order */
#define THREADS_MAX 16

typedef struct batch {
    sg_zonesign_reuse_cb reuse;
    const sg_zone *z;
    const sg_keyset *k;
    uint32_t now;
    job *jobs;
    size_t n;
    _Atomic size_t next;   /* work sharing: the next job to sign */
    _Atomic int rc;
    sg_arena mem[THREADS_MAX];
} batch;

typedef struct worker_arg {
    batch *b;
    int id;
} worker_arg;

static int sign_job(batch *b, sg_arena *mem, job *j)
{
    const sg_rrset *presigned = j->keyset ? sg_keyset_presigned(b->k, j->rrset) : NULL;
    if (presigned) {
        j->sig = *presigned; /* an offline KSK's signatures, as imported */
        return 0;
    }
    const sg_sign_key *keys = j->keyset ? b->k->ksk : b->k->zsk;
    int nkeys = j->keyset ? b->k->nksk : b->k->nzsk;
    if (nkeys == 0)
        return SG_ENOTFOUND;
    const sg_keyset_policy *p = &b->k->policy;
    const uint8_t *owner = j->owner;
    uint8_t labels = (uint8_t)(sg_name_labels(owner) - (owner[0] == 1 && owner[1] == '*'));
    uint8_t *blob = sg_arena_alloc(mem, (size_t)nkeys * (2 + SG_RRSIG_MAX));
    if (!blob)
        return SG_ENOMEM;
    size_t o = 0;
    for (int i = 0; i < nkeys; i++) {
        size_t len;
        /* spread expirations over the jitter window, deterministically per RRset */
        uint32_t spread = p->sig_jitter ? (uint32_t)(((uintptr_t)j->rrset >> 4) % p->sig_jitter) : 0;
        int rc = sg_rrsig_make(&keys[i], b->z->apex, owner, labels, j->rrset, b->now - 3600,
                               b->now + p->sig_validity - spread, blob + o + 2, &len);
        if (rc)
            return rc;
        blob[o] = (uint8_t)(len >> 8);
        blob[o + 1] = (uint8_t)len;
        o += 2 + len;
    }
    j->sig = (sg_rrset){ .type = SG_TYPE_RRSIG, .count = (uint16_t)nkeys, .ttl = j->rrset->ttl,
                         .rdata_len = (uint32_t)o, .rdata = blob };
    return 0;
}

static void *sign_worker(void *arg)
{
    worker_arg *wa = arg;
    batch *b = wa->b;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 64);
        if (i >= b->n || atomic_load(&b->rc))
            break;
        size_t end = i + 64 < b->n ? i + 64 : b->n;
        for (; i < end; i++) {
            if (!b->jobs[i].sign)
                continue;
            int rc = sign_job(b, &b->mem[wa->id], &b->jobs[i]);
            if (rc) {
                atomic_store(&b->rc, rc);
                break;
            }
        }
    }
    return NULL;
}

/* Sign the batch on every core, then hand it to the callback in order. */
static int flush(batch *b, int nthreads, sg_zonesign_cb cb, void *arg)
{
    pthread_t th[THREADS_MAX];
    worker_arg wa[THREADS_MAX];
    atomic_store(&b->next, 0);
    int started = 0;
    for (int i = 1; i < nthreads; i++) {
        wa[i] = (worker_arg){ b, i };
        if (pthread_create(&th[i], NULL, sign_worker, &wa[i]) != 0)
            break;
        pthread_setname_np(th[i], "sg-zonesign");
        started = i;
    }
    wa[0] = (worker_arg){ b, 0 };
    sign_worker(&wa[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    int rc = atomic_load(&b->rc);
    for (size_t i = 0; i < b->n && !rc; i++) {
        rc = cb(arg, b->jobs[i].owner, b->jobs[i].rrset);
        if (!rc && (b->jobs[i].sign || b->jobs[i].reused))
            rc = cb(arg, b->jobs[i].owner, &b->jobs[i].sig);
    }
    for (int i = 0; i < nthreads; i++)
        sg_arena_reset(&b->mem[i]);
    b->n = 0;
    return rc;
}

static int push(batch *b, const uint8_t *owner, const sg_rrset *rs, int sign, int keyset,
                int nthreads, sg_zonesign_cb cb, void *arg)
{
    job *j = &b->jobs[b->n++];
    *j = (job){ .owner = owner, .rrset = rs, .sign = (uint8_t)sign, .keyset = (uint8_t)keyset };
    const sg_rrset *old = sign && b->reuse ? b->reuse(arg, owner, rs, keyset) : NULL;
    if (old) {
        j->sig = *old;
        j->sign = 0;
        j->reused = 1;
    }
    return b->n == CHUNK ? flush(b, nthreads, cb, arg) : 0;
}

static int walk(const sg_zone *z, const sg_keyset *k, uint32_t now, sg_zonesign_reuse_cb reuse,
                sg_zonesign_cb cb, void *arg, int nthreads, sg_phases *ph)
{
    const sg_keyset_policy *p = &k->policy;
    enum sg_ks_denial kind = p->denial == SG_KS_DENIAL_NSEC3 ? SG_KS_DENIAL_NSEC3 : SG_KS_DENIAL_NSEC;
    sg_denial *d = NULL;
    sg_phase_begin(ph);
    int rc = sg_denial_build(z, kind, p->nsec3_iterations, p->nsec3_opt_out, k->apex_types,
                             k->napex, &d);
    sg_phase_end(ph, "chain");
    if (rc)
        return rc;
    batch *b = calloc(1, sizeof *b);
    if (!b || !(b->jobs = malloc(CHUNK * sizeof *b->jobs))) {
        free(b);
        sg_denial_free(d);
        return SG_ENOMEM;
    }
    b->reuse = reuse;
    b->z = z;
    b->k = k;
    b->now = now;
    for (int i = 0; i < THREADS_MAX; i++)
        sg_arena_init(&b->mem[i], 1 << 20);
    for (size_t i = 0; i < z->nnodes && !rc; i++) {
        const sg_node *n = &z->nodes[i];
        int cut = (n->flags & SG_NODE_DELEG) != 0, below = (n->flags & SG_NODE_NONAUTH) != 0;
        for (uint16_t j = 0; j < n->nrrsets && !rc; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            if (below && rs->type != SG_TYPE_A && rs->type != SG_TYPE_AAAA)
                continue; /* occluded data is not part of the zone */
            if (cut && rs->type != SG_TYPE_NS && rs->type != SG_TYPE_DS)
                continue;
            if (rs->type == SG_TYPE_DNSKEY || rs->type == SG_TYPE_CDS || rs->type == SG_TYPE_CDNSKEY ||
                rs->type == SG_TYPE_RRSIG || rs->type == SG_TYPE_NSEC || rs->type == SG_TYPE_NSEC3 ||
                rs->type == SG_TYPE_NSEC3PARAM)
                continue; /* the signer's own, below */
            int sign = !below && !(cut && rs->type == SG_TYPE_NS);
            rc = push(b, n->name, rs, sign, 0, nthreads, cb, arg);
        }
        if (n == z->apex_node && !rc) {
            const sg_rrset *own[3] = { &k->dnskey, &k->cds, &k->cdnskey };
            for (int j = 0; j < 3 && !rc; j++)
                if (own[j]->count)
                    rc = push(b, n->name, own[j], 1, 1, nthreads, cb, arg);
            if (!rc && d->nsec3)
                rc = push(b, n->name, &d->nsec3->param, 1, 0, nthreads, cb, arg);
        }
        if (!rc && d->nsec) {
            const sg_rrset *nsec = sg_nsec_of(d->nsec, n);
            if (nsec)
                rc = push(b, n->name, nsec, 1, 0, nthreads, cb, arg);
        }
    }
    for (size_t i = 0; d->nsec3 && i < d->nsec3->n && !rc; i++)
        rc = push(b, d->nsec3->e[i].owner, &d->nsec3->e[i].rrset, 1, 0, nthreads, cb, arg);
    if (!rc && b->n)
        rc = flush(b, nthreads, cb, arg);
    for (int i = 0; i < THREADS_MAX; i++)
        sg_arena_deinit(&b->mem[i]);
    free(b->jobs);
    free(b);
    sg_denial_free(d);
    sg_phase_end(ph, "sign+write");
    return rc;
}

static int default_threads(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu < 1 ? 1 : ncpu > THREADS_MAX ? THREADS_MAX : (int)ncpu;
}

int sg_zonesign_walk_reuse(const sg_zone *z, const sg_keyset *k, uint32_t now,
                           sg_zonesign_reuse_cb reuse, sg_zonesign_cb cb, void *arg)
{
    return walk(z, k, now, reuse, cb, arg, default_threads(), NULL);
}

/* Print one RRset, record by record. */
static int print_rrset(void *arg, const uint8_t *owner, const sg_rrset *rs)
{
    FILE *out = arg;
    static _Thread_local char line[3 * 65535 + 2048];
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen = sg_rdlen(p);
        size_t n = sg_zonetext_rr(line, sizeof line, owner, rs->type, rs->ttl, p + 2, rdlen);
        if (!n || fwrite(line, 1, n, out) != n)
            return SG_EIO;
        p += 2 + rdlen;
    }
    return 0;
}

int sg_zonesign_write(const sg_zone *z, const sg_keyset *k, uint32_t now, FILE *out)
{
    sg_zonesign_opts o = { 0 };
    return sg_zonesign_write_opts(z, k, now, &o, out);
}

int sg_zonesign_write_opts(const sg_zone *z, const sg_keyset *k, uint32_t now,
                           const sg_zonesign_opts *o, FILE *out)
{
    int nthreads = o->threads > 0 ? (o->threads > THREADS_MAX ? THREADS_MAX : o->threads)
                                  : default_threads();
    fprintf(out, "; %s signed by Signet, serial %u\n", z->apex_str, z->serial);
    int rc = walk(z, k, now, NULL, print_rrset, out, nthreads, o->phases);
    if (!rc && fflush(out))
        rc = SG_EIO;
    return rc;
}
