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

/* The content key of RRset rs at owner (lower-case wire) in the zone at apex. Computed
 * per signature a reply carries: the RRset is hashed in one piece (about 1% of a signed
 * hit's CPU on the 100k-name bench zone), which costs less than looking up a key made
 * ahead of time in a per-version table (a memory access that misses the CPU's caches:
 * 4.6% when that was tried). */
void sg_sigkey_rrset(const uint8_t *apex, const uint8_t *owner, const sg_rrset *rs,
                     sg_sigkey *out);

/* The signing identity a cached signature is keyed on besides its content: the key's
 * DNSKEY RDATA (flags, protocol, algorithm, public key; rdata without its length) and the
 * policy's validity and jitter, so that a new key or another validity policy signs anew.
 * Never 0. */
uint64_t sg_sigkey_signer(const uint8_t *dnskey_rdata, size_t len, uint32_t validity,
                          uint32_t jitter);

/* SipHash-2-4 with 128-bit output under an explicit key (the published test vectors):
 * msg in one piece (piece 0), as the query path hashes an RRset, or fed piece bytes at a
 * time, as an RRset too big for that is. */
void sg_siphash128(const uint8_t key[16], const void *msg, size_t n, size_t piece,
                   uint8_t out[16]);

#endif
