/* SPDX-License-Identifier: MIT */
/* Unit tests for master-file loading and zone checks, including the file:line of errors. */
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
#include <sys/stat.h>

static char g_dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* stderr capture, to check that errors name file and line */
static int g_saved = -1;
static FILE *g_cap;
static void capture_start(void)
{
    fflush(stderr);
    g_cap = tmpfile();
    g_saved = dup(2);
    dup2(fileno(g_cap), 2);
}
static char *capture_end(void)
{
    static char buf[8192];
    fflush(stderr);
    dup2(g_saved, 2);
    close(g_saved);
    rewind(g_cap);
    size_t n = fread(buf, 1, sizeof buf - 1, g_cap);
    buf[n] = 0;
    fclose(g_cap);
    return buf;
}

static const char *HEAD =
    "$ORIGIN t.test.\n"
    "$TTL 600\n"
    "@ IN SOA ns hostmaster ( 7 3600 600 86400\n"
    "   120 ) ; minimum\n"
    "  IN NS ns\n"
    "ns IN A 192.0.2.1\n";

static int setup(void **st)
{
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-test-zone-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

static void test_load_good(void **st)
{
    (void)st;
    char text[4096];
    snprintf(text, sizeof text, "%s"
             "www 300 IN A 192.0.2.2\n"
             "www IN A 192.0.2.2\n"            /* duplicate: dropped */
             "    IN AAAA 2001:db8::2\n"       /* owner omitted */
             "a.b.c IN TXT \"has ; semicolon\" \"and (parens)\"\n"
             "x IN TYPE65534 \\# 3 010203\n"
             "Mixed.Case IN MX 10 MAIL.T.TEST.\n"
             "$INCLUDE inc.zone sub\n"
             "after IN A 192.0.2.9\n", HEAD);
    write_file("inc.zone", "host IN A 192.0.2.3\n");
    const char *path = write_file("t.zone", text);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    assert_int_equal(z->serial, 7);
    assert_int_equal(z->neg_ttl, 120);   /* min(SOA TTL 600, MINIMUM 120) */
    /* records: SOA NS ns/A www/A www/AAAA TXT TYPE65534 MX host.sub after */
    assert_int_equal(z->nrecords, 10);
    const sg_node *n = sg_zone_find(z, (const uint8_t *)"\3www\1t\4test", 12);
    assert_non_null(n);
    const sg_rrset *a = sg_node_rrset(n, SG_TYPE_A);
    assert_non_null(a);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->ttl, 300);
    const sg_rrset *aaaa = sg_node_rrset(n, SG_TYPE_AAAA);
    assert_non_null(aaaa);
    assert_int_equal(aaaa->ttl, 600);     /* an omitted TTL is $TTL (RFC 2308) */
    /* empty non-terminals exist as nodes without RRsets */
    const sg_node *ent = sg_zone_find(z, (const uint8_t *)"\1c\1t\4test", 10);
    assert_non_null(ent);
    assert_int_equal(ent->nrrsets, 0);
    assert_non_null(sg_zone_find(z, (const uint8_t *)"\1b\1c\1t\4test", 12));
    /* owner and embedded names are lower-cased (canonical form) */
    n = sg_zone_find(z, (const uint8_t *)"\5mixed\4case\1t\4test", 19);
    assert_non_null(n);
    const sg_rrset *mx = sg_node_rrset(n, SG_TYPE_MX);
    assert_memory_equal(mx->rdata + 4, "\4mail\1t\4test", 13);
    /* $INCLUDE with an origin; the origin is restored after it */
    assert_non_null(sg_zone_find(z, (const uint8_t *)"\4host\3sub\1t\4test", 17));
    assert_non_null(sg_zone_find(z, (const uint8_t *)"\5after\1t\4test", 14));
    const sg_rrset *unk = sg_node_rrset(sg_zone_find(z, (const uint8_t *)"\1x\1t\4test", 10), 65534);
    assert_non_null(unk);
    assert_int_equal(sg_rdlen(unk->rdata), 3);
    /* canonical order: the apex first, parents before children */
    assert_ptr_equal(z->apex_node, &z->nodes[0]);
    for (size_t i = 1; i < z->nnodes; i++)
        assert_true(z->nodes[i].parent && z->nodes[i].parent->index < i);
    sg_zone_free(z);
}

/* Each broken zone must fail and name the file and the line of the fault. */
static void test_load_errors(void **st)
{
    (void)st;
    static const struct { const char *body; const char *needle; } cases[] = {
        { "www IN A 300.1.1.1\n", "t.zone:7:" },
        { "www IN CNAME x\nwww IN A 192.0.2.1\n", "t.zone:7: CNAME and other data" },
        { "out.example. IN A 192.0.2.1\n", "t.zone:7: record for out.example. is outside the zone" },
        { "@ IN SOA ns h 8 1 1 1 1\n", "t.zone:7: more than one SOA" },
        { "sub IN SOA ns h 8 1 1 1 1\n", "t.zone:7: SOA record not at the zone apex" },
        { "www IN A ( 192.0.2.1\n", "t.zone:7: unbalanced '('" },
        { "www IN TXT \"open\n", "t.zone:7: unterminated" },
        { "$INCLUDE missing.zone\n", "t.zone:7: cannot read $INCLUDE" },
        { "$GENERATE 1-3 h$ A 192.0.2.$\n", "t.zone:7: unsupported directive" },
        { "www IN CH A 192.0.2.1\n", "t.zone:7:" },
        { "c IN CNAME a\nc IN CNAME b\n", "t.zone:8: more than one CNAME" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text, "%s%s", HEAD, cases[i].body);
        const char *path = write_file("t.zone", text);
        sg_zone *z = NULL;
        capture_start();
        int rc = sg_zone_load_file(path, "t.test.", &z);
        char *out = capture_end();
        if (rc == 0)
            fail_msg("case %zu loaded: %s", i, cases[i].body);
        assert_null(z);
        if (!strstr(out, cases[i].needle))
            fail_msg("case %zu: expected '%s' in:\n%s", i, cases[i].needle, out);
    }
    /* no SOA, no apex NS */
    const char *path = write_file("t.zone", "$ORIGIN t.test.\n$TTL 60\nwww IN A 192.0.2.1\n");
    sg_zone *z = NULL;
    capture_start();
    assert_int_not_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    char *out = capture_end();
    assert_non_null(strstr(out, "no SOA"));
    path = write_file("t.zone", "$ORIGIN t.test.\n$TTL 60\n@ IN SOA ns h 1 1 1 1 1\n");
    capture_start();
    assert_int_not_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    out = capture_end();
    assert_non_null(strstr(out, "no NS records"));
    /* a NUL byte is an error with file:line, not the silent end of its line (issue 14) */
    path = write_file("t.zone", HEAD);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    static const char nul[] = "www IN A 192.0.2.1\nmail IN TXT \"a\0b\" ; rest\n";
    assert_int_equal(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
    fclose(f);
    capture_start();
    assert_int_not_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    out = capture_end();
    assert_null(z);
    if (!strstr(out, "t.zone:8: a NUL byte"))
        fail_msg("expected 't.zone:8: a NUL byte' in:\n%s", out);
    /* unreadable file */
    capture_start();
    assert_int_equal(sg_zone_load_file("/nonexistent/zone", "t.test.", &z), SG_EIO);
    capture_end();
}

static void test_cuts_and_wildcards(void **st)
{
    (void)st;
    char text[4096];
    snprintf(text, sizeof text, "%s"
             "child IN NS ns.child\n"
             "ns.child IN A 192.0.2.5\n"
             "deep.below.child IN A 192.0.2.6\n"
             "*.w IN A 192.0.2.7\n", HEAD);
    const char *path = write_file("t.zone", text);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    const sg_node *child = sg_zone_find(z, (const uint8_t *)"\5child\1t\4test", 14);
    assert_true(child->flags & SG_NODE_DELEG);
    assert_ptr_equal(child->cut, child);
    const sg_node *glue = sg_zone_find(z, (const uint8_t *)"\2ns\5child\1t\4test", 17);
    assert_true(glue->flags & SG_NODE_NONAUTH);
    assert_ptr_equal(glue->cut, child);
    const sg_node *deep = sg_zone_find(z, (const uint8_t *)"\4deep\5below\5child\1t\4test", 25);
    assert_true(deep->flags & SG_NODE_NONAUTH);
    assert_ptr_equal(deep->cut, child);
    const sg_node *w = sg_zone_find(z, (const uint8_t *)"\1w\1t\4test", 10);
    assert_non_null(w->wildcard);
    assert_true(w->wildcard->flags & SG_NODE_WILDCARD);
    assert_false(z->apex_node->flags & (SG_NODE_DELEG | SG_NODE_NONAUTH));
    sg_zone_free(z);
}

/* Only regular files are read, and within max-size (issue 15: /dev/zero read forever, a
 * FIFO blocked the reload and, behind it, the control socket and SIGTERM). */
static void test_load_refuses_non_files(void **st)
{
    (void)st;
    char fifo[200], link[200], dir[200];
    snprintf(fifo, sizeof fifo, "%s/fifo.zone", g_dir);
    snprintf(link, sizeof link, "%s/zero.zone", g_dir);
    snprintf(dir, sizeof dir, "%s/dir.zone", g_dir);
    unlink(fifo);
    unlink(link);
    rmdir(dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink("/dev/zero", link), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    static const struct { const char *path, *needle; } cases[3] = {
        { NULL, "not a regular file (a FIFO)" },
        { NULL, "not a regular file (a character device)" },
        { NULL, "not a regular file (a directory)" },
    };
    const char *paths[3] = { fifo, link, dir };
    for (int i = 0; i < 3; i++) {
        sg_zone *z = NULL;
        capture_start();
        int rc = sg_zone_load_file(paths[i], "t.test.", &z); /* returns: no writer is waited for */
        char *out = capture_end();
        assert_int_equal(rc, SG_EIO);
        assert_null(z);
        if (!strstr(out, cases[i].needle))
            fail_msg("%s: expected '%s' in:\n%s", paths[i], cases[i].needle, out);
    }
    /* an $INCLUDE of one: the error names the including file and line */
    char text[512];
    snprintf(text, sizeof text, "%s$INCLUDE %s\n", HEAD, fifo);
    const char *path = write_file("t.zone", text);
    sg_zone *z = NULL;
    capture_start();
    assert_int_not_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    char *out = capture_end();
    if (!strstr(out, "t.zone:7: $INCLUDE file") || !strstr(out, "a FIFO"))
        fail_msg("expected t.zone:7 and the FIFO in:\n%s", out);
    /* max-size counts the file and its $INCLUDEs */
    path = write_file("t.zone", HEAD);
    capture_start();
    assert_int_equal(sg_zone_load_file_max(path, "t.test.", 10, &z), SG_EIO);
    out = capture_end();
    if (!strstr(out, "would pass max-size"))
        fail_msg("expected max-size in:\n%s", out);
    assert_int_equal(sg_zone_load_file_max(path, "t.test.", 0, &z), 0); /* 0: no bound */
    sg_zone_free(z);
    unlink(fifo);
    unlink(link);
    rmdir(dir);
}

typedef struct text_lines {
    char buf[4096];
    int n;
    int stop_at;
} text_lines;

static int collect(void *arg, uint16_t type, char *line)
{
    text_lines *t = arg;
    if (t->n == 0)
        assert_int_equal(type, SG_TYPE_SOA);
    strncat(t->buf, line, sizeof t->buf - strlen(t->buf) - 1);
    return ++t->n == t->stop_at ? SG_EEXIST : 0;
}

/* every record once as a presentation line, the SOA first; the callback can stop the walk */
static void test_record_text(void **st)
{
    char text[512];
    snprintf(text, sizeof text, "%swww IN A 192.0.2.2\n IN A 192.0.2.3\nw2 300 IN TXT \"a b\"\n", HEAD);
    const char *path = write_file("t.zone", text);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "t.test.", &z), 0);
    text_lines t = { .n = 0 };
    assert_int_equal(sg_zone_each_record_text(z, collect, &t), 0);
    assert_int_equal(t.n, (int)z->nrecords);
    assert_int_equal(t.n, 6);
    assert_true(!strncmp(t.buf, "t.test.\t600\tIN\tSOA\tns.t.test. hostmaster.t.test. 7 3600 600 86400 120\n",
                         strlen("t.test.\t600\tIN\tSOA")));
    assert_non_null(strstr(t.buf, "www.t.test.\t600\tIN\tA\t192.0.2.3\n"));
    assert_non_null(strstr(t.buf, "w2.t.test.\t300\tIN\tTXT\t\"a b\"\n"));
    text_lines stop = { .n = 0, .stop_at = 2 };
    assert_int_equal(sg_zone_each_record_text(z, collect, &stop), SG_EEXIST);
    assert_int_equal(stop.n, 2);
    assert_int_equal(sg_zone_each_record_text(NULL, collect, &stop), SG_EINVAL);
    sg_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_refuses_non_files),
        cmocka_unit_test(test_cuts_and_wildcards),
        cmocka_unit_test(test_record_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
