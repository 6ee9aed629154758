/* SPDX-License-Identifier: MIT */
/* signetctl ds status: the DS set the parent should have, and what the registrar and the
 * parent last did about it, as recorded in the keystore's events by signetd; the same
 * outcome for zone status; registrar test (a read-only call) and ds push (push now), with
 * the zone's registrar block read from the Corefile. */
#include "ctl/ctl.h"
#include "keystore/rollover.h"

#include "common/cfg.h"
#include "registrar/registrar.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/signet/Corefile"

#define RECENT 12   /* registrar and parent events shown */

static int is_reg_event(const sg_ks_event *e)
{
    return !strncmp(e->new_state, "reg-", 4) || !strncmp(e->new_state, "parent-", 7);
}

void ctl_reg_event_json(const sg_ks_event *e)
{
    printf("{\"time\":");
    json_time(stdout, e->time);
    printf(",\"state\":");
    json_str(stdout, e->new_state);
    printf(",\"reason\":");
    json_str(stdout, e->reason);
    printf("}");
}

void ctl_reg_event_text(const char *label, const sg_ks_event *e)
{
    char t[64];
    ctl_fmt_time(e->time, t, sizeof t);
    printf("%-10s %s  %-12s %s\n", label, t, e->new_state, e->reason);
}

size_t ctl_reg_last(const sg_ks_event *ev, size_t ne, const sg_ks_event **last_reg,
                    const sg_ks_event **last_parent)
{
    size_t nreg = 0;
    *last_reg = *last_parent = NULL;
    for (size_t i = 0; i < ne; i++) {
        if (!is_reg_event(&ev[i]))
            continue;
        nreg++;
        if (!strncmp(ev[i].new_state, "parent-", 7) && strcmp(ev[i].new_state, "parent-query"))
            *last_parent = &ev[i];
        else if (!strcmp(ev[i].new_state, "reg-ok") || !strcmp(ev[i].new_state, "reg-retry") ||
                 !strcmp(ev[i].new_state, "reg-error") || !strcmp(ev[i].new_state, "reg-manual") ||
                 !strcmp(ev[i].new_state, "reg-scan"))
            *last_reg = &ev[i];
    }
    return nreg;
}

int cmd_ds_status(ctl *c, int argc, char **argv)
{
    char zone[SG_KS_ZONE_MAX];
    int rc = ctl_zone_cmd("ds status ", argc, argv, NULL, 0,
                          "usage: signetctl ds status ZONE\n"
                          "The DS set the parent should have (from the keystore), the registrar's last\n"
                          "outcome and the parent's last check, as signetd recorded them in the events.\n",
                          zone);
    if (rc)
        return rc == CTL_DONE ? CTL_OK : rc;
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
    const sg_ks_event *last_reg = NULL, *last_parent = NULL;
    size_t nreg = ctl_reg_last(ev, ne, &last_reg, &last_parent);
    /* the TTL pushed is the policy's; what the parent serves is what the engine waits on
     * (the engine's own figure: sg_roll_waits) */
    sg_roll_figures fig;
    memset(&fig, 0, sizeof fig);
    sg_roll_wait waits[SG_ROLL_NWAITS];
    if ((err = sg_roll_figures_load(c->ks, zone, c->now, &fig))) {
        free(ev);
        free(keys);
        return ctl_fail(c, err, "facts of %s", zone);
    }
    sg_roll_waits(&p, &fig, waits);
    const sg_roll_wait *ds = &waits[SG_ROLL_NWAITS - 1];
    uint32_t served_ttl = ds->observed, used = ds->used;
    const char *served_at = ds->source;
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, zone);
        printf(",\"state\":");
        json_str(stdout, z.state);
        printf(",\"ttl\":{\"pushed\":%u,\"served\":", p.parent_ds_ttl);
        if (served_ttl)
            printf("%u", served_ttl);
        else
            printf("null");
        printf(",\"source\":");
        if (served_ttl)
            json_str(stdout, served_at);
        else
            printf("null");
        printf(",\"used\":%u}", used);
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
            ctl_reg_event_json(last_reg);
        else
            printf("null");
        printf(",\"parent\":");
        if (last_parent)
            ctl_reg_event_json(last_parent);
        else
            printf("null");
        printf(",\"events\":[");
        size_t shown = 0, seen = 0, skip = nreg > RECENT ? nreg - RECENT : 0;
        for (size_t i = 0; i < ne; i++) {
            if (!is_reg_event(&ev[i]) || seen++ < skip)
                continue;
            if (shown++)
                printf(",");
            ctl_reg_event_json(&ev[i]);
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
        printf("ttl        pushed with TTL %us (the policy's parent-ds-ttl, where the API takes one)",
               p.parent_ds_ttl);
        if (served_ttl)
            printf("; the parent serves %us (at %s); rollovers wait for %us\n", served_ttl,
                   served_at, used);
        else
            printf("; not yet seen at the parent\n");
        if (last_reg)
            ctl_reg_event_text("registrar", last_reg);
        else
            printf("registrar  no push recorded (no registrar configured, or signetd has not run)\n");
        if (last_parent)
            ctl_reg_event_text("parent", last_parent);
        else
            printf("parent     no check recorded\n");
        if (nreg)
            printf("recent:\n");
        size_t skip = nreg > RECENT ? nreg - RECENT : 0, seen = 0;
        for (size_t i = 0; i < ne; i++)
            if (is_reg_event(&ev[i]) && seen++ >= skip)
                ctl_reg_event_text("", &ev[i]);
    }
    free(ev);
    free(keys);
    return CTL_OK;
}

/* ---- The zone's registrar from the Corefile ----------------------------------------- */

/* Does a server block key ("dns://zone:port") name zone (normalised)? */
static int key_is_zone(const char *key, const char *zone)
{
    char tmp[SG_KS_ZONE_MAX + 16], zn[SG_KS_ZONE_MAX];
    if (!strncmp(key, "dns://", 6))
        key += 6;
    snprintf(tmp, sizeof tmp, "%s", key);
    char *colon = strrchr(tmp, ':');
    if (colon)
        *colon = 0;
    return !sg_ks_zone_normalize(tmp, zn) && !strcmp(zn, zone);
}

static const sg_cfg_block *child(const sg_cfg_block *b, const char *name)
{
    for (int i = 0; i < b->nchildren; i++)
        if (!strcmp(b->children[i].name, name))
            return &b->children[i];
    return NULL;
}

/* Parse the Corefile, find zone's dnssec { registrar ... } block, make the registrar.
 * keystore_out (may be NULL) gets the dnssec block's keystore path. Prints the error. */
static int load_registrar(const char *corefile, const char *zone, sg_registrar **out,
                          sg_reg_cfg *rcfg, char *keystore_out, size_t cap)
{
    *out = NULL;
    sg_cfg *cfg = NULL;
    int err = sg_cfg_parse_file(corefile, &cfg);
    if (err) {
        fprintf(stderr, "signetctl: cannot use the config %s: %s\n", corefile,
                sg_strerror(err));
        return CTL_ERR;
    }
    const sg_cfg_block *srv = NULL;
    for (int i = 0; i < cfg->nservers && !srv; i++)
        for (int k = 0; k < cfg->servers[i].nargs && !srv; k++)
            if (key_is_zone(cfg->servers[i].args[k], zone))
                srv = &cfg->servers[i];
    const sg_cfg_block *dnssec = srv ? child(srv, "dnssec") : NULL;
    const sg_cfg_block *reg = dnssec ? child(dnssec, "registrar") : NULL;
    if (!reg) {
        fprintf(stderr, "signetctl: %s: %s\n", corefile,
                !srv      ? "no server block serves this zone"
                : !dnssec ? "the zone's server block has no dnssec block"
                          : "the zone's dnssec block has no registrar block");
        fprintf(stderr, "signetctl: (zone %s)\n", zone);
        sg_cfg_free(cfg);
        return CTL_ERR;
    }
    const sg_cfg_block *ksb = child(dnssec, "keystore");
    if (keystore_out && cap) {
        keystore_out[0] = 0;
        if (ksb && ksb->nargs == 1)
            snprintf(keystore_out, cap, "%s", ksb->args[0]);
    }
    err = sg_reg_parse(reg, rcfg); /* logs file:line */
    sg_cfg_free(cfg);
    if (err)
        return CTL_ERR;
    if ((err = sg_reg_new(rcfg, out))) { /* logs why: the credentials file, a field... */
        fprintf(stderr, "signetctl: registrar %s of %s: %s\n", rcfg->provider, zone,
                sg_strerror(err));
        return CTL_ERR;
    }
    return CTL_OK;
}

static const char *failure_kind(int err)
{
    return err == SG_REG_ERETRY    ? "transient (network, TLS, 429 or 5xx): signetd retries"
           : err == SG_REG_EREJECT ? "refused by the registrar: check the credentials, the domain "
                                     "and the account"
                                   : sg_strerror(err);
}

static const char *failure_name(int err)
{
    return err == SG_REG_ERETRY ? "retry" : err == SG_REG_EREJECT ? "rejected" : "error";
}

static void json_ds(const sg_reg_ds *d)
{
    char t[256];
    sg_reg_ds_text(d, t, sizeof t);
    printf("{\"tag\":%u,\"algorithm\":%u,\"digest_type\":%u,\"record\":", d->tag,
           d->algorithm, d->digest_type);
    json_str(stdout, t);
    printf(",\"id\":");
    json_str(stdout, d->id);
    printf("}");
}

static int zone_and_config(const char *cmd, int argc, char **argv, ctl_opt *o, char *zone,
                           int *help_wanted)
{
    char *pos[1];
    int npos;
    int rc = ctl_parse(cmd, argc, argv, o, 1, pos, 1, &npos, help_wanted);
    if (rc || *help_wanted)
        return rc;
    if (npos != 1)
        return ctl_usage(cmd, "%sneeds one ZONE", cmd);
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage(cmd, "bad zone name '%s'", pos[0]);
    if (!o[0].set)
        o[0].val = getenv("SIGNET_CONFIG") && *getenv("SIGNET_CONFIG") ? getenv("SIGNET_CONFIG")
                                                                      : DEFAULT_CONFIG;
    return CTL_OK;
}

typedef struct test_out {
    int json, n;
} test_out;

/* One line of registrar test: a request or a reply, as the library journalled it. */
static void test_note(void *arg, const char *state, const char *reason)
{
    test_out *o = arg;
    (void)state;
    if (o->json) {
        printf(o->n++ ? "," : "");
        json_str(stdout, reason);
    } else {
        printf("  %s\n", reason);
    }
}

int cmd_registrar(ctl *c, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "test")) {
        if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
            printf("usage: signetctl registrar test ZONE [--config COREFILE]\n");
            return CTL_OK;
        }
        return ctl_usage("registrar ", "expected: registrar test ZONE [--config COREFILE]");
    }
    ctl_opt o[] = { { "config", 1, 0, 0 } };
    char zone[SG_KS_ZONE_MAX];
    int help_wanted = 0;
    int rc = zone_and_config("registrar test ", argc - 1, argv + 1, o, zone, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl registrar test ZONE [--config COREFILE]\n"
               "Read the zone's registrar block from the Corefile (default $SIGNET_CONFIG or\n"
               DEFAULT_CONFIG "), load its credentials and make one read-only call: list\n"
               "the DS set the registrar has (for update: the primary's DS RRset). Prints the\n"
               "records, or why the call failed (HTTP status and message, network or TLS\n"
               "error). Exit 0 when the call succeeded, 1 otherwise. Nothing is changed.\n");
        return CTL_OK;
    }
    sg_registrar *r;
    sg_reg_cfg rcfg;
    if ((rc = load_registrar(o[0].val, zone, &r, &rcfg, NULL, 0)))
        return rc;
    sg_reg_dsset have;
    char err[512];
    test_out to = { c->json, 0 };
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, zone);
        printf(",\"provider\":");
        json_str(stdout, rcfg.provider);
        printf(",\"calls\":[");
    } else {
        printf("registrar %s%s%s for %s: one read-only call; each request and reply "
               "(credentials shown as ***):\n", rcfg.provider, rcfg.endpoint[0] ? " at " : "",
               rcfg.endpoint[0] ? rcfg.endpoint : "", zone);
    }
    int e = sg_reg_list_now(r, zone, &have, test_note, &to, err, sizeof err);
    const char *where = rcfg.endpoint[0] ? rcfg.endpoint : rcfg.primary[0] ? rcfg.primary : "";
    if (c->json) {
        printf("],\"ok\":%s", e ? "false" : "true");
        if (e) {
            printf(",\"failure\":\"%s\",\"error\":", failure_name(e));
            json_str(stdout, err);
        } else {
            printf(",\"records\":[");
            for (size_t i = 0; i < have.n; i++) {
                printf(i ? "," : "");
                json_ds(&have.v[i]);
            }
            printf("]");
        }
        printf("}\n");
    } else if (e) {
        fprintf(stderr, "signetctl: registrar %s%s%s for %s: %s\n", rcfg.provider,
                where[0] ? " at " : "", where, zone, err);
        fprintf(stderr, "signetctl: %s\n", failure_kind(e));
    } else {
        printf("registrar %s%s%s: the call succeeded; it has %zu DS for %s\n", rcfg.provider,
               where[0] ? " at " : "", where, have.n, zone);
        for (size_t i = 0; i < have.n; i++) {
            char t[256];
            sg_reg_ds_text(&have.v[i], t, sizeof t);
            printf("  %s%s%s%s\n", t, have.v[i].id[0] ? "  (id " : "", have.v[i].id,
                   have.v[i].id[0] ? ")" : "");
        }
    }
    sg_reg_dsset_deinit(&have);
    sg_reg_free(r);
    return e ? CTL_ERR : CTL_OK;
}

typedef struct push_out {
    int json, n;
} push_out;

static void push_note(void *arg, const char *state, const char *reason)
{
    push_out *o = arg;
    if (o->json) {
        printf("%s{\"state\":", o->n++ ? "," : "");
        json_str(stdout, state);
        printf(",\"reason\":");
        json_str(stdout, reason);
        printf("}");
    } else {
        printf("%-10s %s\n", state, reason);
    }
}

int cmd_ds_push(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "config", 1, 0, 0 } };
    char zone[SG_KS_ZONE_MAX];
    int help_wanted = 0;
    int rc = zone_and_config("ds push ", argc, argv, o, zone, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl ds push ZONE [--config COREFILE]\n"
               "Push the DS set the parent should have (from the keystore, as signetd does)\n"
               "to the zone's registrar now: list, then add what is missing and remove what\n"
               "is extra. Prints each call and what changed; every line is also an event.\n"
               "The keystore is the Corefile's unless --db or $SIGNET_KEYSTORE says. signetd\n"
               "still confirms the DS at the parent's servers. Exit 0 when the registrar has\n"
               "the set, 1 otherwise.\n");
        return CTL_OK;
    }
    sg_registrar *r;
    sg_reg_cfg rcfg;
    char keystore[512];
    if ((rc = load_registrar(o[0].val, zone, &r, &rcfg, keystore, sizeof keystore)))
        return rc;
    if (!c->db_set && keystore[0])
        c->db = keystore;
    if ((rc = ctl_open(c))) {
        sg_reg_free(r);
        return rc;
    }
    push_out po = { c->json, 0 };
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, zone);
        printf(",\"provider\":");
        json_str(stdout, rcfg.provider);
        printf(",\"events\":[");
    }
    int changed = 0;
    char err[512];
    int e = sg_reg_push_now(r, c->ks, zone, c->now, &changed, push_note, &po, err, sizeof err);
    sg_reg_free(r);
    if (c->json) {
        printf("],\"ok\":%s,\"changed\":%s", e ? "false" : "true", changed ? "true" : "false");
        if (e) {
            printf(",\"failure\":\"%s\",\"error\":", e == SG_ENOTFOUND ? "nothing" : failure_name(e));
            json_str(stdout, err);
        }
        printf("}\n");
    } else if (e == SG_ENOTFOUND) {
        fprintf(stderr, "signetctl: %s\n", err);
    } else if (e) {
        fprintf(stderr, "signetctl: ds push %s: %s\nsignetctl: %s\n", zone, err,
                failure_kind(e));
    } else {
        printf("%s: %s\n", zone,
               !strcmp(rcfg.provider, "cds")
                   ? "nothing pushed: the registry scans the zone's CDS/CDNSKEY"
               : changed ? "the registrar's DS set was changed (see above)"
                         : "the registrar already had the DS set; nothing changed");
    }
    return e ? CTL_ERR : CTL_OK;
}

int cmd_ds_check(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "config", 1, 0, 0 }, { "parent-ns", 1, 0, 0 } };
    char *pos[1];
    int npos, help_wanted = 0;
    int rc = ctl_parse("ds check ", argc, argv, o, 2, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        printf("usage: signetctl ds check ZONE [--parent-ns ADDR[:PORT][,ADDR...]] [--config COREFILE]\n"
               "Ask the parent's servers for the zone's DS RRset now: the --parent-ns given, or\n"
               "the parent-ns of the zone's registrar block in the Corefile (default\n"
               "$SIGNET_CONFIG or " DEFAULT_CONFIG "), or the parent's NS set. Every KSK/CSK whose\n"
               "DS all of them serve is recorded as seen (also a DS Signet never submitted: a\n"
               "key imported from the previous signer, a DS added by hand), the DS TTL served\n"
               "becomes the parent-ds-ttl the rollover waits rest on; keys without a DS and\n"
               "DS without a key are listed. Exit 0 when every published KSK/CSK has its DS\n"
               "at every server, 1 otherwise.\n");
        return CTL_OK;
    }
    char zone[SG_KS_ZONE_MAX];
    if (npos != 1)
        return ctl_usage("ds check ", "ds check needs one ZONE");
    if (sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage("ds check ", "bad zone name '%s'", pos[0]);
    char **servers = NULL;
    int ns = 0;
    uint32_t timeout = 2000;
    if (o[1].set) {
        char list[1024];
        snprintf(list, sizeof list, "%s", o[1].val);
        char *save;
        for (char *t = strtok_r(list, ", ", &save); t && ns < SG_REG_MAX_NS; t = strtok_r(NULL, ", ", &save)) {
            char **nv = realloc(servers, (size_t)(ns + 1) * sizeof *servers);
            if (!nv)
                break;
            servers = nv;
            if ((servers[ns] = strdup(t)))
                ns++;
        }
    } else {
        const char *cf = o[0].set ? o[0].val
                         : getenv("SIGNET_CONFIG") && *getenv("SIGNET_CONFIG") ? getenv("SIGNET_CONFIG")
                                                                              : DEFAULT_CONFIG;
        sg_registrar *r;
        sg_reg_cfg rcfg;
        char keystore[512], err[256] = "";
        if ((rc = load_registrar(cf, zone, &r, &rcfg, keystore, sizeof keystore)))
            return rc;
        sg_reg_free(r);
        if (!c->db_set && keystore[0])
            c->db = keystore;
        timeout = rcfg.query_timeout;
        if (sg_reg_parent_servers(&rcfg, zone, &servers, &ns, err, sizeof err)) {
            fprintf(stderr, "signetctl: %s\n", err);
            return CTL_ERR;
        }
    }
    if (ns == 0) {
        free(servers);
        return ctl_usage("ds check ", "no parent server to ask");
    }
    if ((rc = ctl_open(c)) == CTL_OK) {
        sg_reg_check res;
        int e = sg_reg_check_now(c->ks, zone, servers, ns, timeout, c->now, c->json ? NULL : stdout, &res);
        if (e && e != SG_EIO) {
            rc = ctl_fail(c, e, "ds check %s", zone);
        } else if (c->json) {
            printf("{\"zone\":");
            json_str(stdout, zone);
            printf(",\"servers\":%d,\"answered\":%d,\"seen\":%d,\"marked\":%d,\"keys_without_ds\":%d,"
                   "\"ds_without_key\":%d,\"ttl\":%u}\n", ns, e ? 0 : res.answered, e ? 0 : res.seen,
                   e ? 0 : res.marked, e ? 0 : res.key_without_ds, e ? 0 : res.ds_without_key, e ? 0 : res.ttl);
            rc = e || res.key_without_ds ? CTL_ERR : CTL_OK;
        } else if (e) {
            fprintf(stderr, "signetctl: no parent server answered for %s\n", zone);
            rc = CTL_ERR;
        } else {
            printf("%s: %d of %d servers answered; %d key%s with its DS everywhere (%d newly "
                   "recorded as seen), %d without, %d DS without a key\n", zone, res.answered, ns,
                   res.seen, res.seen == 1 ? "" : "s", res.marked, res.key_without_ds, res.ds_without_key);
            rc = res.key_without_ds ? CTL_ERR : CTL_OK;
        }
    }
    for (int i = 0; i < ns; i++)
        free(servers[i]);
    free(servers);
    return rc;
}
