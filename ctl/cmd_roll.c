/* SPDX-License-Identifier: MIT */
/* signetctl zone roll / status / plan and ds seen: steering and watching rollovers. */
#include "ctl/ctl.h"
#include "keystore/skr.h"
#include "keystore/rollover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_fig(const ctl_opt *o, sg_roll_figures *f)
{
    memset(f, 0, sizeof *f);
    if (o && o->set) {
        uint32_t v;
        if (ctl_parse_duration(o->val, &v))
            return -1;
        f->max_ttl = v;
    }
    return 0;
}

/* Every wait the engine uses, as JSON: its length and the figure it rests on (the policy's,
 * or what was observed, and where). */
static void json_waits(const sg_ks_policy *p, const sg_roll_figures *f)
{
    sg_roll_wait w[SG_ROLL_NWAITS];
    sg_roll_waits(p, f, w);
    printf("[");
    for (int i = 0; i < SG_ROLL_NWAITS; i++) {
        printf("%s{\"wait\":\"%s\",\"seconds\":%u,\"figure\":\"%s\",\"policy\":%u,\"observed\":",
               i ? "," : "", w[i].name, w[i].seconds, w[i].figure, w[i].policy);
        if (w[i].observed)
            printf("%u", w[i].observed);
        else
            printf("null");
        printf(",\"source\":");
        if (w[i].observed)
            json_str(stdout, w[i].source);
        else
            printf("null");
        printf(",\"rests_on\":\"%s\",\"propagation\":%u}",
               w[i].observed > w[i].policy ? "observed" : "policy", w[i].propagation);
    }
    printf("]");
}

static const char *key_state(const sg_ks_key *k, int64_t now)
{
    return sg_ks_state_name(sg_ks_key_state_at(k, now));
}

static void print_event(const ctl *c, const sg_roll_event *ev, int first)
{
    char when[64];
    if (ev->action == SG_ROLL_WAIT || ev->action == SG_ROLL_NONE)
        snprintf(when, sizeof when, "-");
    else
        ctl_fmt_time(ev->when <= c->now ? c->now : ev->when, when, sizeof when);
    if (c->json) {
        printf("%s{\"action\":", first ? "" : ",");
        json_str(stdout, sg_roll_action_name(ev->action));
        printf(",\"when\":");
        if (ev->action == SG_ROLL_WAIT || ev->action == SG_ROLL_NONE)
            printf("null");
        else
            json_time(stdout, ev->when);
        printf(",\"role\":");
        json_str(stdout, sg_ks_role_name(ev->role));
        printf(",\"reason\":");
        json_str(stdout, ev->reason);
        printf("}");
    } else {
        printf("%-20s  %-20s  %s\n", when, sg_roll_action_name(ev->action), ev->reason);
    }
}

static int zone_status(ctl *c, const char *zone, const ctl_opt *max_ttl)
{
    sg_roll_figures f;
    if (parse_fig(max_ttl, &f))
        return ctl_usage("zone status ", "bad --max-ttl");
    /* the running daemon's view when it answers; the keystore's view works without it */
    char derr[512];
    json_t *dz = ctl_daemon_zone(c, zone, derr, sizeof derr);
    int rc = ctl_open(c);
    if (rc) {
        json_decref(dz);
        return rc;
    }
    sg_ks_zone z;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int err = sg_ks_zone_get(c->ks, zone, &z);
    if (!err)
        err = sg_ks_policy_get(c->ks, z.policy, &p);
    if (!err)
        err = sg_ks_key_list(c->ks, zone, &keys, &n);
    if (!err)
        err = sg_roll_figures_load(c->ks, zone, c->now, &f);
    if (err) {
        free(keys);
        json_decref(dz);
        return ctl_fail(c, err, "zone %s", zone);
    }
    sg_roll_event ev;
    /* offline KSK: the keys follow the key signing request; say how long it is signed */
    int offline = sg_ks_skr_offline(c->ks, zone) > 0, skr_gaps = 0;
    int64_t skr_until = 0;
    if (offline)
        sg_ks_skr_valid_until(c->ks, zone, c->now, &skr_until, &skr_gaps);
    if (offline) {
        memset(&ev, 0, sizeof ev);
        ev.action = SG_ROLL_NONE;
        snprintf(ev.reason, sizeof ev.reason, "offline KSK: keys follow the key signing request's "
                 "schedule (signetctl skr status)");
    } else if (!sg_roll_clock_behind(&f, c->now, &ev))
        sg_roll_next(z.state, &p, keys, n, &f, c->now, &ev);
    /* the registrar's last outcome and the parent's last check, as ds status shows them */
    sg_ks_event *evs = NULL;
    size_t ne = 0;
    const sg_ks_event *last_reg = NULL, *last_parent = NULL;
    if ((err = sg_ks_event_list(c->ks, zone, &evs, &ne))) {
        free(keys);
        return ctl_fail(c, err, "events of %s", zone);
    }
    ctl_reg_last(evs, ne, &last_reg, &last_parent);
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, z.name);
        printf(",\"policy\":");
        json_str(stdout, z.policy);
        printf(",\"keys\":[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? "," : "");
            json_key(stdout, &keys[i], 0, 0, 0);
        }
        printf("],\"next\":");
        print_event(c, &ev, 1);
        printf(",\"waiting\":");
        if (ev.wait_reason[0])
            json_str(stdout, ev.wait_reason);
        else
            printf("null");
        printf(",\"waits\":");
        json_waits(&p, &f);
        printf(",\"registrar\":");
        if (last_reg)
            ctl_reg_event_json(last_reg);
        else
            printf("null");
        printf(",\"parent\":");
        if (last_parent)
            ctl_reg_event_json(last_parent);
        else
            printf("null");
        printf(",\"offline_ksk\":");
        if (offline) {
            printf("{\"signed_until\":");
            json_time(stdout, skr_until);
            printf(",\"seconds_left\":%lld,\"gaps\":%s}", (long long)(skr_until - c->now),
                   skr_gaps ? "true" : "false");
        } else {
            printf("null");
        }
        printf(",\"daemon\":");
        if (dz)
            json_dumpf(dz, stdout, JSON_COMPACT);
        else
            printf("null");
        printf("}\n");
    } else {
        printf("zone %s, policy %s\n\n", z.name, z.policy);
        printf("%-6s %-5s %-4s %-16s %-9s %-20s %-20s %-20s %-20s %s\n", "ID", "TAG", "ROLE",
               "ALGORITHM", "STATE", "PUBLISH", "ACTIVE", "RETIRE", "REMOVE", "DS");
        for (size_t i = 0; i < n; i++) {
            const sg_ks_key *k = &keys[i];
            char t[4][64];
            ctl_fmt_time(k->publish, t[0], sizeof t[0]);
            ctl_fmt_time(k->active, t[1], sizeof t[1]);
            ctl_fmt_time(k->retire, t[2], sizeof t[2]);
            ctl_fmt_time(k->remove, t[3], sizeof t[3]);
            const char *ds = k->role == SG_KS_ROLE_ZSK ? "-" : k->ds_seen ? "seen"
                           : k->ds_submitted ? "submitted" : "not yet";
            printf("%-6lld %-5u %-4s %-16s %-9s %-20s %-20s %-20s %-20s %s\n", (long long)k->id,
                   k->tag, sg_ks_role_name(k->role), sg_ks_alg_name(k->algorithm), key_state(k, c->now),
                   t[0], t[1], t[2], t[3], ds);
        }
        if (offline) {
            char u[64];
            ctl_fmt_time(skr_until, u, sizeof u);
            printf("\noffline KSK: signed key bundles until %s%s%s\n", skr_until ? u : "- (none imported)",
                   skr_until && skr_until - c->now < SG_SKR_WARN_SECONDS ? "  WARNING: runs out soon" : "",
                   skr_gaps ? "  WARNING: a slot lacks its bundle (signetctl skr status)" : "");
        }
        printf("\nnext event:\n");
        print_event(c, &ev, 1);
        if (ev.wait_reason[0] && ev.action != SG_ROLL_WAIT)
            printf("%-20s  %-20s  %s\n", "-", "wait", ev.wait_reason);
        char waits[1024];
        sg_roll_waits_text(&p, &f, waits, sizeof waits);
        printf("\nwaits (the larger of the policy's figure and the observed one):\n%s", waits);
        if (last_reg || last_parent)
            printf("\n");
        if (last_reg)
            ctl_reg_event_text("registrar:", last_reg);
        if (last_parent)
            ctl_reg_event_text("parent:", last_parent);
        ctl_daemon_zone_text(dz, derr);
    }
    json_decref(dz);
    free(evs);
    free(keys);
    return CTL_OK;
}

static int zone_plan(ctl *c, const char *zone, const ctl_opt *until_o, const ctl_opt *max_ttl,
                     const ctl_opt *svg)
{
    sg_roll_figures f;
    if (parse_fig(max_ttl, &f))
        return ctl_usage("zone plan ", "bad --max-ttl");
    int64_t until = c->now + 365 * 86400;
    if (until_o->set && ctl_parse_time(until_o->val, c->now, &until))
        return ctl_usage("zone plan ", "bad --until time '%s'", until_o->val);
    int rc = ctl_open(c);
    if (rc)
        return rc;
    sg_roll_event *evs = NULL;
    size_t n = 0;
    int err = sg_roll_plan(c->ks, zone, &f, c->now, until, &evs, &n);
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    if (svg->set) {
        FILE *out = fopen(svg->val, "we");
        int bad = !out || ctl_plan_svg(out, zone, evs, n, c->now) != CTL_OK;
        if (out && fclose(out) != 0)
            bad = 1;
        if (bad) {
            fprintf(stderr, "signetctl: zone plan: cannot write %s: %s\n", svg->val, strerror(errno));
            free(evs);
            ctl_error_set("io");
            return CTL_ERR;
        }
    }
    if (c->json)
        printf("[");
    else
        printf("%-20s  %-20s  %s\n", "WHEN", "EVENT", "REASON");
    for (size_t i = 0; i < n; i++)
        print_event(c, &evs[i], i == 0);
    if (c->json)
        printf("]\n");
    else if (n == 0)
        printf("(no events before the end of the plan)\n");
    else
        printf("\n(the plan assumes the parent serves each DS as soon as it is submitted)\n");
    if (!c->json) {
        sg_ks_zone z;
        sg_ks_policy p;
        if (!sg_ks_zone_get(c->ks, zone, &z) && !sg_ks_policy_get(c->ks, z.policy, &p) &&
            !sg_roll_figures_load(c->ks, zone, c->now, &f)) {
            char waits[1024];
            sg_roll_waits_text(&p, &f, waits, sizeof waits);
            printf("\nthe waits it rests on:\n%s", waits);
        }
    }
    free(evs);
    return CTL_OK;
}

static int zone_roll(ctl *c, const char *zone, enum sg_ks_role role)
{
    int rc = ctl_open(c);
    if (rc)
        return rc;
    int64_t id = 0;
    int err = sg_roll_start(c->ks, zone, role, c->now, &id);
    if (err == SG_EEXIST) {
        fprintf(stderr, "signetctl: a %s rollover of %s is already under way\n", sg_ks_role_name(role), zone);
        return CTL_ERR;
    }
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    sg_ks_key k;
    if (sg_ks_key_get(c->ks, id, &k) == 0)
        printf("%s rollover started: key %lld (tag %u) published; signetd takes it from here "
               "(see signetctl zone status %s)\n", sg_ks_role_name(role), (long long)id, k.tag, zone);
    return CTL_OK;
}

int cmd_zone_roll(ctl *c, const char *sub, int argc, char **argv)
{
    ctl_opt o[] = { { "ksk", 0, 0, 0 }, { "zsk", 0, 0, 0 }, { "csk", 0, 0, 0 },
                    { "until", 1, 0, 0 }, { "max-ttl", 1, 0, 0 }, { "svg", 1, 0, 0 } };
    char cmd[32];
    snprintf(cmd, sizeof cmd, "zone %s ", sub);
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse(cmd, argc, argv, o, 6, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl zone roll ZONE --ksk|--zsk|--csk   start a rollover now\n"
               "       signetctl zone unsign ZONE                   walk the zone back to insecure\n"
               "       signetctl zone status ZONE [--max-ttl DUR]   keys, and the next event and why\n"
               "       signetctl zone plan ZONE [--until TIME] [--max-ttl DUR] [--svg FILE]\n"
               "                                the coming events as the policy stands; --svg\n"
               "                                also draws them, one lane per key, into FILE\n"
               "--max-ttl is the zone's largest TTL when the policy does not set one (default 1d).\n");
        return CTL_OK;
    }
    if (npos != 1)
        return ctl_usage(cmd, "zone %s needs one ZONE", sub);
    char zone[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage(cmd, "bad zone name '%s'", pos[0]);
    if (!strcmp(sub, "status"))
        return zone_status(c, zone, &o[4]);
    if (!strcmp(sub, "unsign")) {
        if ((rc = ctl_open(c)))
            return rc;
        int err = sg_roll_unsign(c->ks, zone, c->now);
        if (err)
            return ctl_fail(c, err, "zone %s", zone);
        printf("%s is going insecure: its DS is withdrawn (CDS/CDNSKEY show the delete form);\n"
               "when the parent no longer serves the DS, run: signetctl ds gone %s\n"
               "signetd stops signing once the parent's DS TTL has passed after that.\n", zone, zone);
        return CTL_OK;
    }
    if (!strcmp(sub, "plan"))
        return zone_plan(c, zone, &o[3], &o[4], &o[5]);
    int nroles = o[0].set + o[1].set + o[2].set;
    if (nroles != 1)
        return ctl_usage(cmd, "zone roll needs exactly one of --ksk, --zsk, --csk");
    return zone_roll(c, zone, o[0].set ? SG_KS_ROLE_KSK : o[1].set ? SG_KS_ROLE_ZSK : SG_KS_ROLE_CSK);
}

/* --key ID or --tag N to a key id of zone (0: neither given); CTL_OK or an exit code. */
static int seen_key_id(ctl *c, const char *zone, const ctl_opt *key, const ctl_opt *tag, int64_t *id)
{
    *id = 0;
    char *end;
    if (key->set) {
        *id = strtoll(key->val, &end, 10);
        if (*end || *id <= 0)
            return ctl_usage("ds seen ", "--key takes a key id");
    }
    if (!tag->set)
        return CTL_OK;
    long t = strtol(tag->val, &end, 10);
    if (*end || t < 0 || t > 65535 || key->set)
        return ctl_usage("ds seen ", "--tag takes a key tag (0..65535), without --key");
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int err = sg_ks_key_list(c->ks, zone, &keys, &n);
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    for (size_t i = 0; i < n; i++)
        if (keys[i].tag == t)
            *id = keys[i].id;
    free(keys);
    if (!*id) {
        fprintf(stderr, "signetctl: %s has no key with tag %ld\n", zone, t);
        return CTL_ERR;
    }
    return CTL_OK;
}

int cmd_ds_seen(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "key", 1, 0, 0 }, { "tag", 1, 0, 0 } };
    char zone[SG_KS_ZONE_MAX];
    int rc = ctl_zone_cmd("ds seen ", argc, argv, o, 2,
                          "usage: signetctl ds seen ZONE [--key ID | --tag N]\n"
                          "Record that the parent now serves the DS of the zone's submitted keys (or of\n"
                          "one key): the manual path when no registrar checks the parent. A KSK or CSK\n"
                          "rollover waits for this before the old key retires. When no submitted DS\n"
                          "waits, the DS the parent already serves for keys Signet never submitted\n"
                          "(imported from the previous signer, added by hand) is recorded as submitted\n"
                          "and seen now: the key's, or, when no DS of the zone is seen yet, every\n"
                          "signing KSK/CSK's (never a successor's). signetctl ds check asks the\n"
                          "parent's servers instead of taking your word.\n", zone);
    if (rc)
        return rc == CTL_DONE ? CTL_OK : rc;
    if ((rc = ctl_open(c)))
        return rc;
    int64_t id = 0;
    if ((rc = seen_key_id(c, zone, &o[0], &o[1], &id)))
        return rc;
    int marked = 0, adopted = 0;
    int err = sg_roll_ds_seen(c->ks, zone, id, c->now, &marked);
    if (!err && marked == 0) {
        err = sg_roll_ds_at_parent(c->ks, zone, id, "operator (ds seen)", c->now, &adopted);
        if (err == SG_EINVAL) {
            fprintf(stderr, "signetctl: key %lld has no DS to be seen (a ZSK, or its DS was "
                            "withdrawn or it retired)\n", (long long)id);
            return CTL_ERR;
        }
    }
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    if (marked + adopted == 0) {
        fprintf(stderr, "signetctl: no submitted DS of %s is waiting to be seen, and no signing "
                        "KSK or CSK lacks one (name a key: --tag N)\n", zone);
        return CTL_ERR;
    }
    if (marked)
        printf("%d DS record%s of %s marked as served by the parent\n", marked, marked > 1 ? "s" : "", zone);
    else
        printf("%d DS record%s of %s that Signet never submitted recorded as served by the parent "
               "(submitted and seen now)\n", adopted, adopted > 1 ? "s" : "", zone);
    return CTL_OK;
}

int cmd_key_compromise(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "max-ttl", 1, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("key compromise ", argc, argv, o, 1, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl key compromise ID [--max-ttl DUR]\n"
               "Start the fastest safe replacement of a compromised key and say which waits\n"
               "cannot be skipped (and why). signetd carries it out.\n");
        return CTL_OK;
    }
    char *end;
    long long id = npos == 1 ? strtoll(pos[0], &end, 10) : 0;
    if (npos != 1 || *end || id <= 0)
        return ctl_usage("key compromise ", "key compromise needs a key ID");
    sg_roll_figures f;
    if (parse_fig(&o[0], &f))
        return ctl_usage("key compromise ", "bad --max-ttl");
    if ((rc = ctl_open(c)))
        return rc;
    char report[1024];
    int err = sg_roll_compromise(c->ks, id, &f, c->now, report, sizeof report);
    if (err == SG_EINVAL) {
        fprintf(stderr, "signetctl: key %lld is neither published nor signing: nothing to replace\n", id);
        return CTL_ERR;
    }
    if (err)
        return ctl_fail(c, err, "key %lld", id);
    printf("key %lld: %s\n", id, report);
    return CTL_OK;
}

int cmd_ds_gone(ctl *c, int argc, char **argv)
{
    char zone[SG_KS_ZONE_MAX];
    int rc = ctl_zone_cmd("ds gone ", argc, argv, NULL, 0,
                          "usage: signetctl ds gone ZONE\n"
                          "Record that the parent no longer serves the DS of a zone being unsigned\n"
                          "(signetctl zone unsign); signetd stops signing after the parent's DS TTL.\n",
                          zone);
    if (rc)
        return rc == CTL_DONE ? CTL_OK : rc;
    if ((rc = ctl_open(c)))
        return rc;
    int err = sg_roll_ds_gone(c->ks, zone, c->now);
    if (err == SG_EINVAL) {
        fprintf(stderr, "signetctl: %s is not being unsigned (signetctl zone unsign first)\n", zone);
        return CTL_ERR;
    }
    if (err)
        return ctl_fail(c, err, "zone %s", zone);
    printf("%s: the parent's DS is recorded as gone\n", zone);
    return CTL_OK;
}
