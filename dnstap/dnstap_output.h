/* SPDX-License-Identifier: MIT */
/* Where dnstap frames go: a Frame Streams connection (a Unix socket or TCP) written by
 * libfstrm's I/O thread, fed through its bounded queues so that the query path never
 * waits, with every frame counted as sent or dropped. */
#ifndef SG_DNSTAP_OUTPUT_H
#define SG_DNSTAP_OUTPUT_H

#include "common/metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The reader's address. */
typedef struct sg_dnstap_endpoint {
    struct sockaddr_storage addr; /* AF_UNIX, AF_INET or AF_INET6 */
    socklen_t len;
    char text[sizeof(struct sockaddr_un) + 16]; /* for log lines: "unix:PATH", "tcp:ADDR:PORT" */
} sg_dnstap_endpoint;

/* Parse a socket as the config gives it: "unix:///PATH", "unix:PATH", "/PATH" (a Unix
 * socket), or "tcp://ADDR:PORT" with an IPv4 or [IPv6] address (no names: an
 * authoritative server should not depend on a resolver to log). 0, or SG_EINVAL with *why
 * set to what is wrong. */
int sg_dnstap_endpoint_parse(const char *s, sg_dnstap_endpoint *out, const char **why);

/* Counters of an output (sg_counters indexes). */
enum { SG_DNSTAP_SENT = 0, SG_DNSTAP_DROPPED = 1, SG_DNSTAP_NCOUNTERS = 2 };

typedef struct sg_dnstap_output sg_dnstap_output;

typedef struct sg_dnstap_output_cfg {
    sg_dnstap_endpoint endpoint;
    unsigned queue;      /* frames each input queue holds, a power of two in
                          * [2, 16384] (libfstrm's limits) */
    unsigned nqueues;    /* input queues: a thread uses queue sg_metrics_tls_slot (its
                          * worker row), modulo this, so workers do not share one */
    unsigned timeout_ms; /* the longest a connect, write or handshake read may block the
                          * I/O thread before the connection is given up (a stopped
                          * reader must not hold frames, or a reload, for ever) */
    sg_counters *counters; /* SG_DNSTAP_NCOUNTERS of them; must outlive the output */
} sg_dnstap_output_cfg;

/* Start the I/O thread (sg-dnstap), which connects to the endpoint, reconnects every
 * second while it cannot, and writes frames; frames handed over while it is not
 * connected are dropped (and counted). 0, SG_EINVAL, SG_ENOMEM or SG_ELIB. Free with
 * sg_dnstap_output_free. */
int sg_dnstap_output_new(const sg_dnstap_output_cfg *cfg, sg_dnstap_output **out);

/* Hand one frame over, taking buf (malloc'd, len bytes) in every case. Never blocks: a
 * full queue drops the frame. Any thread. */
void sg_dnstap_output_send(sg_dnstap_output *o, uint8_t *buf, size_t len);

/* Stop the I/O thread (frames queued are written first when connected, within the
 * timeout), close the connection, free o. NULL is fine. */
void sg_dnstap_output_free(sg_dnstap_output *o);

#endif
