/* SPDX-License-Identifier: MIT */
/* Signing a whole zone: the same RRSIG maker and chains as online signing, in one pass.
 *
 * A pipeline: the calling thread walks the zone into batches of RRsets and hands each
 * finished batch to the callback in order; worker threads (and the caller, whenever it
 * would otherwise wait) sign the batches in between, several batches in flight, so that no
 * core waits for the callback or the walk. When the output is text, the workers also
 * format it, and the caller only writes the bytes. */
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
    char *text;         /* text mode: the RRset and its RRSIGs as master-file lines */
    size_t text_len;
} job;

#define BATCH 2048      /* jobs per batch */
#define RING 6          /* batches in flight: enough that a worker never runs dry */
#define CLAIM 16        /* jobs a thread takes at once */
#define THREADS_MAX 64

typedef struct batch {
    job *jobs;
    size_t n;
    _Atomic size_t next;        /* the next job to claim */
    _Atomic size_t done;        /* jobs finished */
    int helpers;                /* under the lock: workers that may still claim from it */
    sg_arena *mem;              /* one per thread: signatures and text */
} batch;

typedef struct pipeline {
    const sg_zone *z;
    const sg_keyset *k;
    uint32_t now;
    FILE *text;                 /* non-NULL: the workers format, the walker writes here */
    int nthreads;
    batch ring[RING];
    size_t head, tail;          /* batches [head, tail) are published, not yet emitted */
    pthread_mutex_t lock;
    pthread_cond_t work, finished;
    int stop;
    _Atomic int rc;
    sg_zonesign_reuse_cb reuse;
    sg_zonesign_cb cb;
    void *arg;
} pipeline;

typedef struct worker {
    pipeline *p;
    int id;
    pthread_t th;
    sg_sign_ctx *sc;            /* NULL: sign without (out of memory) */
    char *scratch;              /* text mode: one job's lines */
    size_t cap;
} worker;

static int sign_job(pipeline *pp, sg_sign_ctx *sc, sg_arena *mem, job *j)
{
    const sg_keyset *k = pp->k;
    const sg_rrset *presigned = j->keyset ? sg_keyset_presigned(k, j->rrset) : NULL;
    if (presigned) {
        j->sig = *presigned; /* an offline KSK's signatures, as imported */
        return 0;
    }
    const sg_sign_key *keys = j->keyset ? k->ksk : k->zsk;
    int nkeys = j->keyset ? k->nksk : k->nzsk;
    if (nkeys == 0)
        return SG_ENOTFOUND;
    const sg_keyset_policy *p = &k->policy;
    const uint8_t *owner = j->owner;
    uint8_t labels = (uint8_t)(sg_name_labels(owner) - (owner[0] == 1 && owner[1] == '*'));
    uint8_t *blob = sg_arena_alloc(mem, (size_t)nkeys * (2 + SG_RRSIG_MAX));
    if (!blob)
        return SG_ENOMEM;
    size_t o = 0;
    /* spread expirations over the jitter window, deterministically per RRset: by its owner
     * and type, so that every run (and thread count) signs alike */
    uint32_t spread = 0;
    if (p->sig_jitter) {
        uint64_t h = sg_name_hash(owner, sg_name_len(owner)) ^ ((uint64_t)j->rrset->type * 0x9E3779B97F4A7C15ull);
        spread = (uint32_t)((h ^ (h >> 29)) % p->sig_jitter);
    }
    for (int i = 0; i < nkeys; i++) {
        size_t len;
        int rc = sg_rrsig_make_ctx(sc, &keys[i], pp->z->apex, owner, labels, j->rrset, pp->now - 3600,
                               pp->now + p->sig_validity - spread, blob + o + 2, &len);
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

/* Append an RRset's lines to the worker's scratch text. */
static int format_rrset(worker *w, size_t *len, const uint8_t *owner, const sg_rrset *rs)
{
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen = sg_rdlen(p);
        /* the longest line: RFC 3597 hex of the RDATA with spaces, and a long owner */
        size_t need = 3 * (size_t)rdlen + 2048;
        if (w->cap - *len < need) {
            size_t nc = w->cap * 2 > *len + need ? w->cap * 2 : *len + need;
            char *ns = realloc(w->scratch, nc);
            if (!ns)
                return SG_ENOMEM;
            w->scratch = ns;
            w->cap = nc;
        }
        size_t n = sg_zonetext_rr(w->scratch + *len, w->cap - *len, owner, rs->type, rs->ttl,
                                  p + 2, rdlen);
        if (!n)
            return SG_EIO;
        *len += n;
        p += 2 + rdlen;
    }
    return 0;
}

static int do_job(worker *w, sg_arena *mem, job *j)
{
    if (j->sign) {
        int rc = sign_job(w->p, w->sc, mem, j);
        if (rc)
            return rc;
    }
    if (!w->p->text)
        return 0;
    size_t len = 0;
    int rc = format_rrset(w, &len, j->owner, j->rrset);
    if (!rc && (j->sign || j->reused))
        rc = format_rrset(w, &len, j->owner, &j->sig);
    if (rc)
        return rc;
    if (!(j->text = sg_arena_dup(mem, w->scratch, len ? len : 1)))
        return SG_ENOMEM;
    j->text_len = len;
    return 0;
}

/* Work on b's unclaimed jobs until none is left. Returns non-zero when it did any. */
static int help_batch(worker *w, batch *b)
{
    int did = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, CLAIM);
        if (i >= b->n)
            return did;
        did = 1;
        size_t end = i + CLAIM < b->n ? i + CLAIM : b->n;
        for (size_t x = i; x < end; x++) {
            if (atomic_load_explicit(&w->p->rc, memory_order_relaxed))
                break;
            int rc = do_job(w, &b->mem[w->id], &b->jobs[x]);
            if (rc) {
                int zero = 0;
                atomic_compare_exchange_strong(&w->p->rc, &zero, rc);
            }
        }
        /* an error still counts the jobs done: the caller waits for the batch, then stops */
        if (atomic_fetch_add(&b->done, end - i) + (end - i) == b->n) {
            pthread_mutex_lock(&w->p->lock);
            pthread_cond_broadcast(&w->p->finished);
            pthread_mutex_unlock(&w->p->lock);
        }
    }
}

/* A published batch with jobs left to claim, or NULL; under the lock. */
static batch *claimable(pipeline *p)
{
    for (size_t s = p->head; s < p->tail; s++) {
        batch *b = &p->ring[s % RING];
        if (atomic_load(&b->next) < b->n)
            return b;
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pipeline *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        batch *b = claimable(p);
        if (!b) {
            if (p->stop)
                break;
            pthread_cond_wait(&p->work, &p->lock);
            continue;
        }
        /* counted, so that the batch is not refilled while this thread may still claim
         * from it (it found jobs left, but others may take them all first) */
        b->helpers++;
        pthread_mutex_unlock(&p->lock);
        help_batch(w, b);
        pthread_mutex_lock(&p->lock);
        if (--b->helpers == 0)
            pthread_cond_broadcast(&p->finished);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* The oldest batch, once every job is done, to the callback in order; its slot is free
 * again. The caller signs while it waits. */
static int emit_oldest(pipeline *p, worker *self)
{
    batch *b = &p->ring[p->head % RING];
    for (;;) {
        /* help with this batch first (it is the one waited for), then with later ones */
        if (atomic_load(&b->done) != b->n && help_batch(self, b))
            continue;
        pthread_mutex_lock(&p->lock);
        if (atomic_load(&b->done) == b->n && b->helpers == 0) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        batch *other = atomic_load(&b->done) != b->n ? claimable(p) : NULL;
        if (!other)
            pthread_cond_wait(&p->finished, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (other)
            help_batch(self, other);
    }
    int rc = atomic_load(&p->rc);
    for (size_t i = 0; i < b->n && !rc; i++) {
        job *j = &b->jobs[i];
        if (p->text) {
            if (fwrite(j->text, 1, j->text_len, p->text) != j->text_len)
                rc = SG_EIO;
            continue;
        }
        rc = p->cb(p->arg, j->owner, j->rrset);
        if (!rc && (j->sign || j->reused))
            rc = p->cb(p->arg, j->owner, &j->sig);
    }
    for (int t = 0; t < p->nthreads; t++)
        sg_arena_reset(&b->mem[t]);
    /* under the lock: workers look at the published batches' sizes under it */
    pthread_mutex_lock(&p->lock);
    p->head++;
    b->n = 0;
    atomic_store(&b->next, 0);
    atomic_store(&b->done, 0);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* The batch being filled is complete: the workers may take it. */
static void publish(pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->tail++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

static int push(pipeline *p, worker *self, const uint8_t *owner, const sg_rrset *rs, int sign,
                int keyset)
{
    int rc = atomic_load_explicit(&p->rc, memory_order_relaxed);
    if (rc)
        return rc;
    batch *b = &p->ring[p->tail % RING];
    job *j = &b->jobs[b->n];
    *j = (job){ .owner = owner, .rrset = rs, .sign = (uint8_t)sign, .keyset = (uint8_t)keyset };
    const sg_rrset *old = sign && p->reuse ? p->reuse(p->arg, owner, rs, keyset) : NULL;
    if (old) {
        j->sig = *old;
        j->sign = 0;
        j->reused = 1;
    }
    if (++b->n < BATCH)
        return 0;
    publish(p);
    /* the next slot must be free before it is filled */
    if (p->tail - p->head == RING)
        return emit_oldest(p, self);
    return 0;
}

/* Every RRset of the signed zone, in canonical order, pushed to the pipeline. */
static int walk_zone(pipeline *p, worker *self, const sg_denial *d)
{
    const sg_zone *z = p->z;
    const sg_keyset *k = p->k;
    int rc = 0;
    for (size_t i = 0; i < z->nnodes && !rc; i++) {
        const sg_node *n = &z->nodes[i];
        int cut = (n->flags & SG_NODE_DELEG) != 0, below = (n->flags & SG_NODE_NONAUTH) != 0;
        for (uint16_t j = 0; j < n->nrrsets && !rc; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            if (below && rs->type != SG_TYPE_A && rs->type != SG_TYPE_AAAA)
                continue; /* occluded data is not part of the zone */
            if (cut && rs->type != SG_TYPE_NS && rs->type != SG_TYPE_DS)
                continue;
            /* the signer's own, below: the key RRsets at the apex only (CDS/CDNSKEY
             * elsewhere are data, e.g. RFC 9615 signals at _dsboot names) */
            int keyset = rs->type == SG_TYPE_DNSKEY || rs->type == SG_TYPE_CDS ||
                         rs->type == SG_TYPE_CDNSKEY;
            if ((keyset && n == z->apex_node) || rs->type == SG_TYPE_RRSIG ||
                rs->type == SG_TYPE_NSEC || rs->type == SG_TYPE_NSEC3 ||
                rs->type == SG_TYPE_NSEC3PARAM)
                continue;
            int sign = !below && !(cut && rs->type == SG_TYPE_NS);
            rc = push(p, self, n->name, rs, sign, 0);
        }
        if (n == z->apex_node && !rc) {
            const sg_rrset *own[3] = { &k->dnskey, &k->cds, &k->cdnskey };
            for (int j = 0; j < 3 && !rc; j++)
                if (own[j]->count)
                    rc = push(p, self, n->name, own[j], 1, 1);
            if (!rc && d->nsec3)
                rc = push(p, self, n->name, &d->nsec3->param, 1, 0);
        }
        if (!rc && d->nsec) {
            const sg_rrset *nsec = sg_nsec_of(d->nsec, n);
            if (nsec)
                rc = push(p, self, n->name, nsec, 1, 0);
        }
    }
    for (size_t i = 0; d->nsec3 && i < d->nsec3->n && !rc; i++)
        rc = push(p, self, d->nsec3->e[i].owner, &d->nsec3->e[i].rrset, 1, 0);
    return rc;
}

static int walk(const sg_zone *z, const sg_keyset *k, uint32_t now, sg_zonesign_reuse_cb reuse,
                sg_zonesign_cb cb, void *arg, FILE *text, int nthreads, sg_phases *ph)
{
    const sg_keyset_policy *pol = &k->policy;
    enum sg_ks_denial kind = pol->denial == SG_KS_DENIAL_NSEC3 ? SG_KS_DENIAL_NSEC3 : SG_KS_DENIAL_NSEC;
    sg_denial *d = NULL;
    sg_phase_begin(ph);
    int rc = sg_denial_build_threads(z, kind, pol->nsec3_iterations, pol->nsec3_opt_out,
                                     k->apex_types, k->napex, nthreads, &d);
    sg_phase_end(ph, "chain");
    if (rc)
        return rc;
    pipeline *p = calloc(1, sizeof *p);
    worker *w = calloc((size_t)nthreads, sizeof *w);
    sg_arena *mem = calloc((size_t)RING * (size_t)nthreads, sizeof *mem);
    int nring = 0;
    if (!p || !w || !mem) {
        rc = SG_ENOMEM;
        goto out;
    }
    *p = (pipeline){ .z = z, .k = k, .now = now, .text = text, .nthreads = nthreads,
                 .reuse = reuse, .cb = cb, .arg = arg };
    for (; nring < RING; nring++) {
        batch *b = &p->ring[nring];
        b->mem = mem + (size_t)nring * (size_t)nthreads;
        for (int t = 0; t < nthreads; t++)
            sg_arena_init(&b->mem[t], 256 << 10);
        if (!(b->jobs = malloc(BATCH * sizeof *b->jobs))) {
            rc = SG_ENOMEM;
            nring++;
            goto out;
        }
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->finished, NULL);
    int started = 1;
    for (int t = 0; t < nthreads; t++)
        w[t] = (worker){ .p = p, .id = t, .sc = sg_sign_ctx_new() };
    for (; started < nthreads; started++) {
        if (pthread_create(&w[started].th, NULL, worker_main, &w[started]) != 0)
            break; /* fewer helpers: slower, not wrong */
        char name[16];
        snprintf(name, sizeof name, "sg-zonesign/%d", started & 63);
        pthread_setname_np(w[started].th, name);
    }
    rc = walk_zone(p, &w[0], d);
    if (!rc && p->ring[p->tail % RING].n)
        publish(p);
    /* the batches in flight, in order (after an error only to let the workers finish) */
    while (p->head < p->tail) {
        int erc = emit_oldest(p, &w[0]);
        if (!rc)
            rc = erc;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < started; t++)
        pthread_join(w[t].th, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->finished);
out:
    for (int i = 0; p && i < nring; i++) {
        for (int t = 0; t < nthreads; t++)
            sg_arena_deinit(&p->ring[i].mem[t]);
        free(p->ring[i].jobs);
    }
    for (int t = 0; w && t < nthreads; t++) {
        free(w[t].scratch);
        sg_sign_ctx_free(w[t].sc);
    }
    free(mem);
    free(w);
    free(p);
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
    return walk(z, k, now, reuse, cb, arg, NULL, default_threads(), NULL);
}

int sg_zonesign_write(const sg_zone *z, const sg_keyset *k, uint32_t now, FILE *out)
{
    sg_zonesign_opts o = { 0 };
    return sg_zonesign_write_opts(z, k, now, &o, out);
}

int sg_zonesign_write_opts(const sg_zone *z, const sg_keyset *k, uint32_t now,
                           const sg_zonesign_opts *o, FILE *out)
{
    if (!z || !k || !o || !out)
        return SG_EINVAL;
    int nthreads = o->threads > 0 ? (o->threads > THREADS_MAX ? THREADS_MAX : o->threads)
                                  : default_threads();
    fprintf(out, "; %s signed by Signet, serial %u\n", z->apex_str, z->serial);
    int rc = walk(z, k, now, NULL, NULL, NULL, out, nthreads, o->phases);
    if (!rc && fflush(out))
        rc = SG_EIO;
    return rc;
}
