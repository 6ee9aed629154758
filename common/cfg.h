/* SPDX-License-Identifier: MIT */
/* The parsed Corefile-style configuration: a tree of directives with file:line. */
#ifndef SG_CFG_H
#define SG_CFG_H

#include <stddef.h>
#include <stdint.h>

/* One directive ("file example.zone"), or a server block (name NULL, args = zone keys),
 * or the global options block (name "{global}"). Children are the lines of its { } block. */
typedef struct sg_cfg_block {
    char *name;
    char **args;
    int nargs;
    struct sg_cfg_block *children;
    int nchildren;
    int has_block;     /* it had a { } block, even an empty one */
    int cap_args, cap_children; /* allocated sizes, grown geometrically */
    unsigned secret_args;      /* bit i: args[i] is a secret (common/secret.h memory) */
    const char *file;  /* owned by the sg_cfg */
    int line;
} sg_cfg_block;

typedef struct sg_cfg {
    sg_cfg_block *servers;   /* server blocks, in file order */
    int nservers;
    int cap_servers;
    sg_cfg_block *global;    /* leading "{ ... }" options block, or NULL */
    char **files;            /* names of the files read, for file:line */
    int nfiles;
} sg_cfg;

/* Parse a config file. On a syntax error logs "FILE:LINE: message" and returns
 * SG_ESYNTAX (or SG_EIO if it cannot be read). *cfg_out is freed with sg_cfg_free. */
int sg_cfg_parse_file(const char *path, sg_cfg **cfg_out);
/* Parse config text held in memory; name is used in error messages. */
int sg_cfg_parse_string(const char *text, const char *name, sg_cfg **cfg_out);
void sg_cfg_free(sg_cfg *cfg);
/* A deep copy (file names included); NULL when out of memory. A zone-only reload builds a
 * new runtime from a copy of the running configuration, so that edits made to the file
 * since are not applied half-way by it. */
sg_cfg *sg_cfg_dup(const sg_cfg *cfg);

/* Log "FILE:LINE: message" at error level for a directive. Returns SG_ESYNTAX. */
int sg_cfg_error(const sg_cfg_block *blk, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a duration "30", "30s", "5m", "2h", "7d", "1w" into seconds. 0 or SG_ESYNTAX. */
int sg_cfg_parse_duration(const char *s, uint64_t *secs_out);
/* Parse a size in bytes: digits with an optional K, M or G suffix (either case, powers of
 * 1024), as "100000", "512K", "64M", "2G". At most 1T. 0 or SG_ESYNTAX. */
int sg_cfg_parse_size(const char *s, uint64_t *bytes_out);
/* Write bytes back in that form: "1M" when it is a whole number of M, else "1536K", else
 * "1000" (cap: 24 is enough). Returns buf. */
const char *sg_cfg_format_size(uint64_t bytes, char *buf, size_t cap);
/* Parse an unsigned integer in [min, max]. 0 or SG_ESYNTAX. */
int sg_cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
