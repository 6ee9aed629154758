/* SPDX-License-Identifier: MIT */
/* Lexer and parser for the Corefile-style configuration. */
#include "common/cfg.h"
#include "common/secret.h"
#include "common/errors.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind { T_WORD, T_OPEN, T_CLOSE, T_NL, T_EOF, T_ERR };

typedef struct lexer {
    const char *p;
    const char *file;
    int line;
    char word[4096];
    int tok_line;
} lexer;

static enum tok_kind lex(lexer *lx)
{
    for (;;) {
        /* every blank but the newline (which ends a directive) separates tokens; a
         * vertical tab or form feed must not make an empty, endless word */
        while (*lx->p != '\n' && isspace((unsigned char)*lx->p))
            lx->p++;
        if (*lx->p == '#') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
        }
        lx->tok_line = lx->line;
        if (*lx->p == 0)
            return T_EOF;
        if (*lx->p == '\n') {
            lx->p++;
            lx->line++;
            return T_NL;
        }
        break;
    }
    if (*lx->p == '{' && (isspace((unsigned char)lx->p[1]) || lx->p[1] == 0 || lx->p[1] == '#')) {
        lx->p++;
        return T_OPEN;
    }
    if (*lx->p == '}' && (isspace((unsigned char)lx->p[1]) || lx->p[1] == 0 || lx->p[1] == '#')) {
        lx->p++;
        return T_CLOSE;
    }
    size_t n = 0;
    if (*lx->p == '"') {
        lx->p++;
        while (*lx->p && *lx->p != '"') {
            if (*lx->p == '\\' && (lx->p[1] == '"' || lx->p[1] == '\\'))
                lx->p++;
            if (*lx->p == '\n')
                lx->line++;
            if (n + 1 >= sizeof lx->word)
                return T_ERR;
            lx->word[n++] = *lx->p++;
        }
        if (*lx->p != '"')
            return T_ERR;
        lx->p++;
    } else {
        while (*lx->p && !isspace((unsigned char)*lx->p) && *lx->p != '#') {
            if (n + 1 >= sizeof lx->word)
                return T_ERR;
            lx->word[n++] = *lx->p++;
        }
    }
    lx->word[n] = 0;
    return T_WORD;
}

static int perr(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(lexer *lx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sg_log(SG_LOG_ERR, "config", NULL, "%s:%d: %s", lx->file, lx->tok_line, msg);
    return SG_ESYNTAX;
}

/* Arguments that are secrets: kept out of core dumps (issue 15: a core held the TSIG
 * secret written in the config). The one place that knows which directives have them. */
static int secret_arg(const sg_cfg_block *d, int i)
{
    if (!d->name)
        return 0;
    if (!strcmp(d->name, "tsig-key")) /* tsig-key NAME ALGORITHM SECRET (not: NAME file PATH) */
        return i == 2 && d->nargs >= 2 && strcmp(d->args[1], "file");
    return !strcmp(d->name, "cookie-secret") && i == 0;
}

static void arg_free(sg_cfg_block *b, int i)
{
    if (i < 32 && (b->secret_args & (1u << i)))
        sg_secret_strfree(b->args[i]);
    else
        free(b->args[i]);
}

/* Move args[i] into secret memory when it is a secret. */
static int protect(sg_cfg_block *b, int i)
{
    if (i >= 32 || !secret_arg(b, i) || (b->secret_args & (1u << i)))
        return 0;
    char *s = sg_secret_strdup(b->args[i]);
    if (!s)
        return SG_ENOMEM;
    sg_secret_wipe(b->args[i], strlen(b->args[i]));
    free(b->args[i]);
    b->args[i] = s;
    b->secret_args |= 1u << i;
    return 0;
}

static void block_free(sg_cfg_block *b)
{
    free(b->name);
    for (int i = 0; i < b->nargs; i++)
        arg_free(b, i);
    free(b->args);
    for (int i = 0; i < b->nchildren; i++)
        block_free(&b->children[i]);
    free(b->children);
}

static int push_arg(sg_cfg_block *b, const char *w)
{
    if (b->nargs == b->cap_args) {
        int nc = b->cap_args ? b->cap_args * 2 : 4;
        char **na = realloc(b->args, (size_t)nc * sizeof *na);
        if (!na)
            return SG_ENOMEM;
        b->args = na;
        b->cap_args = nc;
    }
    if (!(b->args[b->nargs] = strdup(w)))
        return SG_ENOMEM;
    b->nargs++;
    /* an earlier argument can make this one a secret (tsig-key's algorithm vs "file") */
    for (int i = 0; i < b->nargs; i++)
        if (protect(b, i))
            return SG_ENOMEM;
    return 0;
}

static sg_cfg_block *push_child(sg_cfg_block *parent)
{
    if (parent->nchildren == parent->cap_children) {
        int ncap = parent->cap_children ? parent->cap_children * 2 : 4;
        sg_cfg_block *nc = realloc(parent->children, (size_t)ncap * sizeof *nc);
        if (!nc)
            return NULL;
        parent->children = nc;
        parent->cap_children = ncap;
    }
    sg_cfg_block *c = &parent->children[parent->nchildren++];
    memset(c, 0, sizeof *c);
    return c;
}

/* Parse directive lines until the matching '}' (depth > 0) or EOF (never at depth 0 here). */
static int parse_body(lexer *lx, sg_cfg_block *parent)
{
    for (;;) {
        enum tok_kind t = lex(lx);
        if (t == T_NL)
            continue;
        if (t == T_CLOSE)
            return 0;
        if (t == T_EOF)
            return perr(lx, "unexpected end of file: missing '}'");
        if (t == T_ERR)
            return perr(lx, "unterminated string or token too long");
        if (t == T_OPEN)
            return perr(lx, "unexpected '{': a block must follow a directive name");
        sg_cfg_block *d = push_child(parent);
        if (!d)
            return SG_ENOMEM;
        d->file = lx->file;
        d->line = lx->tok_line;
        if (!(d->name = strdup(lx->word)))
            return SG_ENOMEM;
        for (;;) {
            t = lex(lx);
            if (t == T_WORD) {
                if (push_arg(d, lx->word))
                    return SG_ENOMEM;
                continue;
            }
            if (t == T_OPEN) {
                d->has_block = 1;
                int rc = parse_body(lx, d);
                if (rc)
                    return rc;
                t = lex(lx);
                if (t == T_CLOSE)
                    return 0;
                if (t != T_NL && t != T_EOF)
                    return perr(lx, "expected a new line after '}'");
                if (t == T_EOF)
                    return perr(lx, "unexpected end of file: missing '}'");
                break;
            }
            if (t == T_NL)
                break;
            if (t == T_CLOSE)
                return 0;
            if (t == T_EOF)
                return perr(lx, "unexpected end of file: missing '}'");
            return perr(lx, "unterminated string or token too long");
        }
    }
}

static int parse_text_lx(lexer *plx, sg_cfg *cfg);

/* The lexer's word buffer held every token, secrets too: wiped when parsing ends. */
static int parse_text(const char *text, const char *fname, sg_cfg *cfg)
{
    lexer lx = { .p = text, .file = fname, .line = 1 };
    int rc = parse_text_lx(&lx, cfg);
    sg_secret_wipe(lx.word, sizeof lx.word);
    return rc;
}

static int parse_text_lx(lexer *plx, sg_cfg *cfg)
{
    const char *fname = plx->file;
    for (;;) {
        enum tok_kind t = lex(plx);
        if (t == T_EOF)
            return 0;
        if (t == T_NL)
            continue;
        if (t == T_ERR)
            return perr(plx, "unterminated string or token too long");
        if (t == T_CLOSE)
            return perr(plx, "unexpected '}'");
        sg_cfg_block *b;
        if (t == T_OPEN) {
            if (cfg->global || cfg->nservers)
                return perr(plx, "the global options block '{ }' must come first and only once");
            if (!(cfg->global = calloc(1, sizeof *cfg->global)))
                return SG_ENOMEM;
            b = cfg->global;
            if (!(b->name = strdup("{global}")))
                return SG_ENOMEM;
            b->file = fname;
            b->line = plx->tok_line;
            b->has_block = 1;
            int rc = parse_body(plx, b);
            if (rc)
                return rc;
            continue;
        }
        if (cfg->nservers == cfg->cap_servers) {
            int nc = cfg->cap_servers ? cfg->cap_servers * 2 : 4;
            sg_cfg_block *ns = realloc(cfg->servers, (size_t)nc * sizeof *ns);
            if (!ns)
                return SG_ENOMEM;
            cfg->servers = ns;
            cfg->cap_servers = nc;
        }
        b = &cfg->servers[cfg->nservers++];
        memset(b, 0, sizeof *b);
        b->file = fname;
        b->line = plx->tok_line;
        t = T_WORD;
        for (;;) {
            if (t == T_WORD) {
                /* CoreDNS allows "a.test, b.test" */
                size_t l = strlen(plx->word);
                if (l > 1 && plx->word[l - 1] == ',')
                    plx->word[l - 1] = 0;
                if (strcmp(plx->word, ",") && push_arg(b, plx->word))
                    return SG_ENOMEM;
                t = lex(plx);
                continue;
            }
            if (t == T_OPEN)
                break;
            return perr(plx, "expected '{' after the server block's zones");
        }
        b->has_block = 1;
        int rc = parse_body(plx, b);
        if (rc)
            return rc;
    }
}

int sg_cfg_parse_string(const char *text, const char *name, sg_cfg **cfg_out)
{
    if (!text || !name || !cfg_out)
        return SG_EINVAL;
    sg_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return SG_ENOMEM;
    cfg->files = malloc(sizeof *cfg->files);
    if (!cfg->files || !(cfg->files[0] = strdup(name))) {
        free(cfg->files);
        free(cfg);
        return SG_ENOMEM;
    }
    cfg->nfiles = 1;
    int rc = parse_text(text, cfg->files[0], cfg);
    if (rc) {
        sg_cfg_free(cfg);
        return rc;
    }
    *cfg_out = cfg;
    return 0;
}

int sg_cfg_parse_file(const char *path, sg_cfg **cfg_out)
{
    if (!path || !cfg_out)
        return SG_EINVAL;
    FILE *f = fopen(path, "r");
    if (!f) {
        sg_log(SG_LOG_ERR, "config", NULL, "%s: cannot open: %s", path, strerror(errno));
        return SG_EIO;
    }
    /* the text holds secrets (tsig-key): every buffer is wiped before it is freed, and
     * growing copies by hand so that realloc leaves no copy behind */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = malloc(ncap);
            if (!nb) {
                sg_secret_wipe(buf, cap);
                free(buf);
                fclose(f);
                return SG_ENOMEM;
            }
            if (buf)
                memcpy(nb, buf, len);
            sg_secret_wipe(buf, cap);
            free(buf);
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, 4096, f);
        len += r;
        if (r < 4096)
            break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        sg_secret_wipe(buf, cap);
        free(buf);
        sg_log(SG_LOG_ERR, "config", NULL, "%s: read error", path);
        return SG_EIO;
    }
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
        sg_secret_wipe(buf, cap);
        free(buf);
        sg_log(SG_LOG_ERR, "config", NULL, "%s: contains a NUL byte", path);
        return SG_ESYNTAX;
    }
    int rc = sg_cfg_parse_string(buf, path, cfg_out);
    sg_secret_wipe(buf, cap);
    free(buf);
    return rc;
}

/* Copy src into *dst; file names are mapped from src's table to files (the copy's). */
static int block_copy(sg_cfg_block *dst, const sg_cfg_block *src, const sg_cfg *from, char **files)
{
    memset(dst, 0, sizeof *dst);
    dst->has_block = src->has_block;
    dst->line = src->line;
    for (int i = 0; i < from->nfiles; i++)
        if (src->file == from->files[i])
            dst->file = files[i];
    if (src->name && !(dst->name = strdup(src->name)))
        return SG_ENOMEM;
    if (src->nargs) {
        if (!(dst->args = calloc((size_t)src->nargs, sizeof *dst->args)))
            return SG_ENOMEM;
        dst->cap_args = src->nargs;
        for (; dst->nargs < src->nargs; dst->nargs++) {
            int secret = dst->nargs < 32 && (src->secret_args & (1u << dst->nargs));
            if (!(dst->args[dst->nargs] = secret ? sg_secret_strdup(src->args[dst->nargs])
                                                 : strdup(src->args[dst->nargs])))
                return SG_ENOMEM;
            if (secret)
                dst->secret_args |= 1u << dst->nargs;
        }
    }
    if (src->nchildren) {
        if (!(dst->children = calloc((size_t)src->nchildren, sizeof *dst->children)))
            return SG_ENOMEM;
        dst->cap_children = src->nchildren;
        for (; dst->nchildren < src->nchildren; dst->nchildren++) {
            int rc = block_copy(&dst->children[dst->nchildren], &src->children[dst->nchildren], from, files);
            if (rc) {
                dst->nchildren++; /* partly copied: freed with the rest */
                return rc;
            }
        }
    }
    return 0;
}

sg_cfg *sg_cfg_dup(const sg_cfg *src)
{
    if (!src)
        return NULL;
    sg_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (src->nfiles && !(c->files = calloc((size_t)src->nfiles, sizeof *c->files)))
        goto fail;
    for (; c->nfiles < src->nfiles; c->nfiles++)
        if (!(c->files[c->nfiles] = strdup(src->files[c->nfiles])))
            goto fail;
    if (src->nservers) {
        if (!(c->servers = calloc((size_t)src->nservers, sizeof *c->servers)))
            goto fail;
        c->cap_servers = src->nservers;
        for (; c->nservers < src->nservers; c->nservers++)
            if (block_copy(&c->servers[c->nservers], &src->servers[c->nservers], src, c->files)) {
                c->nservers++;
                goto fail;
            }
    }
    if (src->global) {
        if (!(c->global = calloc(1, sizeof *c->global)) || block_copy(c->global, src->global, src, c->files))
            goto fail;
    }
    return c;
fail:
    sg_cfg_free(c);
    return NULL;
}

void sg_cfg_free(sg_cfg *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->nservers; i++)
        block_free(&cfg->servers[i]);
    free(cfg->servers);
    if (cfg->global) {
        block_free(cfg->global);
        free(cfg->global);
    }
    for (int i = 0; i < cfg->nfiles; i++)
        free(cfg->files[i]);
    free(cfg->files);
    free(cfg);
}

int sg_cfg_error(const sg_cfg_block *blk, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sg_log(SG_LOG_ERR, "config", NULL, "%s:%d: %s", blk->file ? blk->file : "?", blk->line, msg);
    return SG_ESYNTAX;
}

int sg_cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return SG_ESYNTAX;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return SG_ESYNTAX;
    *out = v;
    return 0;
}

int sg_cfg_parse_size(const char *s, uint64_t *bytes_out)
{
    if (!s || !isdigit((unsigned char)*s))
        return SG_ESYNTAX;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: return SG_ESYNTAX;
    }
    if (errno || *end || v > (1ull << 40) / mul)
        return SG_ESYNTAX;
    *bytes_out = v * mul;
    return 0;
}

const char *sg_cfg_format_size(uint64_t bytes, char *buf, size_t cap)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        uint64_t mul = 1ull << (10 * (3 - i));
        if (bytes && bytes % mul == 0) {
            snprintf(buf, cap, "%llu%c", (unsigned long long)(bytes / mul), units[i]);
            return buf;
        }
    }
    snprintf(buf, cap, "%llu", (unsigned long long)bytes);
    return buf;
}

int sg_cfg_parse_duration(const char *s, uint64_t *secs_out)
{
    if (!s || !isdigit((unsigned char)*s))
        return SG_ESYNTAX;
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || end == p)
            return SG_ESYNTAX;
        uint64_t mul = 1;
        switch (*end) {
        case 0: mul = 1; break;
        case 's': mul = 1; end++; break;
        case 'm': mul = 60; end++; break;
        case 'h': mul = 3600; end++; break;
        case 'd': mul = 86400; end++; break;
        case 'w': mul = 604800; end++; break;
        default: return SG_ESYNTAX;
        }
        if (v > UINT64_MAX / mul / 2)
            return SG_ESYNTAX;
        total += v * mul;
        p = end;
    }
    *secs_out = total;
    return 0;
}
