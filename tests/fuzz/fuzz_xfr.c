/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as the messages of an IXFR/AXFR response (each prefixed by
 * its 16-bit length, as on TCP), followed as the secondary follows them: where the stream
 * ends, then differences applied to a fixed base version or a whole zone built. A new
 * version must have the serial the response announced. */
#include "secondary/ixfr.h"
#include "zones/serial.h"
#include "common/log.h"

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
    if (!base) {
        sg_log_set_level(SG_LOG_SILENT);
        base = base_zone();
    }
    sg_xfr_track t;
    sg_xfr_track_init(&t, 1, base->serial);
    ldns_rr_list *all = ldns_rr_list_new();
    int bad = 0;
    size_t off = 0;
    while (!bad && !t.done && off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        ldns_pkt *pkt = NULL;
        if (ldns_wire2pkt(&pkt, data + off, len) != LDNS_STATUS_OK) {
            bad = 1;
            break;
        }
        off += len;
        ldns_rr_list *an = ldns_pkt_answer(pkt);
        for (size_t i = 0; i < ldns_rr_list_rr_count(an) && !bad; i++) {
            ldns_rr *rr = ldns_rr_list_rr(an, i);
            if (sg_xfr_track_rr(&t, (uint16_t)ldns_rr_get_type(rr), sg_xfr_soa_serial(rr)) < 0)
                bad = 1;
            else
                ldns_rr_list_push_rr(all, ldns_rr_clone(rr));
        }
        ldns_pkt_free(pkt);
        if (!bad)
            sg_xfr_track_message_end(&t);
    }
    if (!bad && t.done && t.kind != SG_XFR_UPTODATE) {
        sg_zone *nz = NULL;
        char why[256];
        int rc = t.kind == SG_XFR_INCREMENTAL ? sg_ixfr_apply(base, all, "fuzz", &nz, why, sizeof why)
                                              : sg_xfr_build_full(APEX, all, "fuzz", &nz);
        if (rc == 0) {
            /* the version made is the one announced, and it answers for its apex */
            if (!nz || nz->serial != t.first || !sg_zone_find(nz, nz->apex, nz->apex_len))
                abort();
            sg_zone_free(nz);
        }
    }
    ldns_rr_list_deep_free(all);
    return 0;
}
