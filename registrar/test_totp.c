/* SPDX-License-Identifier: MIT */
/* TOTP against RFC 6238 appendix B (the SHA-1 rows: seed "12345678901234567890", 30 s
 * steps, 8 digits), the 6-digit codes authenticator apps show (the same HOTP values
 * truncated, RFC 4226 appendix D for counter 1), and base32 secrets (RFC 4648 section 10). */
#include "registrar/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

static const uint8_t seed[] = "12345678901234567890";

static void rfc6238_appendix_b(void **st)
{
    (void)st;
    static const struct { int64_t t; const char *code; } v[] = {
        { 59, "94287082" },         { 1111111109, "07081804" }, { 1111111111, "14050471" },
        { 1234567890, "89005924" }, { 2000000000, "69279037" }, { 20000000000LL, "65353130" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[16];
        assert_int_equal(sg_reg_totp(seed, 20, v[i].t, 30, 8, out, sizeof out), 0);
        assert_string_equal(out, v[i].code);
    }
}

static void six_digits(void **st)
{
    (void)st;
    char out[8];
    /* RFC 4226 appendix D, counter 1: 287082 (T = 30..59 is counter 1) */
    assert_int_equal(sg_reg_totp(seed, 20, 30, 30, 6, out, sizeof out), 0);
    assert_string_equal(out, "287082");
    assert_int_equal(sg_reg_totp(seed, 20, 59, 30, 6, out, sizeof out), 0);
    assert_string_equal(out, "287082");
    /* counter 0 (T = 0..29): 755224 */
    assert_int_equal(sg_reg_totp(seed, 20, 29, 30, 6, out, sizeof out), 0);
    assert_string_equal(out, "755224");
    /* too small a buffer, no key, a zero step */
    assert_int_equal(sg_reg_totp(seed, 20, 29, 30, 6, out, 6), SG_EINVAL);
    assert_int_equal(sg_reg_totp(seed, 0, 29, 30, 6, out, sizeof out), SG_EINVAL);
    assert_int_equal(sg_reg_totp(seed, 20, 29, 0, 6, out, sizeof out), SG_EINVAL);
}

static void base32(void **st)
{
    (void)st;
    uint8_t b[64];
    size_t n;
    /* RFC 4648 section 10 */
    assert_int_equal(sg_reg_base32_decode("MZXW6YTBOI======", b, sizeof b, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(b, "foobar", 6);
    assert_int_equal(sg_reg_base32_decode("MZXW6===", b, sizeof b, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "foo", 3);
    /* the seed as authenticator apps take it: grouped, lower case */
    assert_int_equal(sg_reg_base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", b, sizeof b, &n), 0);
    assert_int_equal(n, 20);
    assert_memory_equal(b, seed, 20);
    assert_int_equal(sg_reg_base32_decode("MZXW1", b, sizeof b, &n), SG_EMALFORMED);
    assert_int_equal(sg_reg_base32_decode("", b, sizeof b, &n), SG_EMALFORMED);
    assert_int_equal(sg_reg_base32_decode("MZXW6YTBOI", b, 3, &n), SG_ESPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc6238_appendix_b),
        cmocka_unit_test(six_digits),
        cmocka_unit_test(base32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
