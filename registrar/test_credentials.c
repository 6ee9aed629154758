/* SPDX-License-Identifier: MIT */
/* Unit tests: credential files (permissions, format), environment variables, redaction. */
#include "registrar/internal.h"
#include "common/secure_heap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

static char dir[64];

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

/* the values are secrets: in the secure heap once the process has one, cleansed on free */
static void values_in_secure_memory(void **st)
{
    (void)st;
    sg_secure_heap_init(1 << 16);
    assert_true(CRYPTO_secure_malloc_initialized());
    size_t used0 = CRYPTO_secure_used();
    const char *p = write_file("sec.cred", "apikey = pk1_secure\ntoken = t0k3n\n", 0600);
    sg_reg_cred c;
    char why[300];
    assert_int_equal(sg_reg_cred_load_file(p, &c, why, sizeof why), 0);
    assert_true(CRYPTO_secure_allocated(sg_reg_cred_get(&c, "apikey")));
    assert_true(CRYPTO_secure_allocated(sg_reg_cred_get(&c, "token")));
    assert_string_equal(sg_reg_cred_get(&c, "apikey"), "pk1_secure");
    assert_false(CRYPTO_secure_allocated(c.key[0])); /* names are not secret */
    assert_true(CRYPTO_secure_used() > used0);
    sg_reg_cred_free(&c);
    assert_int_equal(CRYPTO_secure_used(), used0);
}

static void file_ok(void **st)
{
    (void)st;
    const char *p = write_file("ok.cred", "# porkbun\napikey = pk1_abc\nsecretapikey: \"sk1 x\"\n\n", 0600);
    sg_reg_cred c;
    char why[300];
    assert_int_equal(sg_reg_cred_load_file(p, &c, why, sizeof why), 0);
    assert_string_equal(sg_reg_cred_get(&c, "apikey"), "pk1_abc");
    assert_string_equal(sg_reg_cred_get(&c, "secretapikey"), "sk1 x");
    assert_null(sg_reg_cred_get(&c, "token"));
    sg_reg_cred_free(&c);
    p = write_file("ro.cred", "token = t0k3nvalue\n", 0400);
    assert_int_equal(sg_reg_cred_load_file(p, &c, why, sizeof why), 0);
    sg_reg_cred_free(&c);
}

static void file_refused(void **st)
{
    (void)st;
    static const mode_t modes[] = { 0640, 0604, 0644, 0660, 0610, 0601 };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *p = write_file("open.cred", "apikey = secretvalue123\n", modes[i]);
        sg_reg_cred c;
        char why[300] = "";
        assert_int_equal(sg_reg_cred_load_file(p, &c, why, sizeof why), SG_REG_ECRED);
        assert_non_null(strstr(why, "group or others"));
        assert_null(strstr(why, "secretvalue123"));
        assert_int_equal(c.n, 0);
    }
    sg_reg_cred c;
    char why[300] = "";
    assert_int_equal(sg_reg_cred_load_file("/nonexistent/x.cred", &c, why, sizeof why), SG_REG_ECRED);
    assert_non_null(strstr(why, "/nonexistent/x.cred"));
    /* a malformed line is reported by number, never by content */
    const char *p = write_file("bad.cred", "apikey = a\nhunter2secret\n", 0600);
    assert_int_equal(sg_reg_cred_load_file(p, &c, why, sizeof why), SG_REG_ECRED);
    assert_non_null(strstr(why, ":2:"));
    assert_null(strstr(why, "hunter2"));
    /* a directory is not a credentials file */
    assert_int_equal(sg_reg_cred_load_file(dir, &c, why, sizeof why), SG_REG_ECRED);
}

static void env(void **st)
{
    (void)st;
    setenv("SIGTEST_APPLICATION_KEY", "ak-1", 1);
    setenv("SIGTEST_TOKEN", "tok-2", 1);
    static const char *const names[] = { "application-key", "token", "apikey", NULL };
    sg_reg_cred c;
    assert_int_equal(sg_reg_cred_load_env("SIGTEST_", names, &c), 0);
    assert_string_equal(sg_reg_cred_get(&c, "application-key"), "ak-1");
    assert_string_equal(sg_reg_cred_get(&c, "token"), "tok-2");
    assert_null(sg_reg_cred_get(&c, "apikey"));
    sg_reg_cred_free(&c);
}

static void redact(void **st)
{
    (void)st;
    sg_reg_cred c;
    memset(&c, 0, sizeof c);
    c.key[0] = strdup("token");
    c.val[0] = strdup("s3cr3t-token");
    c.n = 1;
    char text[200] = "HTTP 401: bad token s3cr3t-token (s3cr3t-token)";
    sg_reg_cred_redact(&c, text);
    assert_string_equal(text, "HTTP 401: bad token *** (***)");
    sg_reg_cred_free(&c);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sg-regcred-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_ok), cmocka_unit_test(file_refused), cmocka_unit_test(env),
        cmocka_unit_test(redact), cmocka_unit_test(values_in_secure_memory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    return rc;
}
