/* SPDX-License-Identifier: MIT */
/* Zones: their names, policy and registrar binding. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_ks_zone_normalize(const char *in, char out[SG_KS_ZONE_MAX])
{
    uint8_t wire[SG_NAME_MAX];
    if (!in || !*in || sg_name_from_str(in, NULL, wire) != 0) {
        /* Operators type zone names without the final dot; accept that. */
        char tmp[SG_KS_ZONE_MAX];
        if (!in || !*in || snprintf(tmp, sizeof tmp, "%s.", in) >= (int)sizeof tmp ||
            sg_name_from_str(tmp, NULL, wire) != 0)
            return SG_ESYNTAX;
    }
    sg_name_lower(wire);
    sg_name_to_str(wire, out, SG_KS_ZONE_MAX);
    return 0;
}

static int policy_id(sg_keystore *ks, const char *name, int64_t *id_out)
{
    sg_ks_policy p;
    int r = sg_ks_policy_get(ks, name, &p);
    if (r == SG_ENOTFOUND)
        ks_set_err(ks, "no policy named %s", name);
    if (r == 0)
        *id_out = p.id;
    return r;
}

int sg_ks_zone_add(sg_keystore *ks, const char *zone, const char *policy, int64_t now)
{
    char name[SG_KS_ZONE_MAX];
    if (!ks || sg_ks_zone_normalize(zone, name) != 0)
        return SG_EINVAL;
    if (!policy)
        policy = SG_KS_DEFAULT_POLICY;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    int64_t pid;
    if ((r = policy_id(ks, policy, &pid)) != 0)
        goto fail;
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "INSERT INTO zones (name, policy_id, created) VALUES (?1, ?2, ?3)",
                        &st)) != 0)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, pid);
    sqlite3_bind_int64(st, 3, now);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "add zone");
        goto fail;
    }
    char reason[128];
    snprintf(reason, sizeof reason, "zone added with policy %s", policy);
    if ((r = sg_ks_event_add(ks, now, name, 0, NULL, NULL, reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

#define ZONE_SELECT                                                                        \
    "SELECT z.id, z.name, p.name, z.registrar, z.state, z.created, z.file FROM zones z"   \
    " JOIN policies p ON p.id = z.policy_id"

static void row_to_zone(sqlite3_stmt *st, sg_ks_zone *z)
{
    memset(z, 0, sizeof *z);
    z->id = sqlite3_column_int64(st, 0);
    ks_col_text(st, 1, z->name, sizeof z->name);
    ks_col_text(st, 2, z->policy, sizeof z->policy);
    ks_col_text(st, 3, z->registrar, sizeof z->registrar);
    ks_col_text(st, 4, z->state, sizeof z->state);
    z->created = sqlite3_column_int64(st, 5);
    ks_col_text(st, 6, z->file, sizeof z->file);
}

int sg_ks_zone_get(sg_keystore *ks, const char *zone, sg_ks_zone *z_out)
{
    char name[SG_KS_ZONE_MAX];
    if (!ks || !z_out || sg_ks_zone_normalize(zone, name) != 0)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, ZONE_SELECT " WHERE z.name = ?1", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_zone(st, z_out);
    else
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read zone");
    ks_finish(ks, st);
    return r;
}

int sg_ks_zone_list(sg_keystore *ks, sg_ks_zone **list_out, size_t *n_out)
{
    if (!ks || !list_out || !n_out)
        return SG_EINVAL;
    *list_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, ZONE_SELECT " ORDER BY z.name", &st);
    if (r)
        return r;
    sg_ks_zone *list = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_ks_zone *nl = realloc(list, (n + 1) * sizeof *list);
        if (!nl) {
            r = SG_ENOMEM;
            break;
        }
        list = nl;
        row_to_zone(st, &list[n++]);
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "list zones");
    ks_finish(ks, st);
    if (r) {
        free(list);
        return r;
    }
    *list_out = list;
    *n_out = n;
    return 0;
}

int sg_ks_zone_update(sg_keystore *ks, const char *zone, const char *policy,
                      const char *registrar, const char *state, int64_t now)
{
    sg_ks_zone z;
    if (!ks)
        return SG_EINVAL;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    if ((r = sg_ks_zone_get(ks, zone, &z)) != 0)
        goto fail;
    int64_t pid = 0;
    if (policy && (r = policy_id(ks, policy, &pid)) != 0)
        goto fail;
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "UPDATE zones SET policy_id = coalesce(?2, policy_id),"
                            " registrar = coalesce(?3, registrar), state = coalesce(?4, state)"
                            " WHERE id = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_int64(st, 1, z.id);
    if (policy)
        sqlite3_bind_int64(st, 2, pid);
    if (registrar)
        sqlite3_bind_text(st, 3, registrar, -1, SQLITE_TRANSIENT);
    if (state)
        sqlite3_bind_text(st, 4, state, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "update zone");
        goto fail;
    }
    char reason[256];
    snprintf(reason, sizeof reason, "zone changed:%s%s%s%s%s%s", policy ? " policy " : "",
             policy ? policy : "", registrar ? " registrar " : "", registrar ? registrar : "",
             state ? " state " : "", state ? state : "");
    if ((r = sg_ks_event_add(ks, now, z.name, 0, state ? z.state : NULL, state, reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_zone_remove(sg_keystore *ks, const char *zone, int force, int64_t now)
{
    sg_ks_zone z;
    if (!ks)
        return SG_EINVAL;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    if ((r = sg_ks_zone_get(ks, zone, &z)) != 0)
        goto fail;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if ((r = sg_ks_key_list(ks, z.name, &keys, &n)) != 0)
        goto fail;
    for (size_t i = 0; i < n && !force; i++) {
        if (ks_key_in_use(&keys[i])) {
            ks_set_err(ks,
                     "key %lld (tag %u) is %s%s; use --force to remove anyway",
                     (long long)keys[i].id, keys[i].tag, sg_ks_state_name(keys[i].state),
                     keys[i].ds_submitted ? " and its DS was submitted" : "");
            r = SG_KS_EINUSE;
            break;
        }
    }
    for (size_t i = 0; i < n && !r; i++) {
        char reason[128];
        snprintf(reason, sizeof reason, "key deleted with its zone%s", force ? " (forced)" : "");
        r = sg_ks_event_add(ks, now, z.name, keys[i].id, sg_ks_state_name(keys[i].state), "",
                            reason);
    }
    free(keys);
    if (r)
        goto fail;
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "DELETE FROM zones WHERE id = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_int64(st, 1, z.id);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "remove zone");
        goto fail;
    }
    /* what was observed of a removed zone says nothing about a zone of the same name
     * added later */
    static const char *const observed[] = {
        "DELETE FROM facts WHERE zone = ?1", "DELETE FROM propagation WHERE zone = ?1",
        /* zone_writes.c's row: 10,000 zones added and purged would leave 10,000 rows the
         * keyman scans on every write */
        "DELETE FROM counters WHERE name = 'zone-write:' || ?1" };
    for (size_t i = 0; i < sizeof observed / sizeof observed[0]; i++) {
        if ((r = ks_prepare(ks, observed[i], &st)) != 0)
            goto fail;
        sqlite3_bind_text(st, 1, z.name, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        ks_finish(ks, st);
        if (rc != SQLITE_DONE) {
            r = ks_sql_fail(ks, rc, "remove zone facts");
            goto fail;
        }
    }
    if ((r = sg_ks_event_add(ks, now, z.name, 0, NULL, NULL, "zone removed")) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_zone_set_file(sg_keystore *ks, const char *zone, const char *path, int64_t now)
{
    if (!ks || !path || strlen(path) >= SG_KS_PATH_MAX)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    if ((r = sg_ks_zone_get(ks, zone, &z)) != 0)
        goto fail;
    if (!strcmp(z.file, path))
        return sg_ks_commit(ks); /* nothing changes: the counter stays */
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "UPDATE zones SET file = ?2 WHERE id = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_int64(st, 1, z.id);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "set zone file");
        goto fail;
    }
    char reason[SG_KS_PATH_MAX + 64];
    if (path[0])
        snprintf(reason, sizeof reason, "served from %s", path);
    else
        snprintf(reason, sizeof reason, "no longer served (was %s); keys kept", z.file);
    if ((r = sg_ks_event_add(ks, now, z.name, 0, NULL, NULL, reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_served_list(sg_keystore *ks, sg_ks_served **list_out, size_t *n_out)
{
    if (!ks || !list_out || !n_out)
        return SG_EINVAL;
    *list_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT name, file FROM zones WHERE file != '' ORDER BY name", &st);
    if (r)
        return r;
    sg_ks_served *list = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            sg_ks_served *nl = realloc(list, nc * sizeof *list);
            if (!nl) {
                r = SG_ENOMEM;
                break;
            }
            list = nl;
            cap = nc;
        }
        ks_col_text(st, 0, list[n].name, sizeof list[n].name);
        ks_col_text(st, 1, list[n].file, sizeof list[n].file);
        n++;
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "list served zones");
    ks_finish(ks, st);
    if (r) {
        free(list);
        return r;
    }
    *list_out = list;
    *n_out = n;
    return 0;
}

int sg_ks_served_counter(sg_keystore *ks, int64_t *counter_out)
{
    if (!ks || !counter_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT value FROM counters WHERE name = 'served-zones'", &st);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *counter_out = sqlite3_column_int64(st, 0);
    else
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read served-zones counter");
    ks_finish(ks, st);
    return r;
}
