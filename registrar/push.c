/* SPDX-License-Identifier: MIT */
/* One API call with its journal line and outcome, and the idempotent push: list first,
 * change only what differs. */
#include "registrar/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sg_reg_fail(sg_reg_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    sg_reg_cred_redact(ctx->cred, ctx->err);
    return rc;
}

/* The path of a URL without its query: what the journal shows of a call. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    if (!p)
        p = "/";
    size_t n = strcspn(p, "?");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* The registrar's own words from an error body, shortened. */
static void body_message(const char *body, char *out, size_t cap)
{
    json_error_t je;
    json_t *j = body ? json_loads(body, JSON_DECODE_ANY, &je) : NULL;
    const char *m = NULL;
    if (json_is_object(j)) {
        static const char *const keys[] = { "message", "error", "detail", "desc", "status", NULL };
        for (int i = 0; keys[i] && !m; i++)
            m = json_string_value(json_object_get(j, keys[i]));
    }
    snprintf(out, cap, "%s", m ? m : body ? body : "");
    json_decref(j);
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

int sg_reg_call(sg_reg_ctx *ctx, const char *method, const char *path,
                const char *const *headers, int nheaders, const char *body,
                const char *userpwd, json_t **json_out)
{
    if (json_out)
        *json_out = NULL;
    char url[2048];
    if (!strncmp(path, "https://", 8) || !strncmp(path, "http://", 7))
        snprintf(url, sizeof url, "%s", path);
    else
        snprintf(url, sizeof url, "%s%s", ctx->base, path);
    char shown[512];
    url_path(url, shown, sizeof shown);
    sg_reg_cred_redact(ctx->cred, shown);
    if (ctx->verbose) {
        char line[2600];
        snprintf(line, sizeof line, "%s %s%s%.300s", method, url, body ? " body " : "",
                 body ? body : "");
        sg_reg_cred_redact(ctx->cred, line);
        sg_reg_note_add(ctx->journal, "reg-call", "request: %s", line);
    }
    sg_http_resp r;
    int rc = sg_http_do(ctx->cfg, method, url, headers, nheaders, body, userpwd, &r);
    if (rc == SG_ENOMEM || rc == SG_ELIB) {
        sg_http_resp_free(&r);
        return sg_reg_fail(ctx, rc, "%s %s: %s", method, shown, sg_strerror(rc));
    }
    if (rc) {
        sg_reg_cred_redact(ctx->cred, r.err);
        sg_reg_note_add(ctx->journal, "reg-call", "%s %s: no response: %s", method, shown, r.err);
        ctx->retry_after = 0;
        sg_reg_fail(ctx, SG_REG_ERETRY, "%s %s: no response: %s", method, shown, r.err);
        sg_http_resp_free(&r);
        return SG_REG_ERETRY;
    }
    rc = sg_reg_call_result(ctx, method, shown, &r, json_out);
    if (r.cookie[0])
        memcpy(ctx->cookie, r.cookie, sizeof ctx->cookie);
    sg_http_resp_free(&r);
    return rc;
}

int sg_reg_call_result(sg_reg_ctx *ctx, const char *method, const char *shown,
                       const sg_http_resp *r, json_t **json_out)
{
    if (json_out)
        *json_out = NULL;
    sg_reg_note_add(ctx->journal, "reg-call", "%s %s: HTTP %ld", method, shown, r->status);
    if (ctx->verbose) {
        char ex[200];
        snprintf(ex, sizeof ex, "%.160s%s", r->body ? r->body : "", r->len > 160 ? "..." : "");
        for (char *c = ex; *c; c++)
            if (*c == '\n' || *c == '\r' || *c == '\t')
                *c = ' ';
        sg_reg_cred_redact(ctx->cred, ex);
        sg_reg_note_add(ctx->journal, "reg-call", "reply: HTTP %ld, %zu bytes%s%s", r->status,
                        r->len, r->len ? ": " : "", ex);
    }
    if (r->status < 200 || r->status > 299) {
        char msg[160];
        body_message(r->body, msg, sizeof msg);
        ctx->retry_after = r->retry_after;
        int rc = sg_reg_retryable(r->status) ? SG_REG_ERETRY : SG_REG_EREJECT;
        sg_reg_fail(ctx, rc, "%s %s: HTTP %ld%s%s", method, shown, r->status, msg[0] ? ": " : "",
                    msg);
        return rc;
    }
    if (json_out && r->len) {
        json_error_t je;
        *json_out = json_loadb(r->body, r->len, JSON_DECODE_ANY, &je);
        if (!*json_out) {
            /* a garbled answer is the server's fault and may be transient */
            return sg_reg_fail(ctx, SG_REG_ERETRY, "%s %s: malformed JSON (%s)", method, shown,
                               je.text);
        }
    }
    return 0;
}

/* "the registrar now has N DS: TAG/ALG/DT ..." after a change: what a write did is said
 * from a fresh listing, never assumed. */
static void note_have(sg_reg_ctx *ctx, const sg_reg_dsset *have)
{
    char list[200] = "";
    size_t o = 0;
    for (size_t k = 0; k < have->n && o < sizeof list - 24; k++) {
        char t[200];
        sg_reg_ds_text(&have->v[k], t, sizeof t);
        t[strcspn(t, " ")] = 0; /* the tag */
        if (have->v[k].digest_len)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s/%u/%u", k ? " " : "", t,
                                  have->v[k].algorithm, have->v[k].digest_type);
        else
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s/%u/key", k ? " " : "", t,
                                  have->v[k].algorithm);
    }
    sg_reg_note_add(ctx->journal, "reg-call", "the registrar now has %zu DS%s%s", have->n,
                    have->n ? ": " : "", list);
}

/* One round: list, diff, change. *differs says whether the registrar's set differed.
 * after_change: a write came before, so the listing is reported. */
static int push_round(sg_reg_ctx *ctx, const sg_reg_provider *p, const sg_reg_dsset *want,
                      int *differs, int after_change)
{
    *differs = 0;
    sg_reg_dsset have, add, del;
    int rc = p->list(ctx, &have);
    if (rc)
        return rc;
    if (after_change)
        note_have(ctx, &have);
    if (p->takes_dnskey) {
        /* the registrar computes the digest itself, of a type it chooses: the key is
         * what was given, so the key is what is compared */
        for (size_t i = 0; i < have.n; i++)
            if (have.v[i].pubkey_len)
                have.v[i].digest_len = 0;
    }
    if ((rc = sg_reg_diff(&have, want, &add, &del))) {
        sg_reg_dsset_deinit(&have);
        return rc;
    }
    char t[200];
    for (size_t i = 0; i < add.n; i++) {
        sg_reg_ds_text(&add.v[i], t, sizeof t);
        sg_reg_note_add(ctx->journal, "reg-diff", "to add: %s %s",
                        p->takes_dnskey ? "DNSKEY of DS" : "DS", t);
        if (p->takes_dnskey && !add.v[i].pubkey_len)
            rc = sg_reg_fail(ctx, SG_EINVAL, "%s takes DNSKEYs, and the DNSKEY of DS %u is "
                             "not known", p->name, add.v[i].tag);
    }
    for (size_t i = 0; i < del.n; i++) {
        sg_reg_ds_text(&del.v[i], t, sizeof t);
        sg_reg_note_add(ctx->journal, "reg-diff", "to remove: DS %s", t);
    }
    if (!rc && (add.n || del.n)) {
        *differs = 1;
        if (p->replace) {
            rc = p->replace(ctx, want);
        } else {
            /* adds first: a parent with one DS too many validates, one too few may not */
            for (size_t i = 0; i < add.n && !rc; i++)
                rc = p->add(ctx, &add.v[i]);
            for (size_t i = 0; i < del.n && !rc; i++)
                rc = p->remove(ctx, &del.v[i]);
        }
    }
    sg_reg_dsset_deinit(&have);
    sg_reg_dsset_deinit(&add);
    sg_reg_dsset_deinit(&del);
    return rc;
}

int sg_reg_push(sg_reg_ctx *ctx, const sg_reg_provider *p, const sg_reg_dsset *want,
                int *changed)
{
    *changed = 0;
    ctx->ds_ttl = want->ttl;
    int differs, rc = push_round(ctx, p, want, &differs, 0);
    if (rc || !differs)
        return rc;
    *changed = 1;
    /* list again, for every API: what the registrar holds now is reported from its own
     * listing (a whole-set API such as OVHcloud's applies a task that the provider waited
     * for), and some APIs delete more than asked (Porkbun deletes by key tag), so a
     * second round puts back what went with it */
    if ((rc = push_round(ctx, p, want, &differs, 1)))
        return rc;
    if (differs && (rc = push_round(ctx, p, want, &differs, 1)) == 0 && differs)
        rc = sg_reg_fail(ctx, SG_REG_ERETRY, "the registrar's DS set still differs after changes");
    return rc;
}

int sg_reg_wait_task(sg_reg_ctx *ctx, const char *what, sg_reg_task_fn check, void *arg)
{
    uint32_t bound = ctx->cfg->task_timeout ? ctx->cfg->task_timeout : 120;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long delay_ms = 250;
    char state[64] = "";
    for (;;) {
        int done = 0;
        int rc = check(ctx, arg, &done, state, sizeof state);
        if (rc || done)
            return rc;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double spent = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (spent + delay_ms / 1000.0 > bound) {
            sg_reg_note_add(ctx->journal, "reg-call", "%s still %s after %.0fs", what, state, spent);
            return sg_reg_fail(ctx, SG_REG_ERETRY, "%s still %s after %.0fs (task-timeout %us)",
                               what, state, spent, bound);
        }
        /* in short naps, so that a daemon stopping is not held up by a registry */
        for (long slept = 0; slept < delay_ms; slept += 100) {
            if (ctx->stopping && atomic_load(ctx->stopping))
                return sg_reg_fail(ctx, SG_REG_ERETRY, "%s: stopped waiting (shutting down)", what);
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
        if (delay_ms < 4000)
            delay_ms *= 2; /* a registry may take minutes: poll less as it goes */
    }
}
