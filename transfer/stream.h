/* SPDX-License-Identifier: MIT */
/* The message stream of one outgoing AXFR/IXFR (used by the transfer plugin and tests). */
#ifndef SG_XFR_STREAM_H
#define SG_XFR_STREAM_H

#include <time.h>

#include "transfer/transfer.h"

enum sg_xfr_mode {
    SG_XFR_AXFR = 0,  /* the whole version (also an IXFR the journal cannot bridge) */
    SG_XFR_IXFR,      /* journal diffs */
    SG_XFR_SOA_ONLY,  /* the secondary is current (or UDP): the SOA alone */
};

typedef struct sg_xfr_stream {
    sg_xfr_snap *snap;        /* one reference, held until the end */
    enum sg_xfr_mode mode;
    sg_xfr_diff **diffs;      /* references, for IXFR */
    size_t nd, di;
    size_t pos;
    const sg_xfr_rr *pending; /* did not fit in the previous message */
    int finished;
    uint16_t id;
    uint8_t question[SG_NAME_MAX + 4];
    size_t qlen;
    uint8_t snap_apex[SG_NAME_MAX];
    int q_is_apex;
    const uint8_t *last_owner;
    size_t last_owner_off;
    int signed_;
    sg_tsig_key *key;         /* a copy: the keyring may go with a reload */
    sg_tsig_ctx tc;
    size_t records, messages, bytes;
    struct timespec t0;
    char zone[1024];
    char kind[24];
    char peer[80];
} sg_xfr_stream;

/* A stream over snap (its reference and the diffs' pass to the stream) answering q; tc
 * (copied; its key duplicated) when the request was TSIG-signed, else NULL. NULL when out
 * of memory (the references stay with the caller). */
sg_xfr_stream *sg_xfr_stream_new(sg_xfr_snap *snap, enum sg_xfr_mode mode, sg_xfr_diff **diffs,
                                 size_t nd, const sg_query *q, const sg_tsig_ctx *tc,
                                 const char *kind, const char *peer);
/* sg_stream callbacks: render the next message (length, 0 at the end, or SG_E*), and
 * free the stream (logging what was sent). */
long sg_xfr_stream_next(void *ctx, uint8_t *out, size_t cap);
void sg_xfr_stream_free(void *ctx);

#endif
