/* SPDX-License-Identifier: MIT */
/* Metrics: per-worker counters for the query path, a registry of metric sources, and the
 * Prometheus text exposition that both /metrics and `signetctl stats` print.
 *
 * The query path only ever touches sg_counters: each worker thread writes its own row
 * (no shared cache line, no locked instruction); a scrape sums the rows. Everything else
 * (key states, zone serials, cache sizes) is produced at scrape time by a source: a
 * callback that a plugin or background component registers with its context. Sources
 * emit samples into an sg_metrics_out, which groups them by family, so that two sources
 * may add samples of one family (two dnssec blocks both report signet_dnssec_keys) and
 * the output still has one # HELP / # TYPE per family, as the format requires. */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a growable text buffer ------------------------------------------------------ */

typedef struct sg_buf {
    char *data;   /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;      /* an append failed: the content is incomplete */
} sg_buf;

/* Prepare an empty buffer (no allocation yet). */
void sg_buf_init(sg_buf *b);
/* Free the storage; the buffer is empty and usable again. */
void sg_buf_deinit(sg_buf *b);
/* Append len bytes. Returns 0 or SG_ENOMEM (and sets b->oom). */
int sg_buf_append(sg_buf *b, const char *s, size_t len);
/* Append formatted text. Returns 0 or SG_ENOMEM. */
int sg_buf_printf(sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- per-worker counters ---------------------------------------------------------- */

/* A set of n uint64 counters with one row per worker thread plus a shared row (slot 0)
 * that other threads update atomically. Rows are cache-line aligned. */
typedef struct sg_counters {
    size_t n;
    size_t stride;          /* counters per row, rounded up to a cache line */
    unsigned nslots;        /* rows: 1 shared + one per worker known at creation */
    _Atomic uint64_t *v;
    void *mem;
    /* kept sets only (sg_counters_keep): the registry's key, holders, list link */
    char *key;
    int holds;
    struct sg_counters *next;
} sg_counters;

/* This thread's row: 0 (shared, atomic) unless sg_metrics_thread_slot was called. */
extern _Thread_local unsigned sg_metrics_tls_slot;

/* How many worker threads will run; counter sets made afterwards get a row for each.
 * Default: the number of online CPUs. Call before building the runtime. */
void sg_metrics_set_workers(int nworkers);
/* Called once by worker thread `id` (0-based) before it counts anything. Workers beyond
 * the rows a counter set has fall back to the shared row (still correct, slower). */
void sg_metrics_thread_slot(int id);

/* A zeroed set of n counters. Free with sg_counters_free (NULL is fine). */
sg_counters *sg_counters_new(size_t n);
void sg_counters_free(sg_counters *c);

/* Add d to counter i. Lock-free; a worker's own row is written with a plain store. */
static inline void sg_counters_add(sg_counters *c, size_t i, uint64_t d)
{
    unsigned s = sg_metrics_tls_slot;
    if (s && s < c->nslots) {
        _Atomic uint64_t *p = &c->v[(size_t)s * c->stride + i];
        atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + d,
                              memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&c->v[i], d, memory_order_relaxed);
    }
}

/* A set kept by the process, so that counters outlive the runtime that counts in them:
 * the first call with a key makes a zeroed set of n counters, later calls return the
 * same set and add a holder; sg_counters_drop removes one and frees the set with its
 * last holder. A reload builds the new runtime (its plugins keep their sets) before it
 * frees the old one, so a plugin instance keyed as the old one was continues its
 * counts, and a block or zone that left the config frees its set. Keys name the owner
 * and what it counts for, e.g. "cache example.test." (see common/README.md). NULL when
 * out of memory, or when key already holds a set of another size. */
sg_counters *sg_counters_keep(const char *key, size_t n);
/* Release a hold from sg_counters_keep (NULL is fine). Never sg_counters_free a kept set. */
void sg_counters_drop(sg_counters *c);

/* The sum of counter i over every row (a scrape; may lag the workers by a few adds). */
uint64_t sg_counters_sum(const sg_counters *c, size_t i);

/* ---- sources and the exposition --------------------------------------------------- */

typedef struct sg_metrics_out sg_metrics_out;

/* A metric source: adds its samples to out. Runs on the scraping thread (HTTP server or
 * control socket), never on the query path; it may read the keystore with a short busy
 * timeout. Returns 0 or a negative SG_E* (its samples so far are kept). */
typedef int (*sg_metrics_source_fn)(sg_metrics_out *out, void *ctx);

/* Register fn(ctx). Returns 0, SG_EINVAL or SG_ENOMEM. */
int sg_metrics_register(sg_metrics_source_fn fn, void *ctx);
/* Remove fn(ctx); returns once no scrape is running it, so ctx can be freed afterwards. */
void sg_metrics_unregister(sg_metrics_source_fn fn, void *ctx);

enum sg_metric_type { SG_METRIC_COUNTER, SG_METRIC_GAUGE, SG_METRIC_HISTOGRAM };

/* Declare a family (idempotent: the first declaration's help text wins). Names follow
 * Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*), e.g. "signet_dns_requests_total". */
int sg_metrics_family(sg_metrics_out *out, const char *name, enum sg_metric_type type,
                      const char *help);
/* Add one sample to a declared family. suffix: NULL, or "_bucket", "_sum", "_count" for
 * histograms. labels: name, value, name, value, ..., NULL (may be NULL itself); values
 * are escaped (\\, \", \n). Returns 0, SG_ENOTFOUND (family not declared) or SG_ENOMEM. */
int sg_metrics_add_u64(sg_metrics_out *out, const char *family, const char *suffix,
                       const char *const *labels, uint64_t value);
int sg_metrics_add_double(sg_metrics_out *out, const char *family, const char *suffix,
                          const char *const *labels, double value);

/* Run every registered source and append the exposition (text format 0.0.4) to b:
 * families in the order first declared, each with # HELP and # TYPE once. Returns 0 or
 * SG_ENOMEM. Thread-safe; scrapes run one at a time. */
int sg_metrics_render(sg_buf *b);

#endif
