/* SPDX-License-Identifier: MIT */
/* New serials by the configured policy, never backwards (RFC 1982), above a floor, and
 * the served serial of a zone file kept in a small state file across restarts. */
#include "zones/serial.h"
#include "common/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const policy_names[] = { "keep", "increment", "unixtime", "dateserial" };

int sg_serial_policy_parse(const char *s, enum sg_serial_policy *out)
{
    if (!s || !out)
        return SG_EINVAL;
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, policy_names[i])) {
            *out = (enum sg_serial_policy)i;
            return 0;
        }
    return SG_EINVAL;
}

const char *sg_serial_policy_name(enum sg_serial_policy p)
{
    return (unsigned)p < 4 ? policy_names[p] : "?";
}

uint32_t sg_serial_next(enum sg_serial_policy p, int have_last, uint32_t last,
                        uint32_t file_serial, int64_t now)
{
    uint32_t c;
    switch (p) {
    case SG_SERIAL_INCREMENT:
        c = have_last ? last + 1 : file_serial;
        break;
    case SG_SERIAL_UNIXTIME:
        c = (uint32_t)now;
        break;
    case SG_SERIAL_DATESERIAL: {
        time_t t = (time_t)now;
        struct tm tm;
        gmtime_r(&t, &tm);
        c = (uint32_t)((tm.tm_year + 1900) * 1000000u + (tm.tm_mon + 1) * 10000u + tm.tm_mday * 100u);
        break;
    }
    case SG_SERIAL_KEEP:
    default:
        c = file_serial;
        break;
    }
    if (have_last && !sg_serial_newer(c, last))
        c = last + 1;
    return c;
}

uint32_t sg_serial_above_floor(uint32_t s, int has_floor, uint32_t floor)
{
    return has_floor && !sg_serial_newer(s, floor) ? floor + 1 : s;
}

uint32_t sg_serial_serve(enum sg_serial_policy p, const sg_serial_state *st, int has_floor,
                         uint32_t floor, uint32_t file_serial, int64_t now)
{
    int have = st && st->have;
    if (have && st->file == file_serial && (!has_floor || sg_serial_newer(st->served, floor)))
        return st->served; /* the same file as before: the same serial as before */
    uint32_t s = sg_serial_next(p, have, have ? st->served : 0, file_serial, now);
    s = sg_serial_above_floor(s, has_floor, floor);
    /* a floor far behind the last served serial must not take it backwards either */
    if (have && !sg_serial_newer(s, st->served))
        s = st->served + 1;
    return s;
}

int sg_serial_state_load(const char *path, sg_serial_state *st_out)
{
    if (!path || !st_out)
        return SG_EINVAL;
    memset(st_out, 0, sizeof *st_out);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? SG_ENOTFOUND : SG_EIO;
    unsigned long file, served;
    char extra;
    int n = fscanf(f, "file %lu served %lu %c", &file, &served, &extra);
    fclose(f);
    if (n != 2 || file > 0xffffffffUL || served > 0xffffffffUL)
        return SG_EMALFORMED;
    st_out->have = 1;
    st_out->file = (uint32_t)file;
    st_out->served = (uint32_t)served;
    return 0;
}

int sg_serial_state_save(const char *path, const sg_serial_state *st)
{
    if (!path || !st)
        return SG_EINVAL;
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return SG_EIO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return SG_EIO;
    char buf[64];
    int len = snprintf(buf, sizeof buf, "file %u\nserved %u\n", st->file, st->served);
    int e = 0;
    if (write(fd, buf, (size_t)len) != len || fsync(fd) != 0)
        e = errno ? errno : EIO;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        errno = e;
        return SG_EIO;
    }
    return 0;
}
