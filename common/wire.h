/* SPDX-License-Identifier: MIT */
/* DNS messages on the wire: parsing queries and rendering replies with compression. */
#ifndef SG_WIRE_H
#define SG_WIRE_H

#include "common/query.h"

#define SG_HEADER_LEN 12
#define SG_FLAG_QR 0x8000
#define SG_FLAG_AA 0x0400
#define SG_FLAG_TC 0x0200
#define SG_FLAG_RD 0x0100
#define SG_FLAG_RA 0x0080
#define SG_FLAG_AD 0x0020
#define SG_FLAG_CD 0x0010
#define SG_EDNS_DO 0x8000
#define SG_EDNS_EDE 15   /* Extended DNS Error option (RFC 8914) */
#define SG_OPCODE_NOTIFY 4
#define SG_OPCODE_UPDATE 5

enum sg_parse_result {
    SG_PARSE_OK = 0,   /* a query to answer */
    SG_PARSE_DROP,     /* not worth a reply (too short, or a response) */
    SG_PARSE_ERROR,    /* answer at once with q->rcode (FORMERR, NOTIMP, BADVERS) */
};

/* Parse pkt into q (request fields, EDNS). max_udp is the server's payload limit.
 * Never reads past len. */
enum sg_parse_result sg_wire_parse_query(sg_query *q, const uint8_t *pkt, size_t len,
                                         uint16_t max_udp);

/* Render q's reply into q->out (q->out_cap bytes), honouring q->max_size: an answer or
 * authority RRset that does not fit gives TC=1 and empty sections. The OPT record comes
 * last (at q->opt_at), with q's Extended DNS Error when it has one. Sets q->out_len. */
void sg_wire_render(sg_query *q);

#endif
