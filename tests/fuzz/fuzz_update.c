/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as an UPDATE message (RFC 2136), evaluated against a fixed
 * zone version with a key that may change anything but the apex SOA, as the `update`
 * plugin does once TSIG has passed. A new version must come with its difference, that
 * difference must survive its text form and replay to the same serial and record count,
 * and a refusal must leave nothing behind. */
#include "update/apply.h"
#include "update/policy.h"
#include "secondary/ixfr.h"
#include "tsig/tsig.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t APEX[] = "\7example\4test";

static sg_zone *base_zone(void)
{
    static const char *const lines[] = {
        "example.test. 60 IN SOA ns1.example.test. h.example.test. 1 3600 600 86400 30",
        "example.test. 60 IN NS ns1.example.test.",
        "ns1.example.test. 60 IN A 192.0.2.1",
        "www.example.test. 60 IN A 192.0.2.2",
        "www.example.test. 60 IN TXT \"x\"",
        "alias.example.test. 60 IN CNAME www.example.test.",
        "sub.example.test. 60 IN NS ns.sub.example.test.",
        "ns.sub.example.test. 60 IN A 192.0.2.3",
        "example.test. 60 IN SOA ns1.example.test. h.example.test. 1 3600 600 86400 30",
    };
    ldns_rr_list *l = ldns_rr_list_new();
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, lines[i], 60, NULL, NULL) != LDNS_STATUS_OK)
            abort();
        ldns_rr_list_push_rr(l, rr);
    }
    sg_zone *z = NULL;
    if (sg_xfr_build_full(APEX, l, "fuzz", &z))
        abort();
    ldns_rr_list_deep_free(l);
    return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sg_zone *base;
    static sg_upd_policy pol;
    static sg_tsig_keyring *kr;
    if (!base) {
        sg_log_set_level(SG_LOG_SILENT);
        base = base_zone();
        kr = sg_tsig_keyring_new();
        sg_cfg *cfg = NULL;
        if (!kr || sg_tsig_keyring_add(kr, "k", "hmac-sha256", "c2VjcmV0c2VjcmV0") ||
            sg_cfg_parse_string("example.test {\n update {\n  key k\n }\n}\n", "fuzz", &cfg) ||
            sg_upd_policy_parse(&cfg->servers[0].children[0], kr, NULL, &pol))
            abort();
        sg_cfg_free(cfg);
    }
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK)
        return 0;
    sg_zone *nz = NULL;
    ldns_rr_list *diff = NULL;
    char why[512];
    int rcode = sg_upd_apply(base, pkt, &pol, 0, SG_SERIAL_INCREMENT, 1800000000, &nz, &diff, why, sizeof why);
    ldns_pkt_free(pkt);
    if (rcode != SG_RCODE_NOERROR && (nz || diff))
        abort(); /* a refusal made something */
    if (!nz != !diff)
        abort();
    if (nz) {
        if (!sg_serial_newer(nz->serial, base->serial))
            abort();
        char *text = sg_upd_diff_text(diff);
        ldns_rr_list *back = NULL;
        sg_zone *again = NULL;
        if (!text || sg_upd_diff_parse(text, &back) || sg_upd_replay(base, back, &again, why, sizeof why) ||
            again->serial != nz->serial || again->nrecords != nz->nrecords) {
            /* what the journal keeps must give the same version again */
            fprintf(stderr, "difference does not replay: %s\n%s", why, text ? text : "(no text)\n");
            abort();
        }
        sg_zone_free(again);
        ldns_rr_list_deep_free(back);
        free(text);
        sg_zone_free(nz);
        ldns_rr_list_deep_free(diff);
    }
    return 0;
}
