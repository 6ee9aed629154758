/* SPDX-License-Identifier: MIT */
/* What the rollover timelines rest on: the intervals from policy and observed figures, the
 * facts loaded from the keystore, and the waits as the operator sees them. */
#include "keystore/rollover_internal.h"
#include "common/errors.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

static uint32_t max2(uint32_t a, uint32_t b) { return a > b ? a : b; }

void sg_roll_intervals_of(const sg_ks_policy *p, const sg_roll_figures *f, sg_roll_intervals *out)
{
    /* every figure is the larger of what the policy says and what was seen: a wait
     * shorter than what caches really hold is how a rollover goes bogus */
    static const sg_roll_figures none;
    if (!f)
        f = &none;
    out->max_ttl = max2(p->zone_max_ttl, max2(f->max_ttl, f->zone_max_ttl));
    if (!out->max_ttl)
        out->max_ttl = DAY;
    out->dnskey_ttl = max2(p->dnskey_ttl, f->dnskey_ttl);
    out->ds_ttl = max2(p->parent_ds_ttl, f->parent_ds_ttl);
    out->ipub = out->dnskey_ttl + p->zone_propagation_delay;
    out->zsk_gone = out->max_ttl + p->zone_propagation_delay;
    out->ds_wait = out->ds_ttl + p->parent_propagation_delay;
}

/* multi-signer: how many peers must serve a successor ZSK, and which of ours they do */
static int peers_load(sg_keystore *ks, const char *zone, sg_roll_figures *f)
{
    sg_ks_fact fact;
    int rc = sg_ks_fact_get(ks, zone, SG_KS_FACT_PEERS, &fact);
    if (rc == SG_ENOTFOUND || (!rc && !fact.value))
        return 0;
    if (rc)
        return rc;
    f->peers = fact.value;
    rc = sg_ks_fact_get(ks, zone, SG_KS_FACT_PEER_DNSKEY_TTL, &fact);
    if (rc && rc != SG_ENOTFOUND)
        return rc;
    f->peer_dnskey_ttl = rc ? 0 : fact.value > fact.prev_value ? fact.value : fact.prev_value;
    return sg_ks_peer_seen_list(ks, zone, f->peer_seen,
                                sizeof f->peer_seen / sizeof f->peer_seen[0], &f->npeer_seen);
}

int sg_roll_figures_load(sg_keystore *ks, const char *zone, int64_t now, sg_roll_figures *f)
{
    static const struct {
        const char *name;
        size_t val, src;
    } map[] = {
        { SG_KS_FACT_PARENT_DS_TTL, offsetof(sg_roll_figures, parent_ds_ttl), offsetof(sg_roll_figures, parent_ds_src) },
        { SG_KS_FACT_DNSKEY_TTL, offsetof(sg_roll_figures, dnskey_ttl), offsetof(sg_roll_figures, dnskey_src) },
        { SG_KS_FACT_ZONE_MAX_TTL, offsetof(sg_roll_figures, zone_max_ttl), offsetof(sg_roll_figures, zone_max_src) },
    };
    int rc = sg_ks_zone_last_time(ks, zone, &f->clock_floor);
    if (rc)
        return rc;
    const char *ignore = getenv("SIGNET_ROLL_IGNORE_OBSERVED");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        uint32_t *val = (uint32_t *)((char *)f + map[i].val);
        char *src = (char *)f + map[i].src;
        *val = 0;
        src[0] = 0;
        if (ignore && *ignore)
            continue;
        sg_ks_fact fact;
        rc = sg_ks_fact_get(ks, zone, map[i].name, &fact);
        if (rc == SG_ENOTFOUND)
            continue;
        if (rc)
            return rc;
        const char *from = NULL;
        *val = sg_ks_fact_effective(&fact, now, &from);
        snprintf(src, sizeof f->parent_ds_src, "%s", from ? from : "");
    }
    f->secondaries = 0;
    f->parent_checks = 0;
    f->nprop = 0;
    f->peers = f->peer_dnskey_ttl = 0;
    f->npeer_seen = 0;
    if (ignore && *ignore)
        return 0;
    if ((rc = peers_load(ks, zone, f)))
        return rc;
    sg_ks_fact pc;
    rc = sg_ks_fact_get(ks, zone, SG_KS_FACT_PARENT_CHECKS, &pc);
    if (rc && rc != SG_ENOTFOUND)
        return rc;
    f->parent_checks = rc ? 0 : pc.value;
    sg_ks_fact sec;
    rc = sg_ks_fact_get(ks, zone, SG_KS_FACT_SECONDARIES, &sec);
    if (rc == SG_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if ((f->secondaries = sec.value))
        rc = sg_ks_propagation_list(ks, zone, f->prop, sizeof f->prop / sizeof f->prop[0], &f->nprop);
    return rc;
}

int ks_roll_figures(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                    sg_roll_figures *out)
{
    if (f)
        *out = *f;
    else
        memset(out, 0, sizeof *out);
    return sg_roll_figures_load(ks, zone, now, out);
}

void sg_roll_waits(const sg_ks_policy *p, const sg_roll_figures *f, sg_roll_wait out[SG_ROLL_NWAITS])
{
    static const sg_roll_figures none;
    if (!f)
        f = &none;
    sg_roll_intervals iv;
    sg_roll_intervals_of(p, f, &iv);
    int zone_fact = f->zone_max_ttl >= f->max_ttl;
    const sg_roll_wait w[SG_ROLL_NWAITS] = {
        { "ipub", "Ipub", "dnskey-ttl", "DNSKEY TTL", iv.ipub, p->dnskey_ttl, f->dnskey_ttl,
          iv.dnskey_ttl, f->dnskey_src, "zone propagation", p->zone_propagation_delay },
        { "signatures-gone", "signatures gone", "zone-max-ttl", "max TTL", iv.zsk_gone,
          p->zone_max_ttl, zone_fact ? f->zone_max_ttl : f->max_ttl, iv.max_ttl,
          zone_fact ? f->zone_max_src : "served zone", "zone propagation", p->zone_propagation_delay },
        { "ds-wait", "DS wait", "parent-ds-ttl", "parent DS TTL", iv.ds_wait, p->parent_ds_ttl,
          f->parent_ds_ttl, iv.ds_ttl, f->parent_ds_src, "parent propagation",
          p->parent_propagation_delay },
    };
    memcpy(out, w, sizeof w);
}

void sg_roll_waits_text(const sg_ks_policy *p, const sg_roll_figures *f, char *buf, size_t cap)
{
    sg_roll_wait w[SG_ROLL_NWAITS];
    sg_roll_waits(p, f, w);
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < SG_ROLL_NWAITS && o < cap; i++) {
        char basis[200];
        const char *src = w[i].source[0] ? w[i].source : "?";
        if (w[i].observed > w[i].policy)
            snprintf(basis, sizeof basis, "observed at %s; policy %us", src, w[i].policy);
        else if (w[i].observed)
            snprintf(basis, sizeof basis, "policy; observed %us at %s", w[i].observed, src);
        else
            snprintf(basis, sizeof basis, "policy; not observed yet");
        int n = snprintf(buf + o, cap - o, "%s %us = %s %us (%s) + %s %us\n", w[i].label,
                         w[i].seconds, w[i].figure_label, w[i].used, basis, w[i].delay_label,
                         w[i].propagation);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}
