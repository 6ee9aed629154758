/* SPDX-License-Identifier: MIT */
/* The process's own metrics: signet_build_info and the standard process_* families that
 * every Prometheus client library exports (start time, CPU, memory, file descriptors),
 * read from /proc at scrape time, so that the usual dashboards and alerts work unchanged. */
#include "daemon/process_metrics.h"
#include "signer/compact_key.h"
#include "common/errors.h"
#include "common/metrics.h"

#include <dirent.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef SIGNET_VERSION
#define SIGNET_VERSION "0.0.0"
#endif

int sg_proc_stat_parse(const char *stat, double ticks_per_s, sg_proc_stat *out)
{
    /* the command name (field 2) may hold spaces and parentheses: fields resume after
     * the last ')' */
    const char *p = stat ? strrchr(stat, ')') : NULL;
    if (!p || ticks_per_s <= 0)
        return SG_EINVAL;
    unsigned long long utime, stime, start, vsize;
    long long rss;
    /* fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                      "%*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) != 5)
        return SG_EINVAL;
    out->cpu_seconds = (double)(utime + stime) / ticks_per_s;
    out->start_after_boot = (double)start / ticks_per_s;
    out->vsize = vsize;
    out->rss_pages = rss > 0 ? (uint64_t)rss : 0;
    return 0;
}

int sg_proc_boot_time(const char *proc_stat, int64_t *out)
{
    const char *p = proc_stat ? strstr(proc_stat, "\nbtime ") : NULL;
    long long bt;
    if (!p || sscanf(p + 7, "%lld", &bt) != 1)
        return SG_EINVAL;
    *out = bt;
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len + 1 < cap)
            break;
        char *more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static int process_source(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    sg_metrics_family(o, "signet_build_info", SG_METRIC_GAUGE,
                      "Always 1; the labels say which signetd runs and with which libraries.");
    const char *bi[] = { "version", SIGNET_VERSION, "openssl", OpenSSL_version(OPENSSL_VERSION_STRING),
                         "sqlite", sqlite3_libversion(), NULL };
    sg_metrics_add_u64(o, "signet_build_info", NULL, bi, 1);

    sg_metrics_family(o, "process_start_time_seconds", SG_METRIC_GAUGE,
                      "Start time of the process since unix epoch in seconds.");
    sg_metrics_family(o, "process_cpu_seconds_total", SG_METRIC_COUNTER,
                      "Total user and system CPU time spent in seconds.");
    sg_metrics_family(o, "process_resident_memory_bytes", SG_METRIC_GAUGE, "Resident memory size in bytes.");
    sg_metrics_family(o, "process_virtual_memory_bytes", SG_METRIC_GAUGE, "Virtual memory size in bytes.");
    sg_metrics_family(o, "process_open_fds", SG_METRIC_GAUGE, "Number of open file descriptors.");
    sg_metrics_family(o, "process_max_fds", SG_METRIC_GAUGE, "Maximum number of open file descriptors.");
    double ticks = (double)sysconf(_SC_CLK_TCK);
    char *self = slurp("/proc/self/stat"), *all = slurp("/proc/stat");
    sg_proc_stat ps;
    int64_t boot;
    if (self && !sg_proc_stat_parse(self, ticks, &ps)) {
        if (all && !sg_proc_boot_time(all, &boot))
            sg_metrics_add_double(o, "process_start_time_seconds", NULL, NULL, (double)boot + ps.start_after_boot);
        sg_metrics_add_double(o, "process_cpu_seconds_total", NULL, NULL, ps.cpu_seconds);
        sg_metrics_add_u64(o, "process_resident_memory_bytes", NULL, NULL,
                           ps.rss_pages * (uint64_t)sysconf(_SC_PAGESIZE));
        sg_metrics_add_u64(o, "process_virtual_memory_bytes", NULL, NULL, ps.vsize);
    }
    free(self);
    free(all);
    int fds = open_fds();
    if (fds >= 0)
        sg_metrics_add_u64(o, "process_open_fds", NULL, NULL, (uint64_t)fds);
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
        sg_metrics_add_u64(o, "process_max_fds", NULL, NULL, (uint64_t)rl.rlim_cur);

    sg_metrics_family(o, "signet_key_objects", SG_METRIC_GAUGE,
                      "Signing key objects kept built (global option key-objects).");
    sg_metrics_add_u64(o, "signet_key_objects", NULL, NULL, (uint64_t)sg_compact_key_cached());
    sg_metrics_family(o, "signet_key_object_builds_total", SG_METRIC_COUNTER,
                      "Signing key objects built from their compact form (a key that signs "
                      "while its object is not kept).");
    sg_metrics_add_u64(o, "signet_key_object_builds_total", NULL, NULL,
                       (uint64_t)sg_compact_key_builds());
    return 0;
}

int sg_process_metrics_register(void)
{
    return sg_metrics_register(process_source, NULL);
}

void sg_process_metrics_unregister(void)
{
    sg_metrics_unregister(process_source, NULL);
}
