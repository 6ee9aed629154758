/* SPDX-License-Identifier: MIT */
/* signetctl ksr / skr: the offline KSK's key signing requests and signed key responses. */
#include "ctl/ctl.h"

#include "common/errors.h"
#include "keystore/skr.h"
#include "signer/offline_ksk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *ksr_help =
    "usage: signetctl ksr generate ZONE [--from TIME] --to TIME [--out FILE]\n"
    "                 online: plan ZONE's ZSKs from --from (default now) to --to and write\n"
    "                 the key signing request: per time slot, the ZSK DNSKEYs published.\n"
    "                 From then on the zone's keys follow this plan (no rollover engine).\n"
    "       signetctl ksr sign ZONE FILE|- [--out FILE]\n"
    "                 offline (the keystore holding the KSK): sign each slot's DNSKEY RRset\n"
    "                 (its KSKs + the requested ZSKs) and CDS/CDNSKEY; writes the signed\n"
    "                 key response.\n"
    "  TIME: now, now+30d, +2h, @EPOCH, 2026-01-31T12:00:00Z, 20260131120000.\n"
    "  See docs/key-custody.md (Offline KSK).\n";

static const char *skr_help =
    "usage: signetctl skr import ZONE FILE|-\n"
    "                 online: check every signature of the signed key response against the\n"
    "                 KSK held here (public-only: key import --public) and that each slot is\n"
    "                 the one requested, then store the bundles (all or none)\n"
    "       signetctl skr status ZONE [--warn DUR]\n"
    "                 the slots and which have their signed bundle; exit 1 when the bundles\n"
    "                 run out within --warn (default 14d) or a slot lacks one\n";

/* The whole of path ("-": stdin) as a NUL-terminated string, at most 64 MiB. */
static char *read_all(const char *path, char *why, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, sz = 65536;
    char *buf = malloc(sz);
    while (buf) {
        size_t n = fread(buf + len, 1, sz - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == sz) {
            if (sz >= 64u << 20) {
                snprintf(why, cap, "%s: larger than 64 MiB", path);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, sz * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            sz *= 2;
        }
    }
    if (buf && ferror(f)) {
        snprintf(why, cap, "%s: read failed", path);
        free(buf);
        buf = NULL;
    } else if (!buf && !*why) {
        snprintf(why, cap, "out of memory");
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static int write_out(const ctl *c, const char *path, const char *text)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f)
        return ctl_fail(c, SG_EIO, "%s: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    if (path)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    return bad ? ctl_fail(c, SG_EIO, "%s: write failed", path ? path : "stdout") : CTL_OK;
}

int cmd_ksr(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "from", 1, 0, 0 }, { "to", 1, 0, 0 }, { "out", 1, 0, 0 } };
    char *pos[3];
    int npos, help_wanted;
    int rc = ctl_parse("ksr ", argc, argv, o, 3, pos, 3, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        fputs(ksr_help, stdout);
        return CTL_OK;
    }
    char why[512] = "";
    char *out = NULL;
    if (npos == 2 && !strcmp(pos[0], "generate")) {
        int64_t from = c->now, to = 0;
        if (o[0].set && ctl_parse_time(o[0].val, c->now, &from))
            return ctl_usage("ksr ", "bad --from '%s'", o[0].val);
        if (!o[1].set || ctl_parse_time(o[1].val, c->now, &to) || to <= from)
            return ctl_usage("ksr ", "ksr generate needs --to TIME after --from");
        if ((rc = ctl_open(c)) != CTL_OK)
            return rc;
        if ((rc = sg_ksr_generate(c->ks, pos[1], from, to, c->now, &out, why, sizeof why)))
            return ctl_fail(c, rc, "key signing request for %s: %s", pos[1], why);
    } else if (npos == 3 && !strcmp(pos[0], "sign")) {
        if (o[0].set || o[1].set)
            return ctl_usage("ksr ", "--from and --to are for 'ksr generate'");
        char *in = read_all(pos[2], why, sizeof why);
        if (!in)
            return ctl_fail(c, SG_EIO, "%s", why);
        if ((rc = ctl_open(c)) != CTL_OK) {
            free(in);
            return rc;
        }
        rc = sg_ksr_sign(c->ks, pos[1], in, &out, why, sizeof why);
        free(in);
        if (rc)
            return ctl_fail(c, rc, "signing %s: %s", pos[2], why);
    } else {
        return ctl_usage("ksr ", "say 'generate ZONE --to TIME' or 'sign ZONE FILE'");
    }
    rc = write_out(c, o[2].set ? o[2].val : NULL, out);
    free(out);
    return rc;
}

static int skr_status(ctl *c, const char *zone, int64_t warn)
{
    sg_ks_skr_slot *l = NULL;
    size_t n = 0;
    int rc = sg_ks_skr_list(c->ks, zone, 0, &l, &n);
    if (rc)
        return ctl_fail(c, rc, "slots of %s", zone);
    if (n == 0) {
        printf("%s: no key signing request (not an offline-KSK zone)\n", zone);
        sg_ks_skr_list_free(l, n);
        return CTL_OK;
    }
    int64_t until = 0;
    int gaps = 0, current = 0;
    printf("%-20s  %-20s  %s\n", "from", "to", "bundle");
    for (size_t i = 0; i < n; i++) {
        char a[32], b[32];
        ctl_fmt_time(l[i].from, a, sizeof a);
        ctl_fmt_time(l[i].to, b, sizeof b);
        int now_in = l[i].from <= c->now && c->now < l[i].to;
        printf("%-20s  %-20s  %s%s\n", a, b, l[i].imported ? "signed" : "MISSING",
               now_in ? "  <- now" : "");
        if (l[i].imported)
            until = l[i].to;
        else if (l[i].to > c->now)
            gaps = 1;
        current |= now_in && l[i].imported;
    }
    sg_ks_skr_list_free(l, n);
    char u[32];
    ctl_fmt_time(until, u, sizeof u);
    printf("signed bundles until: %s\n", until ? u : "none imported");
    if (!until || until - c->now < warn || gaps || !current) {
        printf("WARNING: %s\n", !until ? "no signed key response imported"
                              : until <= c->now ? "the signed bundles have run out: the last one is served "
                                                  "until its signatures expire"
                              : gaps ? "a slot still to come has no signed bundle"
                              : !current ? "no signed bundle for the current slot"
                                         : "the signed bundles run out soon: generate, sign and "
                                           "import the next key signing request");
        return CTL_ERR;
    }
    return CTL_OK;
}

int cmd_skr(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "warn", 1, 0, 0 } };
    char *pos[3];
    int npos, help_wanted;
    int rc = ctl_parse("skr ", argc, argv, o, 1, pos, 3, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        fputs(skr_help, stdout);
        return CTL_OK;
    }
    char zone[SG_KS_ZONE_MAX];
    if (npos < 2 || sg_ks_zone_normalize(pos[1], zone))
        return ctl_usage("skr ", "say 'import ZONE FILE' or 'status ZONE'");
    if (npos == 2 && !strcmp(pos[0], "status")) {
        uint32_t warn = 14 * 86400;
        if (o[0].set && ctl_parse_duration(o[0].val, &warn))
            return ctl_usage("skr ", "bad --warn '%s'", o[0].val);
        if ((rc = ctl_open(c)) != CTL_OK)
            return rc;
        return skr_status(c, zone, warn);
    }
    if (npos != 3 || strcmp(pos[0], "import") || o[0].set)
        return ctl_usage("skr ", "say 'import ZONE FILE' or 'status ZONE'");
    char why[512] = "";
    char *in = read_all(pos[2], why, sizeof why);
    if (!in)
        return ctl_fail(c, SG_EIO, "%s", why);
    if ((rc = ctl_open(c)) != CTL_OK) {
        free(in);
        return rc;
    }
    size_t n = 0;
    rc = sg_skr_import(c->ks, zone, in, c->now, &n, why, sizeof why);
    free(in);
    if (rc)
        return ctl_fail(c, rc, "signed key response %s refused, nothing stored: %s", pos[2], why);
    int64_t until = 0;
    sg_ks_skr_valid_until(c->ks, zone, c->now, &until, NULL);
    char u[32];
    ctl_fmt_time(until, u, sizeof u);
    printf("%s: %zu signed bundles imported; signed until %s\n", zone, n, u);
    return CTL_OK;
}
