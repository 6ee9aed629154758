/* SPDX-License-Identifier: MIT */
/* Following the secondaries: the SOA serial each NOTIFY target serves, so that a change
 * counts as propagated when every one of them serves it, not after an assumed delay. */
#include "transfer/transfer.h"
#include "common/errors.h"
#include "zones/serial.h"

#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Skip a (possibly compressed) name at m[*o]; 0 or SG_EMALFORMED. */
static int skip_name(const uint8_t *m, size_t len, size_t *o)
{
    for (int hops = 0; hops < 128; hops++) {
        if (*o >= len)
            return SG_EMALFORMED;
        uint8_t l = m[*o];
        if (l == 0) {
            (*o)++;
            return 0;
        }
        if ((l & 0xc0) == 0xc0) {
            if (*o + 2 > len)
                return SG_EMALFORMED;
            *o += 2; /* a pointer ends the name here */
            return 0;
        }
        if (l & 0xc0)
            return SG_EMALFORMED;
        *o += 1u + l;
    }
    return SG_EMALFORMED;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

size_t sg_xfr_soa_query(const uint8_t *apex, uint16_t id, uint8_t *q)
{
    size_t nl = sg_name_len(apex);
    memset(q, 0, 12);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    q[5] = 1; /* one question, RD off: we ask the server itself */
    memcpy(q + 12, apex, nl);
    size_t ql = 12 + nl;
    q[ql++] = 0;
    q[ql++] = SG_TYPE_SOA;
    q[ql++] = 0;
    q[ql++] = SG_CLASS_IN;
    return ql;
}

int sg_xfr_soa_answer(const uint8_t *m, size_t len, uint32_t *serial_out)
{
    size_t o = 12;
    if (len < 12)
        return SG_EMALFORMED;
    if ((m[3] & 0x0f) != 0 || !(m[2] & 0x04) || rd16(m + 4) != 1 || rd16(m + 6) < 1)
        return SG_ENOTFOUND; /* not loaded, refused, or not authoritative */
    if (skip_name(m, len, &o) || o + 4 > len)
        return SG_EMALFORMED;
    o += 4;
    if (skip_name(m, len, &o) || o + 10 > len || rd16(m + o) != SG_TYPE_SOA)
        return SG_EMALFORMED;
    size_t rdlen = rd16(m + o + 8), rd = o + 10;
    if (rd + rdlen > len)
        return SG_EMALFORMED;
    size_t p = rd;
    if (skip_name(m, rd + rdlen, &p) || skip_name(m, rd + rdlen, &p) || p + 4 > rd + rdlen)
        return SG_EMALFORMED;
    *serial_out = (uint32_t)m[p] << 24 | (uint32_t)m[p + 1] << 16 | (uint32_t)m[p + 2] << 8 | m[p + 3];
    return 0;
}

int sg_xfr_served_serial(const struct sockaddr_storage *to, const uint8_t *apex, int timeout_ms,
                      uint32_t *serial_out)
{
    uint8_t q[12 + SG_NAME_MAX + 4], m[4096];
    uint16_t id = 0;
    if (RAND_bytes((unsigned char *)&id, sizeof id) != 1)
        return SG_ELIB;
    size_t ql = sg_xfr_soa_query(apex, id, q);
    int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SG_EIO;
    socklen_t alen = to->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int rc = SG_ETIMEOUT;
    if (connect(fd, (const struct sockaddr *)to, alen) || send(fd, q, ql, 0) != (ssize_t)ql) {
        close(fd);
        return SG_EIO;
    }
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    while (poll(&pfd, 1, timeout_ms) > 0) {
        ssize_t n = recv(fd, m, sizeof m, 0);
        if (n < 12 || rd16(m) != id || !(m[2] & 0x80))
            continue; /* not our answer (or a refused connection: ECONNREFUSED) */
        rc = sg_xfr_soa_answer(m, (size_t)n, serial_out);
        break;
    }
    close(fd);
    return rc;
}

int sg_xfr_serves(uint32_t served, uint32_t want)
{
    return served == want || sg_serial_newer(served, want);
}
