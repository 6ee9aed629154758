/* SPDX-License-Identifier: MIT */
/* signetctl key: generate, list, show, import, export, delete, set. */
#include "ctl/ctl.h"
#include "ctl/import.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
    printf("usage: signetctl key generate ZONE --role ksk|zsk|csk [--algorithm A] [--bits N]\n"
           "       signetctl key list [ZONE]\n"
           "       signetctl key show ID\n"
           "       signetctl key import ZONE PATH [--role ksk|zsk|csk] [--algorithm A] [--public]\n"
           "                 PATH: a BIND K*.key or K*.private file (with its .state, if any),\n"
           "                 or a PKCS#8 PEM private key (*.pem: Knot DNS, key export);\n"
           "                 a PEM needs --role, and --algorithm for RSA. A K*.key without\n"
           "                 its .private, or --public, is stored public-only: published,\n"
           "                 never signing, never rolled (another signer's key, RFC 8901).\n"
           "                 Times come from the files; without any: published and active now\n"
           "       signetctl key import ZONE --from bind --dir DIR\n"
           "       signetctl key import ZONE --from knot --kasp KASP-DB [--knot-config FILE]\n"
           "       signetctl key import ZONE --from pdns [--pdns-config DIR]\n"
           "                 every key of the zone with its state there: BIND's K*.key/.private/\n"
           "                 .state in DIR; Knot's keymgr list timers and KASP-DB/keys/ID.pem;\n"
           "                 PowerDNS's pdnsutil list-keys flags (Active, Published)\n"
           "       signetctl key export ID [--private]\n"
           "                 the DNSKEY; with --private also the private key (PKCS#8 PEM)\n"
           "       signetctl key delete ID [--force]\n"
           "                 refused for a key that is published or whose DS may be at the\n"
           "                 parent, unless --force\n"
           "       signetctl key sync-foreign ZONE --from SERVER [--no-wait]\n"
           "                 follow a multi-signer peer's DNSKEY RRset (RFC 8901; --help)\n"
           "       signetctl key set ID [--publish T] [--activate T] [--retire T] [--remove T]\n"
           "                 [--ds-submitted T] [--ds-seen T]\n"
           "                 T: now, now+1d, +2h, now-1h, @EPOCH, 2026-01-31T12:00:00Z,\n"
           "                 20260131120000, or none\n");
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

static void print_key_row(const sg_ks_key *k)
{
    char p[32], a[32], r[32], d[32];
    ctl_fmt_time(k->publish, p, sizeof p);
    ctl_fmt_time(k->active, a, sizeof a);
    ctl_fmt_time(k->retire, r, sizeof r);
    ctl_fmt_time(k->remove, d, sizeof d);
    printf("%-5" PRId64 " %-24s %-5u %-3s %-16s %-5u %-9s %-20s %-20s %-20s %s%s\n", k->id,
           k->zone, k->tag, sg_ks_role_name(k->role), sg_ks_alg_name(k->algorithm), k->bits,
           sg_ks_state_name(k->state), p, a, r, d, sg_ks_key_public_only(k) ? "  public-only" : "");
}

static void key_header(void)
{
    printf("%-5s %-24s %-5s %-3s %-16s %-5s %-9s %-20s %-20s %-20s %s\n", "ID", "ZONE", "TAG",
           "ROLE", "ALGORITHM", "BITS", "STATE", "PUBLISH", "ACTIVE", "RETIRE", "REMOVE");
}

/* TTL and digest for a key's records: the zone policy's. */
static void policy_of(ctl *c, const char *zone, uint32_t *ttl, uint8_t *digest)
{
    sg_ks_zone z;
    sg_ks_policy p;
    *ttl = 3600;
    *digest = SG_KS_DIGEST_SHA256;
    if (sg_ks_zone_get(c->ks, zone, &z) == 0 && sg_ks_policy_get(c->ks, z.policy, &p) == 0) {
        *ttl = p.dnskey_ttl;
        *digest = p.ds_digest;
    }
}

static void show_key(ctl *c, const sg_ks_key *k)
{
    uint32_t ttl;
    uint8_t digest;
    policy_of(c, k->zone, &ttl, &digest);
    if (c->json) {
        json_key(stdout, k, 1, ttl, digest);
        printf("\n");
        return;
    }
    char t[32], line[2048];
    printf("id:            %" PRId64 "\nzone:          %s\ntag:           %u\n", k->id, k->zone,
           k->tag);
    printf("role:          %s\nalgorithm:     %s (%u)\nbits:          %u\nflags:         %u\n",
           sg_ks_role_name(k->role), sg_ks_alg_name(k->algorithm), k->algorithm, k->bits,
           k->flags);
    printf("state:         %s\nstorage:       %s%s\n", sg_ks_state_name(k->state), k->storage,
           sg_ks_key_public_only(k) ? " (public-only: never signs here)" : "");
    static const char *const names[] = { "created", "publish", "active", "retire", "remove",
                                         "ds-submitted", "ds-seen" };
    const int64_t times[] = { k->created, k->publish, k->active, k->retire, k->remove,
                              k->ds_submitted, k->ds_seen };
    for (int i = 0; i < 7; i++) {
        ctl_fmt_time(times[i], t, sizeof t);
        printf("%-14s %s\n", names[i] + 0, t);
    }
    if (sg_ks_key_dnskey_text(k, ttl, "DNSKEY", line, sizeof line) == 0)
        printf("dnskey:        %s\n", line);
    if (k->role != SG_KS_ROLE_ZSK && sg_ks_key_ds_text(k, ttl, digest, "DS", line, sizeof line) == 0)
        printf("ds:            %s\n", line);
}

enum { O_ROLE, O_ALG, O_BITS, O_PRIV, O_FORCE, O_PUB, O_ACT, O_RET, O_REM, O_DSS, O_DSN,
       O_PUBLIC, O_FROM, O_DIR, O_KASP, O_KNOTCONF, O_PDNSCONF, O_N };

/* A subcommand's arguments, already checked against its row in key_subs. */
typedef struct key_args {
    const ctl_opt *o;      /* O_N options */
    char **pos;            /* pos[0] is the subcommand */
    int npos;
    enum sg_ks_role role;  /* --role, CSK when not given */
    int64_t id;            /* pos[1] for the subcommands that name a key */
} key_args;

/* The keystore opened and key id read, for the subcommands that name a key. */
static int open_key(ctl *c, int64_t id, sg_ks_key *k)
{
    int rc = ctl_open(c);
    if (rc)
        return rc;
    int r = sg_ks_key_get(c->ks, id, k);
    if (r)
        return ctl_fail(c, r, "key %" PRId64, id);
    return CTL_OK;
}

/* Options are checked before the keystore is opened, so that a typo costs no lock. */
static int key_generate(ctl *c, const key_args *a)
{
    const ctl_opt *o = a->o;
    if (!o[O_ROLE].set)
        return ctl_usage("key ", "key generate needs --role ksk|zsk|csk");
    uint8_t alg = 0;
    long bits = 0;
    if (o[O_ALG].set && sg_ks_alg_parse(o[O_ALG].val, &alg))
        return ctl_usage("key ", "unknown algorithm '%s'", o[O_ALG].val);
    if (o[O_BITS].set) {
        char *end;
        bits = strtol(o[O_BITS].val, &end, 10);
        if (*end || bits < 1024 || bits > 4096)
            return ctl_usage("key ", "--bits must be 1024..4096");
        if (alg != SG_KS_ALG_RSASHA256 && alg != SG_KS_ALG_RSASHA512)
            return ctl_usage("key ", "--bits needs an RSA --algorithm");
    }
    int rc = ctl_open(c);
    if (rc)
        return rc;
    sg_ks_key k;
    int r = sg_ks_key_generate(c->ks, a->pos[1], a->role, alg, (uint16_t)bits, c->now, &k);
    if (r)
        return ctl_fail(c, r, "cannot generate a key for %s", a->pos[1]);
    if (c->json)
        show_key(c, &k);
    else
        printf("generated key %" PRId64 " for %s: %s %s, tag %u\n", k.id, k.zone,
               sg_ks_role_name(k.role), sg_ks_alg_name(k.algorithm), k.tag);
    return CTL_OK;
}

static int key_list(ctl *c, const key_args *a)
{
    int rc = ctl_open(c);
    if (rc)
        return rc;
    const char *zone = a->npos == 2 ? a->pos[1] : NULL;
    sg_ks_key *keys;
    size_t n;
    if (zone) { /* an unknown zone is an error, not an empty list */
        sg_ks_zone z;
        int r = sg_ks_zone_get(c->ks, zone, &z);
        if (r)
            return ctl_fail(c, r, "zone %s", zone);
    }
    int r = sg_ks_key_list(c->ks, zone, &keys, &n);
    if (r)
        return ctl_fail(c, r, "cannot list keys");
    if (c->json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? "," : "");
            json_key(stdout, &keys[i], 0, 0, 0);
        }
        printf("]\n");
    } else {
        key_header();
        for (size_t i = 0; i < n; i++)
            print_key_row(&keys[i]);
    }
    free(keys);
    return CTL_OK;
}

/* key import ZONE --from bind|knot|pdns: every key the source holds for the zone. */
static int key_import_from(ctl *c, const key_args *a)
{
    const ctl_opt *o = a->o;
    const char *zone = a->pos[1], *from = o[O_FROM].val;
    if (a->npos != 2)
        return ctl_usage("key ", "key import --from takes a ZONE and no PATH");
    if (o[O_ROLE].set || o[O_ALG].set || o[O_PUBLIC].set)
        return ctl_usage("key ", "--role, --algorithm and --public are for one key's PATH");
    int bind = !strcmp(from, "bind"), knot = !strcmp(from, "knot"), pdns = !strcmp(from, "pdns");
    if (!bind && !knot && !pdns)
        return ctl_usage("key ", "--from is bind, knot or pdns, not '%s'", from);
    if (bind != o[O_DIR].set || knot != o[O_KASP].set || (!knot && o[O_KNOTCONF].set) ||
        (!pdns && o[O_PDNSCONF].set))
        return ctl_usage("key ", "--from bind needs --dir; --from knot needs --kasp (and may "
                                 "take --knot-config); --from pdns may take --pdns-config");
    int rc = ctl_open(c);
    if (rc)
        return rc;
    int n = 0, r;
    FILE *rep = c->json ? NULL : stdout;
    if (bind)
        r = ctl_import_bind_dir(c->ks, zone, o[O_DIR].val, c->now, rep, &n);
    else if (knot)
        r = ctl_import_knot(c->ks, zone, o[O_KASP].val, o[O_KNOTCONF].set ? o[O_KNOTCONF].val : NULL,
                            getenv("SIGNET_KEYMGR"), c->now, rep, &n);
    else
        r = ctl_import_pdns(c->ks, zone, o[O_PDNSCONF].set ? o[O_PDNSCONF].val : NULL,
                            getenv("SIGNET_PDNSUTIL"), c->now, rep, &n);
    if (c->json)
        printf("{\"imported\":%d,\"ok\":%s}\n", n, r ? "false" : "true");
    if (r) {
        fprintf(stderr, "signetctl: %d key%s imported before the failure\n", n, n == 1 ? "" : "s");
        return CTL_ERR;
    }
    return CTL_OK;
}

static int key_import(ctl *c, const key_args *a)
{
    const ctl_opt *o = a->o;
    if (o[O_FROM].set)
        return key_import_from(c, a);
    if (o[O_DIR].set || o[O_KASP].set || o[O_KNOTCONF].set || o[O_PDNSCONF].set)
        return ctl_usage("key ", "--dir, --kasp, --knot-config and --pdns-config go with --from");
    if (a->npos != 3)
        return ctl_usage("key ", "key import needs ZONE PATH (or ZONE --from SOURCE)");
    const char *zone = a->pos[1], *path = a->pos[2];
    int rc = ctl_open(c);
    if (rc)
        return rc;
    sg_ks_key k;
    int r;
    size_t pl = strlen(path);
    if (pl > 4 && !strcmp(path + pl - 4, ".pem")) {
        uint8_t alg = 0;
        if (o[O_ALG].set && sg_ks_alg_parse(o[O_ALG].val, &alg))
            return ctl_usage("key ", "unknown algorithm '%s'", o[O_ALG].val);
        /* a PEM says nothing about DNS: the operator names the role */
        if (!o[O_ROLE].set)
            return ctl_usage("key ", "importing a PEM key needs --role ksk|zsk|csk");
        if (o[O_PUBLIC].set)
            return ctl_usage("key ", "--public takes a DNSKEY (K*.key), not a private key");
        r = sg_ks_key_import_pem(c->ks, zone, path, a->role, alg, NULL, c->now, &k);
    } else {
        if (o[O_ALG].set)
            return ctl_usage("key ", "--algorithm is for PEM keys; a BIND key names its own");
        r = sg_ks_key_import_bind(c->ks, zone, path, o[O_ROLE].set ? (int)a->role : -1,
                                  o[O_PUBLIC].set ? SG_KS_IMPORT_PUBLIC : 0, NULL, c->now, &k);
    }
    if (r)
        return ctl_fail(c, r, "cannot import %s", path);
    if (c->json)
        show_key(c, &k);
    else
        ctl_import_line(stdout, &k, c->now);
    return CTL_OK;
}

static int key_show(ctl *c, const key_args *a)
{
    sg_ks_key k;
    int rc = open_key(c, a->id, &k);
    if (rc)
        return rc;
    show_key(c, &k);
    return CTL_OK;
}

static int key_export(ctl *c, const key_args *a)
{
    sg_ks_key k;
    int64_t id = a->id;
    int r = open_key(c, id, &k);
    if (r)
        return r;
    uint32_t ttl;
    uint8_t digest;
    char line[2048];
    policy_of(c, k.zone, &ttl, &digest);
    if ((r = sg_ks_key_dnskey_text(&k, ttl, "DNSKEY", line, sizeof line)) != 0)
        return ctl_fail(c, r, "cannot render key %" PRId64, id);
    printf("%s\n", line);
    if (!a->o[O_PRIV].set)
        return CTL_OK;
    if (sg_ks_key_in_token(&k))
        return ctl_fail(c, SG_EINVAL, "key %" PRId64 " is held in a PKCS#11 token: its private "
                        "key never leaves it", id);
    /* recorded first: an export that cannot be recorded does not happen */
    char who[256], reason[320];
    ctl_who(who, sizeof who);
    snprintf(reason, sizeof reason, "private key exported (key export --private) by %s", who);
    if ((r = sg_ks_event_add(c->ks, c->now, k.zone, id, NULL, NULL, reason)) != 0)
        return ctl_fail(c, r, "cannot record the export of key %" PRId64 " in the journal; "
                        "nothing exported", id);
    char *pem;
    size_t len;
    if ((r = sg_ks_key_export_private(c->ks, id, &pem, &len)) != 0)
        return ctl_fail(c, r, "cannot export the private key of key %" PRId64, id);
    fprintf(stderr, "signetctl: warning: writing the PRIVATE key of key %" PRId64
                    " (%s tag %u); whoever reads it can sign for the zone\n",
            id, k.zone, k.tag);
    fputs(pem, stdout);
    fflush(stdout);
    sg_secure_free(pem, len);
    return CTL_OK;
}

static int key_delete(ctl *c, const key_args *a)
{
    sg_ks_key k;
    int r = open_key(c, a->id, &k);
    if (r)
        return r;
    if ((r = sg_ks_key_delete(c->ks, a->id, a->o[O_FORCE].set, c->now)) != 0)
        return ctl_fail(c, r, "cannot delete key %" PRId64, a->id);
    if (!c->json)
        printf("key %" PRId64 " deleted\n", a->id);
    return CTL_OK;
}

/* The timing options given, applied to k; the points must stay in their order. */
static int key_set_times(ctl *c, const ctl_opt *o, sg_ks_key *k)
{
    int any = 0;
    struct { int opt; int64_t *field; } sets[] = {
        { O_PUB, &k->publish }, { O_ACT, &k->active }, { O_RET, &k->retire },
        { O_REM, &k->remove }, { O_DSS, &k->ds_submitted }, { O_DSN, &k->ds_seen },
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const ctl_opt *x = &o[sets[i].opt];
        if (!x->set)
            continue;
        any = 1;
        if (ctl_parse_time(x->val, c->now, sets[i].field))
            return ctl_usage("key ", "bad time for --%s: '%s'", x->name, x->val);
    }
    if (!any)
        return ctl_usage("key ", "key set needs at least one of --publish, --activate, "
                                 "--retire, --remove, --ds-submitted, --ds-seen");
    if (k->publish && k->active && k->active < k->publish)
        return ctl_usage("key ", "a key cannot be active before it is published");
    if (k->retire && k->active && k->retire < k->active)
        return ctl_usage("key ", "a key cannot retire before it is active");
    if (k->remove && k->retire && k->remove < k->retire)
        return ctl_usage("key ", "a key cannot be removed before it retires");
    return CTL_OK;
}

static int key_set(ctl *c, const key_args *a)
{
    sg_ks_key k;
    int r = open_key(c, a->id, &k);
    if (r)
        return r;
    if ((r = key_set_times(c, a->o, &k)) != CTL_OK)
        return r;
    /* The stored state follows the timing points as of now; READY is the rollover
     * engine's to decide, so it is kept while the points still say "published". */
    enum sg_ks_key_state st = sg_ks_key_state_at(&k, c->now);
    if (!(st == SG_KS_PUBLISHED && k.state == SG_KS_READY))
        k.state = st;
    if ((r = sg_ks_key_update(c->ks, &k, "timing set by operator", c->now)) != 0)
        return ctl_fail(c, r, "cannot change key %" PRId64, a->id);
    if (c->json)
        show_key(c, &k);
    else
        printf("key %" PRId64 " updated: %s\n", a->id, sg_ks_state_name(k.state));
    return CTL_OK;
}

/* Each subcommand: its positionals (the subcommand counted), the options it accepts by bit,
 * whether pos[1] is a key id, and what runs it. */
static const struct key_sub {
    const char *name;
    int minpos, maxpos;
    unsigned opts;
    int takes_id;
    int (*run)(ctl *c, const key_args *a);
} key_subs[] = {
    { "generate", 2, 2, 1u << O_ROLE | 1u << O_ALG | 1u << O_BITS, 0, key_generate },
    { "list", 1, 2, 0, 0, key_list },
    { "show", 2, 2, 0, 1, key_show },
    { "import", 2, 3, 1u << O_ROLE | 1u << O_ALG | 1u << O_PUBLIC | 1u << O_FROM | 1u << O_DIR |
                         1u << O_KASP | 1u << O_KNOTCONF | 1u << O_PDNSCONF, 0, key_import },
    { "export", 2, 2, 1u << O_PRIV, 1, key_export },
    { "delete", 2, 2, 1u << O_FORCE, 1, key_delete },
    { "set", 2, 2, 1u << O_PUB | 1u << O_ACT | 1u << O_RET | 1u << O_REM | 1u << O_DSS |
                       1u << O_DSN, 1, key_set },
};

int cmd_key(ctl *c, int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "compromise"))
        return cmd_key_compromise(c, argc - 1, argv + 1);
    if (argc > 0 && !strcmp(argv[0], "sync-foreign"))
        return cmd_key_sync_foreign(c, argc - 1, argv + 1);
    ctl_opt o[O_N] = {
        { "role", 1, 0, 0 },     { "algorithm", 1, 0, 0 }, { "bits", 1, 0, 0 },
        { "private", 0, 0, 0 },  { "force", 0, 0, 0 },     { "publish", 1, 0, 0 },
        { "activate", 1, 0, 0 }, { "retire", 1, 0, 0 },    { "remove", 1, 0, 0 },
        { "ds-submitted", 1, 0, 0 }, { "ds-seen", 1, 0, 0 }, { "public", 0, 0, 0 },
        { "from", 1, 0, 0 },     { "dir", 1, 0, 0 },      { "kasp", 1, 0, 0 },
        { "knot-config", 1, 0, 0 }, { "pdns-config", 1, 0, 0 },
    };
    char *pos[4];
    int npos, help_wanted;
    int rc = ctl_parse("key ", argc, argv, o, O_N, pos, 4, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    if (npos == 0)
        return ctl_usage("key ", "key needs a subcommand");
    const char *sub = pos[0];
    const struct key_sub *s = NULL;
    for (size_t i = 0; i < sizeof key_subs / sizeof key_subs[0]; i++)
        if (!strcmp(sub, key_subs[i].name))
            s = &key_subs[i];
    if (!s)
        return ctl_usage("key ", "unknown subcommand 'key %s'", sub);
    if (npos < s->minpos || npos > s->maxpos)
        return ctl_usage("key ", "wrong number of arguments for 'key %s'", sub);
    for (int i = 0; i < O_N; i++)
        if (o[i].set && !(s->opts & (1u << i)))
            return ctl_usage("key ", "option '--%s' is not valid for 'key %s'", o[i].name, sub);
    key_args a = { .o = o, .pos = pos, .npos = npos, .role = SG_KS_ROLE_CSK };
    if (o[O_ROLE].set && sg_ks_role_parse(o[O_ROLE].val, &a.role))
        return ctl_usage("key ", "--role is ksk, zsk or csk, not '%s'", o[O_ROLE].val);
    if (s->takes_id && parse_id(pos[1], &a.id))
        return ctl_usage("key ", "'%s' is not a key id", pos[1]);
    return s->run(c, &a);
}
