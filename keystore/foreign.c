/* SPDX-License-Identifier: MIT */
/* Multi-signer (RFC 8901, model 2): another signer's keys, held public-only and marked
 * foreign, and what that signer was seen to serve of ours, which a ZSK rollover waits on. */
#include "keystore/internal.h"

#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_ks_key_foreign(const sg_ks_key *k)
{
    return k && !strcmp(k->storage, KS_STORAGE_FOREIGN);
}

int sg_ks_key_mark_foreign(sg_keystore *ks, int64_t id, const char *peer, int64_t now)
{
    if (!ks || id <= 0)
        return SG_EINVAL;
    sg_ks_key k;
    int r = sg_ks_key_get(ks, id, &k);
    if (r)
        return r;
    if (sg_ks_key_foreign(&k))
        return 0;
    /* only a key without a private half here can be another signer's */
    if (strcmp(k.storage, KS_STORAGE_NONE) != 0) {
        ks_set_err(ks, "key %lld has its private key here (%s): it is not another signer's",
                   (long long)id, k.storage);
        return SG_EINVAL;
    }
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "UPDATE keys SET storage = '" KS_STORAGE_FOREIGN "' WHERE id = ?1",
                        &st)))
        return r;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE)
        return ks_sql_fail(ks, rc, "mark key foreign");
    char why[200];
    snprintf(why, sizeof why, "%s tag %u belongs to the multi-signer peer %s",
             sg_ks_role_name(k.role), k.tag, peer && *peer ? peer : "(unnamed)");
    return sg_ks_event_add(ks, now, k.zone, id, sg_ks_state_name(k.state),
                           sg_ks_state_name(k.state), why);
}

int sg_ks_peer_seen(sg_keystore *ks, const char *zone, uint16_t tag, int seen,
                    const char *source, int64_t now)
{
    if (!ks || !zone)
        return SG_EINVAL;
    char name[32];
    snprintf(name, sizeof name, "%s%u", SG_KS_FACT_PEER_SEEN, tag);
    return sg_ks_fact_observe(ks, zone, name, seen ? 1 : 0, source ? source : "", now);
}

int sg_ks_peer_seen_list(sg_keystore *ks, const char *zone, sg_ks_peer_seen_key *out,
                         size_t cap, size_t *n_out)
{
    if (!ks || !zone || (!out && cap) || !n_out)
        return SG_EINVAL;
    *n_out = 0;
    sqlite3_stmt *st;
    /* value 1: served now; since: from when, unchanged */
    int r = ks_prepare(ks, "SELECT name, since FROM facts WHERE zone = ?1 AND value = 1"
                           " AND substr(name, 1, ?2) = ?3 ORDER BY since DESC", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)strlen(SG_KS_FACT_PEER_SEEN));
    sqlite3_bind_text(st, 3, SG_KS_FACT_PEER_SEEN, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n_out == cap)
            continue;
        char name[32];
        ks_col_text(st, 0, name, sizeof name);
        char *end;
        unsigned long tag = strtoul(name + strlen(SG_KS_FACT_PEER_SEEN), &end, 10);
        if (*end || tag > 65535)
            continue;
        out[*n_out].tag = (uint16_t)tag;
        out[*n_out].since = sqlite3_column_int64(st, 1);
        (*n_out)++;
    }
    if (rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "read the multi-signer peer's keys");
    ks_finish(ks, st);
    return r;
}
