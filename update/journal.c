/* SPDX-License-Identifier: MIT */
/* The UPDATE journal in SQLite: one table of differences, one row per accepted update. */
#include "update/journal.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sg_upd_journal {
    sqlite3 *db;
    char *path;
};

static int lib_error(sg_upd_journal *j, const char *what)
{
    sg_log(SG_LOG_ERR, "update", NULL, "journal %s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
    return SG_ELIB;
}

int sg_upd_journal_open(const char *path, sg_upd_journal **j_out)
{
    if (!path || !j_out)
        return SG_EINVAL;
    /* created owner-only before SQLite opens it: its -wal and -shm take its mode */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        sg_log(SG_LOG_ERR, "update", NULL, "journal %s: %s", path, strerror(errno));
        return SG_EIO;
    }
    close(fd);
    sg_upd_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return SG_ENOMEM;
    }
    int rc = 0;
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        rc = lib_error(j, "open");
        goto fail;
    }
    sqlite3_busy_timeout(j->db, 5000);
    /* WAL with synchronous=FULL: the WAL is fsync'ed at every commit, so a row is on disk
     * when the INSERT returns; the reply's NOERROR waits for that */
    if (sqlite3_exec(j->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS changes("
                     " seq INTEGER PRIMARY KEY AUTOINCREMENT, zone TEXT NOT NULL,"
                     " from_serial INTEGER NOT NULL, to_serial INTEGER NOT NULL,"
                     " at INTEGER NOT NULL, key TEXT, diff TEXT NOT NULL);"
                     "CREATE INDEX IF NOT EXISTS changes_zone ON changes(zone, seq);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = lib_error(j, "schema");
        goto fail;
    }
    *j_out = j;
    return 0;
fail:
    sg_upd_journal_close(j);
    return rc;
}

void sg_upd_journal_close(sg_upd_journal *j)
{
    if (!j)
        return;
    sqlite3_close(j->db);
    free(j->path);
    free(j);
}

int sg_upd_journal_append(sg_upd_journal *j, const char *zone, uint32_t from, uint32_t to, int64_t now,
                          const char *key, const char *diff)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "INSERT INTO changes(zone, from_serial, to_serial, at, key, diff) "
                                  "VALUES(?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return lib_error(j, "prepare");
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, key ? key : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, diff, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : lib_error(j, "append");
    sqlite3_finalize(st);
    return rc;
}

int sg_upd_journal_each(sg_upd_journal *j, const char *zone,
                        int (*fn)(void *arg, uint32_t from, uint32_t to, const char *diff), void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "SELECT from_serial, to_serial, diff FROM changes WHERE zone=? ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return lib_error(j, "prepare");
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && !rc)
        rc = fn(arg, (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
                (const char *)sqlite3_column_text(st, 2));
    if (!rc && s != SQLITE_DONE)
        rc = lib_error(j, "read");
    sqlite3_finalize(st);
    return rc;
}

int sg_upd_journal_count(sg_upd_journal *j, const char *zone)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT count(*) FROM changes WHERE zone=?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

int sg_upd_journal_drop(sg_upd_journal *j, const char *zone)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "DELETE FROM changes WHERE zone=?", -1, &st, NULL) != SQLITE_OK)
        return lib_error(j, "prepare");
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : lib_error(j, "drop");
    sqlite3_finalize(st);
    return rc;
}

int sg_upd_journal_begin(sg_upd_journal *j)
{
    return sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : lib_error(j, "begin");
}

int sg_upd_journal_commit(sg_upd_journal *j)
{
    return sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : lib_error(j, "commit");
}

void sg_upd_journal_rollback(sg_upd_journal *j)
{
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}
