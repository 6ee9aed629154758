/* SPDX-License-Identifier: MIT */
/* Unit tests for response rate limiting: the bucket arithmetic on a simulated clock,
 * prefixes, classes, slip, exempt networks and the option parser. */
#include "daemon/rrl.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define SEC 1000000000ull

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    inet_pton(AF_INET, a, &s->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &s->sin6_addr);
    return ss;
}

static sg_rrl_cfg base_cfg(uint32_t rate, uint32_t slip, uint32_t window)
{
    sg_rrl_cfg c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < SG_RRL_NCLASS; i++)
        c.rate[i] = rate;
    c.slip = slip;
    c.window = window;
    c.ipv4_prefix = 24;
    c.ipv6_prefix = 56;
    c.table_size = 1024;
    return c;
}

static const uint8_t WWW[] = "\3www\7example\4test";

/* n replies for one (client, class, name) at time t; counts of each action */
static void burst(sg_rrl *r, const struct sockaddr_storage *c, sg_rrl_class cls, int n,
                  uint64_t t, int out[3])
{
    out[0] = out[1] = out[2] = 0;
    for (int i = 0; i < n; i++)
        out[sg_rrl_account(r, (const struct sockaddr *)c, cls, WWW, sizeof WWW, 1, t)]++;
}

static void bucket_math(void **unused)
{
    (void)unused;
    sg_rrl_cfg cfg = base_cfg(10, 0, 2);
    sg_rrl *r = sg_rrl_new(&cfg);
    assert_non_null(r);
    struct sockaddr_storage c = v4("192.0.2.1");
    int got[3];
    uint64_t t = 1000 * SEC;
    /* a full bucket: one second's worth passes at once, the rest is limited */
    burst(r, &c, SG_RRL_ANSWER, 25, t, got);
    assert_int_equal(got[SG_RRL_PASS], 10);
    assert_int_equal(got[SG_RRL_DROP], 15);
    /* debt: 25 debited against 10 → -15 (floor -20 with window 2). 1 s later +10 → -5:
     * still nothing passes */
    burst(r, &c, SG_RRL_ANSWER, 1, t + SEC, got);
    assert_int_equal(got[SG_RRL_PASS], 0);
    /* that reply cost one more: -6; a reply passes once the balance after its debit is
     * not negative: +6 is not enough, +7 is */
    burst(r, &c, SG_RRL_ANSWER, 1, t + SEC + 600000000ull, got);
    assert_int_equal(got[SG_RRL_PASS], 0); /* -6 + 6 - 1 = -1 */
    burst(r, &c, SG_RRL_ANSWER, 1, t + SEC + 800000000ull, got);
    assert_int_equal(got[SG_RRL_PASS], 1); /* -1 + 2 - 1 = 0 */
    /* a steady rate at the limit always passes */
    uint64_t u = t + 100 * SEC;
    int passed = 0;
    for (int i = 0; i < 100; i++)
        passed += sg_rrl_account(r, (struct sockaddr *)&c, SG_RRL_ANSWER, WWW, sizeof WWW, 1,
                                 u + (uint64_t)i * SEC / 10) == SG_RRL_PASS;
    assert_int_equal(passed, 100);
    /* the burst never exceeds one second's worth, however long the pause */
    burst(r, &c, SG_RRL_ANSWER, 30, u + 1000 * SEC, got);
    assert_int_equal(got[SG_RRL_PASS], 10);
    sg_rrl_free(r);
}

static void debt_floor(void **unused)
{
    (void)unused;
    /* a long flood leaves at most `window` seconds of debt */
    sg_rrl_cfg cfg = base_cfg(5, 0, 3);
    sg_rrl *r = sg_rrl_new(&cfg);
    struct sockaddr_storage c = v4("198.51.100.7");
    int got[3];
    uint64_t t = 50 * SEC;
    burst(r, &c, SG_RRL_ANSWER, 100000, t, got);
    assert_int_equal(got[SG_RRL_PASS], 5);
    /* floor -15: 3 s later +15 - 1 → -1: dropped; 0.4 s more +2 - 1 → 0: passes */
    burst(r, &c, SG_RRL_ANSWER, 1, t + 3 * SEC, got);
    assert_int_equal(got[SG_RRL_PASS], 0);
    burst(r, &c, SG_RRL_ANSWER, 1, t + 3 * SEC + 400000000ull, got);
    assert_int_equal(got[SG_RRL_PASS], 1);
    sg_rrl_free(r);
}

static void prefixes_and_keys(void **unused)
{
    (void)unused;
    sg_rrl_cfg cfg = base_cfg(3, 0, 5);
    sg_rrl *r = sg_rrl_new(&cfg);
    int got[3];
    uint64_t t = 7 * SEC;
    struct sockaddr_storage a = v4("203.0.113.1"), b = v4("203.0.113.250"),
                            other = v4("203.0.114.1");
    burst(r, &a, SG_RRL_ANSWER, 3, t, got);
    assert_int_equal(got[SG_RRL_PASS], 3);
    /* same /24: same bucket, already empty */
    burst(r, &b, SG_RRL_ANSWER, 1, t, got);
    assert_int_equal(got[SG_RRL_PASS], 0);
    /* another /24: its own bucket */
    burst(r, &other, SG_RRL_ANSWER, 3, t, got);
    assert_int_equal(got[SG_RRL_PASS], 3);
    /* another class for the same client: its own bucket */
    burst(r, &a, SG_RRL_NXDOMAIN, 3, t, got);
    assert_int_equal(got[SG_RRL_PASS], 3);
    /* another name: its own bucket */
    static const uint8_t mail[] = "\4mail\7example\4test";
    assert_int_equal(sg_rrl_account(r, (struct sockaddr *)&a, SG_RRL_ANSWER, mail, sizeof mail, 1, t),
                     SG_RRL_PASS);
    /* another type of the same name: its own bucket */
    assert_int_equal(sg_rrl_account(r, (struct sockaddr *)&a, SG_RRL_ANSWER, WWW, sizeof WWW, 28, t),
                     SG_RRL_PASS);
    /* IPv6: /56 shares, the next /56 does not */
    struct sockaddr_storage x = v6("2001:db8:0:100::1"), y = v6("2001:db8:0:1ff::2"),
                            z = v6("2001:db8:0:200::1");
    burst(r, &x, SG_RRL_ANSWER, 3, t, got);
    assert_int_equal(got[SG_RRL_PASS], 3);
    burst(r, &y, SG_RRL_ANSWER, 1, t, got);
    assert_int_equal(got[SG_RRL_PASS], 0);
    burst(r, &z, SG_RRL_ANSWER, 1, t, got);
    assert_int_equal(got[SG_RRL_PASS], 1);
    /* an IPv4-mapped address is its IPv4 address */
    struct sockaddr_storage m = v6("::ffff:203.0.113.9");
    burst(r, &m, SG_RRL_ANSWER, 1, t, got);
    assert_int_equal(got[SG_RRL_PASS], 0);
    sg_rrl_free(r);
}

static void slip_every_nth(void **unused)
{
    (void)unused;
    for (uint32_t slip = 0; slip <= 3; slip++) {
        sg_rrl_cfg cfg = base_cfg(4, slip, 5);
        sg_rrl *r = sg_rrl_new(&cfg);
        struct sockaddr_storage c = v4("192.0.2.9");
        sg_rrl_action seq[16];
        for (int i = 0; i < 16; i++)
            seq[i] = sg_rrl_account(r, (struct sockaddr *)&c, SG_RRL_ERROR, NULL, 0, 0, SEC);
        for (int i = 0; i < 4; i++)
            assert_int_equal(seq[i], SG_RRL_PASS);
        for (int i = 4; i < 16; i++) {
            int nth = i - 3; /* 1-based among the limited */
            sg_rrl_action want = slip && nth % (int)slip == 0 ? SG_RRL_SLIP : SG_RRL_DROP;
            assert_int_equal(seq[i], want);
        }
        sg_rrl_free(r);
    }
}

static void zero_rate_and_exempt(void **unused)
{
    (void)unused;
    sg_rrl_cfg cfg = base_cfg(1, 1, 5);
    cfg.rate[SG_RRL_REFERRAL] = 0;
    assert_int_equal(sg_rrl_parse_net("127.0.0.0/8", &cfg.exempt[0]), 0);
    assert_int_equal(sg_rrl_parse_net("::1", &cfg.exempt[1]), 0);
    assert_int_equal(sg_rrl_parse_net("2001:db8::/32", &cfg.exempt[2]), 0);
    cfg.nexempt = 3;
    sg_rrl *r = sg_rrl_new(&cfg);
    struct sockaddr_storage c = v4("192.0.2.1");
    int got[3];
    burst(r, &c, SG_RRL_REFERRAL, 100, SEC, got);
    assert_int_equal(got[SG_RRL_PASS], 100);
    struct sockaddr_storage lo = v4("127.0.0.1"), lo2 = v4("127.200.0.2"), one = v6("::1"),
                            doc = v6("2001:db8:ffff::1"), two = v6("::2"),
                            mapped = v6("::ffff:127.0.0.1"), out = v4("128.0.0.1");
    assert_true(sg_rrl_exempt(r, (struct sockaddr *)&lo));
    assert_true(sg_rrl_exempt(r, (struct sockaddr *)&lo2));
    assert_true(sg_rrl_exempt(r, (struct sockaddr *)&one));
    assert_true(sg_rrl_exempt(r, (struct sockaddr *)&doc));
    assert_true(sg_rrl_exempt(r, (struct sockaddr *)&mapped));
    assert_false(sg_rrl_exempt(r, (struct sockaddr *)&two));
    assert_false(sg_rrl_exempt(r, (struct sockaddr *)&out));
    assert_false(sg_rrl_exempt(r, (struct sockaddr *)&c));
    sg_rrl_free(r);
}

/* Many clients through a tiny table: it never grows, and a client alone in its bucket is
 * still limited. */
static void fixed_table(void **unused)
{
    (void)unused;
    sg_rrl_cfg cfg = base_cfg(2, 0, 5);
    cfg.table_size = 64;
    sg_rrl *r = sg_rrl_new(&cfg);
    char a[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(a, sizeof a, "10.%d.%d.1", (i >> 8) & 255, i & 255);
        struct sockaddr_storage c = v4(a);
        sg_rrl_account(r, (struct sockaddr *)&c, SG_RRL_ANSWER, WWW, sizeof WWW, 1, SEC);
    }
    struct sockaddr_storage c = v4("192.0.2.1");
    int got[3];
    burst(r, &c, SG_RRL_ANSWER, 10, 2 * SEC, got);
    assert_int_equal(got[SG_RRL_PASS], 2);
    sg_rrl_free(r);
}

static int parse(const char *text, sg_rrl_cfg *out)
{
    sg_cfg *cfg = NULL;
    int rc = sg_cfg_parse_string(text, "t", &cfg);
    if (rc)
        return rc;
    rc = sg_rrl_parse(&cfg->servers[0].children[0], out);
    sg_cfg_free(cfg);
    return rc;
}

static void parser(void **unused)
{
    (void)unused;
    sg_log_set_level(SG_LOG_SILENT);
    sg_rrl_cfg c;
    assert_int_equal(parse("a.test {\n rrl {\n  responses-per-second 20\n  errors-per-second 5\n"
                           "  slip 2\n  window 15\n  ipv4-prefix 24\n  ipv6-prefix 56\n"
                           "  exempt 127.0.0.0/8 ::1\n }\n}\n", &c), 0);
    assert_int_equal(c.rate[SG_RRL_ANSWER], 20);
    assert_int_equal(c.rate[SG_RRL_ERROR], 5);
    assert_int_equal(c.rate[SG_RRL_NXDOMAIN], 5);   /* defaults to errors */
    assert_int_equal(c.rate[SG_RRL_REFERRAL], 20);  /* defaults to responses */
    assert_int_equal(c.slip, 2);
    assert_int_equal(c.window, 15);
    assert_int_equal(c.nexempt, 2);
    assert_int_equal(c.exempt[0].bits, 8);
    assert_int_equal(c.exempt[1].bits, 128);
    assert_int_equal(parse("a.test {\n rrl {\n  nxdomains-per-second 10\n  slip 0\n }\n}\n", &c), 0);
    assert_int_equal(c.rate[SG_RRL_ANSWER], 20);
    assert_int_equal(c.rate[SG_RRL_NXDOMAIN], 10);
    assert_int_equal(c.slip, 0);
    assert_int_equal(parse("a.test {\n rrl\n}\n", &c), 0);
    assert_int_equal(c.window, 15);
    static const char *const bad[] = {
        "a.test {\n rrl {\n  slip 11\n }\n}\n",
        "a.test {\n rrl {\n  slip\n }\n}\n",
        "a.test {\n rrl {\n  window 0\n }\n}\n",
        "a.test {\n rrl {\n  ipv4-prefix 33\n }\n}\n",
        "a.test {\n rrl {\n  ipv6-prefix 0\n }\n}\n",
        "a.test {\n rrl {\n  exempt 10.0.0.0/33\n }\n}\n",
        "a.test {\n rrl {\n  exempt bogus\n }\n}\n",
        "a.test {\n rrl {\n  exempt\n }\n}\n",
        "a.test {\n rrl {\n  responses-per-second -1\n }\n}\n",
        "a.test {\n rrl {\n  nosuch 1\n }\n}\n",
        "a.test {\n rrl 5\n}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &c), SG_ESYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_math),    cmocka_unit_test(debt_floor),
        cmocka_unit_test(prefixes_and_keys), cmocka_unit_test(slip_every_nth),
        cmocka_unit_test(zero_rate_and_exempt), cmocka_unit_test(fixed_table),
        cmocka_unit_test(parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
