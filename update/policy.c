/* SPDX-License-Identifier: MIT */
/* The `key` and `allow` lines of an `update` block, and matching an UPDATE's records
 * against them. */
#include "update/policy.h"
#include "tsig/tsig.h"
#include "common/errors.h"
#include "common/rrset.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sg_upd_signer_type(uint16_t type)
{
    switch (type) {
    case SG_TYPE_DNSKEY: case SG_TYPE_RRSIG: case SG_TYPE_NSEC: case SG_TYPE_NSEC3:
    case SG_TYPE_NSEC3PARAM: case SG_TYPE_CDS: case SG_TYPE_CDNSKEY:
        return 1;
    default:
        return 0;
    }
}

void sg_upd_policy_deinit(sg_upd_policy *p)
{
    if (!p)
        return;
    free(p->allow);
    memset(p, 0, sizeof *p);
}

int sg_upd_policy_key(const sg_upd_policy *p, const struct sg_tsig_key *k)
{
    for (int i = 0; p && k && i < p->nkeys; i++)
        if (p->keys[i] == k)
            return i;
    return -1;
}

static int find_key(const sg_upd_policy *p, const sg_tsig_key *k)
{
    return sg_upd_policy_key(p, k);
}

/* A type by its mnemonic or TYPEnnn (ldns knows them all); 0 when unknown. */
static uint16_t parse_type(const char *s)
{
    if (!strcasecmp(s, "ANY"))
        return SG_TYPE_ANY;
    ldns_rr_type t = ldns_get_rr_type_by_name(s);
    return (uint16_t)t;
}

static int parse_allow(const sg_cfg_block *d, const sg_tsig_keyring *kr, sg_upd_policy *p)
{
    if (d->nargs < 2)
        return sg_cfg_error(d, "allow: expected KEY NAME [TYPE...] (NAME relative to the zone, "
                               "'@' for the apex, '*.NAME' for the names below NAME)");
    const sg_tsig_key *k = sg_tsig_find(kr, d->args[0]);
    int ki = find_key(p, k);
    if (ki < 0)
        return sg_cfg_error(d, "allow: '%s' is not a key of this update block (add 'key %s')",
                            d->args[0], d->args[0]);
    sg_upd_allow a = { .key = ki };
    const char *n = d->args[1];
    if (!strncmp(n, "*.", 2)) {
        a.subtree = 1;
        n += 2;
    } else if (!strcmp(n, "*")) {
        a.subtree = 1;
        n = "@";
    }
    uint8_t w[SG_NAME_MAX];
    /* checked against a stand-in origin: the zone is known only when matching */
    if (!*n || strlen(n) >= sizeof a.name || sg_name_from_str(n, (const uint8_t *)"\4test", w))
        return sg_cfg_error(d, "allow: '%s' is not a name", d->args[1]);
    snprintf(a.name, sizeof a.name, "%s", n);
    for (int i = 2; i < d->nargs; i++) {
        if (a.ntypes == SG_UPD_TYPES_MAX)
            return sg_cfg_error(d, "allow: at most %d types on a line", SG_UPD_TYPES_MAX);
        uint16_t t = parse_type(d->args[i]);
        if (!t)
            return sg_cfg_error(d, "allow: '%s' is not a record type", d->args[i]);
        if (sg_upd_signer_type(t) || t == SG_TYPE_SOA)
            return sg_cfg_error(d, "allow: %s records are the signer's or the server's; UPDATE "
                                   "never changes them", d->args[i]);
        a.types[a.ntypes++] = t;
    }
    sg_upd_allow *na = realloc(p->allow, (size_t)(p->nallow + 1) * sizeof *na);
    if (!na)
        return SG_ENOMEM;
    p->allow = na;
    p->allow[p->nallow++] = a;
    return 0;
}

int sg_upd_policy_parse(const sg_cfg_block *blk, const sg_tsig_keyring *kr,
                        int (*other)(const sg_cfg_block *d), sg_upd_policy *p)
{
    memset(p, 0, sizeof *p);
    int rc = 0;
    /* keys first: an allow line may come before the key line it names */
    for (int i = 0; i < blk->nchildren && !rc; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (strcmp(d->name, "key"))
            continue;
        if (d->nargs < 1 || d->has_block) {
            rc = sg_cfg_error(d, "key: expected the name of a tsig-key from the global options");
            break;
        }
        for (int k = 0; k < d->nargs && !rc; k++) {
            const sg_tsig_key *key = sg_tsig_find(kr, d->args[k]);
            if (!key)
                rc = sg_cfg_error(d, "key: no tsig-key '%s' in the global options", d->args[k]);
            else if (find_key(p, key) >= 0)
                continue;
            else if (p->nkeys == SG_UPD_KEYS_MAX)
                rc = sg_cfg_error(d, "key: at most %d keys", SG_UPD_KEYS_MAX);
            else
                p->keys[p->nkeys++] = key;
        }
    }
    for (int i = 0; i < blk->nchildren && !rc; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (!strcmp(d->name, "key"))
            continue;
        if (!strcmp(d->name, "allow"))
            rc = parse_allow(d, kr, p);
        else if (!other || !other(d))
            rc = sg_cfg_error(d, "update: unknown option '%s' (key, allow, journal, serial, "
                                 "write-back)", d->name);
    }
    if (!rc && p->nkeys == 0)
        rc = sg_cfg_error(blk, "update: a 'key NAME' line is required (UPDATE is TSIG-signed "
                               "or refused)");
    if (rc)
        sg_upd_policy_deinit(p);
    return rc == SG_ENOMEM ? rc : rc ? SG_ESYNTAX : 0;
}

static int name_matches(const sg_upd_allow *a, const uint8_t *apex, const uint8_t *owner)
{
    uint8_t w[SG_NAME_MAX];
    if (sg_name_from_str(a->name, apex, w))
        return 0;
    sg_name_lower(w);
    if (!a->subtree)
        return sg_name_eq(owner, w);
    return !sg_name_eq(owner, w) && sg_name_is_sub(owner, w);
}

int sg_upd_policy_permits(const sg_upd_policy *p, int key, const uint8_t *apex,
                          const uint8_t *owner, uint16_t type)
{
    if (!p || key < 0 || key >= p->nkeys || !sg_name_is_sub(owner, apex))
        return 0;
    if (sg_upd_signer_type(type))
        return 0;
    int has_allow = 0;
    for (int i = 0; i < p->nallow; i++) {
        const sg_upd_allow *a = &p->allow[i];
        if (a->key != key)
            continue;
        has_allow = 1;
        if (!name_matches(a, apex, owner))
            continue;
        if (a->ntypes == 0)
            return type != SG_TYPE_SOA;
        for (int t = 0; t < a->ntypes; t++)
            if (a->types[t] == type || a->types[t] == SG_TYPE_ANY)
                return 1;
    }
    if (has_allow)
        return 0;
    return !(type == SG_TYPE_SOA && sg_name_eq(owner, apex));
}
