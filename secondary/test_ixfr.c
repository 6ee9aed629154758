/* SPDX-License-Identifier: MIT */
/* Unit tests for incoming transfers as data: RFC 1982 serial arithmetic, where AXFR and
 * IXFR responses end, RFC 1995 differences applied to a zone version (and refused when
 * they do not fit it), full zones from AXFR, and the persisted copy written back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secondary/ixfr.h"
#include "zones/serial.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t APEX[] = "\3sec\4test";

/* ---- serials (RFC 1982 3.2) -------------------------------------------------------- */

static void test_serial_cmp(void **st)
{
    (void)st;
    static const struct { uint32_t a, b; int want; } cases[] = {
        { 1, 1, 0 },
        { 1, 2, -1 },
        { 2, 1, 1 },
        { 0xffffffffu, 0, -1 },          /* 0 follows 2^32-1: the wrap */
        { 0, 0xffffffffu, 1 },
        { 0x7fffffffu, 0, 1 },           /* 2^31 - 1 ahead: still newer */
        { 0, 0x7fffffffu, -1 },
        { 0, 0x80000000u, 2 },           /* exactly 2^31 apart: undefined */
        { 0x80000000u, 0, 2 },
        { 0x80000001u, 0, -1 },          /* more than 2^31 ahead means behind */
        { 2026112601u, 2026112600u, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sg_serial_cmp(cases[i].a, cases[i].b), cases[i].want);
        assert_int_equal(sg_serial_newer(cases[i].a, cases[i].b), cases[i].want == 1);
    }
}

/* ---- helpers ------------------------------------------------------------------------ */

static ldns_rr_list *rr_list(const char *const *lines)
{
    ldns_rr_list *l = ldns_rr_list_new();
    for (int i = 0; lines[i]; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, lines[i], 60, NULL, NULL), LDNS_STATUS_OK);
        ldns_rr_list_push_rr(l, rr);
    }
    return l;
}

/* Is the record (presentation form) in the zone, with that TTL? */
static int has(const sg_zone *z, const char *line)
{
    ldns_rr *rr = NULL;
    assert_int_equal(ldns_rr_new_frm_str(&rr, line, 60, NULL, NULL), LDNS_STATUS_OK);
    ldns_rr2canonical(rr);
    ldns_buffer *b = ldns_buffer_new(65536);
    assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
    const sg_node *n = sg_zone_find(z, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rdf_size(ldns_rr_owner(rr)));
    const sg_rrset *rs = n ? sg_node_rrset(n, (uint16_t)ldns_rr_get_type(rr)) : NULL;
    int found = 0;
    if (rs && rs->ttl == ldns_rr_ttl(rr)) {
        const uint8_t *p = rs->rdata;
        for (uint16_t i = 0; i < rs->count; i++, p += 2 + sg_rdlen(p))
            if (sg_rdlen(p) == ldns_buffer_position(b) && !memcmp(p + 2, ldns_buffer_begin(b), sg_rdlen(p)))
                found = 1;
    }
    ldns_buffer_free(b);
    ldns_rr_free(rr);
    return found;
}

#define SOA(n) "sec.test. 60 IN SOA ns1.sec.test. hostmaster.sec.test. " #n " 2 2 600 30"

static const char *const BASE[] = {
    SOA(1),
    "sec.test. 60 IN NS ns1.sec.test.",
    "ns1.sec.test. 60 IN A 127.0.0.1",
    "www.sec.test. 60 IN A 192.0.2.1",
    "www.sec.test. 60 IN A 192.0.2.9",
    "mail.sec.test. 60 IN MX 10 www.sec.test.",
    SOA(1),
    NULL,
};

static sg_zone *base_zone(void)
{
    ldns_rr_list *l = rr_list(BASE);
    sg_zone *z = NULL;
    assert_int_equal(sg_xfr_build_full(APEX, l, "AXFR from test", &z), 0);
    ldns_rr_list_deep_free(l);
    return z;
}

/* What max-size holds a zone to: each record once, uncompressed, as an AXFR without
 * name compression would carry it (by hand: SOA 75, NS 34, three A 28, MX 41). */
static void test_zone_bytes(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    ldns_rr_list *l = rr_list(BASE);
    size_t want = 0;
    for (size_t i = 0; i + 1 < ldns_rr_list_rr_count(l); i++) {
        uint8_t *w = NULL;
        size_t n = 0;
        assert_int_equal(ldns_rr2wire(&w, ldns_rr_list_rr(l, i), LDNS_SECTION_ANSWER, &n), LDNS_STATUS_OK);
        want += n;
        free(w);
    }
    assert_int_equal(want, 234);
    assert_int_equal(sg_xfr_zone_bytes(z), 234);
    ldns_rr_list_deep_free(l);
    sg_zone_free(z);
}

/* ---- where a response ends ------------------------------------------------------------ */

static int feed(sg_xfr_track *t, const char *const *lines, size_t *done_at)
{
    ldns_rr_list *l = rr_list(lines);
    int rc = 0;
    *done_at = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        rc = sg_xfr_track_rr(t, (uint16_t)ldns_rr_get_type(rr), sg_xfr_soa_serial(rr));
        if (rc < 0)
            break;
        if (rc == 1 && !*done_at)
            *done_at = i + 1;
    }
    ldns_rr_list_deep_free(l);
    return rc;
}

static void test_track_axfr(void **st)
{
    (void)st;
    sg_xfr_track t;
    size_t at;
    sg_xfr_track_init(&t, 0, 0);
    assert_int_equal(feed(&t, BASE, &at), 1);
    assert_int_equal(at, 7);
    assert_int_equal(t.kind, SG_XFR_FULL);
    /* not an SOA first */
    static const char *const bad1[] = { "sec.test. 60 IN NS ns1.sec.test.", NULL };
    sg_xfr_track_init(&t, 0, 0);
    assert_int_equal(feed(&t, bad1, &at), SG_EMALFORMED);
    /* the closing SOA with another serial */
    static const char *const bad2[] = { SOA(5), "sec.test. 60 IN NS ns1.sec.test.", SOA(6), NULL };
    sg_xfr_track_init(&t, 0, 0);
    assert_int_equal(feed(&t, bad2, &at), SG_EMALFORMED);
    /* a record after the end */
    static const char *const bad3[] = { SOA(5), "sec.test. 60 IN NS ns1.sec.test.", SOA(5),
                                        "www.sec.test. 60 IN A 192.0.2.1", NULL };
    sg_xfr_track_init(&t, 0, 0);
    assert_int_equal(feed(&t, bad3, &at), SG_EMALFORMED);
}

static const char *const TWO_DIFFS[] = {
    SOA(3),
    SOA(1),                                   /* 1 -> 2: www loses .9, gains .2 */
    "www.sec.test. 60 IN A 192.0.2.9",
    SOA(2),
    "WWW.Sec.Test. 60 IN A 192.0.2.2",
    SOA(2),                                   /* 2 -> 3: mail goes, a TXT comes */
    "mail.sec.test. 60 IN MX 10 WWW.sec.test.",
    SOA(3),
    "new.sec.test. 120 IN TXT \"hello\"",
    SOA(3),
    NULL,
};

static void test_track_ixfr(void **st)
{
    (void)st;
    sg_xfr_track t;
    size_t at;
    sg_xfr_track_init(&t, 1, 1);
    assert_int_equal(feed(&t, TWO_DIFFS, &at), 1);
    assert_int_equal(at, 10);     /* SOA(3) opening the last additions is not the end */
    assert_int_equal(t.kind, SG_XFR_INCREMENTAL);

    /* an IXFR answered with the whole zone */
    sg_xfr_track_init(&t, 1, 0);
    assert_int_equal(feed(&t, BASE, &at), 1);
    assert_int_equal(t.kind, SG_XFR_FULL);

    /* a lone SOA not newer than ours: up to date at the end of the message */
    static const char *const lone[] = { SOA(1), NULL };
    sg_xfr_track_init(&t, 1, 1);
    assert_int_equal(feed(&t, lone, &at), 0);
    assert_int_equal(sg_xfr_track_message_end(&t), 1);
    assert_int_equal(t.kind, SG_XFR_UPTODATE);
    /* a lone newer SOA is not an answer yet (the rest may follow) */
    static const char *const lone_newer[] = { SOA(4), NULL };
    sg_xfr_track_init(&t, 1, 1);
    assert_int_equal(feed(&t, lone_newer, &at), 0);
    assert_int_equal(sg_xfr_track_message_end(&t), 0);

    /* differences that do not chain: 1 -> 2, then one from 5 */
    static const char *const broken[] = { SOA(3), SOA(1), SOA(2), "x.sec.test. 60 IN A 192.0.2.7", SOA(5),
                                          SOA(3), SOA(3), NULL };
    sg_xfr_track_init(&t, 1, 1);
    assert_int_equal(feed(&t, broken, &at), SG_EMALFORMED);
}

/* ---- differences applied -------------------------------------------------------------- */

static void test_apply_two_differences(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    ldns_rr_list *l = rr_list(TWO_DIFFS);
    sg_zone *nz = NULL;
    char why[256] = "";
    assert_int_equal(sg_ixfr_apply(z, l, "IXFR from test", &nz, why, sizeof why), 0);
    assert_non_null(nz);
    assert_int_equal(nz->serial, 3);
    assert_true(has(nz, SOA(3)));
    assert_false(has(nz, SOA(1)));
    assert_true(has(nz, "www.sec.test. 60 IN A 192.0.2.1"));
    assert_true(has(nz, "www.sec.test. 60 IN A 192.0.2.2"));
    assert_false(has(nz, "www.sec.test. 60 IN A 192.0.2.9"));
    assert_null(sg_zone_find(nz, (const uint8_t *)"\4mail\3sec\4test", sizeof "\4mail\3sec\4test"));
    assert_true(has(nz, "new.sec.test. 120 IN TXT \"hello\""));
    assert_true(has(nz, "ns1.sec.test. 60 IN A 127.0.0.1"));
    assert_int_equal(nz->nrecords, 6);
    /* the base version is untouched: it may still be serving */
    assert_int_equal(z->serial, 1);
    assert_true(has(z, "www.sec.test. 60 IN A 192.0.2.9"));
    assert_true(has(z, "mail.sec.test. 60 IN MX 10 www.sec.test."));
    assert_true(nz->gen != z->gen);
    sg_zone_free(nz);
    ldns_rr_list_deep_free(l);
    sg_zone_free(z);
}

static void test_apply_ttl_change_and_new_name(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    static const char *const diff[] = {
        SOA(2), SOA(1),
        "www.sec.test. 60 IN A 192.0.2.1", "www.sec.test. 60 IN A 192.0.2.9",
        SOA(2),
        "www.sec.test. 300 IN A 192.0.2.1", "www.sec.test. 300 IN A 192.0.2.9",
        "a.b.c.sec.test. 60 IN AAAA 2001:db8::1",
        SOA(2), NULL,
    };
    ldns_rr_list *l = rr_list(diff);
    sg_zone *nz = NULL;
    char why[256] = "";
    assert_int_equal(sg_ixfr_apply(z, l, "IXFR from test", &nz, why, sizeof why), 0);
    assert_true(has(nz, "www.sec.test. 300 IN A 192.0.2.1"));
    assert_true(has(nz, "a.b.c.sec.test. 60 IN AAAA 2001:db8::1"));
    /* the empty non-terminals the new name brings */
    const sg_node *ent = sg_zone_find(nz, (const uint8_t *)"\1b\1c\3sec\4test", sizeof "\1b\1c\3sec\4test");
    assert_non_null(ent);
    assert_int_equal(ent->nrrsets, 0);
    sg_zone_free(nz);
    ldns_rr_list_deep_free(l);
    sg_zone_free(z);
}

/* Records coming and going across differences: one added by an earlier difference is
 * deleted by a later one, one deleted comes back, one added while there takes the new
 * TTL; a record deleted twice is refused. */
static void test_apply_records_across_differences(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    static const char *const diff[] = {
        SOA(4),
        SOA(1), "www.sec.test. 60 IN A 192.0.2.9",
        SOA(2), "x.sec.test. 60 IN A 192.0.2.5", "ns1.sec.test. 90 IN A 127.0.0.1",
        SOA(2), "x.sec.test. 60 IN A 192.0.2.5",
        SOA(3), "www.sec.test. 60 IN A 192.0.2.9",
        SOA(3),
        SOA(4), "x.sec.test. 60 IN A 192.0.2.6",
        SOA(4), NULL,
    };
    ldns_rr_list *l = rr_list(diff);
    sg_zone *nz = NULL;
    char why[256] = "";
    assert_int_equal(sg_ixfr_apply(z, l, "IXFR from test", &nz, why, sizeof why), 0);
    assert_true(has(nz, SOA(4)));
    assert_false(has(nz, SOA(3)));
    assert_true(has(nz, "www.sec.test. 60 IN A 192.0.2.9"));
    assert_true(has(nz, "www.sec.test. 60 IN A 192.0.2.1"));
    assert_true(has(nz, "ns1.sec.test. 90 IN A 127.0.0.1"));
    assert_false(has(nz, "x.sec.test. 60 IN A 192.0.2.5"));
    assert_true(has(nz, "x.sec.test. 60 IN A 192.0.2.6"));
    assert_int_equal(nz->nrecords, 7);
    sg_zone_free(nz);
    ldns_rr_list_deep_free(l);

    static const char *const twice[] = {
        SOA(3),
        SOA(1), "www.sec.test. 60 IN A 192.0.2.9", SOA(2),
        SOA(2), "www.sec.test. 60 IN A 192.0.2.9", SOA(3),
        SOA(3), NULL,
    };
    l = rr_list(twice);
    sg_log_set_level(SG_LOG_SILENT);
    assert_int_equal(sg_ixfr_apply(z, l, "IXFR from test", &nz, why, sizeof why), SG_EZONE);
    sg_log_set_level(SG_LOG_INFO);
    assert_non_null(strstr(why, "deletes a record of www.sec.test."));
    ldns_rr_list_deep_free(l);
    sg_zone_free(z);
}

static void test_apply_refuses_what_does_not_fit(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    static const struct { const char *name; const char *const lines[8]; const char *why; } cases[] = {
        { "deletes a record that is not there",
          { SOA(2), SOA(1), "www.sec.test. 60 IN A 192.0.2.77", SOA(2), SOA(2), NULL },
          "deletes a record of www.sec.test." },
        { "starts from another serial",
          { SOA(3), SOA(2), SOA(3), "x.sec.test. 60 IN A 192.0.2.7", SOA(3), NULL },
          "starts at serial 2, not at 1" },
        { "ends elsewhere than announced",
          { SOA(4), SOA(1), SOA(2), SOA(4), NULL },
          "do not lead to serial 4" },
        { "leaves the zone without NS",
          { SOA(2), SOA(1), "sec.test. 60 IN NS ns1.sec.test.", SOA(2), SOA(2), NULL },
          "fails the zone checks" },
        { "adds a record outside the zone",
          { SOA(2), SOA(1), SOA(2), "www.other.test. 60 IN A 192.0.2.7", SOA(2), NULL },
          "cannot hold" },
    };
    sg_log_set_level(SG_LOG_SILENT);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ldns_rr_list *l = rr_list(cases[i].lines);
        sg_zone *nz = NULL;
        char why[256] = "";
        int rc = sg_ixfr_apply(z, l, "IXFR from test", &nz, why, sizeof why);
        if (rc != SG_EZONE || !strstr(why, cases[i].why))
            fail_msg("%s: rc %d, why '%s'", cases[i].name, rc, why);
        assert_null(nz);
        ldns_rr_list_deep_free(l);
    }
    sg_log_set_level(SG_LOG_INFO);
    assert_true(has(z, "www.sec.test. 60 IN A 192.0.2.9"));
    sg_zone_free(z);
}

/* ---- full zones and the persisted copy -------------------------------------------------- */

static void test_full_zone_checks(void **st)
{
    (void)st;
    static const char *const outside[] = { SOA(1), "sec.test. 60 IN NS ns1.sec.test.",
                                           "www.example.org. 60 IN A 192.0.2.1", SOA(1), NULL };
    ldns_rr_list *l = rr_list(outside);
    sg_zone *z = NULL;
    sg_log_set_level(SG_LOG_SILENT);
    assert_int_equal(sg_xfr_build_full(APEX, l, "AXFR from test", &z), SG_EZONE);
    sg_log_set_level(SG_LOG_INFO);
    assert_null(z);
    ldns_rr_list_deep_free(l);
}

static void test_write_and_load_back(void **st)
{
    (void)st;
    sg_zone *z = base_zone();
    char dir[] = "/tmp/signet-ixfr-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/sec.test.zone", dir);
    assert_int_equal(sg_zone_write_file(z, path), 0);
    sg_zone *back = NULL;
    assert_int_equal(sg_zone_load_file(path, "sec.test.", &back), 0);
    assert_int_equal(back->serial, 1);
    assert_int_equal(back->nrecords, z->nrecords);
    for (int i = 1; BASE[i + 1]; i++)
        assert_true(has(back, BASE[i]));
    /* no temporary file left behind */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    unlink(path);
    rmdir(dir);
    sg_zone_free(back);
    sg_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_cmp),
        cmocka_unit_test(test_zone_bytes),
        cmocka_unit_test(test_track_axfr),
        cmocka_unit_test(test_track_ixfr),
        cmocka_unit_test(test_apply_two_differences),
        cmocka_unit_test(test_apply_ttl_change_and_new_name),
        cmocka_unit_test(test_apply_records_across_differences),
        cmocka_unit_test(test_apply_refuses_what_does_not_fit),
        cmocka_unit_test(test_full_zone_checks),
        cmocka_unit_test(test_write_and_load_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
