/* SPDX-License-Identifier: MIT */
/* One dnstap frame (an AUTH_QUERY or AUTH_RESPONSE Dnstap message) from what the query
 * path knows about a query and its reply. */
#ifndef SG_DNSTAP_MESSAGE_H
#define SG_DNSTAP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* What every frame of an instance carries (Dnstap.identity, .version, .extra): NUL
 * terminated text, NULL or "" to leave the field out. */
typedef struct sg_dnstap_header {
    const char *identity;
    const char *version;
    const char *extra;
} sg_dnstap_header;

/* One end of an exchange as the server saw it. */
typedef struct sg_dnstap_event {
    int response;                  /* 0: AUTH_QUERY, else AUTH_RESPONSE */
    const struct sockaddr *client; /* AF_INET or AF_INET6; anything else leaves the address out */
    uint8_t transport;             /* enum sg_transport (common/query.h) */
    struct timespec query_time;    /* wall clock: when the query arrived */
    struct timespec response_time; /* wall clock: when the reply was made (responses) */
    const uint8_t *message;        /* the query (AUTH_QUERY) or the reply (AUTH_RESPONSE)
                                    * in wire form; NULL to leave it out */
    size_t message_len;
} sg_dnstap_event;

/* Encode ev under h as a dnstap protobuf payload in a new buffer of *len_out bytes, which
 * the caller frees with free() (Frame Streams takes ownership of each frame, so the
 * buffer is the frame: one allocation, no copy). 0, SG_EINVAL or SG_ENOMEM. */
int sg_dnstap_encode(const sg_dnstap_header *h, const sg_dnstap_event *ev, uint8_t **out,
                     size_t *len_out);

#endif
