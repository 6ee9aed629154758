/* SPDX-License-Identifier: MIT */
/* Which zone another connection's write was for: the writes that signetd's other parts
 * make often (transfer's propagation rows and secondaries fact, a row per zone, ten
 * thousand at a start) say their zone, so that the keyman steps that zone instead of every
 * zone for each such write. Kept in the counters table: 'zone-writes' counts the writes
 * said so, and 'zone-write:ZONE' holds the count at the zone's last one. */
#include "keystore/internal.h"
#include "keystore/keystore.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ks_zone_wrote(sg_keystore *ks, const char *zone)
{
    static const char *const sql[] = {
        "INSERT INTO counters (name, value) VALUES ('zone-writes', 1)"
        " ON CONFLICT(name) DO UPDATE SET value = value + 1",
        "INSERT INTO counters (name, value) VALUES ('zone-write:' || ?1,"
        " (SELECT value FROM counters WHERE name = 'zone-writes'))"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        int r = ks_prepare(ks, sql[i], &st);
        if (r)
            return r;
        if (i == 1)
            sqlite3_bind_text(st, 1, zone, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        ks_finish(ks, st);
        if (rc != SQLITE_DONE)
            return ks_sql_fail(ks, rc, "record the zone written");
    }
    return 0;
}

int sg_ks_zone_writes(sg_keystore *ks, int64_t after, int64_t *count_out,
                      char (**zones_out)[SG_KS_ZONE_MAX], size_t *n_out)
{
    if (!ks || !count_out || !zones_out || !n_out)
        return SG_EINVAL;
    *zones_out = NULL;
    *n_out = 0;
    *count_out = 0;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT name, value FROM counters WHERE name = 'zone-writes'"
                           " OR (name > 'zone-write:' AND name < 'zone-write;' AND value > ?1)",
                       &st);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, after);
    char (*z)[SG_KS_ZONE_MAX] = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && !strcmp(name, "zone-writes")) {
            *count_out = sqlite3_column_int64(st, 1);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char (*nz)[SG_KS_ZONE_MAX] = realloc(z, nc * sizeof *z);
            if (!nz) {
                r = SG_ENOMEM;
                break;
            }
            z = nz;
            cap = nc;
        }
        const char *zone = name ? name + strlen("zone-write:") : "";
        snprintf(z[n], sizeof z[n], "%s", zone);
        n++;
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "read the zones written");
    ks_finish(ks, st);
    if (r) {
        free(z);
        return r;
    }
    *zones_out = z;
    *n_out = n;
    return 0;
}
