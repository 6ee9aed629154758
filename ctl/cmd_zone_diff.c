/* SPDX-License-Identifier: MIT */
/* signetctl zone diff ZONE [FILE]: what a reload of ZONE would change, as the operator asks
 * before one: the version signetd serves (from its control socket, the zone before online
 * signing) against the zone file on disk as the `file` plugin would load it. */
#include "ctl/ctl.h"
#include "zones/zone.h"

#include <stdlib.h>
#include <string.h>

#define RECORDS_TIMEOUT_MS 60000

/* zone diff's exit statuses, as diff(1): 0 the same, 1 different, 2 trouble; 75 as every
 * command when signetd is not there */
enum { DIFF_SAME = 0, DIFF_DIFFERENT = 1, DIFF_TROUBLE = 2 };

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

/* What online signing makes (and a signed zone file may hold): not compared, so that the
 * diff is the unsigned view on both sides. */
static int online_type(const char *line)
{
    /* ldns's presentation: owner TAB ttl TAB class TAB type TAB rdata */
    const char *p = line;
    for (int field = 0; field < 3 && p; field++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    if (!p)
        return 0;
    size_t n = strcspn(p, "\t");
    static const char *const types[] = { "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM" };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i]) == n && !strncmp(p, types[i], n))
            return 1;
    return 0;
}

static int lines_add(lines *l, const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    char *copy = strndup(s, n);
    if (!copy)
        return -1;
    if (online_type(copy)) {
        free(copy);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(copy);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = copy;
    return 0;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_record(void *arg, uint16_t type, char *line)
{
    (void)type;
    return lines_add(arg, line) ? SG_ENOMEM : 0;
}

static int trouble(ctl *c, const char *code, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "signetctl: zone diff: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    ctl_error_set(code);
    return DIFF_TROUBLE;
}

int cmd_zone_diff(ctl *c, int argc, char **argv)
{
    if (argc < 1 || argc > 2 || argv[0][0] == '-' || (argc == 2 && argv[1][0] == '-')) {
        ctl_usage("zone ", "usage: zone diff ZONE [FILE]");
        return DIFF_TROUBLE;
    }
    char name[SG_KS_ZONE_MAX];
    if (sg_ks_zone_normalize(argv[0], name) != 0) {
        ctl_usage("zone ", "'%s' is not a valid zone name", argv[0]);
        return DIFF_TROUBLE;
    }

    json_t *req = json_pack("{s:s, s:s}", "cmd", "zone-records", "zone", name), *rep = NULL;
    char err[512];
    int rc = ctl_daemon_call(c, req, RECORDS_TIMEOUT_MS, &rep, err, sizeof err);
    json_decref(req);
    if (rc) {
        fprintf(stderr, "signetctl: zone diff: %s\n", err);
        return rc; /* CTL_TEMPFAIL: signetd not running or silent */
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *e = json_string_value(json_object_get(rep, "error"));
        rc = trouble(c, e && strstr(e, "is not served") ? "not_found" : "failed", "%s%s",
                     e ? e : "signetd refused", "");
        json_decref(rep);
        return rc;
    }
    const char *path = argc == 2 ? argv[1] : json_string_value(json_object_get(rep, "file"));
    if (!path) {
        rc = trouble(c, "failed", "zone %s is not served from a file (a secondary or dynamic "
                     "zone%s); give the FILE to compare", name, "");
        json_decref(rep);
        return rc;
    }
    uint32_t served_serial = (uint32_t)json_integer_value(json_object_get(rep, "serial"));

    lines served = { 0 }, disk = { 0 };
    json_t *recs = json_object_get(rep, "records"), *r;
    size_t i;
    json_array_foreach(recs, i, r) {
        const char *s = json_string_value(r);
        if (s && lines_add(&served, s)) {
            rc = trouble(c, "failed", "%s%s", "out of memory", "");
            goto out;
        }
    }
    sg_zone *z = NULL;
    if (sg_zone_load_file_max(path, name, SG_ZONE_FILE_MAX_DEFAULT, &z)) {
        rc = trouble(c, "failed", "%s does not load as %s (the errors above say where); "
                     "a reload would keep the served version", path, name);
        goto out;
    }
    uint32_t file_serial = z->serial;
    rc = sg_zone_each_record_text(z, add_record, &disk);
    sg_zone_free(z);
    if (rc) {
        rc = trouble(c, "failed", "%s: %s", path, sg_strerror(rc));
        goto out;
    }

    qsort(served.v, served.n, sizeof *served.v, cmp_line);
    qsort(disk.v, disk.n, sizeof *disk.v, cmp_line);
    /* a merge of the two sorted lists: removed (served only), added (file only) */
    lines removed = { 0 }, added = { 0 };
    size_t a = 0, b = 0;
    int oom = 0;
    while (a < served.n || b < disk.n) {
        int d = a == served.n ? 1 : b == disk.n ? -1 : strcmp(served.v[a], disk.v[b]);
        if (d < 0)
            oom |= lines_add(&removed, served.v[a++]);
        else if (d > 0)
            oom |= lines_add(&added, disk.v[b++]);
        else
            a++, b++;
    }
    if (oom) {
        rc = trouble(c, "failed", "%s%s", "out of memory", "");
    } else if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, name);
        printf(",\"file\":");
        json_str(stdout, path);
        printf(",\"served_serial\":%u,\"file_serial\":%u,\"different\":%s,\"added\":[",
               served_serial, file_serial, removed.n || added.n ? "true" : "false");
        for (i = 0; i < added.n; i++) {
            printf(i ? "," : "");
            json_str(stdout, added.v[i]);
        }
        printf("],\"removed\":[");
        for (i = 0; i < removed.n; i++) {
            printf(i ? "," : "");
            json_str(stdout, removed.v[i]);
        }
        printf("]}\n");
    } else {
        printf("--- %s served by signetd, serial %u\n+++ %s, serial %u\n", name, served_serial,
               path, file_serial);
        for (i = 0; i < removed.n; i++)
            printf("-%s\n", removed.v[i]);
        for (i = 0; i < added.n; i++)
            printf("+%s\n", added.v[i]);
        if (!removed.n && !added.n)
            printf("no differences\n");
        else
            printf("%zu record%s added, %zu removed%s\n", added.n, added.n == 1 ? "" : "s",
                   removed.n, served_serial == file_serial ?
                   "; the serial is the same: secondaries will not see the change" : "");
    }
    if (!oom)
        rc = removed.n || added.n ? DIFF_DIFFERENT : DIFF_SAME;
    lines_free(&removed);
    lines_free(&added);
out:
    lines_free(&served);
    lines_free(&disk);
    json_decref(rep);
    if (rc == DIFF_DIFFERENT) {
        c->result = DIFF_DIFFERENT; /* a result, not an error: no error object under --json */
        return CTL_OK;
    }
    return rc;
}
