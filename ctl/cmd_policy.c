/* SPDX-License-Identifier: MIT */
/* signetctl policy: list, show, add, set, delete. */
#include "ctl/ctl.h"

#include "common/errors.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *denial_name(enum sg_ks_denial d)
{
    return d == SG_KS_DENIAL_NSEC3 ? "nsec3" : d == SG_KS_DENIAL_COMPACT ? "compact" : "nsec";
}

static void help(void)
{
    printf("usage: signetctl policy list\n"
           "       signetctl policy show NAME\n"
           "       signetctl policy add NAME [options]     (starts from the defaults)\n"
           "       signetctl policy set NAME [options]     (changes only what is given)\n"
           "       signetctl policy delete NAME            (refused while a zone uses it)\n"
           "options:\n"
           "  --algorithm A            ecdsap256sha256 (default), ecdsap384sha384, ed25519,\n"
           "                           ed448, rsasha256, rsasha512\n"
           "  --bits N                 RSA key size (2048..4096)\n"
           "  --csk | --ksk-zsk        one combined key, or a KSK and a ZSK\n"
           "  --double-ksk | --double-ds  KSK rollover method (RFC 7583 3.3.2; default double-ksk)\n"
           "  --zsk-lifetime D         durations: 30s 5m 2h 7d 1w 1y, 0 or never\n"
           "  --ksk-lifetime D         the KSK's, or with --csk the CSK's lifetime\n"
           "  --dnskey-ttl D\n"
           "  --zone-propagation-delay D\n"
           "  --zone-max-ttl D         0: taken from the zone\n"
           "  --parent-ds-ttl D\n"
           "  --parent-propagation-delay D\n"
           "  --signature-validity D\n"
           "  --signature-refresh D\n"
           "  --signature-jitter D\n"
           "  --denial nsec|nsec3|compact\n"
           "  --nsec3-iterations N     RFC 9276: 0\n"
           "  --nsec3-salt-length N    0 only: RFC 9276 3.1 says no salt\n"
           "  --nsec3-opt-out | --no-nsec3-opt-out\n"
           "  --cds | --no-cds         publish CDS\n"
           "  --cdnskey | --no-cdnskey publish CDNSKEY\n"
           "  --ds-digest sha256|sha384\n"
           "  --key-store URI          new keys live in a PKCS#11 token, e.g.\n"
           "                           'pkcs11:token=LABEL?module-path=/usr/lib/softhsm/libsofthsm2.so\n"
           "                           &pin-source=file:/etc/signet/pin' (or pin-source=env:NAME);\n"
           "                           'pem' (default): PEM in the keystore (docs/key-custody.md)\n");
}

enum {
    O_ALG, O_BITS, O_CSK, O_KZ, O_ZSKL, O_KSKL, O_TTL, O_ZPD, O_ZMAX, O_PDS, O_PPD, O_SV,
    O_SR, O_SJ, O_DEN, O_IT, O_SALT, O_OO, O_NOO, O_CDS, O_NCDS, O_CDK, O_NCDK, O_DIG, O_DDS,
    O_DKSK, O_KSTORE, O_N
};

static void init_opts(ctl_opt *o)
{
    static const ctl_opt proto[O_N] = {
        { "algorithm", 1, 0, 0 }, { "bits", 1, 0, 0 }, { "csk", 0, 0, 0 },
        { "ksk-zsk", 0, 0, 0 }, { "zsk-lifetime", 1, 0, 0 }, { "ksk-lifetime", 1, 0, 0 },
        { "dnskey-ttl", 1, 0, 0 }, { "zone-propagation-delay", 1, 0, 0 },
        { "zone-max-ttl", 1, 0, 0 }, { "parent-ds-ttl", 1, 0, 0 },
        { "parent-propagation-delay", 1, 0, 0 }, { "signature-validity", 1, 0, 0 },
        { "signature-refresh", 1, 0, 0 }, { "signature-jitter", 1, 0, 0 },
        { "denial", 1, 0, 0 }, { "nsec3-iterations", 1, 0, 0 },
        { "nsec3-salt-length", 1, 0, 0 }, { "nsec3-opt-out", 0, 0, 0 },
        { "no-nsec3-opt-out", 0, 0, 0 }, { "cds", 0, 0, 0 }, { "no-cds", 0, 0, 0 },
        { "cdnskey", 0, 0, 0 }, { "no-cdnskey", 0, 0, 0 }, { "ds-digest", 1, 0, 0 },
        { "double-ds", 0, 0, 0 }, { "double-ksk", 0, 0, 0 }, { "key-store", 1, 0, 0 },
    };
    memcpy(o, proto, sizeof proto);
}

/* Apply the options given to p; usage errors are printed. */
static int apply(ctl_opt *o, sg_ks_policy *p)
{
    if (o[O_ALG].set) {
        uint8_t alg;
        if (sg_ks_alg_parse(o[O_ALG].val, &alg))
            return ctl_usage("policy ", "unknown algorithm '%s'", o[O_ALG].val);
        p->algorithm = alg;
        int rsa = alg == SG_KS_ALG_RSASHA256 || alg == SG_KS_ALG_RSASHA512;
        if (!rsa)
            p->key_bits = 0;
        else if (!p->key_bits)
            p->key_bits = 2048;
    }
    if (o[O_BITS].set) {
        char *end;
        long b = strtol(o[O_BITS].val, &end, 10);
        if (*end || b < 0 || b > 65535)
            return ctl_usage("policy ", "bad --bits '%s'", o[O_BITS].val);
        p->key_bits = (uint16_t)b;
    }
    if (o[O_CSK].set && o[O_KZ].set)
        return ctl_usage("policy ", "--csk and --ksk-zsk exclude each other");
    if (o[O_CSK].set)
        p->csk = 1;
    if (o[O_KZ].set)
        p->csk = 0;
    static const struct { int opt; size_t off; } durs[] = {
        { O_ZSKL, offsetof(sg_ks_policy, zsk_lifetime) },
        { O_KSKL, offsetof(sg_ks_policy, ksk_lifetime) },
        { O_TTL, offsetof(sg_ks_policy, dnskey_ttl) },
        { O_ZPD, offsetof(sg_ks_policy, zone_propagation_delay) },
        { O_ZMAX, offsetof(sg_ks_policy, zone_max_ttl) },
        { O_PDS, offsetof(sg_ks_policy, parent_ds_ttl) },
        { O_PPD, offsetof(sg_ks_policy, parent_propagation_delay) },
        { O_SV, offsetof(sg_ks_policy, sig_validity) },
        { O_SR, offsetof(sg_ks_policy, sig_refresh) },
        { O_SJ, offsetof(sg_ks_policy, sig_jitter) },
    };
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        ctl_opt *x = &o[durs[i].opt];
        if (x->set && ctl_parse_duration(x->val, (uint32_t *)((char *)p + durs[i].off)))
            return ctl_usage("policy ", "bad duration for --%s: '%s'", x->name, x->val);
    }
    if (o[O_DEN].set) {
        const char *d = o[O_DEN].val;
        if (!strcmp(d, "nsec"))
            p->denial = SG_KS_DENIAL_NSEC;
        else if (!strcmp(d, "nsec3"))
            p->denial = SG_KS_DENIAL_NSEC3;
        else if (!strcmp(d, "compact"))
            p->denial = SG_KS_DENIAL_COMPACT;
        else
            return ctl_usage("policy ", "--denial is nsec, nsec3 or compact, not '%s'", d);
    }
    if (o[O_IT].set) {
        char *end;
        long v = strtol(o[O_IT].val, &end, 10);
        if (*end || v < 0 || v > 65535)
            return ctl_usage("policy ", "bad --nsec3-iterations '%s'", o[O_IT].val);
        p->nsec3_iterations = (uint16_t)v;
    }
    if (o[O_SALT].set) {
        char *end;
        long v = strtol(o[O_SALT].val, &end, 10);
        if (*end || v < 0 || v > 255)
            return ctl_usage("policy ", "bad --nsec3-salt-length '%s'", o[O_SALT].val);
        p->nsec3_salt_len = (uint8_t)v;
    }
    if (o[O_OO].set)
        p->nsec3_opt_out = 1;
    if (o[O_NOO].set)
        p->nsec3_opt_out = 0;
    if (o[O_CDS].set)
        p->publish_cds = 1;
    if (o[O_NCDS].set)
        p->publish_cds = 0;
    if (o[O_CDK].set)
        p->publish_cdnskey = 1;
    if (o[O_NCDK].set)
        p->publish_cdnskey = 0;
    if (o[O_DIG].set && sg_ks_digest_parse(o[O_DIG].val, &p->ds_digest))
        return ctl_usage("policy ", "--ds-digest is sha256 or sha384, not '%s'", o[O_DIG].val);
    if (o[O_DDS].set && o[O_DKSK].set)
        return ctl_usage("policy ", "--double-ds and --double-ksk exclude each other");
    if (o[O_DDS].set)
        p->ksk_double_ds = 1;
    if (o[O_DKSK].set)
        p->ksk_double_ds = 0;
    if (o[O_KSTORE].set) {
        const char *v = o[O_KSTORE].val;
        if (!strcmp(v, "pem"))
            v = "";
        if (strlen(v) >= sizeof p->key_store)
            return ctl_usage("policy ", "--key-store is too long");
        snprintf(p->key_store, sizeof p->key_store, "%s", v);
    }
    return CTL_OK;
}

static void json_policy(const sg_ks_policy *p)
{
    printf("{\"policy\":");
    json_str(stdout, p->name);
    printf(",\"algorithm\":\"%s\",\"bits\":%u,\"keys\":\"%s\",\"zsk_lifetime\":%u,"
           "\"ksk_lifetime\":%u,\"dnskey_ttl\":%u,\"zone_propagation_delay\":%u,"
           "\"zone_max_ttl\":%u,\"parent_ds_ttl\":%u,\"parent_propagation_delay\":%u,"
           "\"signature_validity\":%u,\"signature_refresh\":%u,\"signature_jitter\":%u,"
           "\"denial\":\"%s\",\"nsec3_iterations\":%u,\"nsec3_salt_length\":%u,"
           "\"nsec3_opt_out\":%s,\"cds\":%s,\"cdnskey\":%s,\"ds_digest\":\"%s\","
           "\"ksk_rollover\":\"%s\",\"key_store\":",
           sg_ks_alg_name(p->algorithm), p->key_bits, p->csk ? "csk" : "ksk-zsk",
           p->zsk_lifetime, p->ksk_lifetime, p->dnskey_ttl, p->zone_propagation_delay,
           p->zone_max_ttl, p->parent_ds_ttl, p->parent_propagation_delay, p->sig_validity,
           p->sig_refresh, p->sig_jitter, denial_name(p->denial), p->nsec3_iterations,
           p->nsec3_salt_len, p->nsec3_opt_out ? "true" : "false",
           p->publish_cds ? "true" : "false", p->publish_cdnskey ? "true" : "false",
           p->ds_digest == SG_KS_DIGEST_SHA384 ? "sha384" : "sha256",
           p->ksk_double_ds ? "double-ds" : "double-ksk");
    json_str(stdout, p->key_store[0] ? p->key_store : "pem");
    printf("}");
}

static void show_policy(const sg_ks_policy *p)
{
    char a[32], b[32];
    printf("name:                      %s\n", p->name);
    printf("algorithm:                 %s%s", sg_ks_alg_name(p->algorithm), p->key_bits ? "" : "\n");
    if (p->key_bits)
        printf(" (%u bits)\n", p->key_bits);
    printf("keys:                      %s\n", p->csk ? "csk" : "ksk + zsk");
    /* a CSK rolls on the KSK lifetime (--ksk-lifetime); a ZSK lifetime means nothing to it */
    ctl_fmt_duration(p->ksk_lifetime, a, sizeof a);
    if (p->csk) {
        printf("csk-lifetime:              %s   (set with --ksk-lifetime)\n", p->ksk_lifetime ? a : "never");
    } else {
        ctl_fmt_duration(p->zsk_lifetime, b, sizeof b);
        printf("zsk-lifetime:              %s\n", p->zsk_lifetime ? b : "never");
        printf("ksk-lifetime:              %s\n", p->ksk_lifetime ? a : "never");
    }
    ctl_fmt_duration(p->dnskey_ttl, a, sizeof a);
    printf("dnskey-ttl:                %s\n", a);
    ctl_fmt_duration(p->zone_propagation_delay, a, sizeof a);
    printf("zone-propagation-delay:    %s\n", a);
    ctl_fmt_duration(p->zone_max_ttl, a, sizeof a);
    printf("zone-max-ttl:              %s\n", p->zone_max_ttl ? a : "from the zone");
    ctl_fmt_duration(p->parent_ds_ttl, a, sizeof a);
    printf("parent-ds-ttl:             %s\n", a);
    ctl_fmt_duration(p->parent_propagation_delay, a, sizeof a);
    printf("parent-propagation-delay:  %s\n", a);
    ctl_fmt_duration(p->sig_validity, a, sizeof a);
    ctl_fmt_duration(p->sig_refresh, b, sizeof b);
    printf("signature-validity:        %s\n", a);
    printf("signature-refresh:         %s\n", b);
    ctl_fmt_duration(p->sig_jitter, a, sizeof a);
    printf("signature-jitter:          %s\n", a);
    printf("denial:                    %s", denial_name(p->denial));
    if (p->denial == SG_KS_DENIAL_NSEC3)
        printf(" (iterations %u, salt length %u, opt-out %s)", p->nsec3_iterations,
               p->nsec3_salt_len, p->nsec3_opt_out ? "yes" : "no");
    printf("\ncds:                       %s\n", p->publish_cds ? "yes" : "no");
    printf("cdnskey:                   %s\n", p->publish_cdnskey ? "yes" : "no");
    printf("ds-digest:                 %s\n", sg_ks_digest_name(p->ds_digest));
    printf("ksk-rollover:              %s\n", p->ksk_double_ds ? "double-ds" : "double-ksk");
    printf("key-store:                 %s\n", p->key_store[0] ? p->key_store : "pem");
}

int cmd_policy(ctl *c, int argc, char **argv)
{
    ctl_opt o[O_N];
    init_opts(o);
    char *pos[3];
    int npos, help_wanted;
    int rc = ctl_parse("policy ", argc, argv, o, O_N, pos, 3, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    if (npos == 0)
        return ctl_usage("policy ", "policy needs a subcommand");
    const char *sub = pos[0];
    int any_opt = 0;
    for (int i = 0; i < O_N; i++)
        any_opt |= o[i].set;
    int is_write = !strcmp(sub, "add") || !strcmp(sub, "set");
    if (!strcmp(sub, "list") ? npos != 1 : npos != 2)
        return ctl_usage("policy ", "wrong number of arguments for 'policy %s'", sub);
    if (any_opt && !is_write)
        return ctl_usage("policy ", "'policy %s' takes no policy options", sub);
    if (strcmp(sub, "list") && strcmp(sub, "show") && !is_write && strcmp(sub, "delete"))
        return ctl_usage("policy ", "unknown subcommand 'policy %s'", sub);
    if ((rc = ctl_open(c)) != 0)
        return rc;

    if (!strcmp(sub, "list")) {
        sg_ks_policy *list;
        size_t n;
        int r = sg_ks_policy_list(c->ks, &list, &n);
        if (r)
            return ctl_fail(c, r, "cannot list policies");
        if (c->json) {
            printf("[");
            for (size_t i = 0; i < n; i++) {
                printf(i ? "," : "");
                json_policy(&list[i]);
            }
            printf("]\n");
        } else {
            printf("%-20s %-16s %-8s %-8s %-10s %-10s\n", "NAME", "ALGORITHM", "KEYS",
                   "DENIAL", "ZSK-LIFE", "KSK-LIFE");
            for (size_t i = 0; i < n; i++) {
                char z[32], k[32];
                ctl_fmt_duration(list[i].zsk_lifetime, z, sizeof z);
                ctl_fmt_duration(list[i].ksk_lifetime, k, sizeof k);
                printf("%-20s %-16s %-8s %-8s %-10s %-10s\n", list[i].name,
                       sg_ks_alg_name(list[i].algorithm), list[i].csk ? "csk" : "ksk+zsk",
                       denial_name(list[i].denial), list[i].zsk_lifetime ? z : "never",
                       list[i].ksk_lifetime ? k : "never");
            }
        }
        free(list);
        return CTL_OK;
    }
    const char *name = pos[1];
    sg_ks_policy p;
    if (!strcmp(sub, "show")) {
        int r = sg_ks_policy_get(c->ks, name, &p);
        if (r)
            return ctl_fail(c, r, "policy %s", name);
        if (c->json) {
            json_policy(&p);
            printf("\n");
        } else {
            show_policy(&p);
        }
        return CTL_OK;
    }
    if (!strcmp(sub, "delete")) {
        int r = sg_ks_policy_delete(c->ks, name, c->now);
        if (r)
            return ctl_fail(c, r, "cannot delete policy %s", name);
        if (!c->json)
            printf("policy %s deleted\n", name);
        return CTL_OK;
    }
    int add = !strcmp(sub, "add");
    if (add) {
        sg_ks_policy_defaults(&p, name);
        if (strlen(name) >= sizeof p.name)
            return ctl_usage("policy ", "policy name too long");
    } else {
        int r = sg_ks_policy_get(c->ks, name, &p);
        if (r)
            return ctl_fail(c, r, "policy %s", name);
    }
    if ((rc = apply(o, &p)) != 0)
        return rc;
    char why[160];
    if (sg_ks_policy_check(&p, why, sizeof why))
        return ctl_usage("policy ", "%s", why);
    int r = add ? sg_ks_policy_add(c->ks, &p, c->now) : sg_ks_policy_update(c->ks, &p, c->now);
    if (r)
        return ctl_fail(c, r, "cannot %s policy %s", add ? "add" : "change", name);
    if (c->json) {
        json_policy(&p);
        printf("\n");
    } else {
        printf("policy %s %s\n", name, add ? "added" : "changed");
    }
    return CTL_OK;
}
