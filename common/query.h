/* SPDX-License-Identifier: MIT */
/* The query context that flows down the plugin chain and the reply that flows back up. */
#ifndef SG_QUERY_H
#define SG_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/name.h"
#include "common/rrset.h"

enum sg_transport { SG_TRANSPORT_UDP = 0, SG_TRANSPORT_TCP = 1, SG_TRANSPORT_TLS = 2 };

enum {
    SG_RCODE_NOERROR = 0, SG_RCODE_FORMERR = 1, SG_RCODE_SERVFAIL = 2, SG_RCODE_NXDOMAIN = 3,
    SG_RCODE_NOTIMP = 4, SG_RCODE_REFUSED = 5, SG_RCODE_NOTAUTH = 9, SG_RCODE_BADVERS = 16,
};

/* What the zone lookup found; the signer reads it to choose its proofs. */
enum sg_answer_kind {
    SG_KIND_NONE = 0,
    SG_KIND_ANSWER,          /* data for the name and type (maybe through CNAMEs) */
    SG_KIND_NODATA,          /* the name exists (or is an empty non-terminal), not the type */
    SG_KIND_NXDOMAIN,        /* the name does not exist */
    SG_KIND_DELEGATION,      /* referral to a child zone */
    SG_KIND_WILDCARD,        /* answer synthesized from a wildcard */
    SG_KIND_WILDCARD_NODATA, /* wildcard matched, type absent */
};

/* Extended DNS Error INFO-CODEs (RFC 8914 4) */
enum { SG_EDE_FILTERED = 17, SG_EDE_PROHIBITED = 18 };

/* Reference flags */
#define SG_REF_GLUE      0x01 /* glue or delegation NS: never signed */
#define SG_REF_REQUIRED  0x02 /* in the additional section, but TC=1 if it does not fit */
#define SG_REF_SYNTH     0x04 /* owner synthesized from a wildcard; see source */
#define SG_REF_NOCACHE   0x08 /* made for this query only: its signature is not cached */
#define SG_REF_DENIAL    0x10 /* an NSEC/NSEC3 record of the signer's chain */
#define SG_REF_KEYSET    0x20 /* DNSKEY/CDS/CDNSKEY from the signer's key set */

/* One RRset placed in a section of the reply. Points into zone or arena memory that
 * outlives the query. */
typedef struct sg_rr_ref {
    const uint8_t *owner;  /* wire name to write as owner */
    const sg_rrset *rrset;
    uint32_t ttl;          /* TTL written (the RRset's, or less for negative SOA) */
    uint16_t flags;
    const uint8_t *source; /* for SG_REF_SYNTH: the wildcard owner "*.x" */
} sg_rr_ref;

#define SG_SECTION_MAX 64

typedef struct sg_section {
    uint16_t n;
    sg_rr_ref refs[SG_SECTION_MAX];
} sg_section;

struct sg_zone;
struct sg_node;

/* A reply of several messages (a zone transfer over TCP). The plugin that answers sets it
 * and renders the first message into out as usual; the server then asks next() for each
 * following one as the connection's write buffer drains, and calls done() once, at the
 * end or when the connection goes. ctx must not point into the runtime: reloads happen
 * while a stream runs. */
typedef struct sg_stream {
    /* Render the next message into out (cap bytes): its length, 0 at the end, or a negative
     * SG_E* to close the connection. */
    long (*next)(void *ctx, uint8_t *out, size_t cap);
    void (*done)(void *ctx);
    void *ctx;
} sg_stream;

typedef struct sg_query {
    /* the request, as parsed by sg_wire_parse_query */
    const uint8_t *wire;
    size_t wire_len;
    uint8_t transport;          /* enum sg_transport */
    const struct sockaddr *client;
    socklen_t client_len;
    uint16_t id;
    uint16_t hflags;            /* the query's header flags word */
    uint8_t opcode;
    uint8_t qname[SG_NAME_MAX]; /* lower-cased; the wire copy keeps the client's case */
    uint8_t qname_len;
    uint8_t qlabels;
    uint16_t qtype;
    uint16_t qclass;
    uint16_t question_len;      /* bytes of the question in wire, from offset 12 (0: none) */
    /* EDNS(0) */
    uint8_t has_edns;
    uint8_t edns_version;
    uint8_t do_bit;
    uint16_t edns_payload;      /* client's UDP payload size */
    uint16_t max_size;          /* the largest reply this transport takes */
    uint16_t server_payload;    /* what we advertise in our OPT */
    uint8_t cookie_len;         /* DNS COOKIE option (RFC 7873): 0 none, 8 client cookie
                                 * only, 16..40 client and server cookie */
    uint8_t cookie_valid;       /* the server cookie is one we made for this client */
    uint8_t cookie[40];
    uint16_t tsig_at;           /* offset in wire of the request's TSIG RR, the last
                                 * record (0: unsigned); the server core takes it off an
                                 * ordinary query before the chain (daemon/tsig_query.h) */

    /* the reply */
    uint16_t rcode;             /* 12-bit extended rcode */
    uint8_t aa;
    uint8_t tc;
    uint8_t drop;               /* send nothing */
    uint8_t has_ede;            /* an Extended DNS Error (RFC 8914) goes in the OPT, when
                                 * the query had EDNS */
    uint16_t ede_code;          /* its INFO-CODE (SG_EDE_*) */
    uint16_t opt_at;            /* where sg_wire_render put the OPT (0: none, or a reply
                                 * not rendered here, whose OPT is the last 11 octets) */
    uint32_t valid_until;       /* UNIX time after which the reply must not be reused
                                 * (0: its TTLs decide); the signer lowers it to each
                                 * signature's refresh point, the cache reads it */
    sg_section an, ns, ar;

    /* facts recorded by the zone lookup for later plugins */
    uint8_t kind;               /* enum sg_answer_kind */
    const struct sg_zone *zone;
    const struct sg_node *node;     /* the node answered from (last in a CNAME chain) */
    const struct sg_node *encloser; /* closest encloser for NXDOMAIN / wildcard */

    /* the rendered reply; a plugin that writes it itself (cache) sets out_len */
    uint8_t *out;
    size_t out_cap;
    size_t out_len;
    sg_stream stream;           /* more messages follow (TCP only); set by the answering plugin */

    /* Set by a plugin before the signer (rrl) for this query only: the signer calls it
     * once the lookup has made the reply and before it signs anything; nonzero means the
     * reply will not go out as made (dropped, or slipped to TC=1), and the signer then
     * makes no signature for it (a flood of random names otherwise cost a signature each
     * even when every reply was dropped). `limited` is what it decided: 0 not asked,
     * else 1 + enum sg_rrl_action; a plugin that stores replies stores none above 1. */
    int (*before_sign)(void *ctx, struct sg_query *q);
    void *before_sign_ctx;
    uint8_t limited;

    struct sg_arena *arena;     /* per-query scratch (signatures), reset per query */
    void *worker;               /* the worker thread's context */
    uint64_t start_ns;          /* monotonic time the query arrived */
} sg_query;

/* Reset the reply part of q (sections, rcode, flags, facts), keep the request. */
void sg_query_reset_reply(sg_query *q);

/* Append a reference to a section. Returns 0 or SG_ESPACE when the section is full. */
int sg_section_add(sg_section *s, const uint8_t *owner, const sg_rrset *rrset,
                   uint32_t ttl, uint16_t flags);

#endif
