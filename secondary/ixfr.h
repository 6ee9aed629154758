/* SPDX-License-Identifier: MIT */
/* Incoming zone transfers as data: where an AXFR or IXFR response ends (RFC 5936 2.2,
 * RFC 1995 4), and turning its records into a new zone version, either the whole zone or
 * the base version with the differences applied. */
#ifndef SG_IXFR_H
#define SG_IXFR_H

#include <ldns/ldns.h>

#include "zones/zone.h"

/* What a transfer response turned out to be. */
enum sg_xfr_kind {
    SG_XFR_UNKNOWN = -1,   /* not enough records seen yet */
    SG_XFR_UPTODATE = 0,   /* one SOA, not newer than ours: nothing to do */
    SG_XFR_FULL = 1,       /* the whole zone, SOA ... SOA (AXFR, or IXFR answered AXFR-style) */
    SG_XFR_INCREMENTAL = 2,/* differences, RFC 1995 */
};

/* Follows a response record by record to find its last record and check its shape. */
typedef struct sg_xfr_track {
    int ixfr;          /* the question was IXFR */
    uint32_t ours;     /* IXFR: the serial of the version we have */
    size_t n;          /* records seen */
    uint32_t first;    /* serial of the first SOA: the version being sent */
    int kind;          /* enum sg_xfr_kind */
    int adding;        /* incremental: inside the additions of a difference */
    uint32_t cur;      /* incremental: the version the current difference leads to */
    int done;
} sg_xfr_track;

/* Start following a response; ixfr says what was asked, ours is the serial we sent. */
void sg_xfr_track_init(sg_xfr_track *t, int ixfr, uint32_t ours);
/* Feed one answer record (its type, and the serial when it is an SOA). Returns 1 when it
 * was the last record of the response, 0 to go on, SG_EMALFORMED when the sequence is not
 * a valid response (no SOA first, a record after the end, differences that do not chain,
 * a full zone ending with another serial). */
int sg_xfr_track_rr(sg_xfr_track *t, uint16_t type, uint32_t soa_serial);
/* Call at the end of each message: returns 1 when the response is complete there (a lone
 * SOA answering IXFR that is not newer than ours), else t->done. */
int sg_xfr_track_message_end(sg_xfr_track *t);

/* The serial of an SOA record (0 for anything else). */
uint32_t sg_xfr_soa_serial(const ldns_rr *rr);

/* Build the zone apex (wire) from a full response's records (first and last SOA
 * included). source names the primary in error messages ("AXFR from 192.0.2.1:53").
 * The records are made canonical in place. Returns 0 and *zone_out, or SG_EZONE (the
 * builder's checks, as for a file; errors logged with source and record number). */
int sg_xfr_build_full(const uint8_t *apex, ldns_rr_list *rrs, const char *source,
                      sg_zone **zone_out);

/* Apply an incremental response (every answer record, in order) to base. Each difference
 * must start at the version before it and delete only records that are there; any
 * inconsistency gives SG_EZONE with the reason in why (the caller then asks AXFR). The
 * records are made canonical in place. Returns 0 and the new version in *zone_out. */
int sg_ixfr_apply(const sg_zone *base, ldns_rr_list *rrs, const char *source,
                  sg_zone **zone_out, char *why, size_t why_cap);

/* The size of z's records as an AXFR without name compression would carry them (each
 * record once, the closing SOA not counted): what max-size holds a zone to. */
uint64_t sg_xfr_zone_bytes(const sg_zone *z);

#endif
