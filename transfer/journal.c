/* SPDX-License-Identifier: MIT */
/* The IXFR journal: differences between successive versions, bounded in size and age. */
#include "transfer/transfer.h"
#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

static int cmp_ptr(const void *a, const void *b)
{
    return sg_xfr_rr_cmp(*(const sg_xfr_rr *const *)a, *(const sg_xfr_rr *const *)b);
}

/* The version's records sorted, SOA left out (the stream writes SOAs itself). */
static const sg_xfr_rr **sorted(const sg_xfr_snap *s, size_t *n_out)
{
    const sg_xfr_rr **v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->rrs[i].type != SG_TYPE_SOA)
            v[n++] = &s->rrs[i];
    qsort(v, n, sizeof *v, cmp_ptr);
    *n_out = n;
    return v;
}

static int copy_rr(sg_arena *m, const sg_xfr_rr *r, sg_xfr_rr *out)
{
    *out = *r;
    out->owner = sg_arena_dup(m, r->owner, sg_name_len(r->owner));
    out->rdata = sg_arena_dup(m, r->rdata, r->rdlen ? r->rdlen : 1);
    return out->owner && out->rdata ? 0 : SG_ENOMEM;
}

static int push(sg_xfr_diff *d, int add, const sg_xfr_rr *r, size_t *cap)
{
    sg_xfr_rr **arr = add ? &d->add : &d->del;
    size_t *n = add ? &d->nadd : &d->ndel;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        sg_xfr_rr *na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return SG_ENOMEM;
        *arr = na;
        *cap = nc;
    }
    d->bytes += sg_name_len(r->owner) + 10 + r->rdlen;
    return copy_rr(&d->mem, r, &(*arr)[(*n)++]);
}

int sg_xfr_diff_make(const sg_xfr_snap *a, const sg_xfr_snap *b, int64_t now, sg_xfr_diff **out)
{
    sg_xfr_diff *d = calloc(1, sizeof *d);
    if (!d)
        return SG_ENOMEM;
    atomic_init(&d->refs, 1);
    sg_arena_init_growing(&d->mem, 64 * 1024);
    d->from = a->serial;
    d->to = b->serial;
    d->at = now;
    size_t na = 0, nb = 0, capd = 0, capa = 0;
    const sg_xfr_rr **va = sorted(a, &na), **vb = sorted(b, &nb);
    int rc = SG_ENOMEM;
    if (!va || !vb || copy_rr(&d->mem, &a->rrs[a->soa_index], &d->soa_from) ||
        copy_rr(&d->mem, &b->rrs[b->soa_index], &d->soa_to))
        goto out;
    size_t i = 0, j = 0;
    rc = 0;
    while (!rc && (i < na || j < nb)) {
        int c = i == na ? 1 : j == nb ? -1 : sg_xfr_rr_cmp(va[i], vb[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            rc = push(d, 0, va[i++], &capd);
        } else {
            rc = push(d, 1, vb[j++], &capa);
        }
    }
    d->bytes += 2 * (d->soa_from.rdlen + 64);
out:
    free(va);
    free(vb);
    if (rc) {
        sg_xfr_diff_unref(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sg_xfr_diff_unref(sg_xfr_diff *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    free(d->del);
    free(d->add);
    sg_arena_deinit(&d->mem);
    free(d);
}

void sg_xfr_journal_init(sg_xfr_journal *j, size_t max_bytes, int64_t max_age)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->lock, NULL);
    j->max_bytes = max_bytes;
    j->max_age = max_age;
}

static void drop_oldest(sg_xfr_journal *j)
{
    j->bytes -= j->d[0]->bytes;
    sg_xfr_diff_unref(j->d[0]);
    memmove(j->d, j->d + 1, (j->n - 1) * sizeof *j->d);
    j->n--;
}

void sg_xfr_journal_deinit(sg_xfr_journal *j)
{
    while (j->n)
        drop_oldest(j);
    free(j->d);
    pthread_mutex_destroy(&j->lock);
}

static void trim(sg_xfr_journal *j, int64_t now)
{
    while (j->n && (j->bytes > j->max_bytes || (j->max_age && now - j->d[0]->at > j->max_age)))
        drop_oldest(j);
}

void sg_xfr_journal_clear(sg_xfr_journal *j)
{
    pthread_mutex_lock(&j->lock);
    while (j->n)
        drop_oldest(j);
    pthread_mutex_unlock(&j->lock);
}

void sg_xfr_journal_add(sg_xfr_journal *j, sg_xfr_diff *d, int64_t now)
{
    pthread_mutex_lock(&j->lock);
    if (j->n && j->d[j->n - 1]->to != d->from)
        while (j->n)
            drop_oldest(j);
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 16;
        sg_xfr_diff **nd = realloc(j->d, nc * sizeof *nd);
        if (!nd) {
            /* without room the chain would have a hole: start again from this diff's end */
            while (j->n)
                drop_oldest(j);
            sg_xfr_diff_unref(d);
            pthread_mutex_unlock(&j->lock);
            return;
        }
        j->d = nd;
        j->cap = nc;
    }
    j->d[j->n++] = d;
    j->bytes += d->bytes;
    trim(j, now);
    pthread_mutex_unlock(&j->lock);
}

int sg_xfr_journal_chain(sg_xfr_journal *j, uint32_t from, uint32_t to, int64_t now,
                         sg_xfr_diff ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (from == to)
        return 0;
    pthread_mutex_lock(&j->lock);
    trim(j, now);
    size_t start = j->n;
    for (size_t i = 0; i < j->n; i++)
        if (j->d[i]->from == from) {
            start = i;
            break;
        }
    size_t end = start;
    while (end < j->n && j->d[end]->to != to)
        end++;
    if (start == j->n || end == j->n) {
        pthread_mutex_unlock(&j->lock);
        return SG_ENOTFOUND;
    }
    size_t n = end - start + 1;
    sg_xfr_diff **v = malloc(n * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&j->lock);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = j->d[start + i];
        atomic_fetch_add(&v[i]->refs, 1);
    }
    pthread_mutex_unlock(&j->lock);
    *out = v;
    *n_out = n;
    return 0;
}
