/* SPDX-License-Identifier: MIT */
/* The rollover engine. A pure function decides the next event from the policy and the
 * keys' timing points; the step applies what is due, one transaction per event, writing
 * the timing point of the moment it happens. Nothing is scheduled in advance, so a crash
 * at any moment leaves keys whose stored points say exactly how far each one got, and a
 * restart recomputes every wait from them: no safety wait can be skipped.
 *
 * Timelines (RFC 7583, with online signing: a key's signatures appear the moment it is
 * active and vanish the moment it retires):
 *   ZSK  pre-publication: publish successor at end-of-life - Ipub; after Ipub it signs and
 *        the old one retires; the old one is removed when its signatures have expired
 *        from caches (max TTL + propagation).
 *   KSK  double-KSK, CSK likewise: publish successor; after Ipub its DS is submitted; once
 *        the parent serves it and the parent's DS TTL + propagation have passed, it signs
 *        and the old one retires (its DS is withdrawn: CDS shows the new set); the old one
 *        is removed when the old DS is gone from caches. The old key never retires before
 *        the new DS is seen.
 *   Initial: the first key signs at once (nothing is cached yet); a KSK/CSK's DS is
 *        submitted once its DNSKEY has propagated.
 *   Algorithm (RFC 6781 4.1.4), when the policy names another algorithm: the new keys
 *        sign first, unpublished; once old cached RRsets have expired (max TTL +
 *        propagation) they are published; after Ipub the new DS is submitted; once the
 *        parent serves it (+ DS TTL + propagation) the old DS is withdrawn; after the DS
 *        TTL + propagation the old keys leave the DNSKEY RRset; after Ipub they stop
 *        signing. */
#include "keystore/rollover.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

const char *sg_roll_action_name(enum sg_roll_action a)
{
    switch (a) {
    case SG_ROLL_NONE: return "none";
    case SG_ROLL_WAIT: return "wait";
    case SG_ROLL_INITIAL: return "initial key";
    case SG_ROLL_PREPUBLISH: return "publish successor";
    case SG_ROLL_SUBMIT_DS: return "submit DS";
    case SG_ROLL_SWITCH: return "switch to successor";
    case SG_ROLL_REMOVE: return "remove";
    case SG_ROLL_PRE_DS: return "double-DS: new DS";
    case SG_ROLL_SWAP: return "double-DS: swap keys";
    case SG_ROLL_OLD_DS_OUT: return "double-DS: old DS out";
    case SG_ROLL_ALG_START: return "algorithm: sign";
    case SG_ROLL_ALG_PUBLISH: return "algorithm: publish";
    case SG_ROLL_ALG_WITHDRAW: return "algorithm: old DS out";
    case SG_ROLL_ALG_UNPUBLISH: return "algorithm: old keys out";
    case SG_ROLL_ALG_RETIRE: return "algorithm: old sigs out";
    case SG_ROLL_UNSIGN_WITHDRAW: return "unsign: DS out";
    case SG_ROLL_UNSIGN_FINISH: return "unsign: stop signing";
    case SG_ROLL_CLOCK: return "clock behind";
    }
    return "?";
}

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
    if (ignore && *ignore)
        return 0;
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

static int is_set(int64_t t, int64_t now) { return t && t <= now; }
static int signing(const sg_ks_key *k, int64_t now) { return is_set(k->active, now) && !is_set(k->retire, now); }
static int published(const sg_ks_key *k, int64_t now) { return is_set(k->publish, now) && !is_set(k->remove, now); }

static void consider(sg_roll_event *best, enum sg_roll_action a, int64_t when, const sg_ks_key *k,
                     const sg_ks_key *other, enum sg_ks_role role, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void consider(sg_roll_event *best, enum sg_roll_action a, int64_t when, const sg_ks_key *k,
                     const sg_ks_key *other, enum sg_ks_role role, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* a wait is remembered on the side; any timed event beats it as the next event */
    if (a == SG_ROLL_WAIT) {
        if (!best->wait_reason[0]) {
            best->wait_key_id = k ? k->id : 0;
            snprintf(best->wait_reason, sizeof best->wait_reason, "%s", text);
        }
        if (best->action != SG_ROLL_NONE)
            return;
    } else if (best->action != SG_ROLL_NONE && best->action != SG_ROLL_WAIT && when >= best->when) {
        return; /* among timed events the earliest wins */
    }
    best->action = a;
    best->when = when;
    best->key_id = k ? k->id : 0;
    best->other_id = other ? other->id : 0;
    best->role = role;
    snprintf(best->reason, sizeof best->reason, "%s", text);
}

/* When a change of our zone made at `at` has been in every cache for a wait (its TTL part
 * plus zone-propagation-delay): at + wait, and with secondaries to follow, no earlier than
 * the TTL part after they all served a version holding it. 0: they have not yet. */
static int64_t zone_after(const sg_roll_figures *f, uint32_t prop, int64_t at, uint32_t wait)
{
    int64_t t = at + (int64_t)wait;
    if (!f || !f->secondaries)
        return t;
    int64_t got = 0;
    for (size_t i = 0; i < f->nprop; i++)
        /* held strictly after: keys read in the second of the change may predate it */
        if (f->prop[i].as_of > at && (!got || f->prop[i].confirmed_at < got))
            got = f->prop[i].confirmed_at;
    if (!got)
        return 0;
    int64_t held = got + (int64_t)(wait > prop ? wait - prop : 0);
    return held > t ? held : t;
}

/* When the parent's DS set without a withdrawn DS has been in every cache: ds_wait after
 * the withdrawal, and where a registrar checks the parent, ds_wait after every parent server
 * was seen without it. 0: not seen yet. */
static int64_t ds_left_caches(const sg_roll_figures *f, const sg_ks_key *k, uint32_t ds_wait)
{
    int64_t t = k->ds_withdrawn + (int64_t)ds_wait;
    if (!f || !f->parent_checks)
        return t;
    if (!k->ds_gone)
        return 0;
    int64_t g = k->ds_gone + (int64_t)ds_wait;
    return g > t ? g : t;
}

/* consider() for an event that waits on a change of the zone at `at` (wait: its TTL part
 * plus propagation), no earlier than floor (0: none; the parent side of a wait): with
 * secondaries that have not yet served the change, a wait on them. */
static void consider_zone(sg_roll_event *best, const sg_roll_figures *f, uint32_t prop,
                          enum sg_roll_action a, int64_t at, uint32_t wait, int64_t floor,
                          const sg_ks_key *k, const sg_ks_key *other, enum sg_ks_role role,
                          const char *fmt, ...) __attribute__((format(printf, 11, 12)));
static void consider_zone(sg_roll_event *best, const sg_roll_figures *f, uint32_t prop,
                          enum sg_roll_action a, int64_t at, uint32_t wait, int64_t floor,
                          const sg_ks_key *k, const sg_ks_key *other, enum sg_ks_role role,
                          const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    int64_t when = zone_after(f, prop, at, wait);
    if (when && when < floor)
        when = floor;
    if (when)
        consider(best, a, when, k, other, role, "%s", text);
    else
        consider(best, SG_ROLL_WAIT, 0, k, other, role,
                 "waiting for every secondary (%u) to serve the change made at %lld; then: %s",
                 f->secondaries, (long long)at, text);
}

/* A key as the reasons name it: its tag, or "(new)" for a successor that plan's
 * simulation has not generated (it has no tag yet). The array lives until the end of
 * the full expression that calls kl(), which covers the printf that uses it. */
typedef struct { char s[12]; } klabel;
static klabel kl(const sg_ks_key *k)
{
    klabel l;
    if (!k)
        snprintf(l.s, sizeof l.s, "-");
    else if (k->id < 0)
        snprintf(l.s, sizeof l.s, "(new)");
    else
        snprintf(l.s, sizeof l.s, "%u", k->tag);
    return l;
}

/* The events of one role's chain of keys. */
static void next_for_role(const sg_ks_policy *p, const sg_roll_intervals *iv,
                          const sg_roll_figures *f, const sg_ks_key *keys, size_t n,
                          enum sg_ks_role role, int64_t now, sg_roll_event *best)
{
    uint32_t prop = p->zone_propagation_delay;
    const sg_ks_key *cur = NULL, *succ = NULL, *pre_ds = NULL;
    int needs_ds = role != SG_KS_ROLE_ZSK;
    int double_ds = role == SG_KS_ROLE_KSK && p->ksk_double_ds;
    uint32_t lifetime = role == SG_KS_ROLE_ZSK ? p->zsk_lifetime : p->ksk_lifetime;
    const char *rn = sg_ks_role_name(role);
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (k->role != role || k->algorithm != p->algorithm)
            continue;
        if (signing(k, now)) {
            if (!cur || k->active > cur->active)
                cur = k;
        } else if (k->publish && !k->active && !is_set(k->remove, now)) {
            succ = k;
        } else if (!k->publish && !k->active && k->ds_submitted && !is_set(k->ds_withdrawn, now)) {
            pre_ds = k; /* double-DS: its DS goes first */
        }
        /* double-DS: out of the DNSKEY RRset but not retired: its DS stays until the old
         * DNSKEY RRset has left caches */
        if (k->ds_submitted && !k->ds_withdrawn && is_set(k->remove, now) && !k->retire)
            consider_zone(best, f, prop, SG_ROLL_OLD_DS_OUT, k->remove, iv->ipub, 0, k, NULL, role,
                          "%s %s left the DNSKEY RRset and it has left caches: withdraw its DS", rn, kl(k).s);
        /* a retired key leaves the DNSKEY RRset once nothing it vouched for is cached */
        if (is_set(k->retire, now) && published(k, now)) {
            uint32_t gone = role == SG_KS_ROLE_ZSK ? iv->zsk_gone
                          : role == SG_KS_ROLE_KSK ? (iv->ds_wait > iv->ipub ? iv->ds_wait : iv->ipub)
                          : (iv->ds_wait > iv->zsk_gone ? iv->ds_wait : iv->zsk_gone);
            char why[200];
            snprintf(why, sizeof why, "%s %s retired; removed when its %s caches", rn, kl(k).s,
                     role == SG_KS_ROLE_ZSK ? "signatures have left" : "DS and signatures have left");
            int64_t ds_floor = 0;
            if (role != SG_KS_ROLE_ZSK && k->ds_submitted && k->ds_withdrawn &&
                !(ds_floor = ds_left_caches(f, k, iv->ds_wait))) {
                consider(best, SG_ROLL_WAIT, 0, k, NULL, role,
                         "waiting for every parent server to drop the DS of %s %s (withdrawn); then: %s",
                         rn, kl(k).s, why);
            } else {
                consider_zone(best, f, prop, SG_ROLL_REMOVE, k->retire, gone, ds_floor, k, NULL,
                              role, "%s", why);
            }
        }
    }
    if (pre_ds) {
        if (!pre_ds->ds_seen)
            consider(best, SG_ROLL_WAIT, 0, pre_ds, cur, role,
                     "double-DS: waiting for the parent to serve the DS of %s %s; %s %s stays",
                     rn, kl(pre_ds).s, rn, kl(cur).s);
        else
            consider(best, SG_ROLL_SWAP, pre_ds->ds_seen + iv->ds_wait, pre_ds, cur, role,
                     "double-DS: the new DS is everywhere: %s %s replaces %s %s in the DNSKEY RRset",
                     rn, kl(pre_ds).s, rn, kl(cur).s);
        return;
    }
    if (!cur && !succ) {
        for (size_t i = 0; i < n; i++)
            if (keys[i].algorithm != p->algorithm && signing(&keys[i], now))
                return; /* an algorithm rollover brings this role's new key */
        consider(best, SG_ROLL_INITIAL, now, NULL, NULL, role, "no %s signs the zone: generate one", rn);
        return;
    }
    if (cur && needs_ds && !cur->ds_submitted && cur->publish)
        consider_zone(best, f, prop, SG_ROLL_SUBMIT_DS, cur->publish, iv->ipub, 0, cur, NULL, role,
                      "%s %s's DNSKEY has propagated: submit its DS", rn, kl(cur).s);
    if (succ) {
        if (!needs_ds) {
            consider_zone(best, f, prop, SG_ROLL_SWITCH, succ->publish, iv->ipub, 0, succ, cur, role,
                          "%s %s has been published for DNSKEY TTL + propagation: it signs, %s %s retires",
                          rn, kl(succ).s, rn, kl(cur).s);
        } else if (!succ->ds_submitted) {
            consider_zone(best, f, prop, SG_ROLL_SUBMIT_DS, succ->publish, iv->ipub, 0, succ, NULL, role,
                          "%s %s's DNSKEY has propagated: submit its DS", rn, kl(succ).s);
        } else if (!succ->ds_seen) {
            consider(best, SG_ROLL_WAIT, 0, succ, cur, role,
                     "waiting for the parent to serve the DS of %s %s (submitted); %s %s stays active",
                     rn, kl(succ).s, rn, kl(cur).s);
        } else {
            consider(best, SG_ROLL_SWITCH, succ->ds_seen + iv->ds_wait, succ, cur, role,
                     "the parent serves the DS of %s %s and its DS TTL has passed: it signs, %s %s retires",
                     rn, kl(succ).s, rn, kl(cur).s);
        }
    } else if (cur && lifetime) {
        int64_t when = cur->active + (int64_t)lifetime - iv->ipub;
        if (double_ds)
            consider(best, SG_ROLL_PRE_DS, when < cur->active ? cur->active : when, cur, NULL, role,
                     "%s %s reaches its lifetime: submit its successor's DS (double-DS)", rn, kl(cur).s);
        else
            consider(best, SG_ROLL_PREPUBLISH, when < cur->active ? cur->active : when, cur, NULL, role,
                     "%s %s reaches its lifetime: publish its successor", rn, kl(cur).s);
    }
}

static int needs_role(const sg_ks_policy *p, enum sg_ks_role r)
{
    return p->csk ? r == SG_KS_ROLE_CSK : r != SG_KS_ROLE_CSK;
}

/* The algorithm rollover's next step, when keys of another algorithm are still around. */
static void next_alg(const sg_ks_policy *p, const sg_roll_intervals *iv, const sg_roll_figures *f,
                     const sg_ks_key *keys, size_t n, int64_t now, sg_roll_event *best)
{
    uint32_t prop = p->zone_propagation_delay;
    const sg_ks_key *old = NULL, *wait_key = NULL;
    int64_t old_withdrawn = 0, old_removed = 0, new_active = 0, new_seen = 0;
    int old_ds_out = 1, old_in_dnskey = 0, old_signing = 0, new_unpublished = 0, new_ds_wait = 0;
    int have[3] = { 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (k->algorithm == p->algorithm) {
            if (signing(k, now) && needs_role(p, k->role)) {
                have[k->role] = 1;
                if (k->active > new_active)
                    new_active = k->active;
                if (!k->publish)
                    new_unpublished = 1;
                if (k->role != SG_KS_ROLE_ZSK) {
                    if (k->ds_seen)
                        new_seen = k->ds_seen > new_seen ? k->ds_seen : new_seen;
                    else {
                        new_ds_wait = 1; /* its DS is yet to be submitted, or to be seen */
                        if (k->ds_submitted)
                            wait_key = k;
                    }
                }
            }
            continue;
        }
        if (!published(k, now) && !signing(k, now))
            continue;
        old = k;
        old_in_dnskey |= published(k, now);
        old_signing |= signing(k, now);
        if (k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn && !is_set(k->retire, now))
            old_ds_out = 0;
        if (k->ds_withdrawn > old_withdrawn)
            old_withdrawn = k->ds_withdrawn;
        if (k->remove > old_removed)
            old_removed = k->remove;
    }
    if (!old)
        return;
    const char *from = sg_ks_alg_name(old->algorithm), *to = sg_ks_alg_name(p->algorithm);
    int complete = p->csk ? have[SG_KS_ROLE_CSK] : (have[SG_KS_ROLE_KSK] && have[SG_KS_ROLE_ZSK]);
    if (!complete) {
        consider(best, SG_ROLL_ALG_START, now, NULL, NULL, p->csk ? SG_KS_ROLE_CSK : SG_KS_ROLE_KSK,
                 "the policy asks for %s: algorithm rollover from %s starts, new keys sign first", to, from);
    } else if (new_unpublished) {
        consider_zone(best, f, prop, SG_ROLL_ALG_PUBLISH, new_active, iv->zsk_gone, 0, NULL, NULL, SG_KS_ROLE_KSK,
                      "%s signatures have reached every cache: publish the %s keys", to, to);
    } else if (new_ds_wait) {
        /* SUBMIT_DS comes from the role's own chain; after it, the parent */
        if (wait_key)
            consider(best, SG_ROLL_WAIT, 0, wait_key, NULL, wait_key->role,
                     "algorithm rollover to %s: waiting for the parent to serve the DS of %s %u",
                     to, sg_ks_role_name(wait_key->role), wait_key->tag);
    } else if (!old_ds_out) {
        consider(best, SG_ROLL_ALG_WITHDRAW, new_seen + iv->ds_wait, old, NULL, old->role,
                 "the parent serves the %s DS and its DS TTL has passed: withdraw the %s DS", to, from);
    } else if (old_in_dnskey) {
        int64_t base = old_withdrawn ? old_withdrawn : new_seen, when = base + iv->ds_wait;
        const sg_ks_key *not_gone = NULL;
        for (size_t i = 0; i < n; i++) {
            const sg_ks_key *k = &keys[i];
            if (k->algorithm == p->algorithm || !k->ds_submitted || !k->ds_withdrawn ||
                !(published(k, now) || signing(k, now)))
                continue;
            int64_t t = ds_left_caches(f, k, iv->ds_wait);
            if (!t)
                not_gone = k;
            else if (t > when)
                when = t;
        }
        if (not_gone)
            consider(best, SG_ROLL_WAIT, 0, not_gone, NULL, not_gone->role,
                     "algorithm rollover: waiting for every parent server to drop the %s DS (%s %u)",
                     from, sg_ks_role_name(not_gone->role), not_gone->tag);
        else
            consider(best, SG_ROLL_ALG_UNPUBLISH, when, old, NULL, old->role,
                     "the %s DS has left caches: the %s keys leave the DNSKEY RRset", from, from);
    } else if (old_signing) {
        consider_zone(best, f, prop, SG_ROLL_ALG_RETIRE, old_removed, iv->ipub, 0, old, NULL, old->role,
                      "the %s DNSKEYs have left caches: %s signatures stop", from, from);
    }
}

static int starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

/* Going insecure: withdraw every DS, wait for the parent to drop it, then stop signing. */
static void next_unsign(const char *state, const sg_roll_intervals *iv, const sg_ks_key *keys,
                        size_t n, int64_t now, sg_roll_event *best)
{
    int in_ds = 0, ever_seen = 0, live = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (!published(k, now) && !signing(k, now))
            continue;
        live = 1;
        if (k->ds_seen)
            ever_seen = 1;
        if (k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn)
            in_ds = 1;
    }
    if (!live) {
        snprintf(best->reason, sizeof best->reason, "the zone is unsigned");
        return;
    }
    if (in_ds) {
        consider(best, SG_ROLL_UNSIGN_WITHDRAW, now, NULL, NULL, SG_KS_ROLE_CSK,
                 "going insecure: withdraw every DS (CDS/CDNSKEY show the delete form)");
        return;
    }
    const char *at = strchr(state, '@');
    if (starts_with(state, SG_ROLL_STATE_DS_GONE) && at) {
        int64_t gone = strtoll(at + 1, NULL, 10);
        consider(best, SG_ROLL_UNSIGN_FINISH, gone + iv->ds_wait, NULL, NULL, SG_KS_ROLE_CSK,
                 "the parent's DS is gone and its DS TTL has passed: stop signing, the zone is insecure");
    } else if (!ever_seen) {
        /* the parent never had a DS: nothing cached can need our signatures */
        consider(best, SG_ROLL_UNSIGN_FINISH, now, NULL, NULL, SG_KS_ROLE_CSK,
                 "no DS was ever at the parent: stop signing now");
    } else {
        consider(best, SG_ROLL_WAIT, 0, NULL, NULL, SG_KS_ROLE_CSK,
                 "going insecure: waiting for the parent to remove the DS (signetctl ds gone ZONE)");
    }
}

void sg_roll_next(const char *zone_state, const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                  const sg_roll_figures *f, int64_t now, sg_roll_event *ev)
{
    memset(ev, 0, sizeof *ev);
    snprintf(ev->reason, sizeof ev->reason, "no rollover planned (no key lifetime in the policy)");
    sg_roll_intervals iv;
    sg_roll_intervals_of(p, f, &iv);
    /* timing points are whole seconds, rounded down: one more second makes sure a wait is
     * never shorter in real time than the interval it stands for */
    iv.ipub += 1;
    iv.zsk_gone += 1;
    iv.ds_wait += 1;
    if (starts_with(zone_state, SG_ROLL_STATE_UNSIGNING) || starts_with(zone_state, SG_ROLL_STATE_UNSIGNED)) {
        next_unsign(zone_state, &iv, keys, n, now, ev);
        return;
    }
    next_alg(p, &iv, f, keys, n, now, ev);
    if (p->csk) {
        next_for_role(p, &iv, f, keys, n, SG_KS_ROLE_CSK, now, ev);
    } else {
        next_for_role(p, &iv, f, keys, n, SG_KS_ROLE_KSK, now, ev);
        next_for_role(p, &iv, f, keys, n, SG_KS_ROLE_ZSK, now, ev);
    }
}

/* ---- applying events ------------------------------------------------------------------ */

static sg_ks_key *find(sg_ks_key *keys, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].id == id)
            return &keys[i];
    return NULL;
}

static void set_state(sg_ks_key *k, int64_t now)
{
    k->state = sg_ks_key_state_at(k, now);
}

/* The timing points an algorithm step writes, on keys in memory. Returns which keys
 * changed (a bit per index, up to 64 keys) for the caller to store. */
static uint64_t alg_mutate(const sg_ks_policy *p, sg_ks_key *keys, size_t n, enum sg_roll_action a,
                           int64_t now)
{
    uint64_t changed = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        sg_ks_key *k = &keys[i];
        int is_new = k->algorithm == p->algorithm;
        int live = published(k, now) || signing(k, now);
        switch (a) {
        case SG_ROLL_ALG_PUBLISH:
            if (is_new && signing(k, now) && !k->publish)
                k->publish = now;
            else
                continue;
            break;
        case SG_ROLL_ALG_WITHDRAW:
            if (!is_new && live && k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn)
                k->ds_withdrawn = now;
            else
                continue;
            break;
        case SG_ROLL_ALG_UNPUBLISH:
            if (!is_new && published(k, now))
                k->remove = now;
            else
                continue;
            break;
        case SG_ROLL_ALG_RETIRE:
            if (!is_new && signing(k, now))
                k->retire = now;
            else
                continue;
            break;
        default:
            continue;
        }
        set_state(k, now);
        changed |= 1ULL << i;
    }
    return changed;
}

static uint64_t unsign_mutate(sg_ks_key *keys, size_t n, enum sg_roll_action a, int64_t now)
{
    uint64_t changed = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        sg_ks_key *k = &keys[i];
        if (!published(k, now) && !signing(k, now))
            continue;
        if (a == SG_ROLL_UNSIGN_WITHDRAW) {
            if (k->role == SG_KS_ROLE_ZSK || !k->ds_submitted || k->ds_withdrawn)
                continue;
            k->ds_withdrawn = now;
        } else {
            if (signing(k, now))
                k->retire = now;
            k->remove = now;
        }
        set_state(k, now);
        changed |= 1ULL << i;
    }
    return changed;
}

/* Roles an algorithm rollover must bring in the new algorithm that are missing. */
static int alg_missing(const sg_ks_policy *p, const sg_ks_key *keys, size_t n, int64_t now,
                       enum sg_ks_role out[2])
{
    int have[3] = { 0, 0, 0 }, m = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].algorithm == p->algorithm && signing(&keys[i], now))
            have[keys[i].role] = 1;
    if (p->csk) {
        if (!have[SG_KS_ROLE_CSK])
            out[m++] = SG_KS_ROLE_CSK;
    } else {
        if (!have[SG_KS_ROLE_KSK])
            out[m++] = SG_KS_ROLE_KSK;
        if (!have[SG_KS_ROLE_ZSK])
            out[m++] = SG_KS_ROLE_ZSK;
    }
    return m;
}

/* Apply ev to the stored keys, inside the caller's transaction. */
static int apply(sg_keystore *ks, const char *zone, const sg_ks_policy *pol, sg_ks_key *keys,
                 size_t n, const sg_roll_event *ev, int64_t now)
{
    int rc = 0;
    const sg_ks_policy p_of_apply = *pol;
    sg_ks_key nk, *k = find(keys, n, ev->key_id), *o = find(keys, n, ev->other_id);
    switch (ev->action) {
    case SG_ROLL_INITIAL:
    case SG_ROLL_PREPUBLISH:
        if ((rc = sg_ks_key_generate(ks, zone, ev->role, 0, 0, now, &nk)))
            break;
        nk.publish = now;
        if (ev->action == SG_ROLL_INITIAL)
            nk.active = now;
        set_state(&nk, now);
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
        k->state = signing(k, now) ? SG_KS_ACTIVE : SG_KS_READY;
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
        set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc && o) {
            o->retire = now;
            if (o->role != SG_KS_ROLE_ZSK && o->ds_submitted && !o->ds_withdrawn)
                o->ds_withdrawn = now; /* the DS set the parent should have: the new key's */
            set_state(o, now);
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
        set_state(&nk, now);
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
        set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc && o) {
            o->remove = now; /* out of DNSKEY; it retires with its DS: OLD_DS_OUT */
            set_state(o, now);
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
        set_state(k, now);
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
        set_state(k, now);
        rc = sg_ks_key_update(ks, k, ev->reason, now);
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s %u removed from the DNSKEY RRset",
                   sg_ks_role_name(k->role), k->tag);
        break;
    case SG_ROLL_ALG_START: {
        enum sg_ks_role roles[2];
        int m = alg_missing(&p_of_apply, keys, n, now, roles);
        for (int i = 0; i < m && !rc; i++) {
            if ((rc = sg_ks_key_generate(ks, zone, roles[i], 0, 0, now, &nk)))
                break;
            nk.active = now; /* signs before it is published */
            set_state(&nk, now);
            rc = sg_ks_key_update(ks, &nk, ev->reason, now);
        }
        if (!rc)
            sg_log(SG_LOG_INFO, "rollover", zone, "%s", ev->reason);
        break;
    }
    case SG_ROLL_UNSIGN_WITHDRAW:
    case SG_ROLL_UNSIGN_FINISH: {
        uint64_t changed = unsign_mutate(keys, n, ev->action, now);
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
        uint64_t changed = alg_mutate(&p_of_apply, keys, n, ev->action, now);
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

static int load(sg_keystore *ks, const char *zone, sg_ks_zone *zr, sg_ks_policy *p,
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

/* A clock more than this behind the keystore's last record has been stepped back (a
 * second or two is another process writing in the same moment). */
#define CLOCK_SLACK 5

int sg_roll_clock_behind(const sg_roll_figures *f, int64_t now, sg_roll_event *ev_out)
{
    if (!f || f->clock_floor <= now + CLOCK_SLACK)
        return 0;
    if (ev_out) {
        memset(ev_out, 0, sizeof *ev_out);
        ev_out->action = SG_ROLL_CLOCK;
        ev_out->when = f->clock_floor;
        snprintf(ev_out->reason, sizeof ev_out->reason,
                 "the clock is behind the keystore's last record (time %lld): no key changes "
                 "until it catches up (was it stepped back?)", (long long)f->clock_floor);
    }
    return 1;
}

/* The caller's figures (f may be NULL) with what the keystore observed for zone. */
static int figures(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                   sg_roll_figures *out)
{
    if (f)
        *out = *f;
    else
        memset(out, 0, sizeof *out);
    return sg_roll_figures_load(ks, zone, now, out);
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
        if ((rc = load(ks, zone, &zr, &p, &keys, &n)) || (rc = figures(ks, zone, f, now, &fig))) {
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

int sg_roll_plan(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 int64_t until, sg_roll_event **events_out, size_t *n_out)
{
    sg_ks_zone zr;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    int rc = load(ks, zone, &zr, &p, &keys, &n);
    if (!rc)
        rc = figures(ks, zone, f, now, &fig);
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
            sg_ks_key *k = find(keys, n, ev.wait_key_id);
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
        sg_ks_key *k = find(keys, n, ev.key_id), *o = find(keys, n, ev.other_id);
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
            int m = alg_missing(&p, keys, n, t, roles);
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
            alg_mutate(&p, keys, n, ev.action, t);
            break;
        case SG_ROLL_UNSIGN_WITHDRAW:
        case SG_ROLL_UNSIGN_FINISH:
            unsign_mutate(keys, n, ev.action, t);
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

int sg_roll_start(sg_keystore *ks, const char *zone, enum sg_ks_role role, int64_t now,
                  int64_t *key_id_out)
{
    int rc = sg_ks_begin(ks);
    if (rc)
        return rc;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    sg_roll_figures fig;
    if ((rc = load(ks, zone, NULL, &p, &keys, &n)) || (rc = figures(ks, zone, NULL, now, &fig))) {
        free(keys);
        sg_ks_rollback(ks);
        return rc;
    }
    if (sg_roll_clock_behind(&fig, now, NULL)) {
        free(keys);
        sg_ks_rollback(ks);
        return SG_ETIMEOUT; /* the clock is behind the keystore's last record */
    }
    if (fig.clock_floor > now)
        now = fig.clock_floor;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].role == role && (keys[i].publish || keys[i].ds_submitted) && !keys[i].active && !is_set(keys[i].remove, now)) {
            free(keys);
            sg_ks_rollback(ks);
            return SG_EEXIST;
        }
    }
    free(keys);
    sg_ks_key nk;
    int dds = role == SG_KS_ROLE_KSK && p.ksk_double_ds;
    if (!(rc = sg_ks_key_generate(ks, zone, role, 0, 0, now, &nk))) {
        if (dds)
            nk.ds_submitted = now;
        else
            nk.publish = now;
        set_state(&nk, now);
        rc = sg_ks_key_update(ks, &nk, dds ? "rollover started by the operator: successor's DS submitted (double-DS)"
                                            : "rollover started by the operator: successor published", now);
    }
    if (rc) {
        sg_ks_rollback(ks);
        return rc;
    }
    if ((rc = sg_ks_commit(ks)))
        return rc;
    if (key_id_out)
        *key_id_out = nk.id;
    return 0;
}

/* Set one parent-side timing point (ds_seen or ds_gone) on every key of zone that which()
 * picks, in one transaction, each with its journal row. */
enum parent_point { POINT_SEEN, POINT_GONE };

static int picks(enum parent_point which, const sg_ks_key *k, int64_t key_id, int64_t now)
{
    if (which == POINT_SEEN)
        return !(key_id && k->id != key_id) && k->ds_submitted && !k->ds_seen && !is_set(k->retire, now);
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
    if (!published(&k, now) && !signing(&k, now))
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
    if ((rc = figures(ks, k.zone, f, now, &fig)))
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
    if (!starts_with(z.state, SG_ROLL_STATE_UNSIGNING))
        return SG_EINVAL;
    char st[64];
    snprintf(st, sizeof st, "%s@%lld", SG_ROLL_STATE_DS_GONE, (long long)now);
    return sg_ks_zone_update(ks, zone, NULL, NULL, st, now);
}
