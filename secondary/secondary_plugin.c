/* SPDX-License-Identifier: MIT */
/* The `secondary` plugin. A background task per block keeps each zone fresh: it asks the
 * primaries for the SOA serial on the zone's refresh timer (retry after a failure), or at
 * once on NOTIFY, transfers a newer version (IXFR, AXFR when IXFR fails), publishes it in
 * the zone's slot and writes it to disk. Past the SOA expire time without a primary the
 * zone stops being served (SERVFAIL). Queries read the slot without locks. */
#include "secondary/secondary_plugin.h"
#include "secondary/ixfr.h"
#include "zones/serial.h"
#include "zones/zonedb.h"
#include "common/log.h"
#include "common/task.h"
#include "common/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define FIRST_RETRY 5      /* seconds, doubling, while no version was ever transferred */
#define FIRST_RETRY_MAX 300
#define OPCODE_NOTIFY 4

typedef struct szone {
    uint8_t apex[SG_NAME_MAX];
    char name[1024];
    char path[PATH_MAX];       /* persisted copy, "" for none */
    sg_zone_slot *slot;
    atomic_int notified;       /* a NOTIFY asked for a check */
    time_t next_check;
    time_t last_check;         /* when the primaries were last asked */
    uint32_t backoff;
    int expired;               /* logged once */
} szone;

typedef struct sstate {
    sg_secondary_cfg cfg;
    const sg_tsig_key *key;             /* NULL: no TSIG; owned by the runtime's keyring */
    const sg_tsig_keyring *keyring;
    szone *zones;
    int nzones;
    sg_task task;                       /* the refresh watcher; NOTIFY wakes it */
    sg_preparer prep;                   /* the chain's per-version work (sg_prepare) */
} sstate;

/* The chain's per-version work on z before it is published (or served by a new
 * instance): on this plugin's thread or at setup, never on a query. */
static void prepare(const sstate *st, sg_zone *z)
{
    int rc = sg_prepare(&st->prep, z, z->attach);
    if (rc)
        sg_log(SG_LOG_WARN, "secondary", z->apex_str, "preparing serial %u failed: %s",
               z->serial, sg_strerror(rc));
}

int sg_secondary_parse(const sg_cfg_block *blk, int nzones, sg_secondary_cfg *out)
{
    memset(out, 0, sizeof *out);
    out->timeout = 10;
    out->max_size = SG_SECONDARY_MAX_SIZE;
    if (blk->nargs > 0)
        return sg_cfg_error(blk, "secondary: options go in a { } block (it serves the server block's zones)");
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        uint64_t v;
        if (d->has_block)
            return sg_cfg_error(d, "secondary: '%s' takes no block", d->name);
        if (!strcmp(d->name, "from")) {
            if (d->nargs < 1)
                return sg_cfg_error(d, "from: expected one or more primary addresses (ADDR or ADDR:PORT)");
            for (int k = 0; k < d->nargs; k++) {
                if (out->nprimaries == SG_SECONDARY_PRIMARIES_MAX)
                    return sg_cfg_error(d, "from: at most %d primaries", SG_SECONDARY_PRIMARIES_MAX);
                if (sg_xfr_parse_peer(d->args[k], &out->primaries[out->nprimaries]))
                    return sg_cfg_error(d, "from: '%s' is not an IP address with an optional port", d->args[k]);
                out->nprimaries++;
            }
        } else if (!strcmp(d->name, "key")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->key - 1)
                return sg_cfg_error(d, "key: expected the name of a tsig-key from the global options");
            snprintf(out->key, sizeof out->key, "%s", d->args[0]);
        } else if (!strcmp(d->name, "file")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->file)
                return sg_cfg_error(d, "file: expected the path of the zone's persisted copy");
            if (nzones != 1)
                return sg_cfg_error(d, "file: only for a server block with one zone; use 'directory DIR'");
            snprintf(out->file, sizeof out->file, "%s", d->args[0]);
        } else if (!strcmp(d->name, "directory")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->directory - 300)
                return sg_cfg_error(d, "directory: expected a directory for the zones' persisted copies");
            snprintf(out->directory, sizeof out->directory, "%s", d->args[0]);
        } else if (!strcmp(d->name, "timeout")) {
            if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &v) || v < 1 || v > 600)
                return sg_cfg_error(d, "timeout: expected a duration from 1s to 10m");
            out->timeout = (uint32_t)v;
        } else if (!strcmp(d->name, "max-size")) {
            /* 0 would refuse every transfer: no limit is said in words */
            if (d->nargs == 1 && !strcmp(d->args[0], "unlimited"))
                out->max_size = 0;
            else if (d->nargs != 1 || sg_cfg_parse_size(d->args[0], &v) || v == 0)
                return sg_cfg_error(d, "max-size: expected a size from 1 to 1T (e.g. 512K, 64M, 2G) or 'unlimited'");
            else
                out->max_size = v;
        } else if (!strcmp(d->name, "max-records")) {
            if (d->nargs == 1 && !strcmp(d->args[0], "unlimited"))
                out->max_records = 0;
            else if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 1, UINT32_MAX, &v))
                return sg_cfg_error(d, "max-records: expected a number of records from 1 to %u or 'unlimited'",
                                    UINT32_MAX);
            else
                out->max_records = v;
        } else {
            return sg_cfg_error(d, "secondary: unknown option '%s'", d->name);
        }
    }
    if (out->nprimaries == 0)
        return sg_cfg_error(blk, "secondary: a 'from ADDR[:PORT]...' line is required");
    if (out->file[0] && out->directory[0])
        return sg_cfg_error(blk, "secondary: 'file' and 'directory' exclude each other");
    return 0;
}

/* SOA timers of a version: refresh, retry, expire (RFC 1035 3.3.13). */
static void soa_timers(const sg_zone *z, uint32_t *refresh, uint32_t *retry, uint32_t *expire)
{
    const uint8_t *rd = z->soa->rdata + 2;
    size_t o = sg_name_len(rd);
    o += sg_name_len(rd + o) + 4;
    const uint8_t *f = rd + o;
    *refresh = (uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 | (uint32_t)f[2] << 8 | f[3];
    *retry = (uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7];
    *expire = (uint32_t)f[8] << 24 | (uint32_t)f[9] << 16 | (uint32_t)f[10] << 8 | f[11];
    if (*refresh < 1)
        *refresh = 1;
    if (*retry < 1)
        *retry = 1;
}

/* A transfer over max-size or max-records: one error line, and the version served stays
 * until the next check (the retry timer, or the first-transfer backoff). */
static int refuse_oversized(const szone *sz, const sg_xfr_peer *p, const sg_zone *cur, const char *why)
{
    if (cur)
        sg_log(SG_LOG_ERR, "secondary", sz->name, "primary %s: %s; zone kept at serial %u", p->text, why,
               cur->serial);
    else
        sg_log(SG_LOG_ERR, "secondary", sz->name, "primary %s: %s; no version yet, answering SERVFAIL", p->text,
               why);
    return SG_ESPACE;
}

/* A newer version from one primary: IXFR when we have a version, AXFR when we have none
 * or IXFR does not work out. Returns 0 and *nz (NULL when the primary turned out to have
 * nothing newer), or an error with the reason logged. */
static int transfer(sstate *st, szone *sz, const sg_xfr_peer *p, const sg_zone *cur, sg_zone **nz,
                    const char **how, size_t *msgs)
{
    const sg_tsig_key *key = st->key;
    const sg_xfr_limits lim = { st->cfg.max_size, st->cfg.max_records };
    char why[512], source[160];
    ldns_rr_list *rrs = NULL;
    int kind = SG_XFR_UNKNOWN, rc;
    *nz = NULL;
    if (cur) {
        *how = "IXFR";
        rc = sg_xfr_fetch(p, sz->apex, cur->soa, key, (int)st->cfg.timeout * 1000, &st->task.stop, &lim, &rrs,
                          &kind, msgs, why, sizeof why);
        if (rc && sg_task_stopping(&st->task)) {
            return rc;
        } else if (rc == SG_ESPACE && kind != SG_XFR_INCREMENTAL) {
            /* the whole zone sent as IXFR: AXFR would bring the same again */
            return refuse_oversized(sz, p, cur, why);
        } else if (rc) {
            /* too many differences may still be a zone that fits */
            sg_log(SG_LOG_WARN, "secondary", sz->name, "IXFR from %s failed (%s); trying AXFR", p->text, why);
        } else if (kind == SG_XFR_UPTODATE) {
            ldns_rr_list_deep_free(rrs);
            return 0;
        } else if (kind == SG_XFR_INCREMENTAL) {
            snprintf(source, sizeof source, "IXFR from %s", p->text);
            rc = sg_ixfr_apply(cur, rrs, source, nz, why, sizeof why);
            ldns_rr_list_deep_free(rrs);
            rrs = NULL;
            uint64_t zb = rc ? 0 : sg_xfr_zone_bytes(*nz);
            if (!rc && st->cfg.max_size && zb > st->cfg.max_size) {
                /* its records, uncompressed, are what an AXFR of it would count */
                char lt[24];
                snprintf(why, sizeof why, "IXFR would grow the zone past max-size %s (%llu bytes of records)",
                         sg_cfg_format_size(st->cfg.max_size, lt, sizeof lt), (unsigned long long)zb);
                sg_zone_free(*nz);
                *nz = NULL;
                return refuse_oversized(sz, p, cur, why);
            }
            if (!rc)
                return 0;
            sg_log(SG_LOG_WARN, "secondary", sz->name, "IXFR from %s does not apply (%s); trying AXFR", p->text,
                   why);
        } else {
            *how = "IXFR (full zone)";
        }
    }
    if (!rrs) {
        *how = "AXFR";
        rc = sg_xfr_fetch(p, sz->apex, NULL, key, (int)st->cfg.timeout * 1000, &st->task.stop, &lim, &rrs, &kind,
                          msgs, why, sizeof why);
        if (rc == SG_ESPACE)
            return refuse_oversized(sz, p, cur, why);
        if (rc) {
            sg_log(SG_LOG_ERR, "secondary", sz->name, "AXFR from %s failed: %s", p->text, why);
            return rc;
        }
    }
    snprintf(source, sizeof source, "%s from %s", *how, p->text);
    rc = sg_xfr_build_full(sz->apex, rrs, source, nz);
    ldns_rr_list_deep_free(rrs);
    if (rc)
        sg_log(SG_LOG_ERR, "secondary", sz->name, "%s: the zone fails the zone checks (see above)", source);
    return rc;
}

/* One refresh of a zone: the primaries in order until one answers. cur is the version
 * served, held for the whole refresh. */
static void refresh_from(sstate *st, szone *sz, time_t now, const sg_zone *cur)
{
    const sg_tsig_key *key = st->key;
    int ok = 0;
    for (int i = 0; i < st->cfg.nprimaries && !ok && !sg_task_stopping(&st->task); i++) {
        const sg_xfr_peer *p = &st->cfg.primaries[i];
        char why[512];
        uint32_t serial;
        int rc = sg_xfr_query_soa(p, sz->apex, key, (int)st->cfg.timeout * 1000, &st->task.stop, &serial, why,
                                  sizeof why);
        if (rc) {
            sg_log(SG_LOG_WARN, "secondary", sz->name, "primary %s: SOA query failed: %s", p->text, why);
            continue;
        }
        if (cur && !sg_serial_newer(serial, cur->serial)) {
            if (serial != cur->serial)
                sg_log(SG_LOG_WARN, "secondary", sz->name, "primary %s has serial %u, not newer than ours (%u)",
                       p->text, serial, cur->serial);
            else
                sg_log(SG_LOG_DEBUG, "secondary", sz->name, "primary %s: serial %u is current", p->text, serial);
            ok = 1;
            break;
        }
        sg_zone *nz = NULL;
        const char *how = "";
        size_t msgs = 0;
        if (transfer(st, sz, p, cur, &nz, &how, &msgs))
            continue;
        if (!nz) {
            ok = 1; /* the primary had nothing newer after all */
            break;
        }
        if (cur && !sg_serial_newer(nz->serial, cur->serial)) {
            sg_log(SG_LOG_WARN, "secondary", sz->name, "%s from %s gave serial %u, not newer than ours (%u); ignored",
                   how, p->text, nz->serial, cur->serial);
            sg_zone_free(nz);
            continue;
        }
        nz->loaded_at = now;
        uint32_t new_serial = nz->serial;
        size_t nrecords = nz->nrecords;
        if (sz->path[0] && sg_zone_write_file(nz, sz->path) == 0)
            nz->path = strdup(sz->path); /* where this version can be found (status) */
        prepare(st, nz);
        if (sg_zonedb_slot_publish(sz->slot, nz)) {
            sg_log(SG_LOG_ERR, "secondary", sz->name, "out of memory publishing serial %u", new_serial);
            continue;
        }
        /* cur, now replaced, stays readable for the slot's grace period */
        if (cur)
            sg_log(SG_LOG_INFO, "secondary", sz->name, "serial %u -> %u by %s from %s (%zu records, %zu messages)",
                   cur->serial, new_serial, how, p->text, nrecords, msgs);
        else
            sg_log(SG_LOG_INFO, "secondary", sz->name, "serial %u by %s from %s (%zu records, %zu messages)",
                   new_serial, how, p->text, nrecords, msgs);
        cur = nz;
        ok = 1;
    }
    if (ok) {
        sg_zonedb_slot_set_confirmed(sz->slot, now);
        /* the file's time is when it was last confirmed: the same second the expire timer
         * counts from, not the time the (maybe slow) transfer ended, or a restart right
         * after the zone expired would find its copy still fresh and serve it again */
        const struct timespec at[2] = { { .tv_sec = now }, { .tv_sec = now } };
        if (sz->path[0])
            utimensat(AT_FDCWD, sz->path, at, 0);
        uint32_t refresh_s, retry_s, expire_s;
        soa_timers(cur, &refresh_s, &retry_s, &expire_s);
        sz->next_check = now + refresh_s;
        sz->backoff = 0;
        if (sz->expired)
            sg_log(SG_LOG_INFO, "secondary", sz->name, "serving again, serial %u", cur->serial);
        sz->expired = 0;
        return;
    }
    if (!cur) {
        sz->backoff = sz->backoff ? sz->backoff * 2 : FIRST_RETRY;
        if (sz->backoff > FIRST_RETRY_MAX)
            sz->backoff = FIRST_RETRY_MAX;
        sz->next_check = now + sz->backoff;
        return;
    }
    uint32_t refresh_s, retry_s, expire_s;
    soa_timers(cur, &refresh_s, &retry_s, &expire_s);
    sz->next_check = now + retry_s;
    time_t confirmed = sg_zonedb_slot_confirmed(sz->slot);
    if (now - confirmed >= (time_t)expire_s) {
        sg_log(SG_LOG_ERR, "secondary", sz->name,
               "expired: no primary confirmed serial %u for %u seconds (SOA expire); answering SERVFAIL",
               cur->serial, expire_s);
        sz->expired = 1;
        sg_zonedb_slot_publish(sz->slot, NULL);
    }
}

static void refresh(sstate *st, szone *sz, time_t now)
{
    /* held: a transfer of a large zone may outlast the grace period of a version that
     * another task (a reload's new chain) replaces meanwhile */
    sg_zone *cur = sg_zonedb_slot_hold(sz->slot);
    refresh_from(st, sz, now, cur);
    sg_zonedb_release(cur);
}

static void *watch(void *arg)
{
    sstate *st = arg;
    while (!sg_task_stopping(&st->task)) {
        time_t now = time(NULL);
        for (int i = 0; i < st->nzones && !sg_task_stopping(&st->task); i++) {
            szone *sz = &st->zones[i];
            /* NOTIFY over UDP is easily forged: at most one check a second comes of it,
             * so that a flood of them cannot make us a flood of queries to the primary */
            if (now >= sz->next_check || (atomic_load(&sz->notified) && now > sz->last_check)) {
                atomic_store(&sz->notified, 0);
                sz->last_check = now;
                refresh(st, sz, now);
            }
            sg_zonedb_slot_reap(sz->slot);
        }
        /* a NOTIFY for a zone checked this second waits for the next one (the
         * limit above); one that came while we worked ends this sleep at once */
        sg_task_sleep(&st->task, 1000);
    }
    return NULL;
}

static void secondary_teardown(void *state)
{
    sstate *st = state;
    if (!st)
        return;
    for (int i = 0; i < st->nzones; i++)
        sg_zonedb_slot_release(st->zones[i].slot);
    free(st->zones);
    sg_task_destroy(&st->task);
    free(st);
}

/* A persisted copy lets a restart serve at once, the expire timer counting from the
 * file's time (set at every confirmation). */
static void load_persisted(const sstate *st, szone *sz)
{
    struct stat fst;
    if (!sz->path[0] || sg_zonedb_slot_zone(sz->slot) || stat(sz->path, &fst) != 0)
        return;
    sg_zone *z = NULL;
    if (sg_zone_load_file(sz->path, sz->name, &z)) {
        sg_log(SG_LOG_WARN, "secondary", sz->name, "persisted copy %s does not load; waiting for a transfer",
               sz->path);
        return;
    }
    uint32_t refresh_s, retry_s, expire_s;
    soa_timers(z, &refresh_s, &retry_s, &expire_s);
    if (time(NULL) - fst.st_mtime >= (time_t)expire_s) {
        sg_log(SG_LOG_WARN, "secondary", sz->name, "persisted copy %s (serial %u) is past its expire time; not served",
               sz->path, z->serial);
        sg_zone_free(z);
        return;
    }
    sg_log(SG_LOG_INFO, "secondary", sz->name, "serving the persisted copy %s, serial %u, until the primary is asked",
           sz->path, z->serial);
    sg_zonedb_slot_set_confirmed(sz->slot, fst.st_mtime);
    prepare(st, z);
    sg_zonedb_slot_publish(sz->slot, z); /* on failure (memory) the transfer comes soon */
}

static int secondary_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    sstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    sg_task_init(&st->task);
    int rc = sg_secondary_parse(blk, ctx->nzones, &st->cfg);
    if (rc)
        goto fail;
    st->keyring = ctx->tsig;
    st->prep = sg_setup_preparer(ctx);
    if (st->cfg.key[0] && !(st->key = sg_tsig_find(ctx->tsig, st->cfg.key))) {
        rc = sg_cfg_error(blk, "secondary: no tsig-key '%s' in the global options", st->cfg.key);
        goto fail;
    }
    st->zones = calloc((size_t)ctx->nzones, sizeof *st->zones);
    if (!st->zones) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        szone *sz = &st->zones[i];
        memcpy(sz->apex, ctx->zones[i], sg_name_len(ctx->zones[i]));
        sg_name_to_str(sz->apex, sz->name, sizeof sz->name);
        if (st->cfg.file[0]) {
            snprintf(sz->path, sizeof sz->path, "%s", st->cfg.file);
        } else if (st->cfg.directory[0]) {
            /* "example.test." -> DIR/example.test.zone; the root -> DIR/root.zone */
            char base[1024];
            snprintf(base, sizeof base, "%s", sz->name);
            size_t bl = strlen(base);
            if (bl > 1 && base[bl - 1] == '.')
                base[bl - 1] = 0;
            for (char *c = base; *c; c++)
                if (*c == '/')
                    *c = '_';
            int w = snprintf(sz->path, sizeof sz->path, "%s/%s.zone", st->cfg.directory, bl <= 1 ? "root" : base);
            if (w < 0 || (size_t)w >= sizeof sz->path) {
                rc = sg_cfg_error(blk, "secondary: directory path too long for zone %s", sz->name);
                goto fail;
            }
        }
    }
    st->nzones = ctx->nzones;
    if (ctx->check_only) {
        *state_out = st;
        return 0;
    }
    for (int i = 0; i < st->nzones; i++) {
        if ((rc = sg_zonedb_slot_acquire(st->zones[i].name, &st->zones[i].slot)))
            goto fail;
        /* a slot a reload kept is served by this instance's chain from now on */
        sg_zone *held = sg_zonedb_slot_hold(st->zones[i].slot);
        if (held)
            prepare(st, held);
        sg_zonedb_release(held);
        load_persisted(st, &st->zones[i]);
    }
    *state_out = st;
    return 0;
fail:
    secondary_teardown(st);
    return rc;
}

static int secondary_start(void *state)
{
    sstate *st = state;
    return sg_task_start(&st->task, "sg-secondary", watch, st);
}

static void secondary_stop(void *state)
{
    sstate *st = state;
    if (st)
        sg_task_stop(&st->task);
}

/* ---- the query path ----------------------------------------------------------------- */

static int secondary_handle(sg_handler *self, sg_query *q)
{
    sstate *st = self->state;
    const sg_zone *best = NULL;
    int missing = 0;
    for (int i = 0; i < st->nzones; i++) {
        const sg_zone *z = sg_zonedb_slot_zone(st->zones[i].slot);
        if (z) {
            if (sg_zone_better_match(z, best, q))
                best = z;
        } else if (sg_name_is_sub(q->qname, st->zones[i].apex)) {
            missing = 1;
        }
    }
    if (!best)
        return missing ? SG_ENOTFOUND : sg_next(self, q); /* not transferred yet, or expired */
    sg_zone_answer(best, q);
    return 0;
}

/* ---- NOTIFY --------------------------------------------------------------------------- */

/* From a listed primary, TSIG-checked when a key is set, a NOTIFY starts a check of the
 * zone at once; an unlisted sender's is dropped. */
static void secondary_notify(void *state, sg_query *q)
{
    sstate *st = state;
    char from[80] = "?";
    if (q->client && q->client->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)q->client)->sin6_addr, from, sizeof from);
    else if (q->client && q->client->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)q->client)->sin_addr, from, sizeof from);
    szone *sz = NULL;
    for (int i = 0; i < st->nzones; i++)
        if (sg_name_eq(st->zones[i].apex, q->qname))
            sz = &st->zones[i];
    char qn[1024];
    sg_name_to_str(q->qname, qn, sizeof qn);
    int listed = 0;
    for (int i = 0; i < st->cfg.nprimaries; i++)
        listed |= sg_xfr_peer_host_eq(&st->cfg.primaries[i], q->client, q->client_len);
    if (!listed) {
        /* RFC 1996 3.10: only from the zone's masters; say nothing to anyone else */
        sg_log(SG_LOG_WARN, "secondary", sz ? sz->name : qn, "NOTIFY from %s ignored: not a listed primary", from);
        q->drop = 1;
        return;
    }
    if (!sz || q->qtype != SG_TYPE_SOA) {
        q->rcode = SG_RCODE_NOTAUTH;
        sg_log(SG_LOG_WARN, "secondary", qn, "NOTIFY from %s for a name that is not one of our zones' apex", from);
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    sg_tsig_ctx ctx;
    sg_tsig_ctx_init(&ctx, NULL);
    if (st->key) {
        uint16_t err = SG_TSIG_NOERROR;
        int vr = sg_tsig_verify_request(&ctx, st->keyring, q->wire, q->wire_len, now, &err);
        if (vr || err || ctx.key != st->key) {
            sg_log(SG_LOG_WARN, "secondary", sz->name, "NOTIFY from %s refused: %s", from,
                   vr == SG_ENOTFOUND ? "not signed with TSIG"
                   : vr               ? "malformed TSIG"
                   : err              ? "TSIG does not verify with the key it names"
                                      : "signed with another key than the zone's");
            q->rcode = SG_RCODE_NOTAUTH;
            if (!vr && err) {
                /* tell the sender why, as RFC 8945 5.2 asks */
                sg_wire_render(q);
                if (sg_tsig_sign(&ctx, q->out, &q->out_len, q->out_cap, now))
                    q->out_len = 0;
            }
            sg_tsig_ctx_deinit(&ctx);
            return;
        }
    }
    sg_log(SG_LOG_INFO, "secondary", sz->name, "NOTIFY from %s: checking the primaries now", from);
    atomic_store(&sz->notified, 1);
    sg_task_wake(&st->task);
    q->aa = 1;
    q->rcode = SG_RCODE_NOERROR;
    if (st->key) {
        /* a reply to a signed request is signed (RFC 8945 5.3) */
        sg_wire_render(q);
        if (sg_tsig_sign(&ctx, q->out, &q->out_len, q->out_cap, now))
            q->out_len = 0;
    }
    sg_tsig_ctx_deinit(&ctx);
}

/* A transfer replaces a zone without a reload: the answer cache keys on this. */
static uint64_t secondary_version(void *state, const sg_query *q)
{
    (void)q;
    const sstate *st = state;
    uint64_t v = 0;
    for (int i = 0; i < st->nzones; i++) {
        const sg_zone *z = sg_zonedb_slot_zone(st->zones[i].slot);
        v = v * 0x100000001b3ULL + (z ? z->gen : 0) + 1;
    }
    return v;
}

static int secondary_nzones(const void *state)
{
    return state ? ((const sstate *)state)->nzones : 0;
}

static const sg_zone *secondary_zone(const void *state, int i)
{
    const sstate *st = state;
    if (!st || i < 0 || i >= st->nzones || !st->zones[i].slot)
        return NULL;
    return sg_zonedb_slot_zone(st->zones[i].slot);
}

const sg_plugin sg_plugin_secondary = {
    .name = "secondary",
    .setup = secondary_setup,
    .start = secondary_start,
    .handle = secondary_handle,
    .version = secondary_version,
    .stop = secondary_stop,
    .teardown = secondary_teardown,
    .notify = secondary_notify,
    .nzones = secondary_nzones,
    .zone = secondary_zone,
};
