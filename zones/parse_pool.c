/* SPDX-License-Identifier: MIT */
/* Parsing a master file's records on several threads (see parse_pool.h). ldns turns each
 * record's text into wire form, which is most of a big file's load time; the builder takes
 * the results one at a time under a lock (adding is a copy, far cheaper than parsing). */
#include "zones/parse_pool.h"
#include "common/errors.h"
#include "common/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024          /* records handed to a thread at once */
#define THREADS_MAX 64

typedef struct item {
    size_t off;             /* of its NUL-terminated text in the batch */
    uint32_t ttl;
    const ldns_rdf *origin;
    const char *file;
    unsigned line;
} item;

typedef struct pbatch {
    char *text;
    size_t len, cap;
    item items[BATCH];
    size_t n;
    struct pbatch *next;
} pbatch;

struct sg_parse_pool {
    sg_zone_builder *b;
    const char *apex_str;
    _Atomic int *errors;
    int threads, started;
    pthread_t th[THREADS_MAX];
    pthread_mutex_t lock;       /* the queue, the free list, busy, stop */
    pthread_cond_t more, idle;
    pbatch *head, *tail;        /* full batches waiting */
    size_t queued, busy;
    pbatch *spare;              /* parsed batches, to fill again */
    pbatch *cur;                /* the one being filled */
    int stop;
    _Atomic int lost;           /* SG_ENOMEM while adding */
    pthread_mutex_t build;      /* the builder is not thread-safe */
    ldns_buffer *rdbuf;         /* the caller's, when it parses */
};

static void perr(sg_parse_pool *p, const item *it, const char *msg)
{
    sg_log(SG_LOG_ERR, "zone", p->apex_str, "%s:%u: %s", it->file, it->line, msg);
    (*p->errors)++;
}

static void parse_one(sg_parse_pool *p, ldns_buffer *rdbuf, const pbatch *bt, const item *it)
{
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, bt->text + it->off, it->ttl, (ldns_rdf *)it->origin, NULL);
    if (st != LDNS_STATUS_OK) {
        perr(p, it, ldns_get_errorstr_by_id(st));
        return;
    }
    ldns_rr2canonical(rr);
    ldns_buffer_clear(rdbuf);
    if (ldns_rr_rdata2buffer_wire(rdbuf, rr) != LDNS_STATUS_OK || ldns_buffer_position(rdbuf) > 65535) {
        ldns_rr_free(rr);
        perr(p, it, "cannot encode the record data");
        return;
    }
    const ldns_rdf *o = ldns_rr_owner(rr);
    pthread_mutex_lock(&p->build);
    int rc = sg_zone_builder_add(p->b, ldns_rdf_data(o), (uint16_t)ldns_rr_get_type(rr),
                                 (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
                                 ldns_buffer_begin(rdbuf), (uint16_t)ldns_buffer_position(rdbuf),
                                 it->file, it->line);
    pthread_mutex_unlock(&p->build);
    if (rc == SG_ENOMEM)
        atomic_store(&p->lost, SG_ENOMEM);
    if (rc)
        (*p->errors)++;
    ldns_rr_free(rr);
}

/* Parse a batch taken off the queue, then give it back for filling. */
static void parse_batch(sg_parse_pool *p, ldns_buffer *rdbuf, pbatch *bt)
{
    for (size_t i = 0; i < bt->n; i++)
        parse_one(p, rdbuf, bt, &bt->items[i]);
    bt->n = 0;
    bt->len = 0;
    pthread_mutex_lock(&p->lock);
    bt->next = p->spare;
    p->spare = bt;
    p->busy--;
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
}

/* The oldest full batch, counted busy; NULL when none. Under the lock. */
static pbatch *take(sg_parse_pool *p)
{
    pbatch *bt = p->head;
    if (!bt)
        return NULL;
    p->head = bt->next;
    if (!p->head)
        p->tail = NULL;
    p->queued--;
    p->busy++;
    return bt;
}

static void *worker(void *arg)
{
    sg_parse_pool *p = arg;
    ldns_buffer *rdbuf = ldns_buffer_new(65536);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        pbatch *bt = rdbuf ? take(p) : NULL;
        if (!bt) {
            if (p->stop || !rdbuf)
                break;
            pthread_cond_wait(&p->more, &p->lock);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        parse_batch(p, rdbuf, bt);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    ldns_buffer_free(rdbuf);
    return NULL;
}

sg_parse_pool *sg_parse_pool_new(sg_zone_builder *b, int threads, const char *apex_str,
                                 _Atomic int *errors)
{
    sg_parse_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->b = b;
    p->apex_str = apex_str;
    p->errors = errors;
    p->threads = threads < 1 ? 1 : threads > THREADS_MAX ? THREADS_MAX : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->build, NULL);
    pthread_cond_init(&p->more, NULL);
    pthread_cond_init(&p->idle, NULL);
    if (!(p->rdbuf = ldns_buffer_new(65536))) {
        sg_parse_pool_free(p);
        return NULL;
    }
    /* the caller is one of the threads: it parses whenever the queue is long */
    for (int i = 1; i < p->threads; i++) {
        if (pthread_create(&p->th[p->started], NULL, worker, p) != 0)
            break; /* fewer threads: slower, not wrong */
        char name[16];
        snprintf(name, sizeof name, "sg-zoneparse/%d", i & 63);
        pthread_setname_np(p->th[p->started], name);
        p->started++;
    }
    return p;
}

/* The full current batch goes to the queue; the caller parses the oldest itself when the
 * threads are behind (or there are none). */
static void submit(sg_parse_pool *p)
{
    pbatch *bt = p->cur;
    p->cur = NULL;
    bt->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = bt;
    else
        p->head = bt;
    p->tail = bt;
    p->queued++;
    pthread_cond_signal(&p->more);
    pbatch *mine = p->queued > (size_t)p->started ? take(p) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (mine)
        parse_batch(p, p->rdbuf, mine);
}

int sg_parse_pool_add(sg_parse_pool *p, const char *text, size_t len, uint32_t default_ttl,
                      const ldns_rdf *origin, const char *file, unsigned line)
{
    if (!p->cur) {
        pthread_mutex_lock(&p->lock);
        pbatch *bt = p->spare;
        if (bt)
            p->spare = bt->next;
        pthread_mutex_unlock(&p->lock);
        if (!bt && !(bt = calloc(1, sizeof *bt)))
            return SG_ENOMEM;
        p->cur = bt;
    }
    pbatch *bt = p->cur;
    if (bt->len + len + 1 > bt->cap) {
        size_t nc = bt->cap ? bt->cap : 64 << 10;
        while (nc < bt->len + len + 1)
            nc *= 2;
        char *nt = realloc(bt->text, nc);
        if (!nt)
            return SG_ENOMEM;
        bt->text = nt;
        bt->cap = nc;
    }
    memcpy(bt->text + bt->len, text, len);
    bt->text[bt->len + len] = 0;
    bt->items[bt->n++] = (item){ bt->len, default_ttl, origin, file, line };
    bt->len += len + 1;
    /* alone, the caller parses each record at once: errors are logged in the file's order,
     * among the reader's own, as before there were threads */
    if (bt->n == BATCH || p->started == 0)
        submit(p);
    return 0;
}

int sg_parse_pool_finish(sg_parse_pool *p)
{
    if (p->cur && p->cur->n)
        submit(p);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        pbatch *bt = take(p);
        if (bt) {
            pthread_mutex_unlock(&p->lock);
            parse_batch(p, p->rdbuf, bt);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (!p->busy)
            break;
        pthread_cond_wait(&p->idle, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return atomic_load(&p->lost);
}

static void free_list(pbatch *bt)
{
    while (bt) {
        pbatch *next = bt->next;
        free(bt->text);
        free(bt);
        bt = next;
    }
}

void sg_parse_pool_free(sg_parse_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->th[i], NULL);
    free_list(p->head);
    free_list(p->spare);
    free_list(p->cur);
    ldns_buffer_free(p->rdbuf);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->build);
    pthread_cond_destroy(&p->more);
    pthread_cond_destroy(&p->idle);
    free(p);
}
