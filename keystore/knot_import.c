/* SPDX-License-Identifier: MIT */
/* Reading what Knot DNS knows of its keys: `keymgr ZONE list` lines, and its timers as
 * Signet's timing points (the PEM itself is imported by pem_import.c). */
#include "keystore/keystore.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Unix seconds, or ISO 8601 ("2026-12-07T12:00:31Z", "+0100", "+01:00"). -1: malformed. */
static int64_t knot_time(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end)
        return v;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    const char *z = s + n;
    if (*z == '+' || *z == '-') {
        int hh = 0, mm = 0;
        if (sscanf(z + 1, "%2d:%2d", &hh, &mm) < 1 && sscanf(z + 1, "%2d%2d", &hh, &mm) < 1)
            return -1;
        t -= (*z == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
    } else if (*z && strcmp(z, "Z") != 0) {
        return -1;
    }
    return t;
}

/* One token of a list line into k; 0 or SG_ESYNTAX. */
static int knot_token(char *tok, sg_ks_knot_key *k)
{
    char *eq = strchr(tok, '=');
    if (!eq) { /* the plain `list`: TAG KSK|ZSK ALGORITHM [public-only] */
        uint8_t alg;
        if (isdigit((unsigned char)tok[0]) && strlen(tok) <= 5)
            k->tag = (uint16_t)strtoul(tok, NULL, 10);
        else if (!strcasecmp(tok, "KSK"))
            k->ksk = 1;
        else if (!strcasecmp(tok, "ZSK"))
            k->zsk = 1;
        else if (!strcasecmp(tok, "CSK"))
            k->ksk = k->zsk = 1;
        else if (!strcasecmp(tok, "public-only"))
            k->public_only = 1;
        else if (!sg_ks_alg_parse(tok, &alg))
            k->algorithm = alg;
        else
            return SG_ESYNTAX;
        return 0;
    }
    *eq = 0;
    const char *name = tok, *val = eq + 1;
    int yes = !strcasecmp(val, "yes");
    static const struct { const char *name; size_t off; } timers[] = {
        { "created", offsetof(sg_ks_knot_key, created) },
        { "pre-active", offsetof(sg_ks_knot_key, pre_active) },
        { "publish", offsetof(sg_ks_knot_key, publish) },
        { "ready", offsetof(sg_ks_knot_key, ready) },
        { "active", offsetof(sg_ks_knot_key, active) },
        { "retire-active", offsetof(sg_ks_knot_key, retire_active) },
        { "retire", offsetof(sg_ks_knot_key, retire) },
        { "post-active", offsetof(sg_ks_knot_key, post_active) },
        { "revoke", offsetof(sg_ks_knot_key, revoke) },
        { "remove", offsetof(sg_ks_knot_key, remove) },
    };
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (!strcmp(name, timers[i].name)) {
            int64_t t = knot_time(val);
            if (t < 0)
                return SG_ESYNTAX;
            *(int64_t *)((char *)k + timers[i].off) = t;
            return 0;
        }
    if (!strcmp(name, "ksk"))
        k->ksk = yes;
    else if (!strcmp(name, "zsk"))
        k->zsk = yes;
    else if (!strcmp(name, "public-only"))
        k->public_only = yes;
    else if (!strcmp(name, "tag"))
        k->tag = (uint16_t)strtoul(val, NULL, 10); /* "05210": decimal, zero-padded */
    else if (!strcmp(name, "algorithm"))
        return sg_ks_alg_parse(val, &k->algorithm) ? SG_ESYNTAX : 0;
    /* size= and names a later keymgr adds are not needed */
    return 0;
}

int sg_ks_knot_list_parse(const char *text, sg_ks_knot_key **keys_out, size_t *n_out)
{
    if (!text || !keys_out || !n_out)
        return SG_EINVAL;
    *keys_out = NULL;
    *n_out = 0;
    char *copy = strdup(text);
    if (!copy)
        return SG_ENOMEM;
    sg_ks_knot_key *v = NULL;
    size_t n = 0;
    int rc = 0;
    char *save;
    for (char *l = strtok_r(copy, "\r\n", &save); l && !rc; l = strtok_r(NULL, "\r\n", &save)) {
        char *ts, *tok = strtok_r(l, " \t", &ts);
        if (!tok)
            continue;
        sg_ks_knot_key k;
        memset(&k, 0, sizeof k);
        /* a key id is hex (40 digits in Knot 3) */
        size_t il = strspn(tok, "0123456789abcdefABCDEF");
        if (il < 8 || tok[il] || il >= sizeof k.id) {
            rc = SG_ESYNTAX;
            break;
        }
        snprintf(k.id, sizeof k.id, "%s", tok);
        while (!rc && (tok = strtok_r(NULL, " \t", &ts)))
            rc = knot_token(tok, &k);
        if (rc)
            break;
        if (!k.algorithm || (!k.ksk && !k.zsk)) {
            rc = SG_ESYNTAX;
            break;
        }
        sg_ks_knot_key *nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv) {
            rc = SG_ENOMEM;
            break;
        }
        v = nv;
        v[n++] = k;
    }
    free(copy);
    if (rc) {
        free(v);
        return rc;
    }
    *keys_out = v;
    *n_out = n;
    return 0;
}

void sg_ks_knot_times(const sg_ks_knot_key *k, sg_ks_import_times *t)
{
    memset(t, 0, sizeof *t);
    t->publish = k->publish;
    /* a KSK signs the DNSKEY RRset from ready on (Knot's "active" for it means the
     * submission was confirmed); pre-active: an algorithm rollover's key that signs first */
    t->active = k->ksk && k->ready ? k->ready : k->active;
    if (k->pre_active && (!t->active || k->pre_active < t->active))
        t->active = k->pre_active;
    t->retire = k->retire ? k->retire : k->retire_active;
    t->remove = k->remove;
    if (k->ksk && k->ready) {
        t->ds_submitted = k->ready;
        if (k->active > k->ready)
            t->ds_seen = k->active;
        if (k->retire_active && t->ds_seen)
            t->ds_withdrawn = k->retire_active;
    }
    t->known = t->publish || t->active || t->retire || t->remove;
}
