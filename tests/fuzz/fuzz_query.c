/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a DNS message through the whole query path (parse, route,
 * file lookup, online signing with NSEC3, render), over UDP and TCP limits. */
#include "daemon/runtime.h"
#include "daemon/server.h"
#include "common/arena.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sg_runtime *g_rt;
static sg_arena g_arena;

static void setup(void)
{
    sg_log_set_level(SG_LOG_ERR);
    /* queries never log at error level; setup errors stay visible */
    char dir[] = "/tmp/sg-fuzz-query-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/Corefile", dir);
    FILE *f = fopen(cfg, "w");
    if (!f)
        abort();
    fprintf(f, "example.test:5399 {\n bind 127.0.0.1\n dnssec {\n  keystore %s/ks.db\n }\n"
               " file %s/tests/fixtures/example.test.zone\n}\n", dir, SIGNET_SOURCE_DIR);
    fclose(f);
    sg_runtime_set_plugins(sg_plugin_order);
    if (sg_runtime_build(cfg, 0, &g_rt))
        abort();
    sg_listen_addr a = g_rt->tables[0].addr;
    if (sg_runtime_map_sockets(g_rt, &a, 1))
        abort();
    sg_arena_init(&g_arena, 65536);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[65535];
    if (!g_rt)
        setup();
    for (int t = 0; t < 2; t++) {
        sg_query q;
        memset(&q, 0, sizeof q);
        q.transport = t ? SG_TRANSPORT_TCP : SG_TRANSPORT_UDP;
        q.out = out;
        q.out_cap = t ? sizeof out : SG_UDP_PAYLOAD_MAX;
        q.arena = &g_arena;
        size_t len = sg_server_answer(g_rt, 0, &q, data, size);
        if (len > q.out_cap || (len && len < 12))
            abort();
        if (!t && len > q.max_size)
            abort(); /* a UDP reply never exceeds what the client allows */
    }
    return 0;
}
