/* SPDX-License-Identifier: MIT */
/* Definitions shared by the registrar's files: credentials, HTTP, backoff, the provider
 * interface and the journal a worker fills for the tick to write. */
#ifndef SG_REG_INTERNAL_H
#define SG_REG_INTERNAL_H

#include "registrar/registrar.h"

#include <jansson.h>
#include <stdatomic.h>

/* ---- Credentials (credentials.c) --------------------------------------------------- */

#define SG_REG_CRED_MAX 16
typedef struct sg_reg_cred {
    char *key[SG_REG_CRED_MAX];
    char *val[SG_REG_CRED_MAX];   /* secrets: cleansed on free */
    int n;
} sg_reg_cred;

/* Load "name = value" lines from path, refusing (SG_REG_ECRED) a file that group or
 * others can read or that is not a regular file; why gets the reason (no secret). */
int sg_reg_cred_load_file(const char *path, sg_reg_cred *out, char *why, size_t cap);
/* Collect the variables PREFIX<NAME> for each name in names (upper case, '-' -> '_'). */
int sg_reg_cred_load_env(const char *prefix, const char *const *names, sg_reg_cred *out);
const char *sg_reg_cred_get(const sg_reg_cred *c, const char *key);
void sg_reg_cred_free(sg_reg_cred *c);
/* Replace every credential value found in text by "***" (in place). */
void sg_reg_cred_redact(const sg_reg_cred *c, char *text);

/* ---- Backoff (backoff.c) ------------------------------------------------------------ */

/* Delay before retry number attempt (1 = first retry): base * 2^(attempt-1) capped at max,
 * with jitter drawn from rnd (uniform 32-bit): between half and all of it; never less than
 * retry_after (the server's Retry-After, 0 if none). Seconds. */
uint32_t sg_reg_backoff(unsigned attempt, uint32_t base, uint32_t max, uint32_t retry_after,
                        uint32_t rnd);
/* Retry-After: delta-seconds or an HTTP date; seconds from now (0 if absent or bad). */
uint32_t sg_reg_retry_after(const char *value, int64_t now);
/* 1 if an HTTP status (0: no response) is worth retrying: network errors, 429 and 5xx. */
int sg_reg_retryable(long status);

/* ---- Journal: what a worker did, written as events by the tick ---------------------- */

typedef struct sg_reg_note {
    char state[16];     /* events.new_state: reg-call, reg-ok, reg-retry, ... */
    char reason[256];
} sg_reg_note;
typedef struct sg_reg_journal {
    sg_reg_note *v;
    size_t n, cap;
} sg_reg_journal;
void sg_reg_note_add(sg_reg_journal *j, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sg_reg_journal_free(sg_reg_journal *j);

/* ---- HTTP (http.c) ------------------------------------------------------------------ */

typedef struct sg_http_resp {
    long status;         /* 0: no response (network error) */
    char *body;          /* NUL-terminated, free() */
    size_t len;
    uint32_t retry_after;
    char cookie[512];    /* the first Set-Cookie's NAME=VALUE (a session: INWX), or "" */
    char err[256];       /* curl's message on a network error */
} sg_http_resp;

/* One HTTPS request with verification on (cfg->ca_file adds trust anchors), the
 * configured timeouts and extra headers ("Name: value"). userpwd: HTTP Basic or NULL.
 * Returns 0 when a response arrived (any status), SG_EIO otherwise. */
int sg_http_do(const sg_reg_cfg *cfg, const char *method, const char *url,
               const char *const *headers, int nheaders, const char *body,
               const char *userpwd, sg_http_resp *resp);
void sg_http_resp_free(sg_http_resp *r);
/* One response header line as libcurl hands it over (n bytes, not NUL-terminated, CRLF
 * included): Retry-After goes into r->retry_after, the first Set-Cookie into r->cookie. */
void sg_http_header(sg_http_resp *r, const char *line, size_t n);

/* ---- Providers ---------------------------------------------------------------------- */

/* What a provider call works with: the config, the credentials, the registrar's name for
 * the domain, and the journal of calls. */
typedef struct sg_reg_ctx {
    const sg_reg_cfg *cfg;
    const sg_reg_cred *cred;
    const char *zone;          /* absolute, trailing dot */
    char domain[256];          /* no trailing dot */
    const char *base;          /* API base URL, no trailing slash */
    sg_reg_journal *journal;
    uint32_t ds_ttl;           /* the TTL the DS records get where the API takes one
                                * (the policy's parent-ds-ttl; set by sg_reg_push) */
    uint32_t retry_after;      /* from the last transient failure */
    char cookie[512];          /* a session the registrar handed out (INWX's cookie,
                                * Openprovider's token), kept for the calls of one push;
                                * "" when none. Never journalled */
    char domain_id[32];        /* the registrar's id of the domain (Openprovider), "" */
    const atomic_int *stopping; /* set when the registrar is being freed: a task poll gives
                                 * up at once (may be NULL) */
    int verbose;               /* journal each request's body and each reply's start
                                * (signetctl registrar test), redacted */
    char err[256];             /* the last failure, for people (redacted) */
} sg_reg_ctx;

typedef struct sg_reg_provider {
    const char *name;
    const char *default_base;
    const char *const *cred_keys;   /* the credential names it needs (NULL-terminated) */
    int (*list)(sg_reg_ctx *ctx, sg_reg_dsset *out);
    int (*add)(sg_reg_ctx *ctx, const sg_reg_ds *ds);
    int (*remove)(sg_reg_ctx *ctx, const sg_reg_ds *have);
    int (*replace)(sg_reg_ctx *ctx, const sg_reg_dsset *want); /* whole-set APIs, or NULL */
    /* ends the session the calls opened (INWX account.logout), or NULL; called through
     * sg_reg_ctx_end once a push or a listing is over */
    void (*end)(sg_reg_ctx *ctx);
    /* 1: the API takes the DNSKEY (flags, algorithm, public key) and computes the DS
     * itself, so listed records are compared by key, not by digest */
    int takes_dnskey;
    /* 1: nothing is pushed (cds: the registry scans the child's CDS/CDNSKEY); list and
     * the writes are NULL, and the parent check alone confirms */
    int scan_only;
} sg_reg_provider;

const sg_reg_provider *sg_reg_provider_find(const char *name);
extern const sg_reg_provider sg_reg_provider_rest, sg_reg_provider_porkbun,
    sg_reg_provider_dnsimple, sg_reg_provider_ovh, sg_reg_provider_update,
    sg_reg_provider_route53, sg_reg_provider_cds, sg_reg_provider_inwx, sg_reg_provider_namecom,
    sg_reg_provider_gandi, sg_reg_provider_openprovider;
/* The provider names, for messages: "manual, rest, porkbun, ..." */
const char *sg_reg_provider_names(void);

/* One API call: base + path, journalled as "METHOD path -> status". 2xx: 0 and, when
 * json_out is not NULL, the parsed body (json_decref; SG_EMALFORMED if it is not JSON).
 * 429/5xx/network: SG_REG_ERETRY (ctx->retry_after set). Other statuses: SG_REG_EREJECT,
 * with the registrar's message in ctx->err. */
int sg_reg_call(sg_reg_ctx *ctx, const char *method, const char *path,
                const char *const *headers, int nheaders, const char *body,
                const char *userpwd, json_t **json_out);
/* The outcome of a response that arrived (r->status set): the second half of
 * sg_reg_call, apart so that the fuzzer drives it without a network. shown: the path for
 * the journal. Frees nothing. */
int sg_reg_call_result(sg_reg_ctx *ctx, const char *method, const char *shown,
                       const sg_http_resp *r, json_t **json_out);
/* Set ctx->err (redacted) and return rc. */
int sg_reg_fail(sg_reg_ctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* List, diff, then add the missing records before removing the extra ones (so that the
 * parent never has fewer DS than needed), or replace the set on whole-set APIs. *changed
 * says whether anything was changed. */
int sg_reg_push(sg_reg_ctx *ctx, const sg_reg_provider *p, const sg_reg_dsset *want,
                int *changed);

/* Poll an asynchronous registrar task until check says it is done (*done = 1; 0 returned)
 * or failed (an error returned), sleeping 0.25 s, doubling up to 4 s, between checks, for
 * at most cfg->task_timeout seconds (then SG_REG_ERETRY). check writes the task's current
 * state into state (cap bytes) for the message. what: "OVHcloud task 42", for people. */
typedef int (*sg_reg_task_fn)(sg_reg_ctx *ctx, void *arg, int *done, char *state, size_t cap);
int sg_reg_wait_task(sg_reg_ctx *ctx, const char *what, sg_reg_task_fn check, void *arg);

/* Field helpers for the JSON providers. */
int sg_reg_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len_out);
void sg_reg_hex_encode(const uint8_t *in, size_t len, char *out, int upper);
int sg_reg_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int sg_reg_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out);
/* A JSON number or numeric string as an unsigned in [0, max]; -1 if neither. */
long sg_reg_json_uint(const json_t *v, unsigned long max);

/* Provider internals exposed to the unit tests. */
char *sg_reg_porkbun_create_body(const sg_reg_cred *c, const sg_reg_ds *ds);
int sg_reg_porkbun_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap);
char *sg_reg_dnsimple_create_body(const sg_reg_ds *ds);
int sg_reg_dnsimple_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap);
char *sg_reg_ovh_keys_body(const sg_reg_dsset *want);
int sg_reg_ovh_parse_key(const json_t *root, sg_reg_ds *out, char *err, size_t cap);
/* "$1$" + SHA1_HEX(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TS) into out[45]. */
int sg_reg_ovh_signature(const char *as, const char *ck, const char *method, const char *url,
                         const char *body, int64_t ts, char out[45]);
/* OVHcloud endpoint names (ovh-eu, ovh-ca, ovh-us) as base URLs; NULL if not one. */
const char *sg_reg_ovh_endpoint(const char *name);
char *sg_reg_ovh_task_path(const char *domain, long id);

/* Listings (listing.c), shared by the providers' parsers. The array under member of
 * root (member NULL: root itself): *list_out NULL and 0 when member is absent or null,
 * SG_EMALFORMED with shown as the reason when it is not an array. */
int sg_reg_listing_array(const json_t *root, const char *member, const char *shown,
                         const json_t **list_out, char *err, size_t cap);
/* A listed record's optional fields: flags and tag when positive, the digest when its
 * type is positive and it is hex (else none). */
void sg_reg_listing_fill(sg_reg_ds *d, long flags, long tag, long digest_type,
                         const char *digest_hex);
/* Add d to out; on failure out is emptied and SG_ENOMEM returned. */
int sg_reg_listing_add(sg_reg_dsset *out, const sg_reg_ds *d);
/* A malformed listing: the reason into err, out emptied; returns SG_EMALFORMED. */
int sg_reg_listing_bad(sg_reg_dsset *out, char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* TOTP (totp.c): the RFC 6238 code (HMAC-SHA1, T0 = 0) of key at time now, in step
 * seconds, of digits (6..9) digits, into out. 0, SG_EINVAL or SG_ELIB. */
int sg_reg_totp(const uint8_t *key, size_t keylen, int64_t now, unsigned step, unsigned digits,
                char *out, size_t cap);
/* RFC 4648 base32 (upper or lower case; blanks, '-' and '=' ignored) into out.
 * 0, SG_EMALFORMED (not base32, or empty) or SG_ESPACE. */
int sg_reg_base32_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out);

/* AWS Signature Version 4 (sigv4.c). The request as it goes on the wire: method, path
 * (already URI-encoded), query ("" or "a=1&b=2", already encoded; sorted here), headers
 * (names in any case, each "name: value"; every one is signed), the body. amz_date is
 * "YYYYMMDDTHHMMSSZ" (the X-Amz-Date header, which must be among the headers). Writes
 * the Authorization header value into out. 0, SG_ESPACE or SG_ELIB. */
typedef struct sg_sigv4_req {
    const char *method, *path, *query;
    const char *const *headers;
    int nheaders;
    const char *body;
    size_t body_len;
    const char *access_key, *secret_key, *region, *service, *amz_date;
} sg_sigv4_req;
int sg_sigv4_authorization(const sg_sigv4_req *req, char *out, size_t cap);
/* The canonical request and the string to sign of req, for the tests (malloc'ed). */
int sg_sigv4_canonical(const sg_sigv4_req *req, char **creq_out, char **sts_out);
/* INWX, Name.com and Gandi internals for the unit tests. */
char *sg_reg_inwx_request(const char *method, json_t *params);
int sg_reg_inwx_parse_keys(const json_t *res, sg_reg_dsset *out, char *err, size_t cap);
char *sg_reg_namecom_create_body(const sg_reg_ds *ds);
int sg_reg_namecom_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap);
char *sg_reg_gandi_create_body(const sg_reg_ds *ds);
char *sg_reg_openprovider_update_body(const sg_reg_dsset *want);
int sg_reg_openprovider_parse_keys(const json_t *data, sg_reg_dsset *out, char *err, size_t cap);
int sg_reg_gandi_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap);
/* Route 53 Domains internals for the unit tests. */
char *sg_reg_route53_associate_body(const char *domain, const sg_reg_ds *ds);
int sg_reg_route53_parse_detail(const json_t *root, sg_reg_dsset *out, char *err, size_t cap);

/* Expand a rest template; json_escape: values are escaped for a JSON string. */
char *sg_reg_rest_expand(const char *tmpl, const sg_reg_ctx *ctx, const sg_reg_ds *ds,
                         int json_escape);
int sg_reg_rest_parse_list(const sg_reg_cfg *cfg, const json_t *root, sg_reg_dsset *out,
                           char *err, size_t cap);

/* The manual provider (provider_manual.c): log and journal what the operator must do. */
void sg_reg_manual_announce(const char *zone, const sg_reg_dsset *want, int unsigning,
                            sg_reg_journal *j);

/* ---- Parent checks (parent.c) ------------------------------------------------------- */

/* sg_reg_parent_query and sg_reg_parent_servers: registrar.h. */
/* 1 if served matches want: every wanted DS is served and every served DS belongs to a
 * wanted key (tag and algorithm): another digest type of a wanted key is tolerated. */
int sg_reg_served_matches(const sg_reg_dsset *served, const sg_reg_dsset *want);

#endif
