/* SPDX-License-Identifier: MIT */
/* Unit tests for the `secondary` directive's parser: primaries, key, persisted copies,
 * and an error with file:line for each mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secondary/secondary_plugin.h"
#include "common/cfg.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *body, int nzones, sg_secondary_cfg *out)
{
    char text[2048];
    snprintf(text, sizeof text, "sec.test {\n    secondary {\n%s\n    }\n}\n", body);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "Corefile", &cfg), 0);
    int rc = sg_secondary_parse(&cfg->servers[0].children[0], nzones, out);
    sg_cfg_free(cfg);
    return rc;
}

static void test_parse_good(void **st)
{
    (void)st;
    sg_secondary_cfg c;
    assert_int_equal(parse("from 192.0.2.1 192.0.2.2:5300\nfrom [2001:db8::1]:53 2001:db8::2\n"
                           "key xfr.test.\nfile /var/lib/signet/sec.test.zone\ntimeout 3s", 1, &c), 0);
    assert_int_equal(c.nprimaries, 4);
    assert_string_equal(c.primaries[0].text, "192.0.2.1:53");
    assert_string_equal(c.primaries[1].text, "192.0.2.2:5300");
    assert_string_equal(c.primaries[2].text, "[2001:db8::1]:53");
    assert_string_equal(c.primaries[3].text, "[2001:db8::2]:53");
    assert_int_equal(ntohs(((struct sockaddr_in *)&c.primaries[1].ss)->sin_port), 5300);
    assert_string_equal(c.key, "xfr.test.");
    assert_string_equal(c.file, "/var/lib/signet/sec.test.zone");
    assert_int_equal(c.timeout, 3);
    /* defaults */
    assert_int_equal(parse("from 127.0.0.1", 3, &c), 0);
    assert_string_equal(c.key, "");
    assert_string_equal(c.file, "");
    assert_int_equal(c.timeout, 10);
    assert_true(c.max_size == SG_SECONDARY_MAX_SIZE && c.max_size == 512ull << 20);
    assert_true(c.max_records == 0);
    assert_int_equal(parse("from 127.0.0.1\ndirectory /var/lib/signet", 3, &c), 0);
    assert_string_equal(c.directory, "/var/lib/signet");
}

static void test_parse_limits(void **st)
{
    (void)st;
    static const struct { const char *lines; uint64_t size, records; } ok[] = {
        { "max-size 1M", 1u << 20, 0 },
        { "max-size 64k\nmax-records 5000", 64u << 10, 5000 },
        { "max-size 2G", 2ull << 30, 0 },
        { "max-size 100000", 100000, 0 },
        { "max-size unlimited\nmax-records unlimited", 0, 0 },
        { "max-records 1", SG_SECONDARY_MAX_SIZE, 1 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "from 127.0.0.1\n%s", ok[i].lines);
        sg_secondary_cfg c;
        assert_int_equal(parse(body, 1, &c), 0);
        assert_true(c.max_size == ok[i].size);
        assert_true(c.max_records == ok[i].records);
    }
}

static void test_parse_errors(void **st)
{
    (void)st;
    static const struct { const char *body; int nzones; } bad[] = {
        { "key xfr.test.", 1 },                                /* no primary */
        { "from", 1 },
        { "from example.org", 1 },                             /* addresses only */
        { "from 192.0.2.1:0", 1 },
        { "from 192.0.2.1:70000", 1 },
        { "from [2001:db8::1", 1 },
        { "from 1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 9.9.9.9", 1 },
        { "from 192.0.2.1\nkey", 1 },
        { "from 192.0.2.1\nkey a b", 1 },
        { "from 192.0.2.1\nfile /a /b", 1 },
        { "from 192.0.2.1\nfile /a", 2 },                      /* one file, two zones */
        { "from 192.0.2.1\nfile /a\ndirectory /b", 1 },
        { "from 192.0.2.1\ntimeout 0s", 1 },
        { "from 192.0.2.1\nretries 3", 1 },                    /* unknown option */
        { "from 192.0.2.1\nmax-size 0", 1 },                   /* would refuse everything */
        { "from 192.0.2.1\nmax-size", 1 },
        { "from 192.0.2.1\nmax-size 1M 2M", 1 },
        { "from 192.0.2.1\nmax-size 10MB", 1 },
        { "from 192.0.2.1\nmax-size -1", 1 },
        { "from 192.0.2.1\nmax-size 2T", 1 },
        { "from 192.0.2.1\nmax-records 0", 1 },
        { "from 192.0.2.1\nmax-records 10k", 1 },
        { "from 192.0.2.1\nmax-records 5000000000", 1 },
    };
    sg_log_set_level(SG_LOG_SILENT);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_secondary_cfg c;
        if (parse(bad[i].body, bad[i].nzones, &c) == 0)
            fail_msg("accepted: %s", bad[i].body);
    }
    sg_log_set_level(SG_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
