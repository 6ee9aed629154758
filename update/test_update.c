/* SPDX-License-Identifier: MIT */
/* Unit tests for dynamic updates: the key/allow policy, RFC 2136 prerequisites and
 * changes on a real zone version, the difference as text replayed, and the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "update/apply.h"
#include "update/journal.h"
#include "update/policy.h"
#include "tsig/tsig.h"
#include "common/errors.h"
#include "common/rrset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1800000000

static char g_dir[64];
static sg_tsig_keyring *g_kr;

static const char *ZONE =
    "$ORIGIN example.test.\n$TTL 300\n"
    "@ IN SOA ns1 hostmaster 10 3600 600 86400 300\n"
    "@ IN NS ns1\n@ IN NS ns2\n"
    "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n"
    "www IN A 192.0.2.80\nwww IN A 192.0.2.81\nwww IN TXT \"hello\"\n"
    "alias IN CNAME www\n";

static sg_zone *load_zone(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/zone", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ZONE, f);
    fclose(f);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "example.test.", &z), 0);
    return z;
}

/* A policy from an `update { }` block's text. */
static int policy_from(const char *body, sg_upd_policy *p)
{
    char text[1024];
    snprintf(text, sizeof text, "example.test {\n update {\n%s\n }\n}\n", body);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "test", &cfg), 0);
    int rc = sg_upd_policy_parse(&cfg->servers[0].children[0], g_kr, NULL, p);
    sg_cfg_free(cfg);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_update.XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    g_kr = sg_tsig_keyring_new();
    assert_int_equal(sg_tsig_keyring_add(g_kr, "ddns-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"), 0);
    assert_int_equal(sg_tsig_keyring_add(g_kr, "acme-key", "hmac-sha256", "YWNtZWFjbWVhY21lYWNtZQ=="), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sg_tsig_keyring_free(g_kr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void wire(const char *s, uint8_t out[SG_NAME_MAX])
{
    assert_int_equal(sg_name_from_str(s, NULL, out), 0);
    sg_name_lower(out);
}

/* ---- policy -------------------------------------------------------------------------- */

static void test_policy(void **state)
{
    (void)state;
    sg_upd_policy p;
    assert_int_equal(policy_from("key ddns-key acme-key\n"
                                 "allow acme-key _acme-challenge TXT\n"
                                 "allow acme-key *.dyn\n", &p), 0);
    int ddns = sg_upd_policy_key(&p, sg_tsig_find(g_kr, "ddns-key"));
    int acme = sg_upd_policy_key(&p, sg_tsig_find(g_kr, "acme-key"));
    assert_true(ddns >= 0 && acme >= 0 && ddns != acme);
    uint8_t apex[SG_NAME_MAX], n[SG_NAME_MAX];
    wire("example.test.", apex);
    static const struct {
        const char *name;
        uint16_t type;
        int ddns, acme;
    } cases[] = {
        { "www.example.test.", SG_TYPE_A, 1, 0 },
        { "example.test.", SG_TYPE_SOA, 0, 0 },
        { "example.test.", SG_TYPE_NS, 1, 0 },
        { "example.test.", SG_TYPE_DNSKEY, 0, 0 },
        { "x.example.test.", SG_TYPE_RRSIG, 0, 0 },
        { "_acme-challenge.example.test.", SG_TYPE_TXT, 1, 1 },
        { "_ACME-challenge.example.test.", SG_TYPE_TXT, 1, 1 },
        { "_acme-challenge.example.test.", SG_TYPE_A, 1, 0 },
        { "_acme-challenge.example.test.", SG_TYPE_ANY, 1, 0 },
        { "a._acme-challenge.example.test.", SG_TYPE_TXT, 1, 0 },
        { "dyn.example.test.", SG_TYPE_A, 1, 0 },
        { "h.dyn.example.test.", SG_TYPE_A, 1, 1 },
        { "b.h.dyn.example.test.", SG_TYPE_AAAA, 1, 1 },
        { "h.dyn.example.test.", SG_TYPE_ANY, 1, 1 },
        { "www.other.test.", SG_TYPE_A, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wire(cases[i].name, n);
        assert_int_equal(sg_upd_policy_permits(&p, ddns, apex, n, cases[i].type), cases[i].ddns);
        assert_int_equal(sg_upd_policy_permits(&p, acme, apex, n, cases[i].type), cases[i].acme);
    }
    assert_int_equal(sg_upd_policy_key(&p, NULL), -1);
    sg_upd_policy_deinit(&p);

    /* config errors */
    assert_int_equal(policy_from("allow ddns-key www A\n", &p), SG_ESYNTAX);       /* no key line */
    assert_int_equal(policy_from("key nokey\n", &p), SG_ESYNTAX);                  /* unknown key */
    assert_int_equal(policy_from("key ddns-key\nallow acme-key www A\n", &p), SG_ESYNTAX);
    assert_int_equal(policy_from("key ddns-key\nallow ddns-key @ DNSKEY\n", &p), SG_ESYNTAX);
    assert_int_equal(policy_from("key ddns-key\nallow ddns-key www NOTATYPE\n", &p), SG_ESYNTAX);
    assert_int_equal(policy_from("key ddns-key\nbogus 1\n", &p), SG_ESYNTAX);
}

/* ---- building UPDATE messages --------------------------------------------------------- */

/* A record from text; "NAME CLASS TYPE" alone (no TTL, no RDATA) for deletions and
 * existence prerequisites (class ANY or NONE, RDATA empty). */
static ldns_rr *rr(const char *text)
{
    char tok[5][256];
    int n = sscanf(text, "%255s %255s %255s %255s %255s", tok[0], tok[1], tok[2], tok[3], tok[4]);
    int has_ttl = n >= 2 && tok[1][0] >= '0' && tok[1][0] <= '9';
    int fields = has_ttl ? 4 : 3; /* owner [ttl] class type: no RDATA after them */
    if (n == fields) {
        const char *cls = tok[has_ttl ? 2 : 1], *type = tok[has_ttl ? 3 : 2];
        ldns_rr *r = ldns_rr_new();
        ldns_rdf *o = ldns_dname_new_frm_str(tok[0]);
        assert_non_null(o);
        ldns_rr_set_owner(r, o);
        ldns_rr_set_ttl(r, has_ttl ? (uint32_t)atoi(tok[1]) : 0);
        ldns_rr_set_class(r, !strcmp(cls, "ANY") ? LDNS_RR_CLASS_ANY : !strcmp(cls, "NONE") ? LDNS_RR_CLASS_NONE
                                                                                          : LDNS_RR_CLASS_IN);
        ldns_rr_set_type(r, !strcmp(type, "ANY") ? LDNS_RR_TYPE_ANY : ldns_get_rr_type_by_name(type));
        return r;
    }
    ldns_rr *r = NULL;
    assert_int_equal(ldns_rr_new_frm_str(&r, text, 0, NULL, NULL), LDNS_STATUS_OK);
    return r;
}

/* An UPDATE of example.test.; pre and up are NULL-terminated record texts. */
static ldns_pkt *upd(const char *const *pre, const char *const *up)
{
    /* ldns copies the lists it is given (and wants an update list) */
    ldns_rr_list *none = ldns_rr_list_new();
    ldns_pkt *p = ldns_update_pkt_new(ldns_dname_new_frm_str("example.test."), LDNS_RR_CLASS_IN, NULL, none, NULL);
    ldns_rr_list_free(none);
    assert_non_null(p);
    for (int i = 0; pre && pre[i]; i++)
        assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr(pre[i])));
    for (int i = 0; up && up[i]; i++)
        assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr(up[i])));
    /* through the wire and back, as signetd gets it */
    uint8_t *w = NULL;
    size_t len = 0;
    assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
    ldns_pkt_free(p);
    ldns_pkt *q = NULL;
    assert_int_equal(ldns_wire2pkt(&q, w, len), LDNS_STATUS_OK);
    free(w);
    return q;
}

typedef struct result {
    int rcode;
    sg_zone *z;
    ldns_rr_list *diff;
    char why[256];
} result;

static result run(const sg_zone *base, const sg_upd_policy *p, int key, const char *const *pre,
                  const char *const *up)
{
    result r = { 0 };
    ldns_pkt *pkt = upd(pre, up);
    r.rcode = sg_upd_apply(base, pkt, p, key, SG_SERIAL_INCREMENT, NOW, &r.z, &r.diff, r.why, sizeof r.why);
    ldns_pkt_free(pkt);
    if (r.rcode)
        assert_null(r.z);
    return r;
}

static void done(result *r)
{
    sg_zone_free(r->z);
    if (r->diff)
        ldns_rr_list_deep_free(r->diff);
}

/* The records of type at name in z, as sorted canonical RDATA text ("" when none). */
static int count(const sg_zone *z, const char *name, uint16_t type)
{
    uint8_t n[SG_NAME_MAX];
    wire(name, n);
    const sg_node *nd = sg_zone_find(z, n, sg_name_len(n));
    const sg_rrset *rs = nd ? sg_node_rrset(nd, type) : NULL;
    return rs ? rs->count : 0;
}

static uint32_t ttl_of(const sg_zone *z, const char *name, uint16_t type)
{
    uint8_t n[SG_NAME_MAX];
    wire(name, n);
    const sg_node *nd = sg_zone_find(z, n, sg_name_len(n));
    const sg_rrset *rs = nd ? sg_node_rrset(nd, type) : NULL;
    return rs ? rs->ttl : 0;
}

static sg_upd_policy g_pol;
static int g_key;

static void open_policy(void)
{
    assert_int_equal(policy_from("key ddns-key acme-key\nallow acme-key _acme-challenge TXT\n", &g_pol), 0);
    g_key = sg_upd_policy_key(&g_pol, sg_tsig_find(g_kr, "ddns-key"));
}

/* ---- prerequisites --------------------------------------------------------------------- */

static void test_prerequisites(void **state)
{
    (void)state;
    sg_zone *z = load_zone();
    open_policy();
    static const char *const add[] = { "new.example.test. 300 IN A 192.0.2.9", NULL };
    static const struct {
        const char *pre[3];
        int rcode;
    } cases[] = {
        { { "www.example.test. ANY ANY" }, SG_RCODE_NOERROR },            /* name in use */
        { { "nope.example.test. ANY ANY" }, SG_RCODE_NXDOMAIN },
        { { "nope.example.test. NONE ANY" }, SG_RCODE_NOERROR },          /* not in use */
        { { "www.example.test. NONE ANY" }, SG_RCODE_YXDOMAIN },
        { { "www.example.test. ANY A" }, SG_RCODE_NOERROR },              /* RRset exists */
        { { "www.example.test. ANY AAAA" }, SG_RCODE_NXRRSET },
        { { "www.example.test. NONE AAAA" }, SG_RCODE_NOERROR },          /* does not exist */
        { { "www.example.test. NONE A" }, SG_RCODE_YXRRSET },
        /* value-dependent: exactly the RRset, in any order, case-insensitive names */
        { { "www.example.test. 0 IN A 192.0.2.81", "WWW.example.test. 0 IN A 192.0.2.80" }, SG_RCODE_NOERROR },
        { { "www.example.test. 0 IN A 192.0.2.80" }, SG_RCODE_NXRRSET },  /* a subset */
        { { "www.example.test. 0 IN A 192.0.2.80", "www.example.test. 0 IN A 192.0.2.99" }, SG_RCODE_NXRRSET },
        { { "alias.example.test. 0 IN CNAME WWW.example.test." }, SG_RCODE_NOERROR },
        { { "www.other.test. ANY ANY" }, SG_RCODE_NOTZONE },
        { { "www.example.test. 5 IN A 192.0.2.80" }, SG_RCODE_FORMERR },  /* TTL not 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = run(z, &g_pol, g_key, cases[i].pre, add);
        if (r.rcode != cases[i].rcode)
            fail_msg("case %zu: rcode %d, want %d (%s)", i, r.rcode, cases[i].rcode, r.why);
        if (r.rcode == SG_RCODE_NOERROR)
            assert_int_equal(count(r.z, "new.example.test.", SG_TYPE_A), 1);
        done(&r);
    }
    sg_upd_policy_deinit(&g_pol);
    sg_zone_free(z);
}

/* ---- changes --------------------------------------------------------------------------- */

static void test_changes(void **state)
{
    (void)state;
    sg_zone *z = load_zone();
    open_policy();
    /* add: a new name, to an RRset (TTL: the newest), a duplicate */
    static const char *const a1[] = { "new.example.test. 60 IN A 192.0.2.9",
                                      "www.example.test. 120 IN A 192.0.2.82",
                                      "www.example.test. 120 IN A 192.0.2.80", NULL };
    result r = run(z, &g_pol, g_key, NULL, a1);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    assert_int_equal(r.z->serial, 11);
    assert_int_equal(count(r.z, "new.example.test.", SG_TYPE_A), 1);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_A), 3);
    assert_int_equal(ttl_of(r.z, "www.example.test.", SG_TYPE_A), 120);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_TXT), 1);
    done(&r);

    /* delete one record, an RRset, a name */
    static const char *const d1[] = { "www.example.test. 0 NONE A 192.0.2.81", NULL };
    r = run(z, &g_pol, g_key, NULL, d1);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_A), 1);
    done(&r);
    static const char *const d2[] = { "www.example.test. ANY A", NULL };
    r = run(z, &g_pol, g_key, NULL, d2);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_A), 0);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_TXT), 1);
    done(&r);
    static const char *const d3[] = { "www.example.test. ANY ANY", NULL };
    r = run(z, &g_pol, g_key, NULL, d3);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_A) + count(r.z, "www.example.test.", SG_TYPE_TXT), 0);
    done(&r);

    /* the apex keeps SOA and NS, and its last NS */
    static const char *const d4[] = { "example.test. ANY ANY", "example.test. ANY NS", NULL };
    r = run(z, &g_pol, g_key, NULL, d4);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    assert_null(r.z); /* nothing changed: no new version, no new serial */
    done(&r);
    static const char *const d5[] = { "example.test. 0 NONE NS ns1.example.test.",
                                      "example.test. 0 NONE NS ns2.example.test.", NULL };
    r = run(z, &g_pol, g_key, NULL, d5);
    assert_int_equal(count(r.z, "example.test.", SG_TYPE_NS), 1);
    done(&r);

    /* CNAME and other data do not mix: both adds ignored */
    static const char *const c1[] = { "www.example.test. 300 IN CNAME ns1.example.test.",
                                      "alias.example.test. 300 IN A 192.0.2.7", NULL };
    r = run(z, &g_pol, g_key, NULL, c1);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    assert_null(r.z);
    done(&r);
    /* ... but a CNAME replaces a CNAME, and one on a name whose data went first is taken */
    static const char *const c2[] = { "alias.example.test. 300 IN CNAME ns1.example.test.",
                                      "www.example.test. ANY ANY",
                                      "www.example.test. 300 IN CNAME ns2.example.test.", NULL };
    r = run(z, &g_pol, g_key, NULL, c2);
    assert_int_equal(count(r.z, "alias.example.test.", SG_TYPE_CNAME), 1);
    assert_int_equal(count(r.z, "www.example.test.", SG_TYPE_CNAME), 1);
    done(&r);

    /* the SOA is the server's: no allow line may name it, and the default refuses it */
    sg_upd_policy pa;
    assert_int_equal(policy_from("key ddns-key\nallow ddns-key @ SOA\n", &pa), SG_ESYNTAX);
    static const char *const s1[] = { "example.test. 300 IN SOA ns1.example.test. h.example.test. 5 1 1 1 1", NULL };
    r = run(z, &g_pol, g_key, NULL, s1);
    assert_int_equal(r.rcode, SG_RCODE_REFUSED); /* the default policy keeps the apex SOA */
    done(&r);

    /* refusals and format errors change nothing, even with good records beside them */
    static const struct {
        const char *up[3];
        int rcode;
    } bad[] = {
        { { "ok.example.test. 300 IN A 192.0.2.1", "example.test. 300 IN DNSKEY 257 3 13 "
            "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==" },
          SG_RCODE_REFUSED },
        { { "ok.example.test. 300 IN A 192.0.2.1", "x.other.test. 300 IN A 192.0.2.1" }, SG_RCODE_NOTZONE },
        { { "ok.example.test. 300 IN A 192.0.2.1", "www.example.test. 300 ANY A" }, SG_RCODE_FORMERR },
        { { "ok.example.test. 300 IN A 192.0.2.1", "www.example.test. 300 NONE A 192.0.2.80" }, SG_RCODE_FORMERR },
        { { "ok.example.test. 300 IN A 192.0.2.1", "www.example.test. 0 IN ANY" }, SG_RCODE_FORMERR },
        { { "ok.example.test. 300 IN A 192.0.2.1", "x.example.test. 0 NONE RRSIG" }, SG_RCODE_REFUSED },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = run(z, &g_pol, g_key, NULL, bad[i].up);
        if (r.rcode != bad[i].rcode)
            fail_msg("bad case %zu: rcode %d, want %d (%s)", i, r.rcode, bad[i].rcode, r.why);
        done(&r);
    }
    /* the limited key: its allow line and nothing else */
    int acme = sg_upd_policy_key(&g_pol, sg_tsig_find(g_kr, "acme-key"));
    static const char *const k1[] = { "_acme-challenge.example.test. 60 IN TXT \"t\"",
                                      "www.example.test. 60 IN TXT \"t\"", NULL };
    r = run(z, &g_pol, acme, NULL, k1);
    assert_int_equal(r.rcode, SG_RCODE_REFUSED);
    done(&r);
    static const char *const k2[] = { "_acme-challenge.example.test. 60 IN TXT \"t\"", NULL };
    r = run(z, &g_pol, acme, NULL, k2);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    assert_int_equal(count(r.z, "_acme-challenge.example.test.", SG_TYPE_TXT), 1);
    done(&r);
    sg_upd_policy_deinit(&g_pol);
    sg_zone_free(z);
}

/* ---- the difference as text, replayed ---------------------------------------------------- */

static void test_replay(void **state)
{
    (void)state;
    sg_zone *z = load_zone();
    open_policy();
    static const char *const up[] = { "new.example.test. 60 IN A 192.0.2.9", "www.example.test. ANY TXT",
                                      "www.example.test. 0 NONE A 192.0.2.80", NULL };
    result r = run(z, &g_pol, g_key, NULL, up);
    assert_int_equal(r.rcode, SG_RCODE_NOERROR);
    char *text = sg_upd_diff_text(r.diff);
    assert_non_null(text);
    ldns_rr_list *back = NULL;
    assert_int_equal(sg_upd_diff_parse(text, &back), 0);
    sg_zone *again = NULL;
    char why[256];
    assert_int_equal(sg_upd_replay(z, back, &again, why, sizeof why), 0);
    assert_int_equal(again->serial, r.z->serial);
    assert_int_equal(again->nrecords, r.z->nrecords);
    assert_int_equal(count(again, "new.example.test.", SG_TYPE_A), 1);
    assert_int_equal(count(again, "www.example.test.", SG_TYPE_TXT), 0);
    assert_int_equal(count(again, "www.example.test.", SG_TYPE_A), 1);
    /* on the wrong base (the new version itself) it does not apply */
    sg_zone *wrong = NULL;
    ldns_rr_list_deep_free(back);
    assert_int_equal(sg_upd_diff_parse(text, &back), 0);
    assert_int_equal(sg_upd_replay(r.z, back, &wrong, why, sizeof why), SG_EZONE);
    assert_null(wrong);
    ldns_rr_list_deep_free(back);
    back = NULL;
    assert_int_equal(sg_upd_diff_parse("garbage\n", &back), SG_EMALFORMED);
    assert_null(back);
    free(text);
    sg_zone_free(again);
    done(&r);
    sg_upd_policy_deinit(&g_pol);
    sg_zone_free(z);
}

/* two updates, the second on the first's version, replayed in one build */
static void test_replay_set(void **state)
{
    (void)state;
    sg_zone *z = load_zone();
    open_policy();
    static const char *const u1[] = { "a.example.test. 60 IN A 192.0.2.1", NULL };
    static const char *const u2[] = { "a.example.test. ANY A", "b.example.test. 60 IN TXT \"b\"", NULL };
    result r1 = run(z, &g_pol, g_key, NULL, u1);
    result r2 = run(r1.z, &g_pol, g_key, NULL, u2);
    assert_int_equal(r2.rcode, SG_RCODE_NOERROR);
    char *t1 = sg_upd_diff_text(r1.diff), *t2 = sg_upd_diff_text(r2.diff);
    sg_upd_replay_set set;
    sg_upd_replay_init(&set);
    char why[256];
    assert_int_equal(sg_upd_replay_add(&set, z->serial, r1.z->serial, t1, why, sizeof why), 0);
    assert_int_equal(sg_upd_replay_add(&set, r1.z->serial, r2.z->serial, t2, why, sizeof why), 0);
    sg_zone *v = NULL;
    assert_int_equal(sg_upd_replay_finish(&set, z, &v, why, sizeof why), 0);
    assert_int_equal(v->serial, r2.z->serial);
    assert_int_equal(count(v, "a.example.test.", SG_TYPE_A), 0);
    assert_int_equal(count(v, "b.example.test.", SG_TYPE_TXT), 1);
    sg_zone_free(v);
    /* a gap, and a journal that does not start at the file's serial */
    sg_upd_replay_init(&set);
    assert_int_equal(sg_upd_replay_add(&set, r1.z->serial, r2.z->serial, t2, why, sizeof why), 0);
    assert_int_equal(sg_upd_replay_finish(&set, z, &v, why, sizeof why), SG_EZONE);
    assert_null(v);
    sg_upd_replay_init(&set);
    assert_int_equal(sg_upd_replay_add(&set, z->serial, r1.z->serial, t1, why, sizeof why), 0);
    assert_int_equal(sg_upd_replay_add(&set, z->serial, r1.z->serial, t1, why, sizeof why), SG_EZONE);
    assert_int_equal(sg_upd_replay_finish(&set, z, &v, why, sizeof why), SG_EZONE);
    sg_upd_replay_init(&set);
    assert_int_equal(sg_upd_replay_finish(&set, z, &v, why, sizeof why), SG_ENOTFOUND);
    free(t1);
    free(t2);
    done(&r2);
    done(&r1);
    sg_upd_policy_deinit(&g_pol);
    sg_zone_free(z);
}

/* ---- the journal ------------------------------------------------------------------------ */

static int collect(void *arg, uint32_t from, uint32_t to, const char *diff)
{
    char *s = arg;
    char line[128];
    snprintf(line, sizeof line, "%u-%u:%s;", from, to, diff);
    strcat(s, line);
    return 0;
}

static void test_journal(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/j.db", g_dir);
    sg_upd_journal *j = NULL;
    assert_int_equal(sg_upd_journal_open(path, &j), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(sg_upd_journal_append(j, "a.test.", 1, 2, NOW, "k.", "one"), 0);
    assert_int_equal(sg_upd_journal_append(j, "b.test.", 7, 8, NOW, "k.", "other"), 0);
    assert_int_equal(sg_upd_journal_append(j, "a.test.", 2, 3, NOW, "k.", "two"), 0);
    sg_upd_journal_close(j);
    /* durable: a new handle reads it back, in order, per zone */
    assert_int_equal(sg_upd_journal_open(path, &j), 0);
    assert_int_equal(sg_upd_journal_count(j, "a.test."), 2);
    char got[512] = "";
    assert_int_equal(sg_upd_journal_each(j, "a.test.", collect, got), 0);
    assert_string_equal(got, "1-2:one;2-3:two;");
    assert_int_equal(sg_upd_journal_drop(j, "a.test."), 0);
    assert_int_equal(sg_upd_journal_count(j, "a.test."), 0);
    assert_int_equal(sg_upd_journal_count(j, "b.test."), 1);
    sg_upd_journal_close(j);
    assert_int_equal(sg_upd_journal_open("/nonexistent-dir/j.db", &j), SG_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_prerequisites),
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_set),
        cmocka_unit_test(test_journal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
