/* SPDX-License-Identifier: MIT */
/* A zone's keys as the signer uses them: an immutable snapshot built from the keystore. */
#ifndef SG_KEYSET_H
#define SG_KEYSET_H

#include <stdint.h>

#include "common/arena.h"
#include "common/name.h"
#include "keystore/keystore.h"
#include "signer/signer.h"

/* What the signer reads of the zone's policy. Not the whole sg_ks_policy: that carries a
 * 1 KiB PKCS#11 URI for key generation, and one snapshot per zone made it 1 KiB more per
 * zone (10,000 zones: +10 MiB RSS). */
typedef struct sg_keyset_policy {
    int64_t id;
    char name[SG_KS_NAME_MAX];
    enum sg_ks_denial denial;
    uint32_t dnskey_ttl;
    uint32_t sig_validity;
    uint32_t sig_refresh;
    uint32_t sig_jitter;
    uint16_t nsec3_iterations;
    int nsec3_opt_out;
    int publish_cds;
    int publish_cdnskey;
    uint8_t ds_digest;
} sg_keyset_policy;

typedef struct sg_keyset {
    uint8_t apex[SG_NAME_MAX];
    sg_keyset_policy policy;
    sg_sign_key *zsk;      /* sign ordinary RRsets: active ZSKs and CSKs */
    int nzsk;
    sg_sign_key *ksk;      /* sign DNSKEY, CDS, CDNSKEY: active KSKs and CSKs */
    int nksk;
    sg_rrset dnskey;       /* every published key */
    sg_rrset cds;          /* count 0 when not published */
    sg_rrset cdnskey;
    /* offline KSK (signer/offline_ksk.h): the imported bundle's RRSIGs over dnskey, cds,
     * cdnskey, served as they are (ksk is then empty); presigned 0 otherwise */
    int presigned;
    sg_rrset presigned_sig[3];
    int64_t skr_until;     /* the bundle's slot end (past: the last bundle, stale) */
    uint16_t apex_types[3];/* DNSKEY, and CDS/CDNSKEY when published: for the bitmaps */
    int napex;
    uint64_t fingerprint;  /* changes whenever anything above would */
    uint64_t gen;          /* unique per snapshot, for the signature cache */
    sg_arena mem;
} sg_keyset;

/* Build the snapshot of zone (presentation name) from the keystore at time now: keys by
 * their stored state (published, ready, active, retired are in the DNSKEY RRset; active
 * ones sign). Private keys are loaded for the active keys. When the keys and policy still
 * give prev_fp, returns SG_EEXIST and builds nothing. Returns 0 or an SG_E* error. */
int sg_keyset_load(sg_keystore *ks, const char *zone, int64_t now, uint64_t prev_fp,
                   sg_keyset **out);
/* sg_keyset_load, and in *next_change_out (may be NULL; set on SG_EEXIST too) the first
 * time after now at which a key's timing point changes what the set would be (an operator
 * may set one ahead), INT64_MAX when none: until then, and until the keystore changes,
 * loading again gives the same set. */
int sg_keyset_load_next(sg_keystore *ks, const char *zone, int64_t now, uint64_t prev_fp,
                        sg_keyset **out, int64_t *next_change_out);
/* The presigned RRSIG RRset over rs (one of k's dnskey, cds, cdnskey) when k serves an
 * offline KSK's bundle, else NULL. */
const sg_rrset *sg_keyset_presigned(const sg_keyset *k, const sg_rrset *rs);
/* Free a snapshot; cleanses nothing itself (OpenSSL frees the keys). */
void sg_keyset_free(sg_keyset *k);

/* Make sure a zone is in the keystore (added with the given policy when new; one already
 * there keeps its own) and has a key that signs:
 * when it has none, generate the policy's keys (a CSK, or a KSK and a ZSK) and make them
 * active now. Returns 0 or an SG_E* error (logged). */
int sg_keyset_ensure(sg_keystore *ks, const char *zone, const char *policy, int64_t now);

#endif
