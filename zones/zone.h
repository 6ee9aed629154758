/* SPDX-License-Identifier: MIT */
/* Zone data in memory: nodes in canonical order with a hash index, built once, read by
 * every worker without locks, freed only when no worker can still see it. */
#ifndef SG_ZONE_H
#define SG_ZONE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "common/arena.h"
#include "common/attach.h"
#include "common/query.h"
#include "common/rrset.h"

#define SG_NODE_DELEG    0x01 /* has NS and is not the apex: a zone cut */
#define SG_NODE_NONAUTH  0x02 /* strictly below a zone cut: glue or occluded data */
#define SG_NODE_WILDCARD 0x04 /* its first label is "*" */

typedef struct sg_node {
    const uint8_t *name;           /* lower-case wire form */
    uint8_t name_len;
    uint8_t labels;
    uint16_t flags;
    uint16_t nrrsets;              /* 0: an empty non-terminal */
    const sg_rrset *rrsets;        /* sorted by type */
    const struct sg_node *parent;  /* NULL for the apex */
    const struct sg_node *wildcard;/* the "*.<this>" node, if any */
    const struct sg_node *cut;     /* for DELEG and NONAUTH nodes: the zone cut */
    uint32_t index;                /* position in canonical order */
} sg_node;

typedef struct sg_zone {
    uint8_t apex[SG_NAME_MAX];
    uint8_t apex_len;
    uint8_t apex_labels;
    const char *apex_str;          /* presentation form, in mem */
    const sg_node *apex_node;
    sg_node *nodes;                /* all names, ENTs included, canonical order */
    size_t nnodes;
    uint32_t *slots;               /* hash index: node index + 1, 0 is empty */
    size_t slot_mask;
    const sg_rrset *soa;
    uint32_t serial;
    uint32_t neg_ttl;              /* min(SOA TTL, SOA MINIMUM) for negative answers */
    uint32_t max_ttl;              /* the largest TTL of any RRset (for key rollover timing) */
    size_t nrecords;
    uint64_t gen;                  /* unique per loaded version, never reused */
    int db_refs;                   /* zonedb's references, under its lock; 0: not in it */
    /* what plugins prepared for this version before it was published (the dnssec
     * plugin's denial chain), one slot per plugin (common/attach.h, sg_plugin.prepare);
     * freed with the zone */
    sg_attach attach[SG_ATTACH_MAX];
    sg_arena mem;
    /* where it came from (the file and every $INCLUDE), so that a reload skips a zone
     * none of whose files changed */
    char *path;
    struct sg_zone_file {
        char *path;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
    } *files;
    int nfiles;
    time_t loaded_at;
} sg_zone;

/* Exact lookup of a lower-case wire name of length len; NULL if absent. */
static inline const sg_node *sg_zone_find(const sg_zone *z, const uint8_t *name, size_t len)
{
    size_t i = sg_name_hash(name, len) & z->slot_mask;
    for (;;) {
        uint32_t s = z->slots[i];
        if (!s)
            return NULL;
        const sg_node *n = &z->nodes[s - 1];
        if (n->name_len == len && memcmp(n->name, name, len) == 0)
            return n;
        i = (i + 1) & z->slot_mask;
    }
}

/* The RRset of a type at a node, or NULL. */
static inline const sg_rrset *sg_node_rrset(const sg_node *n, uint16_t type)
{
    for (uint16_t i = 0; i < n->nrrsets; i++)
        if (n->rrsets[i].type == type)
            return &n->rrsets[i];
    return NULL;
}

void sg_zone_free(sg_zone *z);

/* ---- building a zone (from a master file, later from a transfer) --------------------- */

typedef struct sg_zone_builder sg_zone_builder;
struct sg_phases;

/* Start a zone with the given apex (wire form). Returns NULL when out of memory. */
sg_zone_builder *sg_zone_builder_new(const uint8_t *apex);
/* Add one record (owner lower-case wire name, canonical RDATA). file/line are for errors
 * (file must outlive the builder). Returns 0, or SG_EZONE after logging "file:line: why". */
int sg_zone_builder_add(sg_zone_builder *b, const uint8_t *owner, uint16_t type,
                        uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
                        uint16_t rdlen, const char *file, unsigned line);
/* Check the zone (SOA, apex NS, CNAME conflicts) and index it. Frees the builder.
 * Returns 0 and *zone_out, or SG_EZONE (errors logged with file:line). */
int sg_zone_builder_finish(sg_zone_builder *b, sg_zone **zone_out);
/* Sort on this many threads in sg_zone_builder_finish (default one) and append its time
 * as phase "sort" to phases (NULL: not timed). */
void sg_zone_builder_set_threads(sg_zone_builder *b, int threads, struct sg_phases *phases);
void sg_zone_builder_free(sg_zone_builder *b);

/* Serve z with the SOA serial `serial` instead of its file's: rewrites the SOA RDATA and
 * z->serial, so that every answer (SOA queries, the SOA of negative answers, the RRSIG the
 * signer makes over it, transfers) carries the same serial. Only for a zone nobody else
 * sees yet (before it is published). 0, or SG_EINVAL when z has no well-formed SOA. */
int sg_zone_set_serial(sg_zone *z, uint32_t serial);

/* ---- master files ------------------------------------------------------------------ */

/* Load an RFC 1035 master file for the zone apex (presentation form). Errors are logged
 * as "file:line: message". Returns 0 and *zone_out, or SG_EIO / SG_ESYNTAX / SG_EZONE. */
int sg_zone_load_file(const char *path, const char *apex, sg_zone **zone_out);
/* The same with a bound on the zone's text (the file and its $INCLUDEs; 0: none). Only
 * regular files are read: a FIFO, a device or a directory is refused (SG_EIO, the reason
 * logged), as is text past max_size. */
#define SG_ZONE_FILE_MAX_DEFAULT (1024ull * 1024 * 1024)
int sg_zone_load_file_max(const char *path, const char *apex, uint64_t max_size, sg_zone **zone_out);

/* How a big file is loaded: by several threads, with times per phase. */
typedef struct sg_zone_load_opts {
    uint64_t max_size;          /* as sg_zone_load_file_max (0: none) */
    int threads;                /* parse and sort on this many threads (0 or 1: one) */
    struct sg_phases *phases;   /* NULL, or "parse" and "sort" (common/phase.h) appended */
} sg_zone_load_opts;
/* sg_zone_load_file_max with options; the zone is the same whatever the threads. */
int sg_zone_load_file_opts(const char *path, const char *apex, const sg_zone_load_opts *o,
                           sg_zone **zone_out);

/* Write z as a master file at path, atomically (a temporary file renamed over it).
 * Returns 0, or SG_EIO (logged with the path). */
int sg_zone_write_file(const sg_zone *z, const char *path);

/* Each record of z as one presentation line (ldns's form: owner, TTL, class, type, RDATA
 * separated by tabs, ending in a newline), the SOA first, then in canonical order. fn may
 * modify line (it is freed after the call); its non-zero return stops the walk and is
 * returned. 0, SG_EINVAL, SG_EMALFORMED or SG_ENOMEM otherwise. */
int sg_zone_each_record_text(const sg_zone *z, int (*fn)(void *arg, uint16_t type, char *line),
                             void *arg);

/* ---- answers ----------------------------------------------------------------------- */

/* Answer q from z with authoritative semantics: fills q's sections, rcode, aa and the
 * facts (kind, node, encloser). q->qname must be in the zone. */
void sg_zone_answer(const sg_zone *z, sg_query *q);
/* For zone sources holding several zones: non-zero when z answers q better than best
 * (NULL: none yet): the longest zone holding the name, except that the DS at a zone's
 * apex belongs to the parent zone when the parent is served too. */
int sg_zone_better_match(const sg_zone *z, const sg_zone *best, const sg_query *q);

#endif
