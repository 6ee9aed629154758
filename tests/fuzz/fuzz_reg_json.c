/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a registrar's JSON reply, through every provider's parser
 * (Porkbun, DNSimple, OVHcloud, the generic REST one at the top and under a path) and, the
 * other way round, as a value put into a JSON request template. */
#include "registrar/internal.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

/* A parsed set must hold what the parsers promise: lengths within their arrays. */
static void check(const sg_reg_dsset *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].digest_len > sizeof s->v[i].digest ||
            s->v[i].pubkey_len > sizeof s->v[i].pubkey || !memchr(s->v[i].id, 0, sizeof s->v[i].id))
            abort();
}

static void parse_all(const json_t *j)
{
    char err[200];
    sg_reg_dsset s;
    if (sg_reg_porkbun_parse_list(j, &s, err, sizeof err) == 0) {
        check(&s);
        sg_reg_dsset_deinit(&s);
    }
    sg_reg_dsset_init(&s);
    if (sg_reg_dnsimple_parse_list(j, &s, err, sizeof err) == 0)
        check(&s);
    sg_reg_dsset_deinit(&s);
    sg_reg_ds d;
    if (sg_reg_ovh_parse_key(j, &d, err, sizeof err) == 0 && d.pubkey_len > sizeof d.pubkey)
        abort();

    static sg_reg_cfg cfg; /* large: static, and set once */
    if (!cfg.rest_fields[0][0]) {
        strcpy(cfg.rest_fields[0], "keyTag");
        strcpy(cfg.rest_fields[1], "alg");
        strcpy(cfg.rest_fields[2], "digestType");
        strcpy(cfg.rest_fields[3], "digest");
        strcpy(cfg.rest_fields[4], "id");
    }
    cfg.rest_list_path[0] = 0;
    if (sg_reg_rest_parse_list(&cfg, j, &s, err, sizeof err) == 0) {
        check(&s);
        sg_reg_dsset_deinit(&s);
    }
    strcpy(cfg.rest_list_path, "result.ds");
    if (sg_reg_rest_parse_list(&cfg, j, &s, err, sizeof err) == 0) {
        check(&s);
        sg_reg_dsset_deinit(&s);
    }
}

/* The input as a credential inside a JSON body template: the result must stay JSON. */
static void expand(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    if (!v)
        return;
    memcpy(v, data, size);
    v[size] = 0;
    if (strlen(v) != size || size > 400) { /* credential values are text lines */
        free(v);
        return;
    }
    sg_reg_cred c = { .n = 1 };
    c.key[0] = strdup("token");
    c.val[0] = v;
    sg_reg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cred = &c;
    strcpy(ctx.domain, "example.com");
    sg_reg_ds d;
    memset(&d, 0, sizeof d);
    d.tag = 2371;
    d.algorithm = 13;
    d.digest_type = 2;
    d.digest_len = 32;
    char *s = sg_reg_rest_expand("{\"t\":\"{cred:token}\",\"tag\":{tag},\"d\":\"{digest}\"}", &ctx, &d, 1);
    if (s) {
        json_error_t je;
        json_t *j = json_loads(s, 0, &je);
        /* a value that is valid UTF-8 must come back unchanged; jansson refuses the rest */
        json_t *asis = json_string(v);
        if (asis && (!j || strcmp(json_string_value(json_object_get(j, "t")), v)))
            abort();
        json_decref(asis);
        json_decref(j);
        free(s);
    }
    sg_reg_cred_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_log_set_level(SG_LOG_SILENT);
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (j) {
        parse_all(j);
        json_decref(j);
    }
    expand(data, size);
    return 0;
}
