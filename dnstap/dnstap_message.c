/* SPDX-License-Identifier: MIT */
/* dnstap payloads: our query facts into the protobuf-c structs generated from
 * dnstap.proto, packed into one heap buffer that becomes the frame. */
#include "dnstap/dnstap_message.h"
#include "common/errors.h"
#include "common/query.h"

#include "dnstap.pb-c.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void set_text(protobuf_c_boolean *has, ProtobufCBinaryData *f, const char *s)
{
    if (s && *s) {
        *has = 1;
        f->data = (uint8_t *)s; /* packing only reads it */
        f->len = strlen(s);
    }
}

int sg_dnstap_encode(const sg_dnstap_header *h, const sg_dnstap_event *ev, uint8_t **out,
                     size_t *len_out)
{
    if (!h || !ev || !out || !len_out)
        return SG_EINVAL;
    Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
    Dnstap__Message m = DNSTAP__MESSAGE__INIT;
    set_text(&d.has_identity, &d.identity, h->identity);
    set_text(&d.has_version, &d.version, h->version);
    set_text(&d.has_extra, &d.extra, h->extra);
    d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
    d.message = &m;

    m.type = ev->response ? DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE : DNSTAP__MESSAGE__TYPE__AUTH_QUERY;
    m.has_socket_protocol = 1;
    m.socket_protocol = ev->transport == SG_TRANSPORT_UDP   ? DNSTAP__SOCKET_PROTOCOL__UDP
                        : ev->transport == SG_TRANSPORT_TLS ? DNSTAP__SOCKET_PROTOCOL__DOT
                                                            : DNSTAP__SOCKET_PROTOCOL__TCP;
    const struct sockaddr *sa = ev->client;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        m.has_socket_family = m.has_query_address = m.has_query_port = 1;
        m.socket_family = DNSTAP__SOCKET_FAMILY__INET;
        m.query_address.data = (uint8_t *)&v4->sin_addr;
        m.query_address.len = 4;
        m.query_port = ntohs(v4->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        m.has_socket_family = m.has_query_address = m.has_query_port = 1;
        m.socket_family = DNSTAP__SOCKET_FAMILY__INET6;
        m.query_address.data = (uint8_t *)&v6->sin6_addr;
        m.query_address.len = 16;
        m.query_port = ntohs(v6->sin6_port);
    }
    /* a response carries the query's time too: a reader pairs the two and sees the delay */
    m.has_query_time_sec = m.has_query_time_nsec = 1;
    m.query_time_sec = (uint64_t)ev->query_time.tv_sec;
    m.query_time_nsec = (uint32_t)ev->query_time.tv_nsec;
    if (ev->response) {
        m.has_response_time_sec = m.has_response_time_nsec = 1;
        m.response_time_sec = (uint64_t)ev->response_time.tv_sec;
        m.response_time_nsec = (uint32_t)ev->response_time.tv_nsec;
    }
    if (ev->message && ev->message_len) {
        protobuf_c_boolean *has = ev->response ? &m.has_response_message : &m.has_query_message;
        ProtobufCBinaryData *f = ev->response ? &m.response_message : &m.query_message;
        *has = 1;
        f->data = (uint8_t *)ev->message;
        f->len = ev->message_len;
    }

    size_t len = dnstap__dnstap__get_packed_size(&d);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return SG_ENOMEM;
    *len_out = dnstap__dnstap__pack(&d, buf);
    *out = buf;
    return 0;
}
