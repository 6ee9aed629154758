/* SPDX-License-Identifier: MIT */
/* Unit tests: DS set comparison, the diff a push applies, the parent match rule, and the
 * registrar config block. */
#include "registrar/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static sg_reg_ds ds(uint16_t tag, uint8_t dt, uint8_t fill, const char *id)
{
    sg_reg_ds d;
    memset(&d, 0, sizeof d);
    d.tag = tag;
    d.algorithm = 13;
    d.digest_type = dt;
    d.digest_len = dt == 4 ? 48 : 32;
    memset(d.digest, fill, d.digest_len);
    snprintf(d.id, sizeof d.id, "%s", id);
    return d;
}

static void set_of(sg_reg_dsset *s, const sg_reg_ds *v, size_t n)
{
    sg_reg_dsset_init(s);
    for (size_t i = 0; i < n; i++)
        sg_reg_dsset_add(s, &v[i]);
}

static void diff_cases(void **st)
{
    (void)st;
    sg_reg_ds a = ds(1, 2, 0xaa, "ra"), b = ds(2, 2, 0xbb, "rb"), c = ds(3, 2, 0xcc, "rc");
    sg_reg_ds a384 = ds(1, 4, 0xaa, "ra4"), a_other = ds(1, 2, 0x11, "rx");
    static const struct { int nh, nw; int h[4], w[4]; size_t nadd, ndel; } t[] = {
        { 0, 1, { 0 }, { 0 }, 1, 0 },                   /* first push */
        { 1, 1, { 0 }, { 0 }, 0, 0 },                   /* already there: nothing */
        { 1, 2, { 0 }, { 0, 1 }, 1, 0 },                /* rollover: add the new one */
        { 2, 1, { 0, 1 }, { 1 }, 0, 1 },                /* old DS out */
        { 2, 2, { 0, 2 }, { 0, 1 }, 1, 1 },             /* a stranger goes, ours comes */
        { 2, 1, { 0, 0 }, { 0 }, 0, 1 },                /* a duplicate at the registrar */
        { 1, 0, { 0 }, { 0 }, 0, 1 },                   /* unsigning: all out */
        { 1, 1, { 3 }, { 0 }, 1, 1 },                   /* same tag, other digest type */
        { 1, 1, { 4 }, { 0 }, 1, 1 },                   /* same tag, wrong digest */
    };
    const sg_reg_ds pool[] = { a, b, c, a384, a_other };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sg_reg_ds hv[4], wv[4];
        for (int k = 0; k < t[i].nh; k++)
            hv[k] = pool[t[i].h[k]];
        for (int k = 0; k < t[i].nw; k++)
            wv[k] = pool[t[i].w[k]];
        sg_reg_dsset have, want, add, del;
        set_of(&have, hv, (size_t)t[i].nh);
        set_of(&want, wv, (size_t)t[i].nw);
        assert_int_equal(sg_reg_diff(&have, &want, &add, &del), 0);
        assert_int_equal(add.n, t[i].nadd);
        assert_int_equal(del.n, t[i].ndel);
        /* applying the diff gives want */
        for (size_t k = 0; k < del.n; k++)
            assert_true(del.v[k].id[0]); /* removal needs the registrar's id */
        sg_reg_dsset_deinit(&have);
        sg_reg_dsset_deinit(&want);
        sg_reg_dsset_deinit(&add);
        sg_reg_dsset_deinit(&del);
    }
}

static void same_by_key(void **st)
{
    (void)st;
    sg_reg_ds x = ds(1, 2, 0xaa, ""), y;
    memset(&y, 0, sizeof y);
    y.tag = 1;
    y.algorithm = 13;
    x.flags = y.flags = 257;
    x.pubkey_len = y.pubkey_len = 4;
    memcpy(x.pubkey, "abcd", 4);
    memcpy(y.pubkey, "abcd", 4);
    assert_true(sg_reg_ds_same(&x, &y));
    y.pubkey[0] = 'z';
    assert_false(sg_reg_ds_same(&x, &y));
    char t[200];
    sg_reg_ds_text(&x, t, sizeof t);
    assert_int_equal(strncmp(t, "1 13 2 AAAA", 11), 0);
}

static void parent_match(void **st)
{
    (void)st;
    sg_reg_ds a = ds(1, 2, 0xaa, ""), b = ds(2, 2, 0xbb, ""), a384 = ds(1, 4, 0x44, "");
    sg_reg_dsset served, want;
    set_of(&want, (sg_reg_ds[]){ a, b }, 2);
    set_of(&served, (sg_reg_ds[]){ a }, 1);
    assert_false(sg_reg_served_matches(&served, &want));
    sg_reg_dsset_add(&served, &b);
    assert_true(sg_reg_served_matches(&served, &want));
    sg_reg_dsset_add(&served, &a384); /* another digest of a wanted key: fine */
    assert_true(sg_reg_served_matches(&served, &want));
    sg_reg_ds old = ds(9, 2, 0x99, "");
    sg_reg_dsset_add(&served, &old); /* a DS of a key that should be gone: not yet */
    assert_false(sg_reg_served_matches(&served, &want));
    sg_reg_dsset empty;
    sg_reg_dsset_init(&empty);
    assert_true(sg_reg_served_matches(&empty, &empty));
    assert_false(sg_reg_served_matches(&served, &empty));
    sg_reg_dsset_deinit(&served);
    sg_reg_dsset_deinit(&want);
}

static int parse_text(const char *text, sg_reg_cfg *out)
{
    sg_cfg *cfg;
    int rc = sg_cfg_parse_string(text, "test.conf", &cfg);
    if (rc)
        return rc;
    const sg_cfg_block *blk = &cfg->servers[0].children[0].children[0];
    rc = sg_reg_parse(blk, out);
    sg_cfg_free(cfg);
    return rc;
}

static void config(void **st)
{
    (void)st;
    sg_reg_cfg c;
    assert_int_equal(parse_text("example.test {\n dnssec {\n registrar porkbun {\n"
                                " credentials /etc/signet/porkbun.cred\n"
                                " endpoint https://127.0.0.1:8443/api/json/v3/\n ca-file /tmp/ca.pem\n"
                                " check-interval 5s\n alert-timeout 1h\n backoff 2s 1m\n"
                                " parent-ns 127.0.0.1:5300 [::1]:5301\n }\n }\n}\n", &c), 0);
    assert_string_equal(c.provider, "porkbun");
    assert_string_equal(c.credentials, "/etc/signet/porkbun.cred");
    assert_string_equal(c.endpoint, "https://127.0.0.1:8443/api/json/v3");
    assert_int_equal(c.check_interval, 5);
    assert_int_equal(c.alert_timeout, 3600);
    assert_int_equal(c.backoff_base, 2);
    assert_int_equal(c.backoff_max, 60);
    assert_int_equal(c.nparent_ns, 2);
    assert_string_equal(c.parent_ns[1], "[::1]:5301");
    assert_int_equal(parse_text("a {\n dnssec {\n registrar manual\n }\n}\n", &c), 0);
    assert_int_equal(parse_text("a {\n dnssec {\n registrar ovh {\n credentials env OVH_\n }\n }\n}\n", &c), 0);
    assert_string_equal(c.env_prefix, "OVH_");
    /* OVHcloud's regions by name; task-timeout; cds needs no credentials */
    assert_int_equal(parse_text("a {\n dnssec {\n registrar ovh {\n credentials /x\n endpoint ovh-ca\n"
                                " task-timeout 5m\n }\n }\n}\n", &c), 0);
    assert_string_equal(c.endpoint, "https://ca.api.ovh.com/1.0");
    assert_int_equal(c.task_timeout, 300);
    assert_int_equal(parse_text("a {\n dnssec {\n registrar cds {\n parent-ns 192.0.2.1\n }\n }\n}\n",
                                &c), 0);
    assert_string_equal(c.provider, "cds");
    for (const char *const *p = (const char *const[]){ "route53", "gandi", "inwx", "namecom",
                                                       "openprovider", NULL }; *p; p++) {
        char text[200];
        snprintf(text, sizeof text, "a {\n dnssec {\n registrar %s {\n credentials /x\n }\n }\n}\n", *p);
        assert_int_equal(parse_text(text, &c), 0);
    }
    static const char *const bad[] = {
        "a {\n dnssec {\n registrar porkbun {\n credentials /x\n endpoint ovh-ca\n }\n }\n}\n",
        "a {\n dnssec {\n registrar ovh {\n credentials /x\n endpoint ovh-xx\n }\n }\n}\n",
        "a {\n dnssec {\n registrar godaddy {\n credentials /x\n }\n }\n}\n",
        "a {\n dnssec {\n registrar porkbun\n }\n}\n",                         /* no credentials */
        "a {\n dnssec {\n registrar porkbun {\n credentials /x\n endpoint http://x\n }\n }\n}\n",
        "a {\n dnssec {\n registrar porkbun {\n credentials /x\n insecure yes\n }\n }\n}\n",
        "a {\n dnssec {\n registrar update {\n credentials /x\n }\n }\n}\n",    /* no primary */
        "a {\n dnssec {\n registrar rest {\n credentials /x\n list GET https://x/\n }\n }\n}\n",
        "a {\n dnssec {\n registrar dnsimple {\n credentials /x\n check-interval 0\n }\n }\n}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_text(bad[i], &c), SG_ESYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diff_cases), cmocka_unit_test(same_by_key),
        cmocka_unit_test(parent_match), cmocka_unit_test(config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
