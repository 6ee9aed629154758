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

/* What one decision looks at, so that its parts need not be handed ten arguments each. */
typedef struct view {
    const sg_ks_policy *p;
    const sg_roll_intervals *iv;
    const sg_roll_figures *f;
    const sg_ks_key *keys;
    size_t n;
    int64_t now;
    uint32_t prop;          /* zone propagation delay */
    sg_roll_event *best;
} view;

/* A role's chain: the key that signs, a published successor, a double-DS successor whose
 * DS went first. */
typedef struct chain {
    enum sg_ks_role role;
    const char *rn;
    const sg_ks_key *cur, *succ, *pre_ds;
} chain;

/* A public-only key is another signer's: published per its points, never part of our
 * chains, algorithm rollovers or unsigning (the engine never moves it). */
static int in_chain(const view *v, const sg_ks_key *k, enum sg_ks_role role)
{
    return k->role == role && k->algorithm == v->p->algorithm && !sg_ks_key_public_only(k);
}

static void find_chain(const view *v, chain *c)
{
    for (size_t i = 0; i < v->n; i++) {
        const sg_ks_key *k = &v->keys[i];
        if (!in_chain(v, k, c->role))
            continue;
        if (ks_roll_signing(k, v->now)) {
            if (!c->cur || k->active > c->cur->active)
                c->cur = k;
        } else if (k->publish && !k->active && !ks_roll_is_set(k->remove, v->now)) {
            c->succ = k;
        } else if (!k->publish && !k->active && k->ds_submitted && !ks_roll_is_set(k->ds_withdrawn, v->now)) {
            c->pre_ds = k; /* double-DS: its DS goes first */
        }
    }
}

/* A retired key leaves the DNSKEY RRset once nothing it vouched for is cached. */
static void retired_leaves(const view *v, const chain *c, const sg_ks_key *k)
{
    const sg_roll_intervals *iv = v->iv;
    uint32_t gone = c->role == SG_KS_ROLE_ZSK ? iv->zsk_gone
                  : c->role == SG_KS_ROLE_KSK ? (iv->ds_wait > iv->ipub ? iv->ds_wait : iv->ipub)
                  : (iv->ds_wait > iv->zsk_gone ? iv->ds_wait : iv->zsk_gone);
    char why[200];
    snprintf(why, sizeof why, "%s %s retired; removed when its %s caches", c->rn, kl(k).s,
             c->role == SG_KS_ROLE_ZSK ? "signatures have left" : "DS and signatures have left");
    int64_t ds_floor = 0;
    if (c->role != SG_KS_ROLE_ZSK && k->ds_submitted && k->ds_withdrawn &&
        !(ds_floor = ds_left_caches(v->f, k, iv->ds_wait))) {
        consider(v->best, SG_ROLL_WAIT, 0, k, NULL, c->role,
                 "waiting for every parent server to drop the DS of %s %s (withdrawn); then: %s",
                 c->rn, kl(k).s, why);
    } else {
        consider_zone(v->best, v->f, v->prop, SG_ROLL_REMOVE, k->retire, gone, ds_floor, k, NULL,
                      c->role, "%s", why);
    }
}

/* The events of the chain's keys on their way out, key by key. */
static void keys_leaving(const view *v, const chain *c)
{
    for (size_t i = 0; i < v->n; i++) {
        const sg_ks_key *k = &v->keys[i];
        if (!in_chain(v, k, c->role))
            continue;
        /* double-DS: out of the DNSKEY RRset but not retired: its DS stays until the old
         * DNSKEY RRset has left caches */
        if (k->ds_submitted && !k->ds_withdrawn && ks_roll_is_set(k->remove, v->now) && !k->retire)
            consider_zone(v->best, v->f, v->prop, SG_ROLL_OLD_DS_OUT, k->remove, v->iv->ipub, 0, k, NULL,
                          c->role, "%s %s left the DNSKEY RRset and it has left caches: withdraw its DS",
                          c->rn, kl(k).s);
        if (ks_roll_is_set(k->retire, v->now) && ks_roll_published(k, v->now))
            retired_leaves(v, c, k);
    }
}

/* Multi-signer (RFC 8901 section 2.1.2): a resolver may hold the peer's DNSKEY RRset and
 * get our signatures, so a successor ZSK signs only once the peer has served it for the
 * larger of our Ipub and the peer's DNSKEY TTL (+ propagation). 0: not served there yet. */
static int64_t peer_floor(const sg_roll_figures *f, const sg_roll_intervals *iv,
                          const sg_ks_key *succ)
{
    for (size_t i = 0; i < f->npeer_seen; i++)
        if (f->peer_seen[i].tag == succ->tag) {
            uint32_t ttl = iv->ipub - iv->dnskey_ttl + f->peer_dnskey_ttl;
            return f->peer_seen[i].since + (int64_t)(ttl > iv->ipub ? ttl : iv->ipub);
        }
    return 0;
}

/* A published successor: it signs after Ipub (ZSK), or its DS goes to the parent and once
 * the parent serves it and its DS TTL has passed, it signs. */
static void successor_steps(const view *v, const chain *c)
{
    const sg_ks_key *succ = c->succ, *cur = c->cur;
    const char *rn = c->rn;
    if (c->role == SG_KS_ROLE_ZSK) {
        int64_t floor = 0;
        if (v->f && v->f->peers && !(floor = peer_floor(v->f, v->iv, succ))) {
            consider(v->best, SG_ROLL_WAIT, 0, succ, cur, c->role,
                     "waiting for the multi-signer peer to serve %s %s in its DNSKEY RRset "
                     "(signetctl key sync-foreign); %s %s stays active", rn, kl(succ).s, rn,
                     kl(cur).s);
            return;
        }
        consider_zone(v->best, v->f, v->prop, SG_ROLL_SWITCH, succ->publish, v->iv->ipub, floor, succ, cur,
                      c->role, "%s %s has been published for DNSKEY TTL + propagation: it signs, %s %s retires",
                      rn, kl(succ).s, rn, kl(cur).s);
    } else if (!succ->ds_submitted) {
        consider_zone(v->best, v->f, v->prop, SG_ROLL_SUBMIT_DS, succ->publish, v->iv->ipub, 0, succ, NULL,
                      c->role, "%s %s's DNSKEY has propagated: submit its DS", rn, kl(succ).s);
    } else if (!succ->ds_seen) {
        consider(v->best, SG_ROLL_WAIT, 0, succ, cur, c->role,
                 "waiting for the parent to serve the DS of %s %s (submitted); %s %s stays active",
                 rn, kl(succ).s, rn, kl(cur).s);
    } else {
        consider(v->best, SG_ROLL_SWITCH, succ->ds_seen + v->iv->ds_wait, succ, cur, c->role,
                 "the parent serves the DS of %s %s and its DS TTL has passed: it signs, %s %s retires",
                 rn, kl(succ).s, rn, kl(cur).s);
    }
}

/* The signing key reaches the end of its life: its successor starts Ipub before. */
static void lifetime_ends(const view *v, const chain *c)
{
    const sg_ks_key *cur = c->cur;
    uint32_t lifetime = c->role == SG_KS_ROLE_ZSK ? v->p->zsk_lifetime : v->p->ksk_lifetime;
    if (!lifetime)
        return;
    int64_t when = cur->active + (int64_t)lifetime - v->iv->ipub;
    if (when < cur->active)
        when = cur->active;
    if (c->role == SG_KS_ROLE_KSK && v->p->ksk_double_ds)
        consider(v->best, SG_ROLL_PRE_DS, when, cur, NULL, c->role,
                 "%s %s reaches its lifetime: submit its successor's DS (double-DS)", c->rn, kl(cur).s);
    else
        consider(v->best, SG_ROLL_PREPUBLISH, when, cur, NULL, c->role,
                 "%s %s reaches its lifetime: publish its successor", c->rn, kl(cur).s);
}

/* Double-DS: the successor's DS is out; once the parent serves it and its DS TTL has
 * passed, the keys swap in the DNSKEY RRset. */
static void pre_ds_steps(const view *v, const chain *c)
{
    const sg_ks_key *pre_ds = c->pre_ds, *cur = c->cur;
    if (!pre_ds->ds_seen)
        consider(v->best, SG_ROLL_WAIT, 0, pre_ds, cur, c->role,
                 "double-DS: waiting for the parent to serve the DS of %s %s; %s %s stays",
                 c->rn, kl(pre_ds).s, c->rn, kl(cur).s);
    else
        consider(v->best, SG_ROLL_SWAP, pre_ds->ds_seen + v->iv->ds_wait, pre_ds, cur, c->role,
                 "double-DS: the new DS is everywhere: %s %s replaces %s %s in the DNSKEY RRset",
                 c->rn, kl(pre_ds).s, c->rn, kl(cur).s);
}

static int other_alg_signs(const view *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->keys[i].algorithm != v->p->algorithm && ks_roll_signing(&v->keys[i], v->now) &&
            !sg_ks_key_public_only(&v->keys[i]))
            return 1;
    return 0;
}

/* The events of one role's chain of keys. */
static void next_for_role(const view *v, enum sg_ks_role role)
{
    chain c = { .role = role, .rn = sg_ks_role_name(role) };
    find_chain(v, &c);
    keys_leaving(v, &c);
    if (c.pre_ds) {
        pre_ds_steps(v, &c);
        return;
    }
    if (!c.cur && !c.succ) {
        if (!other_alg_signs(v)) /* else an algorithm rollover brings this role's new key */
            consider(v->best, SG_ROLL_INITIAL, v->now, NULL, NULL, role, "no %s signs the zone: generate one", c.rn);
        return;
    }
    if (c.cur && role != SG_KS_ROLE_ZSK && !c.cur->ds_submitted && c.cur->publish)
        consider_zone(v->best, v->f, v->prop, SG_ROLL_SUBMIT_DS, c.cur->publish, v->iv->ipub, 0, c.cur, NULL,
                      role, "%s %s's DNSKEY has propagated: submit its DS", c.rn, kl(c.cur).s);
    if (c.succ)
        successor_steps(v, &c);
    else if (c.cur)
        lifetime_ends(v, &c);
}

static int needs_role(const sg_ks_policy *p, enum sg_ks_role r)
{
    return p->csk ? r == SG_KS_ROLE_CSK : r != SG_KS_ROLE_CSK;
}

/* Where an algorithm rollover stands: the keys of the policy's algorithm that sign and
 * those of another still published or signing. */
typedef struct alg_state {
    const sg_ks_key *old, *wait_key;
    int64_t old_withdrawn, old_removed, new_active, new_seen;
    int old_ds_out, old_in_dnskey, old_signing, new_unpublished, new_ds_wait;
    int have[3];
} alg_state;

static void alg_new_key(const view *v, const sg_ks_key *k, alg_state *s)
{
    if (!ks_roll_signing(k, v->now) || !needs_role(v->p, k->role))
        return;
    s->have[k->role] = 1;
    if (k->active > s->new_active)
        s->new_active = k->active;
    if (!k->publish)
        s->new_unpublished = 1;
    if (k->role == SG_KS_ROLE_ZSK)
        return;
    if (k->ds_seen) {
        s->new_seen = k->ds_seen > s->new_seen ? k->ds_seen : s->new_seen;
    } else {
        s->new_ds_wait = 1; /* its DS is yet to be submitted, or to be seen */
        if (k->ds_submitted)
            s->wait_key = k;
    }
}

static void alg_old_key(const view *v, const sg_ks_key *k, alg_state *s)
{
    int pub = ks_roll_published(k, v->now), sig = ks_roll_signing(k, v->now);
    if (!pub && !sig)
        return;
    s->old = k;
    s->old_in_dnskey |= pub;
    s->old_signing |= sig;
    if (k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !k->ds_withdrawn && !ks_roll_is_set(k->retire, v->now))
        s->old_ds_out = 0;
    if (k->ds_withdrawn > s->old_withdrawn)
        s->old_withdrawn = k->ds_withdrawn;
    if (k->remove > s->old_removed)
        s->old_removed = k->remove;
}

/* The old DS was withdrawn: the old keys leave the DNSKEY RRset once it has left caches
 * (where a registrar checks the parent, once every parent server was seen without it). */
static void alg_unpublish(const view *v, const alg_state *s, const char *from)
{
    int64_t base = s->old_withdrawn ? s->old_withdrawn : s->new_seen, when = base + v->iv->ds_wait;
    const sg_ks_key *not_gone = NULL;
    for (size_t i = 0; i < v->n; i++) {
        const sg_ks_key *k = &v->keys[i];
        if (k->algorithm == v->p->algorithm || sg_ks_key_public_only(k) || !k->ds_submitted || !k->ds_withdrawn ||
            !(ks_roll_published(k, v->now) || ks_roll_signing(k, v->now)))
            continue;
        int64_t t = ds_left_caches(v->f, k, v->iv->ds_wait);
        if (!t)
            not_gone = k;
        else if (t > when)
            when = t;
    }
    if (not_gone)
        consider(v->best, SG_ROLL_WAIT, 0, not_gone, NULL, not_gone->role,
                 "algorithm rollover: waiting for every parent server to drop the %s DS (%s %u)",
                 from, sg_ks_role_name(not_gone->role), not_gone->tag);
    else
        consider(v->best, SG_ROLL_ALG_UNPUBLISH, when, s->old, NULL, s->old->role,
                 "the %s DS has left caches: the %s keys leave the DNSKEY RRset", from, from);
}

/* The algorithm rollover's next step, when keys of another algorithm are still around. */
static void next_alg(const view *v)
{
    alg_state s = { .old_ds_out = 1 };
    for (size_t i = 0; i < v->n; i++) {
        if (sg_ks_key_public_only(&v->keys[i]))
            continue;
        if (v->keys[i].algorithm == v->p->algorithm)
            alg_new_key(v, &v->keys[i], &s);
        else
            alg_old_key(v, &v->keys[i], &s);
    }
    if (!s.old)
        return;
    const sg_ks_policy *p = v->p;
    const sg_ks_key *old = s.old;
    const char *from = sg_ks_alg_name(old->algorithm), *to = sg_ks_alg_name(p->algorithm);
    int complete = p->csk ? s.have[SG_KS_ROLE_CSK] : (s.have[SG_KS_ROLE_KSK] && s.have[SG_KS_ROLE_ZSK]);
    if (!complete) {
        consider(v->best, SG_ROLL_ALG_START, v->now, NULL, NULL, p->csk ? SG_KS_ROLE_CSK : SG_KS_ROLE_KSK,
                 "the policy asks for %s: algorithm rollover from %s starts, new keys sign first", to, from);
    } else if (s.new_unpublished) {
        consider_zone(v->best, v->f, v->prop, SG_ROLL_ALG_PUBLISH, s.new_active, v->iv->zsk_gone, 0, NULL, NULL,
                      SG_KS_ROLE_KSK, "%s signatures have reached every cache: publish the %s keys", to, to);
    } else if (s.new_ds_wait) {
        /* SUBMIT_DS comes from the role's own chain; after it, the parent */
        if (s.wait_key)
            consider(v->best, SG_ROLL_WAIT, 0, s.wait_key, NULL, s.wait_key->role,
                     "algorithm rollover to %s: waiting for the parent to serve the DS of %s %u",
                     to, sg_ks_role_name(s.wait_key->role), s.wait_key->tag);
    } else if (!s.old_ds_out) {
        consider(v->best, SG_ROLL_ALG_WITHDRAW, s.new_seen + v->iv->ds_wait, old, NULL, old->role,
                 "the parent serves the %s DS and its DS TTL has passed: withdraw the %s DS", to, from);
    } else if (s.old_in_dnskey) {
        alg_unpublish(v, &s, from);
    } else if (s.old_signing) {
        consider_zone(v->best, v->f, v->prop, SG_ROLL_ALG_RETIRE, s.old_removed, v->iv->ipub, 0, old, NULL,
                      old->role, "the %s DNSKEYs have left caches: %s signatures stop", from, from);
    }
}

/* Going insecure: withdraw every DS, wait for the parent to drop it, then stop signing. */
static void next_unsign(const char *state, const sg_roll_intervals *iv, const sg_ks_key *keys,
                        size_t n, int64_t now, sg_roll_event *best)
{
    int in_ds = 0, ever_seen = 0, live = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if ((!ks_roll_published(k, now) && !ks_roll_signing(k, now)) || sg_ks_key_public_only(k))
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
    const view v = { p, &iv, f, keys, n, now, p->zone_propagation_delay, ev };
    next_alg(&v);
    if (p->csk) {
        next_for_role(&v, SG_KS_ROLE_CSK);
    } else {
        next_for_role(&v, SG_KS_ROLE_KSK);
        next_for_role(&v, SG_KS_ROLE_ZSK);
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
        if (keys[i].algorithm == p->algorithm && ks_roll_signing(&keys[i], now) &&
            !sg_ks_key_public_only(&keys[i]))
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
    if (sg_ks_key_public_only(k))
        return 0;
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
