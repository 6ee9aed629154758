/* SPDX-License-Identifier: MIT */
/* Unit tests for query ACLs: first match wins, prefixes of every length in both families,
 * IPv4-mapped clients, query types, the default, and each config error with its line. */
#include "daemon/acl.h"
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

enum { T_A = 1, T_NS = 2, T_MX = 15, T_TXT = 16, T_AAAA = 28, T_ANY = 255 };

static struct sockaddr_storage addr(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, a, &s4->sin_addr) == 1)
        s4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1)
        s6->sin6_family = AF_INET6;
    return ss;
}

/* The acl of "example.test { acl ... }" in text; errors captured into err. */
static int parse(const char *text, sg_acl **out, char *err, size_t cap)
{
    sg_cfg *cfg = NULL;
    int rc = sg_cfg_parse_string(text, "t", &cfg);
    assert_int_equal(rc, 0);
    sg_log_capture_begin(err, cap);
    rc = sg_acl_parse(&cfg->servers[0].children[0], out);
    sg_log_capture_end();
    sg_cfg_free(cfg);
    return rc;
}

static sg_acl_action m(const sg_acl *a, const char *client, uint16_t type)
{
    struct sockaddr_storage ss = addr(client);
    return sg_acl_match(a, (const struct sockaddr *)&ss, type);
}

static void first_match_wins(void **unused)
{
    char err[512];
    sg_acl *a = NULL;
    assert_int_equal(parse("example.test {\n acl {\n"
                           "  allow net 127.0.0.1\n"
                           "  block type AAAA net 127.0.0.0/8\n"
                           "  filter type TXT MX\n"
                           "  drop net 127.0.0.0/8 ::1\n"
                           " }\n}\n", &a, err, sizeof err), 0);
    assert_int_equal(sg_acl_nrules(a), 4);
    assert_int_equal(m(a, "127.0.0.1", T_AAAA), SG_ACL_ALLOW); /* the first rule, not the second */
    assert_int_equal(m(a, "127.0.0.2", T_AAAA), SG_ACL_BLOCK);
    assert_int_equal(m(a, "127.0.0.2", T_TXT), SG_ACL_FILTER);
    assert_int_equal(m(a, "192.0.2.9", T_MX), SG_ACL_FILTER);  /* no net: every client */
    assert_int_equal(m(a, "127.0.0.2", T_A), SG_ACL_DROP);
    assert_int_equal(m(a, "::1", T_A), SG_ACL_DROP);
    assert_int_equal(m(a, "::2", T_A), SG_ACL_ALLOW);          /* nothing matches: allow */
    assert_int_equal(m(a, "192.0.2.9", T_A), SG_ACL_ALLOW);
    sg_acl_free(a);
}

static void prefixes(void **unused)
{
    static const struct {
        const char *net, *in, *out;
    } cases[] = {
        { "10.0.0.0/8", "10.255.255.255", "11.0.0.0" },
        { "192.0.2.128/25", "192.0.2.200", "192.0.2.127" },
        { "192.0.2.1/31", "192.0.2.0", "192.0.2.2" },     /* the address is masked */
        { "192.0.2.7/32", "192.0.2.7", "192.0.2.6" },
        { "0.0.0.0/0", "203.0.113.1", "2001:db8::1" },    /* every IPv4 client, no IPv6 one */
        { "2001:db8::/32", "2001:db8:ffff::1", "2001:db9::1" },
        { "2001:db8:0:80::/57", "2001:db8:0:ff::1", "2001:db8:0:7f::1" },
        { "::/0", "2001:db8::1", "192.0.2.1" },
        { "fe80::1", "fe80::1", "fe80::2" },
        { "192.0.2.0/24", "::ffff:192.0.2.5", "::ffff:192.0.3.5" }, /* mapped: IPv4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256], err[512];
        snprintf(text, sizeof text, "example.test {\n acl {\n  block net %s\n }\n}\n", cases[i].net);
        sg_acl *a = NULL;
        assert_int_equal(parse(text, &a, err, sizeof err), 0);
        if (m(a, cases[i].in, T_A) != SG_ACL_BLOCK || m(a, cases[i].out, T_A) != SG_ACL_ALLOW)
            fail_msg("%s: %s should match, %s not", cases[i].net, cases[i].in, cases[i].out);
        sg_acl_free(a);
    }
}

static void stars_and_types(void **unused)
{
    char err[512];
    sg_acl *a = NULL;
    assert_int_equal(parse("example.test {\n acl {\n"
                           "  allow type ANY net 192.0.2.0/24\n"
                           "  block type ANY NS net *\n"
                           "  drop type * net 198.51.100.0/24\n"
                           "  filter type TYPE65534\n"
                           " }\n}\n", &a, err, sizeof err), 0);
    assert_int_equal(m(a, "192.0.2.1", T_ANY), SG_ACL_ALLOW);
    assert_int_equal(m(a, "203.0.113.1", T_ANY), SG_ACL_BLOCK);
    assert_int_equal(m(a, "2001:db8::1", T_NS), SG_ACL_BLOCK);
    assert_int_equal(m(a, "198.51.100.7", T_TXT), SG_ACL_DROP);
    assert_int_equal(m(a, "203.0.113.1", 65534), SG_ACL_FILTER);
    assert_int_equal(m(a, "203.0.113.1", T_A), SG_ACL_ALLOW);
    /* a client of another family (a unix socket, say) is allowed */
    struct sockaddr_storage un;
    memset(&un, 0, sizeof un);
    un.ss_family = AF_UNIX;
    assert_int_equal(sg_acl_match(a, (const struct sockaddr *)&un, T_ANY), SG_ACL_ALLOW);
    assert_int_equal(sg_acl_match(NULL, (const struct sockaddr *)&un, T_ANY), SG_ACL_ALLOW);
    sg_acl_free(a);
    sg_acl_free(NULL);
}

static void config_errors(void **unused)
{
    static const struct {
        const char *rules; /* the lines inside acl { }; the first starts on line 3 */
        const char *says;
    } cases[] = {
        { "  permit net 10.0.0.0/8\n", "t:3: acl: unknown action 'permit'" },
        { "  block net 10.0.0.0/33\n", "t:3: acl: '10.0.0.0/33' is not an IPv4" },
        { "  block net 2001:db8::/129\n", "'2001:db8::/129' is not" },
        { "  block net 10.0.0.0/\n", "'10.0.0.0/' is not" },
        { "  block net 10.0.0.0/-1\n", "'10.0.0.0/-1' is not" },
        { "  block net example.test\n", "'example.test' is not" },
        { "  block type BOGUS\n", "t:3: acl: 'BOGUS' is not a query type" },
        { "  block type\n", "'type' needs at least one QTYPE" },
        { "  block net\n", "'net' needs at least one address" },
        { "  block type A net\n", "'net' needs at least one address" },
        { "  block 10.0.0.0/8\n", "'10.0.0.0/8': expected 'type QTYPE...' or 'net PREFIX...'" },
        { "  block type A type AAAA\n", "'type' given twice" },
        { "  allow net 10.0.0.1\n  drop net nope\n", "t:4: acl: 'nope' is not" },
        { "  block {\n  }\n", "acl: block takes no block" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], err[1024] = "";
        snprintf(text, sizeof text, "example.test {\n acl {\n%s }\n}\n", cases[i].rules);
        sg_acl *a = (sg_acl *)1;
        int rc = parse(text, &a, err, sizeof err);
        if (rc != SG_ESYNTAX || a != NULL || !strstr(err, cases[i].says))
            fail_msg("case %zu: rc %d, said '%s', expected '%s'", i, rc, err, cases[i].says);
    }
    char err[512] = "";
    sg_acl *a = NULL;
    assert_int_equal(parse("example.test {\n acl\n}\n", &a, err, sizeof err), SG_ESYNTAX);
    assert_non_null(strstr(err, "t:2: acl: expected a block of rules"));
}

int main(void)
{
    sg_log_set_level(SG_LOG_SILENT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_match_wins),
        cmocka_unit_test(prefixes),
        cmocka_unit_test(stars_and_types),
        cmocka_unit_test(config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
