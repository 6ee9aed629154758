/* SPDX-License-Identifier: MIT */
/* One record as a master-file line, fast, for whole signed zones. */
#ifndef SG_ZONETEXT_H
#define SG_ZONETEXT_H

#include <stddef.h>
#include <stdint.h>

/* Write "owner<TAB>ttl<TAB>IN<TAB>TYPE<TAB>rdata\n" into buf. Types Signet signs with are
 * written in their usual presentation; any other in RFC 3597 form. Returns the length, or
 * 0 when cap is too small. */
size_t sg_zonetext_rr(char *buf, size_t cap, const uint8_t *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rdata, uint16_t rdlen);

#endif
