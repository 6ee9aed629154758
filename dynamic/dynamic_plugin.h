/* SPDX-License-Identifier: MIT */
/* The `dynamic` plugin: zones served at run time from the keystore (issue 17). */
#ifndef SG_DYNAMIC_PLUGIN_H
#define SG_DYNAMIC_PLUGIN_H

#include "common/plugin.h"

/* The descriptor (plugin.cfg: dynamic:dynamic). Syntax: docs/plugins/dynamic.md. */
extern const sg_plugin sg_plugin_dynamic;

#endif
