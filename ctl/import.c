/* SPDX-License-Identifier: MIT */
/* Importing a zone's keys from BIND, Knot DNS and PowerDNS with their states (ctl/import.h). */
#include "ctl/import.h"

#include "common/secure_heap.h"

#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX (1u << 20)

/* Run argv (no shell), its stdout into a NUL-terminated buffer in the secure heap (it may be
 * a private key): *out_cap to sg_secure_free. stderr passes through. 0, SG_EIO (could not
 * run, or exit status not 0) or SG_ENOMEM. */
static int run_capture(char *const argv[], char **out, size_t *out_cap)
{
    int fd[2];
    if (pipe(fd))
        return SG_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return SG_EIO;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "signetctl: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char *buf = sg_secure_alloc(OUT_MAX + 1);
    size_t len = 0;
    ssize_t r;
    while (buf && len < OUT_MAX && (r = read(fd[0], buf + len, OUT_MAX - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        len += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return SG_ENOMEM;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len >= OUT_MAX) {
        fprintf(stderr, "signetctl: %s %s failed (exit %d)\n", argv[0], argv[1] ? argv[1] : "",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        sg_secure_free(buf, OUT_MAX + 1);
        return SG_EIO;
    }
    buf[len] = 0;
    *out = buf;
    *out_cap = OUT_MAX + 1;
    return 0;
}

void ctl_import_line(FILE *report, const sg_ks_key *k, int64_t now)
{
    if (!report)
        return;
    fprintf(report, "imported key %lld: tag %u %s %s, %s%s%s\n", (long long)k->id, k->tag,
            sg_ks_role_name(k->role), sg_ks_alg_name(k->algorithm),
            sg_ks_state_name(sg_ks_key_state_at(k, now)),
            sg_ks_key_public_only(k) ? ", public-only" : "",
            k->ds_seen ? ", DS seen" : k->ds_submitted ? ", DS submitted" : "");
}

static int fail(sg_keystore *ks, int rc, const char *what)
{
    const char *m = sg_ks_errmsg(ks);
    fprintf(stderr, "signetctl: %s: %s%s%s\n", what, sg_strerror(rc), m && *m ? ": " : "",
            m ? m : "");
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ctl_import_bind_dir(sg_keystore *ks, const char *zone, const char *dir, int64_t now,
                        FILE *report, int *n_out)
{
    char zn[SG_KS_ZONE_MAX], prefix[SG_KS_ZONE_MAX + 2];
    if (!ks || !zone || !dir || sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    /* BIND names a key K<zone, absolute>+ALG+TAG (Kexample.com.+013+12345) */
    snprintf(prefix, sizeof prefix, "K%s+", zn);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "signetctl: cannot open %s: %s\n", dir, strerror(errno));
        return SG_EIO;
    }
    char **names = NULL;
    size_t nn = 0;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncasecmp(e->d_name, prefix, strlen(prefix)) || l < 5 || strcmp(e->d_name + l - 4, ".key"))
            continue;
        char **nv = realloc(names, (nn + 1) * sizeof *names);
        if (!nv || !(nv[nn] = strdup(e->d_name)))
            rc = SG_ENOMEM;
        if (nv)
            names = nv;
        if (!rc)
            nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    int imported = 0;
    for (size_t i = 0; i < nn && !rc; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        sg_ks_key k;
        if ((rc = sg_ks_key_import_bind(ks, zn, path, -1, 0, NULL, now, &k)))
            fail(ks, rc, path);
        else {
            ctl_import_line(report, &k, now);
            imported++;
        }
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (!rc && nn == 0) {
        fprintf(stderr, "signetctl: no %s*.key in %s\n", prefix, dir);
        rc = SG_ENOTFOUND;
    }
    if (n_out)
        *n_out = imported;
    return rc;
}

/* keymgr's argv: -d KASP_DB or -c CONF, the zone, then the command's words. */
static void keymgr_argv(char **argv, const char *keymgr, const char *kasp_db,
                        const char *knot_conf, const char *zone, const char *cmd,
                        const char *arg)
{
    int i = 0;
    argv[i++] = (char *)(keymgr ? keymgr : "keymgr");
    argv[i++] = (char *)(knot_conf ? "-c" : "-D");
    argv[i++] = (char *)(knot_conf ? knot_conf : kasp_db);
    argv[i++] = (char *)zone;
    argv[i++] = (char *)cmd;
    if (arg)
        argv[i++] = (char *)arg;
    argv[i] = NULL;
}

/* A DNSKEY presentation line ("owner [TTL] [IN] DNSKEY FLAGS 3 ALG BASE64...") as RDATA. */
static int dnskey_line_rdata(const char *line, uint8_t *rd, size_t cap, size_t *len_out)
{
    const char *p = strstr(line, "DNSKEY");
    unsigned flags, proto, alg;
    int used = 0;
    if (!p || sscanf(p + 6, "%u %u %u %n", &flags, &proto, &alg, &used) != 3 || proto != 3)
        return SG_ESYNTAX;
    char b64[2048];
    size_t bl = 0;
    for (const char *q = p + 6 + used; *q && bl < sizeof b64 - 1; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
            b64[bl++] = *q;
    b64[bl] = 0;
    if (bl == 0 || bl % 4 || 4 + bl / 4 * 3 > cap)
        return SG_ESYNTAX;
    int n = EVP_DecodeBlock(rd + 4, (const unsigned char *)b64, (int)bl);
    if (n < 0)
        return SG_ESYNTAX;
    n -= (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
    rd[0] = (uint8_t)(flags >> 8);
    rd[1] = (uint8_t)flags;
    rd[2] = 3;
    rd[3] = (uint8_t)alg;
    *len_out = 4 + (size_t)n;
    return 0;
}

/* A public-only Knot key: its DNSKEY from `keymgr ZONE dnskey` (the DNSKEY records of the
 * zone's keys), matched by tag. */
static int knot_public(sg_keystore *ks, const char *zone, const sg_ks_knot_key *kk,
                       const sg_ks_import_times *t, const char *dnskeys, int64_t now,
                       sg_ks_key *out)
{
    char *copy = strdup(dnskeys), *save;
    if (!copy)
        return SG_ENOMEM;
    int rc = SG_ENOTFOUND;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t len;
        if (dnskey_line_rdata(l, rd, sizeof rd, &len) || sg_ks_key_tag(rd, len) != kk->tag ||
            rd[3] != kk->algorithm)
            continue;
        rc = sg_ks_key_import_public(ks, zone, rd, len, kk->ksk && kk->zsk ? SG_KS_ROLE_CSK : -1,
                                     t, now, out);
        break;
    }
    free(copy);
    return rc;
}

int ctl_import_knot(sg_keystore *ks, const char *zone, const char *kasp_db,
                    const char *knot_conf, const char *keymgr, int64_t now, FILE *report,
                    int *n_out)
{
    char zn[SG_KS_ZONE_MAX];
    if (!ks || !zone || !kasp_db || sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    char *argv[8], *list = NULL, *dnskeys = NULL;
    size_t list_cap = 0, dk_cap = 0;
    keymgr_argv(argv, keymgr, kasp_db, knot_conf, zn, "list", "-e");
    /* keymgr 3.2 takes -e anywhere (getopt permutes) */
    int rc = run_capture(argv, &list, &list_cap);
    if (rc)
        return rc;
    sg_ks_knot_key *keys = NULL;
    size_t n = 0;
    int imported = 0;
    if ((rc = sg_ks_knot_list_parse(list, &keys, &n))) {
        fprintf(stderr, "signetctl: keymgr list: unexpected output\n");
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "signetctl: keymgr knows no key of %s\n", zn);
        rc = SG_ENOTFOUND;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const sg_ks_knot_key *kk = &keys[i];
        sg_ks_import_times t;
        sg_ks_knot_times(kk, &t);
        enum sg_ks_role role = kk->ksk && kk->zsk ? SG_KS_ROLE_CSK : kk->ksk ? SG_KS_ROLE_KSK
                                                                           : SG_KS_ROLE_ZSK;
        sg_ks_key k;
        char what[200];
        snprintf(what, sizeof what, "Knot key %s (tag %u)", kk->id, kk->tag);
        if (kk->public_only) {
            if (!dnskeys) {
                keymgr_argv(argv, keymgr, kasp_db, knot_conf, zn, "dnskey", NULL);
                if ((rc = run_capture(argv, &dnskeys, &dk_cap)))
                    break;
            }
            rc = knot_public(ks, zn, kk, &t, dnskeys, now, &k);
        } else {
            char pem[4096];
            snprintf(pem, sizeof pem, "%s/keys/%s.pem", kasp_db, kk->id);
            rc = sg_ks_key_import_pem(ks, zn, pem, role, kk->algorithm, &t, now, &k);
        }
        if (rc) {
            fail(ks, rc, what);
        } else {
            ctl_import_line(report, &k, now);
            imported++;
        }
    }
out:
    free(keys);
    sg_secure_free(list, list_cap);
    sg_secure_free(dnskeys, dk_cap);
    if (n_out)
        *n_out = imported;
    return rc;
}

int ctl_import_pdns(sg_keystore *ks, const char *zone, const char *config_dir,
                    const char *pdnsutil, int64_t now, FILE *report, int *n_out)
{
    char zn[SG_KS_ZONE_MAX];
    if (!ks || !zone || sg_ks_zone_normalize(zone, zn))
        return SG_EINVAL;
    char cfg[4200] = "", id[16];
    if (config_dir)
        snprintf(cfg, sizeof cfg, "--config-dir=%s", config_dir);
    char *argv[8];
    int a = 0;
    argv[a++] = (char *)(pdnsutil ? pdnsutil : "pdnsutil");
    if (config_dir)
        argv[a++] = cfg;
    int cmd = a;
    argv[a++] = "list-keys";
    argv[a++] = zn;
    argv[a] = NULL;
    char *list = NULL;
    size_t list_cap = 0;
    int rc = run_capture(argv, &list, &list_cap);
    if (rc)
        return rc;
    sg_ks_pdns_key *keys = NULL;
    size_t n = 0;
    int imported = 0;
    if ((rc = sg_ks_pdns_list_parse(list, zn, &keys, &n)))
        goto out;
    if (n == 0) {
        fprintf(stderr, "signetctl: pdnsutil lists no key of %s\n", zn);
        rc = SG_ENOTFOUND;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        char *dnskey = NULL, *priv = NULL;
        size_t dk_cap = 0, pv_cap = 0;
        snprintf(id, sizeof id, "%u", keys[i].id);
        argv[cmd] = "export-zone-dnskey";
        argv[cmd + 1] = zn;
        argv[cmd + 2] = id;
        argv[cmd + 3] = NULL;
        if (!(rc = run_capture(argv, &dnskey, &dk_cap))) {
            argv[cmd] = "export-zone-key";
            rc = run_capture(argv, &priv, &pv_cap);
        }
        sg_ks_import_times t;
        sg_ks_pdns_times(&keys[i], now, &t);
        sg_ks_key k;
        if (!rc && (rc = sg_ks_key_import_bind_text(ks, zn, dnskey, priv, (int)keys[i].role, &t,
                                                    "PowerDNS", now, &k)) == 0) {
            ctl_import_line(report, &k, now);
            imported++;
        } else if (rc) {
            char what[64];
            snprintf(what, sizeof what, "PowerDNS key %u (tag %u)", keys[i].id, keys[i].tag);
            fail(ks, rc, what);
        }
        sg_secure_free(dnskey, dk_cap);
        sg_secure_free(priv, pv_cap);
    }
out:
    free(keys);
    sg_secure_free(list, list_cap);
    if (n_out)
        *n_out = imported;
    return rc;
}
