/* SPDX-License-Identifier: MIT */
/* The client side of zone transfers: SOA serial queries (UDP, TCP when truncated) and
 * AXFR/IXFR over TCP (RFC 5936, RFC 1995), signed and checked with TSIG (RFC 8945). */
#ifndef SG_XFR_IN_H
#define SG_XFR_IN_H

#include <ldns/ldns.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "secondary/ixfr.h"
#include "tsig/tsig.h"

/* A primary server. */
typedef struct sg_xfr_peer {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80];       /* "192.0.2.1:53", "[2001:db8::1]:53" */
} sg_xfr_peer;

/* Parse "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address (port 53 when absent).
 * Returns 0, or SG_ESYNTAX. */
int sg_xfr_parse_peer(const char *s, sg_xfr_peer *out);
/* Same host (address and family), whatever the port: NOTIFY comes from any port. */
int sg_xfr_peer_host_eq(const sg_xfr_peer *p, const struct sockaddr *sa, socklen_t len);

/* Every network wait lasts at most timeout_ms, and ends early once *cancel (may be NULL)
 * is set (a stopping task): the call then fails with SG_EIO. */

/* Ask the primary for the SOA serial of apex (wire). key may be NULL. Returns 0 and
 * *serial_out, or SG_EIO (timeout, refused, no answer) / SG_EMALFORMED / SG_EZONE (not
 * authoritative) with the reason in why. */
int sg_xfr_query_soa(const sg_xfr_peer *p, const uint8_t *apex, const sg_tsig_key *key,
                     int timeout_ms, const atomic_int *cancel, uint32_t *serial_out, char *why,
                     size_t why_cap);

/* What one transfer may make us hold, so that a broken or hostile primary cannot exhaust
 * memory. 0 means no bound. */
typedef struct sg_xfr_limits {
    uint64_t max_bytes;    /* the DNS messages received, and their records uncompressed */
    uint64_t max_records;  /* answer records */
} sg_xfr_limits;

/* Transfer apex over TCP: IXFR from ours (an SOA record, canonical wire RDATA) when ours
 * is given, else AXFR. timeout_ms bounds each read. lim (may be NULL: no bounds) is
 * checked before each message is read and after each record is kept: going over it ends
 * the transfer at once (connection closed, records freed) with SG_ESPACE and why saying
 * which bound and how far it got. On success *rrs_out holds every answer record in order
 * (caller frees with ldns_rr_list_deep_free) and *msgs_out how many messages carried it.
 * *kind_out tells what the response was, or on failure what it looked like so far
 * (SG_XFR_UNKNOWN before its second record). Errors as above. */
int sg_xfr_fetch(const sg_xfr_peer *p, const uint8_t *apex, const sg_rrset *ours,
                 const sg_tsig_key *key, int timeout_ms, const atomic_int *cancel,
                 const sg_xfr_limits *lim, ldns_rr_list **rrs_out, int *kind_out, size_t *msgs_out,
                 char *why, size_t why_cap);

#endif
