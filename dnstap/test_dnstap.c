/* SPDX-License-Identifier: MIT */
/* Unit tests for dnstap: frames decoded back with protobuf-c (every field where the
 * format puts it), the socket and settings of the directive with each error and its
 * line, and an output without a reader counting its frames dropped. */
#include "dnstap/dnstap_message.h"
#include "dnstap/dnstap_output.h"
#include "dnstap/dnstap_plugin.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/query.h"

#include "dnstap.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static const uint8_t QUERY[] = { 0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 3, 'w', 'w', 'w', 4, 't', 'e', 's', 't', 0,
                                 0x00, 0x01, 0x00, 0x01 };

static Dnstap__Dnstap *roundtrip(const sg_dnstap_header *h, const sg_dnstap_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sg_dnstap_encode(h, ev, &buf, &len), 0);
    assert_non_null(buf);
    Dnstap__Dnstap *d = dnstap__dnstap__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(d);
    assert_int_equal(d->type, DNSTAP__DNSTAP__TYPE__MESSAGE);
    assert_non_null(d->message);
    return d;
}

static void bytes_equal(const ProtobufCBinaryData *f, const void *want, size_t len)
{
    assert_int_equal(f->len, len);
    assert_memory_equal(f->data, want, len);
}

static void query_udp4(void **unused)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53000) };
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    sg_dnstap_header h = { .identity = "ns1.example", .version = "signet 0.1.0", .extra = NULL };
    sg_dnstap_event ev = {
        .response = 0,
        .client = (struct sockaddr *)&sin,
        .transport = SG_TRANSPORT_UDP,
        .query_time = { 1700000000, 123456789 },
        .message = QUERY,
        .message_len = sizeof QUERY,
    };
    Dnstap__Dnstap *d = roundtrip(&h, &ev);
    assert_true(d->has_identity);
    bytes_equal(&d->identity, "ns1.example", 11);
    assert_true(d->has_version);
    bytes_equal(&d->version, "signet 0.1.0", 12);
    assert_false(d->has_extra);
    const Dnstap__Message *m = d->message;
    assert_int_equal(m->type, DNSTAP__MESSAGE__TYPE__AUTH_QUERY);
    assert_true(m->has_socket_family && m->socket_family == DNSTAP__SOCKET_FAMILY__INET);
    assert_true(m->has_socket_protocol && m->socket_protocol == DNSTAP__SOCKET_PROTOCOL__UDP);
    assert_true(m->has_query_address);
    bytes_equal(&m->query_address, "\xc0\x00\x02\x07", 4);
    assert_true(m->has_query_port);
    assert_int_equal(m->query_port, 53000);
    assert_true(m->has_query_time_sec && m->has_query_time_nsec);
    assert_int_equal(m->query_time_sec, 1700000000);
    assert_int_equal(m->query_time_nsec, 123456789);
    assert_true(m->has_query_message);
    bytes_equal(&m->query_message, QUERY, sizeof QUERY);
    assert_false(m->has_response_message);
    assert_false(m->has_response_time_sec);
    assert_false(m->has_response_address);
    dnstap__dnstap__free_unpacked(d, NULL);
}

static void response_tls6(void **unused)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(853) };
    inet_pton(AF_INET6, "2001:db8::53", &sin6.sin6_addr);
    uint8_t reply[sizeof QUERY];
    memcpy(reply, QUERY, sizeof QUERY);
    reply[2] = 0x84; /* QR, AA */
    sg_dnstap_header h = { .identity = "", .version = NULL, .extra = "site=a" };
    sg_dnstap_event ev = {
        .response = 1,
        .client = (struct sockaddr *)&sin6,
        .transport = SG_TRANSPORT_TLS,
        .query_time = { 1700000000, 999999999 },
        .response_time = { 1700000001, 5 },
        .message = reply,
        .message_len = sizeof reply,
    };
    Dnstap__Dnstap *d = roundtrip(&h, &ev);
    assert_false(d->has_identity); /* "" leaves it out */
    assert_false(d->has_version);
    assert_true(d->has_extra);
    bytes_equal(&d->extra, "site=a", 6);
    const Dnstap__Message *m = d->message;
    assert_int_equal(m->type, DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE);
    assert_int_equal(m->socket_family, DNSTAP__SOCKET_FAMILY__INET6);
    assert_int_equal(m->socket_protocol, DNSTAP__SOCKET_PROTOCOL__DOT);
    bytes_equal(&m->query_address, &sin6.sin6_addr, 16);
    assert_int_equal(m->query_port, 853);
    assert_int_equal(m->query_time_sec, 1700000000);
    assert_int_equal(m->query_time_nsec, 999999999);
    assert_true(m->has_response_time_sec && m->has_response_time_nsec);
    assert_int_equal(m->response_time_sec, 1700000001);
    assert_int_equal(m->response_time_nsec, 5);
    assert_true(m->has_response_message);
    bytes_equal(&m->response_message, reply, sizeof reply);
    assert_false(m->has_query_message);
    dnstap__dnstap__free_unpacked(d, NULL);
}

/* Without `full` and without a client address (none known): only what is there. */
static void bare_tcp(void **unused)
{
    sg_dnstap_header h = { 0 };
    sg_dnstap_event ev = { .response = 1, .transport = SG_TRANSPORT_TCP };
    Dnstap__Dnstap *d = roundtrip(&h, &ev);
    const Dnstap__Message *m = d->message;
    assert_int_equal(m->type, DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE);
    assert_int_equal(m->socket_protocol, DNSTAP__SOCKET_PROTOCOL__TCP);
    assert_false(m->has_socket_family);
    assert_false(m->has_query_address);
    assert_false(m->has_query_port);
    assert_false(m->has_query_message);
    assert_false(m->has_response_message);
    dnstap__dnstap__free_unpacked(d, NULL);
    uint8_t *buf;
    size_t len;
    assert_int_equal(sg_dnstap_encode(NULL, &ev, &buf, &len), SG_EINVAL);
}

/* ---- the directive ---------------------------------------------------------------- */

/* The dnstap line of "example.test { ... }" parsed; log lines into err. */
static int parse(const char *directive, sg_dnstap_config *out, char *err, size_t cap)
{
    char text[1024];
    snprintf(text, sizeof text, "example.test {\n%s\n}\n", directive);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "t", &cfg), 0);
    err[0] = 0;
    sg_log_capture_begin(err, cap);
    int rc = sg_dnstap_parse(&cfg->servers[0].children[0], out);
    sg_log_capture_end();
    sg_cfg_free(cfg);
    return rc;
}

static void config_defaults(void **unused)
{
    char err[512];
    sg_dnstap_config c;
    assert_int_equal(parse("dnstap /run/signet/dnstap.sock", &c, err, sizeof err), 0);
    assert_int_equal(c.endpoint.addr.ss_family, AF_UNIX);
    assert_string_equal(((struct sockaddr_un *)&c.endpoint.addr)->sun_path, "/run/signet/dnstap.sock");
    assert_false(c.full);
    assert_true(c.queries && c.responses);
    assert_int_equal(c.sample, 1);
    assert_int_equal(c.queue, SG_DNSTAP_QUEUE_DEFAULT);
    assert_true(strncmp(c.version, "signet ", 7) == 0);
    assert_string_equal(c.extra, "");

    assert_int_equal(parse("dnstap unix:///tmp/t.sock full responses {\n identity ns1\n"
                           " version \"Signet test\"\n extra x=1\n sample 10\n queue 1000\n}",
                           &c, err, sizeof err), 0);
    assert_string_equal(((struct sockaddr_un *)&c.endpoint.addr)->sun_path, "/tmp/t.sock");
    assert_true(c.full);
    assert_false(c.queries);
    assert_true(c.responses);
    assert_string_equal(c.identity, "ns1");
    assert_string_equal(c.version, "Signet test");
    assert_string_equal(c.extra, "x=1");
    assert_int_equal(c.sample, 10);
    assert_int_equal(c.queue, 1024); /* rounded up to a power of two */

    assert_int_equal(parse("dnstap tcp://127.0.0.1:6000 queries", &c, err, sizeof err), 0);
    assert_int_equal(c.endpoint.addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&c.endpoint.addr)->sin_port), 6000);
    assert_true(c.queries);
    assert_false(c.responses);
    assert_int_equal(parse("dnstap tcp://[::1]:6001", &c, err, sizeof err), 0);
    assert_int_equal(c.endpoint.addr.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.endpoint.addr)->sin6_port), 6001);
    assert_int_equal(parse("dnstap unix:/tmp/u.sock", &c, err, sizeof err), 0);
    assert_string_equal(((struct sockaddr_un *)&c.endpoint.addr)->sun_path, "/tmp/u.sock");
}

static void config_errors(void **unused)
{
    static const struct {
        const char *directive, *says;
    } cases[] = {
        { "dnstap", "t:2: dnstap: expected a socket" },
        { "dnstap relative.sock", "t:2: dnstap: 'relative.sock': a Unix socket path must be absolute" },
        { "dnstap http://x", "t:2: dnstap: 'http://x': expected unix:///PATH" },
        { "dnstap tcp://example.net:6000", "'tcp://example.net:6000': not an IP address" },
        { "dnstap tcp://127.0.0.1", "expected tcp://ADDRESS:PORT" },
        { "dnstap tcp://127.0.0.1:0", "expected a port number" },
        { "dnstap tcp://127.0.0.1:70000", "expected a port number" },
        { "dnstap tcp://[::1]6000", "expected tcp://[IPv6]:PORT" },
        { "dnstap /tmp/x.sock verbose", "t:2: dnstap: unknown option 'verbose'" },
        { "dnstap /tmp/x.sock full full", "'full' given twice" },
        { "dnstap /tmp/x.sock queries responses", "give queries or responses, not both" },
        { "dnstap /tmp/x.sock {\n sample 0\n}", "t:3: dnstap: sample takes N" },
        { "dnstap /tmp/x.sock {\n sample many\n}", "t:3: dnstap: sample takes N" },
        { "dnstap /tmp/x.sock {\n queue 1\n}", "t:3: dnstap: queue takes" },
        { "dnstap /tmp/x.sock {\n queue 20000\n}", "t:3: dnstap: queue takes" },
        { "dnstap /tmp/x.sock {\n identity a b\n}", "t:3: dnstap: identity takes one value" },
        { "dnstap /tmp/x.sock {\n version\n}", "t:3: dnstap: version takes one value" },
        { "dnstap /tmp/x.sock {\n sample 2\n sample 3\n}", "t:4: dnstap: sample given twice" },
        { "dnstap /tmp/x.sock {\n buffer 10\n}", "t:3: dnstap: unknown setting 'buffer'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512];
        sg_dnstap_config c;
        int rc = parse(cases[i].directive, &c, err, sizeof err);
        if (rc != SG_ESYNTAX || !strstr(err, cases[i].says))
            fail_msg("%s: rc %d, said '%s', want '%s'", cases[i].directive, rc, err, cases[i].says);
    }
    /* a path longer than sun_path */
    char longer[300] = "dnstap /";
    memset(longer + 8, 'a', 200);
    longer[208] = 0;
    char err[512];
    sg_dnstap_config c;
    assert_int_equal(parse(longer, &c, err, sizeof err), SG_ESYNTAX);
    assert_non_null(strstr(err, "too long"));
    char big[400];
    snprintf(big, sizeof big, "dnstap /tmp/x.sock {\n identity %0300d\n}", 0);
    assert_int_equal(parse(big, &c, err, sizeof err), SG_ESYNTAX);
    assert_non_null(strstr(err, "identity is longer than 255 bytes"));
}

/* No reader at the socket: every frame is counted dropped, none sent, and the output
 * stops at once. */
static void output_without_reader(void **unused)
{
    sg_dnstap_output_cfg oc = { .queue = 4, .nqueues = 2, .timeout_ms = 200 };
    const char *why;
    assert_int_equal(sg_dnstap_endpoint_parse("/nonexistent/signet-dnstap.sock", &oc.endpoint, &why), 0);
    oc.counters = sg_counters_new(SG_DNSTAP_NCOUNTERS);
    assert_non_null(oc.counters);
    sg_dnstap_output *o = NULL;
    assert_int_equal(sg_dnstap_output_new(&oc, &o), 0);
    for (int i = 0; i < 50; i++) {
        uint8_t *f = malloc(8);
        assert_non_null(f);
        memset(f, i, 8);
        sg_dnstap_output_send(o, f, 8);
    }
    sg_dnstap_output_free(o);
    assert_int_equal(sg_counters_sum(oc.counters, SG_DNSTAP_SENT), 0);
    assert_int_equal(sg_counters_sum(oc.counters, SG_DNSTAP_DROPPED), 50);
    sg_counters_free(oc.counters);
    /* a queue that is not a power of two is refused */
    oc.queue = 6;
    assert_int_equal(sg_dnstap_output_new(&oc, &o), SG_EINVAL);
}

int main(void)
{
    sg_log_set_level(SG_LOG_SILENT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_udp4),
        cmocka_unit_test(response_tls6),
        cmocka_unit_test(bare_tcp),
        cmocka_unit_test(config_defaults),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(output_without_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
