/* SPDX-License-Identifier: MIT */
/* The `secondary` plugin: serves zones transferred from primaries (AXFR/IXFR with TSIG),
 * kept fresh by the SOA timers and NOTIFY, and persisted for a restart. */
#ifndef SG_SECONDARY_PLUGIN_H
#define SG_SECONDARY_PLUGIN_H

#include <limits.h>

#include "common/plugin.h"
#include "secondary/xfr_in.h"

#define SG_SECONDARY_PRIMARIES_MAX 8
/* max-size when the config says nothing: far above any zone a signer in front of a hidden
 * primary is likely to carry (millions of records), far below what a host has to spare */
#define SG_SECONDARY_MAX_SIZE (512ull << 20)

typedef struct sg_secondary_cfg {
    sg_xfr_peer primaries[SG_SECONDARY_PRIMARIES_MAX]; /* asked in this order */
    int nprimaries;
    char key[256];             /* TSIG key name; "" for none */
    char file[PATH_MAX];       /* persisted copy (one zone), or "" */
    char directory[PATH_MAX];  /* persisted copies, DIR/<zone>.zone, or "" */
    uint32_t timeout;          /* seconds per network wait */
    uint64_t max_size;         /* bytes one transfer may bring (sg_xfr_limits); 0: unlimited */
    uint64_t max_records;      /* records one transfer may bring; 0: unlimited */
} sg_secondary_cfg;

extern const sg_plugin sg_plugin_secondary;

/* Parse a `secondary` block for a server block with nzones zones (errors file:line). */
int sg_secondary_parse(const sg_cfg_block *blk, int nzones, sg_secondary_cfg *out);

#endif
