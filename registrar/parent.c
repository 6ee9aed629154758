/* SPDX-License-Identifier: MIT */
/* Parent confirmation: ask each authoritative server of the parent for the zone's DS
 * RRset, so that ds-seen is recorded only when every one of them serves the new set. */
#include "registrar/internal.h"
#include "registrar/query.h"

#include <ldns/ldns.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address. */
static int split_server(const char *s, char *addr, size_t cap, uint16_t *port)
{
    *port = 53;
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= cap)
            return SG_EINVAL;
        snprintf(addr, cap, "%.*s", (int)(end - s - 1), s + 1);
        if (end[1] == ':')
            *port = (uint16_t)atoi(end + 2);
    } else if (colon && strchr(s, ':') == colon) {
        if ((size_t)(colon - s) >= cap)
            return SG_EINVAL;
        snprintf(addr, cap, "%.*s", (int)(colon - s), s);
        *port = (uint16_t)atoi(colon + 1);
    } else {
        snprintf(addr, cap, "%s", s);
    }
    return *port ? 0 : SG_EINVAL;
}

int sg_reg_auth_query(const char *server, const char *zone, ldns_rr_type type,
                      uint32_t timeout_ms, ldns_rr_list **rrs_out, uint32_t *ttl_out, char *err,
                      size_t cap)
{
    *rrs_out = NULL;
    if (ttl_out)
        *ttl_out = 0;
    char addr[128];
    uint16_t port;
    if (split_server(server, addr, sizeof addr, &port)) {
        snprintf(err, cap, "bad server address");
        return SG_EINVAL;
    }
    ldns_rdf *a = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
    ldns_rdf *name = ldns_dname_new_frm_str(zone);
    ldns_resolver *res = ldns_resolver_new();
    ldns_pkt *p = NULL;
    int rc = 0;
    if (!a || !name || !res) {
        snprintf(err, cap, "bad address or name");
        rc = SG_EINVAL;
        goto done;
    }
    ldns_resolver_push_nameserver(res, a); /* copies it */
    ldns_rdf_deep_free(a);
    a = NULL;
    ldns_resolver_set_port(res, port);
    ldns_resolver_set_recursive(res, false);
    ldns_resolver_set_dnssec(res, true);     /* the RRSIGs too, for whoever checks them */
    ldns_resolver_set_retry(res, 2);
    ldns_resolver_set_fallback(res, true);   /* truncated: again over TCP */
    struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
    ldns_resolver_set_timeout(res, tv);
    ldns_status s = ldns_resolver_query_status(&p, res, name, type, LDNS_RR_CLASS_IN, 0);
    if (s != LDNS_STATUS_OK || !p) {
        snprintf(err, cap, "no answer (%s)", ldns_get_errorstr_by_id(s));
        rc = SG_EIO;
        goto done;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    if (rcode != LDNS_RCODE_NOERROR || !ldns_pkt_aa(p)) {
        /* a referral or an error: this server does not speak for the zone */
        const ldns_lookup_table *rn = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        if (rcode == LDNS_RCODE_NOERROR)
            snprintf(err, cap, "not authoritative");
        else
            snprintf(err, cap, "rcode %s", rn ? rn->name : "?");
        rc = SG_EIO;
        goto done;
    }
    ldns_rr_list *l = ldns_pkt_rr_list_by_name_and_type(p, name, type, LDNS_SECTION_ANSWER);
    *rrs_out = l ? l : ldns_rr_list_new();
    /* one RRset has one TTL; should a server disagree with itself, the longest is what a
     * cache may keep */
    for (size_t i = 0; ttl_out && i < ldns_rr_list_rr_count(*rrs_out); i++)
        if (ldns_rr_ttl(ldns_rr_list_rr(*rrs_out, i)) > *ttl_out)
            *ttl_out = ldns_rr_ttl(ldns_rr_list_rr(*rrs_out, i));
done:
    ldns_pkt_free(p);
    ldns_resolver_deep_free(res);
    ldns_rdf_deep_free(a);
    ldns_rdf_deep_free(name);
    return rc;
}

int sg_reg_parent_query(const char *server, const char *zone, uint32_t timeout_ms,
                        sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    ldns_rr_list *l = NULL;
    int rc = sg_reg_auth_query(server, zone, LDNS_RR_TYPE_DS, timeout_ms, &l, &out->ttl, err, cap);
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && !rc; i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_rd_count(rr) != 4)
            continue;
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        d.tag = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
        d.algorithm = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
        d.digest_type = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
        ldns_rdf *dg = ldns_rr_rdf(rr, 3);
        if (ldns_rdf_size(dg) > sizeof d.digest)
            continue;
        d.digest_len = ldns_rdf_size(dg);
        memcpy(d.digest, ldns_rdf_data(dg), d.digest_len);
        rc = sg_reg_dsset_add(out, &d);
    }
    ldns_rr_list_deep_free(l);
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

static int push_str(char ***v, int *n, const char *s)
{
    char **nv = realloc(*v, (size_t)(*n + 1) * sizeof **v);
    if (!nv)
        return SG_ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return SG_ENOMEM;
    (*n)++;
    return 0;
}

int sg_reg_parent_servers(const sg_reg_cfg *cfg, const char *zone, char ***out, int *n_out,
                          char *err, size_t cap)
{
    *out = NULL;
    *n_out = 0;
    int rc = 0;
    for (int i = 0; i < cfg->nparent_ns && !rc; i++)
        rc = push_str(out, n_out, cfg->parent_ns[i]);
    if (rc || cfg->nparent_ns)
        return rc;
    /* no addresses configured: the parent's NS set, through the system's resolver */
    char parent[256];
    if (cfg->parent[0]) {
        snprintf(parent, sizeof parent, "%s", cfg->parent);
    } else {
        const char *dot = strchr(zone, '.');
        snprintf(parent, sizeof parent, "%s", dot && dot[1] ? dot + 1 : ".");
    }
    ldns_resolver *res = NULL;
    if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK) {
        snprintf(err, cap, "no system resolver to find the NS of %s", parent);
        return SG_EIO;
    }
    ldns_rdf *pn = ldns_dname_new_frm_str(parent);
    ldns_pkt *p = pn ? ldns_resolver_query(res, pn, LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, LDNS_RD) : NULL;
    ldns_rr_list *ns = p ? ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NS, LDNS_SECTION_ANSWER) : NULL;
    for (size_t i = 0; ns && i < ldns_rr_list_rr_count(ns) && !rc; i++) {
        ldns_rdf *host = ldns_rr_rdf(ldns_rr_list_rr(ns, i), 0);
        ldns_rr_list *addrs = ldns_get_rr_list_addr_by_name(res, host, LDNS_RR_CLASS_IN, LDNS_RD);
        for (size_t k = 0; addrs && k < ldns_rr_list_rr_count(addrs) && !rc; k++) {
            char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(addrs, k), 0));
            char buf[160];
            if (s) {
                snprintf(buf, sizeof buf, strchr(s, ':') ? "[%s]:53" : "%s:53", s);
                rc = push_str(out, n_out, buf);
            }
            free(s);
        }
        ldns_rr_list_deep_free(addrs);
    }
    ldns_rr_list_deep_free(ns);
    ldns_pkt_free(p);
    ldns_rdf_deep_free(pn);
    ldns_resolver_deep_free(res);
    if (!rc && *n_out == 0) {
        snprintf(err, cap, "no address found for the NS of %s", parent);
        rc = SG_ENOTFOUND;
    }
    if (rc) {
        for (int i = 0; i < *n_out; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *n_out = 0;
    }
    return rc;
}
