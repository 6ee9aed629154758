/* SPDX-License-Identifier: MIT */
/* The one error space: every code has its own text, lies in its component's range, and
 * no value outside the table has a text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/errors.h"

#include <string.h>

#define UNKNOWN "unknown error"
#define SCAN_TO (-1000) /* well past the last range in use */

/* range: -err / 100, as common/errors.h documents: 0 common, 1 keystore, 2 registrar */
static const struct {
    int code;
    const char *name;
    int range;
    const char *text; /* pinned: operators read these in logs and signetctl's errors */
} codes[] = {
    { SG_EINVAL, "SG_EINVAL", 0, "invalid argument" },
    { SG_ENOMEM, "SG_ENOMEM", 0, "out of memory" },
    { SG_EIO, "SG_EIO", 0, "input/output error" },
    { SG_ESYNTAX, "SG_ESYNTAX", 0, "syntax error" },
    { SG_EZONE, "SG_EZONE", 0, "zone content error" },
    { SG_ENOTFOUND, "SG_ENOTFOUND", 0, "not found" },
    { SG_ESPACE, "SG_ESPACE", 0, "no space left in buffer" },
    { SG_EMALFORMED, "SG_EMALFORMED", 0, "malformed data" },
    { SG_EEXIST, "SG_EEXIST", 0, "already exists" },
    { SG_ENOHANDLER, "SG_ENOHANDLER", 0, "no plugin answered" },
    { SG_ELIB, "SG_ELIB", 0, "library error" },
    { SG_EBUSY, "SG_EBUSY", 0, "too much work in progress" },
    { SG_ETIMEOUT, "SG_ETIMEOUT", 0, "time budget exceeded" },
    { SG_KS_EBUSY, "SG_KS_EBUSY", 1, "keystore busy (another process is writing)" },
    { SG_KS_EINUSE, "SG_KS_EINUSE", 1, "still in use" },
    { SG_KS_ESCHEMA, "SG_KS_ESCHEMA", 1, "keystore schema is newer than this program" },
    { SG_KS_ECORRUPT, "SG_KS_ECORRUPT", 1, "damaged: checksum or integrity check failed" },
    { SG_KS_EDECRYPT, "SG_KS_EDECRYPT", 1, "cannot decrypt (wrong passphrase or key)" },
    { SG_KS_ETOKEN, "SG_KS_ETOKEN", 1, "PKCS#11 token failed or unreachable" },
    { SG_KS_EPIN, "SG_KS_EPIN", 1, "PKCS#11 PIN unreadable or refused" },
    { SG_KS_EKEK, "SG_KS_EKEK", 1, "key-encryption key missing or not the one the keys need" },
    { SG_REG_ERETRY, "SG_REG_ERETRY", 2, "temporary failure at the registrar (will retry)" },
    { SG_REG_EREJECT, "SG_REG_EREJECT", 2, "the registrar refused the request" },
    { SG_REG_ECRED, "SG_REG_ECRED", 2, "registrar credentials missing or unsafe" },
};
#define NCODES (sizeof codes / sizeof codes[0])

/* sg_say fills what the caller gave, cut to fit, and returns the code it was handed. */
static void test_say(void **st)
{
    (void)st;
    char why[8];
    assert_int_equal(sg_say(why, sizeof why, SG_EZONE, "line %d: %s", 12, "bad"), SG_EZONE);
    assert_string_equal(why, "line 12");
    assert_int_equal(sg_say(NULL, 0, SG_EIO, "nowhere %d", 1), SG_EIO);
    why[0] = 'x';
    assert_int_equal(sg_say(why, 0, SG_EINVAL, "none"), SG_EINVAL);
    assert_int_equal(why[0], 'x');
}

static void test_every_code_has_its_text(void **st)
{
    (void)st;
    for (size_t i = 0; i < NCODES; i++) {
        const char *t = sg_strerror(codes[i].code);
        if (!t || strcmp(t, codes[i].text) != 0)
            fail_msg("%s (%d): \"%s\", want \"%s\"", codes[i].name, codes[i].code,
                     t ? t : "(null)", codes[i].text);
    }
    assert_string_equal(sg_strerror(SG_OK), "success");
}

static void test_texts_are_distinct_and_specific(void **st)
{
    (void)st;
    for (size_t i = 0; i < NCODES; i++) {
        const char *t = sg_strerror(codes[i].code);
        if (!*t || !strcmp(t, UNKNOWN) || !strcmp(t, "success") || !strcmp(t, "error"))
            fail_msg("%s: generic text \"%s\"", codes[i].name, t);
        for (size_t j = i + 1; j < NCODES; j++)
            if (!strcmp(t, sg_strerror(codes[j].code)))
                fail_msg("%s and %s share \"%s\"", codes[i].name, codes[j].name, t);
    }
}

static void test_codes_stay_in_their_ranges(void **st)
{
    (void)st;
    for (size_t i = 0; i < NCODES; i++) {
        int c = codes[i].code;
        if (c >= 0 || -c / 100 != codes[i].range)
            fail_msg("%s (%d) is outside range %d (%d .. %d)", codes[i].name, c, codes[i].range,
                     codes[i].range ? -100 * codes[i].range : -1, -100 * codes[i].range - 99);
        for (size_t j = i + 1; j < NCODES; j++)
            if (codes[j].code == c)
                fail_msg("%s and %s are both %d", codes[i].name, codes[j].name, c);
    }
}

/* Every value sg_strerror has a text for is in the table above, so a code added to
 * errors.h (the compiler makes it have a case) fails here until it gets its row. */
static void test_no_code_outside_the_table(void **st)
{
    (void)st;
    for (int c = -1; c >= SCAN_TO; c--) {
        if (!strcmp(sg_strerror(c), UNKNOWN))
            continue;
        size_t i = 0;
        while (i < NCODES && codes[i].code != c)
            i++;
        if (i == NCODES)
            fail_msg("%d (\"%s\") has a text but no row in this test", c, sg_strerror(c));
    }
    assert_string_equal(sg_strerror(1), UNKNOWN);
    assert_string_equal(sg_strerror(-14), UNKNOWN);
    assert_string_equal(sg_strerror(SCAN_TO - 1), UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_say),
        cmocka_unit_test(test_every_code_has_its_text),
        cmocka_unit_test(test_texts_are_distinct_and_specific),
        cmocka_unit_test(test_codes_stay_in_their_ranges),
        cmocka_unit_test(test_no_code_outside_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
