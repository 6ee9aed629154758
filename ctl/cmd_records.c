/* SPDX-License-Identifier: MIT */
/* signetctl ds and dnskey: the records to give the parent and the zone's DNSKEY RRset. */
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

static int in_dnskey_rrset(enum sg_ks_key_state s)
{
    return s == SG_KS_PUBLISHED || s == SG_KS_READY || s == SG_KS_ACTIVE || s == SG_KS_RETIRED;
}

static int load(ctl *c, const char *zone, sg_ks_policy *p, sg_ks_key **keys, size_t *n)
{
    int rc = ctl_open(c);
    if (rc)
        return rc;
    sg_ks_zone z;
    int r = sg_ks_zone_get(c->ks, zone, &z);
    if (!r)
        r = sg_ks_policy_get(c->ks, z.policy, p);
    if (!r)
        r = sg_ks_key_list(c->ks, z.name, keys, n);
    return r ? ctl_fail(c, r, "zone %s", zone) : CTL_OK;
}

static void emit(ctl *c, int *first, const sg_ks_key *k, const char *line)
{
    if (!c->json) {
        printf("%s\n", line);
        return;
    }
    printf("%s{\"key\":%lld,\"tag\":%u,\"state\":\"%s\",\"record\":", *first ? "" : ",",
           (long long)k->id, k->tag, sg_ks_state_name(k->state));
    json_str(stdout, line);
    printf("}");
    *first = 0;
}

int cmd_ds_status(ctl *c, int argc, char **argv); /* ctl/cmd_registrar.c */
int cmd_ds_check(ctl *c, int argc, char **argv);  /* ctl/cmd_registrar.c */

int cmd_ds(ctl *c, int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "status"))
        return cmd_ds_status(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "push"))
        return cmd_ds_push(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "seen"))
        return cmd_ds_seen(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "check"))
        return cmd_ds_check(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "gone"))
        return cmd_ds_gone(c, argc - 1, argv + 1);
    ctl_opt o[] = { { "digest", 1, 0, 0 }, { "cds", 0, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("ds ", argc, argv, o, 2, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl ds ZONE [--digest sha256|sha384] [--cds]\n"
               "The DS records (CDS with --cds) of the zone's KSKs and CSKs that are not\n"
               "removed; the digest defaults to the zone policy's.\n");
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("ds ", "ds needs one ZONE");
    uint8_t digest = 0;
    if (o[0].set && sg_ks_digest_parse(o[0].val, &digest))
        return ctl_usage("ds ", "--digest is sha256 or sha384, not '%s'", o[0].val);
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if ((rc = load(c, pos[0], &p, &keys, &n)) != 0)
        return rc;
    if (!digest)
        digest = p.ds_digest;
    int first = 1;
    if (c->json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        if (keys[i].role == SG_KS_ROLE_ZSK || keys[i].state == SG_KS_REMOVED)
            continue;
        char line[512];
        /* The DS TTL is the parent's to choose; we print the one the policy expects. */
        if (sg_ks_key_ds_text(&keys[i], p.parent_ds_ttl, digest, o[1].set ? "CDS" : "DS", line,
                              sizeof line) == 0)
            emit(c, &first, &keys[i], line);
    }
    if (c->json)
        printf("]\n");
    free(keys);
    return CTL_OK;
}

int cmd_dnskey(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "cdnskey", 0, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("dnskey ", argc, argv, o, 1, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl dnskey ZONE [--cdnskey]\n"
               "The zone's DNSKEY RRset: keys that are published, ready, active or retired.\n"
               "With --cdnskey, the CDNSKEY records of those that are KSKs or CSKs.\n");
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("dnskey ", "dnskey needs one ZONE");
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if ((rc = load(c, pos[0], &p, &keys, &n)) != 0)
        return rc;
    int first = 1;
    if (c->json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        if (!in_dnskey_rrset(keys[i].state) || (o[0].set && keys[i].role == SG_KS_ROLE_ZSK))
            continue;
        char line[2048];
        if (sg_ks_key_dnskey_text(&keys[i], p.dnskey_ttl, o[0].set ? "CDNSKEY" : "DNSKEY", line,
                                  sizeof line) == 0)
            emit(c, &first, &keys[i], line);
    }
    if (c->json)
        printf("]\n");
    free(keys);
    return CTL_OK;
}
