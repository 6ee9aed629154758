/* SPDX-License-Identifier: MIT */
/* The keystore: policies, zones, keys and the event journal in one SQLite file. */
#ifndef SG_KEYSTORE_H
#define SG_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/errors.h"
#include "common/secure_heap.h"

/*
 * One SQLite database is the source of truth for everything Signet knows about DNSSEC.
 * signetd (the signer, the rollover engine) and signetctl open it at the same time; every
 * multi-row change is one transaction, so a reader never sees half a change.
 *
 * Times are Unix seconds (int64_t). Every function that depends on the time takes `now`,
 * so that tests can step through a key's life without sleeping. A timing point of 0
 * (SG_KS_UNSET) means "not set".
 *
 * Errors: 0 or a negative SG_E* code (common/errors.h), the keystore's own among them
 * (SG_KS_EBUSY, SG_KS_EINUSE, SG_KS_ESCHEMA; SG_KS_ECORRUPT, SG_KS_EDECRYPT from backups,
 * keystore/backup.h); sg_strerror() knows them all. The text of
 * the last library failure (SQLite, OpenSSL) is kept in the handle (sg_ks_errmsg) and
 * logged once; it never holds key material.
 *
 * A handle is not thread-safe: give each thread its own (SQLite handles the sharing).
 */

#define SG_KS_SCHEMA_VERSION 7  /* the schema version this code writes */
#define SG_KS_UNSET 0           /* an unset timing point */
#define SG_KS_NAME_MAX 64       /* policy names, including the NUL */
#define SG_KS_ZONE_MAX 1024     /* zone names in presentation form, including the NUL */
#define SG_KS_PATH_MAX 1024     /* a served zone's file path, including the NUL */
#define SG_KS_PUBKEY_MAX 1024   /* DNSKEY public key field (RSA 4096 needs 516) */
#define SG_KS_RDATA_MAX (4 + SG_KS_PUBKEY_MAX)

/* DNSSEC algorithm numbers (IANA) that Signet signs with. */
enum {
    SG_KS_ALG_RSASHA256 = 8,
    SG_KS_ALG_RSASHA512 = 10,
    SG_KS_ALG_ECDSAP256SHA256 = 13,
    SG_KS_ALG_ECDSAP384SHA384 = 14,
    SG_KS_ALG_ED25519 = 15,
    SG_KS_ALG_ED448 = 16,
};
/* DS digest types. SHA-1 (1) is only for reading old records, never produced by default. */
enum { SG_KS_DIGEST_SHA1 = 1, SG_KS_DIGEST_SHA256 = 2, SG_KS_DIGEST_SHA384 = 4 };
/* DNSKEY flags. */
enum { SG_KS_FLAG_ZONE = 0x0100, SG_KS_FLAG_SEP = 0x0001, SG_KS_FLAG_REVOKE = 0x0080 };

/* Mnemonic ("ECDSAP256SHA256") for an algorithm number, or NULL if not supported. */
const char *sg_ks_alg_name(int alg);
/* Parse an algorithm: mnemonic (any case; also "ecdsa256", "ecdsa384", "rsasha256"...) or
 * its number. Returns 0 or SG_EINVAL for an unknown or unsupported algorithm. */
int sg_ks_alg_parse(const char *s, uint8_t *alg_out);
/* Parse "sha256"/"sha-256"/"2" or "sha384"/"sha-384"/"4". 0 or SG_EINVAL. */
int sg_ks_digest_parse(const char *s, uint8_t *digest_out);
/* "SHA-256" / "SHA-384" / "SHA-1", or NULL. */
const char *sg_ks_digest_name(int digest);

/* ---- Opening ------------------------------------------------------------------------ */

typedef struct sg_keystore sg_keystore;

/* Open the keystore at path, creating it (mode 0600; its -wal and -shm follow) if missing,
 * in WAL mode with foreign keys on, and run the schema migrations. actor ("daemon",
 * "cli") is written in every event this handle journals. Warns if the file can be read by
 * group or others. Returns 0, SG_KS_ESCHEMA if the file's schema is newer than
 * SG_KS_SCHEMA_VERSION (the file is left untouched), SG_KS_EBUSY, SG_EIO or SG_ELIB.
 * Free with sg_ks_free. */
int sg_ks_new(const char *path, const char *actor, sg_keystore **ks_out);
/* Close the database. NULL does nothing. An open transaction is rolled back. */
void sg_ks_free(sg_keystore *ks);
/* sg_ks_new, but a missing file is SG_ENOTFOUND instead of a new empty keystore: a
 * keystore that vanished under a running signetd must not come back empty (its zones
 * would get new keys whose DS no parent has). */
int sg_ks_open_existing(const char *path, const char *actor, sg_keystore **ks_out);
/* Non-zero when the path the keystore was opened from is gone or is another file now
 * (deleted, or replaced by a rename): what is written through ks is lost. */
int sg_ks_file_moved(const sg_keystore *ks);
/* A number that changes whenever another connection (signetctl, another process) has
 * committed a change to the keystore since this handle last asked (SQLite's data_version;
 * this handle's own writes leave it). 0 and *v_out, or a keystore error. */
int sg_ks_data_version(sg_keystore *ks, int64_t *v_out);
/* What `signetd -t` can say of a keystore without changing anything: the file is a
 * keystore this program can use (or, missing, could be made in its directory) and holds
 * the policy (NULL: not asked). 0, or an error with why filled in. */
int sg_ks_check(const char *path, const char *policy, char *why, size_t cap);
/* How long to wait for another writer before failing with SG_KS_EBUSY (default 5000 ms). */
void sg_ks_set_busy_timeout(sg_keystore *ks, int ms);
/* The schema version stored in the file. */
int sg_ks_schema_version(sg_keystore *ks, int *version_out);
/* Text of the last library failure on this handle ("" if none); valid until the next call. */
const char *sg_ks_errmsg(const sg_keystore *ks);

/* Group several changes into one transaction (for example the rollover engine moving two
 * keys and journalling both). Calls nest: only the outermost commit writes. The write lock
 * is taken at begin (BEGIN IMMEDIATE), so a busy database fails here, not halfway.
 * sg_ks_rollback undoes everything since the matching begin. */
int sg_ks_begin(sg_keystore *ks);
int sg_ks_commit(sg_keystore *ks);
void sg_ks_rollback(sg_keystore *ks);

/* ---- Policies ----------------------------------------------------------------------- */

enum sg_ks_denial { SG_KS_DENIAL_NSEC = 0, SG_KS_DENIAL_NSEC3 = 1, SG_KS_DENIAL_COMPACT = 2 };

/* How a zone is signed and how its keys roll. Durations are in seconds. */
typedef struct sg_ks_policy {
    int64_t id;                 /* row id, filled in by the keystore */
    char name[SG_KS_NAME_MAX];
    uint8_t algorithm;          /* SG_KS_ALG_* */
    uint16_t key_bits;          /* RSA modulus size; 0 for the fixed-size algorithms */
    int csk;                    /* 1: one combined signing key; 0: KSK + ZSK */
    uint32_t zsk_lifetime;      /* 0: never rolled automatically */
    uint32_t ksk_lifetime;      /* KSK or CSK; 0: never rolled automatically */
    uint32_t dnskey_ttl;
    uint32_t zone_propagation_delay;
    uint32_t zone_max_ttl;      /* 0: taken from the zone */
    uint32_t parent_ds_ttl;
    uint32_t parent_propagation_delay;
    uint32_t sig_validity;      /* RRSIG expiration - inception */
    uint32_t sig_refresh;       /* re-sign when less than this is left */
    uint32_t sig_jitter;        /* random spread of expirations */
    enum sg_ks_denial denial;
    uint16_t nsec3_iterations;  /* RFC 9276: 0 */
    uint8_t nsec3_salt_len;     /* RFC 9276: 0 (empty salt) */
    int nsec3_opt_out;          /* RFC 9276: 0 */
    int publish_cds;            /* publish CDS for the KSK/CSK */
    int publish_cdnskey;        /* publish CDNSKEY for the KSK/CSK */
    uint8_t ds_digest;          /* SG_KS_DIGEST_SHA256 or SG_KS_DIGEST_SHA384 */
    int ksk_double_ds;          /* KSK rollover: 1 double-DS (RFC 7583 3.3.2), 0 double-KSK */
    char key_store[1024];       /* "": private keys as PEM in the keystore; else the PKCS#11
                                   token URI new keys are made in (keystore/pkcs11.h) */
} sg_ks_policy;

#define SG_KS_DEFAULT_POLICY "default"

/* Fill p with the built-in defaults (ECDSAP256SHA256, CSK, RFC 9276 NSEC3 values...). */
void sg_ks_policy_defaults(sg_ks_policy *p, const char *name);
/* Check a policy for consistency; on failure writes a reason to why (may be NULL) and
 * returns SG_EINVAL. */
int sg_ks_policy_check(const sg_ks_policy *p, char *why, size_t why_cap);
/* Read one policy. SG_ENOTFOUND if there is none of that name. */
int sg_ks_policy_get(sg_keystore *ks, const char *name, sg_ks_policy *p_out);
/* All policies by name; *list_out is freed with free(). */
int sg_ks_policy_list(sg_keystore *ks, sg_ks_policy **list_out, size_t *n_out);
/* Add a new policy (SG_EEXIST if the name is taken), journalled. p->id is ignored. */
int sg_ks_policy_add(sg_keystore *ks, const sg_ks_policy *p, int64_t now);
/* Replace every field of the policy named p->name, journalled. SG_ENOTFOUND. */
int sg_ks_policy_update(sg_keystore *ks, const sg_ks_policy *p, int64_t now);
/* Delete a policy: SG_KS_EINUSE while a zone uses it or for the built-in default. */
int sg_ks_policy_delete(sg_keystore *ks, const char *name, int64_t now);

/* ---- Zones -------------------------------------------------------------------------- */

typedef struct sg_ks_zone {
    int64_t id;
    char name[SG_KS_ZONE_MAX];      /* absolute, lower case, trailing dot */
    char policy[SG_KS_NAME_MAX];
    char registrar[128];            /* registrar binding; "" when none */
    char state[32];                 /* free text owned by the daemon; "new" at first */
    int64_t created;
    char file[SG_KS_PATH_MAX];      /* served from this master file by `dynamic` blocks;
                                       "" : not served at run time */
} sg_ks_zone;

/* Normalise a zone name ("Example.COM" -> "example.com."). 0 or SG_ESYNTAX. */
int sg_ks_zone_normalize(const char *in, char out[SG_KS_ZONE_MAX]);
/* Add a zone with a policy (NULL: "default"). SG_EEXIST, SG_ENOTFOUND (policy). */
int sg_ks_zone_add(sg_keystore *ks, const char *zone, const char *policy, int64_t now);
int sg_ks_zone_get(sg_keystore *ks, const char *zone, sg_ks_zone *z_out);
/* All zones by name; *list_out is freed with free(). */
int sg_ks_zone_list(sg_keystore *ks, sg_ks_zone **list_out, size_t *n_out);
/* Change a zone's policy, registrar binding (NULL: unchanged, "": none) or state
 * (NULL: unchanged), journalled. */
int sg_ks_zone_update(sg_keystore *ks, const char *zone, const char *policy,
                      const char *registrar, const char *state, int64_t now);
/* Serve the zone from the master file path (absolute; "" : stop serving it), journalled:
 * `dynamic` blocks of signetd pick the change up within a second (the served-zones
 * counter moves). The zone's keys are not touched. SG_ENOTFOUND, SG_EINVAL (path too long). */
int sg_ks_zone_set_file(sg_keystore *ks, const char *zone, const char *path, int64_t now);
/* A zone served at run time: its name and master file. */
typedef struct sg_ks_served {
    char name[SG_KS_ZONE_MAX];
    char file[SG_KS_PATH_MAX];
} sg_ks_served;
/* The zones with a file (sg_ks_zone_set_file), by name; *list_out is freed with free(). */
int sg_ks_served_list(sg_keystore *ks, sg_ks_served **list_out, size_t *n_out);
/* A number that changes whenever a zone gets, changes or loses its file or a zone with a
 * file is added or removed (a trigger keeps it): poll it, then sg_ks_served_list. */
int sg_ks_served_counter(sg_keystore *ks, int64_t *counter_out);
/* The writes that said their zone (zone_writes.c: transfer's propagation rows and
 * secondaries fact, from any connection): *count_out how many so far, and the zones whose
 * last such write came after the count `after` (*zones_out, *n_out; caller frees). A
 * keystore older than these writes: count 0, none. 0 or a keystore error. */
int sg_ks_zone_writes(sg_keystore *ks, int64_t after, int64_t *count_out,
                      char (**zones_out)[SG_KS_ZONE_MAX], size_t *n_out);
/* Remove a zone and its keys. Without force, SG_KS_EINUSE if a key could still be in
 * the DNS or its DS at the parent (see sg_ks_key_delete). */
int sg_ks_zone_remove(sg_keystore *ks, const char *zone, int force, int64_t now);

/* ---- Keys --------------------------------------------------------------------------- */

enum sg_ks_role { SG_KS_ROLE_KSK = 0, SG_KS_ROLE_ZSK = 1, SG_KS_ROLE_CSK = 2 };

/* Where a key is in its life (RFC 7583 terms). The rollover engine moves keys between
 * states; the stored state is the truth, the timing points say when moves happen. */
enum sg_ks_key_state {
    SG_KS_GENERATED = 0, /* exists, not in the DNSKEY RRset */
    SG_KS_PUBLISHED = 1, /* in the DNSKEY RRset, caches may not have it yet */
    SG_KS_READY = 2,     /* published long enough to be used */
    SG_KS_ACTIVE = 3,    /* signing */
    SG_KS_RETIRED = 4,   /* published but no longer signing */
    SG_KS_REMOVED = 5,   /* out of the DNSKEY RRset */
};

const char *sg_ks_role_name(enum sg_ks_role r);           /* "ksk", "zsk", "csk" */
int sg_ks_role_parse(const char *s, enum sg_ks_role *out); /* 0 or SG_EINVAL */
const char *sg_ks_state_name(enum sg_ks_key_state s);     /* "generated", ... */
int sg_ks_state_parse(const char *s, enum sg_ks_key_state *out);

typedef struct sg_ks_key {
    int64_t id;
    char zone[SG_KS_ZONE_MAX];
    uint16_t tag;                   /* RFC 4034 Appendix B, of the DNSKEY as published */
    uint8_t algorithm;
    enum sg_ks_role role;
    uint16_t flags;                 /* DNSKEY flags: 257 for KSK/CSK, 256 for ZSK */
    uint16_t bits;                  /* key size in bits */
    uint8_t pubkey[SG_KS_PUBKEY_MAX]; /* the DNSKEY public key field */
    size_t pubkey_len;
    char storage[16];               /* private key storage backend ("pem") */
    int64_t created;
    /* RFC 7583 timing points; SG_KS_UNSET when not set. */
    int64_t publish, active, retire, remove;
    int64_t ds_submitted, ds_seen;  /* KSK/CSK only */
    int64_t ds_withdrawn;           /* KSK/CSK: its DS leaves the parent's set (algorithm
                                     * rollover; otherwise retirement withdraws it) */
    int64_t ds_gone;                /* every parent server was seen without its DS (after
                                     * ds_withdrawn; 0: not seen, or no parent check) */
    enum sg_ks_key_state state;
} sg_ks_key;

/* The state a key's timing points imply at now, ignoring READY (which needs the policy's
 * delays): removed, retired, active, published or generated, whichever point passed last. */
enum sg_ks_key_state sg_ks_key_state_at(const sg_ks_key *k, int64_t now);

/* Keys of a zone (NULL: all zones), by zone then id; *list_out is freed with free(). */
int sg_ks_key_list(sg_keystore *ks, const char *zone, sg_ks_key **list_out, size_t *n_out);
/* One key by id. SG_ENOTFOUND. */
int sg_ks_key_get(sg_keystore *ks, int64_t id, sg_ks_key *k_out);

/* Generate a key for zone. alg 0 and bits 0 take the zone's policy. The key tag never
 * collides with another key of the zone. The key starts GENERATED with no timing points
 * and a "generated" event, all in one transaction. key_out may be NULL. */
int sg_ks_key_generate(sg_keystore *ks, const char *zone, enum sg_ks_role role,
                       uint8_t alg, uint16_t bits, int64_t now, sg_ks_key *key_out);
/* What an import knows of a key's life, from its source (a BIND .private/.state, Knot's
 * timers, PowerDNS's flags): the timing points of sg_ks_key, 0 when the source does not
 * say. A source that says nothing (known 0) means "in use now": the key is published and
 * active from the import (a public-only key: published, never signing). */
typedef struct sg_ks_import_times {
    int known;
    int64_t publish, active, retire, remove;
    int64_t ds_submitted, ds_seen, ds_withdrawn; /* KSK/CSK: its DS at the parent */
} sg_ks_import_times;

/* Import flags. */
enum {
    SG_KS_IMPORT_PUBLIC = 1 << 0, /* store the DNSKEY only, even when a private half is there */
};

/* Import a BIND key pair (path to K*.key, K*.private, or their common prefix). The role is
 * taken from the DNSKEY flags (257: ksk, 256: zsk) unless role_override >= 0. The private
 * key must match the DNSKEY. A K*.key with no .private beside it (or SG_KS_IMPORT_PUBLIC)
 * is stored public-only (sg_ks_key_public_only). The key's times: times when not NULL and
 * known; else the K*.state file beside it (BIND 9.16+ dnssec-policy, sg_ks_bind_state_parse)
 * when there is one; else the Publish, Activate, Inactive and Delete of the .private (or,
 * public-only, the comments of the .key); else published and active from now. SG_EEXIST
 * on a key tag collision in the zone, SG_EIO when a named file cannot be read. */
int sg_ks_key_import_bind(sg_keystore *ks, const char *zone, const char *path,
                          int role_override, unsigned flags, const sg_ks_import_times *times,
                          int64_t now, sg_ks_key *key_out);
/* The same from texts: a DNSKEY record (a .key file's contents; `pdnsutil
 * export-zone-dnskey`) and, unless NULL (public-only), a private key in BIND's format
 * (`pdnsutil export-zone-key`). source names it in the journal ("PowerDNS"). Secrets are
 * copied to the secure heap and cleansed. */
int sg_ks_key_import_bind_text(sg_keystore *ks, const char *zone, const char *key_text,
                               const char *private_text, int role_override,
                               const sg_ks_import_times *times, const char *source,
                               int64_t now, sg_ks_key *key_out);
/* Import an unencrypted PEM private key (PKCS#8, as Knot DNS and `key export --private`
 * write it). alg 0: implied by the key type (EC P-256/P-384, Ed25519, Ed448); RSA needs 8
 * or 10. times: as the source knows them (Knot's timers, sg_ks_knot_times); NULL or not
 * known: published and active from now (it is taken over from a server that uses it).
 * SG_EEXIST on a key tag collision. */
int sg_ks_key_import_pem(sg_keystore *ks, const char *zone, const char *path,
                         enum sg_ks_role role, uint8_t alg, const sg_ks_import_times *times,
                         int64_t now, sg_ks_key *key_out);
/* Import a DNSKEY alone, public-only (multi-signer, RFC 8901: another signer's key; or a
 * key pre-published before its private half arrives): rdata is the DNSKEY RDATA. Role
 * from the SEP flag unless role_override >= 0; times as above (not known: published from
 * now). */
int sg_ks_key_import_public(sg_keystore *ks, const char *zone, const uint8_t *rdata,
                            size_t rdlen, int role_override, const sg_ks_import_times *times,
                            int64_t now, sg_ks_key *key_out);
/* Non-zero for a key stored without its private half (storage "none"): it is published per
 * its timing points but never signs, and the rollover engine never acts on it (it belongs
 * to another signer). */
int sg_ks_key_public_only(const sg_ks_key *k);

/* ---- Multi-signer (RFC 8901 model 2; keystore/foreign.c, docs/multi-signer.md) ------- */

/* Non-zero for a public-only key marked as a multi-signer peer's (storage "foreign"):
 * `signetctl key sync-foreign` adds, retires and removes these as the peer serves them,
 * and never touches another public-only key. */
int sg_ks_key_foreign(const sg_ks_key *k);
/* Mark public-only key id as the peer's (peer: its name for the journal). SG_EINVAL for a
 * key with a private half here. 0 when already marked. */
int sg_ks_key_mark_foreign(sg_keystore *ks, int64_t id, const char *peer, int64_t now);
/* Facts of a multi-signer zone: SG_KS_FACT_PEERS (the number of peer signers whose DNSKEY
 * RRset must hold our ZSKs: while it is non-zero, a successor ZSK signs only once every
 * peer has served it for the larger of our and the peer's DNSKEY TTL), the peer's DNSKEY
 * TTL, and SG_KS_FACT_PEER_SEEN<tag> (1: the peer serves our key <tag>, since `since`). */
#define SG_KS_FACT_PEERS "multi-signer-peers"
#define SG_KS_FACT_PEER_DNSKEY_TTL "peer-dnskey-ttl"
#define SG_KS_FACT_PEER_SEEN "peer-seen:"
/* Record whether the peer (source: its address) serves our key tag in its DNSKEY RRset. */
int sg_ks_peer_seen(sg_keystore *ks, const char *zone, uint16_t tag, int seen,
                    const char *source, int64_t now);
typedef struct sg_ks_peer_seen_key {
    uint16_t tag;
    int64_t since; /* first seen served (unchanged since) */
} sg_ks_peer_seen_key;
/* Our keys the peer serves now, newest first, up to cap. */
int sg_ks_peer_seen_list(sg_keystore *ks, const char *zone, sg_ks_peer_seen_key *out,
                         size_t cap, size_t *n_out);

/* ---- What other servers say about their keys (no database needed) ----------------- */

/* A BIND 9 dnssec-policy K*.state file: Published, Active, Retired, Removed (times),
 * DSPublish, DSRemoved, and DSState (omnipresent: the parent serves the DS, submitted and
 * seen at DSPublish or DSChange; rumoured: submitted, not yet seen; unretentive: withdrawn)
 * into *t_out (known set when any time was found), the KSK/ZSK lines into *role_out (CSK
 * when both; may be NULL). text is modified. 0 or SG_ESYNTAX (not a state file). */
int sg_ks_bind_state_parse(char *text, sg_ks_import_times *t_out, enum sg_ks_role *role_out);

/* One key of Knot DNS's `keymgr ZONE list -e` output. */
typedef struct sg_ks_knot_key {
    char id[64];             /* the key id: its PEM is <kasp-db>/keys/<id>.pem */
    uint16_t tag;
    uint8_t algorithm;
    int ksk, zsk, public_only;
    int64_t created, pre_active, publish, ready, active, retire_active, retire, post_active,
        revoke, remove;
} sg_ks_knot_key;
/* Parse keymgr's list output (one key a line, `list -e` key=value or plain `list`; times
 * as Unix seconds or ISO 8601). *keys_out (NULL when none) is freed with free(). 0,
 * SG_ESYNTAX (a line that is not a key) or SG_ENOMEM. */
int sg_ks_knot_list_parse(const char *text, sg_ks_knot_key **keys_out, size_t *n_out);
/* Knot's timers as Signet's timing points: publish; active from ready (a KSK signs the
 * DNSKEY RRset once ready) or active; retire from retire-active or retire; remove. A KSK
 * or CSK whose active came after ready had its DS submitted at ready and confirmed at
 * active (Knot's submission check); ready without active: submitted, not yet seen. */
void sg_ks_knot_times(const sg_ks_knot_key *k, sg_ks_import_times *t_out);

/* One key of PowerDNS's `pdnsutil list-keys ZONE` output. */
typedef struct sg_ks_pdns_key {
    unsigned id;             /* pdnsutil's key id (export-zone-key ZONE ID) */
    uint16_t tag;
    uint8_t algorithm;
    enum sg_ks_role role;    /* KSK, ZSK or CSK as listed */
    int active, published;
} sg_ks_pdns_key;
/* Parse pdnsutil list-keys output for zone (other zones' rows are skipped). 0, SG_ENOMEM. */
int sg_ks_pdns_list_parse(const char *text, const char *zone, sg_ks_pdns_key **keys_out,
                          size_t *n_out);
/* PowerDNS's flags as timing points at now: published -> publish now, active -> active now
 * (an active key that is not published signs unpublished, as PowerDNS lets it). */
void sg_ks_pdns_times(const sg_ks_pdns_key *k, int64_t now, sg_ks_import_times *t_out);

/* Load a key's private key. The caller frees *pkey_out with EVP_PKEY_free. A key held in
 * a PKCS#11 token has none to give: SG_ENOTFOUND with the handle's error saying so (use
 * sg_ks_key_open_token). */
int sg_ks_key_load_private(sg_keystore *ks, int64_t id, EVP_PKEY **pkey_out);
struct sg_p11_key;
/* Non-zero if the key's private half lives in a PKCS#11 token (storage "pkcs11"). */
int sg_ks_key_in_token(const sg_ks_key *k);
/* Open the token key a "pkcs11" row refers to, for signing (keystore/pkcs11.h; free with
 * sg_p11_key_free). SG_EINVAL for a key of another storage; the token's errors otherwise,
 * with the handle's error text set. */
int sg_ks_key_open_token(sg_keystore *ks, int64_t id, struct sg_p11_key **out);
/* The private key as PKCS#8 PEM, for export. Free with sg_secure_free(*pem_out, *len_out),
 * which cleanses it. */
int sg_ks_key_export_private(sg_keystore *ks, int64_t id, char **pem_out, size_t *len_out);

/* Write the key's timing points and state as given in k (matched by k->id) and journal the
 * change with reason. Use inside sg_ks_begin/commit to move several keys atomically. */
int sg_ks_key_update(sg_keystore *ks, const sg_ks_key *k, const char *reason, int64_t now);
/* Delete a key, journalled. Without force, SG_KS_EINUSE for a key that is (or may still
 * be) in the DNSKEY RRset, or whose DS may be at the parent. */
int sg_ks_key_delete(sg_keystore *ks, int64_t id, int force, int64_t now);

/* The parent's DS set (the rule the signer's CDS/CDNSKEY and the registrar share): a
 * KSK or CSK in the DNSKEY RRset at now whose DS was submitted and is neither withdrawn
 * nor retired. */
int sg_ks_key_in_ds_set(const sg_ks_key *k, int64_t now);
/* A DS withdrawn by now that the parent has not yet been seen without (ds_gone unset): the
 * registrar goes on checking the parent for it, and the engine's waits after it wait. */
int sg_ks_key_ds_gone_pending(const sg_ks_key *k, int64_t now);
/* The zone's keys in the parent's DS set at now, by id, and the policy's DS digest type
 * (digest_out may be NULL). *keys_out (NULL when none) is freed with free(). */
int sg_ks_ds_set(sg_keystore *ks, const char *zone, int64_t now, sg_ks_key **keys_out,
                 size_t *n_out, uint8_t *digest_out);

/* ---- Events ------------------------------------------------------------------------- */

typedef struct sg_ks_event {
    int64_t id;
    int64_t time;
    char zone[SG_KS_ZONE_MAX];   /* "" for policy events */
    int64_t key_id;              /* 0 when not about a key */
    char old_state[16], new_state[16]; /* "" when not a state change */
    char reason[256];
    char actor[16];
} sg_ks_event;

/* Append an event (zone, old/new may be NULL; key_id 0). Part of the caller's transaction
 * if one is open. */
int sg_ks_event_add(sg_keystore *ks, int64_t now, const char *zone, int64_t key_id,
                    const char *old_state, const char *new_state, const char *reason);
/* Events of a zone (NULL: all), oldest first; *list_out is freed with free(). */
int sg_ks_event_list(sg_keystore *ks, const char *zone, sg_ks_event **list_out,
                     size_t *n_out);

/* ---- Facts: what the world was seen to do ------------------------------------------- */

/* Names of the facts the rollover engine reads (seconds). */
#define SG_KS_FACT_PARENT_DS_TTL "parent-ds-ttl"  /* TTL of the DS RRset at the parent */
#define SG_KS_FACT_DNSKEY_TTL "dnskey-ttl"        /* TTL of the DNSKEY RRset we serve */
#define SG_KS_FACT_ZONE_MAX_TTL "zone-max-ttl"    /* largest TTL in the zone we serve */
#define SG_KS_FACT_SECONDARIES "secondaries"      /* NOTIFY targets that must follow us */
#define SG_KS_FACT_PARENT_CHECKS "parent-checks"  /* 1: a registrar confirms the parent's DS set */
/* The SOA serial the zone's previous server served (zone adopt): Signet's served serials
 * must follow it (RFC 1982), or every secondary stops following. Not a duration: read it
 * with sg_ks_fact_get and compare with sg_serial_cmp; its prev_* fields mean nothing. */
#define SG_KS_FACT_SERIAL_FLOOR "serial-floor"

/* An observed duration. `value` is what is observed now (since `since`, at `source`);
 * `prev_value` is a larger value observed before it, which caches may hold until
 * `prev_until`. */
typedef struct sg_ks_fact {
    char zone[SG_KS_ZONE_MAX];
    char name[32];
    uint32_t value;
    char source[128];
    int64_t since;
    uint32_t prev_value;
    char prev_source[128];
    int64_t prev_until;
} sg_ks_fact;

/* Record that `name` of zone is observed as value at source at now. Nothing is written
 * when value is what is stored. When it changes, the value before it is kept as
 * prev_value until now + that value (a cache may have fetched it a moment ago), merged
 * with an older prev_value still held. Returns 0, or a keystore error. */
int sg_ks_fact_observe(sg_keystore *ks, const char *zone, const char *name, uint32_t value,
                       const char *source, int64_t now);
/* The stored fact; SG_ENOTFOUND when it was never observed. */
int sg_ks_fact_get(sg_keystore *ks, const char *zone, const char *name, sg_ks_fact *f_out);
/* Record the serial floor of zone (SG_KS_FACT_SERIAL_FLOOR): the SOA serial its previous
 * server served, which Signet's served serials must follow (zone adopt, `signetctl zone
 * serial-floor`). One transaction with an events row saying so. The zone must be in the
 * keystore: SG_ENOTFOUND otherwise. 0, or a keystore error. signetd reads it when a
 * dnssec block is set up (start, reload). */
int sg_ks_serial_floor_set(sg_keystore *ks, const char *zone, uint32_t serial,
                           const char *source, int64_t now);
/* The zone's serial floor: 0 and *serial_out, or SG_ENOTFOUND when it has none. */
int sg_ks_serial_floor_get(sg_keystore *ks, const char *zone, uint32_t *serial_out);
/* What caches may hold at now: the larger of value and a prev_value not yet expired;
 * *source_out (may be NULL) points into f. */
uint32_t sg_ks_fact_effective(const sg_ks_fact *f, int64_t now, const char **source_out);
/* Every secondary of the zone served the version `serial` from confirmed_at on, and that
 * version holds the key state of as_of (its keys were read then and found unchanged). A
 * version recorded again keeps its first confirmed_at and gets the later as_of. The 64
 * newest rows of a zone are kept. */
int sg_ks_propagation_add(sg_keystore *ks, const char *zone, uint32_t serial, int64_t as_of,
                          int64_t confirmed_at);
typedef struct sg_ks_propagation {
    int64_t as_of, confirmed_at;
    uint32_t serial;
} sg_ks_propagation;
/* Up to cap rows of zone, newest first, into out; *n_out how many. */
int sg_ks_propagation_list(sg_keystore *ks, const char *zone, sg_ks_propagation *out,
                           size_t cap, size_t *n_out);
/* The latest time the keystore recorded for the zone: its last journal event or key
 * timing point. 0 when it has none. A clock behind it has been stepped back. */
int sg_ks_zone_last_time(sg_keystore *ks, const char *zone, int64_t *t_out);

/* ---- Formats (no database needed) --------------------------------------------------- */

/* DNSKEY RDATA: flags, protocol 3, algorithm, public key. Returns 0 or SG_ESPACE. */
int sg_ks_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pub, size_t pub_len,
                       uint8_t *buf, size_t cap, size_t *len_out);
/* The RDATA of a stored key. */
int sg_ks_key_dnskey_rdata(const sg_ks_key *k, uint8_t *buf, size_t cap, size_t *len_out);
/* RFC 4034 Appendix B key tag of a DNSKEY RDATA. */
uint16_t sg_ks_key_tag(const uint8_t *rdata, size_t len);
/* DS RDATA for a DNSKEY RDATA owned by owner (wire form): tag, alg, digest type, digest.
 * Returns 0, SG_EINVAL (unknown digest type) or SG_ESPACE. */
int sg_ks_ds_rdata(const uint8_t *owner, const uint8_t *dnskey, size_t dnskey_len,
                   uint8_t digest_type, uint8_t *buf, size_t cap, size_t *len_out);
/* Presentation lines, without a newline: "zone. TTL IN DNSKEY 257 3 13 base64" (type is
 * "DNSKEY" or "CDNSKEY") and "zone. TTL IN DS tag alg digest-type HEX" ("DS" or "CDS").
 * Return 0, SG_EINVAL or SG_ESPACE. */
int sg_ks_key_dnskey_text(const sg_ks_key *k, uint32_t ttl, const char *type, char *buf,
                          size_t cap);
int sg_ks_key_ds_text(const sg_ks_key *k, uint32_t ttl, uint8_t digest_type,
                      const char *type, char *buf, size_t cap);

/* The DNSKEY public key field of an OpenSSL key for alg (RFC 3110, 6605, 8080 formats). */
int sg_ks_pkey_to_dnskey(const EVP_PKEY *pkey, uint8_t alg, uint8_t *buf, size_t cap,
                         size_t *len_out);
/* An OpenSSL public key from a DNSKEY public key field (to verify signatures). */
int sg_ks_pkey_from_dnskey(uint8_t alg, const uint8_t *pub, size_t len, EVP_PKEY **pkey_out);
/* Generate a new private key for alg (bits only for RSA). */
int sg_ks_pkey_generate(uint8_t alg, uint16_t bits, EVP_PKEY **pkey_out);
/* Key size in bits as DNSSEC counts it. */
uint16_t sg_ks_pkey_bits(const EVP_PKEY *pkey);

#endif
