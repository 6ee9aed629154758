/* SPDX-License-Identifier: MIT */
/* signetctl ds status: the DS set the parent should have, and what the registrar and the
 * parent last did about it, as recorded in the keystore's events by signetd. */
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

#define RECENT 12   /* registrar and parent events shown */

static int is_reg_event(const sg_ks_event *e)
{
    return !strncmp(e->new_state, "reg-", 4) || !strncmp(e->new_state, "parent-", 7);
}

static void json_event(const sg_ks_event *e)
{
    printf("{\"time\":");
    json_time(stdout, e->time);
    printf(",\"state\":");
    json_str(stdout, e->new_state);
    printf(",\"reason\":");
    json_str(stdout, e->reason);
    printf("}");
}

static void text_event(const char *label, const sg_ks_event *e)
{
    char t[64];
    ctl_fmt_time(e->time, t, sizeof t);
    printf("%-10s %s  %-12s %s\n", label, t, e->new_state, e->reason);
}

int cmd_ds_status(ctl *c, int argc, char **argv)
{
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("ds status ", argc, argv, NULL, 0, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl ds status ZONE\n"
               "The DS set the parent should have (from the keystore), the registrar's last\n"
               "outcome and the parent's last check, as signetd recorded them in the events.\n");
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage("ds status ", "ds status needs one ZONE");
    char zone[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage("ds status ", "bad zone name '%s'", pos[0]);
    if ((rc = ctl_open(c)))
        return rc;
    sg_ks_zone z;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t nk = 0;
    uint8_t digest = 0;
    int err = sg_ks_zone_get(c->ks, zone, &z);
    if (!err)
        err = sg_ks_policy_get(c->ks, z.policy, &p);
    if (!err)
        err = sg_ks_ds_set(c->ks, zone, c->now, &keys, &nk, &digest);
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    sg_ks_event *ev = NULL;
    size_t ne = 0;
    if ((err = sg_ks_event_list(c->ks, zone, &ev, &ne))) {
        free(keys);
        return ctl_fail(c, err, "events of %s", zone);
    }
    /* the last registrar outcome and the last parent check */
    const sg_ks_event *last_reg = NULL, *last_parent = NULL;
    size_t nreg = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!is_reg_event(&ev[i]))
            continue;
        nreg++;
        if (!strncmp(ev[i].new_state, "parent-", 7) && strcmp(ev[i].new_state, "parent-query"))
            last_parent = &ev[i];
        else if (!strcmp(ev[i].new_state, "reg-ok") || !strcmp(ev[i].new_state, "reg-retry") ||
                 !strcmp(ev[i].new_state, "reg-error") || !strcmp(ev[i].new_state, "reg-manual"))
            last_reg = &ev[i];
    }
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, zone);
        printf(",\"state\":");
        json_str(stdout, z.state);
        printf(",\"desired\":[");
        for (size_t i = 0; i < nk; i++) {
            char line[512] = "";
            sg_ks_key_ds_text(&keys[i], p.parent_ds_ttl, digest, "DS", line, sizeof line);
            printf("%s{\"key\":%lld,\"tag\":%u,\"record\":", i ? "," : "", (long long)keys[i].id,
                   keys[i].tag);
            json_str(stdout, line);
            printf(",\"ds_submitted\":");
            json_time(stdout, keys[i].ds_submitted);
            printf(",\"ds_seen\":");
            json_time(stdout, keys[i].ds_seen);
            printf("}");
        }
        printf("],\"registrar\":");
        if (last_reg)
            json_event(last_reg);
        else
            printf("null");
        printf(",\"parent\":");
        if (last_parent)
            json_event(last_parent);
        else
            printf("null");
        printf(",\"events\":[");
        size_t shown = 0, seen = 0, skip = nreg > RECENT ? nreg - RECENT : 0;
        for (size_t i = 0; i < ne; i++) {
            if (!is_reg_event(&ev[i]) || seen++ < skip)
                continue;
            if (shown++)
                printf(",");
            json_event(&ev[i]);
        }
        printf("]}\n");
    } else {
        printf("zone %s (state %s)\n", zone, z.state[0] ? z.state : "-");
        if (nk == 0)
            printf("keystore   no DS for the parent yet%s\n",
                   !strncmp(z.state, "unsigning", 9) ? " (unsigning: the parent should have none)" : "");
        for (size_t i = 0; i < nk; i++) {
            char line[512] = "";
            sg_ks_key_ds_text(&keys[i], p.parent_ds_ttl, digest, "DS", line, sizeof line);
            printf("keystore   %s  (key %lld, %s)\n", line, (long long)keys[i].id,
                   keys[i].ds_seen ? "seen at the parent" : "waiting for the parent");
        }
        if (last_reg)
            text_event("registrar", last_reg);
        else
            printf("registrar  no push recorded (no registrar configured, or signetd has not run)\n");
        if (last_parent)
            text_event("parent", last_parent);
        else
            printf("parent     no check recorded\n");
        if (nreg)
            printf("recent:\n");
        size_t skip = nreg > RECENT ? nreg - RECENT : 0, seen = 0;
        for (size_t i = 0; i < ne; i++)
            if (is_reg_event(&ev[i]) && seen++ >= skip)
                text_event("", &ev[i]);
    }
    free(ev);
    free(keys);
    return CTL_OK;
}
