/* SPDX-License-Identifier: MIT */
/* One UPDATE message (RFC 2136) against a zone version: the prerequisites (3.2), the
 * checks of the update section (3.4.1) and its application (3.4.2), all or nothing, as
 * an RFC 1995 difference and the new version it makes. */
#ifndef SG_UPD_APPLY_H
#define SG_UPD_APPLY_H

#include <ldns/ldns.h>

#include "update/policy.h"
#include "zones/serial.h"
#include "zones/zone.h"

/* RFC 2136 rcodes beyond common/query.h's */
enum {
    SG_RCODE_YXDOMAIN = 6,
    SG_RCODE_YXRRSET = 7,
    SG_RCODE_NXRRSET = 8,
    SG_RCODE_NOTZONE = 10,
};

/* Evaluate the UPDATE pkt (already authenticated with the key of index key in pol) on
 * base. Returns the rcode to answer with: NOERROR with *diff_out the difference (SOA new,
 * SOA old, deletions, SOA new, additions, SOA new; caller frees with
 * ldns_rr_list_deep_free) and *zone_out the new version (caller owns; not prepared, not
 * published), both NULL when the update changes nothing (RFC 2136 3.4.2.7: no new
 * serial); FORMERR, NOTZONE, REFUSED, the prerequisite rcodes, or SERVFAIL, with the
 * reason in why. The new SOA serial: the policy's next after base's, or the serial of an
 * SOA the update adds when that is newer. */
int sg_upd_apply(const sg_zone *base, const ldns_pkt *pkt, const sg_upd_policy *pol, int key,
                 enum sg_serial_policy serial, int64_t now, sg_zone **zone_out,
                 ldns_rr_list **diff_out, char *why, size_t why_cap);

/* Apply a difference made by sg_upd_apply (e.g. read back from the journal) to base:
 * 0 and *zone_out, or SG_EZONE when it does not apply (why says where). */
int sg_upd_replay(const sg_zone *base, ldns_rr_list *diff, sg_zone **zone_out, char *why,
                  size_t why_cap);

/* Many journaled differences applied in one build (a restart after thousands of updates
 * to a large zone builds it once, not once per update). Caller-owned; _init, _add each
 * difference oldest first, _finish (which also frees what _add gathered). */
typedef struct sg_upd_replay_set {
    ldns_rr_list *all;   /* the differences' records, the outer SOAs left out */
    ldns_rr *last_soa;   /* the newest difference's new SOA */
    uint32_t first, last;
    int n;
    int failed;
} sg_upd_replay_set;

void sg_upd_replay_init(sg_upd_replay_set *r);
/* One difference in text (sg_upd_diff_text) from serial `from` to `to`. 0, or SG_EZONE
 * when it does not follow the one before it or cannot be read (why says which). */
int sg_upd_replay_add(sg_upd_replay_set *r, uint32_t from, uint32_t to, const char *text, char *why,
                      size_t why_cap);
/* Apply them all to base: 0 and *zone_out (serial: the last `to`), SG_ENOTFOUND when
 * none were added, SG_EZONE (why) when they do not start at base's serial or do not
 * apply. Frees what was gathered in every case. */
int sg_upd_replay_finish(sg_upd_replay_set *r, const sg_zone *base, sg_zone **zone_out, char *why,
                         size_t why_cap);

/* A difference as text (one record per line, ldns's presentation form), and back. The
 * text is malloc'd (NULL when out of memory); parse returns 0 or SG_EMALFORMED. */
char *sg_upd_diff_text(const ldns_rr_list *diff);
int sg_upd_diff_parse(const char *text, ldns_rr_list **diff_out);

#endif
