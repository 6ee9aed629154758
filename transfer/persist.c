/* SPDX-License-Identifier: MIT */
/* The current version and the IXFR journal in one file, so that a restart serves the same
 * version (same serial, same signatures) and can still answer IXFR from older serials. */
#include "transfer/transfer.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* File layout (big-endian): "SGXFRJ01", the version (serial, key fingerprints, resign
 * time, denial, record count, records), the diff count and each diff (serials, time, the
 * two SOAs, deleted, added), "END!". A record: owner length, owner, type, TTL, RDATA
 * length, RDATA. */
static const char MAGIC[8] = { 'S', 'G', 'X', 'F', 'R', 'J', '0', '1' };

static int put(FILE *f, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return fwrite(b, 1, (size_t)bytes, f) == (size_t)bytes ? 0 : -1;
}

static int put_rr(FILE *f, const sg_xfr_rr *r)
{
    size_t ol = sg_name_len(r->owner);
    if (put(f, ol, 1) || fwrite(r->owner, 1, ol, f) != ol || put(f, r->type, 2) ||
        put(f, r->ttl, 4) || put(f, r->rdlen, 2) || fwrite(r->rdata, 1, r->rdlen, f) != r->rdlen)
        return -1;
    return 0;
}

static int put_rrs(FILE *f, const sg_xfr_rr *v, size_t n)
{
    if (put(f, n, 8))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (put_rr(f, &v[i]))
            return -1;
    return 0;
}

int sg_xfr_persist_save(const char *path, const sg_xfr_snap *s, sg_xfr_journal *j)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return SG_EIO;
    int bad = fwrite(MAGIC, 1, 8, f) != 8 || put(f, s->serial, 4) || put(f, s->key_fp, 8) ||
              put(f, s->zsk_fp, 8) || put(f, s->ksk_fp, 8) || put(f, s->resign_at, 4) ||
              put(f, (uint32_t)s->denial, 4) || put_rrs(f, s->rrs, s->n);
    pthread_mutex_lock(&j->lock);
    bad = bad || put(f, j->n, 4);
    for (size_t i = 0; !bad && i < j->n; i++) {
        const sg_xfr_diff *d = j->d[i];
        bad = put(f, d->from, 4) || put(f, d->to, 4) || put(f, (uint64_t)d->at, 8) ||
              put_rr(f, &d->soa_from) || put_rr(f, &d->soa_to) || put_rrs(f, d->del, d->ndel) ||
              put_rrs(f, d->add, d->nadd);
    }
    pthread_mutex_unlock(&j->lock);
    bad = bad || fwrite("END!", 1, 4, f) != 4 || fflush(f) || fsync(fileno(f));
    if (fclose(f) || bad || rename(tmp, path)) {
        unlink(tmp);
        return SG_EIO;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct reader {
    FILE *f;
    int bad;
} reader;

static uint64_t get(reader *r, int bytes)
{
    uint8_t b[8];
    if (r->bad || fread(b, 1, (size_t)bytes, r->f) != (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | b[i];
    return v;
}

/* One record into arena memory; owners equal to the previous one share its copy (the
 * version's records of one name share one owner pointer). */
static void get_rr(reader *r, sg_arena *m, const uint8_t **last_owner, sg_xfr_rr *out)
{
    uint8_t owner[SG_NAME_MAX];
    size_t ol = (size_t)get(r, 1);
    if (r->bad || ol == 0 || ol > SG_NAME_MAX || fread(owner, 1, ol, r->f) != ol ||
        sg_name_len(owner) != ol) {
        r->bad = 1;
        return;
    }
    out->type = (uint16_t)get(r, 2);
    out->ttl = (uint32_t)get(r, 4);
    out->rdlen = (uint16_t)get(r, 2);
    if (r->bad)
        return;
    if (!*last_owner || sg_name_len(*last_owner) != ol || memcmp(*last_owner, owner, ol))
        *last_owner = sg_arena_dup(m, owner, ol);
    uint8_t *rd = sg_arena_alloc(m, out->rdlen ? out->rdlen : 1);
    if (!*last_owner || !rd || (out->rdlen && fread(rd, 1, out->rdlen, r->f) != out->rdlen)) {
        r->bad = 1;
        return;
    }
    out->owner = *last_owner;
    out->rdata = rd;
}

static sg_xfr_rr *get_rrs(reader *r, sg_arena *m, size_t *n_out)
{
    uint64_t n = get(r, 8);
    if (r->bad || n > (1u << 28)) {
        r->bad = 1;
        return NULL;
    }
    sg_xfr_rr *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *last = NULL;
    for (uint64_t i = 0; i < n && !r->bad; i++)
        get_rr(r, m, &last, &v[i]);
    *n_out = (size_t)n;
    return v;
}

int sg_xfr_persist_load(const char *path, sg_xfr_journal *j, int64_t now,
                        sg_xfr_snap **snap_out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return SG_ENOTFOUND;
    reader r = { .f = f };
    char magic[8];
    sg_xfr_snap *s = calloc(1, sizeof *s);
    sg_xfr_diff **diffs = NULL;
    uint32_t nd = 0;
    if (!s || fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8))
        r.bad = 1;
    if (s) {
        atomic_init(&s->refs, 1);
        sg_arena_init_growing(&s->mem, 1 << 20);
    }
    if (!r.bad) {
        s->serial = (uint32_t)get(&r, 4);
        s->key_fp = get(&r, 8);
        s->zsk_fp = get(&r, 8);
        s->ksk_fp = get(&r, 8);
        s->resign_at = (uint32_t)get(&r, 4);
        s->denial = (int)(int32_t)get(&r, 4);
        s->rrs = get_rrs(&r, &s->mem, &s->n);
        s->cap_ = s->n;
        s->soa_index = s->n;
        for (size_t i = 0; i < s->n && !r.bad; i++) {
            s->bytes += sg_name_len(s->rrs[i].owner) + 10 + s->rrs[i].rdlen;
            if (s->rrs[i].type == SG_TYPE_SOA && s->soa_index == s->n)
                s->soa_index = i;
        }
        if (s->soa_index == s->n)
            r.bad = 1;
        nd = (uint32_t)get(&r, 4);
        if (nd > 100000)
            r.bad = 1;
    }
    if (!r.bad && nd && !(diffs = calloc(nd, sizeof *diffs)))
        r.bad = 1;
    for (uint32_t i = 0; i < nd && !r.bad; i++) {
        sg_xfr_diff *d = diffs[i] = calloc(1, sizeof *d);
        if (!d) {
            r.bad = 1;
            break;
        }
        atomic_init(&d->refs, 1);
        sg_arena_init_growing(&d->mem, 64 * 1024);
        d->from = (uint32_t)get(&r, 4);
        d->to = (uint32_t)get(&r, 4);
        d->at = (int64_t)get(&r, 8);
        const uint8_t *last = NULL;
        get_rr(&r, &d->mem, &last, &d->soa_from);
        last = NULL;
        get_rr(&r, &d->mem, &last, &d->soa_to);
        d->del = get_rrs(&r, &d->mem, &d->ndel);
        d->add = get_rrs(&r, &d->mem, &d->nadd);
        for (size_t k = 0; k < d->ndel && !r.bad; k++)
            d->bytes += sg_name_len(d->del[k].owner) + 10 + d->del[k].rdlen;
        for (size_t k = 0; k < d->nadd && !r.bad; k++)
            d->bytes += sg_name_len(d->add[k].owner) + 10 + d->add[k].rdlen;
        d->bytes += 2 * (d->soa_from.rdlen + 64u);
    }
    char end[4];
    if (!r.bad && (fread(end, 1, 4, f) != 4 || memcmp(end, "END!", 4)))
        r.bad = 1;
    fclose(f);
    if (!r.bad && sg_xfr_snap_index(s))
        r.bad = 1;
    if (r.bad) {
        for (uint32_t i = 0; diffs && i < nd; i++)
            sg_xfr_diff_unref(diffs[i]);
        free(diffs);
        sg_xfr_snap_unref(s);
        return SG_EMALFORMED;
    }
    for (uint32_t i = 0; i < nd; i++)
        sg_xfr_journal_add(j, diffs[i], now);
    free(diffs);
    *snap_out = s;
    return 0;
}
