/* SPDX-License-Identifier: MIT */
/* RFC 9615 bootstrapping signals: the child zones whose CDS/CDNSKEY are signalled, and
 * the records `_dsboot.CHILD._signal.NS` a nameserver's zone carries for them. */
#ifndef SG_SIGNAL_H
#define SG_SIGNAL_H

#include "common/arena.h"
#include "common/rrset.h"
#include "zones/zone.h"

/* Where a signalled child's CDS and CDNSKEY come from (the key side: the `dnssec`
 * plugin's key sets). records copies the child's current RRsets into mem (counts 0 when
 * not published); 0, or SG_ENOTFOUND when the child has no key set (yet). Called on a
 * zone builder's thread with the registry's lock held: quick, no I/O. */
typedef struct sg_signal_source {
    int (*records)(const void *self, const uint8_t *child, sg_arena *mem, sg_rrset *cds_out,
                   sg_rrset *cdnskey_out);
    const void *self;
} sg_signal_source;

/* Signal child (wire form) with src from now on (a second registration of the same child
 * replaces the first: a reload's new instance takes over). 0, SG_EINVAL or SG_ENOMEM. */
int sg_signal_register(const uint8_t *child, const sg_signal_source *src);
/* Stop signalling child, if it is still registered with self (an instance replaced by a
 * reload leaves its successor's registration alone). Waits for a records call in
 * progress, so self may be freed afterwards. */
void sg_signal_unregister(const uint8_t *child, const void *self);

/* A number that changes whenever what sg_signal_collect gives any zone could change: the
 * registered children, the newest version of each (its NS set), their CDS and CDNSKEY.
 * O(children): a zone builder looks at it every second and collects only when it moved. */
uint64_t sg_signal_state(void);

/* The owner name `_dsboot.CHILD._signal.NS` (RFC 9615 section 2.1: every label of the
 * child, then `_signal`, then the nameserver's name), lower-case, into out. 0, or
 * SG_EINVAL when it would be longer than 255 octets. */
int sg_signal_owner(const uint8_t *child, const uint8_t *ns, uint8_t out[SG_NAME_MAX]);

/* One record to add to a nameserver's zone. */
typedef struct sg_signal_rr {
    const uint8_t *owner;
    uint16_t type;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata;
} sg_signal_rr;

/* The signal records of one nameserver zone (memory in mem). */
typedef struct sg_signal_set {
    sg_arena mem;
    sg_signal_rr *rr;
    size_t n, cap;
    uint64_t fingerprint;   /* of the records; 0 when there are none */
} sg_signal_set;

/* The records zone base must carry: for each registered child C whose newest version
 * (zonedb) has an apex NS target N inside base, not inside C itself (an in-bailiwick
 * server's zone is the child: RFC 9615 section 3) and not at or below a zone cut of
 * base, C's CDS and CDNSKEY at `_dsboot.C._signal.N`. A child without CDS/CDNSKEY, or
 * with the RFC 8078 delete form (nothing to bootstrap), gives none. Fills *out (free with
 * sg_signal_set_deinit, also on failure). 0 or SG_ENOMEM. */
int sg_signal_collect(const sg_zone *base, sg_signal_set *out);
void sg_signal_set_deinit(sg_signal_set *s);

/* A new version: every record of base, then those of s, built and checked as a file's
 * (its serial is base's; the caller sets the one to serve). 0 and *zone_out (not in
 * zonedb yet), or the builder's error. */
int sg_signal_apply(const sg_zone *base, const sg_signal_set *s, sg_zone **zone_out);

#endif
