/* SPDX-License-Identifier: MIT */
/* The plugins that live in daemon/ and small helpers they share. */
#ifndef SG_DAEMON_PLUGINS_H
#define SG_DAEMON_PLUGINS_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/plugin.h"

extern const sg_plugin sg_plugin_log;
extern const sg_plugin sg_plugin_errors;

/* "NOERROR", "NXDOMAIN", ... */
const char *sg_rcode_name(uint16_t rcode);
/* "A", "AAAA", "TYPE65534" */
void sg_type_name(uint16_t type, char *buf, size_t cap);
/* "127.0.0.1:53" or "[::1]:53" */
void sg_addr_text(const struct sockaddr *sa, char *buf, size_t cap);

#endif
