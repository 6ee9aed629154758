/* SPDX-License-Identifier: MIT */
/* The `file` plugin: `file PATH [ZONE...]` serves zones from RFC 1035 master files. */
#ifndef SG_FILE_PLUGIN_H
#define SG_FILE_PLUGIN_H

#include "common/plugin.h"

extern const sg_plugin sg_plugin_file;

/* Parse a `file` directive: the zones it loads (the block's zones when none are given),
 * as presentation names in *zones_out (caller frees each and the array), and the bound on
 * a zone's text (`max-size`; 0: unlimited). */
int sg_file_parse(const sg_cfg_block *blk, const sg_setup_ctx *ctx, char ***zones_out,
                  int *nzones_out, uint64_t *max_size_out);

#endif
