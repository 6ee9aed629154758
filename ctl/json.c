/* SPDX-License-Identifier: MIT */
/* JSON output for --json, escaped by hand (RFC 8259 section 7), no library needed. */
#include "ctl/ctl.h"

#include <inttypes.h>

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            /* Control characters must be escaped; bytes >= 0x80 pass (our text is UTF-8 or
             * ASCII: zone names come with \DDD escapes). */
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_str_or_null(FILE *f, const char *s)
{
    if (s && *s)
        json_str(f, s);
    else
        fputs("null", f);
}

void json_time(FILE *f, int64_t t)
{
    if (t == 0)
        fputs("null", f);
    else
        fprintf(f, "%" PRId64, t);
}

void json_key(FILE *f, const sg_ks_key *k, int with_records, uint32_t ttl, uint8_t digest)
{
    fprintf(f, "{\"id\":%" PRId64 ",\"zone\":", k->id);
    json_str(f, k->zone);
    fprintf(f, ",\"tag\":%u,\"algorithm\":%u,\"algorithm_name\":", k->tag, k->algorithm);
    json_str_or_null(f, sg_ks_alg_name(k->algorithm));
    fprintf(f, ",\"role\":\"%s\",\"flags\":%u,\"bits\":%u,\"state\":\"%s\",\"storage\":",
            sg_ks_role_name(k->role), k->flags, k->bits, sg_ks_state_name(k->state));
    json_str_or_null(f, k->storage);
    fprintf(f, ",\"public_only\":%s", sg_ks_key_public_only(k) ? "true" : "false");
    fputs(",\"created\":", f);
    json_time(f, k->created);
    fputs(",\"publish\":", f);
    json_time(f, k->publish);
    fputs(",\"active\":", f);
    json_time(f, k->active);
    fputs(",\"retire\":", f);
    json_time(f, k->retire);
    fputs(",\"remove\":", f);
    json_time(f, k->remove);
    fputs(",\"ds_submitted\":", f);
    json_time(f, k->ds_submitted);
    fputs(",\"ds_seen\":", f);
    json_time(f, k->ds_seen);
    fputs(",\"ds_withdrawn\":", f);
    json_time(f, k->ds_withdrawn);
    if (with_records) {
        char line[2048];
        if (sg_ks_key_dnskey_text(k, ttl, "DNSKEY", line, sizeof line) == 0) {
            fputs(",\"dnskey\":", f);
            json_str(f, line);
        }
        if (k->role != SG_KS_ROLE_ZSK && sg_ks_key_ds_text(k, ttl, digest, "DS", line,
                                                           sizeof line) == 0) {
            fputs(",\"ds\":", f);
            json_str(f, line);
        }
    }
    fputc('}', f);
}
