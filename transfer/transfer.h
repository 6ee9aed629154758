/* SPDX-License-Identifier: MIT */
/* Outgoing zone transfers: signed zone versions, their serials, the IXFR journal, the
 * per-zone transfer state shared across reloads, NOTIFY, and the `transfer` plugin. */
#ifndef SG_TRANSFER_H
#define SG_TRANSFER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/arena.h"
#include "common/plugin.h"
#include "common/rrset.h"
#include "signer/keyset.h"
#include "transfer/xfrsched.h"
#include "tsig/tsig.h"
#include "zones/serial.h"
#include "zones/zone.h"

extern const sg_plugin sg_plugin_transfer;

/* Serial numbers and their policies (sg_serial_next, enum sg_serial_policy) are in
 * zones/serial.h: the `file` plugin uses them too. */

/* ---- signed versions (snapshot.c) --------------------------------------------------- */

/* One record of a version. Names and RDATA are in canonical form (lower case). */
typedef struct sg_xfr_rr {
    const uint8_t *owner;
    const uint8_t *rdata;
    uint32_t ttl;
    uint16_t type;
    uint16_t rdlen;
} sg_xfr_rr;

/* One version of a zone as transferred: every record in canonical order (an RRset's
 * records, then its RRSIGs), with the version's SOA. Immutable, reference counted. */
typedef struct sg_xfr_snap {
    atomic_int refs;
    uint32_t serial;
    uint64_t zone_gen;       /* the zone version it was made from */
    uint64_t key_fp;         /* the key set's fingerprint (0: unsigned) */
    uint64_t zsk_fp, ksk_fp; /* which keys sign (signatures are reused while they do) */
    uint32_t resign_at;      /* when the first signature needs refreshing (0: never) */
    _Atomic uint32_t min_expiry_; /* sg_xfr_snap_min_expiry's answer, once asked (0: not yet) */
    int denial;              /* enum sg_ks_denial of the signed form; -1 unsigned */
    sg_xfr_rr *rrs;
    size_t n, cap_;
    size_t soa_index;        /* rrs[soa_index] is the SOA */
    size_t bytes;            /* wire size estimate of all records */
    uint32_t *idx;           /* (owner, type) -> first record + 1, for signature reuse */
    size_t idx_mask;
    sg_arena mem;
} sg_xfr_snap;

/* Build a version of z: signed with k when k has signing keys (k NULL: unsigned), with
 * the SOA serial given. Signatures of RRsets that are identical in prev (same key set,
 * not due for refresh at now) are taken from prev, so that successive versions differ
 * only where the data or keys did. Returns 0 and *out (one reference), or SG_E*. */
int sg_xfr_snap_build(const sg_zone *z, const sg_keyset *k, const sg_xfr_snap *prev,
                      uint32_t serial, uint32_t now, sg_xfr_snap **out);
/* Build the (owner, type) index of a version whose records were filled in by hand (a
 * version read back from disk). 0 or SG_ENOMEM. */
int sg_xfr_snap_index(sg_xfr_snap *s);
void sg_xfr_snap_ref(sg_xfr_snap *s);
/* The earliest RRSIG expiration in the version (unix time, 32 bits; 0: unsigned). Scans
 * the version once (also one read back from disk) and remembers the answer. */
uint32_t sg_xfr_snap_min_expiry(sg_xfr_snap *s);
/* Drop a reference; frees with the last. NULL does nothing. */
void sg_xfr_snap_unref(sg_xfr_snap *s);
/* Canonical order of records (owner, type, RDATA, TTL); for diffs and tests. */
int sg_xfr_rr_cmp(const sg_xfr_rr *a, const sg_xfr_rr *b);

/* ---- the IXFR journal (journal.c) --------------------------------------------------- */

/* The difference between two successive versions: RFC 1995's deleted and added records,
 * SOAs not included (the stream writes them). Immutable, reference counted. */
typedef struct sg_xfr_diff {
    atomic_int refs;
    uint32_t from, to;       /* serials */
    sg_xfr_rr soa_from, soa_to;
    sg_xfr_rr *del, *add;
    size_t ndel, nadd;
    size_t bytes;
    int64_t at;              /* when it was made */
    sg_arena mem;
} sg_xfr_diff;

/* The difference from a to b (both of the same zone). Returns 0 and *out or SG_ENOMEM. */
int sg_xfr_diff_make(const sg_xfr_snap *a, const sg_xfr_snap *b, int64_t now,
                     sg_xfr_diff **out);
void sg_xfr_diff_unref(sg_xfr_diff *d);

/* Successive diffs, oldest first, bounded in bytes and age. Thread-safe. */
typedef struct sg_xfr_journal {
    pthread_mutex_t lock;
    sg_xfr_diff **d;
    size_t n, cap;
    size_t bytes;
    size_t max_bytes;        /* 0: no IXFR at all */
    int64_t max_age;         /* seconds; 0: no age limit */
} sg_xfr_journal;

void sg_xfr_journal_init(sg_xfr_journal *j, size_t max_bytes, int64_t max_age);
void sg_xfr_journal_deinit(sg_xfr_journal *j);
/* Drop every diff. */
void sg_xfr_journal_clear(sg_xfr_journal *j);
/* Append a diff (the journal takes the reference) and drop the oldest until within the
 * bounds at now. A diff that does not follow the last one (from != last to) clears the
 * journal first. */
void sg_xfr_journal_add(sg_xfr_journal *j, sg_xfr_diff *d, int64_t now);
/* The chain of diffs from serial `from` to serial `to`: references in *out (caller unrefs
 * each and frees the array), count in *n_out. SG_ENOTFOUND when the journal cannot bridge
 * them (the requester gets AXFR), 0 otherwise (n 0 when from == to). */
int sg_xfr_journal_chain(sg_xfr_journal *j, uint32_t from, uint32_t to, int64_t now,
                         sg_xfr_diff ***out, size_t *n_out);

/* ---- the current version and journal on disk (persist.c) -------------------------- */

/* Write version s and the journal j to path (atomically: a temporary file renamed).
 * 0, or SG_EIO (logged by the caller). */
int sg_xfr_persist_save(const char *path, const sg_xfr_snap *s, sg_xfr_journal *j);
/* Read them back: the version in *snap_out (one reference) and the journal's diffs added
 * to j (those older than its age bound dropped at now). SG_ENOTFOUND when there is no
 * file, SG_EMALFORMED when it is not one of ours or truncated (nothing is added then). */
int sg_xfr_persist_load(const char *path, sg_xfr_journal *j, int64_t now,
                        sg_xfr_snap **snap_out);

/* ---- per-zone transfer state, shared across reloads (xfrzone.c) --------------------- */

#define SG_XFR_MAX_PEERS 32

typedef struct sg_xfr_net {
    struct sockaddr_storage addr;
    int prefix;              /* bits; -1 for "any" */
} sg_xfr_net;

/* A `transfer` block, parsed. */
typedef struct sg_xfr_cfg {
    sg_xfr_net to[SG_XFR_MAX_PEERS];
    int nto;
    char key[SG_NAME_MAX * 4 + 2]; /* TSIG key name ("" none) */
    struct sockaddr_storage notify[SG_XFR_MAX_PEERS];
    int nnotify;
    enum sg_serial_policy serial;
    size_t journal_bytes;
    int64_t journal_age;
    int compact_as_nsec;     /* transfer compact-denial zones with a real NSEC chain */
    char state_dir[1024];    /* where the last served serial is kept ("" : see README) */
    char catalog[SG_NAME_MAX * 4 + 2]; /* the catalog zone to publish ("" : none) */
    char catalog_group[256]; /* its members' `group` property ("" : none) */
    int workers;             /* version worker threads wanted (the pool is process-wide) */
    /* Not parsed: the zone's serial floor (its previous server's serial, from the key
     * provider), which every served serial must follow; set per zone at setup. */
    int has_floor;
    uint32_t floor;
    /* Not parsed: the block's key provider tells of key changes (sg_key_provider.watch
     * calls sg_xfr_keys_changed), so a signed zone's keys are read when told, at their
     * next timing point and at its signatures' refresh, not every second. */
    int keys_told;
} sg_xfr_cfg;

/* Parse a transfer directive (table-driven tests call this without a server). */
int sg_xfr_parse(const sg_cfg_block *blk, sg_xfr_cfg *out);
/* Is addr inside one of the networks? */
int sg_xfr_net_match(const sg_xfr_net *nets, int n, const struct sockaddr *addr);

typedef struct sg_xfr_zone sg_xfr_zone;

/* The transfer state of a zone (wire apex), created on first use and kept while any
 * plugin instance holds it; cfg and key (may be NULL) replace the previous ones, and
 * keystore ("" : unsigned) names where its keys are. The zone keeps its own floor
 * (cfg->has_floor, cfg->floor) and shares one copy of the rest of cfg and of key with
 * every zone given an equal config and key: a zone's state is small (sizeof below ~1.5 KiB
 * on x86-64), whatever the block's size. SG_ENOMEM. */
int sg_xfr_zone_acquire(const uint8_t *apex, const sg_xfr_cfg *cfg, const sg_tsig_key *key,
                        const char *keystore, sg_xfr_zone **out);
void sg_xfr_zone_release(sg_xfr_zone *xz);
/* How many distinct (config, key) copies the zone states share now, and the size of one
 * zone's state without its versions (for the tests' bounds). */
size_t sg_xfr_blocks(void);
size_t sg_xfr_zone_state_size(void);
/* The current version with a reference (NULL while none is built). */
sg_xfr_snap *sg_xfr_zone_current(sg_xfr_zone *xz);
/* The current version without a reference: valid for the query being answered (retired
 * versions outlive every query by a grace period). */
const sg_xfr_snap *sg_xfr_zone_peek(sg_xfr_zone *xz);
/* The SOA RRset the zone's queries should carry (the current version's serial), or NULL
 * when it is the file's own. Valid for the query being answered. */
const sg_rrset *sg_xfr_zone_soa(sg_xfr_zone *xz, const sg_zone *z);
sg_xfr_journal *sg_xfr_zone_journal(sg_xfr_zone *xz);
/* The zone left the keystore (`signetctl zone remove --purge`): when its last holder
 * releases it, its served-serial file and journal (ZONE.xfr-serial, ZONE.xfr-journal in
 * the state directory) are deleted too. Acquired again before that: kept after all. */
void sg_xfr_zone_purge(sg_xfr_zone *xz);
/* Look for a new version now instead of at the next second (the zone was just loaded:
 * a zone added at run time, a new catalog). */
void sg_xfr_zone_wake(sg_xfr_zone *xz);

/* The key set of zone apex (wire form, any case) changed: its transfer state, if any,
 * takes a turn now (a new version with the new keys). The function a key provider is
 * given (sg_key_provider.watch); callable at any time from any thread, for any apex. */
void sg_xfr_keys_changed(const uint8_t *apex);
/* How many zones got their first version so far, process-wide: moves whenever the set of
 * zones with a version grows (it never shrinks but by a zone's release). Lock-free. */
uint64_t sg_xfr_first_versions(void);
/* Turns the zone's state has taken on the version workers (for tests: an idle zone
 * takes none between its due times). */
uint64_t sg_xfr_zone_turns(const sg_xfr_zone *xz);

/* What decides when a zone's next turn is due (xfrzone.c, after each turn). */
typedef struct sg_xfr_due {
    int has_version;         /* a current version is served */
    int pending;             /* something to follow up every second: the secondaries do
                                not all serve the newest version yet, the keystore is
                                gone or cannot be opened */
    int signed_zone;         /* its keys are in a keystore */
    int keys_told;           /* ... and their changes are told (sg_xfr_keys_changed) */
    uint32_t resign_at;      /* the version's first signature refresh (0: none) */
    int64_t keys_next;       /* the keys' next timing point (unix s; 0 or INT64_MAX: none) */
    int64_t recheck_at;      /* a propagation row to record again then (unix s; 0: none) */
    int64_t follow_ms;       /* the secondaries do not all serve the newest version: when
                                they are next asked (now_ms's clock; 0: nothing to follow) */
} sg_xfr_due;
/* When the zone is next due (ms of now_ms's clock), given the turn that just ran at now
 * (unix s) and now_ms: in a second while pending, without a version, or signed with key
 * changes untold; at follow_ms (at least a second away) while secondaries lag; else the
 * first of its signature refresh, its keys' next timing point,
 * recheck_at and a safety net ten minutes away (at least a second away). */
int64_t sg_xfr_next_turn(const sg_xfr_due *d, int64_t now, int64_t now_ms);

/* ---- NOTIFY (notify.c) -------------------------------------------------------------- */

/* Send NOTIFY for zone apex with serial to every target in the background: UDP, up to 5
 * tries each (1, 2, 4, 8, 16 s), with the SOA (copied; may be NULL) in the answer section,
 * TSIG-signed with key when given (copied). One sender thread (`sg-notify`, there while
 * jobs are) sends every zone's NOTIFYs over nonblocking sockets, at most 1024 in flight. */
void sg_xfr_notify(const uint8_t *apex, uint32_t serial, const sg_xfr_rr *soa,
                   const struct sockaddr_storage *targets, int n, const sg_tsig_key *key);
/* With stop: the NOTIFYs of zone apex (every zone when apex is NULL) give up now, without
 * a word. Without stop: nothing (finished jobs free themselves). */
void sg_xfr_notify_reap(const uint8_t *apex, int stop);

/* "ADDR:PORT" or "[ADDR]:PORT" for messages. */
void sg_xfr_addr_text(const struct sockaddr_storage *a, char *buf, size_t cap);

/* ---- following the secondaries (propagation.c) --------------------------------------- */

/* The serial of the SOA a server serves for apex, asked over UDP without recursion:
 * 0 and *serial_out, SG_ENOTFOUND (an error rcode, or not authoritative: not loaded),
 * SG_ETIMEOUT, SG_EIO or SG_EMALFORMED. */
int sg_xfr_served_serial(const struct sockaddr_storage *to, const uint8_t *apex, int timeout_ms,
                      uint32_t *serial_out);
/* The SOA query for apex with ID id into q (12 + SG_NAME_MAX + 4 bytes); its length. */
size_t sg_xfr_soa_query(const uint8_t *apex, uint16_t id, uint8_t *q);
/* The serial of the SOA in reply m (ID and peer already matched): 0 and *serial_out,
 * SG_ENOTFOUND (an error rcode, not authoritative) or SG_EMALFORMED. */
int sg_xfr_soa_answer(const uint8_t *m, size_t len, uint32_t *serial_out);
/* What sg_xfr_served_serial asks, in the background, without a thread's wait: sent by the
 * NOTIFY sender over its nonblocking sockets, one try given up after timeout_ms. done(arg,
 * i, rc, serial) is called exactly once with the result (rc as sg_xfr_served_serial's),
 * on the sender thread with its lock held, or at once on the caller's when the probe
 * cannot be queued: it must only store the result and wake (no lock a zone's turn holds
 * while it sends a NOTIFY). sg_xfr_notify_reap(apex, 1) stops apex's probes too: after it
 * returns, done is not called for them. */
void sg_xfr_probe(const uint8_t *apex, const struct sockaddr_storage *to, int timeout_ms,
                  void (*done)(void *arg, int i, int rc, uint32_t serial), void *arg, int i);
/* Non-zero when a secondary serving `served` has the version `want` (or a later one). */
int sg_xfr_serves(uint32_t served, uint32_t want);

#endif
