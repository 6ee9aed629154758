/* SPDX-License-Identifier: MIT */
/* The `update` plugin. An UPDATE signed with one of the block's keys is checked against
 * the zone's served version (apply.c), the difference committed to the journal
 * (journal.c), the new version prepared by the chain (the signer's denial chain) and
 * published in the zone's zonedb slot; then the reply. Queries for a zone with updates
 * are answered from the slot (this plugin sits before `file` in the chain); a zone
 * without any is the file's. At start the journal is replayed on top of the loaded file. */
#include "update/update_plugin.h"
#include "update/apply.h"
#include "update/journal.h"
#include "tsig/tsig.h"
#include "zones/serial.h"
#include "zones/zonedb.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/task.h"
#include "common/wire.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One update at a time in the process, each building on the version the one before it
 * made: per process, not per instance, because during a reload the outgoing instance and
 * its successor serve the same zones (the same zonedb slot and journal) side by side.
 * Updates are rare; a journal commit is the longest wait. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct uzone {
    uint8_t apex[SG_NAME_MAX];
    char name[1024];
    sg_zone_slot *slot;         /* the newest version made by updates; NULL in it: the file's */
    time_t dirty_since;         /* the first update not yet written back; 0: none */
} uzone;

typedef struct ustate {
    sg_upd_policy pol;
    enum sg_serial_policy serial;
    char journal_path[PATH_MAX]; /* "" : beside the first zone's file */
    uint64_t write_back;         /* seconds; 0: only on request */
    const sg_tsig_keyring *keyring;
    uzone *zones;
    int nzones;
    sg_preparer prep;
    sg_upd_journal *j;
    int journal_failed;          /* logged once */
    sg_task task;                /* sg-update: reaps replaced versions, writes back */
} ustate;

/* ---- config ----------------------------------------------------------------------- */

static int parse_other(const sg_cfg_block *d)
{
    return !strcmp(d->name, "journal") || !strcmp(d->name, "serial") || !strcmp(d->name, "write-back");
}

static int parse_options(const sg_cfg_block *blk, ustate *st)
{
    st->serial = SG_SERIAL_INCREMENT;
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (!strcmp(d->name, "journal")) {
            if (d->nargs != 1 || !d->args[0][0] || strlen(d->args[0]) >= sizeof st->journal_path)
                return sg_cfg_error(d, "journal: expected the path of the update journal (an SQLite file)");
            snprintf(st->journal_path, sizeof st->journal_path, "%s", d->args[0]);
        } else if (!strcmp(d->name, "serial")) {
            if (d->nargs != 1 || sg_serial_policy_parse(d->args[0], &st->serial) || st->serial == SG_SERIAL_KEEP)
                return sg_cfg_error(d, "serial: expected increment, unixtime or dateserial");
        } else if (!strcmp(d->name, "write-back")) {
            if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &st->write_back) || st->write_back < 1)
                return sg_cfg_error(d, "write-back: expected a duration (e.g. 5m)");
        }
    }
    return 0;
}

/* ---- versions --------------------------------------------------------------------- */

static void prepare(const ustate *st, sg_zone *z)
{
    int rc = sg_prepare(&st->prep, z, z->attach);
    if (rc)
        sg_log(SG_LOG_WARN, "update", z->apex_str, "preparing serial %u failed: %s", z->serial, sg_strerror(rc));
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

typedef struct replay_ctx {
    sg_upd_replay_set set;
    char why[512];
} replay_ctx;

static int replay_one(void *arg, uint32_t from, uint32_t to, const char *text)
{
    replay_ctx *r = arg;
    return sg_upd_replay_add(&r->set, from, to, text, r->why, sizeof r->why);
}

/* Bring a zone's slot in line with what is loaded: the version this plugin made stays
 * (a reload that kept the file); a newly loaded file gets the journal replayed on top of
 * it, or, when the journal does not start at its serial (the operator edited the file
 * and moved its serial), the file wins and the journal is dropped (Knot's rule). */
static int journal_open(ustate *st, const sg_zone *z);

static void sync_zone(ustate *st, uzone *uz, sg_zone *given)
{
    sg_zone *cur = sg_zonedb_slot_hold(uz->slot);
    sg_zone *top = given;
    if (!top && sg_zonedb_acquire_apex(uz->apex, &top)) {
        sg_log(SG_LOG_WARN, "update", uz->name, "no loaded version of the zone: updates are refused until it loads");
        goto out;
    }
    if (cur && (top == cur || cur->gen > top->gen)) {
        prepare(st, cur); /* this instance's chain serves it from now on */
        /* a reload: what the outgoing instance had not written back yet is still due */
        if (st->write_back && !uz->dirty_since && !journal_open(st, top) &&
            sg_upd_journal_count(st->j, uz->name) > 0)
            uz->dirty_since = time(NULL);
        goto out;
    }
    journal_open(st, top);
    int n = st->j ? sg_upd_journal_count(st->j, uz->name) : 0;
    if (n == 0) {
        if (cur)
            sg_zonedb_slot_publish(uz->slot, NULL);
        goto out;
    }
    replay_ctx r = { .why = "" };
    sg_zone *v = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sg_upd_replay_init(&r.set);
    int rc = sg_upd_journal_each(st->j, uz->name, replay_one, &r);
    if (!rc)
        rc = sg_upd_replay_finish(&r.set, top, &v, r.why, sizeof r.why);
    else {
        r.set.failed = 1;
        sg_upd_replay_finish(&r.set, top, &v, NULL, 0); /* frees what was gathered */
    }
    if (rc || !v) {
        sg_log(SG_LOG_WARN, "update", uz->name,
               "zone file %s (serial %u) does not continue into the update journal %s (%s): the file wins, "
               "%d journaled updates dropped", top->path ? top->path : "?", top->serial, st->journal_path,
               r.why[0] ? r.why : sg_strerror(rc), n);
        sg_zone_free(v);
        sg_upd_journal_drop(st->j, uz->name);
        if (cur)
            sg_zonedb_slot_publish(uz->slot, NULL);
        goto out;
    }
    sg_zone *rv = v;
    rv->loaded_at = time(NULL);
    if (top->path)
        rv->path = strdup(top->path);
    prepare(st, rv);
    sg_log(SG_LOG_INFO, "update", uz->name, "serial %u -> %u: %d journaled updates replayed on %s in %.0f ms",
           top->serial, rv->serial, n, top->path ? top->path : "the loaded zone", ms_since(&t0));
    uz->dirty_since = time(NULL);
    sg_zonedb_slot_publish(uz->slot, rv);
out:
    if (!given)
        sg_zonedb_release(top);
    sg_zonedb_release(cur);
}

/* The journal, opened once: at `journal PATH`, else beside the zone file of z (the first
 * zone of the block that gets here). 0, or an error logged once. */
static int journal_open(ustate *st, const sg_zone *z)
{
    if (st->j)
        return 0;
    if (st->journal_failed)
        return SG_EIO;
    if (!st->journal_path[0] && z && z->path)
        snprintf(st->journal_path, sizeof st->journal_path, "%s.update.db", z->path);
    if (!st->journal_path[0]) {
        sg_log(SG_LOG_ERR, "update", z ? z->apex_str : NULL,
               "no zone file to put the update journal beside: give 'journal PATH'; updates are refused");
        st->journal_failed = 1;
        return SG_EINVAL;
    }
    int rc = sg_upd_journal_open(st->journal_path, &st->j);
    if (rc) {
        sg_log(SG_LOG_ERR, "update", z ? z->apex_str : NULL,
               "the update journal %s cannot be opened: updates are refused", st->journal_path);
        st->journal_failed = 1;
    }
    return rc;
}

/* A producer's new version of one of our zones (the `file` plugin calls this at its setup,
 * before anything starts and before the chain's `transfer` makes a version of it): the
 * journal is replayed on it here, so that no one ever sees the file's version without
 * the updates made since (a secondary would be sent it by IXFR, then the updates again). */
static int update_prepare(void *state, const sg_zone *z, sg_attach *slot)
{
    (void)slot;
    ustate *st = state;
    for (int i = 0; i < st->nzones; i++) {
        uzone *uz = &st->zones[i];
        if (!uz->slot || !sg_name_eq(uz->apex, z->apex))
            continue;
        pthread_mutex_lock(&g_lock);
        sync_zone(st, uz, (sg_zone *)z);
        pthread_mutex_unlock(&g_lock);
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void update_teardown(void *state)
{
    ustate *st = state;
    if (!st)
        return;
    for (int i = 0; i < st->nzones; i++)
        sg_zonedb_slot_release(st->zones[i].slot);
    free(st->zones);
    sg_upd_journal_close(st->j);
    sg_upd_policy_deinit(&st->pol);
    sg_task_destroy(&st->task);
    free(st);
}

static int update_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    if (blk->nargs > 0 || !blk->has_block)
        return sg_cfg_error(blk, "update: expected a { } block with 'key NAME' lines");
    if (ctx->runtime_zones)
        return sg_cfg_error(blk, "update: not for a block of zones added at run time (dynamic)");
    /* a secondary's zone lives in the same zonedb slot (by apex) and belongs to its
     * primary: updates go there */
    for (int i = 0; ctx->block && i < ctx->block->nchildren; i++)
        if (!strcmp(ctx->block->children[i].name, "secondary"))
            return sg_cfg_error(blk, "update: not for zones fed by 'secondary' (line %d): send "
                                     "updates to their primary", ctx->block->children[i].line);
    ustate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    sg_task_init(&st->task);
    int rc = sg_upd_policy_parse(blk, ctx->tsig, parse_other, &st->pol);
    if (!rc)
        rc = parse_options(blk, st);
    if (rc)
        goto fail;
    st->keyring = ctx->tsig;
    st->prep = sg_setup_preparer(ctx);
    if (!(st->zones = calloc((size_t)ctx->nzones, sizeof *st->zones))) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        uzone *uz = &st->zones[i];
        memcpy(uz->apex, ctx->zones[i], sg_name_len(ctx->zones[i]));
        sg_name_lower(uz->apex);
        sg_name_to_str(uz->apex, uz->name, sizeof uz->name);
        st->nzones++;
        if (!ctx->check_only && (rc = sg_zonedb_slot_acquire(uz->name, &uz->slot)))
            goto fail;
    }
    *state_out = st;
    return 0;
fail:
    update_teardown(st);
    return rc;
}

static int write_back_zone(ustate *st, uzone *uz, char *why, size_t cap);

static void *task_main(void *arg)
{
    ustate *st = arg;
    while (!sg_task_stopping(&st->task)) {
        time_t now = time(NULL);
        for (int i = 0; i < st->nzones; i++) {
            uzone *uz = &st->zones[i];
            sg_zonedb_slot_reap(uz->slot);
            if (st->write_back && uz->dirty_since && now - uz->dirty_since >= (time_t)st->write_back) {
                char why[256];
                pthread_mutex_lock(&g_lock);
                if (write_back_zone(st, uz, why, sizeof why))
                    sg_log(SG_LOG_WARN, "update", uz->name, "write-back failed: %s", why);
                pthread_mutex_unlock(&g_lock);
            }
        }
        sg_task_sleep(&st->task, 1000);
    }
    return NULL;
}

static int update_start(void *state)
{
    ustate *st = state;
    /* versions the prepare hook did not see (a reload that kept the file): served by this
     * instance's chain from now on */
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < st->nzones; i++)
        sync_zone(st, &st->zones[i], NULL);
    pthread_mutex_unlock(&g_lock);
    return sg_task_start(&st->task, "sg-update", task_main, st);
}

static void update_stop(void *state)
{
    ustate *st = state;
    if (st)
        sg_task_stop(&st->task);
}

/* ---- write-back ---------------------------------------------------------------------- */

/* The zone with its updates into its file (atomic rename), then the journal emptied:
 * the file now starts where the journal ended. Called under g_lock, so no update of
 * ours lands between; signetctl zone flush does the same from outside (write_back.c). */
static int write_back_zone(ustate *st, uzone *uz, char *why, size_t cap)
{
    sg_zone *cur = sg_zonedb_slot_hold(uz->slot);
    int rc = 0;
    uint32_t serial = 0;
    if (!cur || !st->j) {
        uz->dirty_since = 0;
        sg_zonedb_release(cur);
        return 0; /* nothing updated: the file is the zone */
    }
    if (!cur->path) {
        snprintf(why, cap, "the zone has no file");
        rc = SG_EINVAL;
    } else if ((rc = sg_upd_write_back(st->j, cur->path, uz->name, &serial, why, cap)) == SG_ENOTFOUND) {
        rc = 0; /* flushed from outside already */
        uz->dirty_since = 0;
    } else if (!rc) {
        sg_log(SG_LOG_INFO, "update", uz->name, "serial %u written to %s; journal emptied", serial, cur->path);
        uz->dirty_since = 0;
    }
    sg_zonedb_release(cur);
    return rc;
}

/* ---- UPDATE --------------------------------------------------------------------------- */

static void client_text(const sg_query *q, char *from, size_t cap)
{
    snprintf(from, cap, "?");
    if (q->client && q->client->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)q->client)->sin6_addr, from, (socklen_t)cap);
    else if (q->client && q->client->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)q->client)->sin_addr, from, (socklen_t)cap);
}

static void reply(sg_query *q, sg_tsig_ctx *ctx, int rcode, uint64_t now)
{
    q->rcode = (uint16_t)rcode;
    q->an.n = q->ns.n = q->ar.n = 0;
    if (!ctx->key && !ctx->error)
        return; /* unsigned: the core renders it */
    sg_wire_render(q);
    if (sg_tsig_sign(ctx, q->out, &q->out_len, q->out_cap, now))
        q->out_len = 0;
}

static const char *rcode_name(int rc)
{
    static const char *n[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                               "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
    return rc >= 0 && rc <= 10 ? n[rc] : "?";
}

static void update_update(void *state, sg_query *q)
{
    ustate *st = state;
    uint64_t now = (uint64_t)time(NULL);
    char from[80], zn[1024];
    client_text(q, from, sizeof from);
    sg_name_to_str(q->qname, zn, sizeof zn);
    sg_tsig_ctx ctx;
    sg_tsig_ctx_init(&ctx, NULL);
    uint16_t err = SG_TSIG_NOERROR;
    int vr = sg_tsig_verify_request(&ctx, st->keyring, q->wire, q->wire_len, now, &err);
    if (vr == SG_ENOTFOUND) {
        sg_log(SG_LOG_WARN, "update", zn, "UPDATE from %s refused: not signed with TSIG", from);
        reply(q, &ctx, SG_RCODE_REFUSED, now);
        goto done;
    }
    if (vr) {
        reply(q, &ctx, SG_RCODE_FORMERR, now);
        goto done;
    }
    if (err) {
        /* RFC 8945 5.2: NOTAUTH, the TSIG error said in a TSIG RR */
        sg_log(SG_LOG_WARN, "update", zn, "UPDATE from %s refused: TSIG error %u", from, err);
        reply(q, &ctx, SG_RCODE_NOTAUTH, now);
        goto done;
    }
    uzone *uz = NULL;
    for (int i = 0; i < st->nzones; i++)
        if (sg_name_eq(st->zones[i].apex, q->qname))
            uz = &st->zones[i];
    if (!uz) {
        reply(q, &ctx, SG_RCODE_NOTAUTH, now); /* 3.1.1: not a zone we are primary for */
        goto done;
    }
    if (q->qtype != SG_TYPE_SOA) {
        reply(q, &ctx, SG_RCODE_FORMERR, now);
        goto done;
    }
    int ki = sg_upd_policy_key(&st->pol, ctx.key);
    if (ki < 0) {
        sg_log(SG_LOG_WARN, "update", uz->name, "UPDATE from %s refused: key %s may not update the zone", from,
               ctx.key->name_text);
        reply(q, &ctx, SG_RCODE_REFUSED, now);
        goto done;
    }
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, q->wire, q->wire_len) != LDNS_STATUS_OK) {
        reply(q, &ctx, SG_RCODE_FORMERR, now);
        goto done;
    }
    char why[512] = "";
    int rcode;
    pthread_mutex_lock(&g_lock);
    sg_zone *base = sg_zonedb_slot_hold(uz->slot);
    if (!base)
        sg_zonedb_acquire_apex(uz->apex, &base);
    if (base)
        journal_open(st, base);
    if (!st->j || !base) {
        rcode = SG_RCODE_SERVFAIL;
        snprintf(why, sizeof why, "%s", !base ? "the zone is not loaded" : "no journal");
    } else {
        sg_zone *nz = NULL;
        ldns_rr_list *diff = NULL;
        struct timespec t0;
        double t_build, t_journal, t_prepare;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rcode = sg_upd_apply(base, pkt, &st->pol, ki, st->serial, (int64_t)now, &nz, &diff, why, sizeof why);
        t_build = ms_since(&t0);
        if (rcode == SG_RCODE_NOERROR && nz) {
            char *text = sg_upd_diff_text(diff);
            /* on disk before anyone is told NOERROR */
            if (!text || sg_upd_journal_append(st->j, uz->name, base->serial, nz->serial, (int64_t)now,
                                               ctx.key->name_text, text)) {
                rcode = SG_RCODE_SERVFAIL;
                snprintf(why, sizeof why, "the journal did not take it");
                sg_zone_free(nz);
            } else {
                t_journal = ms_since(&t0) - t_build;
                size_t nd = 0;
                for (size_t i = 1; i < ldns_rr_list_rr_count(diff) &&
                                   ldns_rr_get_type(ldns_rr_list_rr(diff, i + 1)) != LDNS_RR_TYPE_SOA; i++)
                    nd++;
                size_t na = ldns_rr_list_rr_count(diff) - nd - 4;
                nz->loaded_at = (time_t)now;
                if (base->path)
                    nz->path = strdup(base->path);
                uint32_t from_serial = base->serial, to_serial = nz->serial;
                prepare(st, nz);
                t_prepare = ms_since(&t0) - t_build - t_journal;
                sg_zonedb_slot_publish(uz->slot, nz);
                if (!uz->dirty_since)
                    uz->dirty_since = (time_t)now;
                sg_log(SG_LOG_INFO, "update", uz->name, "UPDATE from %s with key %s: serial %u -> %u (%zu deleted, "
                       "%zu added; version built in %.1f ms, journaled in %.1f ms, prepared in %.1f ms)", from,
                       ctx.key->name_text, from_serial, to_serial, nd, na, t_build, t_journal, t_prepare);
            }
            free(text);
        }
        if (diff)
            ldns_rr_list_deep_free(diff);
    }
    sg_zonedb_release(base);
    pthread_mutex_unlock(&g_lock);
    ldns_pkt_free(pkt);
    if (rcode != SG_RCODE_NOERROR)
        sg_log(rcode == SG_RCODE_SERVFAIL ? SG_LOG_ERR : SG_LOG_INFO, "update", uz->name,
               "UPDATE from %s with key %s: %s (%s)", from, ctx.key->name_text, rcode_name(rcode), why);
    q->aa = 0;
    reply(q, &ctx, rcode, now);
done:
    sg_tsig_ctx_deinit(&ctx);
}

/* ---- the query path ---------------------------------------------------------------- */

static int update_handle(sg_handler *self, sg_query *q)
{
    ustate *st = self->state;
    const sg_zone *best = NULL;
    for (int i = 0; i < st->nzones; i++) {
        const sg_zone *z = sg_zonedb_slot_zone(st->zones[i].slot);
        if (z && sg_name_is_sub(q->qname, z->apex) && sg_zone_better_match(z, best, q))
            best = z;
    }
    if (!best)
        return sg_next(self, q); /* no updates: the file's version */
    sg_zone_answer(best, q);
    return 0;
}

/* An update replaces a zone without a reload: the answer cache keys on this. */
static uint64_t update_version(void *state, const sg_query *q)
{
    (void)q;
    const ustate *st = state;
    uint64_t v = 0;
    for (int i = 0; i < st->nzones; i++) {
        const sg_zone *z = st->zones[i].slot ? sg_zonedb_slot_zone(st->zones[i].slot) : NULL;
        v = v * 0x100000001b3ULL + (z ? z->gen : 0) + 1;
    }
    return v;
}

/* The versions updates made (NULL for a zone without: its file's plugin serves it), so
 * that `signetctl zone diff` and status see what is served. */
static int update_nzones(const void *state)
{
    return state ? ((const ustate *)state)->nzones : 0;
}

static const sg_zone *update_zone(const void *state, int i)
{
    const ustate *st = state;
    if (!st || i < 0 || i >= st->nzones || !st->zones[i].slot)
        return NULL;
    return sg_zonedb_slot_zone(st->zones[i].slot);
}

/* Updates are an addition: a zone without any is served by its file's plugin, which says
 * whether it is ready. */
static int update_ready(const void *state, sg_buf *why)
{
    (void)state;
    (void)why;
    return 1;
}

static void update_writes(const void *state, sg_file_fn fn, void *arg)
{
    const ustate *st = state;
    if (st->journal_path[0])
        fn(arg, st->journal_path, "update journal");
}

const sg_plugin sg_plugin_update = {
    .name = "update",
    .setup = update_setup,
    .start = update_start,
    .handle = update_handle,
    .version = update_version,
    .stop = update_stop,
    .teardown = update_teardown,
    .update = update_update,
    .writes = update_writes,
    .prepare = update_prepare,
    .nzones = update_nzones,
    .zone = update_zone,
    .ready = update_ready,
};
