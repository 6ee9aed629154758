/* SPDX-License-Identifier: MIT */
/* What a cached signature is keyed on: the content it covers, not the zone version it was
 * made for, so that a new version (reload, transfer, UPDATE) keeps every signature of an
 * RRset it did not change. */
#ifndef SG_SIGKEY_H
#define SG_SIGKEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

/* A 128-bit keyed hash (SipHash-2-4, 128-bit output, with a key drawn at random once per
 * process) of everything an RRSIG over an RRset depends on besides the key and the
 * validity: the signer name (zone apex), the owner as signed (the wildcard for an expanded
 * answer; it fixes the labels field), class IN, type, original TTL and the RDATA set in
 * canonical order. The key is secret and never leaves the process, so that nobody who
 * writes zone data can aim at a collision; at 128 bits one by chance is out of reach. */
typedef struct sg_sigkey {
    uint64_t h[2];
} sg_sigkey;

/* The content key of RRset rs at owner (lower-case wire) in the zone at apex. */
void sg_sigkey_rrset(const uint8_t *apex, const uint8_t *owner, const sg_rrset *rs,
                     sg_sigkey *out);

/* The signing identity a cached signature is keyed on besides its content: the key's
 * DNSKEY RDATA (flags, protocol, algorithm, public key; rdata without its length) and the
 * policy's validity and jitter, so that a new key or another validity policy signs anew.
 * Never 0. */
uint64_t sg_sigkey_signer(const uint8_t *dnskey_rdata, size_t len, uint32_t validity,
                          uint32_t jitter);

/* The content keys of n RRsets that lie stride bytes apart from base (an array of
 * sg_rrset, or the rrset member of an array of structs): built once for a zone version
 * or a denial chain, so that the query path finds a key with a subtraction instead of a
 * hash over the RRset. */
typedef struct sg_sigkey_table {
    const uint8_t *base;
    size_t n;
    size_t stride;
    sg_sigkey *k;            /* n keys, malloc'ed; NULL: none */
} sg_sigkey_table;

/* The key of rs when it is one of t's RRsets, else NULL. */
static inline const sg_sigkey *sg_sigkey_table_find(const sg_sigkey_table *t, const sg_rrset *rs)
{
    if (!t || !t->k || (const uint8_t *)rs < t->base)
        return NULL;
    size_t off = (size_t)((const uint8_t *)rs - t->base);
    size_t i = off / t->stride;
    return i < t->n && i * t->stride == off ? &t->k[i] : NULL;
}

void sg_sigkey_table_deinit(sg_sigkey_table *t);

struct sg_zone;
/* The content keys of every RRset of zone version z, when its builder laid them out as
 * one array in canonical order (zones/zone.c does); otherwise, or without memory, an empty
 * table (queries then hash what they sign). 0, SG_ENOMEM or SG_ENOTFOUND (not one array). */
int sg_sigkey_zone(const struct sg_zone *z, sg_sigkey_table *out);

/* SipHash-2-4 with 128-bit output under an explicit key (the published test vectors). */
void sg_siphash128(const uint8_t key[16], const void *msg, size_t n, uint8_t out[16]);

#endif
