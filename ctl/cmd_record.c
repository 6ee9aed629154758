/* SPDX-License-Identifier: MIT */
/* signetctl record add|delete|list and zone flush: a zone's records changed on the running
 * signetd the way any client changes them, by a TSIG-signed UPDATE (RFC 2136) to the
 * server block that serves the zone (its address, its `update` key and the key's secret
 * read from the Corefile), so that the same policy, journal and checks apply; the records
 * listed from signetd's control socket; the journal written into the zone file. */
#include "ctl/ctl.h"
#include "update/journal.h"
#include "tsig/tsig.h"
#include "common/cfg.h"
#include "common/errors.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/signet/Corefile"
#define RECORDS_TIMEOUT_MS 60000

/* What the Corefile says about a zone's updates. */
typedef struct target {
    char addr[INET6_ADDRSTRLEN + 16];
    uint16_t port;
    char key[SG_NAME_MAX * 4 + 2];
    char file[4096];               /* the `file` directive's path, "" when none */
    char journal[4096];            /* the update block's journal, "" for the default */
    sg_tsig_keyring *kr;
} target;

static const sg_cfg_block *child(const sg_cfg_block *b, const char *name)
{
    for (int i = 0; i < b->nchildren; i++)
        if (!strcmp(b->children[i].name, name))
            return &b->children[i];
    return NULL;
}

/* Does a server block's key ("zone", "zone:port", "dns://zone:port") name zone? Its port in
 * *port. */
static int key_is_zone(const char *key, const char *zone, uint16_t *port)
{
    char tmp[SG_KS_ZONE_MAX + 16], zn[SG_KS_ZONE_MAX];
    if (!strncmp(key, "dns://", 6))
        key += 6;
    snprintf(tmp, sizeof tmp, "%s", key);
    char *colon = strrchr(tmp, ':');
    *port = 53;
    if (colon) {
        *colon = 0;
        *port = (uint16_t)atoi(colon + 1);
    }
    return !sg_ks_zone_normalize(tmp, zn) && !strcmp(zn, zone);
}

/* Read the Corefile for zone: the block serving it, its update key and address. Prints
 * the error. */
static int find_target(const char *corefile, const char *zone, const char *key_opt, const char *server_opt,
                       target *t)
{
    memset(t, 0, sizeof *t);
    sg_cfg *cfg = NULL;
    int err = sg_cfg_parse_file(corefile, &cfg);
    if (err) {
        fprintf(stderr, "signetctl: cannot use the config %s: %s\n", corefile, sg_strerror(err));
        return CTL_ERR;
    }
    const sg_cfg_block *srv = NULL;
    for (int i = 0; i < cfg->nservers && !srv; i++)
        for (int k = 0; k < cfg->servers[i].nargs && !srv; k++)
            if (key_is_zone(cfg->servers[i].args[k], zone, &t->port))
                srv = &cfg->servers[i];
    const sg_cfg_block *up = srv ? child(srv, "update") : NULL;
    if (!up) {
        fprintf(stderr, "signetctl: %s: %s (zone %s)\n", corefile,
                !srv ? "no server block serves this zone" : "the zone's server block has no update block", zone);
        sg_cfg_free(cfg);
        return CTL_ERR;
    }
    const sg_cfg_block *f = child(srv, "file"), *j = child(up, "journal"), *k = child(up, "key"),
                       *b = child(srv, "bind");
    if (f && f->nargs >= 1)
        snprintf(t->file, sizeof t->file, "%s", f->args[0]);
    if (j && j->nargs == 1)
        snprintf(t->journal, sizeof t->journal, "%s", j->args[0]);
    snprintf(t->key, sizeof t->key, "%s", key_opt ? key_opt : k && k->nargs ? k->args[0] : "");
    snprintf(t->addr, sizeof t->addr, "%s", b && b->nargs ? b->args[0] : "127.0.0.1");
    if (!strcmp(t->addr, "0.0.0.0"))
        snprintf(t->addr, sizeof t->addr, "127.0.0.1");
    else if (!strcmp(t->addr, "::"))
        snprintf(t->addr, sizeof t->addr, "::1");
    if (server_opt) {
        /* ADDR, ADDR:PORT, [ADDR6]:PORT */
        char tmp[INET6_ADDRSTRLEN + 8];
        snprintf(tmp, sizeof tmp, "%s", server_opt);
        char *a = tmp, *p = NULL;
        if (*a == '[') {
            a++;
            char *e = strchr(a, ']');
            if (e) {
                *e = 0;
                p = e[1] == ':' ? e + 2 : NULL;
            }
        } else if (strchr(a, ':') == strrchr(a, ':') && strchr(a, ':')) {
            p = strchr(a, ':');
            *p++ = 0;
        }
        snprintf(t->addr, sizeof t->addr, "%s", a);
        if (p)
            t->port = (uint16_t)atoi(p);
    }
    t->kr = sg_tsig_keyring_new();
    err = t->kr ? 0 : SG_ENOMEM;
    for (int i = 0; !err && cfg->global && i < cfg->global->nchildren; i++)
        if (!strcmp(cfg->global->children[i].name, "tsig-key"))
            err = sg_tsig_config_directive(t->kr, &cfg->global->children[i]); /* logs file:line */
    sg_cfg_free(cfg);
    if (err) {
        sg_tsig_keyring_free(t->kr);
        t->kr = NULL;
        return CTL_ERR;
    }
    return CTL_OK;
}

static void target_free(target *t)
{
    sg_tsig_keyring_free(t->kr);
    t->kr = NULL;
}

/* Send one UPDATE of zone with records ups (owned by the caller) over TCP, signed with the
 * target's key; prints the outcome. */
static int send_update(ctl *c, const char *zone, const target *t, ldns_rr_list *ups)
{
    const sg_tsig_key *key = sg_tsig_find(t->kr, t->key);
    if (!key) {
        fprintf(stderr, "signetctl: no tsig-key '%s' in the config's global options\n", t->key);
        ctl_error_set("invalid");
        return CTL_ERR;
    }
    int rc = CTL_ERR;
    ldns_resolver *res = ldns_resolver_new();
    ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(t->addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, t->addr);
    ldns_rdf *zn = ldns_dname_new_frm_str(zone);
    ldns_pkt *p = NULL, *answer = NULL;
    if (!res || !ns || !zn) {
        fprintf(stderr, "signetctl: bad server address '%s'\n", t->addr);
        goto out;
    }
    ldns_resolver_push_nameserver(res, ns); /* copies it */
    ldns_rdf_deep_free(ns);
    ns = NULL;
    ldns_resolver_set_port(res, t->port);
    ldns_resolver_set_usevc(res, true);
    ldns_resolver_set_timeout(res, (struct timeval){ 10, 0 });
    ldns_resolver_set_retry(res, 1);
    ldns_resolver_set_tsig_keyname(res, key->name_text);
    ldns_resolver_set_tsig_algorithm(res, key->alg_name);
    ldns_resolver_set_tsig_keydata(res, key->secret_b64);
    p = ldns_update_pkt_new(ldns_rdf_clone(zn), LDNS_RR_CLASS_IN, NULL, ups, NULL); /* copies ups */
    if (!p || ldns_update_pkt_tsig_add(p, res) != LDNS_STATUS_OK) {
        fprintf(stderr, "signetctl: cannot make the UPDATE\n");
        goto out;
    }
    ldns_status st = ldns_resolver_send_pkt(&answer, res, p);
    if (st != LDNS_STATUS_OK || !answer) {
        fprintf(stderr, "signetctl: UPDATE to %s port %u: %s\n", t->addr, t->port, ldns_get_errorstr_by_id(st));
        ctl_error_set(st == LDNS_STATUS_CRYPTO_TSIG_BOGUS ? "denied" : "unreachable");
        rc = st == LDNS_STATUS_CRYPTO_TSIG_BOGUS ? CTL_ERR : CTL_TEMPFAIL;
        goto out;
    }
    ldns_pkt_rcode r = ldns_pkt_get_rcode(answer);
    ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)r);
    if (r != LDNS_RCODE_NOERROR) {
        fprintf(stderr, "signetctl: signetd answered %s (its log says why)\n", lt ? lt->name : "?");
        ctl_error_set(r == LDNS_RCODE_REFUSED || r == LDNS_RCODE_NOTAUTH ? "denied" : "rejected");
        goto out;
    }
    if (c->json)
        printf("{\"ok\":true,\"zone\":\"%s\",\"changes\":%zu}\n", zone, ldns_rr_list_rr_count(ups));
    else
        printf("%s: %zu change%s sent, NOERROR\n", zone, ldns_rr_list_rr_count(ups),
               ldns_rr_list_rr_count(ups) == 1 ? "" : "s");
    rc = CTL_OK;
out:
    if (answer)
        ldns_pkt_free(answer);
    if (p)
        ldns_pkt_free(p);
    if (zn)
        ldns_rdf_deep_free(zn);
    if (res)
        ldns_resolver_deep_free(res);
    if (ns)
        ldns_rdf_deep_free(ns);
    return rc;
}

static void help(void)
{
    printf("usage: signetctl record add ZONE NAME TTL TYPE RDATA...\n"
           "       signetctl record delete ZONE NAME [TYPE [RDATA...]]\n"
           "       signetctl record list ZONE [NAME]\n"
           "       signetctl zone flush ZONE\n"
           "  add, delete: an UPDATE (RFC 2136) to the running signetd, signed with the first key of\n"
           "  the zone's `update` block (--key NAME), sent to its server block's first `bind`\n"
           "  address and port (--server ADDR[:PORT]); both read from the Corefile (--config,\n"
           "  default $SIGNET_CONFIG or " DEFAULT_CONFIG "). NAME is relative to the zone or ends in\n"
           "  '.'. delete without TYPE deletes the name's records, without RDATA the RRset.\n"
           "  list: the records signetd serves (control socket), without the signer's.\n"
           "  zone flush: the journaled updates written into the zone file (atomically) and the\n"
           "  journal emptied, as `update { write-back }` does.\n");
}

/* One record from words: NAME TTL TYPE RDATA... (add), NAME [TYPE [RDATA...]] (delete). */
static ldns_rr *make_rr(const char *zone, int del, int argc, char **argv, char *err, size_t cap)
{
    char text[8192];
    size_t o = 0;
    ldns_rdf *origin = ldns_dname_new_frm_str(zone);
    ldns_rr *rr = NULL;
    if (!del) {
        o = (size_t)snprintf(text, sizeof text, "%s %s IN %s", argv[0], argv[1], argv[2]);
        for (int i = 3; i < argc && o < sizeof text; i++)
            o += (size_t)snprintf(text + o, sizeof text - o, " %s", argv[i]);
    } else if (argc >= 3) {
        o = (size_t)snprintf(text, sizeof text, "%s 0 IN %s", argv[0], argv[1]);
        for (int i = 2; i < argc && o < sizeof text; i++)
            o += (size_t)snprintf(text + o, sizeof text - o, " %s", argv[i]);
    }
    if (o >= sizeof text) {
        snprintf(err, cap, "the record is too long");
        goto out;
    }
    if (o) {
        ldns_status st = ldns_rr_new_frm_str(&rr, text, 3600, origin, NULL);
        if (st != LDNS_STATUS_OK) {
            snprintf(err, cap, "'%.300s': %s", text, ldns_get_errorstr_by_id(st));
            goto out;
        }
        if (del)
            ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE); /* RFC 2136 2.5.4: one record */
        goto out;
    }
    /* a deletion without RDATA: class ANY, no RDATA (2.5.2, 2.5.3) */
    ldns_rdf *owner = NULL;
    if (ldns_str2rdf_dname(&owner, argv[0]) != LDNS_STATUS_OK) {
        snprintf(err, cap, "'%s' is not a name", argv[0]);
        goto out;
    }
    if (!ldns_dname_str_absolute(argv[0]) && ldns_dname_cat(owner, origin) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(owner);
        snprintf(err, cap, "'%s' is not a name", argv[0]);
        goto out;
    }
    ldns_rr_type type = LDNS_RR_TYPE_ANY;
    if (argc == 2 && !(type = ldns_get_rr_type_by_name(argv[1]))) {
        ldns_rdf_deep_free(owner);
        snprintf(err, cap, "'%s' is not a record type", argv[1]);
        goto out;
    }
    rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_ttl(rr, 0);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
    ldns_rr_set_type(rr, type);
out:
    ldns_rdf_deep_free(origin);
    return rr;
}

/* The records signetd serves for zone (its control socket), the signer's left out. */
static int record_list(ctl *c, const char *zone, const char *name)
{
    json_t *req = json_pack("{s:s, s:s}", "cmd", "zone-records", "zone", zone), *rep = NULL;
    char err[512];
    int rc = ctl_daemon_call(c, req, RECORDS_TIMEOUT_MS, &rep, err, sizeof err);
    json_decref(req);
    if (rc) {
        fprintf(stderr, "signetctl: record list: %s\n", err);
        return rc;
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *e = json_string_value(json_object_get(rep, "error"));
        fprintf(stderr, "signetctl: record list: %s\n", e ? e : "signetd refused");
        ctl_error_set(e && strstr(e, "is not served") ? "not_found" : "failed");
        json_decref(rep);
        return CTL_ERR;
    }
    char want[SG_KS_ZONE_MAX + 300] = "";
    if (name) {
        /* absolute, lower case, as ldns prints owners */
        if (name[strlen(name) - 1] == '.')
            snprintf(want, sizeof want, "%s", name);
        else
            snprintf(want, sizeof want, "%s.%s", name, zone);
        for (char *p = want; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    }
    json_t *recs = json_object_get(rep, "records"), *r;
    size_t i;
    int first = 1;
    if (c->json)
        printf("[");
    json_array_foreach(recs, i, r) {
        const char *s = json_string_value(r);
        if (!s)
            continue;
        char owner[SG_KS_ZONE_MAX + 300], type[32];
        if (sscanf(s, "%1299s %*s %*s %31s", owner, type) != 2)
            continue;
        if (!strcmp(type, "RRSIG") || !strcmp(type, "NSEC") || !strcmp(type, "NSEC3") ||
            !strcmp(type, "NSEC3PARAM"))
            continue;
        if (*want && strcasecmp(owner, want))
            continue;
        if (c->json) {
            printf(first ? "" : ",");
            json_str(stdout, s);
        } else {
            fputs(s, stdout);
            if (!*s || s[strlen(s) - 1] != '\n')
                putchar('\n');
        }
        first = 0;
    }
    if (c->json)
        printf("]\n");
    json_decref(rep);
    return CTL_OK;
}

int cmd_record(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "config", 1, 0, 0 }, { "key", 1, 0, 0 }, { "server", 1, 0, 0 } };
    char *pos[64];
    int npos, help_wanted;
    int rc = ctl_parse("record ", argc, argv, o, 3, pos, 64, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted || npos == 0) {
        help();
        return help_wanted ? CTL_OK : CTL_USAGE;
    }
    const char *verb = pos[0];
    char zone[SG_KS_ZONE_MAX];
    if (npos < 2 || sg_ks_zone_normalize(pos[1], zone))
        return ctl_usage("record ", "expected: record %s ZONE ...", verb);
    if (!strcmp(verb, "list")) {
        if (npos > 3)
            return ctl_usage("record ", "expected: record list ZONE [NAME]");
        return record_list(c, zone, npos == 3 ? pos[2] : NULL);
    }
    int del = !strcmp(verb, "delete");
    if (!del && strcmp(verb, "add"))
        return ctl_usage("record ", "unknown record command '%s' (add, delete, list)", verb);
    if (del ? npos < 3 : npos < 6)
        return ctl_usage("record ", del ? "expected: record delete ZONE NAME [TYPE [RDATA...]]"
                                        : "expected: record add ZONE NAME TTL TYPE RDATA...");
    char err[512];
    ldns_rr *rr = make_rr(zone, del, npos - 2, pos + 2, err, sizeof err);
    if (!rr)
        return ctl_usage("record ", "%s", err);
    const char *corefile = o[0].set ? o[0].val
                           : getenv("SIGNET_CONFIG") && *getenv("SIGNET_CONFIG") ? getenv("SIGNET_CONFIG")
                                                                                : DEFAULT_CONFIG;
    target t;
    rc = find_target(corefile, zone, o[1].set ? o[1].val : NULL, o[2].set ? o[2].val : NULL, &t);
    if (rc == CTL_OK) {
        ldns_rr_list *ups = ldns_rr_list_new();
        ldns_rr_list_push_rr(ups, rr);
        rr = NULL;
        rc = send_update(c, zone, &t, ups);
        ldns_rr_list_deep_free(ups);
    }
    if (rr)
        ldns_rr_free(rr);
    target_free(&t);
    return rc;
}

int cmd_zone_flush(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "config", 1, 0, 0 } };
    char *pos[1];
    int npos, help_wanted;
    int rc = ctl_parse("zone flush ", argc, argv, o, 1, pos, 1, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    char zone[SG_KS_ZONE_MAX];
    if (npos != 1 || sg_ks_zone_normalize(pos[0], zone))
        return ctl_usage("zone flush ", "expected: zone flush ZONE [--config COREFILE]");
    const char *corefile = o[0].set ? o[0].val
                           : getenv("SIGNET_CONFIG") && *getenv("SIGNET_CONFIG") ? getenv("SIGNET_CONFIG")
                                                                                : DEFAULT_CONFIG;
    target t;
    if ((rc = find_target(corefile, zone, NULL, NULL, &t)))
        return rc;
    target_free(&t);
    if (!t.file[0]) {
        fprintf(stderr, "signetctl: zone %s has no `file` line in %s\n", zone, corefile);
        return CTL_ERR;
    }
    char jpath[4200];
    snprintf(jpath, sizeof jpath, "%s", t.journal[0] ? t.journal : "");
    if (!jpath[0])
        snprintf(jpath, sizeof jpath, "%s.update.db", t.file);
    sg_upd_journal *j = NULL;
    if (sg_upd_journal_open(jpath, &j)) {
        ctl_error_set("io");
        return CTL_ERR;
    }
    char why[512];
    uint32_t serial = 0;
    int err = sg_upd_write_back(j, t.file, zone, &serial, why, sizeof why);
    sg_upd_journal_close(j);
    if (err == SG_ENOTFOUND) {
        if (c->json)
            printf("{\"ok\":true,\"written\":false}\n");
        else
            printf("%s: no journaled updates; %s is the zone\n", zone, t.file);
        return CTL_OK;
    }
    if (err) {
        fprintf(stderr, "signetctl: zone flush %s: %s\n", zone, why);
        ctl_error_set("failed");
        return CTL_ERR;
    }
    if (c->json) {
        printf("{\"ok\":true,\"written\":true,\"file\":");
        json_str(stdout, t.file);
        printf(",\"serial\":%u}\n", serial);
    } else
        printf("%s: serial %u written to %s; journal %s emptied\n", zone, serial, t.file, jpath);
    return CTL_OK;
}
