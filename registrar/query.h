/* SPDX-License-Identifier: MIT */
/* One authoritative question to one server: the parent check (the DS RRset) and
 * `zone adopt` (the old server's SOA and DNSKEY RRset) ask the same way. */
#ifndef SG_REG_QUERY_H
#define SG_REG_QUERY_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

/* Ask server ("ADDR", "ADDR:PORT", "[V6]:PORT") for zone/type, without recursion, with
 * DNSSEC records, over UDP and again over TCP when truncated. The answer must be
 * authoritative (AA, NOERROR): a referral or an error is SG_EIO with the reason in err
 * ("not authoritative", "rcode REFUSED", "no answer (...)"). *rrs_out gets the answer's
 * records of that type owned by zone (may be empty; the caller frees it with
 * ldns_rr_list_deep_free), *ttl_out (may be NULL) their largest TTL. */
int sg_reg_auth_query(const char *server, const char *zone, ldns_rr_type type,
                      uint32_t timeout_ms, ldns_rr_list **rrs_out, uint32_t *ttl_out, char *err,
                      size_t cap);

#endif
