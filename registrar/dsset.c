/* SPDX-License-Identifier: MIT */
/* DS sets: the desired set from the keystore, comparison and the diff a push applies. */
#include "registrar/internal.h"

#include "common/name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_reg_dsset_init(sg_reg_dsset *s) { memset(s, 0, sizeof *s); }

void sg_reg_dsset_deinit(sg_reg_dsset *s)
{
    if (!s)
        return;
    free(s->v);
    memset(s, 0, sizeof *s);
}

int sg_reg_dsset_add(sg_reg_dsset *s, const sg_reg_ds *ds)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        sg_reg_ds *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return SG_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *ds;
    return 0;
}

int sg_reg_ds_same(const sg_reg_ds *a, const sg_reg_ds *b)
{
    if (a->algorithm != b->algorithm)
        return 0;
    if (a->digest_len && b->digest_len)
        return a->tag == b->tag && a->digest_type == b->digest_type &&
               a->digest_len == b->digest_len && !memcmp(a->digest, b->digest, a->digest_len);
    if (a->pubkey_len && b->pubkey_len)
        return (!a->flags || !b->flags || a->flags == b->flags) &&
               a->pubkey_len == b->pubkey_len && !memcmp(a->pubkey, b->pubkey, a->pubkey_len);
    return 0;
}

static int in_set(const sg_reg_dsset *s, size_t upto, const sg_reg_ds *ds)
{
    for (size_t i = 0; i < upto; i++)
        if (sg_reg_ds_same(&s->v[i], ds))
            return 1;
    return 0;
}

int sg_reg_diff(const sg_reg_dsset *have, const sg_reg_dsset *want, sg_reg_dsset *add_out,
                sg_reg_dsset *del_out)
{
    sg_reg_dsset_init(add_out);
    sg_reg_dsset_init(del_out);
    for (size_t i = 0; i < want->n; i++)
        if (!in_set(have, have->n, &want->v[i]) && !in_set(want, i, &want->v[i]) &&
            sg_reg_dsset_add(add_out, &want->v[i]))
            goto nomem;
    for (size_t i = 0; i < have->n; i++)
        /* a duplicate at the registrar goes too: the set is a set */
        if ((!in_set(want, want->n, &have->v[i]) || in_set(have, i, &have->v[i])) &&
            sg_reg_dsset_add(del_out, &have->v[i]))
            goto nomem;
    return 0;
nomem:
    sg_reg_dsset_deinit(add_out);
    sg_reg_dsset_deinit(del_out);
    return SG_ENOMEM;
}

void sg_reg_ds_text(const sg_reg_ds *ds, char *buf, size_t cap)
{
    if (!ds->digest_len) {
        snprintf(buf, cap, "%u %u key", ds->tag, ds->algorithm);
        return;
    }
    char hex[2 * SG_REG_DIGEST_MAX + 1];
    sg_reg_hex_encode(ds->digest, ds->digest_len, hex, 1);
    snprintf(buf, cap, "%u %u %u %s", ds->tag, ds->algorithm, ds->digest_type, hex);
}

int sg_reg_desired(sg_keystore *ks, const char *zone, int64_t now, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    sg_ks_key *keys = NULL;
    size_t n = 0;
    uint8_t digest = 0;
    int rc = sg_ks_ds_set(ks, zone, now, &keys, &n, &digest);
    if (rc)
        return rc;
    uint8_t owner[SG_NAME_MAX];
    if (sg_name_from_str(zone, NULL, owner)) {
        free(keys);
        return SG_EINVAL;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        uint8_t rd[SG_KS_RDATA_MAX], ds[4 + SG_REG_DIGEST_MAX];
        size_t rl, dl;
        if ((rc = sg_ks_key_dnskey_rdata(&keys[i], rd, sizeof rd, &rl)) ||
            (rc = sg_ks_ds_rdata(owner, rd, rl, digest, ds, sizeof ds, &dl)))
            break;
        d.tag = (uint16_t)(ds[0] << 8 | ds[1]);
        d.algorithm = ds[2];
        d.digest_type = ds[3];
        d.digest_len = dl - 4;
        memcpy(d.digest, ds + 4, d.digest_len);
        d.flags = keys[i].flags;
        d.pubkey_len = keys[i].pubkey_len;
        memcpy(d.pubkey, keys[i].pubkey, d.pubkey_len);
        rc = sg_reg_dsset_add(out, &d);
    }
    free(keys);
    sg_ks_zone zr;
    sg_ks_policy pol;
    if (!rc && !(rc = sg_ks_zone_get(ks, zone, &zr)) && !(rc = sg_ks_policy_get(ks, zr.policy, &pol)))
        out->ttl = pol.parent_ds_ttl;
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

int sg_reg_served_matches(const sg_reg_dsset *served, const sg_reg_dsset *want)
{
    for (size_t i = 0; i < want->n; i++) {
        int found = 0;
        for (size_t j = 0; j < served->n && !found; j++)
            found = sg_reg_ds_same(&served->v[j], &want->v[i]);
        if (!found)
            return 0;
    }
    for (size_t j = 0; j < served->n; j++) {
        int ours = 0;
        for (size_t i = 0; i < want->n && !ours; i++)
            ours = served->v[j].tag == want->v[i].tag &&
                   served->v[j].algorithm == want->v[i].algorithm;
        if (!ours)
            return 0;
    }
    return 1;
}
