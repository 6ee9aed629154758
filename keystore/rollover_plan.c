/* SPDX-License-Identifier: MIT */
/* The rollover plan: the engine's decisions run forward on a copy of the keys in memory. */
#include "keystore/rollover_internal.h"
#include "common/errors.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_roll_plan(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 int64_t until, sg_roll_event **events_out, size_t *n_out)
{
    sg_ks_zone zr;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    int rc = ks_roll_load(ks, zone, &zr, &p, &keys, &n);
    if (!rc)
        rc = ks_roll_figures(ks, zone, f, now, &fig);
    f = &fig;
    if (rc) {
        free(keys);
        return rc;
    }
    /* like the parent's DS, the secondaries are assumed to follow at once (within
     * zone-propagation-delay), and a withdrawn DS to leave the parent at once: the plan
     * cannot know when they will */
    fig.secondaries = 0;
    fig.parent_checks = 0;
    sg_roll_event *evs = NULL;
    size_t nev = 0;
    int64_t t = now, fake_id = -1;
    for (int guard = 0; guard < 1000; guard++) {
        sg_roll_event ev;
        sg_roll_next(zr.state, &p, keys, n, f, t, &ev);
        if (ev.action == SG_ROLL_NONE)
            break;
        if (ev.wait_key_id) {
            /* assume the parent shows the DS as soon as it is submitted */
            sg_ks_key *k = ks_roll_find(keys, n, ev.wait_key_id);
            if (k && !k->ds_seen) {
                k->ds_seen = k->ds_submitted > t ? k->ds_submitted : t;
                continue;
            }
        }
        if (ev.action == SG_ROLL_WAIT)
            break;
        if (ev.when > until)
            break;
        if (ev.when > t)
            t = ev.when;
        ev.when = t;
        sg_roll_event *ne = realloc(evs, (nev + 1) * sizeof *ne);
        sg_ks_key *nk = realloc(keys, (n + 1) * sizeof *nk);
        if (!ne || !nk) {
            free(ne ? ne : evs);
            free(nk ? nk : keys);
            return SG_ENOMEM;
        }
        evs = ne;
        keys = nk;
        sg_ks_key *k = ks_roll_find(keys, n, ev.key_id), *o = ks_roll_find(keys, n, ev.other_id);
        switch (ev.action) {
        case SG_ROLL_INITIAL:
        case SG_ROLL_PREPUBLISH:
            memset(&keys[n], 0, sizeof keys[n]);
            keys[n].id = fake_id--;
            keys[n].role = ev.role;
            keys[n].algorithm = p.algorithm;
            keys[n].publish = t;
            if (ev.action == SG_ROLL_INITIAL)
                keys[n].active = t;
            ev.key_id = keys[n].id;
            n++;
            break;
        case SG_ROLL_SUBMIT_DS:
            k->ds_submitted = t;
            break;
        case SG_ROLL_SWITCH:
            k->active = t;
            if (o) {
                o->retire = t;
                if (o->role != SG_KS_ROLE_ZSK && o->ds_submitted && !o->ds_withdrawn)
                    o->ds_withdrawn = t;
            }
            break;
        case SG_ROLL_PRE_DS:
            memset(&keys[n], 0, sizeof keys[n]);
            keys[n].id = fake_id--;
            keys[n].role = ev.role;
            keys[n].algorithm = p.algorithm;
            keys[n].ds_submitted = t;
            ev.key_id = keys[n].id;
            n++;
            break;
        case SG_ROLL_SWAP:
            k->publish = k->active = t;
            if (o)
                o->remove = t;
            break;
        case SG_ROLL_OLD_DS_OUT:
            k->ds_withdrawn = k->retire = t;
            break;
        case SG_ROLL_REMOVE:
            k->remove = t;
            break;
        case SG_ROLL_ALG_START: {
            enum sg_ks_role roles[2];
            int m = ks_roll_alg_missing(&p, keys, n, t, roles);
            for (int i = 0; i < m; i++) {
                sg_ks_key *grown = realloc(keys, (n + 1) * sizeof *grown);
                if (!grown) {
                    free(evs);
                    free(keys);
                    return SG_ENOMEM;
                }
                keys = grown;
                memset(&keys[n], 0, sizeof keys[n]);
                keys[n].id = fake_id--;
                keys[n].role = roles[i];
                keys[n].algorithm = p.algorithm;
                keys[n].active = t;
                n++;
            }
            break;
        }
        case SG_ROLL_ALG_PUBLISH:
        case SG_ROLL_ALG_WITHDRAW:
        case SG_ROLL_ALG_UNPUBLISH:
        case SG_ROLL_ALG_RETIRE:
            ks_roll_alg_mutate(&p, keys, n, ev.action, t);
            break;
        case SG_ROLL_UNSIGN_WITHDRAW:
        case SG_ROLL_UNSIGN_FINISH:
            ks_roll_unsign_mutate(keys, n, ev.action, t);
            if (ev.action == SG_ROLL_UNSIGN_FINISH)
                snprintf(zr.state, sizeof zr.state, "%s", SG_ROLL_STATE_UNSIGNED);
            break;
        default:
            break;
        }
        evs[nev++] = ev;
    }
    free(keys);
    *events_out = evs;
    *n_out = nev;
    return 0;
}
