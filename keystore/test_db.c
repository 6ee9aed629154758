/* SPDX-License-Identifier: MIT */
/* Schema, migrations, file modes, transactions, policies, zones and the journal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keystore/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/sgks-db.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/ks.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 01000;
}

static void raw_exec(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_create_and_modes(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    int v = -1;
    assert_int_equal(sg_ks_schema_version(ks, &v), 0);
    assert_int_equal(v, SG_KS_SCHEMA_VERSION);
    sg_ks_policy p;
    assert_int_equal(sg_ks_policy_get(ks, "default", &p), 0);
    assert_int_equal(p.algorithm, SG_KS_ALG_ECDSAP256SHA256);
    assert_int_equal(p.csk, 1);
    assert_int_equal(p.nsec3_iterations, 0);
    assert_int_equal(p.ds_digest, SG_KS_DIGEST_SHA256);
    /* Write something so that the WAL and shared-memory files exist, then check modes. */
    assert_int_equal(sg_ks_zone_add(ks, "example.test", NULL, 100), 0);
    char wal[160], shm[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(mode_of(wal), 0600);
    assert_int_equal(mode_of(shm), 0600);
    sg_ks_free(ks);

    /* Reopening runs no migration twice and keeps one default policy. */
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_policy *list;
    size_t n;
    assert_int_equal(sg_ks_policy_list(ks, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
    sg_ks_free(ks);

    /* A readable file still opens (with a warning in the log). */
    chmod(path, 0644);
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_free(ks);
}

static void test_schema_too_new(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_free(ks);
    raw_exec("PRAGMA user_version = 99");
    assert_int_equal(sg_ks_new(path, "test", &ks), SG_KS_ESCHEMA);
    assert_null(ks);
    /* Never a silent downgrade: the file keeps its version. */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 99);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A file made by another tool (version 0, with unrelated content) is migrated in place. */
static void test_migrate_from_zero(void **state)
{
    (void)state;
    raw_exec("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('kept');");
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    int v;
    sg_ks_schema_version(ks, &v);
    assert_int_equal(v, SG_KS_SCHEMA_VERSION);
    sg_ks_free(ks);
    raw_exec("SELECT t FROM notes");
}

static void test_policies(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "cli", &ks), 0);
    sg_ks_policy p, q;
    sg_ks_policy_defaults(&p, "rsa");
    p.algorithm = SG_KS_ALG_RSASHA256;
    assert_int_equal(sg_ks_policy_add(ks, &p, 10), SG_EINVAL);  /* RSA needs a size */
    p.key_bits = 2048;
    p.csk = 0;
    p.denial = SG_KS_DENIAL_NSEC3;
    assert_int_equal(sg_ks_policy_add(ks, &p, 10), 0);
    assert_int_equal(sg_ks_policy_add(ks, &p, 11), SG_EEXIST);
    assert_int_equal(sg_ks_policy_get(ks, "rsa", &q), 0);
    assert_int_equal(q.key_bits, 2048);
    assert_int_equal(q.csk, 0);
    assert_int_equal(q.denial, SG_KS_DENIAL_NSEC3);
    q.sig_refresh = q.sig_validity + 1;
    assert_int_equal(sg_ks_policy_update(ks, &q, 12), SG_EINVAL);
    q.sig_refresh = 3 * 86400;
    q.ds_digest = SG_KS_DIGEST_SHA384;
    assert_int_equal(sg_ks_policy_update(ks, &q, 12), 0);
    assert_int_equal(sg_ks_policy_get(ks, "rsa", &p), 0);
    assert_int_equal(p.ds_digest, SG_KS_DIGEST_SHA384);
    assert_int_equal(p.sig_refresh, 3 * 86400);
    strcpy(q.name, "nope");
    assert_int_equal(sg_ks_policy_update(ks, &q, 12), SG_ENOTFOUND);

    assert_int_equal(sg_ks_zone_add(ks, "Example.TEST", "rsa", 13), 0);
    assert_int_equal(sg_ks_policy_delete(ks, "rsa", 14), SG_KS_EINUSE);
    assert_int_equal(sg_ks_policy_delete(ks, "default", 14), SG_KS_EINUSE);
    assert_int_equal(sg_ks_zone_update(ks, "example.test.", "default", NULL, NULL, 15), 0);
    assert_int_equal(sg_ks_policy_delete(ks, "rsa", 16), 0);
    assert_int_equal(sg_ks_policy_get(ks, "rsa", &p), SG_ENOTFOUND);
    assert_int_equal(sg_ks_policy_delete(ks, "rsa", 16), SG_ENOTFOUND);

    sg_ks_event *ev;
    size_t n;
    assert_int_equal(sg_ks_event_list(ks, NULL, &ev, &n), 0);
    int seen_add = 0, seen_del = 0;
    for (size_t i = 0; i < n; i++) {
        seen_add |= !strcmp(ev[i].reason, "policy rsa added") && ev[i].time == 10 &&
                    !strcmp(ev[i].actor, "cli");
        seen_del |= !strcmp(ev[i].reason, "policy rsa deleted") && ev[i].time == 16;
    }
    free(ev);
    assert_true(seen_add && seen_del);
    sg_ks_free(ks);
}

static void test_zones(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "daemon", &ks), 0);
    assert_int_equal(sg_ks_zone_add(ks, "Example.TEST", NULL, 100), 0);
    assert_int_equal(sg_ks_zone_add(ks, "example.test.", NULL, 101), SG_EEXIST);
    assert_int_equal(sg_ks_zone_add(ks, "other.test", "missing", 101), SG_ENOTFOUND);
    assert_int_equal(sg_ks_zone_add(ks, "bad..name", NULL, 101), SG_EINVAL);
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(ks, "EXAMPLE.test", &z), 0);
    assert_string_equal(z.name, "example.test.");
    assert_string_equal(z.policy, "default");
    assert_string_equal(z.state, "new");
    assert_int_equal(z.created, 100);
    assert_int_equal(sg_ks_zone_update(ks, "example.test", NULL, "porkbun", "signing", 102), 0);
    assert_int_equal(sg_ks_zone_get(ks, "example.test", &z), 0);
    assert_string_equal(z.registrar, "porkbun");
    assert_string_equal(z.state, "signing");

    /* Rolled back changes leave no trace, events included. */
    assert_int_equal(sg_ks_begin(ks), 0);
    assert_int_equal(sg_ks_zone_add(ks, "rolled.test", NULL, 103), 0);
    sg_ks_rollback(ks);
    assert_int_equal(sg_ks_zone_get(ks, "rolled.test", &z), SG_ENOTFOUND);
    sg_ks_event *ev;
    size_t n;
    assert_int_equal(sg_ks_event_list(ks, "rolled.test.", &ev, &n), 0);
    assert_int_equal(n, 0);
    free(ev);

    assert_int_equal(sg_ks_event_list(ks, "example.test.", &ev, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].reason, "zone added with policy default");
    assert_string_equal(ev[1].new_state, "signing");
    assert_string_equal(ev[1].old_state, "new");
    assert_string_equal(ev[1].actor, "daemon");
    free(ev);

    assert_int_equal(sg_ks_zone_remove(ks, "example.test", 0, 104), 0);
    assert_int_equal(sg_ks_zone_get(ks, "example.test", &z), SG_ENOTFOUND);
    sg_ks_free(ks);

    /* The journal refuses edits. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET actor = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(db);
}

/* A second writer waits for the lock, then fails cleanly with SG_KS_EBUSY. */
/* The serial floor (zone adopt): only for a zone in the keystore, journalled, read back
 * under any spelling of the name. */
static void test_serial_floor(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "cli", &ks), 0);
    uint32_t f = 0;
    assert_int_equal(sg_ks_serial_floor_set(ks, "example.test", 7, "signetctl", 100), SG_ENOTFOUND);
    assert_int_equal(sg_ks_zone_add(ks, "example.test", NULL, 100), 0);
    assert_int_equal(sg_ks_serial_floor_get(ks, "example.test", &f), SG_ENOTFOUND);
    assert_int_equal(sg_ks_serial_floor_set(ks, "Example.Test.", 7, "signetctl", 101), 0);
    assert_int_equal(sg_ks_serial_floor_get(ks, "example.test", &f), 0);
    assert_int_equal(f, 7);
    assert_int_equal(sg_ks_serial_floor_set(ks, "example.test", 0xffffffffu, NULL, 102), 0);
    assert_int_equal(sg_ks_serial_floor_get(ks, "EXAMPLE.test.", &f), 0);
    assert_int_equal(f, 0xffffffffu);
    sg_ks_event *ev;
    size_t n;
    assert_int_equal(sg_ks_event_list(ks, "example.test.", &ev, &n), 0);
    assert_true(n >= 2);
    assert_non_null(strstr(ev[n - 1].reason, "serial floor 4294967295"));
    free(ev);
    sg_ks_free(ks);
}

/* Issue 17: zones served at run time. The file column, the served list and the counter
 * signetd polls; a keystore at schema 4 with zones migrates without losing them. */
/* A handle's page cache stays small however big the keystore (signetd holds a few for
 * its whole life; SQLite's default 2 MiB each was RSS per zone at 10,000 zones). */
static void test_small_page_cache(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    assert_int_equal(sg_ks_begin(ks), 0);
    char file[300];
    memset(file, 'f', sizeof file);
    file[0] = '/';
    file[sizeof file - 1] = 0;
    for (int i = 0; i < 3000; i++) {
        char zone[64];
        snprintf(zone, sizeof zone, "z%05d.cache.test.", i);
        assert_int_equal(sg_ks_zone_add(ks, zone, NULL, 100), 0);
        assert_int_equal(sg_ks_zone_set_file(ks, zone, file, 100), 0);
    }
    assert_int_equal(sg_ks_commit(ks), 0);
    sg_ks_free(ks);
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_served *l;
    size_t n;
    assert_int_equal(sg_ks_served_list(ks, &l, &n), 0); /* every zone row read */
    assert_int_equal(n, 3000);
    free(l);
    int cur = 0, hi = 0;
    assert_int_equal(sqlite3_db_status(ks->db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0), SQLITE_OK);
    print_message("page cache after reading 3000 zones of ~1 MB: %d KiB\n", cur / 1024);
    assert_true(cur <= 400 * 1024);
    sg_ks_free(ks);
}

static void test_served_zones(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    int64_t c0 = -1, c;
    assert_int_equal(sg_ks_served_counter(ks, &c0), 0);
    assert_int_equal(sg_ks_zone_add(ks, "a.test", NULL, 100), 0);
    assert_int_equal(sg_ks_zone_add(ks, "b.test", NULL, 100), 0);
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(c, c0); /* zones without a file are not served at run time */
    sg_ks_served *l;
    size_t n;
    assert_int_equal(sg_ks_served_list(ks, &l, &n), 0);
    assert_int_equal(n, 0);
    free(l);
    assert_int_equal(sg_ks_zone_set_file(ks, "B.test", "/z/b.zone", 101), 0);
    assert_int_equal(sg_ks_zone_set_file(ks, "a.test.", "/z/a.zone", 101), 0);
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(c, c0 + 2);
    assert_int_equal(sg_ks_zone_set_file(ks, "a.test", "/z/a.zone", 102), 0);
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(c, c0 + 2); /* the same file again: nothing moves */
    assert_int_equal(sg_ks_served_list(ks, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "a.test.");
    assert_string_equal(l[0].file, "/z/a.zone");
    assert_string_equal(l[1].name, "b.test.");
    free(l);
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(ks, "b.test", &z), 0);
    assert_string_equal(z.file, "/z/b.zone");
    /* unserved: the row (and its keys) stay */
    assert_int_equal(sg_ks_zone_set_file(ks, "b.test", "", 103), 0);
    assert_int_equal(sg_ks_zone_get(ks, "b.test", &z), 0);
    assert_string_equal(z.file, "");
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(c, c0 + 3);
    /* a write said for a.test leaves a row the keyman scans: a purge takes it away */
    assert_int_equal(sg_ks_fact_observe(ks, "a.test.", "secondaries", 1, "test", 103), 0);
    int64_t wc;
    char (*wz)[SG_KS_ZONE_MAX];
    size_t wn;
    assert_int_equal(sg_ks_zone_writes(ks, 0, &wc, &wz, &wn), 0);
    assert_int_equal(wn, 1);
    assert_string_equal(wz[0], "a.test.");
    free(wz);
    assert_int_equal(sg_ks_zone_remove(ks, "a.test", 0, 104), 0);
    assert_int_equal(sg_ks_zone_writes(ks, 0, &wc, &wz, &wn), 0);
    assert_int_equal(wn, 0);
    assert_true(wc >= 1); /* the total stays: the keyman compares against it */
    free(wz);
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(c, c0 + 4);
    assert_int_equal(sg_ks_served_list(ks, &l, &n), 0);
    assert_int_equal(n, 0);
    free(l);
    assert_int_equal(sg_ks_zone_set_file(ks, "nosuch.test", "/x", 105), SG_ENOTFOUND);
    sg_ks_free(ks);
}

static void test_migrate_4_to_5(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    assert_int_equal(sg_ks_zone_add(ks, "old.test", NULL, 100), 0);
    sg_ks_free(ks);
    /* back to what a version-4 program wrote */
    raw_exec("DROP TRIGGER served_zones_i; DROP TRIGGER served_zones_u;"
             "DROP TRIGGER served_zones_d; DROP TABLE counters;"
             "ALTER TABLE zones DROP COLUMN file; ALTER TABLE policies DROP COLUMN key_store;"
             "DROP TABLE skr_slots; PRAGMA user_version = 4;");
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    int v = 0;
    assert_int_equal(sg_ks_schema_version(ks, &v), 0);
    assert_int_equal(v, SG_KS_SCHEMA_VERSION);
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(ks, "old.test", &z), 0);
    assert_string_equal(z.file, "");
    int64_t c;
    assert_int_equal(sg_ks_served_counter(ks, &c), 0);
    assert_int_equal(sg_ks_zone_set_file(ks, "old.test", "/z/old.zone", 101), 0);
    int64_t c2;
    assert_int_equal(sg_ks_served_counter(ks, &c2), 0);
    assert_int_equal(c2, c + 1);
    sg_ks_free(ks);
}

static void test_migrate_5_to_6(void **state)
{
    (void)state;
    sg_keystore *ks;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "old");
    assert_int_equal(sg_ks_policy_add(ks, &p, 100), 0);
    sg_ks_free(ks);
    raw_exec("ALTER TABLE policies DROP COLUMN key_store; DROP TABLE skr_slots;"
             "PRAGMA user_version = 5;");
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    int v = 0;
    assert_int_equal(sg_ks_schema_version(ks, &v), 0);
    assert_int_equal(v, SG_KS_SCHEMA_VERSION);
    /* an old policy keeps its keys as PEM; a new one may name a token */
    assert_int_equal(sg_ks_policy_get(ks, "old", &p), 0);
    assert_string_equal(p.key_store, "");
    sg_ks_policy_defaults(&p, "hsm");
    snprintf(p.key_store, sizeof p.key_store,
             "pkcs11:token=t?module-path=/usr/lib/m.so&pin-source=env:PIN");
    assert_int_equal(sg_ks_policy_add(ks, &p, 101), 0);
    sg_ks_policy q;
    assert_int_equal(sg_ks_policy_get(ks, "hsm", &q), 0);
    assert_string_equal(q.key_store, p.key_store);
    /* a key store without its module, or an algorithm no token here makes, is refused */
    sg_ks_policy_defaults(&p, "bad");
    snprintf(p.key_store, sizeof p.key_store, "pkcs11:token=t?pin-source=env:PIN");
    assert_int_equal(sg_ks_policy_add(ks, &p, 102), SG_EINVAL);
    assert_non_null(strstr(sg_ks_errmsg(ks), "module"));
    snprintf(p.key_store, sizeof p.key_store,
             "pkcs11:token=t?module-path=/usr/lib/m.so&pin-source=env:PIN");
    p.algorithm = SG_KS_ALG_ED448;
    assert_int_equal(sg_ks_policy_add(ks, &p, 102), SG_EINVAL);
    sg_ks_free(ks);
}

static void test_busy(void **state)
{
    (void)state;
    sg_keystore *a, *b;
    assert_int_equal(sg_ks_new(path, "a", &a), 0);
    assert_int_equal(sg_ks_new(path, "b", &b), 0);
    sg_ks_set_busy_timeout(b, 50);
    assert_int_equal(sg_ks_begin(a), 0);
    assert_int_equal(sg_ks_zone_add(a, "a.test", NULL, 1), 0);
    assert_int_equal(sg_ks_zone_add(b, "b.test", NULL, 1), SG_KS_EBUSY);
    assert_non_null(strstr(sg_ks_errmsg(b), "locked"));
    /* Readers are not blocked by the writer (WAL), and do not see its uncommitted rows. */
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(b, "a.test", &z), SG_ENOTFOUND);
    assert_int_equal(sg_ks_commit(a), 0);
    assert_int_equal(sg_ks_zone_add(b, "b.test", NULL, 2), 0);
    assert_int_equal(sg_ks_zone_get(b, "a.test", &z), 0);
    sg_ks_free(a);
    sg_ks_free(b);
}

/* A start checks each dnssec block's keystore while other handles may be writing: the
 * check waits for a lock held a moment instead of failing the config (integ.transfer under
 * ASan failed its start with "database is locked"). */
static void *release_later(void *arg)
{
    sg_keystore *ks = arg;
    usleep(300 * 1000);
    sg_ks_rollback(ks);
    /* exclusive mode keeps the lock until the next access in normal mode */
    ks_exec(ks, "PRAGMA locking_mode=NORMAL; SELECT count(*) FROM zones;");
    return NULL;
}

static void test_check_waits_for_a_held_lock(void **state)
{
    (void)state;
    sg_keystore *a;
    assert_int_equal(sg_ks_new(path, "a", &a), 0);
    char why[512] = "";
    assert_int_equal(sg_ks_check(path, NULL, why, sizeof why), 0);
    /* an exclusive-mode write lock: WAL readers are refused while it is held */
    assert_int_equal(ks_exec(a, "PRAGMA locking_mode=EXCLUSIVE"), 0);
    assert_int_equal(sg_ks_begin(a), 0);
    assert_int_equal(sg_ks_zone_add(a, "a.test", NULL, 1), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_later, a), 0);
    int r = sg_ks_check(path, NULL, why, sizeof why);
    pthread_join(t, NULL);
    assert_int_equal(r, 0);
    assert_string_equal(why, "");
    sg_ks_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_too_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_waits_for_a_held_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_served_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_page_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_4_to_5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_5_to_6, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
