/* SPDX-License-Identifier: MIT */
/* Unit tests: the JSON each provider sends and reads, the OVHcloud signature, the rest
 * provider's templates. */
#include "registrar/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static sg_reg_ds sample(void)
{
    sg_reg_ds d;
    memset(&d, 0, sizeof d);
    d.tag = 2371;
    d.algorithm = 13;
    d.digest_type = 2;
    size_t n;
    assert_int_equal(sg_reg_hex_decode("684a1f049d7d082b7f98691657da5a65764913df7f065f6f8c36edf62d66ca03",
                                       d.digest, sizeof d.digest, &n), 0);
    d.digest_len = n;
    d.flags = 257;
    static const uint8_t pk[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    memcpy(d.pubkey, pk, sizeof pk);
    d.pubkey_len = sizeof pk;
    return d;
}

static sg_reg_cred creds(void)
{
    sg_reg_cred c;
    memset(&c, 0, sizeof c);
    c.key[0] = strdup("apikey");
    c.val[0] = strdup("pk1_abc");
    c.key[1] = strdup("secretapikey");
    c.val[1] = strdup("sk1_xyz\"q");
    c.n = 2;
    return c;
}

static void porkbun_body(void **st)
{
    (void)st;
    sg_reg_cred c = creds();
    sg_reg_ds d = sample();
    char *b = sg_reg_porkbun_create_body(&c, &d);
    assert_string_equal(b, "{\"alg\":\"13\",\"apikey\":\"pk1_abc\",\"digest\":"
                           "\"684A1F049D7D082B7F98691657DA5A65764913DF7F065F6F8C36EDF62D66CA03\","
                           "\"digestType\":\"2\",\"keyTag\":\"2371\",\"secretapikey\":\"sk1_xyz\\\"q\"}");
    free(b);
    sg_reg_cred_free(&c);
}

static void porkbun_list(void **st)
{
    (void)st;
    json_t *j = json_loads("{\"status\":\"SUCCESS\",\"records\":{\"2371\":{\"keyTag\":\"2371\","
                           "\"alg\":\"13\",\"digestType\":\"2\",\"digest\":\"684a1f049d7d082b7f9869"
                           "1657da5a65764913df7f065f6f8c36edf62d66ca03\"}}}", 0, NULL);
    sg_reg_dsset s;
    char err[100];
    assert_int_equal(sg_reg_porkbun_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    sg_reg_ds d = sample();
    assert_true(sg_reg_ds_same(&s.v[0], &d));
    assert_string_equal(s.v[0].id, "2371");
    sg_reg_dsset_deinit(&s);
    json_decref(j);
    /* no records: an empty PHP array */
    j = json_loads("{\"status\":\"SUCCESS\",\"records\":[]}", 0, NULL);
    assert_int_equal(sg_reg_porkbun_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    json_decref(j);
    j = json_loads("{\"status\":\"ERROR\",\"message\":\"Invalid API key.\"}", 0, NULL);
    assert_int_equal(sg_reg_porkbun_parse_list(j, &s, err, sizeof err), SG_REG_EREJECT);
    assert_non_null(strstr(err, "Invalid API key"));
    json_decref(j);
    j = json_loads("{\"status\":\"SUCCESS\",\"records\":{\"1\":{\"keyTag\":\"x\"}}}", 0, NULL);
    assert_int_equal(sg_reg_porkbun_parse_list(j, &s, err, sizeof err), SG_EMALFORMED);
    json_decref(j);
}

static void dnsimple_json(void **st)
{
    (void)st;
    sg_reg_ds d = sample();
    char *b = sg_reg_dnsimple_create_body(&d);
    assert_string_equal(b, "{\"algorithm\":\"13\",\"digest\":\"684a1f049d7d082b7f98691657da5a65"
                           "764913df7f065f6f8c36edf62d66ca03\",\"digest_type\":\"2\",\"keytag\":\"2371\"}");
    free(b);
    json_t *j = json_loads("{\"data\":[{\"id\":24,\"domain_id\":1010,\"algorithm\":\"13\",\"digest\":"
                           "\"684A1F049D7D082B7F98691657DA5A65764913DF7F065F6F8C36EDF62D66CA03\","
                           "\"digest_type\":\"2\",\"keytag\":\"2371\",\"public_key\":null,"
                           "\"created_at\":\"2017-03-03T13:49:58Z\"}],\"pagination\":"
                           "{\"current_page\":1,\"per_page\":30,\"total_entries\":1,\"total_pages\":1}}",
                           0, NULL);
    sg_reg_dsset s;
    sg_reg_dsset_init(&s);
    char err[100];
    assert_int_equal(sg_reg_dnsimple_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_true(sg_reg_ds_same(&s.v[0], &d));
    assert_string_equal(s.v[0].id, "24");
    sg_reg_dsset_deinit(&s);
    json_decref(j);
    j = json_loads("{\"message\":\"x\"}", 0, NULL);
    assert_int_equal(sg_reg_dnsimple_parse_list(j, &s, err, sizeof err), SG_EMALFORMED);
    json_decref(j);
}

static void ovh_json(void **st)
{
    (void)st;
    sg_reg_dsset w;
    sg_reg_dsset_init(&w);
    sg_reg_ds d = sample();
    sg_reg_dsset_add(&w, &d);
    char *b = sg_reg_ovh_keys_body(&w);
    assert_string_equal(b, "{\"keys\":[{\"algorithm\":13,\"flags\":257,\"publicKey\":\"AQIDBAUGBwgJ\",\"tag\":2371}]}");
    free(b);
    json_t *j = json_loads("{\"id\":7,\"algorithm\":13,\"flags\":257,\"publicKey\":\"AQIDBAUGBwgJ\","
                           "\"tag\":2371,\"status\":\"enabled\"}", 0, NULL);
    sg_reg_ds got;
    char err[100];
    assert_int_equal(sg_reg_ovh_parse_key(j, &got, err, sizeof err), 0);
    /* OVHcloud knows keys, not digests: the comparison falls back to the key */
    assert_true(sg_reg_ds_same(&got, &d));
    assert_string_equal(got.id, "7");
    json_decref(j);
    sg_reg_dsset_deinit(&w);
    /* an empty set (unsigning) is an empty list */
    b = sg_reg_ovh_keys_body(&w);
    assert_string_equal(b, "{\"keys\":[]}");
    free(b);
}

static void ovh_signature(void **st)
{
    (void)st;
    char sig[45];
    /* values computed independently: $1$ + sha1_hex(AS+CK+METHOD+URL+BODY+TS joined by +) */
    assert_int_equal(sg_reg_ovh_signature("7kbG7Bk7S9Nt7ZSV", "MtSwSrPpNjqfN0Fuf8vQXkBxFLTJG2XP",
                                          "POST", "https://eu.api.ovh.com/1.0/domain/example.com/dsRecord",
                                          "{\"keys\":[]}", 1457018875, sig), 0);
    assert_string_equal(sig, "$1$2af1ed1f4ba5b88f6bd643752a0162ceabfb8e19");
    assert_int_equal(sg_reg_ovh_signature("AS", "CK", "GET", "https://eu.api.ovh.com/1.0/me",
                                          NULL, 1366560945, sig), 0);
    assert_string_equal(sig, "$1$302a5fe8c63712cdc1af50a6ff18f5b370d7b4c1");
}

static void rest_templates(void **st)
{
    (void)st;
    sg_reg_cred c = creds();
    sg_reg_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    sg_reg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    ctx.cred = &c;
    strcpy(ctx.domain, "example.com");
    sg_reg_ds d = sample();
    snprintf(d.id, sizeof d.id, "r-9");
    char *s = sg_reg_rest_expand("https://api.test/v1/{domain}/ds/{id}", &ctx, &d, 0);
    assert_string_equal(s, "https://api.test/v1/example.com/ds/r-9");
    free(s);
    s = sg_reg_rest_expand("{\"key\":\"{cred:secretapikey}\",\"ds\":{\"t\":{tag},\"a\":{alg},\"d\":{digest_type},"
                           "\"h\":\"{digest}\",\"k\":\"{pubkey}\",\"f\":{flags}}}", &ctx, &d, 1);
    assert_string_equal(s, "{\"key\":\"sk1_xyz\\\"q\",\"ds\":{\"t\":2371,\"a\":13,\"d\":2,\"h\":"
                           "\"684A1F049D7D082B7F98691657DA5A65764913DF7F065F6F8C36EDF62D66CA03\","
                           "\"k\":\"AQIDBAUGBwgJ\",\"f\":257}}");
    /* the escape stays valid JSON */
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    free(s);
    /* list parsing with configured names and a path */
    strcpy(cfg.rest_list_path, "result.ds");
    strcpy(cfg.rest_fields[0], "keyTag");
    strcpy(cfg.rest_fields[1], "alg");
    strcpy(cfg.rest_fields[2], "digestType");
    strcpy(cfg.rest_fields[3], "digest");
    strcpy(cfg.rest_fields[4], "uuid");
    j = json_loads("{\"result\":{\"ds\":[{\"keyTag\":2371,\"alg\":13,\"digestType\":2,\"digest\":"
                   "\"684a1f049d7d082b7f98691657da5a65764913df7f065f6f8c36edf62d66ca03\",\"uuid\":\"u1\"}]}}",
                   0, NULL);
    sg_reg_dsset out;
    char err[200];
    assert_int_equal(sg_reg_rest_parse_list(&cfg, j, &out, err, sizeof err), 0);
    assert_int_equal(out.n, 1);
    assert_true(sg_reg_ds_same(&out.v[0], &d));
    assert_string_equal(out.v[0].id, "u1");
    sg_reg_dsset_deinit(&out);
    json_decref(j);
    sg_reg_cred_free(&c);
}

/* bytes above 0x7f (UTF-8 in a registrar's reply) are not hex digits and must not reach
 * isxdigit() as negative values */
static void hex_decode_high_bytes(void **unused)
{
    (void)unused;
    uint8_t out[4];
    size_t n = 99;
    assert_int_equal(sg_reg_hex_decode("\xc3\xa9", out, sizeof out, &n), SG_EINVAL);
    assert_int_equal(sg_reg_hex_decode("a\xff", out, sizeof out, &n), SG_EINVAL);
    assert_int_equal(sg_reg_hex_decode("aBff", out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xff);
}

/* The bodies and listings of the providers of issue 20, field by field as their
 * documentation names them. */
static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    return j;
}

static void inwx_json(void **st)
{
    (void)st;
    char *b = sg_reg_inwx_request("dnssec.deletednskey", json_pack("{s:i}", "key", 42));
    assert_string_equal(b, "{\"method\":\"dnssec.deletednskey\",\"params\":{\"key\":42}}");
    free(b);
    json_t *j = parse("{\"dnskey\":[{\"ownerName\":\"example.com.\",\"id\":7,\"keyTag\":2371,"
                      "\"flagId\":257,\"algorithmId\":13,\"publicKey\":\"AQIDBAUGBwgJ\",\"digestTypeId\":2,"
                      "\"digest\":\"684A1F049D7D082B7F98691657DA5A65764913DF7F065F6F8C36EDF62D66CA03\","
                      "\"status\":\"OK\",\"active\":1},{\"id\":8,\"algorithmId\":13,\"publicKey\":"
                      "\"AQID\",\"status\":\"DELETED\"}]}");
    sg_reg_dsset s;
    char err[200];
    assert_int_equal(sg_reg_inwx_parse_keys(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1); /* the DELETED key is history, not the registry's */
    sg_reg_ds want = sample();
    assert_true(sg_reg_ds_same(&s.v[0], &want));
    assert_string_equal(s.v[0].id, "7");
    sg_reg_dsset_deinit(&s);
    json_decref(j);
}

static void namecom_json(void **st)
{
    (void)st;
    sg_reg_ds d = sample();
    char *b = sg_reg_namecom_create_body(&d);
    assert_string_equal(b, "{\"algorithm\":13,\"digest\":"
                           "\"684A1F049D7D082B7F98691657DA5A65764913DF7F065F6F8C36EDF62D66CA03\","
                           "\"digestType\":2,\"keyTag\":2371}");
    free(b);
    json_t *j = parse("{}"); /* no DS at all */
    sg_reg_dsset s;
    char err[200];
    assert_int_equal(sg_reg_namecom_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    json_decref(j);
    j = parse("{\"dnssec\":[{\"domainName\":\"example.com\",\"keyTag\":2371,\"algorithm\":13,"
              "\"digestType\":2,\"digest\":\"684a1f049d7d082b7f98691657da5a65764913df7f065f6f8c36edf62d66ca03\"}]}");
    assert_int_equal(sg_reg_namecom_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_true(sg_reg_ds_same(&s.v[0], &d));
    sg_reg_dsset_deinit(&s);
    json_decref(j);
}

static void gandi_json(void **st)
{
    (void)st;
    sg_reg_ds d = sample();
    char *b = sg_reg_gandi_create_body(&d);
    assert_string_equal(b, "{\"algorithm\":13,\"public_key\":\"AQIDBAUGBwgJ\",\"type\":\"ksk\"}");
    free(b);
    d.flags = 256;
    b = sg_reg_gandi_create_body(&d);
    assert_string_equal(b, "{\"algorithm\":13,\"public_key\":\"AQIDBAUGBwgJ\",\"type\":\"zsk\"}");
    free(b);
    json_t *j = parse("[{\"id\":\"a1b2\",\"algorithm\":13,\"type\":\"ksk\",\"public_key\":\"AQIDBAUGBwgJ\","
                      "\"keytag\":2371,\"digest_type\":2,\"digest\":\"00\",\"deleted\":false},"
                      "{\"id\":\"gone\",\"algorithm\":13,\"public_key\":\"AQID\",\"deleted\":true}]");
    sg_reg_dsset s;
    char err[200];
    assert_int_equal(sg_reg_gandi_parse_list(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].flags, 257); /* from type ksk when flags are absent */
    assert_string_equal(s.v[0].id, "a1b2");
    json_decref(j);
    sg_reg_dsset_deinit(&s);
    j = parse("{\"not\":\"a list\"}");
    assert_int_equal(sg_reg_gandi_parse_list(j, &s, err, sizeof err), SG_EMALFORMED);
    json_decref(j);
}

static void openprovider_json(void **st)
{
    (void)st;
    sg_reg_dsset want;
    sg_reg_dsset_init(&want);
    sg_reg_ds d = sample();
    char *b = sg_reg_openprovider_update_body(&want);
    assert_string_equal(b, "{\"dnssec_keys\":[],\"is_dnssec_enabled\":false}");
    free(b);
    sg_reg_dsset_add(&want, &d);
    b = sg_reg_openprovider_update_body(&want);
    assert_string_equal(b, "{\"dnssec_keys\":[{\"alg\":13,\"flags\":257,\"protocol\":3,"
                           "\"pub_key\":\"AQIDBAUGBwgJ\"}],\"is_dnssec_enabled\":true}");
    free(b);
    json_t *j = parse("{\"id\":5,\"dnssec_keys\":[{\"alg\":13,\"flags\":257,\"protocol\":3,"
                      "\"pub_key\":\"AQIDBAUGBwgJ\",\"readonly\":0}]}");
    sg_reg_dsset s;
    char err[200];
    assert_int_equal(sg_reg_openprovider_parse_keys(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_true(sg_reg_ds_same(&s.v[0], &d));
    sg_reg_dsset_deinit(&s);
    sg_reg_dsset_deinit(&want);
    json_decref(j);
}

static void ovh_endpoints(void **st)
{
    (void)st;
    assert_string_equal(sg_reg_ovh_endpoint("ovh-eu"), "https://eu.api.ovh.com/1.0");
    assert_string_equal(sg_reg_ovh_endpoint("ovh-ca"), "https://ca.api.ovh.com/1.0");
    assert_string_equal(sg_reg_ovh_endpoint("ovh-us"), "https://api.us.ovhcloud.com/1.0");
    assert_null(sg_reg_ovh_endpoint("ovh-au"));
    char *p = sg_reg_ovh_task_path("example.com", 4242);
    assert_string_equal(p, "/domain/example.com/task/4242");
    free(p);
}

/* sg_reg_wait_task: done, failed, the bound, and a registrar being freed. */
static int never_done(sg_reg_ctx *ctx, void *arg, int *done, char *state, size_t cap)
{
    (void)ctx;
    int *calls = arg;
    ++*calls;
    *done = 0;
    snprintf(state, cap, "todo");
    return 0;
}

static int done_third(sg_reg_ctx *ctx, void *arg, int *done, char *state, size_t cap)
{
    int *calls = arg;
    snprintf(state, cap, "doing");
    if (++*calls == 3)
        *done = 1;
    if (*calls > 3)
        return sg_reg_fail(ctx, SG_REG_EREJECT, "asked after done");
    return 0;
}

static void wait_task(void **st)
{
    (void)st;
    sg_reg_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.task_timeout = 1;
    sg_reg_cred cred = { .n = 0 };
    sg_reg_journal j = { 0 };
    sg_reg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    ctx.cred = &cred;
    ctx.journal = &j;
    int calls = 0;
    assert_int_equal(sg_reg_wait_task(&ctx, "task 1", done_third, &calls), 0);
    assert_int_equal(calls, 3);
    calls = 0;
    assert_int_equal(sg_reg_wait_task(&ctx, "task 2", never_done, &calls), SG_REG_ERETRY);
    assert_non_null(strstr(ctx.err, "task 2 still todo after"));
    assert_true(calls >= 2 && calls <= 4); /* 0.25 s, 0.5 s, then over the 1 s bound */
    atomic_int stopping = 1;
    ctx.stopping = &stopping;
    cfg.task_timeout = 3600;
    calls = 0;
    assert_int_equal(sg_reg_wait_task(&ctx, "task 3", never_done, &calls), SG_REG_ERETRY);
    assert_int_equal(calls, 1);
    assert_non_null(strstr(ctx.err, "shutting down"));
    sg_reg_journal_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(porkbun_body),  cmocka_unit_test(porkbun_list),
        cmocka_unit_test(dnsimple_json), cmocka_unit_test(ovh_json),
        cmocka_unit_test(ovh_signature), cmocka_unit_test(rest_templates),
        cmocka_unit_test(hex_decode_high_bytes),
        cmocka_unit_test(inwx_json),     cmocka_unit_test(namecom_json),
        cmocka_unit_test(gandi_json),    cmocka_unit_test(openprovider_json),
        cmocka_unit_test(ovh_endpoints), cmocka_unit_test(wait_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
