/* SPDX-License-Identifier: MIT */
/* Retry policy: which failures are worth retrying, and when (exponential backoff with
 * jitter, never sooner than the server's Retry-After). */
#include "registrar/internal.h"

#include <curl/curl.h>

#include <ctype.h>
#include <stdlib.h>

int sg_reg_retryable(long status)
{
    return status == 0 || status == 429 || (status >= 500 && status <= 599);
}

uint32_t sg_reg_backoff(unsigned attempt, uint32_t base, uint32_t max, uint32_t retry_after,
                        uint32_t rnd)
{
    if (attempt == 0)
        attempt = 1;
    uint64_t d = base ? base : 1;
    for (unsigned i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    /* "equal jitter": half fixed so that retries do not come too early, half random so
     * that many zones failing together do not retry together */
    uint64_t half = d / 2;
    d = d - half + (half ? (uint64_t)rnd % (half + 1) : 0);
    if (d < retry_after)
        d = retry_after;
    return (uint32_t)d;
}

uint32_t sg_reg_retry_after(const char *value, int64_t now)
{
    if (!value)
        return 0;
    while (isspace((unsigned char)*value))
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        unsigned long v = strtoul(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end)
            return 0;
        return v > 86400 ? 86400 : (uint32_t)v; /* a day at most: a typo should not stall */
    }
    time_t t = curl_getdate(value, NULL);
    if (t < 0 || (int64_t)t <= now)
        return 0;
    int64_t d = (int64_t)t - now;
    return d > 86400 ? 86400 : (uint32_t)d;
}
