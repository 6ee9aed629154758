/* SPDX-License-Identifier: MIT */
/* Unit tests for the parallel master-file parse: the zone loaded on several threads is the
 * one loaded on one, record for record, on input that makes each record depend on those
 * before it ($ORIGIN, $TTL, omitted owners and TTLs, parentheses, comments and quotes,
 * $INCLUDE); and the sort on several threads gives the one-thread order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zones/zone.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static char g_main[128], g_inc[128];

/* Many batches' worth of records, each iteration full of context. */
static void write_zone(void)
{
    snprintf(g_main, sizeof g_main, "%s/main.zone", g_dir);
    snprintf(g_inc, sizeof g_inc, "%s/inc.zone", g_dir);
    FILE *f = fopen(g_inc, "w");
    assert_non_null(f);
    fputs("; an included file: its own origin\n"
          "x1 A 192.0.2.77\n"
          "   TXT \"blank owner in include\"\n"
          "@  TXT \"include apex\"\n", f);
    fclose(f);
    f = fopen(g_main, "w");
    assert_non_null(f);
    fputs("$ORIGIN example.\n"
          "$TTL 300\n"
          "@ IN SOA ns1 host ( 1 ; serial \"a quote ; in a comment\n"
          "   3600 900 1209600 300 )\n"
          "@ NS ns1\n"
          "ns1 A 192.0.2.1\n", f);
    for (int i = 0; i < 3000; i++) {
        fprintf(f, "h%d 60 IN A 10.0.%d.%d ; a comment with a \"quote\n", i, i / 256, i % 256);
        fprintf(f, "\tIN TXT \"semi;colon ( paren\" \"x%d\"\n", i);
        fprintf(f, "$ORIGIN sub%d.example.\n", i % 7);
        fprintf(f, "a%d ( IN\n   AAAA 2001:db8::%x )\n", i, i);
        fprintf(f, "\tMX 10 mail\n");
        fprintf(f, "$ORIGIN example.\n");
        fprintf(f, "  TXT \"after an origin change: still a%d.sub%d\"\n", i, i % 7);
        fprintf(f, "$TTL %d\n", 100 + i % 5);
        fprintf(f, "t%d TXT ( \"ttl \\\" from\"\n  \"dollar\" ) ; ) in a comment\n", i);
        fprintf(f, "u%d 7200 A 192.0.2.%d\n  AAAA ::%x\n", i, i % 250, i);
        if (i == 1500)
            fprintf(f, "$INCLUDE inc.zone inc\n");
    }
    fclose(f);
}

static void setup_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-parse-pool-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
}

static void cleanup_dir(void)
{
    char p[160];
    snprintf(p, sizeof p, "%s/main.zone", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/inc.zone", g_dir);
    unlink(p);
    rmdir(g_dir);
}

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static int append(void *arg, uint16_t type, char *line)
{
    (void)type;
    text *t = arg;
    size_t l = strlen(line);
    if (t->len + l + 1 > t->cap) {
        t->cap = (t->len + l + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, line, l + 1);
    t->len += l;
    return 0;
}

static sg_zone *load(int threads)
{
    sg_zone *z = NULL;
    sg_zone_load_opts o = { .threads = threads };
    assert_int_equal(sg_zone_load_file_opts(g_main, "example.", &o, &z), 0);
    return z;
}

static void test_threads_same_zone(void **state)
{
    (void)state;
    setup_dir();
    write_zone();
    sg_zone *one = load(1);
    text t1 = { 0 };
    assert_int_equal(sg_zone_each_record_text(one, append, &t1), 0);
    /* what depends on context, read the way RFC 1035 says ($TTL before the last TTL given,
     * RFC 2308 4; the loader before the parallel parse read this file the same, byte for
     * byte) */
    assert_non_null(strstr(t1.s, "a7.sub0.example.\t101\tIN\tTXT\t\"after an origin change: still a7.sub0\""));
    assert_non_null(strstr(t1.s, "a7.sub0.example.\t101\tIN\tMX\t10 mail.sub0.example."));
    assert_non_null(strstr(t1.s, "h7.example.\t101\tIN\tTXT\t\"semi;colon ( paren\" \"x7\""));
    assert_non_null(strstr(t1.s, "t7.example.\t102\tIN\tTXT\t\"ttl \\\" from\" \"dollar\""));
    assert_non_null(strstr(t1.s, "u7.example.\t102\tIN\tAAAA\t::7"));
    assert_non_null(strstr(t1.s, "x1.inc.example.\t"));
    assert_non_null(strstr(t1.s, "inc.example.\t100\tIN\tTXT\t\"include apex\""));
    assert_non_null(strstr(t1.s, "x1.inc.example.\t100\tIN\tTXT\t\"blank owner in include\""));
    for (int threads = 2; threads <= 5; threads += 3) {
        sg_zone *many = load(threads);
        assert_int_equal(many->nrecords, one->nrecords);
        assert_int_equal(many->nnodes, one->nnodes);
        text tn = { 0 };
        assert_int_equal(sg_zone_each_record_text(many, append, &tn), 0);
        assert_int_equal(tn.len, t1.len);
        assert_string_equal(tn.s, t1.s);
        free(tn.s);
        sg_zone_free(many);
    }
    assert_true(one->nrecords > 3000 * 8);
    free(t1.s);
    sg_zone_free(one);
    cleanup_dir();
}

/* A bad record among many: the load fails on every thread count, naming its line. */
static void test_threads_bad_record(void **state)
{
    (void)state;
    setup_dir();
    write_zone();
    FILE *f = fopen(g_main, "a");
    assert_non_null(f);
    fputs("bad A 300.1.2.3\n", f);
    for (int i = 0; i < 2000; i++)
        fprintf(f, "late%d A 192.0.2.1\n", i);
    fclose(f);
    for (int threads = 1; threads <= 4; threads += 3) {
        sg_zone *z = NULL;
        sg_zone_load_opts o = { .threads = threads };
        assert_int_not_equal(sg_zone_load_file_opts(g_main, "example.", &o, &z), 0);
        assert_null(z);
    }
    cleanup_dir();
}

/* On one thread errors come in the file's order, the reader's own (a bad directive) among
 * ldns's (bad RDATA), as signetd's operators have always read them. */
static void test_one_thread_error_order(void **state)
{
    (void)state;
    setup_dir();
    snprintf(g_main, sizeof g_main, "%s/main.zone", g_dir);
    FILE *f = fopen(g_main, "w");
    assert_non_null(f);
    fputs("$TTL 300\n@ SOA ns1 host 1 3600 900 1209600 300\n@ NS ns1\n"
          "bad A 300.1.2.3\n"
          "$FOO x\n"
          "bad2 AAAA nothex\n", f);
    fclose(f);
    fflush(stderr);
    FILE *cap = tmpfile();
    assert_non_null(cap);
    int saved = dup(2);
    dup2(fileno(cap), 2);
    sg_zone *z = NULL;
    sg_zone_load_opts o = { .threads = 1 };
    int rc = sg_zone_load_file_opts(g_main, "example.", &o, &z);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_not_equal(rc, 0);
    char log[4096] = "";
    rewind(cap);
    size_t n = fread(log, 1, sizeof log - 1, cap);
    log[n] = 0;
    fclose(cap);
    const char *l4 = strstr(log, "main.zone:4:"), *l5 = strstr(log, "main.zone:5:"),
               *l6 = strstr(log, "main.zone:6:");
    if (!l4 || !l5 || !l6 || !(l4 < l5 && l5 < l6))
        fail_msg("errors not in the file's order:\n%s", log);
    cleanup_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_same_zone),
        cmocka_unit_test(test_threads_bad_record),
        cmocka_unit_test(test_one_thread_error_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
