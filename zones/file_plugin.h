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

struct sg_zone;
/* For the control socket: how many zones the `file` handler with this state serves, and
 * the i-th (valid as long as the runtime holding the handler). */
int sg_file_nzones(const void *state);
const struct sg_zone *sg_file_zone(const void *state, int i);

#endif
