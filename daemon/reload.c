/* SPDX-License-Identifier: MIT */
/* Reloading: a new runtime is built beside the running one and swapped in, for SIGHUP and
 * for the control socket's `reload [ZONE]`. */
#include "common/mem.h"
#include "daemon/daemon.h"
#include "common/cookie.h"
#include "common/log.h"
#include "common/name.h"
#include "zones/zonedb.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int serves(const sg_runtime *rt, const char *zone)
{
    uint8_t w[SG_NAME_MAX];
    if (sg_name_from_str(zone, (const uint8_t *)"", w))
        return 0;
    sg_name_lower(w);
    for (int b = 0; b < rt->nblocks; b++)
        for (int z = 0; z < rt->blocks[b].nzones; z++)
            if (sg_name_eq(rt->blocks[b].zones[z], w))
                return 1;
    return 0;
}

static int swap_in(sg_daemon *d, sg_runtime *nrt)
{
    int n;
    const sg_listen_addr *addrs = sg_server_addrs(d->srv, &n);
    for (int t = 0; t < nrt->ntables; t++) {
        int bound = 0;
        for (int i = 0; i < n; i++)
            if (addrs[i].len == nrt->tables[t].addr.len &&
                !memcmp(&addrs[i].ss, &nrt->tables[t].addr.ss, addrs[i].len))
                bound = 1;
        if (!bound)
            sg_log(SG_LOG_WARN, "signetd", NULL, "%s is not listened on; a new address needs a restart",
                   nrt->tables[t].addr.text);
    }
    int rc;
    if ((rc = sg_runtime_map_sockets(nrt, addrs, n)) || (rc = sg_runtime_start(nrt))) {
        sg_runtime_free(nrt);
        return rc;
    }
    sg_runtime *old = sg_server_swap(d->srv, nrt);
    d->rt = nrt;
    sg_runtime_free(old);
    return 0;
}

int sg_daemon_reload(sg_daemon *d, const char *zone, char *err, size_t cap)
{
    pthread_mutex_lock(&d->lock);
    if (zone && !serves(d->rt, zone)) {
        snprintf(err, cap, "zone %s is not served", zone);
        pthread_mutex_unlock(&d->lock);
        return SG_ENOTFOUND;
    }
    char mono[64];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(mono, sizeof mono, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    sg_notify(mono);
    /* logged as every zone is, with its final dot, whatever the client typed */
    char zname[1024] = "";
    uint8_t zwire[SG_NAME_MAX];
    if (zone && sg_name_from_str(zone, (const uint8_t *)"", zwire) == 0) {
        sg_name_lower(zwire);
        sg_name_to_str(zwire, zname, sizeof zname);
    }
    sg_log(SG_LOG_INFO, "signetd", zone ? (zname[0] ? zname : zone) : NULL, "reloading %s%s",
           zone ? "the zone file" : d->cfg_path, zone ? " (configuration kept)" : "");

    sg_log_capture_begin(err, cap);
    sg_zonedb_set_only(zone);
    sg_runtime *nrt = NULL;
    int rc;
    if (zone) {
        /* only that zone's file is read again: the running configuration is built again
         * from a copy, so that edits to the config file wait for a full reload (as
         * knotc zone-reload), and a config being edited cannot fail a zone reload */
        sg_cfg *copy = sg_cfg_dup(d->rt->cfg);
        rc = copy ? sg_runtime_build_cfg(copy, 0, &nrt) : SG_ENOMEM;
    } else {
        rc = sg_runtime_build(d->cfg_path, 0, &nrt);
    }
    sg_zonedb_set_only(NULL);
    if (rc)
        sg_log(SG_LOG_ERR, "signetd", NULL, "reload failed (%s); the running configuration stays",
               sg_strerror(rc));
    else if ((rc = swap_in(d, nrt)))
        sg_log(SG_LOG_ERR, "signetd", NULL, "reload failed (%s); the running configuration stays",
               sg_strerror(rc));
    else if (!zone)
        sg_cookie_set_secret(d->rt->opt.proc.cookie_secret);
    int errors = sg_log_capture_end();
    if (!rc && errors)
        rc = SG_ESYNTAX; /* applied, but something (a zone file) kept its old version */
    if (rc)
        d->reload_failures++;
    else
        d->reloads++;
    d->last_reload = time(NULL);
    sg_log(SG_LOG_INFO, "signetd", zone ? (zname[0] ? zname : zone) : NULL, "%s", rc ? "reload done with errors" : "reload done");
    sg_mem_release();
    sg_notify("READY=1");
    pthread_mutex_unlock(&d->lock);
    return rc;
}
