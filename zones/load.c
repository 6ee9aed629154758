/* SPDX-License-Identifier: MIT */
/* RFC 1035 master files: our own reader for entries, directives, parentheses and line
 * numbers; ldns turns each entry into a record, on several threads (parse_pool.c). */
#include "zones/zone.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/phase.h"
#include "zones/parse_pool.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#define INCLUDE_DEPTH_MAX 10

typedef struct loader {
    sg_zone_builder *b;
    const char *apex_str;
    uint32_t dollar_ttl;
    int have_dollar_ttl;
    uint32_t last_ttl;
    int have_last_ttl;
    char prev_owner[1100];   /* absolute presentation form */
    char **paths;            /* every file name read, owned here, kept for the builder */
    int npaths;
    struct sg_zone_file *files; /* and what each looked like when read */
    _Atomic int errors;      /* the parsing threads count theirs here too */
    int depth;               /* $INCLUDE nesting */
    uint64_t max_size;       /* bytes of zone text, the file and its $INCLUDEs (0: none) */
    uint64_t size;           /* read so far */
    char why[200];           /* why the last file could not be read (not errno's words) */
    int threads;             /* parse on this many */
    sg_parse_pool *pool;
    /* every origin in force at some point: queued records point at theirs until the pool
     * is finished, so none is freed before */
    ldns_rdf **origins;
    size_t norigins;
    const ldns_rdf *origin_of_str; /* the origin origin_str is the text of */
    char origin_str[1100];
} loader;

/* Keep o (owned from now on) until the load ends. -1 when out of memory (o freed). */
static int keep_origin(loader *ld, ldns_rdf *o)
{
    ldns_rdf **no = realloc(ld->origins, (ld->norigins + 1) * sizeof *no);
    if (!no) {
        ldns_rdf_deep_free(o);
        return -1;
    }
    ld->origins = no;
    ld->origins[ld->norigins++] = o;
    return 0;
}

static void lerr(loader *ld, const char *file, unsigned line, const char *msg, const char *arg)
{
    char m[1400];
    snprintf(m, sizeof m, msg, arg ? arg : "");
    sg_log(SG_LOG_ERR, "zone", ld->apex_str, "%s:%u: %s", file, line, m);
    ld->errors++;
}

/* The whole file, if it is a regular file (a FIFO, a device such as /dev/zero or a
 * directory would block a reload or fill memory: issue 15) and the zone's text stays within
 * max_size. The checks are on the opened file (fstat), not on the name. O_NONBLOCK: opening
 * a FIFO must not wait for a writer. */
static char *read_all(loader *ld, const char *path, size_t *len_out, struct stat *st_out)
{
    ld->why[0] = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(ld->why, sizeof ld->why, "not a regular file (%s)",
                 S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device"
                 : S_ISBLK(st.st_mode) ? "a block device" : S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
        close(fd);
        return NULL;
    }
    uint64_t room = ld->max_size ? (ld->max_size > ld->size ? ld->max_size - ld->size : 0) : UINT64_MAX;
    if ((uint64_t)st.st_size > room) {
        char a[32];
        snprintf(ld->why, sizeof ld->why, "the zone's text would pass max-size %s (%llu bytes here)",
                 sg_cfg_format_size(ld->max_size, a, sizeof a), (unsigned long long)st.st_size);
        close(fd);
        return NULL;
    }
    /* read what fstat said, and one byte more to see a file that grows meanwhile */
    size_t cap = (size_t)st.st_size + 2, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap - 1) {
            if ((uint64_t)len > room) {
                char a[32];
                snprintf(ld->why, sizeof ld->why, "the zone's text passes max-size %s (the file grows while read)",
                         sg_cfg_format_size(ld->max_size, a, sizeof a));
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (buf) {
        buf[len] = 0;
        *len_out = len;
        ld->size += len;
        if (st_out)
            *st_out = st;
    }
    return buf;
}

static int is_class(const char *t)
{
    return !strcasecmp(t, "IN") || !strcasecmp(t, "CH") || !strcasecmp(t, "HS") ||
           !strcasecmp(t, "CS") || !strncasecmp(t, "CLASS", 5);
}

/* Parse a TTL like "3600", "1h", "1H30M"; 0 or -1. */
static int parse_ttl(const char *t, uint32_t *out)
{
    char low[64];
    size_t l = strlen(t);
    if (l == 0 || l >= sizeof low || !isdigit((unsigned char)t[0]))
        return -1;
    for (size_t i = 0; i <= l; i++)
        low[i] = (char)tolower((unsigned char)t[i]);
    uint64_t v;
    if (sg_cfg_parse_duration(low, &v) || v > 0x7fffffff)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int load_file(loader *ld, const char *path, ldns_rdf *origin, int depth);

/* A directive's arguments: up to three tokens after its name (NULL when absent; the
 * third only tells that there are too many). */
typedef struct dir_args {
    const char *a1, *a2, *a3;
} dir_args;

static void dir_origin(loader *ld, const char *file, unsigned line, const dir_args *a,
                       ldns_rdf **origin)
{
    if (!a->a1 || a->a2) {
        lerr(ld, file, line, "$ORIGIN takes one domain name%s", NULL);
        return;
    }
    ldns_rdf *n = NULL;
    if (ldns_str2rdf_dname(&n, a->a1) != LDNS_STATUS_OK) {
        lerr(ld, file, line, "bad $ORIGIN name '%s'", a->a1);
        return;
    }
    if (!ldns_dname_str_absolute(a->a1)) {
        if (ldns_dname_cat(n, *origin) != LDNS_STATUS_OK) {
            ldns_rdf_deep_free(n);
            lerr(ld, file, line, "bad $ORIGIN name '%s'", a->a1);
            return;
        }
    }
    if (keep_origin(ld, n)) {
        lerr(ld, file, line, "out of memory%s", NULL);
        return;
    }
    *origin = n;
}

static void dir_ttl(loader *ld, const char *file, unsigned line, const dir_args *a,
                    ldns_rdf **origin)
{
    (void)origin;
    if (!a->a1 || a->a2 || parse_ttl(a->a1, &ld->dollar_ttl)) {
        lerr(ld, file, line, "$TTL takes one TTL value%s", NULL);
        return;
    }
    ld->have_dollar_ttl = 1;
}

/* The origin of an included file: its own (relative to ours), else ours. NULL after an
 * error (logged). */
static ldns_rdf *include_origin(loader *ld, const char *file, unsigned line, const char *name,
                                const ldns_rdf *origin)
{
    if (!name)
        return ldns_rdf_clone(origin);
    ldns_rdf *o = NULL;
    if (ldns_str2rdf_dname(&o, name) != LDNS_STATUS_OK) {
        lerr(ld, file, line, "bad $INCLUDE origin '%s'", name);
        return NULL;
    }
    if (!ldns_dname_str_absolute(name) && ldns_dname_cat(o, origin) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(o);
        lerr(ld, file, line, "bad $INCLUDE origin '%s'", name);
        return NULL;
    }
    return o;
}

static void dir_include(loader *ld, const char *file, unsigned line, const dir_args *a,
                        ldns_rdf **origin)
{
    if (!a->a1 || a->a3) {
        lerr(ld, file, line, "$INCLUDE takes a file name and an optional origin%s", NULL);
        return;
    }
    /* a relative name is relative to the including file, not to the working directory */
    char inc[4096];
    if (a->a1[0] == '/') {
        snprintf(inc, sizeof inc, "%s", a->a1);
    } else {
        char dirbuf[4096];
        snprintf(dirbuf, sizeof dirbuf, "%s", file);
        snprintf(inc, sizeof inc, "%s/%s", dirname(dirbuf), a->a1);
    }
    ldns_rdf *inc_origin = include_origin(ld, file, line, a->a2, *origin);
    if (!inc_origin)
        return;
    if (ld->depth >= INCLUDE_DEPTH_MAX) {
        ldns_rdf_deep_free(inc_origin);
        lerr(ld, file, line, "$INCLUDE nested too deeply (%s)", a->a1);
        return;
    }
    if (keep_origin(ld, inc_origin)) {
        lerr(ld, file, line, "out of memory%s", NULL);
        return;
    }
    int rc = load_file(ld, inc, inc_origin, ld->depth + 1);
    if (rc == SG_EIO && ld->why[0]) {
        char m[1300];
        snprintf(m, sizeof m, "$INCLUDE file %.1000s: %.250s", inc, ld->why);
        lerr(ld, file, line, "%s", m);
    } else if (rc == SG_EIO) {
        /* the precision is lerr's own cut (1399 bytes of message), said so that the
         * compiler sees the message fits */
        lerr(ld, file, line, "cannot read $INCLUDE file %.1373s", inc);
    }
}

static const struct {
    const char *name;
    void (*run)(loader *ld, const char *file, unsigned line, const dir_args *a,
                ldns_rdf **origin);
} directives[] = {
    { "$ORIGIN", dir_origin },
    { "$TTL", dir_ttl },
    { "$INCLUDE", dir_include },
};

/* A $ directive; p is the entry (tokens are split in place). */
static void do_directive(loader *ld, const char *file, unsigned line, char *p, ldns_rdf **origin)
{
    char *save;
    char *dir = strtok_r(p, " \t", &save);
    dir_args a;
    a.a1 = strtok_r(NULL, " \t", &save);
    a.a2 = strtok_r(NULL, " \t", &save);
    a.a3 = strtok_r(NULL, " \t", &save);
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
        if (!strcasecmp(dir, directives[i].name)) {
            directives[i].run(ld, file, line, &a, origin);
            return;
        }
    }
    lerr(ld, file, line, "unsupported directive %s", dir);
}

/* The record's owner as written, or the previous record's when the line starts blank;
 * *rest_out is what follows it. -1 after an error (logged). */
static int record_owner(loader *ld, const char *file, unsigned line, const char *p,
                        int owner_blank, char *owner, size_t cap, const char **rest_out)
{
    if (owner_blank) {
        if (!ld->prev_owner[0]) {
            lerr(ld, file, line, "record without an owner name and no previous owner%s", NULL);
            return -1;
        }
        snprintf(owner, cap, "%s", ld->prev_owner);
        *rest_out = p;
        return 0;
    }
    size_t ol = strcspn(p, " \t");
    if (ol >= cap) {
        lerr(ld, file, line, "owner name too long%s", NULL);
        return -1;
    }
    memcpy(owner, p, ol);
    owner[ol] = 0;
    *rest_out = p + ol;
    return 0;
}

/* The record's TTL (RFC 2308 4): its own, else $TTL, else the last one given. Up to two
 * leading tokens of rest may be TTL and class, in either order. -1 after an error (logged). */
static int record_ttl(loader *ld, const char *file, unsigned line, const char *rest,
                      uint32_t *ttl_out)
{
    int ttl_given = 0;
    uint32_t ttl = 0;
    const char *q = rest;
    for (int k = 0; k < 2; k++) {
        char tok[64];
        size_t tl = strcspn(q, " \t");
        if (tl == 0 || tl >= sizeof tok)
            break;
        memcpy(tok, q, tl);
        tok[tl] = 0;
        if (!ttl_given && isdigit((unsigned char)tok[0])) {
            if (parse_ttl(tok, &ttl)) {
                lerr(ld, file, line, "bad TTL '%s'", tok);
                return -1;
            }
            ttl_given = 1;
        } else if (!is_class(tok)) {
            break;
        }
        q += tl;
        while (*q == ' ' || *q == '\t')
            q++;
    }
    if (ttl_given) {
        ld->last_ttl = ttl;
        ld->have_last_ttl = 1;
        *ttl_out = ttl;
    } else if (ld->have_dollar_ttl) {
        *ttl_out = ld->dollar_ttl;
    } else if (ld->have_last_ttl) {
        *ttl_out = ld->last_ttl;
    } else {
        lerr(ld, file, line, "no TTL given and no $TTL before this record%s", NULL);
        return -1;
    }
    return 0;
}

/* The owner as an absolute name in presentation form: what a later record without an owner
 * takes (RFC 1035 5.1: the previous owner, whatever $ORIGIN says since), and what a parsing
 * thread reads without knowing this record's neighbours. 0, or -1 when too long. */
static int absolute_owner(loader *ld, const char *owner, const ldns_rdf *origin, char *out,
                          size_t cap)
{
    if (ld->origin_of_str != origin) {
        char *os = ldns_rdf2str(origin);
        if (!os || strlen(os) >= sizeof ld->origin_str) {
            free(os);
            return -1;
        }
        strcpy(ld->origin_str, os);
        free(os);
        ld->origin_of_str = origin;
    }
    int n;
    if (!strcmp(owner, "@"))
        n = snprintf(out, cap, "%s", ld->origin_str);
    else if (ldns_dname_str_absolute(owner))
        n = snprintf(out, cap, "%s", owner);
    else if (!strcmp(ld->origin_str, "."))
        n = snprintf(out, cap, "%s.", owner);
    else
        n = snprintf(out, cap, "%s.%s", owner, ld->origin_str);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The record ("OWNER REST", the owner made absolute) goes to the parsing threads. */
static void add_record(loader *ld, const char *file, unsigned line, const char *owner,
                       const char *rest, uint32_t default_ttl, const ldns_rdf *origin)
{
    char abs[sizeof ld->prev_owner];
    if (absolute_owner(ld, owner, origin, abs, sizeof abs)) {
        lerr(ld, file, line, "owner name too long%s", NULL);
        return;
    }
    snprintf(ld->prev_owner, sizeof ld->prev_owner, "%s", abs);
    size_t ol = strlen(abs), rl = strlen(rest);
    char stackbuf[4096];
    char *line_str = ol + 1 + rl < sizeof stackbuf ? stackbuf : malloc(ol + 1 + rl + 1);
    if (!line_str) {
        lerr(ld, file, line, "out of memory%s", NULL);
        return;
    }
    memcpy(line_str, abs, ol);
    line_str[ol] = ' ';
    memcpy(line_str + ol + 1, rest, rl + 1);
    if (sg_parse_pool_add(ld->pool, line_str, ol + 1 + rl, default_ttl, origin, file, line))
        lerr(ld, file, line, "out of memory%s", NULL);
    if (line_str != stackbuf)
        free(line_str);
}

/* One logical entry (comments removed, parentheses joined): a directive or a record. */
static void do_entry(loader *ld, const char *file, unsigned line, char *ent, int owner_blank,
                     ldns_rdf **origin)
{
    char *p = ent;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == 0)
        return;
    if (!owner_blank && *p == '$') {
        do_directive(ld, file, line, p, origin);
        return;
    }
    char owner[1100];
    const char *rest;
    uint32_t default_ttl;
    if (record_owner(ld, file, line, p, owner_blank, owner, sizeof owner, &rest))
        return;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (record_ttl(ld, file, line, rest, &default_ttl))
        return;
    add_record(ld, file, line, owner, rest, default_ttl, *origin);
}

/* The file, and what it looked like when read, kept for the zone (a reload compares);
 * returns its name as kept, or NULL when out of memory. */
static const char *remember_file(loader *ld, const char *path, const struct stat *fst)
{
    struct sg_zone_file *nf = realloc(ld->files, (ld->npaths + 1) * sizeof *nf);
    if (!nf)
        return NULL;
    ld->files = nf;
    nf[ld->npaths] = (struct sg_zone_file){ NULL, fst->st_dev, fst->st_ino, fst->st_size, fst->st_mtim };
    char **np = realloc(ld->paths, (ld->npaths + 1) * sizeof *np);
    if (!np || !(np[ld->npaths] = strdup(path))) {
        if (np)
            ld->paths = np;
        return NULL;
    }
    ld->paths = np;
    return ld->paths[ld->npaths++];
}

/* The entry being gathered from a file's text: one logical line, comments dropped,
 * parentheses joined. */
typedef struct scan {
    char *ent;
    size_t n, cap;
    unsigned line, start_line;
    unsigned nul_line;      /* the last line a NUL was reported on */
    int depth_paren, in_quote, owner_blank, at_line_start;
} scan;

/* Room for the next few bytes of the entry; -1 (the entry freed) when out of memory. */
static int scan_room(scan *s)
{
    if (s->n + 4 < s->cap)
        return 0;
    char *ne = realloc(s->ent, s->cap * 2);
    if (!ne) {
        free(s->ent);
        s->ent = NULL;
        return -1;
    }
    s->ent = ne;
    s->cap *= 2;
    return 0;
}

static void scan_paren(loader *ld, const char *file, scan *s, char c)
{
    s->depth_paren += c == '(' ? 1 : -1;
    if (s->depth_paren < 0) {
        lerr(ld, file, s->line, "unbalanced ')'%s", NULL);
        s->depth_paren = 0;
    }
    s->ent[s->n++] = ' ';
}

/* A line ends: the entry too, unless a parenthesis is open. at_end: the end of the text
 * (where an open parenthesis is an error). */
static void scan_newline(loader *ld, const char *file, scan *s, int at_end, ldns_rdf **origin)
{
    if (s->in_quote) {
        lerr(ld, file, s->line, "unterminated quoted string%s", NULL);
        s->in_quote = 0;
        s->depth_paren = 0;
    }
    if (at_end && s->depth_paren > 0) {
        lerr(ld, file, s->start_line, "unbalanced '(' (entry never closed)%s", NULL);
        s->depth_paren = 0;
    }
    s->line++;
    if (s->depth_paren > 0) {
        s->ent[s->n++] = ' ';
        return;
    }
    s->ent[s->n] = 0;
    do_entry(ld, file, s->start_line, s->ent, s->owner_blank, origin);
    s->at_line_start = 1;
}

/* The text of one file, entry by entry (RFC 1035 5.1), with the line each starts on. */
static int scan_text(loader *ld, const char *file, const char *text, size_t len,
                     ldns_rdf **origin)
{
    scan s = { .cap = 4096, .line = 1, .start_line = 1, .at_line_start = 1 };
    s.ent = malloc(s.cap);
    for (size_t i = 0; s.ent && i <= len; i++) {
        char c = i < len ? text[i] : '\n';
        if (c == '\0') {
            /* the string functions below would end the line here and drop the rest of it
             * without a word (issue 14): a NUL is an error, once per line */
            if (s.nul_line != s.line)
                lerr(ld, file, s.line, "a NUL byte (is this a text zone file?)%s", NULL);
            s.nul_line = s.line;
            continue;
        }
        if (s.at_line_start && s.depth_paren == 0) {
            s.start_line = s.line;
            s.owner_blank = (c == ' ' || c == '\t');
            s.at_line_start = 0;
            s.n = 0;
        }
        if (scan_room(&s))
            break;
        if (c == '\\' && i + 1 < len) {
            s.ent[s.n++] = c;
            s.ent[s.n++] = text[++i];
            if (text[i] == '\n')
                s.line++;
        } else if (c == '"') {
            s.in_quote = !s.in_quote;
            s.ent[s.n++] = c;
        } else if (s.in_quote && c != '\n') {
            s.ent[s.n++] = c;
        } else if (c == ';') {
            while (i + 1 < len && text[i + 1] != '\n')
                i++;
        } else if (c == '(' || c == ')') {
            scan_paren(ld, file, &s, c);
        } else if (c == '\n') {
            scan_newline(ld, file, &s, i == len, origin);
        } else if (c != '\r') {
            s.ent[s.n++] = (c == '\t') ? ' ' : c;
        }
    }
    int rc = s.ent ? 0 : SG_ENOMEM;
    free(s.ent);
    return rc;
}

static int load_file(loader *ld, const char *path, ldns_rdf *origin_in, int depth)
{
    size_t len;
    struct stat fst;
    char *text = read_all(ld, path, &len, &fst);
    if (!text)
        return SG_EIO;
    const char *file = remember_file(ld, path, &fst);
    if (!file) {
        free(text);
        return SG_ENOMEM;
    }
    /* an included file has its own origin, depth and previous owner (RFC 1035 5.1) */
    int saved_depth = ld->depth;
    ld->depth = depth;
    ldns_rdf *origin = ldns_rdf_clone(origin_in);
    if (!origin || keep_origin(ld, origin)) {
        ld->depth = saved_depth;
        free(text);
        return SG_ENOMEM;
    }
    char saved_prev[sizeof ld->prev_owner];
    memcpy(saved_prev, ld->prev_owner, sizeof saved_prev);
    int rc = scan_text(ld, file, text, len, &origin);
    free(text);
    ld->depth = saved_depth;
    if (depth > 0)
        memcpy(ld->prev_owner, saved_prev, sizeof saved_prev);
    return rc;
}

/* The file names must outlive the zone's error messages only during the build; the zone
 * keeps its main path. Included names are freed with the loader. */
int sg_zone_load_file(const char *path, const char *apex, sg_zone **zone_out)
{
    return sg_zone_load_file_max(path, apex, SG_ZONE_FILE_MAX_DEFAULT, zone_out);
}

int sg_zone_load_file_max(const char *path, const char *apex, uint64_t max_size, sg_zone **zone_out)
{
    sg_zone_load_opts o = { .max_size = max_size };
    return sg_zone_load_file_opts(path, apex, &o, zone_out);
}

int sg_zone_load_file_opts(const char *path, const char *apex, const sg_zone_load_opts *o,
                           sg_zone **zone_out)
{
    if (!path || !apex || !zone_out || !o)
        return SG_EINVAL;
    uint8_t apex_wire[SG_NAME_MAX];
    if (sg_name_from_str(apex, NULL, apex_wire) &&
        sg_name_from_str(apex, (const uint8_t *)"", apex_wire)) {
        sg_log(SG_LOG_ERR, "zone", apex, "bad zone name");
        return SG_ESYNTAX;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        sg_log(SG_LOG_ERR, "zone", apex, "%s: cannot open: %s", path, strerror(errno));
        return SG_EIO;
    }
    loader ld = { 0 };
    ld.apex_str = apex;
    ld.max_size = o->max_size;
    ld.threads = o->threads > 1 ? o->threads : 1;
    ld.b = sg_zone_builder_new(apex_wire);
    ld.pool = ld.b ? sg_parse_pool_new(ld.b, ld.threads, apex, &ld.errors) : NULL;
    ldns_rdf *origin = ldns_dname_new_frm_data((uint16_t)sg_name_len(apex_wire), apex_wire);
    if (!ld.b || !ld.pool || !origin) {
        sg_parse_pool_free(ld.pool);
        sg_zone_builder_free(ld.b);
        ldns_rdf_deep_free(origin);
        return SG_ENOMEM;
    }
    sg_phase_begin(o->phases);
    int rc = load_file(&ld, path, origin, 0);
    int prc = sg_parse_pool_finish(ld.pool);
    if (!rc)
        rc = prc;
    sg_parse_pool_free(ld.pool);
    sg_phase_end(o->phases, "parse");
    sg_zone_builder_set_threads(ld.b, ld.threads, o->phases);
    ldns_rdf_deep_free(origin);
    for (size_t i = 0; i < ld.norigins; i++)
        ldns_rdf_deep_free(ld.origins[i]);
    free(ld.origins);
    if (rc == SG_EIO && ld.why[0])
        sg_log(SG_LOG_ERR, "zone", apex, "%s: %s", path, ld.why);
    else if (rc == SG_EIO)
        sg_log(SG_LOG_ERR, "zone", apex, "%s: cannot read: %s", path, strerror(errno));
    sg_zone *z = NULL;
    if (rc == 0 && ld.errors == 0) {
        rc = sg_zone_builder_finish(ld.b, &z);
    } else {
        sg_zone_builder_free(ld.b);
        if (rc == 0)
            rc = SG_ESYNTAX;
    }
    if (rc) {
        for (int i = 0; i < ld.npaths; i++)
            free(ld.paths[i]);
        free(ld.paths);
        free(ld.files);
        return rc;
    }
    z->path = strdup(path);
    /* the zone keeps the file list: paths move over */
    z->files = ld.files;
    z->nfiles = ld.npaths;
    for (int i = 0; i < ld.npaths; i++)
        z->files[i].path = ld.paths[i];
    free(ld.paths);
    z->loaded_at = time(NULL);
    *zone_out = z;
    return 0;
}
