/* SPDX-License-Identifier: MIT */
/* SOA serials: RFC 1982 arithmetic (which of two versions is newer), the serial policies
 * (keep, increment, unixtime, dateserial) that choose a new version's serial, the floor a
 * served serial must follow, and the small state file that keeps a served serial across
 * restarts. Used by the `file` plugin (served serials of zone files) and by `transfer`
 * (serials of signed versions). */
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

/* ---- policies (serial.c) ------------------------------------------------------------ */

enum sg_serial_policy {
    SG_SERIAL_KEEP = 0,   /* the zone file's serial (last + 1 when it did not move) */
    SG_SERIAL_INCREMENT,  /* last + 1 */
    SG_SERIAL_UNIXTIME,   /* seconds since the epoch */
    SG_SERIAL_DATESERIAL, /* YYYYMMDDnn */
};

/* "keep", "increment", "unixtime", "dateserial" -> policy; 0 or SG_EINVAL. */
int sg_serial_policy_parse(const char *s, enum sg_serial_policy *out);
/* The policy's name ("keep", ...); "?" for a value out of range. */
const char *sg_serial_policy_name(enum sg_serial_policy p);
/* The serial of a new version: the policy's candidate from the zone file's serial and
 * now, moved to last + 1 when it would not be greater than last (RFC 1982): serials never
 * go backwards. have_last 0: no version was served yet. */
uint32_t sg_serial_next(enum sg_serial_policy p, int have_last, uint32_t last,
                        uint32_t file_serial, int64_t now);
/* A serial that must follow a floor (the serial a zone's previous server served): s when
 * it is newer than floor (RFC 1982), else floor + 1. has_floor 0: s. */
uint32_t sg_serial_above_floor(uint32_t s, int has_floor, uint32_t floor);

/* ---- the served serial of a zone file, across restarts (serial.c) ------------------- */

/* What the state file records: the zone file's serial and the serial served for it. */
typedef struct sg_serial_state {
    int have;            /* 0: nothing recorded (no file, or an unreadable one) */
    uint32_t file;
    uint32_t served;
} sg_serial_state;

/* The serial to serve for a zone file whose SOA says file_serial, given what was recorded
 * (st, NULL or have 0: nothing) and the floor (has_floor 0: none):
 *   - the same file serial as recorded serves the recorded served serial again (while
 *     that is above the floor);
 *   - otherwise the policy's next serial after the recorded one (sg_serial_next), never
 *     at or below the recorded served serial nor the floor.
 * With nothing recorded, no floor and SG_SERIAL_KEEP this is file_serial. */
uint32_t sg_serial_serve(enum sg_serial_policy p, const sg_serial_state *st, int has_floor,
                         uint32_t floor, uint32_t file_serial, int64_t now);

/* Read a state file ("file N\nserved M\n"): 0 and *st_out; SG_ENOTFOUND when there is
 * none, SG_EMALFORMED when it is not one (st_out->have is 0 in both cases). */
int sg_serial_state_load(const char *path, sg_serial_state *st_out);
/* Write it atomically (path.tmp, fsync, renamed over path). 0, or SG_EIO with errno set
 * (the caller logs it). */
int sg_serial_state_save(const char *path, const sg_serial_state *st);

#endif
