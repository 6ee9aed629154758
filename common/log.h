/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, to stderr (later syslog), filtered by level. */
#ifndef SG_LOG_H
#define SG_LOG_H

enum sg_log_level { SG_LOG_SILENT = -1, SG_LOG_ERR = 0, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

/* Set the most verbose level that is printed (default SG_LOG_INFO). */
void sg_log_set_level(enum sg_log_level lvl);
/* Parse "error", "warning", "info", "debug"; returns 0 or SG_EINVAL. */
int sg_log_parse_level(const char *s, enum sg_log_level *out);
/* Non-zero if a message at lvl would be printed (to skip formatting work). */
int sg_log_enabled(enum sg_log_level lvl);

/* Log one line: "[LEVEL] component: zone: message". zone may be NULL.
 * Never pass private keys or credentials. */
void sg_log(enum sg_log_level lvl, const char *component, const char *zone,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
