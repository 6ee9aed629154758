/* SPDX-License-Identifier: MIT */
/* Opening the keystore database: file mode, pragmas, error mapping, transactions. */
#include "keystore/internal.h"
#include "keystore/kek.h"

#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

void ks_set_err(sg_keystore *ks, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ks->errmsg, sizeof ks->errmsg, fmt, ap);
    va_end(ap);
}

/* Log a failure once on its change, then at most once a minute with how many there were
 * (issue 15: the same ERROR many times a second). Process-wide: a keystore that fails to
 * open fails with a new handle every time. */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
#define LOG_SLOTS 8
static struct {
    char line[320];
    int64_t at;
    unsigned suppressed;
} g_logged[LOG_SLOTS];
static unsigned g_next_slot;

static void log_failure(int level, const char *line)
{
    int64_t now = (int64_t)time(NULL);
    unsigned n = 0;
    pthread_mutex_lock(&g_log_lock);
    int slot = -1;
    for (int i = 0; i < LOG_SLOTS && slot < 0; i++)
        if (!strncmp(g_logged[i].line, line, sizeof g_logged[i].line - 1))
            slot = i;
    if (slot >= 0 && now - g_logged[slot].at < 60 && now >= g_logged[slot].at) {
        g_logged[slot].suppressed++;
        pthread_mutex_unlock(&g_log_lock);
        return;
    }
    if (slot < 0) {
        slot = (int)(g_next_slot++ % LOG_SLOTS);
        snprintf(g_logged[slot].line, sizeof g_logged[slot].line, "%s", line);
    } else {
        n = g_logged[slot].suppressed;
    }
    g_logged[slot].at = now;
    g_logged[slot].suppressed = 0;
    pthread_mutex_unlock(&g_log_lock);
    if (n)
        sg_log(level, "keystore", NULL, "%s (and %u times more in the last minute)", line, n);
    else
        sg_log(level, "keystore", NULL, "%s", line);
}

int ks_sql_fail(sg_keystore *ks, int rc, const char *what)
{
    const char *msg = ks->db ? sqlite3_errmsg(ks->db) : sqlite3_errstr(rc);
    ks_set_err(ks, "%s: %s", what, msg);
    int prim = rc & 0xff;
    char line[320];
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) {
        snprintf(line, sizeof line, "%s: database is busy: %s", what, msg);
        log_failure(SG_LOG_WARN, line);
        return SG_KS_EBUSY;
    }
    if (prim == SQLITE_CONSTRAINT) {
        /* A duplicate name or tag: the caller reports it in its own words. */
        sg_log(SG_LOG_DEBUG, "keystore", NULL, "%s: sqlite: %s", what, msg);
        return SG_EEXIST;
    }
    snprintf(line, sizeof line, "%s: sqlite: %s", what, msg);
    log_failure(SG_LOG_ERR, line);
    if (prim == SQLITE_NOMEM)
        return SG_ENOMEM;
    if (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN || prim == SQLITE_FULL ||
        prim == SQLITE_READONLY || prim == SQLITE_PERM)
        return SG_EIO;
    return SG_ELIB;
}

int ks_ssl_fail(sg_keystore *ks, const char *what)
{
    char lib[200] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, lib, sizeof lib);
    ERR_clear_error();
    if (ks)
        ks_set_err(ks, "%s: %s", what, lib);
    sg_log(SG_LOG_ERR, "keystore", NULL, "%s: openssl: %s", what, lib[0] ? lib : "failed");
    return SG_ELIB;
}

static uint32_t sql_hash(const char *sql)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

int ks_prepare(sg_keystore *ks, const char *sql, sqlite3_stmt **st_out)
{
    uint32_t h = sql_hash(sql);
    ks_stmt_slot *free_slot = NULL;
    for (int i = 0; i < KS_STMT_CACHE; i++) {
        ks_stmt_slot *s = &ks->stmts[i];
        if (!s->st) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (!s->taken && s->hash == h && !strcmp(sqlite3_sql(s->st), sql)) {
            s->taken = 1;
            *st_out = s->st;
            return 0;
        }
    }
    /* not kept (or in use by a caller further up): a new one, kept if there is room */
    int rc = sqlite3_prepare_v2(ks->db, sql, -1, st_out, NULL);
    if (rc != SQLITE_OK)
        return ks_sql_fail(ks, rc, "prepare");
    if (free_slot) {
        free_slot->st = *st_out;
        free_slot->hash = h;
        free_slot->taken = 1;
    }
    return 0;
}

void ks_finish(sg_keystore *ks, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (int i = 0; ks && i < KS_STMT_CACHE; i++) {
        ks_stmt_slot *s = &ks->stmts[i];
        if (s->st == st) {
            /* a reset statement holds no read transaction open */
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->taken = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

void ks_stmt_cache_clear(sg_keystore *ks)
{
    for (int i = 0; i < KS_STMT_CACHE; i++) {
        sqlite3_finalize(ks->stmts[i].st);
        ks->stmts[i].st = NULL;
        ks->stmts[i].taken = 0;
    }
}

int ks_exec(sg_keystore *ks, const char *sql)
{
    int rc = sqlite3_exec(ks->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : ks_sql_fail(ks, rc, "exec");
}

void ks_col_text(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

const char *sg_ks_errmsg(const sg_keystore *ks) { return ks ? ks->errmsg : ""; }

void sg_ks_set_busy_timeout(sg_keystore *ks, int ms)
{
    if (ks)
        sqlite3_busy_timeout(ks->db, ms);
}

/* Create the file ourselves so that it is born 0600: SQLite then gives the -wal and -shm
 * files the same mode, and no window exists in which keys sit in a world-readable file. */
static int create_private_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    close(fd);
    return 0;
}

static int ks_open(const char *path, const char *actor, int create, sg_keystore **ks_out)
{
    if (!path || !*path || !ks_out)
        return SG_EINVAL;
    *ks_out = NULL;
    struct stat st;
    if (!create && stat(path, &st) != 0)
        return SG_ENOTFOUND;
    int r = create ? create_private_file(path) : 0;
    if (r < 0) {
        sg_log(SG_LOG_ERR, "keystore", NULL, "cannot create %s: %s", path, strerror(-r));
        return SG_EIO;
    }
    if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        char line[1200];
        snprintf(line, sizeof line, "%s can be read by others (mode %03o): it holds private keys, "
                 "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
        log_failure(SG_LOG_WARN, line);
    }

    sg_keystore *ks = calloc(1, sizeof *ks);
    if (!ks)
        return SG_ENOMEM;
    snprintf(ks->actor, sizeof ks->actor, "%s", actor ? actor : "unknown");
    snprintf(ks->path, sizeof ks->path, "%s", path);
    int rc = sqlite3_open_v2(path, &ks->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = ks_sql_fail(ks, rc, "open");
        goto fail;
    }
    sqlite3_extended_result_codes(ks->db, 1);
    sqlite3_busy_timeout(ks->db, 5000);
    /* WAL lets the signer read while signetctl writes; FULL sync because a lost commit
     * could mean a DS at the parent for a key we no longer have; secure_delete so that a
     * deleted private key does not linger in free pages. */
    /* a small page cache: signetd holds a handle per dnssec block, `dynamic` and transfer
     * for its whole life, and SQLite's default (2 MiB each) filled by one look at 10,000
     * zones was a few hundred bytes per zone of RSS; pages not cached are in the kernel's
     * page cache a pread away */
    r = ks_exec(ks, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                    "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA cache_size=-256;");
    if (r)
        goto fail;
    r = ks_schema_migrate(ks);
    if (r)
        goto fail;
    if (stat(path, &st) == 0) {
        ks->dev = st.st_dev;
        ks->ino = st.st_ino;
    }
    *ks_out = ks;
    return 0;
fail:
    sg_ks_free(ks);
    return r;
}

int sg_ks_new(const char *path, const char *actor, sg_keystore **ks_out)
{
    return ks_open(path, actor, 1, ks_out);
}

int sg_ks_open_existing(const char *path, const char *actor, sg_keystore **ks_out)
{
    return ks_open(path, actor, 0, ks_out);
}

int sg_ks_file_moved(const sg_keystore *ks)
{
    struct stat st;
    if (!ks || stat(ks->path, &st) != 0)
        return 1;
    return st.st_dev != ks->dev || st.st_ino != ks->ino;
}

int sg_ks_data_version(sg_keystore *ks, int64_t *v_out)
{
    if (!ks || !v_out)
        return SG_EINVAL;
    sqlite3_stmt *st = NULL;
    int rc = ks_prepare(ks, "PRAGMA data_version", &st);
    if (rc)
        return rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *v_out = sqlite3_column_int64(st, 0);
    else
        rc = ks_sql_fail(ks, s, "reading data_version");
    ks_finish(ks, st);
    return rc;
}

void sg_ks_free(sg_keystore *ks)
{
    if (!ks)
        return;
    if (ks->db) {
        ks_stmt_cache_clear(ks);
        if (ks->tx_depth > 0)
            sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(ks->db);
    }
    free(ks);
}

int sg_ks_begin(sg_keystore *ks)
{
    if (!ks)
        return SG_EINVAL;
    int r = ks_exec(ks, ks->tx_depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT sg_nested");
    if (r == 0)
        ks->tx_depth++;
    return r;
}

int sg_ks_commit(sg_keystore *ks)
{
    if (!ks || ks->tx_depth <= 0)
        return SG_EINVAL;
    int r = ks_exec(ks, ks->tx_depth == 1 ? "COMMIT" : "RELEASE sg_nested");
    if (r) {
        sg_ks_rollback(ks);
        return r;
    }
    ks->tx_depth--;
    return 0;
}

void sg_ks_rollback(sg_keystore *ks)
{
    if (!ks || ks->tx_depth <= 0)
        return;
    if (ks->tx_depth == 1)
        sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
    else
        sqlite3_exec(ks->db, "ROLLBACK TO sg_nested; RELEASE sg_nested", NULL, NULL, NULL);
    ks->tx_depth--;
}

int sg_ks_check(const char *path, const char *policy, char *why, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        /* a start makes the file: its directory must be there */
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = 0;
        else if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, cap, "keystore %s: its directory %s does not exist", path, dir);
            return SG_ENOTFOUND;
        }
        if (access(dir, W_OK) != 0) {
            snprintf(why, cap, "keystore %s: its directory %s is not writable", path, dir);
            return SG_EIO;
        }
        if (policy && strcmp(policy, SG_KS_DEFAULT_POLICY)) {
            snprintf(why, cap, "policy '%s' is not in the keystore %s (a new keystore has only "
                               "'%s'; signetctl --db %s policy add %s)", policy, path,
                     SG_KS_DEFAULT_POLICY, path, policy);
            return SG_ENOTFOUND;
        }
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, cap, "keystore %s is not a regular file", path);
        return SG_EIO;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    /* Another handle of this process (keys made for an earlier block, transfer's version
     * workers) may hold the lock for a moment: wait as every other handle does, or a
     * config check fails a start with "database is locked". */
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q = NULL;
    int r = 0;
    if (rc != SQLITE_OK || sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        snprintf(why, cap, "keystore %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        r = SG_ELIB;
        goto out;
    }
    int version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (version > SG_KS_SCHEMA_VERSION) {
        snprintf(why, cap, "keystore %s has schema %d, newer than this program's %d", path,
                 version, SG_KS_SCHEMA_VERSION);
        r = SG_KS_ESCHEMA;
        goto out;
    }
    if (policy && version > 0) {
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM policies WHERE name = ?1", -1, &q, NULL) != SQLITE_OK) {
            snprintf(why, cap, "keystore %s: %s", path, sqlite3_errmsg(db));
            r = SG_ELIB;
            goto out;
        }
        sqlite3_bind_text(q, 1, policy, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_ROW) {
            snprintf(why, cap, "policy '%s' is not in the keystore %s (signetctl --db %s policy add %s)",
                     policy, path, path, policy);
            r = SG_ENOTFOUND;
        }
    } else if (policy && strcmp(policy, SG_KS_DEFAULT_POLICY)) {
        snprintf(why, cap, "policy '%s' is not in the keystore %s (signetctl --db %s policy add %s)",
                 policy, path, path, policy);
        r = SG_ENOTFOUND;
    }
    /* encrypted private keys need their key-encryption key: refuse a start without it */
    if (!r && version > 0)
        r = sg_ks_kek_check_db(db, path, why, cap);
out:
    sqlite3_finalize(q);
    sqlite3_close(db);
    return r;
}
