/* SPDX-License-Identifier: MIT */
/* Unit tests for the Corefile-style config parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"

#include <string.h>

static void test_server_blocks(void **st)
{
    (void)st;
    const char *text =
        "# comment line\n"
        "{\n"
        "    workers 2\n"
        "}\n"
        "example.test example.org:5353 {\n"
        "    bind 127.0.0.1 ::1   # trailing comment\n"
        "    file \"/tmp/a zone\" example.test\n"
        "    dnssec {\n"
        "        keystore /var/lib/k.db\n"
        "        registrar porkbun {\n"
        "            credentials /etc/p.cred\n"
        "        }\n"
        "    }\n"
        "    log\n"
        "}\n"
        "a.test, b.test {\n"
        "    errors\n"
        "}\n";
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "Corefile", &cfg), 0);
    assert_non_null(cfg->global);
    assert_int_equal(cfg->global->nchildren, 1);
    assert_string_equal(cfg->global->children[0].name, "workers");
    assert_string_equal(cfg->global->children[0].args[0], "2");
    assert_int_equal(cfg->nservers, 2);
    const sg_cfg_block *b = &cfg->servers[0];
    assert_int_equal(b->nargs, 2);
    assert_string_equal(b->args[0], "example.test");
    assert_string_equal(b->args[1], "example.org:5353");
    assert_int_equal(b->line, 5);
    assert_int_equal(b->nchildren, 4);
    assert_string_equal(b->children[0].name, "bind");
    assert_int_equal(b->children[0].nargs, 2);
    assert_string_equal(b->children[0].args[1], "::1");
    assert_string_equal(b->children[1].args[0], "/tmp/a zone");
    assert_int_equal(b->children[1].line, 7);
    const sg_cfg_block *d = &b->children[2];
    assert_string_equal(d->name, "dnssec");
    assert_true(d->has_block);
    assert_int_equal(d->nchildren, 2);
    assert_string_equal(d->children[1].name, "registrar");
    assert_string_equal(d->children[1].args[0], "porkbun");
    assert_string_equal(d->children[1].children[0].args[0], "/etc/p.cred");
    assert_int_equal(d->children[1].children[0].line, 11);
    assert_string_equal(b->children[3].name, "log");
    assert_int_equal(b->children[3].nargs, 0);
    assert_int_equal(cfg->servers[1].nargs, 2);
    assert_string_equal(cfg->servers[1].args[0], "a.test");
    assert_string_equal(cfg->servers[1].args[1], "b.test");
    assert_string_equal(cfg->servers[1].children[0].file, "Corefile");
    sg_cfg_free(cfg);
}

static void test_syntax_errors(void **st)
{
    (void)st;
    static const char *bad[] = {
        "example.test {\n file x\n",              /* missing } */
        "example.test\n{\n}\n",                    /* { not on the key line */
        "}\n",                                     /* stray } */
        "example.test {\n file \"unterminated\n}\n",
        "example.test {\n { \n}\n",                /* block without a name */
        "a.test { }\n{ workers 1 }\n",              /* global block not first */
        "a.test {\n log\n} x\n",                    /* junk after } */
        "a.test {\n log \v\f x\n",                  /* found by fuzzing: looped forever */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_cfg *cfg = NULL;
        int rc = sg_cfg_parse_string(bad[i], "bad", &cfg);
        if (rc != SG_ESYNTAX)
            fail_msg("case %zu parsed (rc %d): %s", i, rc, bad[i]);
        assert_null(cfg);
    }
}

static void test_durations(void **st)
{
    (void)st;
    static const struct { const char *in; uint64_t secs; } ok[] = {
        { "0", 0 }, { "30", 30 }, { "30s", 30 }, { "5m", 300 }, { "2h", 7200 },
        { "7d", 604800 }, { "1w", 604800 }, { "1h30m", 5400 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(sg_cfg_parse_duration(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].secs);
    }
    static const char *bad[] = { "", "s", "10x", "-5", "1.5h", "h1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        assert_int_equal(sg_cfg_parse_duration(bad[i], &v), SG_ESYNTAX);
    }
    uint64_t v;
    assert_int_equal(sg_cfg_parse_uint("1232", 512, 4096, &v), 0);
    assert_int_equal(v, 1232);
    assert_int_equal(sg_cfg_parse_uint("100", 512, 4096, &v), SG_ESYNTAX);
    assert_int_equal(sg_cfg_parse_uint("12ab", 0, 4096, &v), SG_ESYNTAX);
}

static void test_sizes(void **st)
{
    (void)st;
    static const struct { const char *in; uint64_t bytes; } ok[] = {
        { "0", 0 }, { "100000", 100000 }, { "512K", 512u << 10 }, { "512k", 512u << 10 },
        { "64M", 64u << 20 }, { "1m", 1u << 20 }, { "2G", 2ull << 30 }, { "1024G", 1ull << 40 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(sg_cfg_parse_size(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    static const char *bad[] = { "", "M", "12X", "1MB", "-1M", " 1M", "1.5M", "1025G", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        assert_int_equal(sg_cfg_parse_size(bad[i], &v), SG_ESYNTAX);
        assert_int_equal(v, 7);
    }
    char buf[24];
    assert_string_equal(sg_cfg_format_size(1u << 20, buf, sizeof buf), "1M");
    assert_string_equal(sg_cfg_format_size(512ull << 20, buf, sizeof buf), "512M");
    assert_string_equal(sg_cfg_format_size(3ull << 30, buf, sizeof buf), "3G");
    assert_string_equal(sg_cfg_format_size(1536u << 10, buf, sizeof buf), "1536K");
    assert_string_equal(sg_cfg_format_size(1000, buf, sizeof buf), "1000");
    assert_string_equal(sg_cfg_format_size(0, buf, sizeof buf), "0");
    uint64_t back;
    assert_int_equal(sg_cfg_parse_size(sg_cfg_format_size(1536u << 10, buf, sizeof buf), &back), 0);
    assert_int_equal(back, 1536u << 10);
}

/* Two trees are equal in every field a plugin reads; file names equal but not shared. */
static void assert_same_block(const sg_cfg_block *a, const sg_cfg_block *b)
{
    if (a->name || b->name)
        assert_string_equal(a->name, b->name);
    assert_int_equal(a->nargs, b->nargs);
    for (int i = 0; i < a->nargs; i++) {
        assert_string_equal(a->args[i], b->args[i]);
        assert_ptr_not_equal(a->args[i], b->args[i]);
    }
    assert_int_equal(a->has_block, b->has_block);
    assert_int_equal(a->line, b->line);
    assert_string_equal(a->file, b->file);
    assert_ptr_not_equal(a->file, b->file);
    assert_int_equal(a->nchildren, b->nchildren);
    for (int i = 0; i < a->nchildren; i++)
        assert_same_block(&a->children[i], &b->children[i]);
}

/* A zone-only reload builds from a copy of the running config: the copy must be whole and
 * outlive the original. */
/* Secrets written in the config (tsig-key's secret, cookie-secret) live in memory left out
 * of core dumps, in the parsed tree and in its copies; a key file path is not a secret. */
static void test_secret_args(void **st)
{
    (void)st;
    const char *text = "{\n    tsig-key k hmac-sha256 c2VjcmV0c2VjcmV0\n    tsig-key f file /etc/k\n"
                       "    cookie-secret 000102030405060708090a0b0c0d0e0f\n    workers 2\n}\n"
                       "a.test {\n    log\n}\n";
    sg_cfg *c = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "t", &c), 0);
    const sg_cfg_block *g = c->global;
    assert_int_equal(g->nchildren, 4);
    assert_int_equal(g->children[0].secret_args, 1u << 2);
    assert_string_equal(g->children[0].args[2], "c2VjcmV0c2VjcmV0");
    assert_int_equal(g->children[1].secret_args, 0);
    assert_int_equal(g->children[2].secret_args, 1u);
    assert_int_equal(g->children[3].secret_args, 0);
    sg_cfg *d = sg_cfg_dup(c);
    assert_non_null(d);
    assert_int_equal(d->global->children[0].secret_args, 1u << 2);
    assert_string_equal(d->global->children[0].args[2], "c2VjcmV0c2VjcmV0");
    assert_ptr_not_equal(d->global->children[0].args[2], g->children[0].args[2]);
    sg_cfg_free(c);
    assert_string_equal(d->global->children[2].args[0], "000102030405060708090a0b0c0d0e0f");
    sg_cfg_free(d);
}

static void test_dup(void **st)
{
    (void)st;
    const char *text = "{\n    workers 2\n    tsig-key k hmac-sha256 c2VjcmV0\n}\n"
                       "a.test:5300 {\n    dnssec {\n        keystore /k.db\n        registrar x {\n"
                       "            credentials /c\n        }\n    }\n    file a.zone\n    log\n}\n"
                       "b.test {\n    errors\n    cache {\n    }\n}\n";
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "Corefile.dup", &cfg), 0);
    sg_cfg *copy = sg_cfg_dup(cfg);
    assert_non_null(copy);
    assert_int_equal(copy->nfiles, 1);
    assert_string_equal(copy->files[0], "Corefile.dup");
    assert_int_equal(copy->nservers, 2);
    for (int i = 0; i < cfg->nservers; i++)
        assert_same_block(&cfg->servers[i], &copy->servers[i]);
    assert_non_null(copy->global);
    assert_same_block(cfg->global, copy->global);
    sg_cfg_free(cfg);
    /* still whole after the original is gone (ASan would see a use after free) */
    assert_string_equal(copy->servers[0].children[0].children[1].children[0].args[0], "/c");
    assert_string_equal(copy->servers[1].children[1].file, "Corefile.dup");
    assert_int_equal(copy->servers[1].children[1].line, 17);
    assert_true(copy->servers[1].children[1].has_block);
    assert_null(sg_cfg_dup(NULL));
    sg_cfg_free(copy);
}

static void test_missing_file(void **st)
{
    (void)st;
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_file("/nonexistent/Corefile", &cfg), SG_EIO);
    assert_null(cfg);
}

int main(void)
{
    sg_log_set_level(SG_LOG_ERR + 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_blocks),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_secret_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
