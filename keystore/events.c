/* SPDX-License-Identifier: MIT */
/* The append-only event journal: every key, DS, zone and policy change, with its actor. */
#include "keystore/internal.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

int sg_ks_event_add(sg_keystore *ks, int64_t now, const char *zone, int64_t key_id,
                    const char *old_state, const char *new_state, const char *reason)
{
    if (!ks || !reason)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "INSERT INTO events (time, zone, key_id, old_state, new_state,"
                           " reason, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, zone ? zone : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, key_id);
    sqlite3_bind_text(st, 4, old_state ? old_state : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, new_state ? new_state : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, ks->actor, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    return rc == SQLITE_DONE ? 0 : ks_sql_fail(ks, rc, "journal event");
}

int sg_ks_event_list(sg_keystore *ks, const char *zone, sg_ks_event **list_out, size_t *n_out)
{
    if (!ks || !list_out || !n_out)
        return SG_EINVAL;
    *list_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    /* one zone's events through the (zone, time) index: not an OR with "?1 IS NULL",
     * which SQLite answers by a scan of every zone's events */
#define EVENT_SELECT "SELECT id, time, zone, key_id, old_state, new_state, reason, actor FROM events"
    int r = ks_prepare(ks, zone ? EVENT_SELECT " WHERE zone = ?1 ORDER BY time, id"
                                : EVENT_SELECT " ORDER BY time, id",
                       &st);
#undef EVENT_SELECT
    if (r)
        return r;
    if (zone)
        sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    sg_ks_event *list = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_ks_event *nl = realloc(list, (n + 1) * sizeof *list);
        if (!nl) {
            r = SG_ENOMEM;
            break;
        }
        list = nl;
        sg_ks_event *e = &list[n++];
        memset(e, 0, sizeof *e);
        e->id = sqlite3_column_int64(st, 0);
        e->time = sqlite3_column_int64(st, 1);
        ks_col_text(st, 2, e->zone, sizeof e->zone);
        e->key_id = sqlite3_column_int64(st, 3);
        ks_col_text(st, 4, e->old_state, sizeof e->old_state);
        ks_col_text(st, 5, e->new_state, sizeof e->new_state);
        ks_col_text(st, 6, e->reason, sizeof e->reason);
        ks_col_text(st, 7, e->actor, sizeof e->actor);
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "list events");
    ks_finish(ks, st);
    if (r) {
        free(list);
        return r;
    }
    *list_out = list;
    *n_out = n;
    return 0;
}
