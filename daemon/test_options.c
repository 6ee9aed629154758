/* SPDX-License-Identifier: MIT */
/* Unit tests for the process options (control, user, pid-file, log-target), the TLS
 * listener keys, and the log capture that carries reload errors to signetctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"
#include "daemon/control.h"
#include "daemon/runtime.h"

#include <stdio.h>
#include <string.h>

typedef struct option_case {
    const char *line;
    int rc;            /* 0, 1 (not ours) or SG_ESYNTAX */
    const char *control, *user, *pid_file, *log_target;
    const char *log_format; /* NULL: the default, text */
} option_case;

static const option_case cases[] = {
    { "control /run/x/s.sock", 0, "/run/x/s.sock", "", "", "stderr", NULL },
    { "control off", 0, "", "", "", "stderr", NULL },
    { "control relative.sock", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "control", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "control /a /b", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "control /" "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "user root", 0, SG_CONTROL_DEFAULT, "root", "", "stderr", NULL },
    /* looked up at its line, so that -t names it (issue 15) */
    { "user no-such-user-here", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "user", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "pid-file /run/signet/signetd.pid", 0, SG_CONTROL_DEFAULT, "", "/run/signet/signetd.pid", "stderr", NULL },
    { "pid-file signetd.pid", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "log-target syslog", 0, SG_CONTROL_DEFAULT, "", "", "syslog", NULL },
    { "log-target stderr", 0, SG_CONTROL_DEFAULT, "", "", "stderr", NULL },
    { "log-target journal", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "log-format json", 0, SG_CONTROL_DEFAULT, "", "", "stderr", "json" },
    { "log-format text", 0, SG_CONTROL_DEFAULT, "", "", "stderr", "text" },
    { "log-format yaml", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "log-format", SG_ESYNTAX, NULL, NULL, NULL, NULL, NULL },
    { "workers 2", 1, NULL, NULL, NULL, NULL, NULL },
};

static void test_proc_options(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_SILENT);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const option_case *c = &cases[i];
        char text[512];
        snprintf(text, sizeof text, "{\n    %s\n}\n. {\n}\n", c->line);
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(text, "Corefile", &cfg), 0);
        sg_proc_options o;
        sg_proc_defaults(&o);
        int rc = sg_proc_option(&cfg->global->children[0], &o);
        if (rc != c->rc)
            fail_msg("'%s': %d, want %d", c->line, rc, c->rc);
        if (c->rc == 0) {
            assert_string_equal(o.control, c->control);
            assert_string_equal(o.user, c->user);
            assert_string_equal(o.pid_file, c->pid_file);
            assert_string_equal(o.log_target, c->log_target);
            assert_string_equal(o.log_format, c->log_format ? c->log_format : "text");
        }
        sg_cfg_free(cfg);
    }
    sg_log_set_level(SG_LOG_INFO);
}

static void test_log_capture(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_SILENT); /* captured even when nothing is printed */
    char buf[128];
    sg_log_capture_begin(buf, sizeof buf);
    sg_log(SG_LOG_INFO, "zone", NULL, "not an error");
    sg_log(SG_LOG_ERR, "zone", "a.test.", "a.zone:7: bad rdata");
    sg_log(SG_LOG_WARN, "signetd", NULL, "careful");
    assert_int_equal(sg_log_capture_end(), 1);
    assert_string_equal(buf, "[ERROR] zone: a.test.: a.zone:7: bad rdata\n[WARN] signetd: careful\n");
    /* after the end nothing more goes in */
    sg_log(SG_LOG_ERR, "zone", NULL, "later");
    assert_null(strstr(buf, "later"));
    /* a small buffer is cut, stays terminated, and still counts */
    char small[16];
    sg_log_capture_begin(small, sizeof small);
    sg_log(SG_LOG_ERR, "x", NULL, "%s", "a rather long message that does not fit");
    sg_log(SG_LOG_ERR, "x", NULL, "second");
    assert_int_equal(sg_log_capture_end(), 2);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, "[ERROR] x: a ra", 15);
    sg_log_set_level(SG_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_options),
        cmocka_unit_test(test_log_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
