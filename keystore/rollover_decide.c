/* SPDX-License-Identifier: MIT */
/* The rollover transition table, pure: from the policy, the keys' timing points and the
 * observed figures it decides the next event (sg_roll_next) and what that event writes
 * (sg_roll_transition_of): the engine writes it to the keystore at the moment it happens,
 * the plan to a copy in memory. Nothing is scheduled in advance, so a crash at any moment
 * leaves keys whose stored points say exactly how far each one got, and a restart
 * recomputes every wait from them: no safety wait can be skipped.
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
#include "keystore/rollover_internal.h"
#include "common/errors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (ks_roll_signing(k, now)) {
            if (!cur || k->active > cur->active)
                cur = k;
        } else if (k->publish && !k->active && !ks_roll_is_set(k->remove, now)) {
            succ = k;
        } else if (!k->publish && !k->active && k->ds_submitted && !ks_roll_is_set(k->ds_withdrawn, now)) {
            pre_ds = k; /* double-DS: its DS goes first */
        }
        /* double-DS: out of the DNSKEY RRset but not retired: its DS stays until the old
         * DNSKEY RRset has left caches */
        if (k->ds_submitted && !k->ds_withdrawn && ks_roll_is_set(k->remove, now) && !k->retire)
            consider_zone(best, f, prop, SG_ROLL_OLD_DS_OUT, k->remove, iv->ipub, 0, k, NULL, role,
                          "%s %s left the DNSKEY RRset and it has left caches: withdraw its DS", rn, kl(k).s);
        /* a retired key leaves the DNSKEY RRset once nothing it vouched for is cached */
        if (ks_roll_is_set(k->retire, now) && ks_roll_published(k, now)) {
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
            if (keys[i].algorithm != p->algorithm && ks_roll_signing(&keys[i], now))
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
            if (ks_roll_signing(k, now) && needs_role(p, k->role)) {
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
        if (!ks_roll_published(k, now) && !ks_roll_signing(k, now))
            continue;
        old = k;
        old_in_dnskey |= ks_roll_published(k, now);
        old_signing |= ks_roll_signing(k, now);
        if (k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn && !ks_roll_is_set(k->retire, now))
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
                !(ks_roll_published(k, now) || ks_roll_signing(k, now)))
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

/* Going insecure: withdraw every DS, wait for the parent to drop it, then stop signing. */
static void next_unsign(const char *state, const sg_roll_intervals *iv, const sg_ks_key *keys,
                        size_t n, int64_t now, sg_roll_event *best)
{
    int in_ds = 0, ever_seen = 0, live = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (!ks_roll_published(k, now) && !ks_roll_signing(k, now))
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
    if (ks_roll_starts_with(state, SG_ROLL_STATE_DS_GONE) && at) {
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
    if (ks_roll_starts_with(zone_state, SG_ROLL_STATE_UNSIGNING) || ks_roll_starts_with(zone_state, SG_ROLL_STATE_UNSIGNED)) {
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

/* ---- the transition table: what an event writes ---------------------------------------- */

/* Roles an algorithm rollover must bring in the new algorithm that are missing. */
static int alg_missing(const sg_ks_policy *p, const sg_ks_key *keys, size_t n, int64_t now,
                       enum sg_ks_role out[2])
{
    int have[3] = { 0, 0, 0 }, m = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].algorithm == p->algorithm && ks_roll_signing(&keys[i], now))
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

/* Events that change every key of a kind rather than one key and its predecessor. */
static int about_each_key(enum sg_roll_action a)
{
    switch (a) {
    case SG_ROLL_ALG_PUBLISH:
    case SG_ROLL_ALG_WITHDRAW:
    case SG_ROLL_ALG_UNPUBLISH:
    case SG_ROLL_ALG_RETIRE:
    case SG_ROLL_UNSIGN_WITHDRAW:
    case SG_ROLL_UNSIGN_FINISH:
        return 1;
    default:
        return 0;
    }
}

/* The points that an event about every key of a kind (algorithm rollover, going insecure)
 * sets on k at `at`; 0: k is not one of them. */
static unsigned each_key_points(const sg_ks_policy *p, const sg_ks_key *k, enum sg_roll_action a,
                                int64_t at)
{
    int is_new = k->algorithm == p->algorithm;
    int pub = ks_roll_published(k, at), sig = ks_roll_signing(k, at), live = pub || sig;
    int in_ds = k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn;
    switch (a) {
    case SG_ROLL_ALG_PUBLISH:     return is_new && sig && !k->publish ? SG_ROLL_PT_PUBLISH : 0;
    case SG_ROLL_ALG_WITHDRAW:    return !is_new && live && in_ds ? SG_ROLL_PT_DS_WITHDRAWN : 0;
    case SG_ROLL_ALG_UNPUBLISH:   return !is_new && pub ? SG_ROLL_PT_REMOVE : 0;
    case SG_ROLL_ALG_RETIRE:      return !is_new && sig ? SG_ROLL_PT_RETIRE : 0;
    case SG_ROLL_UNSIGN_WITHDRAW: return live && in_ds ? SG_ROLL_PT_DS_WITHDRAWN : 0;
    case SG_ROLL_UNSIGN_FINISH:   return live ? SG_ROLL_PT_REMOVE | (sig ? SG_ROLL_PT_RETIRE : 0) : 0;
    default:                      return 0;
    }
}

/* The points an event about one key (and the key it replaces, `other`) sets on each. */
static unsigned key_points(enum sg_roll_action a, const sg_ks_key *other, unsigned *other_out)
{
    *other_out = 0;
    switch (a) {
    case SG_ROLL_SUBMIT_DS:  return SG_ROLL_PT_DS_SUBMITTED;
    case SG_ROLL_REMOVE:     return SG_ROLL_PT_REMOVE;
    case SG_ROLL_OLD_DS_OUT: return SG_ROLL_PT_DS_WITHDRAWN | SG_ROLL_PT_RETIRE;
    case SG_ROLL_SWAP:
        /* the old KSK leaves the DNSKEY RRset; it retires with its DS: OLD_DS_OUT */
        *other_out = SG_ROLL_PT_REMOVE;
        return SG_ROLL_PT_PUBLISH | SG_ROLL_PT_ACTIVE;
    case SG_ROLL_SWITCH:
        /* the DS set the parent should have: the new key's */
        *other_out = SG_ROLL_PT_RETIRE;
        if (other && other->role != SG_KS_ROLE_ZSK && other->ds_submitted && !other->ds_withdrawn)
            *other_out |= SG_ROLL_PT_DS_WITHDRAWN;
        return SG_ROLL_PT_ACTIVE;
    default:
        return 0;
    }
}

/* The points of a key an event generates. */
static unsigned new_key_points(enum sg_roll_action a)
{
    switch (a) {
    case SG_ROLL_INITIAL:    return SG_ROLL_PT_PUBLISH | SG_ROLL_PT_ACTIVE;
    case SG_ROLL_PREPUBLISH: return SG_ROLL_PT_PUBLISH;
    case SG_ROLL_PRE_DS:     return SG_ROLL_PT_DS_SUBMITTED;
    case SG_ROLL_ALG_START:  return SG_ROLL_PT_ACTIVE; /* signs before it is published */
    default:                 return 0;
    }
}

void sg_roll_change_apply(const sg_roll_change *c, int64_t at, sg_ks_key *k)
{
    if (c->points & SG_ROLL_PT_PUBLISH)
        k->publish = at;
    if (c->points & SG_ROLL_PT_ACTIVE)
        k->active = at;
    if (c->points & SG_ROLL_PT_RETIRE)
        k->retire = at;
    if (c->points & SG_ROLL_PT_REMOVE)
        k->remove = at;
    if (c->points & SG_ROLL_PT_DS_SUBMITTED)
        k->ds_submitted = at;
    if (c->points & SG_ROLL_PT_DS_WITHDRAWN)
        k->ds_withdrawn = at;
    k->state = c->to;
}

/* Add to tr the change of key k (NULL: a key to generate, of this role) by points. */
static int add_change(sg_roll_transition *tr, const sg_ks_policy *p, const sg_ks_key *k,
                      enum sg_ks_role role, unsigned points, int64_t at)
{
    if (tr->n >= SG_ROLL_MAX_CHANGES)
        return SG_ESPACE;
    sg_roll_change *c = &tr->change[tr->n++];
    sg_ks_key after;
    memset(c, 0, sizeof *c);
    if (k) {
        after = *k;
        c->key_id = k->id;
        c->role = k->role;
        c->algorithm = k->algorithm;
        c->from = k->state;
    } else {
        memset(&after, 0, sizeof after);
        c->role = role;
        c->algorithm = p->algorithm;
        c->from = SG_KS_GENERATED;
    }
    c->points = points;
    sg_roll_change_apply(c, at, &after);
    /* the summary for people; a key whose DS goes out before it signs is ready */
    c->to = sg_ks_key_state_at(&after, at);
    if ((points & SG_ROLL_PT_DS_SUBMITTED) && k)
        c->to = ks_roll_signing(k, at) ? SG_KS_ACTIVE : SG_KS_READY;
    return 0;
}

int sg_roll_transition_of(const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                          const sg_roll_event *ev, int64_t at, sg_roll_transition *tr)
{
    if (!p || (!keys && n) || !ev || !tr)
        return SG_EINVAL;
    memset(tr, 0, sizeof *tr);
    tr->event = *ev;
    tr->event.when = at;
    const sg_ks_key *k = NULL, *o = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ev->key_id && keys[i].id == ev->key_id)
            k = &keys[i];
        if (ev->other_id && keys[i].id == ev->other_id)
            o = &keys[i];
    }
    int rc = 0;
    unsigned pts = new_key_points(ev->action), other_pts = 0;
    if (ev->action == SG_ROLL_ALG_START) {
        enum sg_ks_role roles[2];
        int m = alg_missing(p, keys, n, at, roles);
        for (int i = 0; i < m && !rc; i++)
            rc = add_change(tr, p, NULL, roles[i], pts, at);
    } else if (pts) {
        rc = add_change(tr, p, NULL, ev->role, pts, at);
    } else if (about_each_key(ev->action)) {
        for (size_t i = 0; i < n && !rc; i++)
            if ((pts = each_key_points(p, &keys[i], ev->action, at)))
                rc = add_change(tr, p, &keys[i], keys[i].role, pts, at);
        if (ev->action == SG_ROLL_UNSIGN_FINISH)
            tr->zone_state = SG_ROLL_STATE_UNSIGNED;
    } else if ((pts = key_points(ev->action, o, &other_pts))) {
        if (!k)
            return SG_ENOTFOUND;
        rc = add_change(tr, p, k, k->role, pts, at);
        if (!rc && o && other_pts)
            rc = add_change(tr, p, o, o->role, other_pts, at);
    } else {
        return SG_EINVAL; /* NONE, WAIT, CLOCK: not a change */
    }
    return rc;
}

int sg_roll_decide(const char *zone_state, const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                   const sg_roll_figures *f, int64_t now, sg_roll_event *next_out,
                   sg_roll_transition *tr_out)
{
    if (!p || (!keys && n) || !next_out || !tr_out)
        return SG_EINVAL;
    sg_roll_next(zone_state, p, keys, n, f, now, next_out);
    enum sg_roll_action a = next_out->action;
    if (a == SG_ROLL_NONE || a == SG_ROLL_WAIT || a == SG_ROLL_CLOCK || next_out->when > now)
        return 0;
    int rc = sg_roll_transition_of(p, keys, n, next_out, now, tr_out);
    return rc ? rc : 1;
}
