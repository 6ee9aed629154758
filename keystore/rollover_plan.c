/* SPDX-License-Identifier: MIT */
/* The rollover plan: the transition table (rollover_decide.c) run forward on a copy of the
 * keys in memory, `now` advanced to each next event, as the engine would be run at each of
 * those moments. Only the outside world is assumed: the parent shows a DS as soon as it is
 * submitted, secondaries follow at once, a withdrawn DS leaves the parent at once. */
#include "keystore/rollover_internal.h"
#include "keystore/skr.h"
#include "common/errors.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make tr (decided at its event's time) on the keys in memory, giving each key it
 * generates the next negative id (written into tr). Returns 0 or SG_ENOMEM. */
static int make_in_memory(sg_ks_key **keys, size_t *n, int64_t *fake_id, sg_roll_transition *tr,
                          sg_ks_zone *zr)
{
    int64_t at = tr->event.when;
    for (size_t i = 0; i < tr->n; i++) {
        sg_roll_change *c = &tr->change[i];
        sg_ks_key *k;
        if (!c->key_id) {
            sg_ks_key *grown = realloc(*keys, (*n + 1) * sizeof *grown);
            if (!grown)
                return SG_ENOMEM;
            *keys = grown;
            k = &grown[(*n)++];
            memset(k, 0, sizeof *k);
            snprintf(k->zone, sizeof k->zone, "%s", zr->name);
            k->id = c->key_id = (*fake_id)--;
            k->role = c->role;
            k->algorithm = c->algorithm;
            k->state = c->from;
            if (!tr->event.key_id)
                tr->event.key_id = k->id; /* the key the event made */
        } else if (!(k = ks_roll_find(*keys, *n, c->key_id))) {
            return SG_ENOTFOUND;
        }
        sg_roll_change_apply(c, at, k);
    }
    if (tr->zone_state)
        snprintf(zr->state, sizeof zr->state, "%s", tr->zone_state);
    return 0;
}

/* The plan's assumption about the parent: a DS that the next event waits for is served as
 * soon as it was submitted (not before the plan's now). 1 when it marked one. */
static int assume_ds_seen(sg_ks_key *keys, size_t n, const sg_roll_event *ev, int64_t t)
{
    sg_ks_key *k = ev->wait_key_id ? ks_roll_find(keys, n, ev->wait_key_id) : NULL;
    if (!k || k->ds_seen)
        return 0;
    k->ds_seen = k->ds_submitted > t ? k->ds_submitted : t;
    return 1;
}

int sg_roll_plan_transitions(sg_keystore *ks, const char *zone, const sg_roll_figures *f,
                             int64_t now, int64_t until, sg_roll_transition **out, size_t *n_out)
{
    if (!ks || !zone || !out || !n_out)
        return SG_EINVAL;
    /* an offline KSK's zone: the key signing request planned its keys, the engine makes
     * no transition there (sg_roll_step) */
    int offline = sg_ks_skr_offline(ks, zone);
    if (offline) {
        *out = NULL;
        *n_out = 0;
        return offline < 0 ? offline : 0;
    }
    sg_ks_zone zr;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    int rc = ks_roll_load(ks, zone, &zr, &p, &keys, &n);
    if (!rc)
        rc = ks_roll_figures(ks, zone, f, now, &fig);
    if (rc) {
        free(keys);
        return rc;
    }
    /* like the parent's DS, the secondaries are assumed to follow at once (within
     * zone-propagation-delay), and a withdrawn DS to leave the parent at once: the plan
     * cannot know when they will */
    fig.secondaries = 0;
    fig.parent_checks = 0;
    fig.peers = 0; /* a multi-signer peer too */
    sg_roll_transition *trs = NULL;
    size_t ntr = 0, cap = 0;
    int64_t t = now, fake_id = -1;
    /* guard: events and assumed DS; moves of the clock are bounded by until */
    for (int guard = 0; guard < 1000;) {
        sg_roll_event ev;
        sg_roll_transition tr;
        if ((rc = sg_roll_decide(zr.state, &p, keys, n, &fig, t, &ev, &tr)) < 0)
            break;
        if (ev.action == SG_ROLL_NONE)
            break;
        if (assume_ds_seen(keys, n, &ev, t)) {
            guard++;
            continue;
        }
        if (ev.action == SG_ROLL_WAIT || ev.when > until)
            break;
        if (!rc) {
            t = ev.when; /* the engine's next run: decide again then */
            continue;
        }
        if (ntr == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            sg_roll_transition *grown = realloc(trs, ncap * sizeof *grown);
            if (!grown) {
                rc = SG_ENOMEM;
                break;
            }
            trs = grown;
            cap = ncap;
        }
        if ((rc = make_in_memory(&keys, &n, &fake_id, &tr, &zr)))
            break;
        trs[ntr++] = tr;
        guard++;
    }
    free(keys);
    if (rc < 0) {
        free(trs);
        return rc;
    }
    *out = trs;
    *n_out = ntr;
    return 0;
}

int sg_roll_plan(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 int64_t until, sg_roll_event **events_out, size_t *n_out)
{
    if (!events_out || !n_out)
        return SG_EINVAL;
    sg_roll_transition *trs = NULL;
    size_t ntr = 0;
    int rc = sg_roll_plan_transitions(ks, zone, f, now, until, &trs, &ntr);
    if (rc)
        return rc;
    sg_roll_event *evs = ntr ? malloc(ntr * sizeof *evs) : NULL;
    if (ntr && !evs) {
        free(trs);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < ntr; i++)
        evs[i] = trs[i].event;
    free(trs);
    *events_out = evs;
    *n_out = ntr;
    return 0;
}
