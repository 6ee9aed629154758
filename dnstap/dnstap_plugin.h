/* SPDX-License-Identifier: MIT */
/* The `dnstap` plugin's configuration, parsed apart from its setup for the unit tests. */
#ifndef SG_DNSTAP_PLUGIN_H
#define SG_DNSTAP_PLUGIN_H

#include "common/cfg.h"
#include "dnstap/dnstap_output.h"

#define SG_DNSTAP_TEXT_MAX 256 /* identity, version and extra, bytes with the NUL */
#define SG_DNSTAP_QUEUE_DEFAULT 1024

typedef struct sg_dnstap_config {
    sg_dnstap_endpoint endpoint;
    int full;          /* the wire messages go into the frames */
    int queries;       /* AUTH_QUERY frames are sent */
    int responses;     /* AUTH_RESPONSE frames are sent */
    unsigned sample;   /* one query in `sample` is mirrored (1: all) */
    unsigned queue;    /* frames per input queue (power of two) */
    char identity[SG_DNSTAP_TEXT_MAX]; /* default: the host name */
    char version[SG_DNSTAP_TEXT_MAX];  /* default: "signet VERSION" */
    char extra[SG_DNSTAP_TEXT_MAX];    /* default: none */
} sg_dnstap_config;

/* Parse `dnstap SOCKET [full] [queries|responses] { identity NAME; version TEXT;
 * extra TEXT; sample N; queue N }` into out (docs/plugins/dnstap.md). 0, or SG_ESYNTAX
 * after logging FILE:LINE and what was expected. */
int sg_dnstap_parse(const sg_cfg_block *blk, sg_dnstap_config *out);

#endif
