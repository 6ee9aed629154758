/* SPDX-License-Identifier: MIT */
/* The rollover engine's step: what is due is written to the keystore, one transaction and
 * one journal row per key change for each event, deciding again after each. */
#include "keystore/rollover_internal.h"
#include "common/errors.h"
#include "common/log.h"

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

/* Apply ev to the stored keys, inside the caller's transaction. */
static int apply(sg_keystore *ks, const char *zone, const sg_ks_policy *pol, sg_ks_key *keys,
                 size_t n, const sg_roll_event *ev, int64_t now)
{
    int rc = 0;
    const sg_ks_policy p_of_apply = *pol;
    sg_ks_key nk, *k = ks_roll_find(keys, n, ev->key_id), *o = ks_roll_find(keys, n, ev->other_id);
    switch (ev->action) {
    case SG_ROLL_INITIAL:
    case SG_ROLL_PREPUBLISH:
        if ((rc = sg_ks_key_generate(ks, zone, ev->role, 0, 0, now, &nk)))
            break;
        nk.publish = now;
        if (ev->action == SG_ROLL_INITIAL)
            nk.active = now;
        ks_roll_set_state(&nk, now);
        rc = sg_ks_key_update(ks, &nk, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u: %s", sg_ks_role_name(ev->role), nk.tag,
                   ev->action == SG_ROLL_INITIAL ? "generated, published and active" : "published as successor");
        break;
    case SG_ROLL_SUBMIT_DS:
        if (!k) {
            rc = SG_ENOTFOUND;
            break;
        }
        k->ds_submitted = now;
        k->state = ks_roll_signing(k, now) ? SG_KS_ACTIVE : SG_KS_READY;
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u: DS submitted to the parent",
                   sg_ks_role_name(k->role), k->tag);
        break;
    case SG_ROLL_SWITCH:
        if (!k) {
            rc = SG_ENOTFOUND;
            break;
        }
        k->active = now;
        ks_roll_set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc && o) {
            o->retire = now;
            if (o->role != SG_KS_ROLE_ZSK && o->ds_submitted && !o->ds_withdrawn)
                o->ds_withdrawn = now; /* the DS set the parent should have: the new key's */
            ks_roll_set_state(o, now);
            rc = sg_ks_key_update(ks, o, ev->reason, now);
        }
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u now signs%s", sg_ks_role_name(k->role), k->tag,
                   o ? ", its predecessor retires" : "");
        break;
    case SG_ROLL_PRE_DS:
        if ((rc = sg_ks_key_generate(ks, zone, ev->role, 0, 0, now, &nk)))
            break;
        nk.ds_submitted = now;
        ks_roll_set_state(&nk, now);
        rc = sg_ks_key_update(ks, &nk, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u: DS submitted before the key is published (double-DS)",
                   sg_ks_role_name(ev->role), nk.tag);
        break;
    case SG_ROLL_SWAP:
        if (!k) {
            rc = SG_ENOTFOUND;
            break;
        }
        k->publish = k->active = now;
        ks_roll_set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc && o) {
            o->remove = now; /* out of DNSKEY; it retires with its DS: OLD_DS_OUT */
            ks_roll_set_state(o, now);
            rc = sg_ks_key_update(ks, o, ev->reason, now);
        }
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    case SG_ROLL_OLD_DS_OUT:
        if (!k) {
            rc = SG_ENOTFOUND;
            break;
        }
        k->ds_withdrawn = k->retire = now;
        ks_roll_set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    case SG_ROLL_REMOVE:
        if (!k) {
            rc = SG_ENOTFOUND;
            break;
        }
        k->remove = now;
        ks_roll_set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u removed from the DNSKEY RRset",
                   sg_ks_role_name(k->role), k->tag);
        break;
    case SG_ROLL_ALG_START: {
        enum sg_ks_role roles[2];
        int m = ks_roll_alg_missing(&p_of_apply, keys, n, now, roles);
        for (int i = 0; i < m && !rc; i++) {
            if ((rc = sg_ks_key_generate(ks, zone, roles[i], 0, 0, now, &nk)))
                break;
            nk.active = now; /* signs before it is published */
            ks_roll_set_state(&nk, now);
            rc = sg_ks_key_update(ks, &nk, ev->reason, now);
        }
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    }
    case SG_ROLL_UNSIGN_WITHDRAW:
    case SG_ROLL_UNSIGN_FINISH: {
        uint64_t changed = ks_roll_unsign_mutate(keys, n, ev->action, now);
        for (size_t i = 0; i < n && i < 64 && !rc; i++)
            if (changed & (1ULL << i))
                rc = sg_ks_key_update(ks, &keys[i], ev->reason, now);
        if (!rc && ev->action == SG_ROLL_UNSIGN_FINISH)
            rc = sg_ks_zone_update(ks, zone, NULL, NULL, SG_ROLL_STATE_UNSIGNED, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    }
    case SG_ROLL_ALG_PUBLISH:
    case SG_ROLL_ALG_WITHDRAW:
    case SG_ROLL_ALG_UNPUBLISH:
    case SG_ROLL_ALG_RETIRE: {
        uint64_t changed = ks_roll_alg_mutate(&p_of_apply, keys, n, ev->action, now);
        for (size_t i = 0; i < n && i < 64 && !rc; i++)
            if (changed & (1ULL << i))
                rc = sg_ks_key_update(ks, &keys[i], ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    }
    default:
        rc = SG_EINVAL;
    }
    return rc;
}

int sg_roll_step(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 sg_roll_event *next_out)
{
    if (!ks || !zone)
        return SG_EINVAL;
    sg_roll_figures fig;
    for (int round = 0; round < 32; round++) {
        /* decide inside the write transaction: another process (signetctl, a second
         * signetd during a reload) deciding at the same moment sees our result */
        int rc = sg_ks_begin(ks);
        if (rc)
            return rc;
        sg_ks_zone zr;
        sg_ks_policy p;
        sg_ks_key *keys = NULL;
        size_t n = 0;
        if ((rc = ks_roll_load(ks, zone, &zr, &p, &keys, &n)) || (rc = ks_roll_figures(ks, zone, f, now, &fig))) {
            free(keys);
            sg_ks_rollback(ks);
            return rc;
        }
        sg_roll_event ev;
        if (sg_roll_clock_behind(&fig, now, next_out)) {
            /* timing points "in the future" would read as keys never made: the engine
             * would make a second active key. Nothing is decided until time catches up. */
            free(keys);
            sg_ks_rollback(ks);
            return 0;
        }
        /* a second or two behind another writer: decide as of its time, never before
         * it (a key made "later" would read as not yet made) */
        if (fig.clock_floor > now)
            now = fig.clock_floor;
        sg_roll_next(zr.state, &p, keys, n, &fig, now, &ev);
        if (ev.action == SG_ROLL_NONE || ev.action == SG_ROLL_WAIT || ev.when > now) {
            free(keys);
            sg_ks_rollback(ks); /* nothing written */
            if (next_out)
                *next_out = ev;
            return 0;
        }
        rc = apply(ks, zone, &p, keys, n, &ev, now);
        free(keys);
        if (!rc)
            rc = sg_ks_commit(ks);
        else
            sg_ks_rollback(ks);
        if (rc) {
            sg_log(SG_LOG_ERR, "rollover", zone, "%s failed: %s", sg_roll_action_name(ev.action),
                   sg_ks_strerror(rc));
            return rc;
        }
    }
    return 0;
}
