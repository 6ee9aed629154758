/* SPDX-License-Identifier: MIT */
/* The `file` plugin: `file PATH [ZONE...]` serves zones from RFC 1035 master files. */
#ifndef SG_FILE_PLUGIN_H
#define SG_FILE_PLUGIN_H

#include "common/plugin.h"

extern const sg_plugin sg_plugin_file;

#endif
