/* SPDX-License-Identifier: MIT */
/* AWS Signature Version 4 against AWS's published test suite (aws-sig-v4-test-suite,
 * 2015-08-30 edition: credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
 * region us-east-1, service "service", 20150830T123600Z), as AWS published it at
 * https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html and as
 * the AWS SDK for JavaScript v3 carries it in packages/signature-v4/src/suite.fixture.ts
 * (github.com/aws/aws-sdk-js-v3). Then the Route 53 Domains bodies. */
#include "registrar/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#define AUTH_PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

/* the suite's example session token (post-sts-token) */
#define STS_TOKEN "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxf" \
    "pSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPky" \
    "QDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+" \
    "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

typedef struct vector {
    const char *name, *method, *query;
    const char *headers[4];
    int nheaders;
    const char *body;
    const char *authorization;
} vector;

static const vector vectors[] = {
    { "get-vanilla", "GET", "", { "Host:example.amazonaws.com", "X-Amz-Date:20150830T123600Z" }, 2,
      NULL,
      AUTH_PREFIX "SignedHeaders=host;x-amz-date, "
                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
    { "post-vanilla", "POST", "", { "Host:example.amazonaws.com", "X-Amz-Date:20150830T123600Z" }, 2,
      NULL,
      AUTH_PREFIX "SignedHeaders=host;x-amz-date, "
                  "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
    { "get-vanilla-query-order-key-case", "GET", "Param2=value2&Param1=value1",
      { "Host:example.amazonaws.com", "X-Amz-Date:20150830T123600Z" }, 2, NULL,
      AUTH_PREFIX "SignedHeaders=host;x-amz-date, "
                  "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
    { "post-header-key-sort", "POST", "",
      { "Host:example.amazonaws.com", "My-Header1:value1", "X-Amz-Date:20150830T123600Z" }, 3, NULL,
      AUTH_PREFIX "SignedHeaders=host;my-header1;x-amz-date, "
                  "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },
    { "get-header-value-trim", "GET", "",
      { "Host:example.amazonaws.com", "My-Header1: value1", "My-Header2: \"a   b   c\"",
        "X-Amz-Date:20150830T123600Z" }, 4, NULL,
      AUTH_PREFIX "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                  "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
    { "post-x-www-form-urlencoded", "POST", "",
      { "Content-Type:application/x-www-form-urlencoded", "Host:example.amazonaws.com",
        "X-Amz-Date:20150830T123600Z" }, 3, "Param1=value1",
      AUTH_PREFIX "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
    /* temporary credentials: the session token is a signed header (what Route 53
     * Domains needs; the suite's post-sts-header-after is for services that do not) */
    { "post-sts-token/post-sts-header-before", "POST", "",
      { "Host:example.amazonaws.com", "X-Amz-Date:20150830T123600Z",
        "X-Amz-Security-Token:" STS_TOKEN }, 3, NULL,
      AUTH_PREFIX "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                  "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },
};

static sg_sigv4_req request(const vector *v)
{
    sg_sigv4_req r = {
        .method = v->method, .path = "/", .query = v->query, .headers = v->headers,
        .nheaders = v->nheaders, .body = v->body, .body_len = v->body ? strlen(v->body) : 0,
        .access_key = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .region = "us-east-1", .service = "service", .amz_date = "20150830T123600Z",
    };
    return r;
}

static void suite(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        sg_sigv4_req r = request(&vectors[i]);
        char auth[512];
        assert_int_equal(sg_sigv4_authorization(&r, auth, sizeof auth), 0);
        if (strcmp(auth, vectors[i].authorization))
            fail_msg("%s:\n got %s\nwant %s", vectors[i].name, auth, vectors[i].authorization);
    }
}

/* get-vanilla's intermediate steps as the suite gives them (.creq, .sts). */
static void get_vanilla_steps(void **st)
{
    (void)st;
    sg_sigv4_req r = request(&vectors[0]);
    char *creq, *sts;
    assert_int_equal(sg_sigv4_canonical(&r, &creq, &sts), 0);
    assert_string_equal(creq, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                              "host;x-amz-date\n"
                              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
                             "20150830/us-east-1/service/aws4_request\n"
                             "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    free(creq);
    free(sts);
    /* a changed secret, date or body changes the signature */
    char a1[512], a2[512];
    assert_int_equal(sg_sigv4_authorization(&r, a1, sizeof a1), 0);
    r.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEx";
    assert_int_equal(sg_sigv4_authorization(&r, a2, sizeof a2), 0);
    assert_string_not_equal(a1, a2);
    char small[40];
    assert_int_equal(sg_sigv4_authorization(&r, small, sizeof small), SG_ESPACE);
    const char *bad[] = { "no colon here" };
    r.headers = bad;
    r.nheaders = 1;
    assert_int_equal(sg_sigv4_authorization(&r, a2, sizeof a2), SG_EINVAL);
}

static void route53_bodies(void **st)
{
    (void)st;
    sg_reg_ds d;
    memset(&d, 0, sizeof d);
    d.algorithm = 13;
    d.flags = 257;
    d.tag = 2371;
    d.pubkey_len = 4;
    memcpy(d.pubkey, "\x01\x02\x03\x04", 4);
    char *b = sg_reg_route53_associate_body("example.com", &d);
    assert_string_equal(b, "{\"DomainName\":\"example.com\",\"SigningAttributes\":{\"Algorithm\":13,"
                           "\"Flags\":257,\"PublicKey\":\"AQIDBA==\"}}");
    free(b);
    json_error_t je;
    json_t *j = json_loads("{\"DomainName\":\"example.com\",\"DnssecKeys\":[{\"Algorithm\":13,"
                           "\"Flags\":257,\"PublicKey\":\"AQIDBA==\",\"DigestType\":2,\"Digest\":"
                           "\"ab12\",\"KeyTag\":2371,\"Id\":\"ds-1\"}]}", 0, &je);
    sg_reg_dsset s;
    char err[200];
    assert_int_equal(sg_reg_route53_parse_detail(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].tag, 2371);
    assert_int_equal(s.v[0].flags, 257);
    assert_int_equal(s.v[0].pubkey_len, 4);
    assert_int_equal(s.v[0].digest_len, 2);
    assert_string_equal(s.v[0].id, "ds-1");
    assert_true(sg_reg_ds_same(&s.v[0], &d)); /* by key: d has no digest */
    sg_reg_dsset_deinit(&s);
    json_decref(j);
    j = json_loads("{\"DomainName\":\"example.com\"}", 0, &je); /* no keys at all */
    assert_int_equal(sg_reg_route53_parse_detail(j, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    json_decref(j);
    j = json_loads("{\"DnssecKeys\":[{\"Algorithm\":13}]}", 0, &je);
    assert_int_equal(sg_reg_route53_parse_detail(j, &s, err, sizeof err), SG_EMALFORMED);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(suite),
        cmocka_unit_test(get_vanilla_steps),
        cmocka_unit_test(route53_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
