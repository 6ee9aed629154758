/* SPDX-License-Identifier: MIT */
/* Unit tests for the transfer client's bounds: an AXFR from a primary thread on loopback
 * is taken whole within max-size and max-records, and ended at once past either (the
 * primary sees the connection closed long before it has sent its stream). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secondary/xfr_in.h"
#include "common/errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const uint8_t APEX[] = "\3lim\4test";

/* A primary that answers one AXFR: SOA, nmsgs messages of per_msg A records (owner
 * compressed to the question: 16 bytes each on the wire, 24 held), SOA. */
typedef struct primary {
    int lfd;
    uint16_t port;
    int nmsgs, per_msg;
    pthread_t th;
    /* results */
    uint64_t sent;      /* bytes the kernel took */
    int completed;      /* the whole stream went out */
    int send_errno;     /* why it stopped otherwise */
} primary;

static size_t put_header(uint8_t *m, const uint8_t *req, size_t qlen, uint16_t ancount)
{
    m[0] = req[0];
    m[1] = req[1];
    m[2] = 0x84; /* QR AA */
    m[3] = 0;
    m[4] = 0, m[5] = 1;
    m[6] = (uint8_t)(ancount >> 8), m[7] = (uint8_t)ancount;
    memset(m + 8, 0, 4);
    memcpy(m + 12, req + 12, qlen);
    return 12 + qlen;
}

static size_t put_soa(uint8_t *m)
{
    static const uint8_t rr[] = { 0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 24, 0xc0, 12, 0xc0, 12,
                                  0, 0, 0, 7, 0, 0, 14, 16, 0, 0, 2, 88, 0, 1, 81, 128, 0, 0, 0, 30 };
    memcpy(m, rr, sizeof rr);
    return sizeof rr;
}

/* Frames go out in batches of up to 64K, so that a stream of tiny messages is as quick to
 * send as one of big ones. */
typedef struct outbuf {
    uint8_t b[1 << 16];
    size_t len;
} outbuf;

static int flush(primary *p, int fd, outbuf *o)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t r = send(fd, o->b + off, o->len - off, MSG_NOSIGNAL);
        if (r <= 0) {
            p->send_errno = r < 0 ? errno : EPIPE;
            return -1;
        }
        off += (size_t)r;
        p->sent += (uint64_t)r;
    }
    o->len = 0;
    return 0;
}

static int send_msg(primary *p, int fd, outbuf *o, const uint8_t *m, size_t len)
{
    if (o->len + 2 + len > sizeof o->b && flush(p, fd, o))
        return -1;
    o->b[o->len] = (uint8_t)(len >> 8);
    o->b[o->len + 1] = (uint8_t)len;
    memcpy(o->b + o->len + 2, m, len);
    o->len += 2 + len;
    return 0;
}

static void *serve(void *arg)
{
    primary *p = arg;
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0) {
        p->send_errno = errno;
        return NULL;
    }
    /* a client that neither reads nor closes ends the test with EAGAIN, not a hang */
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t lb[2], req[512], *m = malloc(65535);
    outbuf *o = calloc(1, sizeof *o);
    size_t rl = 0;
    if (!m || !o) {
        p->send_errno = ENOMEM;
        goto out;
    }
    if (recv(fd, lb, 2, MSG_WAITALL) != 2 || (rl = (size_t)lb[0] << 8 | lb[1]) > sizeof req ||
        recv(fd, req, rl, MSG_WAITALL) != (ssize_t)rl) {
        p->send_errno = EPROTO;
        goto out;
    }
    size_t qlen = sizeof APEX + 4;
    size_t n = put_header(m, req, qlen, 1);
    n += put_soa(m + n);
    if (send_msg(p, fd, o, m, n))
        goto out;
    for (int i = 0; i < p->nmsgs; i++) {
        n = put_header(m, req, qlen, (uint16_t)p->per_msg);
        for (int k = 0; k < p->per_msg; k++) {
            const uint8_t a[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, (uint8_t)(i >> 8), (uint8_t)k };
            memcpy(m + n, a, sizeof a);
            n += sizeof a;
        }
        if (send_msg(p, fd, o, m, n))
            goto out;
    }
    n = put_header(m, req, qlen, 1);
    n += put_soa(m + n);
    if (!send_msg(p, fd, o, m, n) && !flush(p, fd, o))
        p->completed = 1;
out:
    free(o);
    free(m);
    close(fd);
    return NULL;
}

static void primary_start(primary *p, int nmsgs, int per_msg)
{
    memset(p, 0, sizeof *p);
    p->nmsgs = nmsgs;
    p->per_msg = per_msg;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(p->lfd, 1), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &sl), 0);
    p->port = ntohs(sa.sin_port);
    struct timeval tv = { .tv_sec = 10 }; /* accept gives up if the client never comes */
    setsockopt(p->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(pthread_create(&p->th, NULL, serve, p), 0);
}

static void primary_join(primary *p)
{
    pthread_join(p->th, NULL);
    close(p->lfd);
}

static int fetch(const primary *p, const sg_xfr_limits *lim, ldns_rr_list **rrs, int *kind, size_t *msgs,
                 char *why, size_t why_cap)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", p->port);
    sg_xfr_peer peer;
    assert_int_equal(sg_xfr_parse_peer(addr, &peer), 0);
    *rrs = NULL;
    return sg_xfr_fetch(&peer, APEX, NULL, NULL, 10000, NULL, lim, rrs, kind, msgs, why, why_cap);
}

static void test_within_limits(void **st)
{
    (void)st;
    /* 2 + 300 records, 5 messages: 4.9K on the wire, 7.3K held */
    static const sg_xfr_limits lims[] = { { 0, 0 }, { 8u << 10, 302 } };
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        primary p;
        primary_start(&p, 3, 100);
        ldns_rr_list *rrs;
        int kind = 99;
        size_t msgs = 0;
        char why[512] = "";
        int rc = fetch(&p, &lims[i], &rrs, &kind, &msgs, why, sizeof why);
        primary_join(&p);
        assert_int_equal(rc, 0);
        assert_int_equal(ldns_rr_list_rr_count(rrs), 302);
        assert_int_equal(kind, SG_XFR_FULL);
        assert_int_equal(msgs, 5);
        assert_true(p.completed);
        ldns_rr_list_deep_free(rrs);
    }
}

/* Past a bound the client stops reading and closes: the primary's sends fail with the
 * connection reset, after a few socket buffers, not after its whole stream. */
static void over(const sg_xfr_limits *lim, int nmsgs, int per_msg, const char *want_why)
{
    primary p;
    primary_start(&p, nmsgs, per_msg);
    ldns_rr_list *rrs;
    int kind = 99;
    size_t msgs = 0;
    char why[512] = "";
    int rc = fetch(&p, lim, &rrs, &kind, &msgs, why, sizeof why);
    primary_join(&p);
    assert_int_equal(rc, SG_ESPACE);
    assert_null(rrs);
    assert_int_equal(kind, SG_XFR_FULL);
    if (!strstr(why, want_why))
        fail_msg("why: %s (expected %s)", why, want_why);
    uint64_t total = (uint64_t)nmsgs * (16u * (unsigned)per_msg + 30);
    assert_false(p.completed);
    if (p.send_errno != EPIPE && p.send_errno != ECONNRESET)
        fail_msg("the primary stopped with %s after %llu bytes, not a closed connection", strerror(p.send_errno),
                 (unsigned long long)p.sent);
    assert_true(p.sent < total / 4);
}

static void test_max_size_on_records_held(void **st)
{
    (void)st;
    /* 64M of 3000 records a message: what is held (24 bytes a record) trips first */
    sg_xfr_limits lim = { 64u << 10, 0 };
    over(&lim, 1400, 3000, "AXFR exceeds max-size 64K (");
}

static void test_max_size_on_bytes_received(void **st)
{
    (void)st;
    /* 50M of one record a message: the 26 bytes of header and question make what is
     * received trip first, before the message that goes over is read */
    sg_xfr_limits lim = { 64u << 10, 0 };
    primary p;
    primary_start(&p, 1200000, 1);
    ldns_rr_list *rrs;
    int kind = 99;
    size_t msgs = 0;
    char why[512] = "";
    assert_int_equal(fetch(&p, &lim, &rrs, &kind, &msgs, why, sizeof why), SG_ESPACE);
    primary_join(&p);
    unsigned long long received = 0, held = 0;
    size_t recs = 0, nmsg = 0;
    const char *at = strstr(why, "AXFR exceeds max-size 64K (");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "AXFR exceeds max-size 64K (%llu bytes received, %llu bytes of records "
                                "uncompressed, %zu records in %zu messages so far)", &received, &held, &recs, &nmsg),
                     4);
    assert_true(received > 64u << 10 && received <= (64u << 10) + 42);
    assert_true(held < 64u << 10);
    assert_int_equal(recs, nmsg);
    assert_false(p.completed);
    assert_true(p.send_errno == EPIPE || p.send_errno == ECONNRESET);
    assert_true(p.sent < 1200000ull * 44 / 4);
}

static void test_max_records(void **st)
{
    (void)st;
    sg_xfr_limits lim = { 0, 1000 };
    over(&lim, 40000, 100, "AXFR exceeds max-records 1000 (1001 records in 11 messages so far)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_limits),
        cmocka_unit_test(test_max_size_on_records_held),
        cmocka_unit_test(test_max_size_on_bytes_received),
        cmocka_unit_test(test_max_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
