/* SPDX-License-Identifier: MIT */
/* Synchronous calls for signetctl: list the registrar's DS set (registrar test) and push
 * the desired set now (ds push), in the caller's thread, with the tick's rules and
 * events. */
#include "registrar/tick.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_reg_list_now(sg_registrar *r, const char *zone, sg_reg_dsset *out, sg_reg_note_fn note,
                    void *arg, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    if (err && cap)
        err[0] = 0;
    char zn[SG_KS_ZONE_MAX];
    if (!r || !zone || sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    if (r->manual || !r->prov) {
        if (err)
            snprintf(err, cap, "the manual provider has no API to ask: the operator gives "
                               "the registrar the DS set");
        return SG_EINVAL;
    }
    if (r->prov->scan_only) {
        if (err)
            snprintf(err, cap, "the cds provider has no API to ask: the registry scans the "
                               "zone's CDS/CDNSKEY (signetctl ds check asks the parent's servers)");
        return SG_EINVAL;
    }
    sg_reg_journal j = { 0 };
    sg_reg_ctx ctx;
    sg_reg_ctx_setup(r, &ctx, zn, &j);
    ctx.verbose = 1; /* the operator wants to see each call and its answer */
    int rc = r->prov->list(&ctx, out);
    sg_reg_ctx_end(r, &ctx);
    if (rc) {
        if (err)
            snprintf(err, cap, "%s", ctx.err[0] ? ctx.err : sg_strerror(rc));
        sg_reg_dsset_deinit(out);
        sg_reg_dsset_init(out);
    }
    for (size_t i = 0; i < j.n; i++) {
        sg_reg_cred_redact(&r->cred, j.v[i].reason);
        if (note)
            note(arg, j.v[i].state, j.v[i].reason);
    }
    sg_reg_journal_free(&j);
    return rc;
}

int sg_reg_push_now(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                    int *changed, sg_reg_note_fn note, void *arg, char *err, size_t cap)
{
    if (changed)
        *changed = 0;
    if (err && cap)
        err[0] = 0;
    char zn[SG_KS_ZONE_MAX];
    if (!r || !ks || !zone || sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    sg_reg_dsset want;
    int unsigning = 0;
    int rc = sg_reg_zone_want(ks, zn, now, &want, &unsigning, NULL);
    if (rc < 0) {
        if (err)
            snprintf(err, cap, "%s", sg_strerror(rc));
        return rc;
    }
    if (rc == 0) {
        if (err)
            snprintf(err, cap, "no DS submitted for %s yet: nothing to push (an empty set is "
                               "pushed only for a zone being unsigned)", zn);
        return SG_ENOTFOUND;
    }
    if ((rc = sg_reg_want_events(r, ks, zn, now, &want, note, arg)))
        goto out;
    sg_reg_journal j = { 0 };
    if (r->prov && r->prov->scan_only) {
        sg_reg_note_add(&j, "reg-scan", "waiting for the registry's CDS scan: nothing to push "
                        "(the zone publishes %zu DS as CDS/CDNSKEY)", want.n);
    } else if (r->manual) {
        sg_reg_manual_announce(zn, &want, unsigning, &j);
    } else {
        sg_reg_ctx ctx;
        sg_reg_ctx_setup(r, &ctx, zn, &j);
        int ch = 0;
        int prc = sg_reg_push(&ctx, r->prov, &want, &ch);
        sg_reg_ctx_end(r, &ctx);
        if (changed)
            *changed = ch;
        const char *why = ctx.err[0] ? ctx.err : sg_strerror(prc);
        if (prc == 0)
            sg_reg_note_add(&j, "reg-ok", "%s", ch ? "the registrar accepted the DS set"
                                                   : "the registrar already has the DS set");
        else if (prc == SG_REG_ERETRY)
            sg_reg_note_add(&j, "reg-retry", "%s; signetd retries with backoff", why);
        else
            sg_reg_note_add(&j, "reg-error", "%s (%s)", why, sg_strerror(prc));
        if (prc && err)
            snprintf(err, cap, "%s", why);
        rc = prc;
    }
    for (size_t i = 0; i < j.n; i++) {
        sg_reg_cred_redact(&r->cred, j.v[i].reason);
        if (note)
            note(arg, j.v[i].state, j.v[i].reason);
    }
    int wrc = sg_reg_write_journal(r, ks, zn, now, &j);
    sg_reg_journal_free(&j);
    if (!rc && wrc) {
        rc = wrc;
        if (err)
            snprintf(err, cap, "events: %s", sg_strerror(wrc));
    }
out:
    sg_reg_dsset_deinit(&want);
    return rc;
}
