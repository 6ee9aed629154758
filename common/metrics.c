/* SPDX-License-Identifier: MIT */
/* Per-worker counters, the source registry and the Prometheus text exposition. */
#include "common/metrics.h"
#include "common/errors.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_LINE 64

/* ---- buffer ------------------------------------------------------------------------ */

void sg_buf_init(sg_buf *b) { memset(b, 0, sizeof *b); }

void sg_buf_deinit(sg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(sg_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra + 1)
        nc *= 2;
    char *nd = realloc(b->data, nc);
    if (!nd) {
        b->oom = 1;
        return SG_ENOMEM;
    }
    b->data = nd;
    b->cap = nc;
    return 0;
}

int sg_buf_append(sg_buf *b, const char *s, size_t len)
{
    if (buf_reserve(b, len))
        return SG_ENOMEM;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int sg_buf_printf(sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SG_EINVAL;
    if ((size_t)n < sizeof tmp)
        return sg_buf_append(b, tmp, (size_t)n);
    if (buf_reserve(b, (size_t)n))
        return SG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* ---- counters ---------------------------------------------------------------------- */

_Thread_local unsigned sg_metrics_tls_slot;
static atomic_int g_workers;

void sg_metrics_set_workers(int nworkers)
{
    if (nworkers > 0)
        atomic_store(&g_workers, nworkers);
}

void sg_metrics_thread_slot(int id) { sg_metrics_tls_slot = id >= 0 ? (unsigned)id + 1 : 0; }

sg_counters *sg_counters_new(size_t n)
{
    sg_counters *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int w = atomic_load(&g_workers);
    if (w <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        w = ncpu > 0 ? (int)ncpu : 1;
    }
    size_t per_line = CACHE_LINE / sizeof(uint64_t);
    c->n = n;
    c->stride = (n + per_line - 1) / per_line * per_line;
    if (!c->stride)
        c->stride = per_line;
    c->nslots = (unsigned)w + 1;
    size_t bytes = c->stride * c->nslots * sizeof(uint64_t);
    if (posix_memalign(&c->mem, CACHE_LINE, bytes)) {
        free(c);
        return NULL;
    }
    memset(c->mem, 0, bytes);
    c->v = c->mem;
    return c;
}

void sg_counters_free(sg_counters *c)
{
    if (!c)
        return;
    free(c->mem);
    free(c);
}

/* Kept sets: a short list (one per plugin instance's block or zone) under its own lock;
 * only setup and teardown walk it, never a query or a scrape. */
static pthread_mutex_t g_keep_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_counters *g_kept;

sg_counters *sg_counters_keep(const char *key, size_t n)
{
    if (!key)
        return NULL;
    pthread_mutex_lock(&g_keep_lock);
    sg_counters *c;
    for (c = g_kept; c; c = c->next)
        if (!strcmp(c->key, key))
            break;
    if (c && c->n != n) {
        c = NULL; /* a caller bug: two owners of one key disagree on its shape */
    } else if (c) {
        c->holds++;
    } else if ((c = sg_counters_new(n)) != NULL) {
        if (!(c->key = strdup(key))) {
            sg_counters_free(c);
            c = NULL;
        } else {
            c->holds = 1;
            c->next = g_kept;
            g_kept = c;
        }
    }
    pthread_mutex_unlock(&g_keep_lock);
    return c;
}

void sg_counters_drop(sg_counters *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g_keep_lock);
    int last = --c->holds == 0;
    if (last)
        for (sg_counters **p = &g_kept; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
    pthread_mutex_unlock(&g_keep_lock);
    if (last) {
        free(c->key);
        sg_counters_free(c);
    }
}

uint64_t sg_counters_sum(const sg_counters *c, size_t i)
{
    uint64_t s = 0;
    for (unsigned k = 0; k < c->nslots; k++)
        s += atomic_load_explicit(&c->v[(size_t)k * c->stride + i], memory_order_relaxed);
    return s;
}

/* ---- registry ---------------------------------------------------------------------- */

typedef struct source {
    sg_metrics_source_fn fn;
    void *ctx;
} source;

/* One mutex for the list and for scrapes: unregister waits for a running scrape, which
 * is what lets the owner free ctx right after. Scrapes are rare; contention is not. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static source *g_sources;
static size_t g_nsources, g_capsources;

int sg_metrics_register(sg_metrics_source_fn fn, void *ctx)
{
    if (!fn)
        return SG_EINVAL;
    pthread_mutex_lock(&g_lock);
    if (g_nsources == g_capsources) {
        size_t nc = g_capsources ? g_capsources * 2 : 8;
        source *ns = realloc(g_sources, nc * sizeof *ns);
        if (!ns) {
            pthread_mutex_unlock(&g_lock);
            return SG_ENOMEM;
        }
        g_sources = ns;
        g_capsources = nc;
    }
    g_sources[g_nsources++] = (source){ fn, ctx };
    pthread_mutex_unlock(&g_lock);
    return 0;
}

void sg_metrics_unregister(sg_metrics_source_fn fn, void *ctx)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nsources; i++)
        if (g_sources[i].fn == fn && g_sources[i].ctx == ctx) {
            memmove(&g_sources[i], &g_sources[i + 1], (g_nsources - i - 1) * sizeof *g_sources);
            g_nsources--;
            break;
        }
    if (!g_nsources) {
        free(g_sources);
        g_sources = NULL;
        g_capsources = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- exposition -------------------------------------------------------------------- */

typedef struct family {
    char *name;
    char *help;
    enum sg_metric_type type;
    sg_buf samples;
} family;

struct sg_metrics_out {
    family *f;
    size_t n, cap;
    int oom;
};

static family *family_find(sg_metrics_out *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->f[i].name, name))
            return &o->f[i];
    return NULL;
}

int sg_metrics_family(sg_metrics_out *o, const char *name, enum sg_metric_type type,
                      const char *help)
{
    if (!o || !name || !help)
        return SG_EINVAL;
    if (family_find(o, name))
        return 0;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 32;
        family *nf = realloc(o->f, nc * sizeof *nf);
        if (!nf)
            goto oom;
        o->f = nf;
        o->cap = nc;
    }
    family *f = &o->f[o->n];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->help = strdup(help);
    f->type = type;
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        goto oom;
    }
    o->n++;
    return 0;
oom:
    o->oom = 1;
    return SG_ENOMEM;
}

/* A label value escapes backslash, double quote and newline. */
static int label_escape(sg_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        int rc;
        if (*p == '\\')
            rc = sg_buf_append(b, "\\\\", 2);
        else if (*p == '"')
            rc = sg_buf_append(b, "\\\"", 2);
        else if (*p == '\n')
            rc = sg_buf_append(b, "\\n", 2);
        else
            rc = sg_buf_append(b, p, 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int sample_head(sg_metrics_out *o, const char *name, const char *suffix,
                       const char *const *labels, family **f_out)
{
    family *f = family_find(o, name);
    if (!f)
        return SG_ENOTFOUND;
    sg_buf *b = &f->samples;
    sg_buf_append(b, name, strlen(name));
    if (suffix)
        sg_buf_append(b, suffix, strlen(suffix));
    if (labels && labels[0]) {
        sg_buf_append(b, "{", 1);
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            if (i)
                sg_buf_append(b, ",", 1);
            sg_buf_printf(b, "%s=\"", labels[i]);
            label_escape(b, labels[i + 1]);
            sg_buf_append(b, "\"", 1);
        }
        sg_buf_append(b, "}", 1);
    }
    *f_out = f;
    return b->oom ? SG_ENOMEM : 0;
}

int sg_metrics_add_u64(sg_metrics_out *o, const char *name, const char *suffix,
                       const char *const *labels, uint64_t value)
{
    family *f;
    int rc = sample_head(o, name, suffix, labels, &f);
    if (rc)
        return rc;
    return sg_buf_printf(&f->samples, " %" PRIu64 "\n", value);
}

int sg_metrics_add_double(sg_metrics_out *o, const char *name, const char *suffix,
                          const char *const *labels, double value)
{
    family *f;
    int rc = sample_head(o, name, suffix, labels, &f);
    if (rc)
        return rc;
    if (isinf(value))
        return sg_buf_printf(&f->samples, " %sInf\n", value > 0 ? "+" : "-");
    if (isnan(value))
        return sg_buf_printf(&f->samples, " NaN\n");
    return sg_buf_printf(&f->samples, " %.12g\n", value);
}

static const char *type_name(enum sg_metric_type t)
{
    switch (t) {
    case SG_METRIC_COUNTER: return "counter";
    case SG_METRIC_GAUGE: return "gauge";
    case SG_METRIC_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

/* HELP text escapes only backslash and newline. */
static void help_escape(sg_buf *b, const char *h)
{
    for (const char *p = h; *p; p++) {
        if (*p == '\\')
            sg_buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            sg_buf_append(b, "\\n", 2);
        else
            sg_buf_append(b, p, 1);
    }
}

/* Length of a sample line's series (name and labels), without the value. */
static size_t series_len(const char *line, size_t len)
{
    size_t k = len;
    while (k > 0 && line[k - 1] != ' ')
        k--;
    return k ? k - 1 : len;
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Append the family's sample lines, each series once. Two sources can render the same
 * series: during a reload the old and the new instance of a plugin are both registered
 * until the old one is freed (their counters are the same kept set). A scrape with a
 * series twice is rejected whole by Prometheus, so the first wins. */
static void append_unique(sg_buf *b, const sg_buf *samples)
{
    size_t nlines = 0;
    for (size_t i = 0; i < samples->len; i++)
        nlines += samples->data[i] == '\n';
    size_t cap = 16;
    while (cap < nlines * 2)
        cap <<= 1;
    /* open addressing over the series seen: where each starts (+1; 0 = empty), its length */
    size_t *start = calloc(cap, sizeof *start), *klen = calloc(cap, sizeof *klen);
    if (!start || !klen) {
        free(start);
        free(klen);
        b->oom = 1;
        return;
    }
    const char *d = samples->data;
    for (size_t off = 0; off < samples->len;) {
        const char *nl = memchr(d + off, '\n', samples->len - off);
        size_t len = nl ? (size_t)(nl - (d + off)) + 1 : samples->len - off;
        size_t kl = series_len(d + off, len);
        size_t at = (size_t)fnv1a(d + off, kl) & (cap - 1);
        while (start[at] && !(klen[at] == kl && !memcmp(d + start[at] - 1, d + off, kl)))
            at = (at + 1) & (cap - 1);
        if (!start[at]) {
            start[at] = off + 1;
            klen[at] = kl;
            sg_buf_append(b, d + off, len);
        }
        off += len;
    }
    free(start);
    free(klen);
}

int sg_metrics_render(sg_buf *b)
{
    sg_metrics_out o = { 0 };
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nsources; i++)
        g_sources[i].fn(&o, g_sources[i].ctx);
    pthread_mutex_unlock(&g_lock);
    for (size_t i = 0; i < o.n; i++) {
        family *f = &o.f[i];
        if (f->samples.len) {
            sg_buf_printf(b, "# HELP %s ", f->name);
            help_escape(b, f->help);
            sg_buf_printf(b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
            append_unique(b, &f->samples);
        }
        if (f->samples.oom)
            o.oom = 1;
        free(f->name);
        free(f->help);
        sg_buf_deinit(&f->samples);
    }
    free(o.f);
    return (o.oom || b->oom) ? SG_ENOMEM : 0;
}
