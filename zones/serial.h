/* SPDX-License-Identifier: MIT */
/* RFC 1982 serial number arithmetic for SOA serials: which of two versions is newer. */
#ifndef SG_SERIAL_H
#define SG_SERIAL_H

#include <stdint.h>

/* Compare SOA serials a and b (RFC 1982 section 3.2, SERIAL_BITS 32).
 * Returns -1 when a precedes b, 0 when equal, 1 when a follows b, and 2 when the
 * comparison is undefined (the two are exactly 2^31 apart): a secondary must then not
 * assume either is newer. */
static inline int sg_serial_cmp(uint32_t a, uint32_t b)
{
    if (a == b)
        return 0;
    uint32_t d = b - a; /* modulo 2^32 */
    if (d == 0x80000000u)
        return 2;
    return d < 0x80000000u ? -1 : 1;
}

/* Is serial a newer than b? (false when undefined) */
static inline int sg_serial_newer(uint32_t a, uint32_t b) { return sg_serial_cmp(a, b) == 1; }

#endif
