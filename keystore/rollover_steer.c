/* SPDX-License-Identifier: MIT */
/* What the operator and the registrar tell the rollover engine: a manual start, a key
 * compromise, going insecure, the parent serving or dropping a DS. */
#include "keystore/rollover_internal.h"
#include "common/errors.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A successor of this role is published or has its DS submitted, and does not sign yet. */
static int successor_under_way(const sg_ks_key *keys, size_t n, enum sg_ks_role role, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (k->role == role && (k->publish || k->ds_submitted) && !k->active &&
            !sg_ks_key_public_only(k) &&
            !ks_roll_is_set(k->remove, now))
            return 1;
    }
    return 0;
}

/* The operator's start is the table's own successor row (publish, or double-DS's DS
 * first) made now, whatever the lifetime says. */
static int start_locked(sg_keystore *ks, const char *zone, enum sg_ks_role role, int64_t now,
                        int64_t *key_id_out)
{
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    int rc;
    if ((rc = ks_roll_load(ks, zone, NULL, &p, &keys, &n)) || (rc = ks_roll_figures(ks, zone, NULL, now, &fig)))
        goto done;
    if (sg_roll_clock_behind(&fig, now, NULL)) {
        rc = SG_ETIMEOUT; /* the clock is behind the keystore's last record */
        goto done;
    }
    if (fig.clock_floor > now)
        now = fig.clock_floor;
    if (successor_under_way(keys, n, role, now)) {
        rc = SG_EEXIST;
        goto done;
    }
    int dds = role == SG_KS_ROLE_KSK && p.ksk_double_ds;
    sg_roll_event ev = { .action = dds ? SG_ROLL_PRE_DS : SG_ROLL_PREPUBLISH, .when = now, .role = role };
    snprintf(ev.reason, sizeof ev.reason, "%s", dds ? "rollover started by the operator: successor's DS submitted (double-DS)"
                                                    : "rollover started by the operator: successor published");
    sg_roll_transition tr;
    sg_ks_key nk;
    if (!(rc = sg_roll_transition_of(&p, keys, n, &ev, now, &tr)) &&
        !(rc = ks_roll_write(ks, zone, keys, n, &tr, now, &nk)) && key_id_out)
        *key_id_out = nk.id;
done:
    free(keys);
    return rc;
}

int sg_roll_start(sg_keystore *ks, const char *zone, enum sg_ks_role role, int64_t now,
                  int64_t *key_id_out)
{
    if (!ks || !zone)
        return SG_EINVAL;
    int64_t id = 0;
    int rc = sg_ks_begin(ks);
    if (rc)
        return rc;
    if ((rc = start_locked(ks, zone, role, now, &id))) {
        sg_ks_rollback(ks);
        return rc;
    }
    if ((rc = sg_ks_commit(ks)))
        return rc;
    if (key_id_out)
        *key_id_out = id;
    return 0;
}

/* Set one parent-side timing point (ds_seen or ds_gone) on every key of zone that which()
 * picks, in one transaction, each with its journal row. */
enum parent_point { POINT_SEEN, POINT_GONE };

static int picks(enum parent_point which, const sg_ks_key *k, int64_t key_id, int64_t now)
{
    if (which == POINT_SEEN)
        return !(key_id && k->id != key_id) && k->ds_submitted && !k->ds_seen && !ks_roll_is_set(k->retire, now);
    return sg_ks_key_ds_gone_pending(k, now);
}

static int mark_parent(sg_keystore *ks, const char *zone, enum parent_point which, int64_t key_id,
                       int64_t now, int *n_out)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_key_list(ks, zone, &keys, &n);
    if (rc)
        return rc;
    int marked = 0;
    if ((rc = sg_ks_begin(ks))) {
        free(keys);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        sg_ks_key *k = &keys[i];
        if (!picks(which, k, key_id, now))
            continue;
        if (which == POINT_SEEN)
            k->ds_seen = now;
        else
            k->ds_gone = now;
        rc = sg_ks_key_update(ks, k, which == POINT_SEEN ? "the parent serves the DS"
                                                         : "the parent no longer serves the withdrawn DS", now);
        marked++;
    }
    free(keys);
    if (rc) {
        sg_ks_rollback(ks);
        return rc;
    }
    if ((rc = sg_ks_commit(ks)))
        return rc;
    if (n_out)
        *n_out = marked;
    return 0;
}

int sg_roll_ds_seen(sg_keystore *ks, const char *zone, int64_t key_id, int64_t now, int *n_out)
{
    return mark_parent(ks, zone, POINT_SEEN, key_id, now, n_out);
}

int sg_roll_ds_at_parent(sg_keystore *ks, const char *zone, int64_t key_id, const char *source,
                         int64_t now, int *n_out)
{
    if (!ks || !zone)
        return SG_EINVAL;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_key_list(ks, zone, &keys, &n), marked = 0, found = 0, any_seen = 0;
    if (rc)
        return rc;
    /* without a key named, only a takeover: the zone's signing keys while no DS of it is
     * known to be at the parent. A successor (published, not yet signing, or an algorithm
     * rollover's new key while the old DS is seen) must never be marked on a guess. */
    for (size_t i = 0; i < n; i++)
        any_seen |= keys[i].ds_seen && sg_ks_key_in_ds_set(&keys[i], now);
    if ((rc = sg_ks_begin(ks))) {
        free(keys);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        sg_ks_key *k = &keys[i];
        if (key_id && k->id != key_id)
            continue;
        found = 1;
        int eligible = k->role != SG_KS_ROLE_ZSK && !k->ds_withdrawn &&
                       !ks_roll_is_set(k->retire, now) && !ks_roll_is_set(k->remove, now);
        if (key_id && !eligible) {
            rc = SG_EINVAL;
            break;
        }
        if (!eligible || k->ds_seen ||
            (!key_id && (any_seen || !ks_roll_published(k, now) || !ks_roll_signing(k, now))))
            continue;
        char why[200];
        snprintf(why, sizeof why, "%s: the parent serves the DS%s", source ? source : "operator",
                 k->ds_submitted ? "" : " (never submitted by Signet: recorded submitted and seen)");
        if (!k->ds_submitted)
            k->ds_submitted = now;
        k->ds_seen = now;
        if (k->state == SG_KS_PUBLISHED)
            k->state = SG_KS_READY;
        rc = sg_ks_key_update(ks, k, why, now);
        marked++;
    }
    free(keys);
    if (!rc && key_id && !found)
        rc = SG_ENOTFOUND;
    if (rc) {
        sg_ks_rollback(ks);
        return rc;
    }
    if ((rc = sg_ks_commit(ks)))
        return rc;
    if (n_out)
        *n_out = marked;
    return 0;
}

int sg_roll_ds_withdrawn_gone(sg_keystore *ks, const char *zone, int64_t now, int *n_out)
{
    return mark_parent(ks, zone, POINT_GONE, 0, now, n_out);
}

int sg_roll_compromise(sg_keystore *ks, int64_t key_id, const sg_roll_figures *f, int64_t now,
                       char *report, size_t cap)
{
    sg_ks_key k;
    int rc = sg_ks_key_get(ks, key_id, &k);
    if (rc)
        return rc;
    if ((!ks_roll_published(&k, now) && !ks_roll_signing(&k, now)) || sg_ks_key_public_only(&k))
        return SG_EINVAL;
    sg_ks_zone z;
    sg_ks_policy p;
    if ((rc = sg_ks_zone_get(ks, k.zone, &z)) || (rc = sg_ks_policy_get(ks, z.policy, &p)))
        return rc;
    if ((rc = sg_ks_event_add(ks, now, k.zone, k.id, NULL, NULL,
                              "reported compromised: replacement started at once")))
        return rc;
    rc = sg_roll_start(ks, k.zone, k.role, now, NULL);
    if (rc && rc != SG_EEXIST)
        return rc;
    sg_roll_figures fig;
    if ((rc = ks_roll_figures(ks, k.zone, f, now, &fig)))
        return rc;
    sg_roll_intervals iv;
    sg_roll_intervals_of(&p, &fig, &iv);
    const char *rn = sg_ks_role_name(k.role);
    if (k.role == SG_KS_ROLE_ZSK)
        snprintf(report, cap,
                 "a new %s is published now. Waits that cannot be skipped: it signs only after "
                 "DNSKEY TTL + propagation (%us), when every cache knows it; then %s %u stops "
                 "signing but stays in the DNSKEY RRset for max TTL + propagation (%us), so "
                 "that answers already cached keep validating.",
                 rn, iv.ipub, rn, k.tag, iv.zsk_gone);
    else
        snprintf(report, cap,
                 "a new %s is published now. Waits that cannot be skipped: its DS goes to the "
                 "parent after DNSKEY TTL + propagation (%us); the parent must then serve it "
                 "(registrar, or signetctl ds seen) and its DS TTL + propagation (%us) must "
                 "pass before %s %u retires; until then %s %u stays, or the zone would go bogus.",
                 rn, iv.ipub, iv.ds_wait, rn, k.tag, rn, k.tag);
    return 0;
}

int sg_roll_unsign(sg_keystore *ks, const char *zone, int64_t now)
{
    return sg_ks_zone_update(ks, zone, NULL, NULL, SG_ROLL_STATE_UNSIGNING, now);
}

int sg_roll_ds_gone(sg_keystore *ks, const char *zone, int64_t now)
{
    sg_ks_zone z;
    int rc = sg_ks_zone_get(ks, zone, &z);
    if (rc)
        return rc;
    if (!ks_roll_starts_with(z.state, SG_ROLL_STATE_UNSIGNING))
        return SG_EINVAL;
    char st[64];
    snprintf(st, sizeof st, "%s@%lld", SG_ROLL_STATE_DS_GONE, (long long)now);
    return sg_ks_zone_update(ks, zone, NULL, NULL, st, now);
}
