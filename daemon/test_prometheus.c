/* SPDX-License-Identifier: MIT */
/* Unit tests for the `prometheus` plugin: its ADDRESS parsing, and what a query through
 * it adds to the exposition (zone, type, rcode, transport; chain failures as SERVFAIL,
 * the end of the chain as REFUSED; queries no chain saw in signet_dns_unrouted_*, never
 * under a zone label; request and reply size histograms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/plugins.h"
#include "common/cfg.h"
#include "common/metrics.h"
#include "common/wire.h"
#include "tests/support/question.h"

#include <stdio.h>
#include <string.h>

static void test_parse_addresses(void **st)
{
    (void)st;
    struct { const char *line; const char *want; } cases[] = {
        { "prometheus", "localhost:9153" },
        { "prometheus 127.0.0.1:9253", "127.0.0.1:9253" },
        { "prometheus [::1]:9153", "[::1]:9153" },
        { "prometheus :9153", ":9153" },
        { "prometheus localhost:1", "localhost:1" },
        { "prometheus 127.0.0.1", NULL },
        { "prometheus 127.0.0.1:0", NULL },
        { "prometheus 127.0.0.1:65536", NULL },
        { "prometheus example.org:9153", NULL },
        { "prometheus ::1:9153", NULL },
        { "prometheus a:1 b:2", NULL },
        { "prometheus {\n x\n }", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128], addr[128] = "";
        snprintf(text, sizeof text, "example.test {\n %s\n}\n", cases[i].line);
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(text, "Corefile", &cfg), 0);
        int rc = sg_prometheus_parse(&cfg->servers[0].children[0], addr, sizeof addr);
        if (cases[i].want) {
            assert_int_equal(rc, 0);
            assert_string_equal(addr, cases[i].want);
        } else {
            assert_int_not_equal(rc, 0);
        }
        sg_cfg_free(cfg);
    }
}

static int g_rc;
static uint16_t g_rcode;

static int zone_handle(sg_handler *self, sg_query *q)
{
    (void)self;
    q->rcode = g_rcode;
    return g_rc;
}

static const sg_plugin zone_plugin = { .name = "zone", .handle = zone_handle };

static uint8_t g_pkt[512], g_out[4096];

static sg_handler *g_routed; /* for queries the core answers itself (h NULL) */

static void ask(sg_handler *h, const char *name, uint16_t qtype, int transport)
{
    static sg_query q;
    sg_test_question(&q, g_pkt, sizeof g_pkt, name, qtype, (enum sg_transport)transport);
    q.out = g_out;
    q.out_cap = sizeof g_out;
    if (h) {
        h->plugin->handle(h, &q);
    } else {
        q.rcode = SG_RCODE_NOTIMP;
        sg_prometheus_unrouted(g_routed, &q);
    }
}

static uint64_t sample(const char *text, const char *line_start)
{
    const char *p = strstr(text, line_start);
    if (!p)
        return 0;
    unsigned long long v = 0;
    sscanf(p + strlen(line_start), " %llu", &v);
    return v;
}

static void test_counts_in_exposition(void **st)
{
    (void)st;
    sg_cfg *cfg = NULL;
    /* a port nobody uses: setup binds it (loopback only) */
    assert_int_equal(sg_cfg_parse_string("a.test b.a.test {\n prometheus 127.0.0.1:39153\n}\n",
                                         "Corefile", &cfg), 0);
    static uint8_t za[SG_NAME_MAX], zb[SG_NAME_MAX];
    sg_name_from_str("a.test.", NULL, za);
    sg_name_from_str("b.a.test.", NULL, zb);
    const uint8_t *zones[2] = { za, zb };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 2 };
    sg_handler prom = { .plugin = &sg_plugin_prometheus }, zone = { .plugin = &zone_plugin };
    int rc = sg_plugin_prometheus.setup(&cfg->servers[0].children[0], &ctx, &prom.state);
    if (rc) {
        sg_cfg_free(cfg);
        skip(); /* the port is taken on this machine */
    }
    prom.next = &zone;
    g_rc = 0;
    g_rcode = SG_RCODE_NOERROR;
    for (int i = 0; i < 3; i++)
        ask(&prom, "www.a.test.", SG_TYPE_A, SG_TRANSPORT_UDP);
    ask(&prom, "x.b.a.test.", SG_TYPE_AAAA, SG_TRANSPORT_TCP);   /* the longer zone */
    ask(&prom, "b.a.test.", SG_TYPE_DS, SG_TRANSPORT_UDP);       /* DS at an apex: the parent */
    ask(&prom, "x.a.test.", 99, SG_TRANSPORT_TLS);                /* type "other" */
    g_rcode = SG_RCODE_NXDOMAIN;
    ask(&prom, "nx.a.test.", SG_TYPE_A, SG_TRANSPORT_UDP);
    g_rc = SG_ENOMEM;
    ask(&prom, "fail.a.test.", SG_TYPE_A, SG_TRANSPORT_UDP);
    prom.next = NULL; /* the end of the chain: REFUSED */
    g_rc = 0;
    ask(&prom, "end.a.test.", SG_TYPE_MX, SG_TRANSPORT_UDP);
    ask(NULL, "elsewhere.org.", SG_TYPE_A, SG_TRANSPORT_UDP);
    /* routed, but answered by the core (a NOTIFY, say): the routed block's zone */
    g_routed = &prom;
    ask(NULL, "b.a.test.", SG_TYPE_SOA, SG_TRANSPORT_UDP);
    g_routed = NULL;

    sg_buf b;
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    const char *t = b.data;
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"udp\",type=\"A\",rcode=\"NOERROR\"}"), 3);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"b.a.test.\",proto=\"tcp\",type=\"AAAA\",rcode=\"NOERROR\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"udp\",type=\"DS\",rcode=\"NOERROR\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"tls\",type=\"other\",rcode=\"NOERROR\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"udp\",type=\"A\",rcode=\"NXDOMAIN\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"udp\",type=\"A\",rcode=\"SERVFAIL\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"a.test.\",proto=\"udp\",type=\"MX\",rcode=\"REFUSED\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_requests_total{zone=\"a.test.\",proto=\"udp\",type=\"A\"}"), 5);
    assert_int_equal(sample(t, "signet_dns_request_duration_seconds_count{zone=\"a.test.\"}"), 8);
    assert_int_equal(sample(t, "signet_dns_request_duration_seconds_bucket{zone=\"b.a.test.\",le=\"+Inf\"}"), 2);
    assert_int_equal(sample(t, "signet_dns_unrouted_responses_total{proto=\"udp\",type=\"A\",rcode=\"NOTIMP\"}"), 1);
    assert_int_equal(sample(t, "signet_dns_unrouted_requests_total{proto=\"udp\",type=\"A\"}"), 1);
    assert_null(strstr(t, "zone=\"dropped\""));
    assert_null(strstr(t, "unrouted)"));
    /* sizes: every request is counted in its transport's histogram */
    assert_int_equal(sample(t, "signet_dns_request_size_bytes_count{zone=\"a.test.\",proto=\"udp\"}"), 7);
    assert_int_equal(sample(t, "signet_dns_request_size_bytes_bucket{zone=\"a.test.\",proto=\"udp\",le=\"+Inf\"}"), 7);
    assert_int_equal(sample(t, "signet_dns_request_size_bytes_bucket{zone=\"a.test.\",proto=\"udp\",le=\"0\"}"), 0);
    assert_int_equal(sample(t, "signet_dns_request_size_bytes_bucket{zone=\"a.test.\",proto=\"udp\",le=\"100\"}"), 7);
    assert_true(sample(t, "signet_dns_request_size_bytes_sum{zone=\"a.test.\",proto=\"udp\"}") > 7 * 17);
    assert_int_equal(sample(t, "signet_dns_request_size_bytes_count{zone=\"b.a.test.\",proto=\"tcp\"}"), 1);
    assert_non_null(strstr(t, "# TYPE signet_dns_response_size_bytes histogram"));
    assert_null(strstr(t, "signet_dns_request_size_bytes_count{zone=\"b.a.test.\",proto=\"tls\"}"));
    assert_int_equal(sample(t, "signet_dns_responses_total{zone=\"b.a.test.\",proto=\"udp\",type=\"SOA\",rcode=\"NOTIMP\"}"), 1);
    /* one TYPE line per family */
    const char *first = strstr(t, "# TYPE signet_dns_responses_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE signet_dns_responses_total"));
    sg_buf_deinit(&b);
    sg_plugin_prometheus.teardown(prom.state);
    sg_cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addresses),
        cmocka_unit_test(test_counts_in_exposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
