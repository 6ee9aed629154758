/* SPDX-License-Identifier: MIT */
/* Unit tests for the log's JSON format: stable keys in a fixed order, null for no zone,
 * escaping of quotes, backslashes and control characters, a long message cut short but
 * still one valid object, and text lines as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What sg_log wrote to stderr while fn ran. */
static char *logged(void (*fn)(void))
{
    int fd = memfd_create("log", 0), saved = dup(STDERR_FILENO);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

static void plain(void)
{
    sg_log(SG_LOG_WARN, "zone", "example.org.", "bad \"record\" at C:\\x\nnext\tline\x01");
    sg_log(SG_LOG_INFO, "signetd", NULL, "started");
    sg_log(SG_LOG_DEBUG, "signetd", NULL, "not shown at info");
}

static void test_json_lines(void **st)
{
    (void)st;
    assert_int_equal(sg_log_set_format("json"), 0);
    char *out = logged(plain);
    sg_log_set_format("text");
    char *second = strchr(out, '\n');
    assert_non_null(second);
    *second++ = 0;
    /* "time" first, then the stable keys; the time is UTC with milliseconds */
    assert_true(!strncmp(out, "{\"time\":\"", 9));
    assert_int_equal(strlen("2026-01-31T12:00:00.000Z"), strchr(out + 9, '"') - (out + 9));
    const char *rest = strchr(out + 9, '"') + 1;
    assert_string_equal(rest, ",\"level\":\"warning\",\"component\":\"zone\",\"zone\":\"example.org.\","
                              "\"message\":\"bad \\\"record\\\" at C:\\\\x\\nnext\\u0009line\\u0001\"}");
    const char *r2 = strstr(second, "\"level\"");
    assert_non_null(r2);
    assert_string_equal(r2, "\"level\":\"info\",\"component\":\"signetd\",\"zone\":null,\"message\":\"started\"}\n");
    free(out);
}

static void longer(void)
{
    char big[3000];
    memset(big, '"', sizeof big - 1); /* each doubles when escaped */
    big[sizeof big - 1] = 0;
    sg_log(SG_LOG_ERR, "x", "z.", "%s", big);
}

static void test_json_long_message(void **st)
{
    (void)st;
    sg_log_set_format("json");
    char *out = logged(longer);
    sg_log_set_format("text");
    size_t n = strlen(out);
    assert_true(n > 1000 && n < 4300);
    assert_string_equal(out + n - 3, "\"}\n"); /* cut short, but closed */
    /* never a lone backslash before the closing quote */
    assert_true(out[n - 4] != '\\' || out[n - 5] == '\\');
    free(out);
}

static void test_text_and_names(void **st)
{
    (void)st;
    assert_int_equal(sg_log_set_format("yaml"), SG_EINVAL);
    assert_int_equal(sg_log_set_format(NULL), SG_EINVAL);
    char *out = logged(plain);
    assert_non_null(strstr(out, "Z [WARN] zone: example.org.: bad \"record\""));
    assert_non_null(strstr(out, "Z [INFO] signetd: started\n"));
    free(out);
}

int main(void)
{
    sg_log_set_level(SG_LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_json_long_message),
        cmocka_unit_test(test_text_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
