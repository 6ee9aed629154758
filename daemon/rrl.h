/* SPDX-License-Identifier: MIT */
/* Response rate limiting: token buckets per (client prefix, response class, name) in a
 * fixed-size, lossy table shared by the workers without locks. The `rrl` plugin
 * (rrl_plugin.c) classifies replies and acts on the decision made here. */
#ifndef SG_RRL_H
#define SG_RRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/cfg.h"

/* What a reply is, for the limit that applies to it. */
typedef enum sg_rrl_class {
    SG_RRL_ANSWER = 0,   /* data or NODATA: one bucket per qname (and qtype for data) */
    SG_RRL_NXDOMAIN,     /* one bucket per zone: random names share it */
    SG_RRL_REFERRAL,     /* one bucket per zone */
    SG_RRL_ERROR,        /* SERVFAIL, FORMERR, REFUSED...: one bucket per client prefix */
    SG_RRL_NCLASS
} sg_rrl_class;

typedef enum sg_rrl_action {
    SG_RRL_PASS = 0,     /* send the reply */
    SG_RRL_DROP,         /* over the limit: send nothing */
    SG_RRL_SLIP,         /* over the limit: send an empty reply with TC=1 */
} sg_rrl_action;

#define SG_RRL_EXEMPT_MAX 32

typedef struct sg_rrl_net {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t bits;
} sg_rrl_net;

typedef struct sg_rrl_cfg {
    uint32_t rate[SG_RRL_NCLASS]; /* replies per second per bucket; 0: not limited */
    uint32_t slip;                /* every slip-th limited reply is sent truncated; 0 never */
    uint32_t window;              /* seconds of excess remembered (the bucket's debt) */
    uint8_t ipv4_prefix, ipv6_prefix;
    uint32_t table_size;          /* buckets (rounded up to a power of two) */
    sg_rrl_net exempt[SG_RRL_EXEMPT_MAX];
    int nexempt;
} sg_rrl_cfg;

/* Parse an `rrl` directive and its block into out (defaults for what is not given:
 * responses 20/s, errors = responses, nxdomains = errors, referrals = responses, slip 2,
 * window 15, prefixes /24 and /56, 65536 buckets). file:line errors, SG_ESYNTAX. */
int sg_rrl_parse(const sg_cfg_block *blk, sg_rrl_cfg *out);

/* Parse "ADDR" or "ADDR/BITS" (IPv4 or IPv6). 0 or SG_ESYNTAX. */
int sg_rrl_parse_net(const char *s, sg_rrl_net *out);

typedef struct sg_rrl sg_rrl;

/* A table for cfg (copied). NULL when out of memory. Free with sg_rrl_free. */
sg_rrl *sg_rrl_new(const sg_rrl_cfg *cfg);
void sg_rrl_free(sg_rrl *r);

/* 1 if the client's address is in an exempt network. */
int sg_rrl_exempt(const sg_rrl *r, const struct sockaddr *client);

/* Debit the bucket of (client's prefix, cls, name [, qtype]) for one reply at now_ns
 * (monotonic nanoseconds) and say what to do with the reply. name: wire form, lower
 * case (may be NULL for the error class); qtype 0 leaves the type out of the key.
 * Safe to call from any number of threads at once. */
sg_rrl_action sg_rrl_account(sg_rrl *r, const struct sockaddr *client, sg_rrl_class cls,
                             const uint8_t *name, size_t name_len, uint16_t qtype,
                             uint64_t now_ns);

#endif
