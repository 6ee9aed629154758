/* SPDX-License-Identifier: MIT */
/* Authenticated denial for one reply: which NSEC/NSEC3 records prove what the lookup
 * found (RFC 4035 3.1.3, RFC 5155 7.2, RFC 9824 compact denial). */
#ifndef SG_PROVE_H
#define SG_PROVE_H

#include "common/query.h"
#include "keystore/keystore.h"
#include "signer/denial.h"

/* The denial data of one zone version for one set of parameters, attached to the zone. */
typedef struct sg_denial {
    enum sg_ks_denial kind;
    uint16_t iterations;
    uint8_t optout;
    uint16_t apex_types[3];
    int napex;
    sg_nsec_chain *nsec;
    sg_nsec3_chain *nsec3;
} sg_denial;

/* Build the denial data for zone z (NULL chains for compact denial). */
int sg_denial_build(const sg_zone *z, enum sg_ks_denial kind, uint16_t iterations, int optout,
                    const uint16_t *apex_types, int napex, sg_denial **out);
/* The same with the NSEC3 hashing on `threads` threads. */
int sg_denial_build_threads(const sg_zone *z, enum sg_ks_denial kind, uint16_t iterations,
                            int optout, const uint16_t *apex_types, int napex, int threads,
                            sg_denial **out);
/* The same for z, derived from prev, the denial data of an earlier version of the zone
 * (sg_nsec_build_from, sg_nsec3_build_from) when prev fits these parameters; otherwise
 * (prev NULL, other parameters, another zone) built from scratch. The result is the same
 * either way. prev's zone must stay alive during the call; the result does not refer to
 * prev. */
int sg_denial_build_from(const sg_zone *z, const sg_denial *prev, enum sg_ks_denial kind,
                         uint16_t iterations, int optout, const uint16_t *apex_types, int napex,
                         sg_denial **out);
void sg_denial_free(void *d);
/* Does d fit these parameters? */
int sg_denial_matches(const sg_denial *d, enum sg_ks_denial kind, uint16_t iterations,
                      int optout, const uint16_t *apex_types, int napex);

/* Add the proofs the reply in q needs (after the zone lookup). Compact denial turns
 * NXDOMAIN into NOERROR with an NXNAME NSEC (RFC 9824). Synthesized records are allocated
 * in q->arena. Returns 0 or SG_ENOMEM / SG_ESPACE. */
int sg_prove(const sg_denial *d, sg_query *q);

/* A NODATA for a record the signer makes, asked for by name, becomes its answer (as BIND
 * and Knot answer it, with DO or without): NSEC3PARAM at the apex, the name's NSEC (NSEC
 * mode), the NSEC made for the name (compact). Otherwise nothing changes. 0 or SG_ENOMEM. */
int sg_denial_answer(const sg_denial *d, sg_query *q);

#endif
