/* SPDX-License-Identifier: MIT */
/* signetctl zone sign: the whole zone signed with its active keys, as a master file. */
#include "ctl/ctl.h"
#include "signer/zonesign.h"
#include "common/phase.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(void)
{
    printf("usage: signetctl zone sign ZONE --zonefile PATH [--out FILE] [--threads N] [--verbose]\n"
           "\n"
           "Load the zone file, sign every RRset with the zone's active keys from the\n"
           "keystore, add the DNSKEY/CDS/CDNSKEY RRsets and the full NSEC or NSEC3 chain of\n"
           "its policy (a compact-denial policy gets an NSEC chain), and write the signed\n"
           "zone as a master file to FILE (default: standard output).\n"
           "\n"
           "  --threads N  parse, sort and sign on N threads (default: one per online CPU)\n"
           "  --verbose    print each phase's wall and CPU time to standard error\n");
}

int cmd_zone_sign(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "zonefile", 1, 0, 0 }, { "out", 1, 0, 0 }, { "threads", 1, 0, 0 },
                    { "verbose", 0, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("zone sign ", argc, argv, o, 4, pos, 1, &npos, &help_wanted);
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
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (o[2].set) {
        char *end;
        errno = 0;
        threads = strtol(o[2].val, &end, 10);
        if (errno || *end || end == o[2].val || threads < 1 || threads > 64)
            return ctl_usage("zone sign ", "--threads takes a number from 1 to 64, not '%s'", o[2].val);
    }
    if (threads < 1)
        threads = 1;
    sg_phases ph = { 0 };
    sg_phases *php = o[3].set ? &ph : NULL;
    double wall0 = sg_phase_clock(CLOCK_MONOTONIC), cpu0 = sg_phase_clock(CLOCK_PROCESS_CPUTIME_ID);
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
    sg_zone_load_opts lo = { .max_size = SG_ZONE_FILE_MAX_DEFAULT, .threads = (int)threads, .phases = php };
    if ((err = sg_zone_load_file_opts(o[0].val, zone, &lo, &z))) {
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
    sg_zonesign_opts so = { .threads = (int)threads, .phases = php };
    err = sg_zonesign_write_opts(z, k, (uint32_t)c->now, &so, out);
    if (out != stdout && fclose(out) && !err)
        err = SG_EIO;
    sg_phase_end(php, "close");
    if (php) {
        double wall = sg_phase_clock(CLOCK_MONOTONIC) - wall0;
        double cpu = sg_phase_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        /* main: this thread's CPU; on a calm machine a phase takes about
         * max(main, cpu / threads) (the rest is waiting for a core) */
        fprintf(stderr, "zone sign %s: %ld threads, %zu records\n", zone, threads, z->nrecords);
        double own = 0;
        for (int i = 0; i < ph.n; i++) {
            own += ph.p[i].own;
            fprintf(stderr, "  %-11s wall %7.2f s  cpu %7.2f s  (%3.0f%% of a core)  main %7.2f s\n",
                    ph.p[i].name, ph.p[i].wall, ph.p[i].cpu,
                    ph.p[i].wall > 0 ? 100 * ph.p[i].cpu / ph.p[i].wall : 0, ph.p[i].own);
        }
        fprintf(stderr, "  %-11s wall %7.2f s  cpu %7.2f s  (%3.0f%% of a core)  main %7.2f s\n", "total",
                wall, cpu, wall > 0 ? 100 * cpu / wall : 0, own);
    }
    sg_zone_free(z);
    sg_keyset_free(k);
    if (err)
        return ctl_fail(c, err, "signing %s", zone);
    return CTL_OK;
}
