/* SPDX-License-Identifier: MIT */
/* Offline KSK: the slots of a zone's key signing request and the signed bundles imported
 * for them, one row per slot (schema 7). The text is kept as it was signed and checked
 * (signer/offline_ksk.c): it is what an operator reads back. */
#include "keystore/skr.h"
#include "keystore/internal.h"

#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ZONE_ID "(SELECT id FROM zones WHERE name = ?1)"

static int norm(const char *zone, char out[SG_KS_ZONE_MAX])
{
    return zone && !sg_ks_zone_normalize(zone, out) ? 0 : SG_EINVAL;
}

static char *col_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *)t : "");
}

void sg_ks_skr_list_free(sg_ks_skr_slot *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++) {
        free(l[i].request);
        free(l[i].response);
    }
    free(l);
}

int sg_ks_skr_offline(sg_keystore *ks, const char *zone)
{
    char z[SG_KS_ZONE_MAX];
    if (!ks || norm(zone, z))
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT EXISTS (SELECT 1 FROM skr_slots WHERE zone_id = " ZONE_ID ")", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, z, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0 : ks_sql_fail(ks, rc, "read offline KSK slots");
    ks_finish(ks, st);
    return r;
}

/* Read rows (id, t_from, t_to, imported, request, response) into a list. */
static int read_slots(sg_keystore *ks, sqlite3_stmt *st, int with_text, sg_ks_skr_slot **out,
                      size_t *n_out)
{
    sg_ks_skr_slot *l = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            sg_ks_skr_slot *nl = realloc(l, nc * sizeof *nl);
            if (!nl) {
                r = SG_ENOMEM;
                goto fail;
            }
            l = nl;
            cap = nc;
        }
        sg_ks_skr_slot *s = &l[n++];
        memset(s, 0, sizeof *s);
        s->id = sqlite3_column_int64(st, 0);
        s->from = sqlite3_column_int64(st, 1);
        s->to = sqlite3_column_int64(st, 2);
        s->imported = sqlite3_column_int64(st, 3);
        if (with_text) {
            s->request = col_dup(st, 4);
            s->response = s->imported ? col_dup(st, 5) : NULL;
            if (!s->request || (s->imported && !s->response)) {
                r = SG_ENOMEM;
                goto fail;
            }
        }
    }
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "read offline KSK slots");
        goto fail;
    }
    *out = l;
    *n_out = n;
    return 0;
fail:
    sg_ks_skr_list_free(l, n);
    return r;
}

#define SLOT_COLS "id, t_from, t_to, imported, request, response"

int sg_ks_skr_list(sg_keystore *ks, const char *zone, int with_text, sg_ks_skr_slot **out,
                   size_t *n_out)
{
    char z[SG_KS_ZONE_MAX];
    if (!ks || norm(zone, z) || !out || !n_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, with_text ? "SELECT " SLOT_COLS " FROM skr_slots WHERE zone_id = " ZONE_ID
                                       " ORDER BY t_from"
                                     : "SELECT id, t_from, t_to, imported FROM skr_slots WHERE zone_id = "
                                       ZONE_ID " ORDER BY t_from", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, z, -1, SQLITE_TRANSIENT);
    r = read_slots(ks, st, with_text, out, n_out);
    ks_finish(ks, st);
    return r;
}

static int zone_exists(sg_keystore *ks, const char *z)
{
    sg_ks_zone zr;
    return sg_ks_zone_get(ks, z, &zr);
}

int sg_ks_skr_plan(sg_keystore *ks, const char *zone, const sg_ks_skr_slot *slots, size_t n,
                   int64_t now)
{
    char z[SG_KS_ZONE_MAX];
    if (!ks || norm(zone, z) || !slots || n == 0)
        return SG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (slots[i].to <= slots[i].from || !slots[i].request || (i && slots[i].from < slots[i - 1].to))
            return SG_EINVAL;
    int r = zone_exists(ks, z);
    if (r)
        return r;
    if ((r = sg_ks_begin(ks)))
        return r;
    sqlite3_stmt *del = NULL, *ins = NULL;
    /* a slot that overlaps the new plan's start is cut there: the new plan rules from it */
    if ((r = ks_prepare(ks, "DELETE FROM skr_slots WHERE zone_id = " ZONE_ID " AND t_from >= ?2", &del)))
        goto fail;
    sqlite3_bind_text(del, 1, z, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(del, 2, slots[0].from);
    int rc = sqlite3_step(del);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "replace offline KSK slots");
        goto fail;
    }
    ks_finish(ks, del);
    del = NULL;
    if ((r = ks_prepare(ks, "UPDATE skr_slots SET t_to = ?2 WHERE zone_id = " ZONE_ID
                            " AND t_to > ?2", &del)))
        goto fail;
    sqlite3_bind_text(del, 1, z, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(del, 2, slots[0].from);
    if ((rc = sqlite3_step(del)) != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "replace offline KSK slots");
        goto fail;
    }
    if ((r = ks_prepare(ks, "INSERT INTO skr_slots (zone_id, t_from, t_to, request) VALUES ("
                            ZONE_ID ", ?2, ?3, ?4)", &ins)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, z, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 2, slots[i].from);
        sqlite3_bind_int64(ins, 3, slots[i].to);
        sqlite3_bind_text(ins, 4, slots[i].request, -1, SQLITE_TRANSIENT);
        if ((rc = sqlite3_step(ins)) != SQLITE_DONE) {
            r = ks_sql_fail(ks, rc, "write offline KSK slots");
            goto fail;
        }
    }
    ks_finish(ks, del);
    ks_finish(ks, ins);
    del = ins = NULL;
    char why[128];
    snprintf(why, sizeof why, "key signing request: %zu slots planned", n);
    if ((r = sg_ks_event_add(ks, now, z, 0, "", "", why)))
        goto fail;
    return sg_ks_commit(ks);
fail:
    ks_finish(ks, del);
    ks_finish(ks, ins);
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_skr_store(sg_keystore *ks, const char *zone, int64_t from, int64_t to,
                    const char *response, int64_t now)
{
    char z[SG_KS_ZONE_MAX];
    if (!ks || norm(zone, z) || !response || !*response)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "UPDATE skr_slots SET response = ?4, imported = ?5 WHERE zone_id = "
                           ZONE_ID " AND t_from = ?2 AND t_to = ?3", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, z, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_text(st, 4, response, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now > 0 ? now : 1);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "store a signed key bundle");
    else if (sqlite3_changes(ks->db) == 0)
        r = SG_ENOTFOUND;
    ks_finish(ks, st);
    return r;
}

int sg_ks_skr_at(sg_keystore *ks, const char *zone, int64_t now, sg_ks_skr_slot *out,
                 int *stale_out, int64_t *next_out)
{
    char z[SG_KS_ZONE_MAX];
    if (!ks || norm(zone, z) || !out)
        return SG_EINVAL;
    memset(out, 0, sizeof *out);
    sg_ks_skr_slot *l = NULL;
    size_t n = 0;
    int r = sg_ks_skr_list(ks, z, 0, &l, &n);
    if (r)
        return r;
    int64_t next = INT64_MAX;
    ssize_t pick = -1;
    for (size_t i = 0; i < n; i++) {
        if (l[i].from > now && l[i].from < next)
            next = l[i].from;
        if (l[i].to > now && l[i].to < next)
            next = l[i].to;
        if (l[i].imported && l[i].from <= now)
            pick = (ssize_t)i; /* by start time: the last such is the newest */
    }
    if (next_out)
        *next_out = next;
    if (pick < 0) {
        sg_ks_skr_list_free(l, n);
        return SG_ENOTFOUND;
    }
    if (stale_out)
        *stale_out = l[pick].to <= now;
    int64_t id = l[pick].id;
    sg_ks_skr_list_free(l, n);
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "SELECT " SLOT_COLS " FROM skr_slots WHERE id = ?1", &st)))
        return r;
    sqlite3_bind_int64(st, 1, id);
    r = read_slots(ks, st, 1, &l, &n);
    ks_finish(ks, st);
    if (r)
        return r;
    if (n != 1) {
        sg_ks_skr_list_free(l, n);
        return SG_ENOTFOUND;
    }
    *out = l[0];
    free(l);
    return 0;
}

int sg_ks_skr_valid_until(sg_keystore *ks, const char *zone, int64_t now, int64_t *until_out,
                          int *gaps_out)
{
    if (!until_out)
        return SG_EINVAL;
    sg_ks_skr_slot *l = NULL;
    size_t n = 0;
    int r = sg_ks_skr_list(ks, zone, 0, &l, &n);
    if (r)
        return r;
    int64_t until = 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i].imported) {
            until = l[i].to;
            last = i + 1;
        }
    if (gaps_out) {
        *gaps_out = 0;
        for (size_t i = 0; i < last; i++)
            *gaps_out |= !l[i].imported && l[i].to > now;
    }
    *until_out = until;
    sg_ks_skr_list_free(l, n);
    return 0;
}
