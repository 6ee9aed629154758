/* SPDX-License-Identifier: MIT */
/* `signetctl ds check`: ask the parent's servers for the DS RRset now and record what they
 * serve, for DS records Signet may never have submitted (keys imported from the zone's
 * previous signer, a DS added by hand). The queries are parent.c's, as the tick's. */
#include "registrar/internal.h"

#include "common/name.h"
#include "keystore/rollover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The served DS record ds is one of k's. */
static int ds_of_key(const uint8_t *owner, const sg_ks_key *k, const sg_reg_ds *ds)
{
    if (ds->tag != k->tag || ds->algorithm != k->algorithm)
        return 0;
    uint8_t rd[SG_KS_RDATA_MAX], want[4 + SG_REG_DIGEST_MAX];
    size_t rl, wl;
    if (sg_ks_key_dnskey_rdata(k, rd, sizeof rd, &rl) ||
        sg_ks_ds_rdata(owner, rd, rl, ds->digest_type, want, sizeof want, &wl))
        return 0; /* a digest type we cannot make (GOST): not ours to judge */
    return wl - 4 == ds->digest_len && !memcmp(want + 4, ds->digest, ds->digest_len);
}

int sg_reg_check_now(sg_keystore *ks, const char *zone, char *const *servers, int nservers,
                     uint32_t timeout_ms, int64_t now, FILE *report, sg_reg_check *out)
{
    if (!ks || !zone || !servers || nservers <= 0 || !out)
        return SG_EINVAL;
    memset(out, 0, sizeof *out);
    char zn[SG_KS_ZONE_MAX];
    uint8_t owner[SG_NAME_MAX];
    if (sg_ks_zone_normalize(zone, zn) || sg_name_from_str(zn, NULL, owner) < 0)
        return SG_EINVAL;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_key_list(ks, zn, &keys, &n);
    if (rc)
        return rc;
    /* per key: how many servers serve a DS of it; per server's record: whether a key has it */
    int *hits = calloc(n ? n : 1, sizeof *hits);
    if (!hits) {
        free(keys);
        return SG_ENOMEM;
    }
    char src[128] = "";
    for (int s = 0; s < nservers; s++) {
        sg_reg_dsset served;
        char err[200] = "";
        if (sg_reg_parent_query(servers[s], zn, timeout_ms ? timeout_ms : 2000, &served, err,
                                sizeof err)) {
            if (report)
                fprintf(report, "%s: %s\n", servers[s], err);
            continue;
        }
        out->answered++;
        if (served.n && served.ttl >= out->ttl) {
            out->ttl = served.ttl;
            snprintf(src, sizeof src, "%s", servers[s]);
        }
        if (report)
            fprintf(report, "%s serves %zu DS%s", servers[s], served.n, served.n ? "" : "\n");
        for (size_t d = 0; d < served.n; d++) {
            const sg_reg_ds *ds = &served.v[d];
            int matched = 0;
            for (size_t i = 0; i < n; i++)
                if (keys[i].role != SG_KS_ROLE_ZSK && ds_of_key(owner, &keys[i], ds)) {
                    matched = 1;
                    hits[i] |= 1 << (s % 30); /* servers are few (SG_REG_MAX_NS) */
                }
            if (report)
                fprintf(report, "%s%u/%u/%u%s", d ? " " : ": ", ds->tag, ds->algorithm,
                        ds->digest_type, matched ? "" : "(no such key)");
            if (!matched) {
                out->ds_without_key++;
            }
        }
        if (report && served.n)
            fprintf(report, ", TTL %u\n", served.ttl);
        sg_reg_dsset_deinit(&served);
    }
    int all = 0;
    for (int s = 0; s < nservers; s++)
        all |= 1 << (s % 30);
    if (out->answered == 0) {
        rc = SG_EIO;
        goto done;
    }
    if (out->ttl && (rc = sg_ks_fact_observe(ks, zn, SG_KS_FACT_PARENT_DS_TTL, out->ttl, src, now)))
        goto done;
    for (size_t i = 0; i < n && !rc; i++) {
        sg_ks_key *k = &keys[i];
        int in_dnskey = k->publish && k->publish <= now && !(k->remove && k->remove <= now);
        if (k->role == SG_KS_ROLE_ZSK || (!in_dnskey && !hits[i]))
            continue;
        if (hits[i] == all && out->answered == nservers) {
            out->seen++;
            if (k->ds_seen) {
                if (report)
                    fprintf(report, "key %lld (tag %u): DS served by every parent server (already recorded)\n",
                            (long long)k->id, k->tag);
                continue;
            }
            char why[200];
            snprintf(why, sizeof why, "ds check: all %d parent servers serve its DS", nservers);
            int marked = 0;
            rc = sg_roll_ds_at_parent(ks, zn, k->id, why, now, &marked);
            if (rc == SG_EINVAL) { /* withdrawn or retired: served, but not ours to record */
                rc = 0;
                continue;
            }
            out->marked += marked;
            if (report && !rc)
                fprintf(report, "key %lld (tag %u): DS served by every parent server: recorded as seen\n",
                        (long long)k->id, k->tag);
        } else if (in_dnskey && !(k->retire && k->retire <= now)) {
            out->key_without_ds++;
            if (report)
                fprintf(report, "key %lld (tag %u): %s\n", (long long)k->id, k->tag,
                        hits[i] ? "DS served by some parent servers only" : "no DS at the parent");
        }
    }
    if (!rc) {
        char text[256];
        snprintf(text, sizeof text, "ds check: %d of %d parent servers answered; %d key%s with its DS "
                 "everywhere (%d newly recorded), %d without, %d DS without a key; TTL %u",
                 out->answered, nservers, out->seen, out->seen == 1 ? "" : "s", out->marked,
                 out->key_without_ds, out->ds_without_key, out->ttl);
        rc = sg_ks_event_add(ks, now, zn, 0, NULL, "parent-check", text);
    }
done:
    free(hits);
    free(keys);
    return rc;
}
