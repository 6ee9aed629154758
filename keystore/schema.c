/* SPDX-License-Identifier: MIT */
/* The versioned schema: migrations run on open, each in the open's write transaction. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>

/* migrations[i] takes a database from user_version i to i + 1. Never edit a released
 * entry: add the next one. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE policies ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  algorithm INTEGER NOT NULL,"
    "  key_bits INTEGER NOT NULL DEFAULT 0,"
    "  csk INTEGER NOT NULL DEFAULT 1,"
    "  zsk_lifetime INTEGER NOT NULL,"
    "  ksk_lifetime INTEGER NOT NULL,"
    "  dnskey_ttl INTEGER NOT NULL,"
    "  zone_propagation_delay INTEGER NOT NULL,"
    "  zone_max_ttl INTEGER NOT NULL,"
    "  parent_ds_ttl INTEGER NOT NULL,"
    "  parent_propagation_delay INTEGER NOT NULL,"
    "  sig_validity INTEGER NOT NULL,"
    "  sig_refresh INTEGER NOT NULL,"
    "  sig_jitter INTEGER NOT NULL,"
    "  denial TEXT NOT NULL CHECK (denial IN ('nsec', 'nsec3', 'compact')),"
    "  nsec3_iterations INTEGER NOT NULL DEFAULT 0,"
    "  nsec3_salt_len INTEGER NOT NULL DEFAULT 0,"
    "  nsec3_opt_out INTEGER NOT NULL DEFAULT 0,"
    "  publish_cds INTEGER NOT NULL DEFAULT 1,"
    "  publish_cdnskey INTEGER NOT NULL DEFAULT 1,"
    "  ds_digest INTEGER NOT NULL DEFAULT 2"
    ");"
    "CREATE TABLE zones ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  policy_id INTEGER NOT NULL REFERENCES policies(id) ON DELETE RESTRICT,"
    "  registrar TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'new',"
    "  created INTEGER NOT NULL"
    ");"
    "CREATE TABLE keys ("
    "  id INTEGER PRIMARY KEY,"
    "  zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    "  key_tag INTEGER NOT NULL,"
    "  algorithm INTEGER NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk', 'csk')),"
    "  flags INTEGER NOT NULL,"
    "  bits INTEGER NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  storage TEXT NOT NULL,"
    "  private_key BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  t_publish INTEGER NOT NULL DEFAULT 0,"
    "  t_active INTEGER NOT NULL DEFAULT 0,"
    "  t_retire INTEGER NOT NULL DEFAULT 0,"
    "  t_remove INTEGER NOT NULL DEFAULT 0,"
    "  t_ds_submitted INTEGER NOT NULL DEFAULT 0,"
    "  t_ds_seen INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('generated', 'published', 'ready', 'active', 'retired', 'removed')),"
    "  UNIQUE (zone_id, key_tag)"
    ");"
    "CREATE INDEX keys_zone ON keys(zone_id);"
    /* The journal keeps names, not foreign keys: it must outlive the zones and keys it
     * talks about. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  zone TEXT NOT NULL DEFAULT '',"
    "  key_id INTEGER NOT NULL DEFAULT 0,"
    "  old_state TEXT NOT NULL DEFAULT '',"
    "  new_state TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL,"
    "  actor TEXT NOT NULL"
    ");"
    "CREATE INDEX events_zone ON events(zone, time);"
    "CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_d BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    /* 1 -> 2: algorithm rollovers withdraw a key's DS before the key leaves the DNSKEY
     * RRset and stops signing, so withdrawal gets its own timing point */
    "ALTER TABLE keys ADD COLUMN t_ds_withdrawn INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: the KSK rollover method (double-DS or double-KSK); a key's DS leaves the
     * parent's set only by an explicit withdrawal point, so retired KSKs get theirs */
    "ALTER TABLE policies ADD COLUMN ksk_double_ds INTEGER NOT NULL DEFAULT 0;"
    "UPDATE keys SET t_ds_withdrawn = t_retire"
    "  WHERE role != 'zsk' AND t_retire > 0 AND t_ds_withdrawn = 0 AND t_ds_submitted > 0;",
    /* 3 -> 4: what the world was seen to do (the DS TTL a parent serves, the TTLs we
     * served), so that every rollover wait is at least what caches really hold; the
     * value served before the last change is kept until caches can no longer hold it */
    "CREATE TABLE facts ("
    "  zone TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  since INTEGER NOT NULL,"
    "  prev_value INTEGER NOT NULL DEFAULT 0,"
    "  prev_source TEXT NOT NULL DEFAULT '',"
    "  prev_until INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (zone, name)"
    ");"
    /* when every secondary first served a version of the zone (serial), and up to when
     * that version was known to hold the key state (as_of): a key change before as_of had
     * reached them all by confirmed_at; the waits after a change count from there */
    /* when the parent's servers were seen without a withdrawn DS: the waits after a
     * withdrawal count from there, not from when it was decided */
    "ALTER TABLE keys ADD COLUMN t_ds_gone INTEGER NOT NULL DEFAULT 0;"
    /* policies never got their NSEC3 salt (RFC 9276 3.1): say what is served, none */
    "UPDATE policies SET nsec3_salt_len = 0;"
    "CREATE TABLE propagation ("
    "  zone TEXT NOT NULL,"
    "  serial INTEGER NOT NULL,"
    "  as_of INTEGER NOT NULL,"
    "  confirmed_at INTEGER NOT NULL,"
    "  PRIMARY KEY (zone, serial)"
    ");",
    /* 4 -> 5: zones served at run time (issue 17): the master file a `dynamic` block
     * serves the zone from ('' : not served that way), and a counter that moves whenever
     * the set of such zones or their files change, so that signetd polls one row instead
     * of the whole table */
    "ALTER TABLE zones ADD COLUMN file TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ");"
    "INSERT INTO counters (name, value) VALUES ('served-zones', 0);"
    "CREATE TRIGGER served_zones_i AFTER INSERT ON zones WHEN NEW.file != ''"
    "  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'served-zones'; END;"
    "CREATE TRIGGER served_zones_u AFTER UPDATE OF file ON zones WHEN NEW.file != OLD.file"
    "  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'served-zones'; END;"
    "CREATE TRIGGER served_zones_d AFTER DELETE ON zones WHEN OLD.file != ''"
    "  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'served-zones'; END;",
    /* 5 -> 6: a policy may keep its keys in a PKCS#11 token (issue 19): the token's URI,
     * '' for PEM in the keystore; a key made there keeps only its reference */
    "ALTER TABLE policies ADD COLUMN key_store TEXT NOT NULL DEFAULT '';",
    /* 6 -> 7: offline KSK (issue 19): the time slots a key signing request planned
     * (request: the ZSK DNSKEYs of the slot) and, once imported, the offline KSK's signed
     * DNSKEY/CDS/CDNSKEY bundle for each (response, '' until then). A zone with slots
     * is signed with an offline KSK: its rollover engine leaves the keys alone. */
    "CREATE TABLE skr_slots ("
    "  id INTEGER PRIMARY KEY,"
    "  zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    "  t_from INTEGER NOT NULL,"
    "  t_to INTEGER NOT NULL,"
    "  request TEXT NOT NULL,"
    "  response TEXT NOT NULL DEFAULT '',"
    "  imported INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (zone_id, t_from)"
    ");",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(NMIGRATIONS == SG_KS_SCHEMA_VERSION, "one migration per schema version");

int sg_ks_schema_version(sg_keystore *ks, int *version_out)
{
    if (!ks || !version_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "PRAGMA user_version", &st);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version_out = sqlite3_column_int(st, 0);
    else
        r = ks_sql_fail(ks, rc, "read schema version");
    ks_finish(ks, st);
    return r;
}

static int insert_default_policy(sg_keystore *ks)
{
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, SG_KS_DEFAULT_POLICY);
    return sg_ks_policy_add(ks, &p, 0);
}

int ks_schema_migrate(sg_keystore *ks)
{
    int v = 0, r = sg_ks_schema_version(ks, &v);
    if (r)
        return r;
    if (v == SG_KS_SCHEMA_VERSION)
        return 0;
    if (v > SG_KS_SCHEMA_VERSION)
        goto too_new;
    /* Check again under the write lock: another process may have migrated meanwhile. */
    r = sg_ks_begin(ks);
    if (r)
        return r;
    r = sg_ks_schema_version(ks, &v);
    if (r)
        goto fail;
    if (v > SG_KS_SCHEMA_VERSION) {
        sg_ks_rollback(ks);
        goto too_new;
    }
    for (int i = v; i < NMIGRATIONS; i++) {
        r = ks_exec(ks, migrations[i]);
        if (r)
            goto fail;
        /* the default policy is written with every column, so after the last migration */
        if (i == NMIGRATIONS - 1 && v == 0 && (r = insert_default_policy(ks)) != 0)
            goto fail;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", i + 1);
        if ((r = ks_exec(ks, sql)) != 0)
            goto fail;
        if (v > 0)
            sg_log(SG_LOG_INFO, "keystore", NULL, "schema migrated to version %d", i + 1);
    }
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
too_new:
    ks_set_err(ks,
             "schema version %d is newer than this program knows (%d)", v,
             SG_KS_SCHEMA_VERSION);
    sg_log(SG_LOG_ERR, "keystore", NULL, "%s: upgrade Signet, never downgrade a keystore",
           ks->errmsg);
    return SG_KS_ESCHEMA;
}
