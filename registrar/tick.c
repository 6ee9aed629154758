/* SPDX-License-Identifier: MIT */
/* sg_reg_tick: the daemon's once-a-second look at a zone. It decides, the worker thread
 * talks to the network, and only the tick touches the keystore (its handle is not
 * thread-safe), writing the worker's journal as events. */
#include "registrar/tick.h"

#include "common/log.h"
#include "keystore/rollover.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What zone status shows while a CDS-scanning parent has not taken the set yet. */
#define CDS_WAIT "waiting for the registry's CDS scan"

static int starts_with(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* Order-independent: the same set listed in another order is the same set. */
static uint64_t fingerprint(const sg_reg_dsset *s, int unsigning)
{
    uint64_t sum = 0x9e3779b97f4a7c15ULL * (uint64_t)(s->n + 1) + (uint64_t)unsigning;
    for (size_t i = 0; i < s->n; i++) {
        const sg_reg_ds *d = &s->v[i];
        uint64_t h = 1469598103934665603ULL;
        uint8_t head[4] = { (uint8_t)(d->tag >> 8), (uint8_t)d->tag, d->algorithm, d->digest_type };
        for (int k = 0; k < 4; k++)
            h = (h ^ head[k]) * 1099511628211ULL;
        for (size_t k = 0; k < d->digest_len; k++)
            h = (h ^ d->digest[k]) * 1099511628211ULL;
        sum += h;
    }
    return sum ? sum : 1;
}

static sg_reg_zstate *zstate(sg_registrar *r, const char *zone)
{
    for (sg_reg_zstate *z = r->zones; z; z = z->next)
        if (!strcmp(z->zone, zone))
            return z;
    sg_reg_zstate *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    snprintf(z->zone, sizeof z->zone, "%s", zone);
    z->next = r->zones;
    r->zones = z;
    return z;
}

/* One events row "registrar PROVIDER: ..." (redacted). */
static int reg_event(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                     const char *state, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int reg_event(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                     const char *state, const char *fmt, ...)
{
    char reason[400];
    int n = snprintf(reason, sizeof reason, "registrar %s: ", r->cfg.provider);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason + n, sizeof reason - (size_t)n, fmt, ap);
    va_end(ap);
    sg_reg_cred_redact(&r->cred, reason); /* the last line of defence */
    sg_reg_count(r, state);
    return sg_ks_event_add(ks, now, zone, 0, NULL, state, reason);
}

int sg_reg_write_journal(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                         sg_reg_journal *j)
{
    int rc = 0;
    for (size_t i = 0; i < j->n && !rc; i++)
        rc = reg_event(r, ks, zone, now, j->v[i].state, "%s", j->v[i].reason);
    return rc;
}

void sg_reg_ctx_setup(const sg_registrar *r, sg_reg_ctx *ctx, const char *zone,
                      sg_reg_journal *journal)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = &r->cfg;
    ctx->cred = &r->cred;
    ctx->zone = zone;
    ctx->journal = journal;
    ctx->stopping = &r->stopping;
    ctx->base = r->cfg.endpoint[0] ? r->cfg.endpoint : r->prov ? r->prov->default_base : "";
    if (r->cfg.domain[0])
        snprintf(ctx->domain, sizeof ctx->domain, "%s", r->cfg.domain);
    else
        snprintf(ctx->domain, sizeof ctx->domain, "%.*s", (int)strlen(zone) - 1, zone);
}

void sg_reg_ctx_end(const sg_registrar *r, sg_reg_ctx *ctx)
{
    if (!r->prov || !r->prov->end)
        return;
    char err[sizeof ctx->err];
    memcpy(err, ctx->err, sizeof err);
    uint32_t ra = ctx->retry_after;
    r->prov->end(ctx);
    memcpy(ctx->err, err, sizeof err);
    ctx->retry_after = ra;
}

int sg_reg_zone_want(sg_keystore *ks, const char *zn, int64_t now, sg_reg_dsset *want,
                     int *unsigning_out, int *pending_seen_out)
{
    sg_ks_zone zr;
    int rc = sg_ks_zone_get(ks, zn, &zr);
    if (rc)
        return rc;
    int unsigning = starts_with(zr.state, SG_ROLL_STATE_UNSIGNING);
    int gone_recorded = starts_with(zr.state, SG_ROLL_STATE_DS_GONE) ||
                        !strcmp(zr.state, SG_ROLL_STATE_UNSIGNED);
    sg_ks_key *keys = NULL;
    size_t nk = 0; /* the DS set's keys; the rules below are about it, not all keys */
    if ((rc = sg_ks_ds_set(ks, zn, now, &keys, &nk, NULL)))
        return rc;
    int pending_seen = 0;
    for (size_t i = 0; i < nk; i++)
        pending_seen |= !keys[i].ds_seen;
    free(keys);
    /* a withdrawn DS must be seen gone from the parent too: the engine's waits after a
     * withdrawal count from there */
    size_t nall = 0;
    if (!pending_seen && !sg_ks_key_list(ks, zn, &keys, &nall)) {
        for (size_t i = 0; i < nall; i++)
            pending_seen |= sg_ks_key_ds_gone_pending(&keys[i], now);
        free(keys);
    }
    if (unsigning_out)
        *unsigning_out = unsigning;
    if (pending_seen_out)
        *pending_seen_out = pending_seen;
    if (nk == 0 && !unsigning)
        return 0; /* nothing submitted yet: never push an empty set over a live one */
    if (nk == 0 && gone_recorded)
        return 0;
    if ((rc = sg_reg_desired(ks, zn, now, want)))
        return rc;
    return 1;
}

/* Ask every parent server for the zone's DS RRset: how many serve j->want, and the
 * longest TTL served (what a cache may hold). quiet: the look before a push, which only
 * gathers the TTL of the set caches hold now and journals nothing. */
static void ask_parent(sg_registrar *r, sg_reg_job *j, int quiet)
{
    char **servers = NULL, err[256] = "";
    int n = 0;
    int rc = sg_reg_parent_servers(&r->cfg, j->zone, &servers, &n, err, sizeof err);
    if (!quiet) {
        j->rc = rc;
        if (rc)
            snprintf(j->err, sizeof j->err, "%s", err);
        j->total = n;
    }
    for (int i = 0; i < n; i++) {
        sg_reg_dsset served;
        err[0] = 0;
        int qrc = sg_reg_parent_query(servers[i], j->zone, r->cfg.query_timeout, &served,
                                      err, sizeof err);
        if (qrc) {
            if (!quiet)
                sg_reg_note_add(&j->journal, "parent-query", "%s: %s", servers[i], err);
            free(servers[i]);
            continue;
        }
        if (served.n && served.ttl >= j->ttl_seen) {
            j->ttl_seen = served.ttl;
            snprintf(j->ttl_src, sizeof j->ttl_src, "%s", servers[i]);
        }
        if (!quiet) {
            char list[200] = "";
            size_t o = 0;
            for (size_t k = 0; k < served.n && o < sizeof list - 8; k++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%u/%u/%u", k ? " " : "",
                                      served.v[k].tag, served.v[k].algorithm,
                                      served.v[k].digest_type);
            int ok = sg_reg_served_matches(&served, &j->want);
            j->matched += ok;
            char ttl[32] = "";
            if (served.n)
                snprintf(ttl, sizeof ttl, ", TTL %u", served.ttl);
            sg_reg_note_add(&j->journal, "parent-query", "%s serves %zu DS%s%s%s (%s)",
                            servers[i], served.n, served.n ? ": " : "", list, ttl,
                            ok ? "as expected" : "not yet the expected set");
        }
        sg_reg_dsset_deinit(&served);
        free(servers[i]);
    }
    free(servers);
}

static void *worker(void *arg)
{
    sg_registrar *r = arg;
    sg_reg_job *j = r->job;
    if (j->kind == SG_REG_JOB_PUSH) {
        /* the set the parent serves before we change it is the one caches hold: its TTL
         * is what the next waits must cover */
        ask_parent(r, j, 1);
        sg_reg_ctx ctx;
        sg_reg_ctx_setup(r, &ctx, j->zone, &j->journal);
        j->rc = sg_reg_push(&ctx, r->prov, &j->want, &j->changed);
        sg_reg_ctx_end(r, &ctx);
        j->retry_after = ctx.retry_after;
        snprintf(j->err, sizeof j->err, "%s", ctx.err[0] ? ctx.err : sg_strerror(j->rc));
    } else {
        ask_parent(r, j, 0);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

/* What the parent was seen to serve becomes a fact the rollover engine waits on; a TTL
 * above the policy's is said once, in the journal and the log. */
static int observe_ttl(sg_registrar *r, sg_keystore *ks, sg_reg_zstate *z, const sg_reg_job *j,
                       int64_t now)
{
    if (!j->ttl_seen)
        return 0;
    int rc = sg_ks_fact_observe(ks, j->zone, SG_KS_FACT_PARENT_DS_TTL, j->ttl_seen, j->ttl_src, now);
    if (rc || j->ttl_seen <= j->want.ttl || j->ttl_seen == z->ttl_warned)
        return rc;
    z->ttl_warned = j->ttl_seen;
    sg_log(SG_LOG_WARN, "registrar", j->zone,
           "the parent (%s) serves the DS with TTL %us, above the policy's parent-ds-ttl %us: "
           "rollovers wait for %us", j->ttl_src, j->ttl_seen, j->want.ttl, j->ttl_seen);
    return reg_event(r, ks, j->zone, now, "parent-ttl",
                     "%s serves the DS with TTL %us, above the policy's %us: rollover waits use %us",
                     j->ttl_src, j->ttl_seen, j->want.ttl, j->ttl_seen);
}

/* A push that keeps failing is the parent lagging as much as a check that never matches. */
static int push_alert(sg_registrar *r, sg_keystore *ks, sg_reg_zstate *z, const sg_reg_job *j,
                      int64_t now)
{
    if (!z->failing_since)
        z->failing_since = now;
    if (z->alerted || now - z->failing_since < (int64_t)r->cfg.alert_timeout)
        return 0;
    z->alerted = 1;
    sg_log(SG_LOG_WARN, "registrar", j->zone,
           "ALERT: the registrar has not taken the DS set for %llds: %s",
           (long long)(now - z->failing_since), j->err);
    return reg_event(r, ks, j->zone, now, "parent-alert",
                     "the registrar has not taken the DS set for %llds (last: %s)",
                     (long long)(now - z->failing_since), j->err);
}

static int start_job(sg_registrar *r, int kind, const char *zone, const sg_reg_dsset *want,
                     uint64_t fp, int gone)
{
    sg_reg_job *j = calloc(1, sizeof *j);
    if (!j)
        return SG_ENOMEM;
    j->kind = kind;
    j->fp = fp;
    j->gone = gone;
    snprintf(j->zone, sizeof j->zone, "%s", zone);
    sg_reg_dsset_init(&j->want);
    j->want.ttl = want->ttl;
    for (size_t i = 0; i < want->n; i++)
        if (sg_reg_dsset_add(&j->want, &want->v[i])) {
            sg_reg_dsset_deinit(&j->want);
            free(j);
            return SG_ENOMEM;
        }
    r->job = j;
    atomic_store(&r->done, 0);
    pthread_mutex_lock(&r->lock);
    int e = pthread_create(&r->thread, NULL, worker, r);
    if (e == 0)
        pthread_setname_np(r->thread, "sg-registrar");
    r->running = e == 0;
    r->joined = 0;
    pthread_mutex_unlock(&r->lock);
    if (e) {
        r->job = NULL;
        sg_reg_dsset_deinit(&j->want);
        free(j);
        return SG_ENOMEM;
    }
    return 0;
}


/* Whether a failed push is news for the log: the first failure, or an error other than
 * the one last said (a retry every few seconds otherwise fills the log with the same
 * line; the journal keeps every attempt). */
static int say_err(sg_reg_zstate *z, const sg_reg_job *j)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(unsigned)j->rc;
    for (const char *p = j->err; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    h |= 1; /* never 0, which means nothing said */
    if (h == z->said_err)
        return 0;
    z->said_err = h;
    return 1;
}

/* What the worker finished: events, then the state it leads to. */
static int finish_job(sg_registrar *r, sg_keystore *ks, int64_t now)
{
    pthread_mutex_lock(&r->lock);
    if (r->running)
        pthread_join(r->thread, NULL);
    r->running = 0;
    pthread_mutex_unlock(&r->lock);
    sg_reg_job *j = r->job;
    r->job = NULL;
    sg_reg_zstate *z = zstate(r, j->zone);
    int rc = sg_reg_write_journal(r, ks, j->zone, now, &j->journal);
    if (!rc && z)
        rc = observe_ttl(r, ks, z, j, now);
    if (!z || rc)
        goto out;
    if (j->kind == SG_REG_JOB_PUSH) {
        if (j->rc == 0) {
            unsigned failed = z->attempts;
            z->pushed_fp = j->fp;
            z->attempts = 0;
            if (z->failing_since)
                z->alerted = 0; /* the failure alert is over; the parent may lag next */
            z->failing_since = 0;
            z->verify = j->changed;
            z->next_check = now; /* look at once: some parents are quick */
            rc = reg_event(r, ks, j->zone, now, "reg-ok", "%s",
                       j->changed ? "the registrar accepted the DS set"
                                  : "the registrar already has the DS set");
            if (z->said_err)
                sg_log(SG_LOG_WARN, "registrar", j->zone, "%s: %s after %u failed attempt%s",
                       r->cfg.provider, j->changed ? "DS set pushed" : "DS set already at the registrar",
                       failed, failed == 1 ? "" : "s");
            else
                sg_log(SG_LOG_INFO, "registrar", j->zone, "%s: %s", r->cfg.provider,
                       j->changed ? "DS set pushed" : "DS set already at the registrar");
            z->said_err = 0;
        } else if (j->rc == SG_REG_ERETRY) {
            z->attempts++;
            uint32_t d = sg_reg_backoff(z->attempts, r->cfg.backoff_base, r->cfg.backoff_max,
                                        j->retry_after, (uint32_t)rand_r(&r->seed));
            z->next_push = now + d;
            rc = reg_event(r, ks, j->zone, now, "reg-retry", "%s; retry %u in %us", j->err,
                       z->attempts, d);
            if (say_err(z, j))
                sg_log(SG_LOG_WARN, "registrar", j->zone, "%s: %s; retrying (next in %us; said "
                       "again when the error changes or the push succeeds)", r->cfg.provider, j->err, d);
            else
                sg_log(SG_LOG_DEBUG, "registrar", j->zone, "%s: %s; retry %u in %us",
                       r->cfg.provider, j->err, z->attempts, d);
            if (!rc)
                rc = push_alert(r, ks, z, j, now);
        } else {
            /* a refusal will not change by itself soon; try again after the longest
             * backoff in case the operator fixes it at the registrar */
            z->attempts++;
            z->next_push = now + r->cfg.backoff_max;
            rc = reg_event(r, ks, j->zone, now, "reg-error", "%s (%s); next try in %us", j->err,
                       sg_strerror(j->rc), r->cfg.backoff_max);
            if (say_err(z, j))
                sg_log(SG_LOG_ERR, "registrar", j->zone, "%s: %s", r->cfg.provider, j->err);
            else
                sg_log(SG_LOG_DEBUG, "registrar", j->zone, "%s: %s (again)", r->cfg.provider, j->err);
            if (!rc)
                rc = push_alert(r, ks, z, j, now);
        }
    } else if (j->fp == z->want_fp && j->fp == z->pushed_fp) {
        int all = j->rc == 0 && j->total > 0 && j->matched == j->total;
        if (all && j->gone) {
            if ((rc = sg_roll_ds_gone(ks, j->zone, now)) == 0)
                rc = reg_event(r, ks, j->zone, now, "parent-gone",
                           "the DS is gone from all %d parent servers", j->total);
            z->waiting_since = 0;
            z->alerted = 0;
        } else if (all) {
            int marked = 0, gone = 0;
            z->verify = 0;
            if ((rc = sg_roll_ds_withdrawn_gone(ks, j->zone, now, &gone)) == 0 && gone)
                rc = reg_event(r, ks, j->zone, now, "parent-seen",
                               "all %d parent servers no longer serve %d withdrawn DS",
                               j->total, gone);
            if (!rc && (rc = sg_roll_ds_seen(ks, j->zone, 0, now, &marked)) == 0)
                rc = reg_event(r, ks, j->zone, now, "parent-seen",
                           "all %d parent servers serve the DS set; %d key%s marked seen",
                           j->total, marked, marked == 1 ? "" : "s");
            sg_log(SG_LOG_INFO, "registrar", j->zone, "the parent serves the DS set");
            z->waiting_since = 0;
            z->alerted = 0;
        } else {
            z->next_check = now + r->cfg.check_interval;
            if (j->rc)
                rc = reg_event(r, ks, j->zone, now, "parent-wait", "parent servers: %s", j->err);
            else
                rc = reg_event(r, ks, j->zone, now, "parent-wait",
                           "%s%d of %d parent servers serve the %s; next check in %us",
                           r->prov && r->prov->scan_only ? CDS_WAIT ": " : "", j->matched,
                           j->total, j->gone ? "empty DS set" : "DS set", r->cfg.check_interval);
            if (!rc && !z->alerted && z->waiting_since &&
                now - z->waiting_since >= (int64_t)r->cfg.alert_timeout) {
                z->alerted = 1;
                rc = reg_event(r, ks, j->zone, now, "parent-alert",
                           "the parent has not served the expected DS set for %llds",
                           (long long)(now - z->waiting_since));
                sg_log(SG_LOG_WARN, "registrar", j->zone,
                       "ALERT: the parent still does not serve the expected DS set after %llds",
                       (long long)(now - z->waiting_since));
            }
        }
    }
out:
    sg_reg_dsset_deinit(&j->want);
    sg_reg_journal_free(&j->journal);
    free(j);
    return rc;
}

int sg_reg_want_events(sg_registrar *r, sg_keystore *ks, const char *zn, int64_t now,
                       const sg_reg_dsset *want, sg_reg_note_fn note, void *arg)
{
    char t[200], line[300];
    int rc = 0;
    for (size_t i = 0; i < want->n && !rc; i++) {
        sg_reg_ds_text(&want->v[i], t, sizeof t);
        snprintf(line, sizeof line, "the parent should have DS %s", t);
        rc = reg_event(r, ks, zn, now, "reg-want", "%s", line);
        if (note)
            note(arg, "reg-want", line);
    }
    if (!rc && want->n == 0) {
        rc = reg_event(r, ks, zn, now, "reg-want", "the parent should have no DS (unsigning)");
        if (note)
            note(arg, "reg-want", "the parent should have no DS (unsigning)");
    }
    return rc;
}

int sg_reg_tick(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now)
{
    if (!r || !ks || !zone)
        return SG_EINVAL;
    r->next_tick = now + 1; /* until we know better: the next second, as always */
    char zn[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    int rc = 0;
    if (r->job) {
        if (!atomic_load(&r->done))
            return 0; /* one call at a time; the others wait a tick */
        if ((rc = finish_job(r, ks, now)))
            return rc;
    }
    sg_reg_zstate *z = zstate(r, zn);
    if (!z)
        return SG_ENOMEM;
    sg_reg_dsset want;
    int unsigning = 0, pending_seen = 0;
    if ((rc = sg_reg_zone_want(ks, zn, now, &want, &unsigning, &pending_seen)) <= 0) {
        if (rc == 0 && !r->job)
            r->next_tick = INT64_MAX; /* nothing wanted at the parent yet */
        return rc;
    }
    rc = 0;
    uint64_t fp = fingerprint(&want, unsigning && want.n == 0);
    if (fp != z->want_fp) {
        z->want_fp = fp;
        z->attempts = 0;
        z->next_push = now;
        z->waiting_since = 0;
        z->failing_since = 0;
        z->alerted = 0;
        rc = sg_reg_want_events(r, ks, zn, now, &want, NULL, NULL);
    }
    int checking = (!r->manual || r->cfg.nparent_ns) &&
                   (pending_seen || z->verify || (unsigning && want.n == 0));
    if (!rc && fp != z->pushed_fp) {
        if (r->prov && r->prov->scan_only) {
            /* nothing to push: the zone's CDS/CDNSKEY (published by the signer by the same
             * rule as this set) are what the registry scans; the parent check confirms */
            rc = reg_event(r, ks, zn, now, "reg-scan", "%s %zu DS: %s", CDS_WAIT, want.n,
                           unsigning && want.n == 0 ? "the zone's CDS/CDNSKEY ask for none"
                                                    : "the zone publishes them as CDS/CDNSKEY");
            z->pushed_fp = fp;
            z->next_check = now;
        } else if (r->manual) {
            sg_reg_journal j = { 0 };
            sg_reg_manual_announce(zn, &want, unsigning, &j);
            rc = sg_reg_write_journal(r, ks, zn, now, &j);
            sg_reg_journal_free(&j);
            z->pushed_fp = fp;
        } else if (now >= z->next_push) {
            /* written before the call: a kill during it still leaves it in the history */
            rc = reg_event(r, ks, zn, now, "reg-push", "pushing %zu DS (TTL %us)%s", want.n,
                           want.ttl, z->attempts ? " again" : "");
            if (!rc)
                rc = start_job(r, SG_REG_JOB_PUSH, zn, &want, fp, 0);
        } else {
            r->next_tick = z->next_push; /* waiting out a backoff */
        }
    } else if (!rc && checking && now >= z->next_check) {
        if (!z->waiting_since)
            z->waiting_since = now;
        rc = start_job(r, SG_REG_JOB_CHECK, zn, &want, fp, want.n == 0);
    } else if (!rc && checking) {
        r->next_tick = z->next_check;
    } else if (!rc && !r->job && fp == z->pushed_fp) {
        r->next_tick = INT64_MAX; /* pushed, and nothing to confirm: idle */
    }
    if (r->job || rc)
        r->next_tick = now + 1;
    sg_reg_dsset_deinit(&want);
    return rc;
}

int64_t sg_reg_next_tick(const sg_registrar *r)
{
    return r ? r->next_tick : INT64_MAX;
}
