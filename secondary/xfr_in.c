/* SPDX-License-Identifier: MIT */
/* Zone transfer client: our own sockets with deadlines (so that a silent primary never
 * blocks the refresh task for long), ldns for messages and TSIG. */
#include "secondary/xfr_in.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define XFR_MSG_MAX 65535

int sg_xfr_parse_peer(const char *s, sg_xfr_peer *out)
{
    char host[64];
    unsigned long port = 53;
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof host)
            return SG_ESYNTAX;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = 0;
        if (end[1] == ':') {
            char *e;
            port = strtoul(end + 2, &e, 10);
            if (*e || !end[2] || port == 0 || port > 65535)
                return SG_ESYNTAX;
        } else if (end[1]) {
            return SG_ESYNTAX;
        }
    } else if (colon && strchr(s, ':') == colon) {
        /* one colon: IPv4 with a port */
        if ((size_t)(colon - s) >= sizeof host)
            return SG_ESYNTAX;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        char *e;
        port = strtoul(colon + 1, &e, 10);
        if (*e || !colon[1] || port == 0 || port > 65535)
            return SG_ESYNTAX;
    } else {
        if (strlen(s) >= sizeof host)
            return SG_ESYNTAX;
        snprintf(host, sizeof host, "%s", s);
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->len = sizeof *v4;
        snprintf(out->text, sizeof out->text, "%s:%lu", host, port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->len = sizeof *v6;
        snprintf(out->text, sizeof out->text, "[%s]:%lu", host, port);
        return 0;
    }
    return SG_ESYNTAX;
}

int sg_xfr_peer_host_eq(const sg_xfr_peer *p, const struct sockaddr *sa, socklen_t len)
{
    if (!sa || sa->sa_family != p->ss.ss_family)
        return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)&p->ss)->sin_addr.s_addr;
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        return !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                       &((const struct sockaddr_in6 *)&p->ss)->sin6_addr, sizeof(struct in6_addr));
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- messages --------------------------------------------------------------------- */

typedef struct request {
    uint8_t *wire;
    size_t len;
    uint16_t id;
    int signed_;
    sg_tsig_ctx tsig;  /* the request's MAC, then each verified response's */
} request;

static void request_free(request *r)
{
    free(r->wire);
    if (r->signed_)
        sg_tsig_ctx_deinit(&r->tsig);
    memset(r, 0, sizeof *r);
}

static ldns_rr *soa_rr(const uint8_t *apex, const sg_rrset *soa)
{
    uint8_t w[SG_NAME_MAX + 10 + 65535];
    size_t al = sg_name_len(apex), pos = 0;
    uint16_t rdlen = sg_rdlen(soa->rdata);
    memcpy(w, apex, al);
    uint8_t *h = w + al;
    h[0] = 0; h[1] = SG_TYPE_SOA; h[2] = 0; h[3] = SG_CLASS_IN;
    h[4] = (uint8_t)(soa->ttl >> 24); h[5] = (uint8_t)(soa->ttl >> 16);
    h[6] = (uint8_t)(soa->ttl >> 8); h[7] = (uint8_t)soa->ttl;
    h[8] = (uint8_t)(rdlen >> 8); h[9] = (uint8_t)rdlen;
    memcpy(h + 10, soa->rdata + 2, rdlen);
    ldns_rr *rr = NULL;
    if (ldns_wire2rr(&rr, w, al + 10 + rdlen, &pos, LDNS_SECTION_AUTHORITY) != LDNS_STATUS_OK)
        return NULL;
    return rr;
}

static int make_request(const uint8_t *apex, uint16_t qtype, const sg_rrset *ours,
                        const sg_tsig_key *key, request *out, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    ldns_rdf *qname = ldns_dname_new_frm_data((uint16_t)sg_name_len(apex), apex);
    ldns_pkt *pkt = qname ? ldns_pkt_query_new(qname, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, 0) : NULL;
    if (!pkt) {
        ldns_rdf_deep_free(qname);
        return SG_ENOMEM;
    }
    uint16_t id;
    if (getrandom(&id, sizeof id, 0) != sizeof id)
        id = (uint16_t)(now_ms() ^ (uint64_t)getpid());
    ldns_pkt_set_id(pkt, id);
    uint8_t *wire = NULL;
    size_t len = 0;
    int rc = 0;
    if (ours) {
        ldns_rr *soa = soa_rr(apex, ours);
        if (!soa || !ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, soa)) {
            ldns_rr_free(soa);
            rc = SG_ENOMEM;
            goto out;
        }
    }
    if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK) {
        rc = SG_ENOMEM;
        goto out;
    }
    size_t cap = len + (key ? sg_tsig_rr_size(key) : 0);
    if (!(out->wire = malloc(cap))) {
        rc = SG_ENOMEM;
        goto out;
    }
    memcpy(out->wire, wire, len);
    out->len = len;
    out->id = id;
    if (key) {
        sg_tsig_ctx_init(&out->tsig, key);
        out->signed_ = 1;
        if ((rc = sg_tsig_sign(&out->tsig, out->wire, &out->len, cap, (uint64_t)time(NULL))))
            rc = sg_say(why, why_cap, rc, "cannot sign the request with TSIG key %s: %s", key->name_text,
                         sg_strerror(rc));
    }
out:
    free(wire);
    ldns_pkt_free(pkt);
    if (rc)
        request_free(out);
    return rc;
}

static int is_apex(const ldns_rdf *name, const uint8_t *apex)
{
    return ldns_rdf_get_type(name) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(name) == sg_name_len(apex) &&
           sg_name_eq(ldns_rdf_data(name), apex);
}

static const char *tsig_error_name(uint16_t e)
{
    switch (e) {
    case SG_TSIG_BADSIG: return "BADSIG";
    case SG_TSIG_BADKEY: return "BADKEY";
    case SG_TSIG_BADTIME: return "BADTIME";
    case SG_TSIG_BADTRUNC: return "BADTRUNC";
    default: return "error";
    }
}

/* Check one response message: ours (id, question), answered, TSIG-verified when we
 * signed (the first message must be signed; later ones may be unsigned, RFC 8945 5.3.1). */
static int check_response(request *rq, const uint8_t *apex, uint16_t qtype, const uint8_t *wire,
                          size_t len, int nth, ldns_pkt **pkt_out, char *why, size_t why_cap)
{
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
        return sg_say(why, why_cap, SG_EMALFORMED, "malformed response");
    int rc = 0;
    if (ldns_pkt_id(pkt) != rq->id || !ldns_pkt_qr(pkt)) {
        rc = sg_say(why, why_cap, SG_EMALFORMED, "response with a wrong id or no QR bit");
        goto out;
    }
    if (nth == 0 || ldns_pkt_qdcount(pkt) > 0) {
        const ldns_rr_list *qd = ldns_pkt_question(pkt);
        if (ldns_rr_list_rr_count(qd) != 1 ||
            ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) != (ldns_rr_type)qtype ||
            !is_apex(ldns_rr_owner(ldns_rr_list_rr(qd, 0)), apex)) {
            rc = sg_say(why, why_cap, SG_EMALFORMED, "response for another question");
            goto out;
        }
    }
    ldns_rr *tsig = ldns_pkt_tsig(pkt);
    const char *keyname = rq->signed_ ? rq->tsig.key->name_text : "none";
    if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
        char *rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));
        if (tsig && ldns_rr_rd_count(tsig) >= 6 && ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5)))
            rc = sg_say(why, why_cap, SG_EIO, "answered %s, TSIG %s (key %s)", rcode ? rcode : "?",
                         tsig_error_name(ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5))), keyname);
        else
            rc = sg_say(why, why_cap, SG_EIO, "answered %s", rcode ? rcode : "?");
        free(rcode);
        goto out;
    }
    if (rq->signed_) {
        uint16_t err = 0;
        int vr = sg_tsig_verify_response(&rq->tsig, wire, len, (uint64_t)time(NULL), &err);
        if (vr == SG_ENOTFOUND) {
            rc = sg_say(why, why_cap, SG_EIO, "response %d is not signed with TSIG key %s", nth + 1, keyname);
            goto out;
        }
        if (vr || err) {
            rc = sg_say(why, why_cap, SG_EIO, "response %d fails TSIG verification with key %s (%s)", nth + 1,
                         keyname, vr ? sg_strerror(vr) : tsig_error_name(err));
            goto out;
        }
    }
out:
    if (rc)
        ldns_pkt_free(pkt);
    else
        *pkt_out = pkt;
    return rc;
}

/* ---- sockets ---------------------------------------------------------------------- */

/* Wait for fd until deadline, in short slices so that a stop request (cancel) ends the
 * wait at once: a silent primary must not hold up a reload or a shutdown. */
static int wait_fd(int fd, short ev, uint64_t deadline, const atomic_int *cancel)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline || (cancel && atomic_load(cancel)))
            return -1;
        uint64_t slice = deadline - now < 200 ? deadline - now : 200;
        struct pollfd p = { .fd = fd, .events = ev };
        int r = poll(&p, 1, (int)slice);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int tcp_connect(const sg_xfr_peer *p, uint64_t deadline, const atomic_int *cancel, char *why,
                       size_t why_cap)
{
    int fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sg_say(why, why_cap, SG_EIO, "socket: %s", strerror(errno));
    if (connect(fd, (const struct sockaddr *)&p->ss, p->len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return sg_say(why, why_cap, SG_EIO, "connect: %s", strerror(e));
    }
    if (wait_fd(fd, POLLOUT, deadline, cancel)) {
        close(fd);
        return sg_say(why, why_cap, SG_EIO, "connect: timed out");
    }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        close(fd);
        return sg_say(why, why_cap, SG_EIO, "connect: %s", strerror(err));
    }
    return fd;
}

static int io_all(int fd, uint8_t *buf, size_t len, int writing, uint64_t deadline, const atomic_int *cancel)
{
    size_t off = 0;
    while (off < len) {
        ssize_t r = writing ? send(fd, buf + off, len - off, MSG_NOSIGNAL) : recv(fd, buf + off, len - off, 0);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r == 0)
            return -2; /* closed */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline, cancel))
            return -3;
    }
    return 0;
}

static int tcp_send(int fd, const request *rq, uint64_t deadline, const atomic_int *cancel)
{
    uint8_t *b = malloc(rq->len + 2);
    if (!b)
        return -1;
    b[0] = (uint8_t)(rq->len >> 8);
    b[1] = (uint8_t)rq->len;
    memcpy(b + 2, rq->wire, rq->len);
    int r = io_all(fd, b, rq->len + 2, 1, deadline, cancel);
    free(b);
    return r;
}

static const char *io_text(int r)
{
    return r == -2 ? "connection closed" : r == -3 ? "timed out or stopped" : "read/write failed";
}

/* ---- SOA -------------------------------------------------------------------------- */

static int soa_from(ldns_pkt *pkt, const uint8_t *apex, uint32_t *serial_out, char *why, size_t why_cap)
{
    if (!ldns_pkt_aa(pkt))
        return sg_say(why, why_cap, SG_EZONE, "not authoritative for the zone");
    const ldns_rr_list *an = ldns_pkt_answer(pkt);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && is_apex(ldns_rr_owner(rr), apex)) {
            *serial_out = sg_xfr_soa_serial(rr);
            return 0;
        }
    }
    return sg_say(why, why_cap, SG_EZONE, "no SOA in the answer");
}

int sg_xfr_query_soa(const sg_xfr_peer *p, const uint8_t *apex, const sg_tsig_key *key,
                     int timeout_ms, const atomic_int *cancel, uint32_t *serial_out, char *why,
                     size_t why_cap)
{
    request rq;
    int rc = make_request(apex, SG_TYPE_SOA, NULL, key, &rq, why, why_cap);
    if (rc)
        return rc;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    uint8_t *buf = malloc(XFR_MSG_MAX);
    ldns_pkt *pkt = NULL;
    int fd = -1, truncated = 0;
    if (!buf) {
        rc = SG_ENOMEM;
        goto out;
    }
    fd = socket(p->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&p->ss, p->len) != 0 ||
        send(fd, rq.wire, rq.len, 0) != (ssize_t)rq.len) {
        rc = sg_say(why, why_cap, SG_EIO, "SOA query: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline, cancel)) {
            rc = sg_say(why, why_cap, SG_EIO, "SOA query: timed out");
            goto out;
        }
        ssize_t r = recv(fd, buf, XFR_MSG_MAX, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            rc = sg_say(why, why_cap, SG_EIO, "SOA query: %s", strerror(errno));
            goto out;
        }
        if (r < 12 || (buf[0] << 8 | buf[1]) != rq.id)
            continue; /* not ours: keep waiting */
        if (buf[2] & 0x02) {
            truncated = 1;
            break;
        }
        rc = check_response(&rq, apex, SG_TYPE_SOA, buf, (size_t)r, 0, &pkt, why, why_cap);
        break;
    }
    if (truncated) {
        close(fd);
        fd = tcp_connect(p, deadline, cancel, why, why_cap);
        if (fd < 0) {
            rc = fd;
            goto out;
        }
        uint8_t lb[2];
        int r = tcp_send(fd, &rq, deadline, cancel);
        if (!r)
            r = io_all(fd, lb, 2, 0, deadline, cancel);
        size_t ml = (size_t)lb[0] << 8 | lb[1];
        if (!r)
            r = io_all(fd, buf, ml, 0, deadline, cancel);
        if (r) {
            rc = sg_say(why, why_cap, SG_EIO, "SOA query over TCP: %s", io_text(r));
            goto out;
        }
        rc = check_response(&rq, apex, SG_TYPE_SOA, buf, ml, 0, &pkt, why, why_cap);
    }
    if (!rc)
        rc = soa_from(pkt, apex, serial_out, why, why_cap);
out:
    if (fd >= 0)
        close(fd);
    ldns_pkt_free(pkt);
    free(buf);
    request_free(&rq);
    return rc;
}

/* ---- AXFR / IXFR ------------------------------------------------------------------ */

/* A record as an uncompressed message would carry it: name compression lets a few wire
 * bytes stand for a long owner, and what we hold is the long form. */
static uint64_t rr_bytes(const ldns_rr *rr)
{
    uint64_t n = ldns_rdf_size(ldns_rr_owner(rr)) + 10;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++)
        n += ldns_rdf_size(ldns_rr_rdf(rr, i));
    return n;
}

typedef struct xfr_count {
    uint64_t received;  /* message bytes */
    uint64_t held;      /* records kept, uncompressed */
    size_t records, msgs;
} xfr_count;

static int over_limit(const sg_xfr_limits *lim, const xfr_count *c, const char *qname, char *why, size_t why_cap)
{
    char lt[24];
    if (lim->max_bytes && (c->received > lim->max_bytes || c->held > lim->max_bytes))
        return sg_say(why, why_cap, SG_ESPACE,
                       "%s exceeds max-size %s (%llu bytes received, %llu bytes of records uncompressed, "
                       "%zu records in %zu messages so far)",
                       qname, sg_cfg_format_size(lim->max_bytes, lt, sizeof lt), (unsigned long long)c->received,
                       (unsigned long long)c->held, c->records, c->msgs);
    if (lim->max_records && c->records > lim->max_records)
        return sg_say(why, why_cap, SG_ESPACE, "%s exceeds max-records %llu (%zu records in %zu messages so far)",
                       qname, (unsigned long long)lim->max_records, c->records, c->msgs);
    return 0;
}

int sg_xfr_fetch(const sg_xfr_peer *p, const uint8_t *apex, const sg_rrset *ours,
                 const sg_tsig_key *key, int timeout_ms, const atomic_int *cancel,
                 const sg_xfr_limits *lim, ldns_rr_list **rrs_out, int *kind_out, size_t *msgs_out,
                 char *why, size_t why_cap)
{
    static const sg_xfr_limits none = { 0, 0 };
    if (!lim)
        lim = &none;
    xfr_count cnt = { 0 };
    uint16_t qtype = ours ? SG_TYPE_IXFR : SG_TYPE_AXFR;
    const char *qname = ours ? "IXFR" : "AXFR";
    request rq;
    int rc = make_request(apex, qtype, ours, key, &rq, why, why_cap);
    if (rc)
        return rc;
    uint32_t our_serial = 0;
    if (ours) {
        /* the serial is the third field after the two names */
        const uint8_t *rd = ours->rdata + 2;
        size_t o = sg_name_len(rd);
        o += sg_name_len(rd + o);
        our_serial = (uint32_t)rd[o] << 24 | (uint32_t)rd[o + 1] << 16 | (uint32_t)rd[o + 2] << 8 | rd[o + 3];
    }
    sg_xfr_track t;
    sg_xfr_track_init(&t, ours != NULL, our_serial);
    ldns_rr_list *all = ldns_rr_list_new();
    uint8_t *buf = malloc(XFR_MSG_MAX);
    size_t nmsg = 0;
    int fd = -1;
    if (!all || !buf) {
        rc = SG_ENOMEM;
        goto out;
    }
    fd = tcp_connect(p, now_ms() + (uint64_t)timeout_ms, cancel, why, why_cap);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    int r = tcp_send(fd, &rq, now_ms() + (uint64_t)timeout_ms, cancel);
    if (r) {
        rc = sg_say(why, why_cap, SG_EIO, "%s request: %s", qname, io_text(r));
        goto out;
    }
    while (!t.done) {
        uint8_t lb[2];
        uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
        r = io_all(fd, lb, 2, 0, deadline, cancel);
        size_t ml = (size_t)lb[0] << 8 | lb[1];
        if (!r) {
            /* refused before it is read: the primary learns it from the closed connection */
            cnt.received += ml;
            if ((rc = over_limit(lim, &cnt, qname, why, why_cap)))
                goto out;
            r = io_all(fd, buf, ml, 0, deadline, cancel);
        }
        if (r) {
            rc = sg_say(why, why_cap, SG_EIO, "%s after %zu messages, %zu records: %s", qname, nmsg,
                         ldns_rr_list_rr_count(all), io_text(r));
            goto out;
        }
        ldns_pkt *pkt = NULL;
        if ((rc = check_response(&rq, apex, qtype, buf, ml, (int)nmsg, &pkt, why, why_cap)))
            goto out;
        nmsg++;
        cnt.msgs = nmsg;
        ldns_rr_list *an = ldns_pkt_answer(pkt);
        for (size_t i = 0; i < ldns_rr_list_rr_count(an) && !rc; i++) {
            ldns_rr *rr = ldns_rr_list_rr(an, i);
            int tr = sg_xfr_track_rr(&t, (uint16_t)ldns_rr_get_type(rr), sg_xfr_soa_serial(rr));
            cnt.records++;
            cnt.held += rr_bytes(rr);
            if (tr < 0)
                rc = sg_say(why, why_cap, SG_EMALFORMED, "%s response is not a valid sequence at record %zu",
                             qname, t.n);
            else if (!(rc = over_limit(lim, &cnt, qname, why, why_cap)) &&
                     !ldns_rr_list_push_rr(all, ldns_rr_clone(rr)))
                rc = SG_ENOMEM;
        }
        ldns_pkt_free(pkt);
        if (rc)
            goto out;
        sg_xfr_track_message_end(&t);
    }
    *rrs_out = all;
    all = NULL;
    *msgs_out = nmsg;
out:
    *kind_out = t.kind;
    if (fd >= 0)
        close(fd);
    ldns_rr_list_deep_free(all);
    free(buf);
    request_free(&rq);
    return rc;
}
