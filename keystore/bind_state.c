/* SPDX-License-Identifier: MIT */
/* Reading BIND 9's key state file (K*.state, dnssec-policy): where named had the key. */
#include "keystore/keystore.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* "YYYYMMDDHHMMSS" (UTC, a comment may follow) to Unix time; 0 when absent or malformed. */
static int64_t state_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

enum { F_PUBLISHED, F_ACTIVE, F_RETIRED, F_REMOVED, F_DSPUBLISH, F_DSREMOVED, F_DSCHANGE,
       F_PUBLISHCDS, F_DSSTATE, F_KSK, F_ZSK, F_ALGORITHM, F_N };
static const char *const fields[F_N] = { "Published", "Active", "Retired", "Removed",
                                         "DSPublish", "DSRemoved", "DSChange", "PublishCDS",
                                         "DSState", "KSK", "ZSK", "Algorithm" };

int sg_ks_bind_state_parse(char *text, sg_ks_import_times *t, enum sg_ks_role *role_out)
{
    if (!text || !t)
        return SG_EINVAL;
    const char *v[F_N] = { 0 };
    char *save;
    for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (*l == ';')
            continue;
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = 0;
        char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        for (int i = 0; i < F_N; i++)
            if (!strcasecmp(l, fields[i]))
                v[i] = val;
    }
    /* a state file always says what the key is for */
    if (!v[F_ALGORITHM] || !v[F_KSK] || !v[F_ZSK])
        return SG_ESYNTAX;
    memset(t, 0, sizeof *t);
    t->publish = state_time(v[F_PUBLISHED]);
    t->active = state_time(v[F_ACTIVE]);
    t->retire = state_time(v[F_RETIRED]);
    t->remove = state_time(v[F_REMOVED]);
    int ksk = !strncasecmp(v[F_KSK], "yes", 3), zsk = !strncasecmp(v[F_ZSK], "yes", 3);
    if (role_out)
        *role_out = ksk && zsk ? SG_KS_ROLE_CSK : ksk ? SG_KS_ROLE_KSK : SG_KS_ROLE_ZSK;
    if (ksk && v[F_DSSTATE]) {
        const char *ds = v[F_DSSTATE];
        int64_t pub = state_time(v[F_DSPUBLISH]), change = state_time(v[F_DSCHANGE]);
        int64_t removed = state_time(v[F_DSREMOVED]), cds = state_time(v[F_PUBLISHCDS]);
        /* when the DS went in: checkds's DSPublish, else the last DS state change */
        int64_t in = pub ? pub : change ? change : t->active ? t->active : t->publish;
        if (!strncasecmp(ds, "omnipresent", 11)) {
            t->ds_submitted = t->ds_seen = in;
        } else if (!strncasecmp(ds, "rumoured", 8)) {
            /* submitted (CDS published), not yet seen at the parent */
            t->ds_submitted = change ? change : cds ? cds : in;
        } else if (!strncasecmp(ds, "unretentive", 11)) {
            t->ds_submitted = t->ds_seen = in;
            t->ds_withdrawn = removed ? removed : change ? change : in;
        } else if (removed && pub) { /* hidden again after it was there */
            t->ds_submitted = t->ds_seen = pub;
            t->ds_withdrawn = removed;
        }
    }
    t->known = t->publish || t->active || t->retire || t->remove || t->ds_submitted;
    return 0;
}
