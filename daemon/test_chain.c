/* SPDX-License-Identifier: MIT */
/* Unit tests for building runtimes from configs: chain order, routes, options, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/runtime.h"
#include "daemon/server.h"
#include "common/wire.h"
#include "zones/file_plugin.h"
#include "tsig/tsig.h"
#include "tests/support/question.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX SIGNET_SOURCE_DIR "/tests/fixtures/"

static const char *write_cfg(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/sg-test-chain-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int build(const char *text, sg_runtime **rt)
{
    const char *p = write_cfg(text);
    sg_runtime_set_plugins(sg_plugin_order);
    int rc = sg_runtime_build(p, 1, rt);
    unlink(p);
    return rc;
}

static sg_query g_q;
static uint8_t g_pkt[512], g_out[4096];

static sg_query *query(const char *name, uint16_t qtype)
{
    sg_test_question(&g_q, g_pkt, sizeof g_pkt, name, qtype, SG_TRANSPORT_UDP);
    return &g_q;
}

static void test_chain_order_and_options(void **st)
{
    (void)st;
    sg_runtime *rt = NULL;
    assert_int_equal(build("{\n workers 3\n udp-max-payload 1400\n tcp-idle-timeout 2s\n"
                           " tsig-key xfr.key hmac-sha384 c2VjcmV0c2VjcmV0c2VjcmV0\n}\n"
                           "example.test:5399 {\n"
                           "  file " FIX "example.test.zone\n"
                           "  errors\n"
                           "  log\n"
                           "  bind 127.0.0.1 ::1\n"
                           "}\n", &rt), 0);
    assert_int_equal(rt->opt.workers, 3);
    assert_int_equal(rt->opt.udp_max_payload, 1400);
    assert_int_equal(rt->opt.tcp_idle_timeout, 2);
    const sg_tsig_key *k = sg_tsig_find(rt->tsig, "xfr.key.");
    assert_non_null(k);
    assert_int_equal(k->alg, SG_TSIG_HMAC_SHA384);
    assert_int_equal(rt->nblocks, 1);
    /* the fixed order, whatever the order of lines */
    assert_int_equal(rt->blocks[0].nhandlers, 3);
    assert_string_equal(rt->blocks[0].handlers[0].plugin->name, "log");
    assert_string_equal(rt->blocks[0].handlers[1].plugin->name, "errors");
    assert_string_equal(rt->blocks[0].handlers[2].plugin->name, "file");
    assert_ptr_equal(rt->blocks[0].handlers[0].next, &rt->blocks[0].handlers[1]);
    assert_null(rt->blocks[0].handlers[2].next);
    assert_int_equal(rt->ntables, 2);
    assert_string_equal(rt->tables[0].addr.text, "127.0.0.1:5399");
    assert_string_equal(rt->tables[1].addr.text, "[::1]:5399");
    sg_runtime_free(rt);
}

static void test_routes(void **st)
{
    (void)st;
    sg_runtime *rt = NULL;
    /* a parent and its child zone, each in its own block, on one address */
    assert_int_equal(build("example.test:5399 {\n bind 127.0.0.1\n file " FIX "example.test.zone\n}\n"
                           "sub.example.test:5399 {\n bind 127.0.0.1\n file " FIX "sub.example.test.zone\n}\n",
                           &rt), 0);
    sg_listen_addr a = rt->tables[0].addr;
    assert_int_equal(sg_runtime_map_sockets(rt, &a, 1), 0);
    sg_handler *parent = &rt->blocks[0].handlers[0];
    sg_handler *child = &rt->blocks[1].handlers[0];
    assert_ptr_equal(sg_runtime_route(rt, 0, query("www.example.test.", SG_TYPE_A)), parent);
    assert_ptr_equal(sg_runtime_route(rt, 0, query("Example.Test.", SG_TYPE_SOA)), parent);
    assert_ptr_equal(sg_runtime_route(rt, 0, query("www.sub.example.test.", SG_TYPE_A)), child);
    assert_ptr_equal(sg_runtime_route(rt, 0, query("sub.example.test.", SG_TYPE_A)), child);
    /* the DS of the child's apex is the parent's */
    assert_ptr_equal(sg_runtime_route(rt, 0, query("sub.example.test.", SG_TYPE_DS)), parent);
    /* DS of the topmost apex stays with it */
    assert_ptr_equal(sg_runtime_route(rt, 0, query("example.test.", SG_TYPE_DS)), parent);
    assert_null(sg_runtime_route(rt, 0, query("example.org.", SG_TYPE_A)));
    assert_null(sg_runtime_route(rt, 0, query("test.", SG_TYPE_A)));
    /* an unknown listener index */
    assert_null(sg_runtime_route(rt, 5, query("www.example.test.", SG_TYPE_A)));

    /* the whole path: REFUSED for a name in no zone, an answer for one in a zone */
    sg_query *q = query("example.org.", SG_TYPE_A);
    q->out = g_out;
    q->out_cap = sizeof g_out;
    size_t len = sg_server_answer(rt, 0, q, g_pkt, q->wire_len);
    assert_true(len >= 12);
    assert_int_equal(g_out[3] & 0xf, SG_RCODE_REFUSED);
    assert_false(g_out[2] & 0x04); /* no AA */
    q = query("www.sub.example.test.", SG_TYPE_A);
    q->out = g_out;
    q->out_cap = sizeof g_out;
    len = sg_server_answer(rt, 0, q, g_pkt, q->wire_len);
    assert_int_equal(g_out[3] & 0xf, SG_RCODE_NOERROR);
    assert_true(g_out[2] & 0x04);
    assert_int_equal(g_out[7], 1); /* one answer, from the child zone */
    sg_runtime_free(rt);
}

static void test_config_errors(void **st)
{
    (void)st;
    static const char *bad[] = {
        "example.test:5399 {\n nosuchplugin\n}\n",
        "example.test:5399 {\n file\n}\n",
        "example.test:5399 {\n file /nonexistent/zone\n}\n",
        "example.test:5399 {\n log extra\n}\n",
        "example.test:5399 {\n bind 300.1.1.1\n}\n",
        "example.test:99999 {\n log\n}\n",
        "{\n workers 0\n}\nexample.test:5399 {\n log\n}\n",
        "{\n udp-max-payload 100\n}\nexample.test:5399 {\n log\n}\n",
        "{\n bogus 1\n}\nexample.test:5399 {\n log\n}\n",
        "{\n tsig-key k hmac-md5 c2VjcmV0\n}\nexample.test:5399 {\n log\n}\n",
        "example.test:5399 {\n log\n log\n}\n",
        "example.test:5399 {\n file " FIX "example.test.zone other.test\n}\n",
        "example.test:5399 {\n bind 127.0.0.1\n log\n}\nexample.test:5399 {\n bind 127.0.0.1\n log\n}\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_runtime *rt = NULL;
        if (build(bad[i], &rt) == 0) {
            sg_runtime_free(rt);
            fail_msg("case %zu accepted: %s", i, bad[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_order_and_options),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
