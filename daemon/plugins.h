/* SPDX-License-Identifier: MIT */
/* The plugins that live in daemon/ (the chain's order names them in plugin.cfg) and
 * helpers they share. */
#ifndef SG_DAEMON_PLUGINS_H
#define SG_DAEMON_PLUGINS_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/plugin.h"

extern const sg_plugin sg_plugin_log;
extern const sg_plugin sg_plugin_errors;
extern const sg_plugin sg_plugin_prometheus;
extern const sg_plugin sg_plugin_rrl;
extern const sg_plugin sg_plugin_cache;
extern const sg_plugin sg_plugin_health;
extern const sg_plugin sg_plugin_ready;
extern const sg_plugin sg_plugin_acl;

/* Count a reply that the server core made without running a chain: under the zone of
 * the routed chain's prometheus plugin when there is one (NOTIFY, a transfer nobody
 * serves), else under zone "dropped" (no zone, other class, malformed) once any
 * prometheus block exists (prometheus_plugin.c). routed may be NULL. */
void sg_prometheus_unrouted(const sg_handler *routed, const sg_query *q);
/* Parse a `prometheus [ADDR]` line into addr (table-driven tests). */
int sg_prometheus_parse(const sg_cfg_block *blk, char *addr, size_t cap);
/* Parse a `cache [SIZE]` line (SIZE with K, M or G). */
int sg_cache_parse(const sg_cfg_block *blk, size_t *bytes_out);

/* Parse a `health [ADDR] { lameduck DURATION }` directive (table-driven tests). */
int sg_health_parse(const sg_cfg_block *blk, char *addr, size_t cap, unsigned *lameduck_ms);
/* Parse a `ready [ADDR] { monitor until-ready|continuously }` directive. */
int sg_ready_parse(const sg_cfg_block *blk, char *addr, size_t cap, int *continuously);

/* "NOERROR", "NXDOMAIN", ... */
const char *sg_rcode_name(uint16_t rcode);
/* "A", "AAAA", "TYPE65534" */
void sg_type_name(uint16_t type, char *buf, size_t cap);

#endif
