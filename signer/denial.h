/* SPDX-License-Identifier: MIT */
/* Authenticated denial data built once per zone version: the NSEC chain, or the NSEC3
 * chain with every name's hash, plus the type bitmaps both use. */
#ifndef SG_DENIAL_H
#define SG_DENIAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/rrset.h"
#include "zones/zone.h"

/* Encode an RFC 4034 4.1.2 type bitmap of n types (any order, duplicates allowed) into out
 * (at most 8704 bytes). Returns its length. */
size_t sg_type_bitmap(const uint16_t *types, int n, uint8_t *out);

/* ---- NSEC ------------------------------------------------------------------------- */

typedef struct sg_nsec_chain {
    const sg_zone *zone;
    sg_rrset *nsec;          /* per node index; .count == 0 when the node is not in the chain */
    uint32_t *chain_at;      /* per node index: the chain node at or before it */
    sg_arena mem;
} sg_nsec_chain;

/* Build the NSEC chain of a zone: every authoritative name with data and every zone cut,
 * in canonical order, the last pointing back to the apex. apex_types are added to the
 * apex's bitmap (DNSKEY, CDS, CDNSKEY served by the signer). TTL: the SOA's negative TTL
 * (RFC 9077). Returns 0 or SG_ENOMEM. */
int sg_nsec_build(const sg_zone *z, const uint16_t *apex_types, int napex, sg_nsec_chain **out);
void sg_nsec_free(sg_nsec_chain *c);
/* The same chain for z, derived from prev, the chain of an earlier version of the zone
 * (an UPDATE, an IXFR) built with the same apex_types: the records of names whose types
 * and flags did not change keep their bitmaps and only their next-name link is taken
 * anew. Equal byte for byte to sg_nsec_build(z, ...). prev's zone must still be alive
 * during the call; the result does not point into prev. Returns 0 or SG_ENOMEM. */
int sg_nsec_build_from(const sg_zone *z, const sg_nsec_chain *prev, const uint16_t *apex_types,
                       int napex, sg_nsec_chain **out);

/* The NSEC of a node, or NULL when the node has none (empty non-terminal, glue). */
static inline const sg_rrset *sg_nsec_of(const sg_nsec_chain *c, const sg_node *n)
{
    const sg_rrset *r = &c->nsec[n->index];
    return r->count ? r : NULL;
}

/* The chain node whose NSEC matches or covers a name in the zone (lower-case wire). */
const sg_node *sg_nsec_cover(const sg_nsec_chain *c, const uint8_t *name);


/* ---- NSEC3 (RFC 5155, parameters per RFC 9276) ------------------------------------ */

#define SG_NSEC3_HASH_LEN 20

typedef struct sg_nsec3_entry {
    uint8_t hash[SG_NSEC3_HASH_LEN];
    const sg_node *node;
    uint8_t *owner;          /* base32hex(hash).apex, wire */
    sg_rrset rrset;          /* the NSEC3 record */
} sg_nsec3_entry;

typedef struct sg_nsec3_chain {
    const sg_zone *zone;
    uint16_t iterations;
    uint8_t salt[255];
    uint8_t salt_len;
    uint8_t optout;
    sg_nsec3_entry *e;       /* sorted by hash */
    size_t n;
    uint64_t *pfx;           /* each hash's first 8 bytes as a big-endian number, dense:
                              * searched per query (a tie goes to e[].hash) */
    uint32_t *by_node;       /* node index -> entry index, UINT32_MAX if none */
    sg_rrset param;          /* the apex NSEC3PARAM RRset */
    sg_arena mem;
} sg_nsec3_chain;

/* Hash every authoritative name (empty non-terminals included; insecure delegations left
 * out under opt-out) and build the sorted NSEC3 chain. apex_types as for NSEC (NSEC3PARAM
 * is added by this function). Returns 0, SG_ENOMEM or SG_ELIB. */
int sg_nsec3_build(const sg_zone *z, uint16_t iterations, const uint8_t *salt, uint8_t salt_len,
                   int optout, const uint16_t *apex_types, int napex, sg_nsec3_chain **out);
/* The same, hashing and sorting on `threads` threads (whole-zone signing); the same chain. */
int sg_nsec3_build_threads(const sg_zone *z, uint16_t iterations, const uint8_t *salt,
                           uint8_t salt_len, int optout, const uint16_t *apex_types, int napex,
                           int threads, sg_nsec3_chain **out);
void sg_nsec3_free(sg_nsec3_chain *c);
/* The same chain for z, derived from prev, the chain of an earlier version of the zone
 * built with the same apex_types (prev's iterations, salt and opt-out are kept): names
 * already in prev keep their hash (never hashed again) and their place in its order,
 * new names are hashed and merged in, and only names whose types or flags changed get
 * a new bitmap. Equal byte for byte to sg_nsec3_build(z, ...). prev's zone must still be
 * alive during the call. Returns 0, SG_ENOMEM or SG_ELIB. */
int sg_nsec3_build_from(const sg_zone *z, const sg_nsec3_chain *prev, const uint16_t *apex_types,
                        int napex, sg_nsec3_chain **out);
/* RFC 5155 section 5 hash of a lower-case wire name with the chain's parameters. */
void sg_nsec3_hash(const sg_nsec3_chain *c, const uint8_t *name, uint8_t out[SG_NSEC3_HASH_LEN]);
/* The entry whose hash equals h (*match_out = 1) or covers it (*match_out = 0). */
const sg_nsec3_entry *sg_nsec3_find(const sg_nsec3_chain *c, const uint8_t h[SG_NSEC3_HASH_LEN],
                                    int *match_out);
/* Lower-case base32hex without padding (RFC 4648 section 7); out needs 8*n/5+2 bytes. */
void sg_base32hex(const uint8_t *in, size_t n, char *out);
/* The entry of a node of the zone, or NULL. */
static inline const sg_nsec3_entry *sg_nsec3_of(const sg_nsec3_chain *c, const sg_node *n)
{
    uint32_t i = c->by_node[n->index];
    return i == UINT32_MAX ? NULL : &c->e[i];
}

/* ---- between versions ------------------------------------------------------------- */

#define SG_DELTA_NONE 0x7fffffffu
#define SG_DELTA_SAME 0x80000000u

/* Match the nodes of z with those of base, an earlier version of the same zone, by one
 * merge of their canonical orders: peer[i] (z->nnodes entries, the caller's) is the index
 * in base of z's node i's name, or SG_DELTA_NONE when base lacks it, with SG_DELTA_SAME
 * or'ed in when the two nodes also have the same flags and types (so the same bitmap). */
void sg_denial_delta(const sg_zone *base, const sg_zone *z, uint32_t *peer);

#endif
