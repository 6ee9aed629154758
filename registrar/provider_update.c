/* SPDX-License-Identifier: MIT */
/* RFC 2136 DNS UPDATE of the DS RRset at the parent's primary, signed with TSIG (RFC 8945,
 * hmac-sha256 by default), as Knot's ds-push does: the "list" is the primary's answer. */
#include "registrar/internal.h"

#include <ldns/ldns.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "tsig-name", "tsig-secret", NULL };

/* Only when the policy's TTL is not known (0): 1 hour is the common DS TTL. The TTL
 * written is the one the parent serves and resolvers cache, so it must be the policy's:
 * the rollover engine's waits start from it (and from what the parent check observes). */
#define DS_TTL_UNKNOWN 3600

static void parent_of(const sg_reg_ctx *ctx, char *out, size_t cap)
{
    if (ctx->cfg->parent[0]) {
        snprintf(out, cap, "%s", ctx->cfg->parent);
        return;
    }
    const char *dot = strchr(ctx->zone, '.');
    snprintf(out, cap, "%s", dot && dot[1] ? dot + 1 : ".");
}

static int up_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    char err[200];
    int rc = sg_reg_parent_query(ctx->cfg->primary, ctx->zone, ctx->cfg->query_timeout, out, err,
                                 sizeof err);
    sg_reg_note_add(ctx->journal, "reg-call", "DS query at %s: %s", ctx->cfg->primary,
                    rc ? err : "answered");
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "primary %s: %s", ctx->cfg->primary, err) : 0;
}

static int send_update(sg_reg_ctx *ctx, const sg_reg_ds *ds, int del)
{
    char parent[256], addr[128], text[600], hex[2 * SG_REG_DIGEST_MAX + 1];
    parent_of(ctx, parent, sizeof parent);
    const char *srv = ctx->cfg->primary;
    uint16_t port = 53;
    const char *colon = strrchr(srv, ':');
    if (srv[0] == '[') {
        const char *e = strchr(srv, ']');
        snprintf(addr, sizeof addr, "%.*s", e ? (int)(e - srv - 1) : 0, srv + 1);
        if (e && e[1] == ':')
            port = (uint16_t)atoi(e + 2);
    } else if (colon && strchr(srv, ':') == colon) {
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - srv), srv);
        port = (uint16_t)atoi(colon + 1);
    } else {
        snprintf(addr, sizeof addr, "%s", srv);
    }
    sg_reg_hex_encode(ds->digest, ds->digest_len, hex, 1);
    snprintf(text, sizeof text, "%s %u IN DS %u %u %u %s", ctx->zone,
             ctx->ds_ttl ? ctx->ds_ttl : DS_TTL_UNKNOWN, ds->tag,
             ds->algorithm, ds->digest_type, hex);
    ldns_rr *rr = NULL;
    ldns_rr_list *up = ldns_rr_list_new();
    ldns_resolver *res = ldns_resolver_new();
    ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
    ldns_pkt *p = NULL, *ans = NULL;
    int rc = 0;
    if (!up || !res || !ns || ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(ns);
        rc = sg_reg_fail(ctx, SG_EINVAL, "cannot build the update");
        goto done;
    }
    if (del) {
        /* RFC 2136 2.5.4: class NONE, TTL 0 deletes this one RR */
        ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
        ldns_rr_set_ttl(rr, 0);
    }
    ldns_rr_list_push_rr(up, rr);
    rr = NULL;
    p = ldns_update_pkt_new(ldns_dname_new_frm_str(parent), LDNS_RR_CLASS_IN, NULL, up, NULL);
    ldns_resolver_push_nameserver(res, ns);
    ldns_rdf_deep_free(ns);
    ldns_resolver_set_port(res, port);
    ldns_resolver_set_usevc(res, true);
    ldns_resolver_set_retry(res, 1);
    struct timeval tv = { (time_t)(ctx->cfg->query_timeout / 1000) + 1, 0 };
    ldns_resolver_set_timeout(res, tv);
    const char *alg = sg_reg_cred_get(ctx->cred, "tsig-algorithm");
    char algname[64];
    snprintf(algname, sizeof algname, "%s%s", alg ? alg : "hmac-sha256",
             alg && alg[strlen(alg) - 1] == '.' ? "" : ".");
    char keyname[256];
    const char *kn = sg_reg_cred_get(ctx->cred, "tsig-name");
    snprintf(keyname, sizeof keyname, "%s%s", kn, kn[strlen(kn) - 1] == '.' ? "" : ".");
    ldns_resolver_set_tsig_keyname(res, keyname);
    ldns_resolver_set_tsig_algorithm(res, algname);
    ldns_resolver_set_tsig_keydata(res, sg_reg_cred_get(ctx->cred, "tsig-secret"));
    if (!p || ldns_update_pkt_tsig_add(p, res) != LDNS_STATUS_OK) {
        rc = sg_reg_fail(ctx, SG_ELIB, "cannot sign the update (TSIG key %s)", keyname);
        goto done;
    }
    ldns_status s = ldns_resolver_send_pkt(&ans, res, p);
    if (s != LDNS_STATUS_OK || !ans) {
        sg_reg_note_add(ctx->journal, "reg-call", "UPDATE %s DS %u at %s: %s",
                        del ? "delete" : "add", ds->tag, srv, ldns_get_errorstr_by_id(s));
        /* a bad TSIG on the reply is not a network hiccup */
        rc = sg_reg_fail(ctx, s == LDNS_STATUS_CRYPTO_TSIG_BOGUS ? SG_REG_EREJECT : SG_REG_ERETRY,
                         "UPDATE at %s: %s", srv, ldns_get_errorstr_by_id(s));
        goto done;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(ans);
    const ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
    const char *rname = lt ? lt->name : "?";
    if (del)
        sg_reg_note_add(ctx->journal, "reg-call", "UPDATE delete DS %u at %s: %s", ds->tag, srv,
                        rname);
    else
        sg_reg_note_add(ctx->journal, "reg-call", "UPDATE add DS %u TTL %u at %s: %s", ds->tag,
                        ctx->ds_ttl ? ctx->ds_ttl : DS_TTL_UNKNOWN, srv, rname);
    if (rcode == LDNS_RCODE_SERVFAIL)
        rc = sg_reg_fail(ctx, SG_REG_ERETRY, "UPDATE at %s: SERVFAIL", srv);
    else if (rcode != LDNS_RCODE_NOERROR)
        rc = sg_reg_fail(ctx, SG_REG_EREJECT, "UPDATE at %s: %s", srv, rname);
done:
    ldns_rr_free(rr);
    ldns_rr_list_deep_free(up);
    ldns_pkt_free(p);
    ldns_pkt_free(ans);
    ldns_resolver_deep_free(res);
    return rc;
}

static int up_add(sg_reg_ctx *ctx, const sg_reg_ds *ds) { return send_update(ctx, ds, 0); }
static int up_remove(sg_reg_ctx *ctx, const sg_reg_ds *have) { return send_update(ctx, have, 1); }

const sg_reg_provider sg_reg_provider_update = {
    .name = "update",
    .default_base = "",
    .cred_keys = keys,
    .list = up_list,
    .add = up_add,
    .remove = up_remove,
};
