/* SPDX-License-Identifier: MIT */
/* The registrar component: puts the zone's DS set at the parent (registrar APIs, DNS
 * UPDATE or the operator) and confirms that every parent server serves it. */
#ifndef SG_REGISTRAR_H
#define SG_REGISTRAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"
#include "common/errors.h"
#include "keystore/keystore.h"

/*
 * Data flow, once a second from the daemon's keyman step (keyman/, sg_reg_tick):
 *
 *   keystore (sg_ks_ds_set) -> desired DS set -> provider: list, diff, add/remove
 *   (or replace) -> parent servers queried until all serve it -> sg_roll_ds_seen()
 *   (or sg_roll_ds_gone() when the zone is being unsigned)
 *
 * HTTP calls and DNS checks run in a worker thread, never in the tick; every call and
 * outcome is written to the keystore's events (never a credential).
 */

/* Errors: 0 or a negative SG_E* code (common/errors.h), the registrar's own among them:
 * SG_REG_ERETRY (transient: retried with backoff), SG_REG_EREJECT (refused by the
 * registrar), SG_REG_ECRED (credentials missing or unsafe); sg_strerror() knows them all. */

/* ---- DS records and sets --------------------------------------------------------- */

#define SG_REG_DIGEST_MAX 64
#define SG_REG_ID_MAX 64

/* One DS record, with the DNSKEY it was made from when known (the APIs that take keys,
 * not digests, need it: OVHcloud, Gandi). */
typedef struct sg_reg_ds {
    uint16_t tag;
    uint8_t algorithm;
    uint8_t digest_type;               /* 0 when only the key is known */
    uint8_t digest[SG_REG_DIGEST_MAX];
    size_t digest_len;
    uint16_t flags;                    /* DNSKEY flags; 0 when the key is not known */
    uint8_t pubkey[SG_KS_PUBKEY_MAX];
    size_t pubkey_len;
    char id[SG_REG_ID_MAX];            /* the registrar's id for the record, "" if none */
} sg_reg_ds;

typedef struct sg_reg_dsset {
    sg_reg_ds *v;
    size_t n, cap;
    /* the RRset's TTL: as a parent server serves it (sg_reg_parent_query), or the one to
     * push (sg_reg_desired: the policy's parent-ds-ttl); 0 when not known */
    uint32_t ttl;
} sg_reg_dsset;

void sg_reg_dsset_init(sg_reg_dsset *s);
void sg_reg_dsset_deinit(sg_reg_dsset *s);
/* Append a copy of ds. 0 or SG_ENOMEM. */
int sg_reg_dsset_add(sg_reg_dsset *s, const sg_reg_ds *ds);
/* Same record: same tag, algorithm, digest type and digest when both have a digest;
 * else same algorithm, flags and public key when both have the key. */
int sg_reg_ds_same(const sg_reg_ds *a, const sg_reg_ds *b);
/* What must change to go from have to want: add_out gets the records of want missing
 * from have, del_out the records of have (with their registrar ids) not in want.
 * Duplicates in have beyond the first are deleted too. Both outputs are initialised
 * here and freed with sg_reg_dsset_deinit. 0 or SG_ENOMEM. */
int sg_reg_diff(const sg_reg_dsset *have, const sg_reg_dsset *want, sg_reg_dsset *add_out,
                sg_reg_dsset *del_out);
/* "TAG ALG DIGEST-TYPE HEX" (or "TAG ALG key" when only the key is known). */
void sg_reg_ds_text(const sg_reg_ds *ds, char *buf, size_t cap);
/* The DS RRset of zone as one parent server serves it ("ADDR", "ADDR:PORT", "[V6]:PORT";
 * authoritative answers only, UDP with TCP fallback), its TTL in out->ttl. 0, SG_EINVAL
 * (bad address) or SG_EIO with the reason in err. *out is deinit'ed by the caller on 0.
 * (signetctl zone adopt asks each parent server with it.) */
int sg_reg_parent_query(const char *server, const char *zone, uint32_t timeout_ms,
                        sg_reg_dsset *out, char *err, size_t cap);
/* The DS set the parent should have for zone at now (sg_ks_ds_set), digests per policy,
 * each with its DNSKEY. out is initialised here. */
int sg_reg_desired(sg_keystore *ks, const char *zone, int64_t now, sg_reg_dsset *out);

/* ---- Configuration --------------------------------------------------------------- */

#define SG_REG_MAX_NS 8
#define SG_REG_MAX_HEADERS 8

/* The `registrar PROVIDER { ... }` block of a zone's dnssec block. */
typedef struct sg_reg_cfg {
    char provider[32];        /* manual | cds | rest | porkbun | dnsimple | ovh | route53 |
                               * update */
    char credentials[512];    /* file path, or "env" (SIGNET_REG_<NAME> variables) */
    char env_prefix[64];      /* "env PREFIX": PREFIX<NAME>; default SIGNET_REG_ */
    char endpoint[512];       /* API base URL (default: the provider's public one) */
    char ca_file[512];        /* extra trust anchors; verification is always on */
    char domain[256];         /* the registrar's name for the zone; default: the zone */
    char account[64];         /* DNSimple account id */
    uint32_t connect_timeout; /* seconds (default 10) */
    uint32_t timeout;         /* seconds for a whole request (default 30) */
    uint32_t backoff_base;    /* first retry delay, seconds (default 5) */
    uint32_t backoff_max;     /* cap on the delay, seconds (default 3600) */
    uint32_t check_interval;  /* parent DS check period, seconds (default 60) */
    uint32_t alert_timeout;   /* warn when the parent lags longer, seconds (default 2 days) */
    uint32_t query_timeout;   /* per DNS query, milliseconds (default 2000) */
    char parent[256];         /* parent zone; default: the zone minus its first label */
    char parent_ns[SG_REG_MAX_NS][128]; /* "ADDR" "ADDR:PORT" "[V6]:PORT"; none: the NS set */
    int nparent_ns;
    char primary[128];        /* update: the parent's primary, "ADDR[:PORT]" */
    /* rest: templates with {domain} {tag} {alg} {digest_type} {digest} {flags} {pubkey}
     * {id} and {cred:NAME} placeholders */
    char rest_list[2][512];   /* METHOD URL */
    char rest_list_path[128]; /* where the array is in the list response ("" = top) */
    char rest_add[3][1024];   /* METHOD URL BODY */
    char rest_remove[3][1024];/* METHOD URL [BODY] */
    char rest_headers[SG_REG_MAX_HEADERS][512];
    int nrest_headers;
    char rest_fields[5][64];  /* JSON names of tag, alg, digest type, digest, id */
    uint32_t task_timeout;    /* seconds to wait for an asynchronous task (OVHcloud tasks,
                               * Route 53 operations) before retrying (default 120) */
    char file[256];           /* of the block, for messages */
    int line;
} sg_reg_cfg;

/* Parse a `registrar PROVIDER { ... }` block (blk->name is "registrar"). Errors are
 * logged with file:line (SG_ESYNTAX). Nothing is read from disk here. */
int sg_reg_parse(const sg_cfg_block *blk, sg_reg_cfg *out);

/* ---- The registrar --------------------------------------------------------------- */

typedef struct sg_registrar sg_registrar;

/* Make a registrar from a parsed config: loads the credentials (SG_REG_ECRED, with the
 * reason logged, if the file is missing, readable by group/others, or lacks a field the
 * provider needs). Free with sg_reg_free, which waits for a running call to finish. */
int sg_reg_new(const sg_reg_cfg *cfg, sg_registrar **reg_out);
void sg_reg_free(sg_registrar *r);

/* The daemon's entry point, called about once a second per zone from one thread (the
 * keyman's, keyman/), with that thread's keystore handle. It never blocks on the network:
 * it collects what the worker finished (events written here), compares the desired DS
 * set with what was pushed, starts a push (after backoff) or a parent check (every
 * check-interval) in the worker, and when the parent serves the set everywhere calls
 * sg_roll_ds_seen() (or sg_roll_ds_gone() for a zone being unsigned and whose DS is
 * gone everywhere). Returns 0, or a keystore error. */
int sg_reg_tick(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now);

/* When the next sg_reg_tick has work, as the last tick left it: the next second while a
 * call runs or a push or parent check is due or waits out its backoff (its time then),
 * INT64_MAX when nothing is to do until the keystore changes (the DS set pushed and seen,
 * or none wanted yet). The keyman ticks a zone only then, or when the keystore changed. */
int64_t sg_reg_next_tick(const sg_registrar *r);

/* The events this registrar wrote since it was made, counted by state (reg-call, reg-ok,
 * reg-retry, reg-error, reg-manual, parent-seen, ...; "other" for the rest): fn(arg,
 * state, n) for each state with n > 0. Any thread; counts are read atomically. */
void sg_reg_counts(const sg_registrar *r, void (*fn)(void *arg, const char *state, uint64_t n),
                   void *arg);

/* Count this registrar's events for zone in a set kept by the process under its
 * provider and zone (sg_counters_keep), instead of its own: the registrar that a reload
 * makes for the same zone and provider continues the counts, as Prometheus expects of
 * signet_registrar_events_total. Call before the first tick. 0, SG_EINVAL or SG_ENOMEM. */
int sg_reg_keep_counts(sg_registrar *r, const char *zone);

/* Wait until no call is running (tests, shutdown). */
void sg_reg_drain(sg_registrar *r);

/* ---- Synchronous calls (signetctl registrar test / ds push) ------------------------ */

/* A read-only call: the DS set the registrar has for zone (for update: the primary's
 * DS RRset). out is initialised here. Each request made (method, path, body) and what
 * came back (status, the start of the body), credentials redacted, goes to note (may be
 * NULL) as reg-call lines. On failure, err gets what went wrong (the HTTP
 * status and the registrar's message, the network or TLS error; never a credential) and
 * the code is SG_REG_ERETRY (transient: network, TLS, 429, 5xx, malformed reply),
 * SG_REG_EREJECT (another 4xx) or SG_EINVAL (manual: there is nothing to ask). Blocks;
 * not while a tick's call is running on the same registrar. */
/* One line of what a synchronous call did: the events.new_state it was written with
 * (reg-want, reg-call, reg-diff, reg-ok, reg-retry, reg-error, reg-manual, reg-scan) and
 * its text (credentials redacted). */
typedef void (*sg_reg_note_fn)(void *arg, const char *state, const char *reason);

int sg_reg_list_now(sg_registrar *r, const char *zone, sg_reg_dsset *out, sg_reg_note_fn note,
                    void *arg, char *err, size_t cap);

/* Push the desired DS set (sg_reg_desired, with sg_reg_tick's rule: nothing before a DS
 * was submitted, the empty set only for a zone being unsigned) now, in this thread:
 * list, diff, add then remove, list again. Every call and the outcome are written to the
 * keystore's events as the tick writes them, and passed to note (may be NULL).
 * *changed: 1 if the registrar's set was changed. Returns 0, SG_ENOTFOUND when there is
 * nothing to push yet, or the failure (SG_REG_ERETRY, SG_REG_EREJECT, keystore errors),
 * with err set. The parent check is left to signetd. */
int sg_reg_push_now(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                    int *changed, sg_reg_note_fn note, void *arg, char *err, size_t cap);

/* What `signetctl ds check` found (sg_reg_check_now). */
typedef struct sg_reg_check {
    int answered;        /* servers that answered with authority */
    int seen;            /* KSK/CSKs whose DS every server serves */
    int marked;          /* of them, newly recorded as seen (sg_roll_ds_at_parent) */
    int key_without_ds;  /* published KSK/CSKs whose DS some server lacks */
    int ds_without_key;  /* served DS records that match no key of the zone (per server) */
    uint32_t ttl;        /* the longest DS TTL served (0: none) */
} sg_reg_check;

/* Ask each of servers ("ADDR[:PORT]"; sg_reg_parent_servers gives the configured ones or
 * the parent's NS set) for zone's DS RRset now, in this thread: every KSK/CSK whose DS all
 * of them serve is recorded as seen (submitted too when Signet never submitted it:
 * sg_roll_ds_at_parent), the longest TTL served becomes the parent-ds-ttl fact, and one
 * parent-check event sums it up. One line per server and per key goes to report (may be
 * NULL). Returns 0, SG_EIO when no server answered with authority, or a keystore error. */
int sg_reg_check_now(sg_keystore *ks, const char *zone, char *const *servers, int nservers,
                     uint32_t timeout_ms, int64_t now, FILE *report, sg_reg_check *out);

/* The servers to ask for zone: cfg's parent-ns, or the NS set of its parent (through the
 * system resolver). *out: n strings, each and the array freed with free(). */
int sg_reg_parent_servers(const sg_reg_cfg *cfg, const char *zone, char ***out, int *n_out,
                          char *err, size_t cap);

#endif
