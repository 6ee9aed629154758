/* SPDX-License-Identifier: MIT */
/* The rollover engine's step: the transition the table (rollover_decide.c) says is due is
 * written to the keystore, one transaction per event with a journal row per key changed,
 * deciding again after each. Nothing here decides what changes. */
#include "keystore/rollover_internal.h"
#include "keystore/skr.h"
#include "common/errors.h"
#include "common/log.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sg_ks_key *ks_roll_find(sg_ks_key *keys, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].id == id)
            return &keys[i];
    return NULL;
}

int ks_roll_load(sg_keystore *ks, const char *zone, sg_ks_zone *zr, sg_ks_policy *p,
                 sg_ks_key **keys, size_t *n)
{
    sg_ks_zone zbuf, *zp = zr ? zr : &zbuf;
    int rc = sg_ks_zone_get(ks, zone, zp);
    sg_ks_zone z = *zp;
    if (!rc)
        rc = sg_ks_policy_get(ks, z.policy, p);
    if (!rc)
        rc = sg_ks_key_list(ks, zone, keys, n);
    return rc;
}

int ks_roll_write(sg_keystore *ks, const char *zone, sg_ks_key *keys, size_t n,
                  const sg_roll_transition *tr, int64_t at, sg_ks_key *first_out)
{
    int rc = 0;
    for (size_t i = 0; i < tr->n && !rc; i++) {
        const sg_roll_change *c = &tr->change[i];
        sg_ks_key nk, *k = &nk;
        if (!c->key_id) {
            /* the policy's algorithm and size: the table decided in this transaction */
            if ((rc = sg_ks_key_generate(ks, zone, c->role, 0, 0, at, &nk)))
                break;
            assert(nk.algorithm == c->algorithm);
        } else if (!(k = ks_roll_find(keys, n, c->key_id))) {
            rc = SG_ENOTFOUND;
            break;
        }
        sg_roll_change_apply(c, at, k);
        rc = sg_ks_key_update(ks, k, tr->event.reason, at);
        if (!rc && i == 0 && first_out)
            *first_out = *k;
    }
    if (!rc && tr->zone_state)
        rc = sg_ks_zone_update(ks, zone, NULL, NULL, tr->zone_state, at);
    return rc;
}

/* The info line for a transition written; first: its first key as stored (NULL when it
 * changed none). */
static void say(const char *zone, const sg_roll_transition *tr, const sg_ks_key *first)
{
    const sg_roll_event *ev = &tr->event;
    const char *what = NULL;
    switch (first ? ev->action : SG_ROLL_NONE) {
    case SG_ROLL_INITIAL:    what = ": generated, published and active"; break;
    case SG_ROLL_PREPUBLISH: what = ": published as successor"; break;
    case SG_ROLL_PRE_DS:     what = ": DS submitted before the key is published (double-DS)"; break;
    case SG_ROLL_SUBMIT_DS:  what = ": DS submitted to the parent"; break;
    case SG_ROLL_REMOVE:     what = " removed from the DNSKEY RRset"; break;
    case SG_ROLL_SWITCH:
        what = tr->n > 1 ? " now signs, its predecessor retires" : " now signs";
        break;
    default:
        sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        return;
    }
    sg_log(SG_LOG_INFO, "rollover", zone, "%s %u%s", sg_ks_role_name(first->role), first->tag, what);
}

/* Write the transition decided in the caller's transaction and commit it (or roll back). */
/* A failed event: into *failed for the caller to say, or said here. */
static int failed(const char *zone, const sg_roll_event *ev, int rc, sg_roll_event *out)
{
    if (out)
        *out = *ev;
    else
        sg_log(SG_LOG_ERR, "rollover", zone, "%s failed: %s", sg_roll_action_name(ev->action),
               sg_strerror(rc));
    return rc;
}

static int write_commit(sg_keystore *ks, const char *zone, sg_ks_key *keys, size_t n,
                        const sg_roll_transition *tr, int64_t now, sg_roll_event *failed_out)
{
    sg_ks_key first;
    int rc = ks_roll_write(ks, zone, keys, n, tr, now, &first);
    if (rc)
        sg_ks_rollback(ks);
    else
        rc = sg_ks_commit(ks); /* rolls back itself when it fails */
    if (rc)
        return failed(zone, &tr->event, rc, failed_out);
    say(zone, tr, tr->n ? &first : NULL);
    return 0;
}

/* One round of the step, in one transaction: 1 when a transition was written, 0 when
 * nothing is due (*next_out, may be NULL, says what comes next), or an error. */
static int step_once(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                     sg_roll_event *next_out)
{
    /* decide inside the write transaction: another process (signetctl, a second signetd
     * during a reload) deciding at the same moment sees our result */
    int rc = sg_ks_begin(ks);
    if (rc)
        return rc;
    sg_ks_zone zr;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    if ((rc = ks_roll_load(ks, zone, &zr, &p, &keys, &n)) || (rc = ks_roll_figures(ks, zone, f, now, &fig)) ||
        /* timing points "in the future" would read as keys never made: the engine would
         * make a second active key. Nothing is decided until time catches up. */
        sg_roll_clock_behind(&fig, now, next_out)) {
        free(keys);
        sg_ks_rollback(ks);
        return rc;
    }
    /* a second or two behind another writer: decide as of its time, never before it (a
     * key made "later" would read as not yet made) */
    if (fig.clock_floor > now)
        now = fig.clock_floor;
    sg_roll_event ev;
    sg_roll_transition tr;
    rc = sg_roll_decide(zr.state, &p, keys, n, &fig, now, &ev, &tr);
    if (rc <= 0) {
        free(keys);
        sg_ks_rollback(ks); /* nothing written */
        if (rc)
            return failed(zone, &ev, rc, next_out);
        if (next_out)
            *next_out = ev;
        return 0;
    }
    rc = write_commit(ks, zone, keys, n, &tr, now, next_out);
    free(keys);
    return rc ? rc : 1;
}

/* An offline-KSK zone: its keys' timing points were all set by the key signing request;
 * only the state people read (and the journal) follows them as they pass. */
static int offline_follow(sg_keystore *ks, const char *zone, int64_t now)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_key_list(ks, zone, &keys, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        enum sg_ks_key_state st = sg_ks_key_state_at(&keys[i], now);
        if (sg_ks_key_public_only(&keys[i]) || st == keys[i].state ||
            (st == SG_KS_PUBLISHED && keys[i].state == SG_KS_READY))
            continue;
        keys[i].state = st;
        rc = sg_ks_key_update(ks, &keys[i], "offline KSK: the key signing request's schedule", now);
    }
    free(keys);
    return rc;
}

int sg_roll_step(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 sg_roll_event *next_out)
{
    if (!ks || !zone)
        return SG_EINVAL;
    /* an offline KSK: the key signing request planned every ZSK's timing points and the
     * KSK is not here to roll; the engine would make a KSK of its own (signer/offline_ksk.c) */
    int offline = sg_ks_skr_offline(ks, zone);
    if (offline < 0)
        return offline;
    if (offline) {
        int rc = offline_follow(ks, zone, now);
        if (rc)
            return rc;
        if (next_out) {
            memset(next_out, 0, sizeof *next_out);
            next_out->action = SG_ROLL_NONE;
            snprintf(next_out->reason, sizeof next_out->reason,
                     "offline KSK: keys follow the key signing request's schedule");
        }
        return 0;
    }
    for (int round = 0; round < 32; round++) {
        int rc = step_once(ks, zone, f, now, next_out);
        if (rc <= 0)
            return rc;
    }
    return 0;
}
