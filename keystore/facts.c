/* SPDX-License-Identifier: MIT */
/* Facts: durations the world was seen to use (the DS TTL a parent serves, the TTLs we
 * served), kept so that the rollover engine waits for what caches really hold, across
 * restarts. A value that went down is remembered until no cache can hold it any more. */
#include "keystore/internal.h"

#include "common/errors.h"

#include <stdio.h>
#include <string.h>

#define FACT_COLS "zone, name, value, source, since, prev_value, prev_source, prev_until"

static void read_row(sqlite3_stmt *st, sg_ks_fact *f)
{
    memset(f, 0, sizeof *f);
    ks_col_text(st, 0, f->zone, sizeof f->zone);
    ks_col_text(st, 1, f->name, sizeof f->name);
    f->value = (uint32_t)sqlite3_column_int64(st, 2);
    ks_col_text(st, 3, f->source, sizeof f->source);
    f->since = sqlite3_column_int64(st, 4);
    f->prev_value = (uint32_t)sqlite3_column_int64(st, 5);
    ks_col_text(st, 6, f->prev_source, sizeof f->prev_source);
    f->prev_until = sqlite3_column_int64(st, 7);
}

int sg_ks_fact_get(sg_keystore *ks, const char *zone, const char *name, sg_ks_fact *f_out)
{
    if (!ks || !zone || !name || !f_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT " FACT_COLS " FROM facts WHERE zone = ?1 AND name = ?2", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, f_out);
    else
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read fact");
    ks_finish(ks, st);
    return r;
}

uint32_t sg_ks_fact_effective(const sg_ks_fact *f, int64_t now, const char **source_out)
{
    if (f->prev_value > f->value && now < f->prev_until) {
        if (source_out)
            *source_out = f->prev_source;
        return f->prev_value;
    }
    if (source_out)
        *source_out = f->source;
    return f->value;
}

static int fact_observe(sg_keystore *ks, const char *zone, const char *name, uint32_t value,
                        const char *source, int64_t now)
{
    sg_ks_fact old, f;
    int r = sg_ks_fact_get(ks, zone, name, &old);
    if (r && r != SG_ENOTFOUND)
        return r;
    memset(&f, 0, sizeof f);
    if (!r) {
        if (old.value == value)
            return 0; /* nothing new: no write */
        f = old;
        /* the value served until now may have been fetched a moment ago; an older one
         * still held is merged in, keeping the larger value and the later end */
        uint32_t pv = old.value;
        int64_t pu = now + (int64_t)old.value;
        const char *ps = old.source;
        if (old.prev_value && now < old.prev_until) {
            if (old.prev_value > pv) {
                pv = old.prev_value;
                ps = old.prev_source;
            }
            if (old.prev_until > pu)
                pu = old.prev_until;
        }
        f.prev_value = pv;
        f.prev_until = pu;
        snprintf(f.prev_source, sizeof f.prev_source, "%s", ps);
    }
    f.value = value;
    f.since = now;
    snprintf(f.source, sizeof f.source, "%s", source ? source : "");
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "INSERT OR REPLACE INTO facts (" FACT_COLS ")"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st)))
        return r;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, f.value);
    sqlite3_bind_text(st, 4, f.source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, f.since);
    sqlite3_bind_int64(st, 6, f.prev_value);
    sqlite3_bind_text(st, 7, f.prev_source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, f.prev_until);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    return rc == SQLITE_DONE ? 0 : ks_sql_fail(ks, rc, "record fact");
}

int sg_ks_fact_observe(sg_keystore *ks, const char *zone, const char *name, uint32_t value,
                       const char *source, int64_t now)
{
    if (!ks || !zone || !name)
        return SG_EINVAL;
    if (strcmp(name, SG_KS_FACT_SECONDARIES))
        return fact_observe(ks, zone, name, value, source, now);
    /* written by transfer for each zone it is set up for: said with its zone (the keyman
     * steps that zone, not all, for it); the facts the keyman itself writes are no news
     * to it */
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    if ((r = fact_observe(ks, zone, name, value, source, now)) || (r = ks_zone_wrote(ks, zone))) {
        sg_ks_rollback(ks);
        return r;
    }
    return sg_ks_commit(ks);
}

int sg_ks_serial_floor_set(sg_keystore *ks, const char *zone, uint32_t serial,
                           const char *source, int64_t now)
{
    if (!ks || !zone)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (r)
        return r;
    if ((r = sg_ks_begin(ks)))
        return r;
    char why[160];
    snprintf(why, sizeof why, "serial floor %u (%s)", serial,
             source && *source ? source : "the previous server's serial");
    /* a floor is not a duration: no prev_value is kept for it (observe only keeps one
     * until now + the old value, which nothing reads for this fact) */
    if ((r = sg_ks_fact_observe(ks, z.name, SG_KS_FACT_SERIAL_FLOOR, serial,
                                source ? source : "", now)) ||
        (r = sg_ks_event_add(ks, now, z.name, 0, NULL, NULL, why))) {
        sg_ks_rollback(ks);
        return r;
    }
    return sg_ks_commit(ks);
}

int sg_ks_serial_floor_get(sg_keystore *ks, const char *zone, uint32_t *serial_out)
{
    if (!ks || !zone || !serial_out)
        return SG_EINVAL;
    char name[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(zone, name))
        return SG_EINVAL;
    sg_ks_fact f;
    int r = sg_ks_fact_get(ks, name, SG_KS_FACT_SERIAL_FLOOR, &f);
    if (r == 0)
        *serial_out = f.value;
    return r;
}

int sg_ks_zone_last_time(sg_keystore *ks, const char *zone, int64_t *t_out)
{
    if (!ks || !zone || !t_out)
        return SG_EINVAL;
    *t_out = 0;
    sqlite3_stmt *st;
    /* the journal: every key change is written there with the time it happened (key
     * timing points are not used: an imported key may carry planned future times) */
    int r = ks_prepare(ks, "SELECT max(time) FROM events WHERE zone = ?1", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *t_out = sqlite3_column_int64(st, 0);
    else
        r = ks_sql_fail(ks, rc, "last event time");
    ks_finish(ks, st);
    return r;
}

#define PROPAGATION_KEEP_S "64"

int sg_ks_propagation_add(sg_keystore *ks, const char *zone, uint32_t serial, int64_t as_of,
                          int64_t confirmed_at)
{
    if (!ks || !zone)
        return SG_EINVAL;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    static const char *const sql[] = {
        /* first confirmation: that is when the version got there */
        "INSERT OR IGNORE INTO propagation (zone, serial, as_of, confirmed_at)"
        " VALUES (?1, ?2, ?3, ?4)",
        "UPDATE propagation SET as_of = ?3 WHERE zone = ?1 AND serial = ?2 AND as_of < ?3",
        "DELETE FROM propagation WHERE zone = ?1 AND serial NOT IN"
        " (SELECT serial FROM propagation WHERE zone = ?1 ORDER BY as_of DESC LIMIT "
        PROPAGATION_KEEP_S ")",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        if ((r = ks_prepare(ks, sql[i], &st)))
            goto fail;
        sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
        if (i < 2) {
            sqlite3_bind_int64(st, 2, serial);
            sqlite3_bind_int64(st, 3, as_of);
        }
        if (i == 0)
            sqlite3_bind_int64(st, 4, confirmed_at);
        int rc = sqlite3_step(st);
        ks_finish(ks, st);
        if (rc != SQLITE_DONE) {
            r = ks_sql_fail(ks, rc, "record propagation");
            goto fail;
        }
    }
    if ((r = ks_zone_wrote(ks, zone)))
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_propagation_list(sg_keystore *ks, const char *zone, sg_ks_propagation *out,
                           size_t cap, size_t *n_out)
{
    if (!ks || !zone || !out || !n_out)
        return SG_EINVAL;
    *n_out = 0;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT as_of, serial, confirmed_at FROM propagation WHERE zone = ?1"
                           " ORDER BY as_of DESC LIMIT ?2", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
    int rc;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < cap) {
        out[n].as_of = sqlite3_column_int64(st, 0);
        out[n].serial = (uint32_t)sqlite3_column_int64(st, 1);
        out[n].confirmed_at = sqlite3_column_int64(st, 2);
        n++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = ks_sql_fail(ks, rc, "list propagation");
    ks_finish(ks, st);
    *n_out = n;
    return r;
}
