/* SPDX-License-Identifier: MIT */
/* The `registrar PROVIDER { ... }` block inside a zone's dnssec block. */
#include "registrar/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int copy(const sg_cfg_block *d, char *dst, size_t cap, const char *what)
{
    if (d->nargs != 1 || strlen(d->args[0]) >= cap)
        return sg_cfg_error(d, "%s: expected %s", d->name, what);
    snprintf(dst, cap, "%s", d->args[0]);
    return 0;
}

static int duration(const sg_cfg_block *d, uint32_t *out, uint64_t max)
{
    uint64_t v;
    if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &v) || v == 0 || v > max)
        return sg_cfg_error(d, "%s: expected a duration (1s..%llus)", d->name,
                            (unsigned long long)max);
    *out = (uint32_t)v;
    return 0;
}

static int method_ok(const char *m)
{
    static const char *const ok[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
    for (int i = 0; ok[i]; i++)
        if (!strcmp(m, ok[i]))
            return 1;
    return 0;
}

static int triple(const sg_cfg_block *d, char (*dst)[1024], int min, int max)
{
    if (d->nargs < min || d->nargs > max || !method_ok(d->args[0]) ||
        strncmp(d->args[1], "https://", 8))
        return sg_cfg_error(d, "%s: expected METHOD https://URL%s", d->name,
                            max == 3 ? (min == 3 ? " 'BODY'" : " ['BODY']") : "");
    for (int i = 0; i < d->nargs; i++) {
        if (strlen(d->args[i]) >= 1024)
            return sg_cfg_error(d, "%s: argument too long", d->name);
        snprintf(dst[i], 1024, "%s", d->args[i]);
    }
    return 0;
}

/* ---- directives that are more than one string or one duration ---------------------- */

static int opt_credentials(const sg_cfg_block *d, sg_reg_cfg *out)
{
    if (!(d->nargs >= 1 && !strcmp(d->args[0], "env")))
        return copy(d, out->credentials, sizeof out->credentials, "a file or 'env [PREFIX]'");
    if (d->nargs > 2 || (d->nargs == 2 && strlen(d->args[1]) >= sizeof out->env_prefix))
        return sg_cfg_error(d, "credentials: expected 'env [PREFIX]' or a file");
    snprintf(out->credentials, sizeof out->credentials, "env");
    if (d->nargs == 2)
        snprintf(out->env_prefix, sizeof out->env_prefix, "%s", d->args[1]);
    return 0;
}

/* Credentials go only over TLS; the trailing slash goes so that paths join with one.
 * OVHcloud's regional APIs may be named (ovh-eu, ovh-ca, ovh-us), as its clients allow. */
static int opt_endpoint(const sg_cfg_block *d, sg_reg_cfg *out)
{
    int rc = copy(d, out->endpoint, sizeof out->endpoint, "an https:// base URL");
    if (rc)
        return rc;
    const char *named = sg_reg_ovh_endpoint(out->endpoint);
    if (named && strcmp(out->provider, "ovh"))
        return sg_cfg_error(d, "endpoint: '%s' names an OVHcloud API; registrar %s needs an "
                               "https:// URL", out->endpoint, out->provider);
    if (named)
        snprintf(out->endpoint, sizeof out->endpoint, "%s", named);
    if (strncmp(out->endpoint, "https://", 8))
        return sg_cfg_error(d, "endpoint: only https:// URLs are accepted%s",
                            strcmp(out->provider, "ovh") ? ""
                                                         : " (or ovh-eu, ovh-ca, ovh-us)");
    size_t l = strlen(out->endpoint);
    if (out->endpoint[l - 1] == '/')
        out->endpoint[l - 1] = 0;
    return 0;
}

static int opt_query_timeout(const sg_cfg_block *d, sg_reg_cfg *out)
{
    uint32_t s = 0;
    int rc = duration(d, &s, 60);
    if (!rc)
        out->query_timeout = s * 1000;
    return rc;
}

static int opt_backoff(const sg_cfg_block *d, sg_reg_cfg *out)
{
    uint64_t a, b;
    if (d->nargs != 2 || sg_cfg_parse_duration(d->args[0], &a) ||
        sg_cfg_parse_duration(d->args[1], &b) || a == 0 || b < a || b > 86400)
        return sg_cfg_error(d, "backoff: expected FIRST MAX durations (MAX <= 1d)");
    out->backoff_base = (uint32_t)a;
    out->backoff_max = (uint32_t)b;
    return 0;
}

static int opt_parent_ns(const sg_cfg_block *d, sg_reg_cfg *out)
{
    if (d->nargs < 1 || d->nargs > SG_REG_MAX_NS)
        return sg_cfg_error(d, "parent-ns: expected 1..%d ADDR[:PORT]", SG_REG_MAX_NS);
    for (int k = 0; k < d->nargs; k++) {
        if (strlen(d->args[k]) >= sizeof out->parent_ns[0])
            return sg_cfg_error(d, "parent-ns: address too long");
        snprintf(out->parent_ns[k], sizeof out->parent_ns[0], "%s", d->args[k]);
    }
    out->nparent_ns = d->nargs;
    return 0;
}

static int opt_list(const sg_cfg_block *d, sg_reg_cfg *out)
{
    if (d->nargs != 2 || !method_ok(d->args[0]) || strncmp(d->args[1], "https://", 8) ||
        strlen(d->args[1]) >= sizeof out->rest_list[1])
        return sg_cfg_error(d, "list: expected METHOD https://URL");
    snprintf(out->rest_list[0], sizeof out->rest_list[0], "%s", d->args[0]);
    snprintf(out->rest_list[1], sizeof out->rest_list[1], "%s", d->args[1]);
    return 0;
}

static int opt_add(const sg_cfg_block *d, sg_reg_cfg *out)
{
    return triple(d, out->rest_add, 3, 3);
}

static int opt_remove(const sg_cfg_block *d, sg_reg_cfg *out)
{
    return triple(d, out->rest_remove, 2, 3);
}

static int opt_header(const sg_cfg_block *d, sg_reg_cfg *out)
{
    if (d->nargs != 1 || !strchr(d->args[0], ':') || out->nrest_headers == SG_REG_MAX_HEADERS ||
        strlen(d->args[0]) >= sizeof out->rest_headers[0])
        return sg_cfg_error(d, "header: expected one 'Name: value' (at most %d)",
                            SG_REG_MAX_HEADERS);
    snprintf(out->rest_headers[out->nrest_headers++], sizeof out->rest_headers[0], "%s",
             d->args[0]);
    return 0;
}

static int opt_fields(const sg_cfg_block *d, sg_reg_cfg *out)
{
    if (d->nargs != 5)
        return sg_cfg_error(d, "fields: expected the JSON names of TAG ALGORITHM "
                               "DIGEST-TYPE DIGEST ID");
    for (int k = 0; k < 5; k++) {
        if (strlen(d->args[k]) >= sizeof out->rest_fields[0])
            return sg_cfg_error(d, "fields: name too long");
        snprintf(out->rest_fields[k], sizeof out->rest_fields[0], "%s", d->args[k]);
    }
    return 0;
}

/* ---- the directive table ------------------------------------------------------------- */

/* A directive is one string (copied into a field of the config), one duration (up to a
 * maximum), or its own function. */
typedef struct directive {
    const char *name;
    enum { D_STRING, D_DURATION, D_FUNC } kind;
    size_t off;        /* D_STRING, D_DURATION: the field in sg_reg_cfg */
    size_t size;       /* D_STRING: the field's size */
    const char *what;  /* D_STRING: what the argument is, for the error */
    uint64_t max;      /* D_DURATION: the largest value, seconds */
    int (*parse)(const sg_cfg_block *d, sg_reg_cfg *out);
} directive;

#define STRING(n, field, what) \
    { n, D_STRING, offsetof(sg_reg_cfg, field), sizeof ((sg_reg_cfg *)0)->field, what, 0, NULL }
#define DURATION(n, field, max) { n, D_DURATION, offsetof(sg_reg_cfg, field), 0, NULL, max, NULL }
#define FUNC(n, fn) { n, D_FUNC, 0, 0, NULL, 0, fn }

static const directive directives[] = {
    FUNC("credentials", opt_credentials),
    FUNC("endpoint", opt_endpoint),
    STRING("ca-file", ca_file, "a PEM file of CA certificates"),
    STRING("domain", domain, "the registrar's name for the domain"),
    STRING("account", account, "an account id"),
    DURATION("connect-timeout", connect_timeout, 300),
    DURATION("timeout", timeout, 600),
    FUNC("query-timeout", opt_query_timeout),
    FUNC("backoff", opt_backoff),
    DURATION("check-interval", check_interval, 86400),
    DURATION("task-timeout", task_timeout, 3600),
    DURATION("alert-timeout", alert_timeout, 365 * 86400ULL),
    STRING("parent", parent, "the parent zone's name"),
    FUNC("parent-ns", opt_parent_ns),
    STRING("primary", primary, "the parent primary's ADDR[:PORT]"),
    FUNC("list", opt_list),
    STRING("list-path", rest_list_path, "a dotted JSON path"),
    FUNC("add", opt_add),
    FUNC("remove", opt_remove),
    FUNC("header", opt_header),
    FUNC("fields", opt_fields),
};

static int parse_directive(const sg_cfg_block *d, sg_reg_cfg *out)
{
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
        const directive *t = &directives[i];
        if (strcmp(d->name, t->name))
            continue;
        char *field = (char *)out + t->off;
        switch (t->kind) {
        case D_STRING:
            return copy(d, field, t->size, t->what);
        case D_DURATION:
            return duration(d, (uint32_t *)(void *)field, t->max);
        case D_FUNC:
            return t->parse(d, out);
        }
    }
    return sg_cfg_error(d, "registrar: unknown option '%s'", d->name);
}

static void set_defaults(const sg_cfg_block *blk, sg_reg_cfg *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->file, sizeof out->file, "%s", blk->file ? blk->file : "?");
    out->line = blk->line;
    out->connect_timeout = 10;
    out->timeout = 30;
    out->backoff_base = 5;
    out->backoff_max = 3600;
    out->check_interval = 60;
    out->alert_timeout = 2 * 86400;
    out->query_timeout = 2000;
    out->task_timeout = 120;
    snprintf(out->env_prefix, sizeof out->env_prefix, "SIGNET_REG_");
}

/* What a provider cannot work without, once the whole block is read. */
static int check_required(const sg_cfg_block *blk, const sg_reg_cfg *out)
{
    int manual = !strcmp(out->provider, "manual") || !strcmp(out->provider, "cds");
    if (!manual && !out->credentials[0])
        return sg_cfg_error(blk, "registrar %s: a 'credentials FILE' (or 'credentials env') "
                                 "line is required", out->provider);
    if (!strcmp(out->provider, "rest") && (!out->rest_list[0][0] || !out->rest_add[0][0] ||
                                           !out->rest_remove[0][0]))
        return sg_cfg_error(blk, "registrar rest: 'list', 'add' and 'remove' are required");
    if (!strcmp(out->provider, "update") && !out->primary[0])
        return sg_cfg_error(blk, "registrar update: a 'primary ADDR[:PORT]' line is required");
    return 0;
}

int sg_reg_parse(const sg_cfg_block *blk, sg_reg_cfg *out)
{
    set_defaults(blk, out);
    if (blk->nargs != 1 || strlen(blk->args[0]) >= sizeof out->provider)
        return sg_cfg_error(blk, "registrar: expected a provider (%s)", sg_reg_provider_names());
    snprintf(out->provider, sizeof out->provider, "%s", blk->args[0]);
    if (strcmp(out->provider, "manual") && !sg_reg_provider_find(out->provider))
        return sg_cfg_error(blk, "registrar: unknown provider '%s' (%s)", out->provider,
                            sg_reg_provider_names());
    for (int i = 0; i < blk->nchildren; i++) {
        int rc = parse_directive(&blk->children[i], out);
        if (rc)
            return rc;
    }
    return check_required(blk, out);
}
