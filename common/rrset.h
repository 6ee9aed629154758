/* SPDX-License-Identifier: MIT */
/* An RRset as the server holds it: type, TTL and pre-rendered RDATA in wire form. */
#ifndef SG_RRSET_H
#define SG_RRSET_H

#include <stdint.h>

enum {
    SG_TYPE_A = 1, SG_TYPE_NS = 2, SG_TYPE_CNAME = 5, SG_TYPE_SOA = 6, SG_TYPE_PTR = 12,
    SG_TYPE_HINFO = 13, SG_TYPE_MX = 15, SG_TYPE_TXT = 16, SG_TYPE_AAAA = 28,
    SG_TYPE_SRV = 33, SG_TYPE_DNAME = 39, SG_TYPE_OPT = 41, SG_TYPE_DS = 43,
    SG_TYPE_RRSIG = 46, SG_TYPE_NSEC = 47, SG_TYPE_DNSKEY = 48, SG_TYPE_NSEC3 = 50,
    SG_TYPE_NSEC3PARAM = 51, SG_TYPE_TLSA = 52, SG_TYPE_CDS = 59, SG_TYPE_CDNSKEY = 60,
    SG_TYPE_SVCB = 64, SG_TYPE_HTTPS = 65,
    SG_TYPE_TSIG = 250, SG_TYPE_IXFR = 251, SG_TYPE_AXFR = 252, SG_TYPE_MAILB = 253,
    SG_TYPE_MAILA = 254, SG_TYPE_ANY = 255,
};
enum { SG_CLASS_IN = 1, SG_CLASS_CH = 3, SG_CLASS_NONE = 254, SG_CLASS_ANY = 255 };

/* RDATA blob layout: count records, each [uint16 rdlength, network order][rdata],
 * in canonical (RFC 4034 6.3) order, embedded names lower-cased (RFC 4034 6.2). */
typedef struct sg_rrset {
    uint16_t type;
    uint16_t count;
    uint32_t ttl;
    uint32_t rdata_len;
    const uint8_t *rdata;
} sg_rrset;

/* Iterate records: for (p = rrset->rdata, i = 0; i < count; i++, p += 2 + rdlen(p)) */
static inline uint16_t sg_rdlen(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#endif
