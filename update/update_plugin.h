/* SPDX-License-Identifier: MIT */
/* The `update` plugin: dynamic updates (RFC 2136), TSIG-authenticated, journaled, served
 * and signed at once. */
#ifndef SG_UPDATE_PLUGIN_H
#define SG_UPDATE_PLUGIN_H

#include "common/plugin.h"

extern const sg_plugin sg_plugin_update;

#endif
