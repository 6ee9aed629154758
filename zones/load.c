/* SPDX-License-Identifier: MIT */
/* RFC 1035 master files: our own reader for entries, directives, parentheses and line
 * numbers; ldns turns each entry into a record. */
#include "zones/zone.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    ldns_buffer *rdbuf;
    char **paths;            /* every file name read, owned here, kept for the builder */
    int npaths;
    struct sg_zone_file *files; /* and what each looked like when read */
    int errors;
    int depth;               /* $INCLUDE nesting */
} loader;

static void lerr(loader *ld, const char *file, unsigned line, const char *msg, const char *arg)
{
    char m[1400];
    snprintf(m, sizeof m, msg, arg ? arg : "");
    sg_log(SG_LOG_ERR, "zone", ld->apex_str, "%s:%u: %s", file, line, m);
    ld->errors++;
}

static char *read_all(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 65536 + 1 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, 65536, f);
        len += r;
        if (r < 65536)
            break;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = 0;
        *len_out = len;
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

/* One logical entry (comments removed, parentheses joined). */
static void do_entry(loader *ld, const char *file, unsigned line, char *ent, int owner_blank,
                     ldns_rdf **origin)
{
    /* tokens, for directives and TTL detection (quotes never appear before the type) */
    char *p = ent;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == 0)
        return;
    if (!owner_blank && *p == '$') {
        char *save;
        char *dir = strtok_r(p, " \t", &save);
        char *a1 = strtok_r(NULL, " \t", &save);
        char *a2 = strtok_r(NULL, " \t", &save);
        char *a3 = strtok_r(NULL, " \t", &save);
        if (!strcasecmp(dir, "$ORIGIN")) {
            if (!a1 || a2) {
                lerr(ld, file, line, "$ORIGIN takes one domain name%s", NULL);
                return;
            }
            ldns_rdf *n = NULL;
            if (ldns_str2rdf_dname(&n, a1) != LDNS_STATUS_OK) {
                lerr(ld, file, line, "bad $ORIGIN name '%s'", a1);
                return;
            }
            if (!ldns_dname_str_absolute(a1)) {
                if (ldns_dname_cat(n, *origin) != LDNS_STATUS_OK) {
                    ldns_rdf_deep_free(n);
                    lerr(ld, file, line, "bad $ORIGIN name '%s'", a1);
                    return;
                }
            }
            ldns_rdf_deep_free(*origin);
            *origin = n;
        } else if (!strcasecmp(dir, "$TTL")) {
            if (!a1 || a2 || parse_ttl(a1, &ld->dollar_ttl)) {
                lerr(ld, file, line, "$TTL takes one TTL value%s", NULL);
                return;
            }
            ld->have_dollar_ttl = 1;
        } else if (!strcasecmp(dir, "$INCLUDE")) {
            if (!a1 || a3) {
                lerr(ld, file, line, "$INCLUDE takes a file name and an optional origin%s", NULL);
                return;
            }
            char inc[4096];
            if (a1[0] == '/') {
                snprintf(inc, sizeof inc, "%s", a1);
            } else {
                char dirbuf[4096];
                snprintf(dirbuf, sizeof dirbuf, "%s", file);
                snprintf(inc, sizeof inc, "%s/%s", dirname(dirbuf), a1);
            }
            ldns_rdf *inc_origin = NULL;
            if (a2) {
                if (ldns_str2rdf_dname(&inc_origin, a2) != LDNS_STATUS_OK) {
                    lerr(ld, file, line, "bad $INCLUDE origin '%s'", a2);
                    return;
                }
                if (!ldns_dname_str_absolute(a2) && ldns_dname_cat(inc_origin, *origin) != LDNS_STATUS_OK) {
                    ldns_rdf_deep_free(inc_origin);
                    lerr(ld, file, line, "bad $INCLUDE origin '%s'", a2);
                    return;
                }
            } else {
                inc_origin = ldns_rdf_clone(*origin);
            }
            if (ld->depth >= INCLUDE_DEPTH_MAX) {
                ldns_rdf_deep_free(inc_origin);
                lerr(ld, file, line, "$INCLUDE nested too deeply (%s)", a1);
                return;
            }
            int rc = load_file(ld, inc, inc_origin, ld->depth + 1);
            ldns_rdf_deep_free(inc_origin);
            if (rc == SG_EIO)
                lerr(ld, file, line, "cannot read $INCLUDE file %s", inc);
        } else {
            lerr(ld, file, line, "unsupported directive %s", dir);
        }
        return;
    }

    /* a record: find the owner, then whether a TTL is given */
    char owner[1100];
    const char *rest;
    if (owner_blank) {
        if (!ld->prev_owner[0]) {
            lerr(ld, file, line, "record without an owner name and no previous owner%s", NULL);
            return;
        }
        snprintf(owner, sizeof owner, "%s", ld->prev_owner);
        rest = p;
    } else {
        size_t ol = strcspn(p, " \t");
        if (ol >= sizeof owner) {
            lerr(ld, file, line, "owner name too long%s", NULL);
            return;
        }
        memcpy(owner, p, ol);
        owner[ol] = 0;
        rest = p + ol;
    }
    while (*rest == ' ' || *rest == '\t')
        rest++;
    /* up to two leading tokens may be TTL and class, in either order */
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
                return;
            }
            ttl_given = 1;
        } else if (!is_class(tok)) {
            break;
        }
        q += tl;
        while (*q == ' ' || *q == '\t')
            q++;
    }
    uint32_t default_ttl;
    if (ttl_given) {
        ld->last_ttl = ttl;
        ld->have_last_ttl = 1;
        default_ttl = ttl;
    } else if (ld->have_dollar_ttl) {
        default_ttl = ld->dollar_ttl;
    } else if (ld->have_last_ttl) {
        default_ttl = ld->last_ttl;
    } else {
        lerr(ld, file, line, "no TTL given and no $TTL before this record%s", NULL);
        return;
    }
    size_t need = strlen(owner) + 1 + strlen(rest) + 1;
    char *line_str = malloc(need);
    if (!line_str) {
        lerr(ld, file, line, "out of memory%s", NULL);
        return;
    }
    snprintf(line_str, need, "%s %s", owner, rest);
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, line_str, default_ttl, *origin, NULL);
    free(line_str);
    if (st != LDNS_STATUS_OK) {
        lerr(ld, file, line, "%s", ldns_get_errorstr_by_id(st));
        return;
    }
    /* remember the absolute owner for following records that omit it */
    char *os = ldns_rdf2str(ldns_rr_owner(rr));
    if (os) {
        snprintf(ld->prev_owner, sizeof ld->prev_owner, "%s", os);
        free(os);
    }
    ldns_rr2canonical(rr);
    ldns_buffer_clear(ld->rdbuf);
    if (ldns_rr_rdata2buffer_wire(ld->rdbuf, rr) != LDNS_STATUS_OK || ldns_buffer_position(ld->rdbuf) > 65535) {
        ldns_rr_free(rr);
        lerr(ld, file, line, "cannot encode the record data%s", NULL);
        return;
    }
    const ldns_rdf *o = ldns_rr_owner(rr);
    int rc = sg_zone_builder_add(ld->b, ldns_rdf_data(o), (uint16_t)ldns_rr_get_type(rr),
                                 (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
                                 ldns_buffer_begin(ld->rdbuf),
                                 (uint16_t)ldns_buffer_position(ld->rdbuf), file, line);
    if (rc)
        ld->errors++;
    ldns_rr_free(rr);
}

static int load_file(loader *ld, const char *path, ldns_rdf *origin_in, int depth)
{
    size_t len;
    struct stat fst;
    if (stat(path, &fst) != 0)
        return SG_EIO;
    char *text = read_all(path, &len);
    if (!text)
        return SG_EIO;
    struct sg_zone_file *nf = realloc(ld->files, (ld->npaths + 1) * sizeof *nf);
    if (!nf) {
        free(text);
        return SG_ENOMEM;
    }
    ld->files = nf;
    nf[ld->npaths] = (struct sg_zone_file){ NULL, fst.st_dev, fst.st_ino, fst.st_size, fst.st_mtim };
    char **np = realloc(ld->paths, (ld->npaths + 1) * sizeof *np);
    if (!np || !(np[ld->npaths] = strdup(path))) {
        if (np)
            ld->paths = np;
        free(text);
        return SG_ENOMEM;
    }
    ld->paths = np;
    const char *file = ld->paths[ld->npaths++];
    int saved_depth = ld->depth;
    ld->depth = depth;
    ldns_rdf *origin = ldns_rdf_clone(origin_in);
    char saved_prev[sizeof ld->prev_owner];
    memcpy(saved_prev, ld->prev_owner, sizeof saved_prev);

    size_t cap = 4096;
    char *ent = malloc(cap);
    unsigned line = 1, start_line = 1;
    size_t n = 0;
    int depth_paren = 0, in_quote = 0, owner_blank = 0, at_line_start = 1;
    unsigned nul_line = 0;
    for (size_t i = 0; ent && i <= len; i++) {
        char c = i < len ? text[i] : '\n';
        if (c == '\0') {
            /* the string functions below would end the line here and drop the rest of it
             * without a word (issue 14): a NUL is an error, once per line */
            if (nul_line != line)
                lerr(ld, file, line, "a NUL byte (is this a text zone file?)%s", NULL);
            nul_line = line;
            continue;
        }
        if (at_line_start && depth_paren == 0) {
            start_line = line;
            owner_blank = (c == ' ' || c == '\t');
            at_line_start = 0;
            n = 0;
        }
        if (n + 4 >= cap) {
            char *ne = realloc(ent, cap * 2);
            if (!ne) {
                free(ent);
                ent = NULL;
                break;
            }
            ent = ne;
            cap *= 2;
        }
        if (c == '\\' && i + 1 < len) {
            ent[n++] = c;
            ent[n++] = text[++i];
            if (text[i] == '\n')
                line++;
            continue;
        }
        if (c == '"') {
            in_quote = !in_quote;
            ent[n++] = c;
            continue;
        }
        if (in_quote && c != '\n') {
            ent[n++] = c;
            continue;
        }
        if (c == ';') {
            while (i + 1 < len && text[i + 1] != '\n')
                i++;
            continue;
        }
        if (c == '(' || c == ')') {
            depth_paren += c == '(' ? 1 : -1;
            if (depth_paren < 0) {
                lerr(ld, file, line, "unbalanced ')'%s", NULL);
                depth_paren = 0;
            }
            ent[n++] = ' ';
            continue;
        }
        if (c == '\r')
            continue;
        if (c == '\n') {
            if (in_quote) {
                lerr(ld, file, line, "unterminated quoted string%s", NULL);
                in_quote = 0;
                depth_paren = 0;
            }
            if (i == len && depth_paren > 0) {
                lerr(ld, file, start_line, "unbalanced '(' (entry never closed)%s", NULL);
                depth_paren = 0;
            }
            line++;
            if (depth_paren > 0) {
                ent[n++] = ' ';
                continue;
            }
            ent[n] = 0;
            do_entry(ld, file, start_line, ent, owner_blank, &origin);
            at_line_start = 1;
            continue;
        }
        ent[n++] = (c == '\t') ? ' ' : c;
    }
    int rc = ent ? 0 : SG_ENOMEM;
    free(ent);
    free(text);
    ldns_rdf_deep_free(origin);
    ld->depth = saved_depth;
    if (depth > 0)
        memcpy(ld->prev_owner, saved_prev, sizeof saved_prev);
    return rc;
}

/* The file names must outlive the zone's error messages only during the build; the zone
 * keeps its main path. Included names are freed with the loader. */
int sg_zone_load_file(const char *path, const char *apex, sg_zone **zone_out)
{
    if (!path || !apex || !zone_out)
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
    ld.b = sg_zone_builder_new(apex_wire);
    ld.rdbuf = ldns_buffer_new(65536);
    ldns_rdf *origin = ldns_dname_new_frm_data((uint16_t)sg_name_len(apex_wire), apex_wire);
    if (!ld.b || !ld.rdbuf || !origin) {
        sg_zone_builder_free(ld.b);
        ldns_buffer_free(ld.rdbuf);
        ldns_rdf_deep_free(origin);
        return SG_ENOMEM;
    }
    int rc = load_file(&ld, path, origin, 0);
    ldns_rdf_deep_free(origin);
    ldns_buffer_free(ld.rdbuf);
    if (rc == SG_EIO)
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
