/* SPDX-License-Identifier: MIT */
/* signetctl zone sign: the whole zone signed with its active keys, as a master file. */
#include "ctl/ctl.h"
#include "signer/zonesign.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
    printf("usage: signetctl zone sign ZONE --zonefile PATH [--out FILE]\n"
           "\n"
           "Load the zone file, sign every RRset with the zone's active keys from the\n"
           "keystore, add the DNSKEY/CDS/CDNSKEY RRsets and the full NSEC or NSEC3 chain of\n"
           "its policy (a compact-denial policy gets an NSEC chain), and write the signed\n"
           "zone as a master file to FILE (default: standard output). Signing uses every core.\n");
}

int cmd_zone_sign(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "zonefile", 1, 0, 0 }, { "out", 1, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("zone sign ", argc, argv, o, 2, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("zone sign ", "zone sign needs the zone name");
    if (!o[0].set)
        return ctl_usage("zone sign ", "--zonefile PATH is required");
    char zone[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage("zone sign ", "bad zone name '%s'", pos[0]);
    if ((rc = ctl_open(c)))
        return rc;
    sg_keyset *k = NULL;
    int err = sg_keyset_load(c->ks, zone, c->now, 0, &k);
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    /* an offline KSK's zone has no KSK here: its imported bundle signs the key RRsets */
    if (k->nzsk == 0 || (k->nksk == 0 && !k->presigned)) {
        const char *what = k->nzsk == 0 ? "zone-signing key" : "key-signing key";
        sg_keyset_free(k);
        fprintf(stderr, "signetctl: zone %s has no active %s; generate and activate one first "
                        "(signetctl key generate / key set --activate), or start signetd\n",
                zone, what);
        return CTL_ERR;
    }
    sg_zone *z = NULL;
    if ((err = sg_zone_load_file(o[0].val, zone, &z))) {
        sg_keyset_free(k);
        fprintf(stderr, "signetctl: %s: the zone file did not load (errors above)\n", o[0].val);
        return CTL_ERR;
    }
    FILE *out = stdout;
    const char *path = o[1].set ? o[1].val : "-";
    if (strcmp(path, "-") && !(out = fopen(path, "w"))) {
        fprintf(stderr, "signetctl: cannot write %s: %s\n", path, strerror(errno));
        sg_zone_free(z);
        sg_keyset_free(k);
        return CTL_ERR;
    }
    err = sg_zonesign_write(z, k, (uint32_t)c->now, out);
    if (out != stdout && fclose(out) && !err)
        err = SG_EIO;
    sg_zone_free(z);
    sg_keyset_free(k);
    if (err)
        return ctl_fail(c, err, "signing %s", zone);
    return CTL_OK;
}
