/* SPDX-License-Identifier: MIT */
/* Who may change what by UPDATE (RFC 2136): the TSIG keys of an `update` block and the
 * names and types each may change (its `allow` lines). */
#ifndef SG_UPD_POLICY_H
#define SG_UPD_POLICY_H

#include <stdint.h>

#include "common/cfg.h"
#include "common/name.h"

struct sg_tsig_keyring;
struct sg_tsig_key;

#define SG_UPD_KEYS_MAX 32
#define SG_UPD_TYPES_MAX 16

/* One `allow KEY NAME [TYPE...]` line. */
typedef struct sg_upd_allow {
    int key;                      /* index into sg_upd_policy.keys */
    char name[SG_NAME_MAX * 4 + 2]; /* as written: relative to the zone, or absolute */
    int subtree;                  /* it was written "*.NAME": the names below NAME */
    uint16_t types[SG_UPD_TYPES_MAX];
    int ntypes;                   /* 0: every type the default allows */
} sg_upd_allow;

typedef struct sg_upd_policy {
    const struct sg_tsig_key *keys[SG_UPD_KEYS_MAX]; /* owned by the runtime's keyring */
    int nkeys;
    sg_upd_allow *allow;          /* malloc'd; sg_upd_policy_deinit frees */
    int nallow;
} sg_upd_policy;

/* Parse the `key` and `allow` lines of an `update` block (other lines are the caller's:
 * it passes a filter, other(d) returns 1 for a line it takes). Keys are looked up in kr
 * (the global options' tsig-key lines); an `allow` line's key must be a `key` of the
 * block. Errors as file:line; 0 or SG_ESYNTAX (p is then deinit'ed). */
int sg_upd_policy_parse(const sg_cfg_block *blk, const struct sg_tsig_keyring *kr,
                        int (*other)(const sg_cfg_block *d), sg_upd_policy *p);
void sg_upd_policy_deinit(sg_upd_policy *p);

/* The index of key k in p, or -1 when it may not update at all. */
int sg_upd_policy_key(const sg_upd_policy *p, const struct sg_tsig_key *k);

/* Is the key of index key allowed to change (add or delete) records of type at owner
 * (lower-case wire) in the zone apex? SG_TYPE_ANY stands for "every RRset of the name".
 * A key without allow lines may change anything but the apex's SOA and the types the
 * signer owns; with allow lines, what one of them names (never the signer's types,
 * which UPDATE refuses anyway). 1 or 0. */
int sg_upd_policy_permits(const sg_upd_policy *p, int key, const uint8_t *apex,
                          const uint8_t *owner, uint16_t type);

/* The types a signer makes and UPDATE may not touch: DNSKEY, RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, CDS, CDNSKEY. */
int sg_upd_signer_type(uint16_t type);

#endif
