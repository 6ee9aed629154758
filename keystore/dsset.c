/* SPDX-License-Identifier: MIT */
/* The DS set the parent should have: one rule shared by the signer's CDS/CDNSKEY and the
 * registrar's pushes, so that the two can never disagree. */
#include "keystore/keystore.h"

#include <stdlib.h>
#include <string.h>

static int reached(int64_t t, int64_t now) { return t && t <= now; }

int sg_ks_key_in_ds_set(const sg_ks_key *k, int64_t now)
{
    /* from its submission until it is withdrawn (algorithm rollover, unsign) or the key
     * retires; whether the key is in the DNSKEY RRset does not matter: under double-DS
     * the DS comes before the key and goes after it */
    return k->role != SG_KS_ROLE_ZSK && k->ds_submitted && !reached(k->ds_withdrawn, now) &&
           !reached(k->retire, now);
}

int sg_ks_key_ds_gone_pending(const sg_ks_key *k, int64_t now)
{
    return k->ds_submitted && reached(k->ds_withdrawn, now) && !k->ds_gone;
}

int sg_ks_ds_set(sg_keystore *ks, const char *zone, int64_t now, sg_ks_key **keys_out,
                 size_t *n_out, uint8_t *digest_out)
{
    if (!ks || !zone || !keys_out || !n_out)
        return SG_EINVAL;
    *keys_out = NULL;
    *n_out = 0;
    sg_ks_zone z;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_zone_get(ks, zone, &z);
    if (!rc)
        rc = sg_ks_policy_get(ks, z.policy, &p);
    if (!rc)
        rc = sg_ks_key_list(ks, z.name, &keys, &n);
    if (rc)
        return rc;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (sg_ks_key_in_ds_set(&keys[i], now))
            keys[m++] = keys[i];
    if (m == 0) {
        free(keys);
        keys = NULL;
    }
    *keys_out = keys;
    *n_out = m;
    if (digest_out)
        *digest_out = p.ds_digest;
    return 0;
}
