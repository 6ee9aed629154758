/* SPDX-License-Identifier: MIT */
/* The serial of a new version by the configured policy, never backwards (RFC 1982). */
#include "transfer/transfer.h"
#include "common/errors.h"

#include <string.h>
#include <time.h>

int sg_serial_policy_parse(const char *s, enum sg_serial_policy *out)
{
    static const char *names[] = { "keep", "increment", "unixtime", "dateserial" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (enum sg_serial_policy)i;
            return 0;
        }
    return SG_EINVAL;
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
