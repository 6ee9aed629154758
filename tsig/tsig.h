/* SPDX-License-Identifier: MIT */
/* TSIG (RFC 8945): shared-secret keys, a keyring, and signing/verifying DNS messages on
 * the wire, including the multi-message rules of AXFR/IXFR streams. */
#ifndef SG_TSIG_H
#define SG_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/name.h"

/* TSIG error codes carried in the TSIG RR (and the rcode NOTAUTH; RFC 8945 5.2). */
enum {
    SG_TSIG_NOERROR = 0,
    SG_TSIG_BADSIG = 16,
    SG_TSIG_BADKEY = 17,
    SG_TSIG_BADTIME = 18,
    SG_TSIG_BADTRUNC = 22,
};

enum sg_tsig_alg {
    SG_TSIG_HMAC_SHA1 = 1,  /* accepted for interop; not the default */
    SG_TSIG_HMAC_SHA256,    /* the default */
    SG_TSIG_HMAC_SHA384,
    SG_TSIG_HMAC_SHA512,
};

#define SG_TSIG_MAC_MAX 64     /* SHA-512 output */
#define SG_TSIG_SECRET_MAX 512 /* bytes of raw secret accepted */
#define SG_TSIG_FUDGE 300      /* seconds, RFC 8945 10 recommends 300 */

/* One key. Everything is owned by the keyring that holds it. */
typedef struct sg_tsig_key {
    uint8_t name[SG_NAME_MAX];  /* wire form, lower case (its canonical form) */
    char name_text[SG_NAME_MAX * 4 + 2]; /* "xfr.example." */
    enum sg_tsig_alg alg;
    const char *alg_name;       /* as ldns expects it: "hmac-sha256." (static storage) */
    const uint8_t *alg_wire;    /* the algorithm's wire name (static storage) */
    uint8_t *secret;            /* raw secret bytes */
    size_t secret_len;
    char *secret_b64;           /* the secret in base64, for ldns_resolver_set_tsig_keydata */
} sg_tsig_key;

typedef struct sg_tsig_keyring sg_tsig_keyring;

/* Algorithm text ("hmac-sha256", "hmac-sha256.", case-insensitive) to enum; 0 or SG_EINVAL. */
int sg_tsig_alg_parse(const char *text, enum sg_tsig_alg *alg_out);
/* "hmac-sha256." for an algorithm; NULL for an unknown value. */
const char *sg_tsig_alg_name(enum sg_tsig_alg alg);
/* MAC (hash output) length in bytes for an algorithm. */
size_t sg_tsig_alg_mac_len(enum sg_tsig_alg alg);

/* An empty keyring; NULL on allocation failure. Free with sg_tsig_keyring_free (which wipes
 * the secrets). */
sg_tsig_keyring *sg_tsig_keyring_new(void);
void sg_tsig_keyring_free(sg_tsig_keyring *kr);
/* Add a key from its name text, algorithm text and base64 secret. SG_EINVAL for a bad name,
 * algorithm or secret (an empty secret included), SG_EEXIST if the name is taken. */
int sg_tsig_keyring_add(sg_tsig_keyring *kr, const char *name, const char *alg, const char *b64);
/* Add a key whose file holds "ALGORITHM BASE64SECRET" (whitespace, '#' comments allowed).
 * SG_EIO when it cannot be read, SG_EINVAL when group or other may read or write it (the
 * secret would not be secret) or its content is bad. */
int sg_tsig_keyring_add_file(sg_tsig_keyring *kr, const char *name, const char *path);
/* The config directive `tsig-key NAME ALGORITHM BASE64` or `tsig-key NAME file PATH`:
 * errors are logged as file:line (never with the secret). 0 or SG_ESYNTAX. */
int sg_tsig_config_directive(sg_tsig_keyring *kr, const sg_cfg_block *d);
/* Number of keys, and the i-th key (for listing). */
int sg_tsig_keyring_count(const sg_tsig_keyring *kr);
const sg_tsig_key *sg_tsig_keyring_at(const sg_tsig_keyring *kr, int i);

/* A key by its name in text ("xfr.example" or "xfr.example."), case-insensitive; NULL if
 * none (or kr is NULL). */
const sg_tsig_key *sg_tsig_find(const sg_tsig_keyring *kr, const char *name_text);
/* A key by its wire name (any case); NULL if none. */
const sg_tsig_key *sg_tsig_find_wire(const sg_tsig_keyring *kr, const uint8_t *name);

/* A copy of a key that outlives its keyring (transfers and NOTIFY run across reloads).
 * NULL on allocation failure (or k NULL); free with sg_tsig_key_free (wipes the secret). */
sg_tsig_key *sg_tsig_key_dup(const sg_tsig_key *k);
void sg_tsig_key_free(sg_tsig_key *k);

/* Base64 of data: a malloc'd NUL-terminated string, or NULL. */
char *sg_tsig_b64_encode(const uint8_t *data, size_t len);

/* The state of one TSIG exchange: a request and its response, or a request and the stream
 * of messages that answers it (AXFR/IXFR). Caller-owned; sg_tsig_ctx_init / _deinit. */
typedef struct sg_tsig_ctx {
    const sg_tsig_key *key;     /* the key in use (set by init or by verify_request) */
    uint8_t key_name[SG_NAME_MAX]; /* names to sign with: the key's, or a request's whose */
    uint8_t alg_wire[SG_NAME_MAX]; /* key we do not know (BADKEY replies) */
    uint8_t mac[SG_TSIG_MAC_MAX]; /* the previous MAC of the exchange (request MAC first) */
    size_t mac_len;
    int nmsg;                   /* messages of the response stream signed/verified so far */
    int unsigned_run;           /* unsigned messages since the last signed one (verifier) */
    uint16_t error;             /* TSIG error to put in the next response */
    uint64_t req_time;          /* time signed of the request (for BADTIME replies) */
    uint16_t fudge;             /* fudge we sign with */
    size_t min_mac_len;         /* local policy: shortest truncated MAC accepted (0: RFC
                                 * minimum, max(10, half the hash)) */
    void *pending;              /* running MAC over unsigned messages (verifier) */
} sg_tsig_ctx;

/* Start an exchange with key (may be NULL for a server that learns it from the request). */
void sg_tsig_ctx_init(sg_tsig_ctx *ctx, const sg_tsig_key *key);
/* Wipe the MAC state. */
void sg_tsig_ctx_deinit(sg_tsig_ctx *ctx);

/* Verify a request that arrived at a server. Returns SG_ENOTFOUND when msg has no TSIG,
 * SG_EMALFORMED when it is broken (FORMERR: TSIG not last, bad RDATA, MAC size out of the
 * RFC 8945 5.2.2.1 bounds), or 0 when it was checked: *error_out is then SG_TSIG_NOERROR
 * (authentic; ctx now holds the key and request MAC to sign the response) or BADKEY,
 * BADSIG, BADTIME, BADTRUNC (reply NOTAUTH through sg_tsig_sign, which sends the MAC-less
 * TSIG RR that BADKEY and BADSIG require). now: seconds since the epoch. */
int sg_tsig_verify_request(sg_tsig_ctx *ctx, const sg_tsig_keyring *kr, const uint8_t *msg,
                           size_t len, uint64_t now, uint16_t *error_out);

/* Verify one message of a response (or of a response stream) to a request signed with
 * sg_tsig_sign on ctx. The first message must be signed; later ones may come unsigned (at
 * most 99 in a row; RFC 8945 5.3.1) and are folded into the next signed message's MAC.
 * Returns as sg_tsig_verify_request; SG_ENOTFOUND for an unsigned first message or too
 * long an unsigned run; an unsigned message inside the limit returns 0 with NOERROR. */
int sg_tsig_verify_response(sg_tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now,
                            uint16_t *error_out);

/* Sign a rendered message in place: append the TSIG RR (msg must have room: cap bytes in
 * all) and increment ARCOUNT. The message's ID is its Original ID. A request when ctx has no
 * previous MAC; the first response (request MAC + full variables) or a later message of a
 * stream (previous MAC + timers only) otherwise. When ctx->error is BADKEY or BADSIG the
 * TSIG RR goes without a MAC (RFC 8945 5.3.2); BADTIME adds the server's time as Other
 * Data. Returns 0, SG_ESPACE, SG_EINVAL (no key) or SG_ELIB. */
int sg_tsig_sign(sg_tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/* Room a TSIG RR for key needs at the end of a message (to reserve while rendering). */
size_t sg_tsig_rr_size(const sg_tsig_key *key);

#endif
