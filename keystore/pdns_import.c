/* SPDX-License-Identifier: MIT */
/* Reading what PowerDNS knows of its keys: `pdnsutil list-keys ZONE` rows (the keys themselves
 * come from export-zone-key / export-zone-dnskey, in BIND's formats: bind_import.c). */
#include "keystore/keystore.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sg_ks_pdns_list_parse(const char *text, const char *zone, sg_ks_pdns_key **keys_out,
                          size_t *n_out)
{
    if (!text || !zone || !keys_out || !n_out)
        return SG_EINVAL;
    *keys_out = NULL;
    *n_out = 0;
    char want[SG_KS_ZONE_MAX], name[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(zone, want))
        return SG_EINVAL;
    char *copy = strdup(text);
    if (!copy)
        return SG_ENOMEM;
    /* older pdnsutil has no "Pub" column: a key is then published when active */
    int has_pub = strstr(text, " Pub ") != NULL;
    sg_ks_pdns_key *v = NULL;
    size_t n = 0;
    int rc = 0;
    char *save;
    for (char *l = strtok_r(copy, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        char *tok[16], *ts;
        int nt = 0;
        for (char *t = strtok_r(l, " \t", &ts); t && nt < 16; t = strtok_r(NULL, " \t", &ts))
            tok[nt++] = t;
        if (nt < 7 || sg_ks_zone_normalize(tok[0], name) || strcmp(name, want))
            continue;
        sg_ks_pdns_key k;
        memset(&k, 0, sizeof k);
        if (!strcasecmp(tok[1], "KSK"))
            k.role = SG_KS_ROLE_KSK;
        else if (!strcasecmp(tok[1], "ZSK"))
            k.role = SG_KS_ROLE_ZSK;
        else if (!strcasecmp(tok[1], "CSK"))
            k.role = SG_KS_ROLE_CSK;
        else
            continue; /* the header */
        int i = 2, pub = -1;
        for (; i < nt; i++) {
            if (!strcasecmp(tok[i], "Act") || !strcasecmp(tok[i], "Active"))
                k.active = 1;
            else if (!strcasecmp(tok[i], "Pub") || !strcasecmp(tok[i], "Published"))
                pub = 1;
            else if (!strcasecmp(tok[i], "Unpub") || !strcasecmp(tok[i], "Unpublished"))
                pub = 0;
            else if (strcasecmp(tok[i], "Inact") && strcasecmp(tok[i], "Inactive"))
                break;
        }
        k.published = pub >= 0 ? pub : has_pub ? 0 : k.active;
        /* SIZE ALGORITHM ID LOCATION KEYTAG */
        if (nt - i < 5 || sg_ks_alg_parse(tok[i + 1], &k.algorithm))
            continue;
        k.id = (unsigned)strtoul(tok[i + 2], NULL, 10);
        k.tag = (uint16_t)strtoul(tok[i + 4], NULL, 10);
        sg_ks_pdns_key *nv = realloc(v, (n + 1) * sizeof *v);
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

void sg_ks_pdns_times(const sg_ks_pdns_key *k, int64_t now, sg_ks_import_times *t)
{
    memset(t, 0, sizeof *t);
    t->known = 1; /* "neither" is a state too: a key kept for later */
    t->publish = k->published ? now : 0;
    t->active = k->active ? now : 0;
}
