/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as an HTTP response from a registrar, as libcurl hands it
 * over: a status line, header lines (Retry-After), a blank line, the body. Through the
 * outcome classification of every call (status, error message from the body, JSON) and
 * then the list parser of the provider picked by the status's last digit. */
#include "registrar/internal.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_log_set_level(SG_LOG_SILENT);
    const char *p = (const char *)data, *end = p + size;
    sg_http_resp r;
    memset(&r, 0, sizeof r);
    /* status line: "HTTP/1.1 NNN ..." or only the number */
    const char *eol = memchr(p, '\n', size);
    const char *line_end = eol ? eol : end;
    const char *sp = memchr(p, ' ', (size_t)(line_end - p));
    const char *num = sp ? sp + 1 : p;
    for (; num < line_end && *num >= '0' && *num <= '9' && r.status < 100000; num++)
        r.status = r.status * 10 + (*num - '0');
    p = eol ? eol + 1 : end;
    /* header lines until an empty one */
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol + 1 - p) : (size_t)(end - p);
        if (n <= 2 && (p[0] == '\n' || p[0] == '\r')) {
            p += n;
            break;
        }
        sg_http_header(&r, p, n);
        p += n;
    }
    if (r.retry_after > 86400)
        abort(); /* capped: a typo at the registrar must not stall us for longer */
    r.len = (size_t)(end - p);
    r.body = malloc(r.len + 1);
    if (!r.body)
        return 0;
    memcpy(r.body, p, r.len);
    r.body[r.len] = 0;

    static const char *const keys[] = { "token" };
    static char val[] = "s3cr3t-t0ken";
    sg_reg_cred cred = { .n = 1 };
    cred.key[0] = (char *)keys[0];
    cred.val[0] = val;
    sg_reg_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    sg_reg_journal journal = { 0 };
    sg_reg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    ctx.cred = &cred;
    ctx.journal = &journal;
    json_t *j = NULL;
    int rc = sg_reg_call_result(&ctx, "GET", "/v1/example.com/ds", &r, &j);
    if (!memchr(ctx.err, 0, sizeof ctx.err) || strstr(ctx.err, val))
        abort(); /* a terminated message, never the credential */
    if (rc == 0 && (r.status < 200 || r.status > 299))
        abort();
    if (rc == 0 && j) {
        char err[200];
        sg_reg_dsset s;
        int which = (int)(r.status % 8);
        if (which == 0)
            rc = sg_reg_porkbun_parse_list(j, &s, err, sizeof err);
        else if (which == 1)
            rc = sg_reg_dnsimple_parse_list(j, (sg_reg_dsset_init(&s), &s), err, sizeof err);
        else if (which == 2)
            rc = sg_reg_rest_parse_list(&cfg, j, &s, err, sizeof err);
        else if (which == 3)
            rc = sg_reg_route53_parse_detail(j, &s, err, sizeof err);
        else if (which == 4)
            rc = sg_reg_inwx_parse_keys(json_object_get(j, "resData"), &s, err, sizeof err);
        else if (which == 5)
            rc = sg_reg_namecom_parse_list(j, &s, err, sizeof err);
        else if (which == 6)
            rc = sg_reg_gandi_parse_list(j, &s, err, sizeof err);
        else
            rc = sg_reg_openprovider_parse_keys(json_object_get(j, "data"), &s, err, sizeof err);
        if (rc == 0 || which == 1)
            sg_reg_dsset_deinit(&s);
    }
    json_decref(j);
    sg_reg_journal_free(&journal);
    free(r.body);
    return 0;
}
