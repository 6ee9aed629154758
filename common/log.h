/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, to stderr or syslog, filtered by level. */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stddef.h>

enum sg_log_level { SG_LOG_SILENT = -1, SG_LOG_ERR = 0, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

/* Set the most verbose level that is printed (default SG_LOG_INFO). */
void sg_log_set_level(enum sg_log_level lvl);
/* The level set now. */
enum sg_log_level sg_log_get_level(void);
/* Parse "error", "warning", "info", "debug"; returns 0 or SG_EINVAL. */
int sg_log_parse_level(const char *s, enum sg_log_level *out);
/* Non-zero if a message at lvl would be printed (to skip formatting work). */
int sg_log_enabled(enum sg_log_level lvl);

/* Where lines go: "stderr" (default) or "syslog" (facility daemon, identity ident, which
 * must stay valid). Returns 0 or SG_EINVAL for another name. */
int sg_log_set_target(const char *target, const char *ident);

/* How lines look: "text" (default) or "json", one object per line with stable keys:
 * {"time":"2026-01-31T12:00:00.000Z","level":"error|warning|info|debug","component":"...",
 *  "zone":"example.org."|null,"message":"..."} (to syslog without "time", which syslog
 * stamps itself). Returns 0 or SG_EINVAL for another name. */
int sg_log_set_format(const char *format);

/* Log one line: "[LEVEL] component: zone: message". zone may be NULL.
 * Never pass private keys or credentials. */
void sg_log(enum sg_log_level lvl, const char *component, const char *zone,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Also copy the error and warning lines this thread logs into buf (cap bytes, always
 * NUL-terminated, one line each without the timestamp), so that a control client can be
 * told why its request failed. Until sg_log_capture_end, which returns how many error
 * (not warning) lines were logged meanwhile. */
void sg_log_capture_begin(char *buf, size_t cap);
int sg_log_capture_end(void);

#endif
