/* SPDX-License-Identifier: MIT */
/* Test driver (built only with the tests): runs sg_reg_tick for one zone once every
 * 200 ms, as signetd's keystore watcher will, until a condition holds or time runs out. */
#include "registrar/tick.h"

#include "common/log.h"
#include "keystore/rollover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const sg_cfg_block *find_registrar(const sg_cfg_block *b)
{
    if (b->name && !strcmp(b->name, "registrar"))
        return b;
    for (int i = 0; i < b->nchildren; i++) {
        const sg_cfg_block *r = find_registrar(&b->children[i]);
        if (r)
            return r;
    }
    return NULL;
}

/* seen: every key of the DS set is seen; gone: the parent's DS recorded as gone; synced:
 * the registrar has the desired set and no call is running. */
static int done(sg_registrar *r, sg_keystore *ks, const char *zone, const char *until, int64_t now)
{
    if (!strcmp(until, "gone")) {
        sg_ks_zone z;
        return !sg_ks_zone_get(ks, zone, &z) && !strncmp(z.state, SG_ROLL_STATE_DS_GONE,
                                                         strlen(SG_ROLL_STATE_DS_GONE));
    }
    if (!strcmp(until, "synced")) {
        char zn[SG_KS_ZONE_MAX];
        if (sg_ks_zone_normalize(zone, zn))
            return 0;
        for (sg_reg_zstate *z = r->zones; z; z = z->next)
            if (!strcmp(z->zone, zn))
                return !r->job && z->want_fp && z->want_fp == z->pushed_fp;
        return 0;
    }
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if (sg_ks_ds_set(ks, zone, now, &keys, &n, NULL))
        return 0;
    int all = n > 0;
    for (size_t i = 0; i < n; i++)
        all &= keys[i].ds_seen != 0;
    free(keys);
    return all;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: reg_driver DB ZONE COREFILE seen|gone|synced SECONDS [roll]\n");
        return 2;
    }
    const char *db = argv[1], *zone = argv[2], *until = argv[4];
    int secs = atoi(argv[5]), roll = argc > 6 && !strcmp(argv[6], "roll");
    sg_log_set_level(SG_LOG_DEBUG);
    sg_cfg *cfg;
    if (sg_cfg_parse_file(argv[3], &cfg))
        return 2;
    const sg_cfg_block *blk = NULL;
    for (int i = 0; i < cfg->nservers && !blk; i++)
        blk = find_registrar(&cfg->servers[i]);
    sg_reg_cfg rc;
    if (!blk || sg_reg_parse(blk, &rc)) {
        fprintf(stderr, "reg_driver: no usable registrar block\n");
        return 2;
    }
    sg_cfg_free(cfg);
    sg_registrar *r;
    int e = sg_reg_new(&rc, &r);
    if (e) {
        fprintf(stderr, "reg_driver: %s\n", sg_strerror(e));
        return 3;
    }
    sg_keystore *ks;
    if ((e = sg_ks_new(db, "daemon", &ks))) {
        fprintf(stderr, "reg_driver: keystore: %s\n", sg_strerror(e));
        return 2;
    }
    time_t end = time(NULL) + secs;
    int ok = 0;
    while (time(NULL) < end) {
        int64_t now = (int64_t)time(NULL);
        if (roll && (e = sg_roll_step(ks, zone, NULL, now, NULL)))
            fprintf(stderr, "reg_driver: roll: %s\n", sg_strerror(e));
        if ((e = sg_reg_tick(r, ks, zone, now)))
            fprintf(stderr, "reg_driver: tick: %s\n", sg_strerror(e));
        if (done(r, ks, zone, until, now)) {
            ok = 1;
            break;
        }
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    sg_reg_drain(r);
    sg_reg_tick(r, ks, zone, (int64_t)time(NULL)); /* write what the last call journalled */
    sg_reg_free(r);
    sg_ks_free(ks);
    printf("%s\n", ok ? "done" : "timeout");
    return ok ? 0 : 1;
}
