/* SPDX-License-Identifier: MIT */
/* signetctl backup / restore: the whole keystore to one file and back, checked first. */
#include "ctl/ctl.h"

#include "common/errors.h"
#include "common/secure_heap.h"
#include "keystore/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSPHRASE_ENV "SIGNET_BACKUP_PASSPHRASE"
#define PASSPHRASE_MAX 4096
#define RESTORE_WAIT_MS 10000 /* --force: how long signetd may take to let go of the old file */

static const char *backup_help =
    "usage: signetctl [--db PATH] backup FILE [--passphrase-file F] [--recipient CERT.pem]\n"
    "  A consistent copy of the whole keystore (keys, policies, zones, journal) while signetd\n"
    "  runs, written to FILE (mode 0600). Encrypted (CMS, AES-256) for a passphrase (the\n"
    "  first line of F, or $" PASSPHRASE_ENV ") and/or for the holder of CERT.pem;\n"
    "  without either the file holds the private keys in the clear (a warning says so).\n";

static const char *restore_help =
    "usage: signetctl [--db PATH] restore FILE [--passphrase-file F | --key KEY.pem --cert CERT.pem]\n"
    "                                          [--check] [--force]\n"
    "  Checks the backup completely (header, SHA-256, decryption, integrity_check, schema,\n"
    "  every private key against its DNSKEY), then replaces the keystore atomically; the\n"
    "  old one is kept as PATH.before-restore-TIME. --check: only check, replace nothing.\n"
    "  A keystore that a running signetd holds is refused unless --force.\n"
    "  The passphrase may also come from $" PASSPHRASE_ENV ".\n";

/* The passphrase from a file (its first line) or the environment, in the secure heap.
 * 0: none given; 1: *pw_out set (free with sg_secure_free(*pw_out, PASSPHRASE_MAX));
 * -1: failed, the reason printed. */
static int get_passphrase(const char *file, char **pw_out, size_t *len_out)
{
    *pw_out = NULL;
    const char *env = getenv(PASSPHRASE_ENV);
    if (!file && (!env || !*env))
        return 0;
    char *pw = sg_secure_alloc(PASSPHRASE_MAX);
    if (!pw) {
        fprintf(stderr, "signetctl: out of secure memory for the passphrase\n");
        return -1;
    }
    size_t n = 0;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "signetctl: cannot open %s: %s\n", file, strerror(errno));
            sg_secure_free(pw, PASSPHRASE_MAX);
            return -1;
        }
        ssize_t r;
        while (n < PASSPHRASE_MAX - 1 && (r = read(fd, pw + n, PASSPHRASE_MAX - 1 - n)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            n += (size_t)r;
        }
        close(fd);
        char *nl = memchr(pw, '\n', n);
        if (nl)
            n = (size_t)(nl - pw);
    } else {
        n = strlen(env);
        if (n >= PASSPHRASE_MAX)
            n = PASSPHRASE_MAX - 1;
        memcpy(pw, env, n);
    }
    if (n && pw[n - 1] == '\r')
        n--;
    pw[n] = 0;
    if (n == 0) {
        fprintf(stderr, "signetctl: the passphrase %s is empty\n", file ? file : "$" PASSPHRASE_ENV);
        sg_secure_free(pw, PASSPHRASE_MAX);
        return -1;
    }
    *pw_out = pw;
    *len_out = n;
    return 1;
}

/* One journal row per zone (best effort: a backup must not fail for its record). */
static void journal_zones(ctl *c, sg_keystore *ks, const char *reason)
{
    sg_ks_zone *zones = NULL;
    size_t n = 0;
    if (sg_ks_zone_list(ks, &zones, &n) != 0)
        return;
    int r = sg_ks_begin(ks);
    for (size_t i = 0; !r && i < n; i++)
        r = sg_ks_event_add(ks, c->now, zones[i].name, 0, NULL, NULL, reason);
    if (r == 0)
        r = sg_ks_commit(ks);
    else
        sg_ks_rollback(ks);
    if (r)
        fprintf(stderr, "signetctl: warning: could not record this in the zones' history: %s\n",
                sg_strerror(r));
    free(zones);
}

int cmd_backup(ctl *c, int argc, char **argv)
{
    enum { O_PASSFILE, O_RECIPIENT, NOPTS };
    ctl_opt o[NOPTS] = { { "passphrase-file", 1, 0, 0 }, { "recipient", 1, 0, 0 } };
    char *pos[1];
    int npos = 0, help = 0;
    int rc = ctl_parse("backup ", argc, argv, o, NOPTS, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(backup_help, stdout);
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("backup ", "backup needs the FILE to write");
    sg_ks_backup_secret sec;
    memset(&sec, 0, sizeof sec);
    char *pw = NULL;
    size_t pwlen = 0;
    int have = get_passphrase(o[O_PASSFILE].val, &pw, &pwlen);
    if (have < 0)
        return CTL_ERR;
    sec.passphrase = pw;
    sec.passphrase_len = pwlen;
    sec.cert_path = o[O_RECIPIENT].val;

    /* a backup of nothing is a mistake, never a new empty keystore */
    int r = sg_ks_open_existing(c->db, "cli", &c->ks);
    if (r) {
        if (pw)
            sg_secure_free(pw, PASSPHRASE_MAX);
        return ctl_fail(c, r, "cannot open keystore %s", c->db);
    }
    if (c->busy_ms >= 0)
        sg_ks_set_busy_timeout(c->ks, c->busy_ms);
    char why[1024] = "";
    sg_ks_backup_info info;
    r = sg_ks_backup(c->ks, pos[0], &sec, c->now, &info, why, sizeof why);
    if (pw)
        sg_secure_free(pw, PASSPHRASE_MAX);
    if (r) {
        fprintf(stderr, "signetctl: backup failed: %s: %s\n", sg_strerror(r), why);
        return CTL_ERR;
    }
    char who[256], reason[256 + PATH_MAX];
    ctl_who(who, sizeof who);
    const char *how = !sec.passphrase && !sec.cert_path ? "unencrypted"
                    : sec.passphrase && sec.cert_path   ? "encrypted for a passphrase and a certificate"
                    : sec.passphrase                    ? "encrypted for a passphrase"
                                                        : "encrypted for a certificate";
    snprintf(reason, sizeof reason, "keystore backup (%s, private keys included) by %s", how, who);
    journal_zones(c, c->ks, reason);
    if (!sec.passphrase && !sec.cert_path)
        fprintf(stderr, "signetctl: warning: %s is NOT encrypted: it holds every private key in "
                        "the clear; keep it like the keystore itself (--passphrase-file or "
                        "--recipient encrypt it)\n", pos[0]);
    if (c->json) {
        printf("{\"file\":");
        json_str(stdout, pos[0]);
        printf(",\"bytes\":%llu,\"schema\":%u,\"encrypted\":%s,\"zones\":%zu,\"keys\":%zu}\n",
               (unsigned long long)info.file_len, info.header.schema,
               info.header.flags ? "true" : "false", info.zones, info.keys);
    } else {
        printf("backup written to %s: %zu zones, %zu keys, schema %u, %llu bytes, %s\n", pos[0],
               info.zones, info.keys, info.header.schema, (unsigned long long)info.file_len, how);
    }
    return CTL_OK;
}

static void proc_name(pid_t pid, char *buf, size_t cap)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/comm", (long)pid);
    snprintf(buf, cap, "?");
    FILE *f = fopen(p, "re");
    if (!f)
        return;
    if (fgets(buf, (int)cap, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

static void in_use_text(const char *target, pid_t pid)
{
    char name[64];
    proc_name(pid, name, sizeof name);
    fprintf(stderr,
            "signetctl: restore refused: process %ld (%s) has the keystore %s open.\n"
            "  Restoring under a running signetd changes the keys it signs with under its feet.\n"
            "  Stop it first (systemctl stop signetd), restore, then start it; or give --force:\n"
            "  the old keystore is moved aside, signetd lets go of it within a second and takes\n"
            "  up the restored one. Nothing was changed.\n",
            (long)pid, name, target);
}

int cmd_restore(ctl *c, int argc, char **argv)
{
    enum { O_PASSFILE, O_KEY, O_CERT, O_FORCE, O_CHECK, NOPTS };
    ctl_opt o[NOPTS] = { { "passphrase-file", 1, 0, 0 }, { "key", 1, 0, 0 },
                         { "cert", 1, 0, 0 }, { "force", 0, 0, 0 }, { "check", 0, 0, 0 } };
    char *pos[1];
    int npos = 0, help = 0;
    int rc = ctl_parse("restore ", argc, argv, o, NOPTS, pos, 1, &npos, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(restore_help, stdout);
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("restore ", "restore needs the backup FILE");
    if (o[O_KEY].set != o[O_CERT].set)
        return ctl_usage("restore ", "--key and --cert go together");
    if (o[O_KEY].set && o[O_PASSFILE].set)
        return ctl_usage("restore ", "give either --passphrase-file or --key and --cert");
    const char *target = c->db;
    const char *file = pos[0];
    int check_only = o[O_CHECK].set;

    pid_t pid = 0;
    if (!check_only && !o[O_FORCE].set && sg_ks_holder(target, &pid) == 1) {
        in_use_text(target, pid);
        return CTL_ERR;
    }

    sg_ks_backup_secret sec;
    memset(&sec, 0, sizeof sec);
    char *pw = NULL;
    size_t pwlen = 0;
    if (!o[O_KEY].set && get_passphrase(o[O_PASSFILE].val, &pw, &pwlen) < 0)
        return CTL_ERR;
    sec.passphrase = pw;
    sec.passphrase_len = pwlen;
    sec.key_path = o[O_KEY].val;
    sec.cert_path = o[O_CERT].val;

    char stage[PATH_MAX], why[1024] = "";
    snprintf(stage, sizeof stage, "%s.restore-%ld", target, (long)getpid());
    sg_ks_backup_info info;
    int r = sg_ks_restore_check(file, &sec, stage, &info, why, sizeof why);
    if (pw)
        sg_secure_free(pw, PASSPHRASE_MAX);
    if (r) {
        fprintf(stderr, "signetctl: restore refused: %s: %s: %s\n"
                        "  The keystore %s was not touched.\n", file, sg_strerror(r), why, target);
        return CTL_ERR;
    }
    char made[32];
    ctl_fmt_time(info.header.created, made, sizeof made);
    if (check_only) {
        unlink(stage);
        printf("%s is a good backup: made %s, %zu zones, %zu keys (every private key matches its "
               "DNSKEY), schema %u%s, %s\n", file, made, info.zones, info.keys, info.header.schema,
               info.schema_now != (int)info.header.schema ? " (migrates to this program's)" : "",
               info.header.flags ? "encrypted" : "not encrypted");
        return CTL_OK;
    }

    /* the restored keystore says where it came from, in every zone's history */
    char who[256], reason[256 + PATH_MAX];
    ctl_who(who, sizeof who);
    snprintf(reason, sizeof reason, "keystore restored from backup %s (made %s) by %s", file,
             made, who);
    sg_keystore *staged = NULL;
    if (sg_ks_open_existing(stage, "cli", &staged) == 0)
        journal_zones(c, staged, reason);
    sg_ks_free(staged);

    char keep[PATH_MAX + 64], stamp[32];
    ctl_fmt_time(c->now, stamp, sizeof stamp);
    for (char *p = stamp; *p; p++)
        if (*p == ':' || *p == '-')
            memmove(p, p + 1, strlen(p));
    snprintf(keep, sizeof keep, "%s.before-restore-%s", target, stamp);
    struct stat st;
    int had = stat(target, &st) == 0;
    pid = 0;
    int held = sg_ks_holder(target, &pid) == 1;
    r = sg_ks_restore(stage, target, keep, o[O_FORCE].set, RESTORE_WAIT_MS, why, sizeof why);
    if (r) {
        unlink(stage);
        char sp[PATH_MAX + 8];
        snprintf(sp, sizeof sp, "%s-wal", stage);
        unlink(sp);
        snprintf(sp, sizeof sp, "%s-shm", stage);
        unlink(sp);
        if (r == SG_KS_EINUSE && !o[O_FORCE].set) {
            in_use_text(target, pid);
            return CTL_ERR;
        }
        fprintf(stderr, "signetctl: restore failed: %s: %s\n", sg_strerror(r), why);
        return CTL_ERR;
    }
    printf("restored %s into %s: made %s, %zu zones, %zu keys, schema %u\n", file, target, made,
           info.zones, info.keys, info.schema_now);
    if (had)
        printf("the previous keystore is kept as %s\n", keep);

    /* what the operator does next depends on whether a signetd is there */
    json_t *req = json_pack("{s:s}", "cmd", "status"), *rep = NULL;
    char err[512];
    int up = ctl_daemon_call(c, req, 2000, &rep, err, sizeof err) == CTL_OK;
    json_decref(req);
    json_decref(rep);
    if (held)
        printf("signetd (pid %ld) had the old keystore open: it has let go of it and takes up the "
               "restored one; restart it to be sure (systemctl restart signetd)\n", (long)pid);
    else if (up)
        printf("signetd is running (it answers on %s): restart it so that it signs with the "
               "restored keys (systemctl restart signetd)\n", c->socket);
    else
        printf("signetd is not running here: start it (systemctl start signetd); a signetd "
               "elsewhere that uses this file must be restarted\n");
    return CTL_OK;
}
