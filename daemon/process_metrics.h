/* SPDX-License-Identifier: MIT */
/* The process's own metrics source: signet_build_info and the standard process_* families
 * (read from /proc at scrape time). */
#ifndef SG_PROCESS_METRICS_H
#define SG_PROCESS_METRICS_H

#include <stdint.h>

/* What /proc/self/stat says that the process_* families need. */
typedef struct sg_proc_stat {
    double cpu_seconds;       /* utime + stime */
    double start_after_boot;  /* starttime, in seconds since boot */
    uint64_t vsize;           /* bytes */
    uint64_t rss_pages;
} sg_proc_stat;

/* Parse the text of /proc/PID/stat (the command name may hold spaces and ')'), with
 * ticks_per_s clock ticks a second (sysconf(_SC_CLK_TCK)). 0 or SG_EINVAL. */
int sg_proc_stat_parse(const char *stat, double ticks_per_s, sg_proc_stat *out);
/* The boot time (unix seconds) from the text of /proc/stat's btime line. 0 or SG_EINVAL. */
int sg_proc_boot_time(const char *proc_stat, int64_t *out);

/* Register the source (once, at start; the daemon's metrics outlive every reload).
 * 0 or a negative SG_E* from sg_metrics_register. */
int sg_process_metrics_register(void);
/* Remove it again (tests). */
void sg_process_metrics_unregister(void);

#endif
