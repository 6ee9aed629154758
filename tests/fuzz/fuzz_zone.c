/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a master file; a zone that loads must answer lookups. */
#include "zones/zone.h"
#include "common/log.h"
#include "common/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        sg_log_set_level(SG_LOG_SILENT); /* load errors are expected by the thousand */
        snprintf(path, sizeof path, "/tmp/sg-fuzz-zone-%d.zone", (int)getpid());
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    sg_zone *z = NULL;
    if (sg_zone_load_file(path, "example.test.", &z) == 0) {
        /* every name of the zone is found and answers without crashing */
        static uint8_t pkt[512];
        for (size_t i = 0; i < z->nnodes && i < 64; i++) {
            const sg_node *n = &z->nodes[i];
            if (sg_zone_find(z, n->name, n->name_len) != n)
                abort();
            memset(pkt, 0, 12);
            pkt[5] = 1;
            memcpy(pkt + 12, n->name, n->name_len);
            size_t o = 12 + n->name_len;
            pkt[o++] = 0; pkt[o++] = 255; pkt[o++] = 0; pkt[o++] = 1;
            sg_query q;
            memset(&q, 0, sizeof q);
            if (sg_wire_parse_query(&q, pkt, o, 1232) == SG_PARSE_OK)
                sg_zone_answer(z, &q);
        }
        sg_zone_free(z);
    }
    return 0;
}
