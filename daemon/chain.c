/* SPDX-License-Identifier: MIT */
/* Building a runtime from the config: options, server blocks, plugin chains in the fixed
 * order of the program's plugin list (sg_runtime_set_plugins), and the zone -> chain
 * routes per listening address. */
#include "daemon/runtime.h"
#include "daemon/tls.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/name.h"
#include "signer/compact_key.h"
#include "tsig/tsig.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void options_defaults(sg_options *o)
{
    o->workers = 0;
    o->udp_max_payload = 1232;
    o->tcp_idle_timeout = 10;
    o->tcp_io_timeout = 2000;
    o->tcp_max_connections = 1024;
    o->max_answer_size = 65535;
    o->key_objects = SG_KEY_OBJECTS_DEFAULT;
    sg_proc_defaults(&o->proc);
}

/* Every line is checked (-t reports each error, not the first): a refused line counts
 * and the loop goes on. */
static int parse_option(const sg_cfg_block *d, sg_options *o, sg_tsig_keyring *kr);

static int parse_options(const sg_cfg_block *g, sg_options *o, sg_tsig_keyring *kr)
{
    int errors = 0;
    for (int i = 0; i < g->nchildren; i++) {
        int rc = parse_option(&g->children[i], o, kr);
        if (rc == SG_ENOMEM)
            return rc;
        errors += rc != 0;
    }
    return errors ? SG_ESYNTAX : 0;
}

static int parse_option(const sg_cfg_block *d, sg_options *o, sg_tsig_keyring *kr)
{
    {
        uint64_t v;
        if (!strcmp(d->name, "workers")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 1, 256, &v))
                return sg_cfg_error(d, "workers: expected a number of threads from 1 to 256");
            o->workers = (int)v;
        } else if (!strcmp(d->name, "udp-max-payload")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 512, SG_UDP_PAYLOAD_MAX, &v))
                return sg_cfg_error(d, "udp-max-payload: expected bytes from 512 to %d", SG_UDP_PAYLOAD_MAX);
            o->udp_max_payload = (uint16_t)v;
        } else if (!strcmp(d->name, "tcp-idle-timeout")) {
            if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &v) || v < 1 || v > 3600)
                return sg_cfg_error(d, "tcp-idle-timeout: expected a duration from 1s to 1h");
            o->tcp_idle_timeout = (uint32_t)v;
        } else if (!strcmp(d->name, "tcp-io-timeout")) {
            if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &v) || v < 1 || v > 60)
                return sg_cfg_error(d, "tcp-io-timeout: expected a duration from 1s to 60s");
            o->tcp_io_timeout = (uint32_t)v * 1000;
        } else if (!strcmp(d->name, "tcp-max-connections")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 1, 1000000, &v))
                return sg_cfg_error(d, "tcp-max-connections: expected a number from 1 to 1000000");
            o->tcp_max_connections = (uint32_t)v;
        } else if (!strcmp(d->name, "tcp-max-connections-per-client")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 0, 1000000, &v))
                return sg_cfg_error(d, "tcp-max-connections-per-client: expected a number from "
                                       "0 (no limit) to 1000000");
            o->tcp_max_per_client = (uint32_t)v;
        } else if (!strcmp(d->name, "max-answer-size")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 512, 65535, &v))
                return sg_cfg_error(d, "max-answer-size: expected bytes from 512 to 65535");
            o->max_answer_size = (uint16_t)v;
        } else if (!strcmp(d->name, "key-objects")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 0, 100000000, &v))
                return sg_cfg_error(d, "key-objects: expected a number of key objects kept "
                                       "built (0: every key's)");
            o->key_objects = (size_t)v;
        } else if (!strcmp(d->name, "log-level")) {
            enum sg_log_level lvl;
            if (d->nargs != 1 || sg_log_parse_level(d->args[0], &lvl))
                return sg_cfg_error(d, "log-level: expected error, warning, info or debug");
            sg_log_set_level(lvl);
        } else if (!strcmp(d->name, "tsig-key")) {
            int rc = sg_tsig_config_directive(kr, d);
            if (rc)
                return rc;
        } else {
            int rc = sg_proc_option(d, &o->proc); /* control, user, pid-file, log-target */
            if (rc == 1)
                return sg_cfg_error(d, "unknown global option '%s'", d->name);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* "example.test:5353", "dns://example.test", ".:53", "tls://example.test" -> wire zone
 * and port (default 53, or 853 for DNS over TLS); *tls_out set for a tls:// key */
static int parse_key(const sg_cfg_block *b, const char *key, int tls_block, uint8_t zone[SG_NAME_MAX],
                     uint16_t *port, int *tls_out)
{
    char tmp[1100];
    *tls_out = 0;
    if (!strncmp(key, "dns://", 6)) {
        key += 6;
    } else if (!strncmp(key, "tls://", 6)) {
        key += 6;
        *tls_out = 1;
    }
    snprintf(tmp, sizeof tmp, "%s", key);
    *port = tls_block || *tls_out ? 853 : 53;
    char *colon = strrchr(tmp, ':');
    if (colon) {
        uint64_t v;
        if (sg_cfg_parse_uint(colon + 1, 1, 65535, &v))
            return sg_cfg_error(b, "bad port in server block key '%s'", key);
        *port = (uint16_t)v;
        *colon = 0;
    }
    if (!tmp[0] || sg_name_from_str(tmp, (const uint8_t *)"", zone))
        return sg_cfg_error(b, "bad zone name in server block key '%s'", key);
    sg_name_lower(zone);
    return 0;
}

static int parse_addr(const char *s, uint16_t port, sg_listen_addr *a)
{
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a->len = sizeof *v4;
        snprintf(a->text, sizeof a->text, "%s:%u", s, port);
        return 0;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    if (buf[0] == '[' && buf[strlen(buf) - 1] == ']') {
        memmove(buf, buf + 1, strlen(buf));
        buf[strlen(buf) - 1] = 0;
    }
    if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a->len = sizeof *v6;
        snprintf(a->text, sizeof a->text, "[%s]:%u", buf, port);
        return 0;
    }
    return -1;
}

static int addr_eq(const sg_listen_addr *a, const sg_listen_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0 && a->tls == b->tls;
}

/* The table of address a; NULL when out of memory or (with *clash set) when the same
 * address and port serve plain DNS in one block and DNS over TLS in another. */
static sg_route_table *table_for(sg_runtime *rt, const sg_listen_addr *a, int *clash)
{
    *clash = 0;
    for (int i = 0; i < rt->ntables; i++) {
        const sg_listen_addr *t = &rt->tables[i].addr;
        if (addr_eq(t, a))
            return &rt->tables[i];
        if (t->len == a->len && !memcmp(&t->ss, &a->ss, a->len)) {
            *clash = 1;
            return NULL;
        }
    }
    sg_route_table *nt = realloc(rt->tables, (rt->ntables + 1) * sizeof *nt);
    if (!nt)
        return NULL;
    rt->tables = nt;
    sg_route_table *t = &nt[rt->ntables++];
    memset(t, 0, sizeof *t);
    t->addr = *a;
    return t;
}

static int route_insert_slot(sg_route *slots, size_t mask, const sg_route *r)
{
    size_t i = sg_name_hash(r->apex, r->apex_len) & mask;
    while (slots[i].apex) {
        if (slots[i].apex_len == r->apex_len && !memcmp(slots[i].apex, r->apex, r->apex_len))
            return SG_EEXIST;
        i = (i + 1) & mask;
    }
    slots[i] = *r;
    return 0;
}

static int route_add(sg_route_table *t, const uint8_t *apex, sg_handler *chain)
{
    if ((t->n + 1) * 2 > t->mask + 1 || !t->slots) {
        size_t nsz = t->slots ? (t->mask + 1) * 2 : 16;
        sg_route *ns = calloc(nsz, sizeof *ns);
        if (!ns)
            return SG_ENOMEM;
        for (size_t i = 0; t->slots && i <= t->mask; i++)
            if (t->slots[i].apex)
                route_insert_slot(ns, nsz - 1, &t->slots[i]);
        free(t->slots);
        t->slots = ns;
        t->mask = nsz - 1;
    }
    sg_route r = { .apex = apex, .apex_len = (uint8_t)sg_name_len(apex), .chain = chain };
    int rc = route_insert_slot(t->slots, t->mask, &r);
    if (rc == 0)
        t->n++;
    return rc;
}

static const sg_route *route_find(const sg_route_table *t, const uint8_t *name, size_t len)
{
    size_t i = sg_name_hash(name, len) & t->mask;
    while (t->slots[i].apex) {
        if (t->slots[i].apex_len == len && !memcmp(t->slots[i].apex, name, len))
            return &t->slots[i];
        i = (i + 1) & t->mask;
    }
    return NULL;
}

sg_handler *sg_runtime_route(const sg_runtime *rt, int idx, const sg_query *q)
{
    if (idx < 0 || idx >= rt->nby_socket || !rt->by_socket[idx])
        return NULL;
    const sg_route_table *t = rt->by_socket[idx];
    const uint8_t *p = q->qname;
    size_t len = q->qname_len;
    const sg_route *found = NULL;
    for (;;) {
        const sg_route *r = route_find(t, p, len);
        if (r) {
            /* the DS of a zone apex lives in the parent zone */
            if (!(q->qtype == SG_TYPE_DS && p == q->qname && len > 1))
                return r->chain;
            if (!found)
                found = r;
        }
        if (len <= 1)
            break;
        len -= p[0] + 1u;
        p += p[0] + 1u;
    }
    return found ? found->chain : NULL;
}

/* Does this host have the address? Bound on port 0 and let go at once: no port is taken,
 * so -t can ask it too. */
static int address_here(const sg_listen_addr *a)
{
    struct sockaddr_storage ss = a->ss;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1; /* no such family here at all: the start says so with its own words */
    int ok = bind(fd, (struct sockaddr *)&ss, a->len) == 0 || errno != EADDRNOTAVAIL;
    close(fd);
    return ok;
}

static const sg_plugin *const no_plugins[] = { NULL };
static const sg_plugin *const *plugins = no_plugins;

void sg_runtime_set_plugins(const sg_plugin *const *order)
{
    plugins = order ? order : no_plugins;
}

/* One server block being set up: its zones and ports, its listening addresses, and the
 * count of refused lines (-t reports every line, not the first). */
typedef struct block_setup {
    sg_runtime *rt;
    const sg_cfg_block *b;
    sg_server_block *sb;
    uint16_t *ports;
    const uint8_t **zptr;
    sg_listen_addr *binds;
    int nbinds;
    int nplug;  /* directives that name a plugin: the handler slots */
    int errors;
} block_setup;

/* The block's keys: ZONE[:PORT] or tls://ZONE[:PORT], all of one kind. */
static int block_zones(block_setup *bs)
{
    const sg_cfg_block *b = bs->b;
    sg_server_block *sb = bs->sb;
    int tls_line = 0, tls_keys = 0;
    for (int i = 0; i < b->nchildren; i++)
        tls_line |= !strcmp(b->children[i].name, "tls");
    for (int i = 0; i < b->nargs; i++) {
        int is_tls, rc;
        if ((rc = parse_key(b, b->args[i], tls_line, sb->zones[i], &bs->ports[i], &is_tls)))
            return rc;
        tls_keys += is_tls;
        for (int k = 0; k < i; k++)
            if (sg_name_eq(sb->zones[k], sb->zones[i]) && bs->ports[k] == bs->ports[i])
                return sg_cfg_error(b, "zone '%s' is listed twice", b->args[i]);
        bs->zptr[i] = sb->zones[i];
        sb->nzones++;
    }
    if (tls_keys && tls_keys != b->nargs)
        return sg_cfg_error(b, "a server block is either tls:// or plain DNS, not both");
    if (tls_keys && !tls_line)
        return sg_cfg_error(b, "tls:// needs a 'tls CERT KEY' line in its block");
    return 0;
}

static int bind_line(block_setup *bs, const sg_cfg_block *d)
{
    if (d->nargs < 1 || d->has_block) {
        bs->errors += !!sg_cfg_error(d, "bind: expected one or more IP addresses");
        return 0;
    }
    for (int k = 0; k < d->nargs; k++) {
        sg_listen_addr a;
        if (parse_addr(d->args[k], 53, &a)) {
            bs->errors += !!sg_cfg_error(d, "bind: '%s' is not an IPv4 or IPv6 address", d->args[k]);
            continue;
        }
        if (!address_here(&a)) {
            /* -t must say what a start would hit (issue 15: -t said OK) */
            bs->errors += !!sg_cfg_error(d, "bind: this host has no address %s", d->args[k]);
            continue;
        }
        sg_listen_addr *nb = realloc(bs->binds, (bs->nbinds + 1) * sizeof *nb);
        if (!nb)
            return SG_ENOMEM;
        bs->binds = nb;
        bs->binds[bs->nbinds++] = a;
    }
    return 0;
}

static int tls_line(block_setup *bs, const sg_cfg_block *d)
{
    if (bs->sb->tls) {
        bs->errors += !!sg_cfg_error(d, "tls given twice in one server block");
        return 0;
    }
    int rc = sg_tls_ctx_from_cfg(d, &bs->sb->tls);
    if (rc == SG_ENOMEM)
        return rc;
    bs->errors += rc != 0;
    return 0;
}

/* A directive that is not bind or tls names a plugin, given once unless it may repeat. */
static void plugin_line(block_setup *bs, int i)
{
    const sg_cfg_block *d = &bs->b->children[i];
    const sg_plugin *known = NULL;
    bs->nplug++; /* a handler slot even for a line refused below, whose setup still runs */
    for (int p = 0; plugins[p]; p++)
        if (!strcmp(plugins[p]->name, d->name))
            known = plugins[p];
    if (!known) {
        bs->errors += !!sg_cfg_error(d, "unknown plugin or directive '%s'", d->name);
        return;
    }
    int seen = 0;
    for (int k = 0; k < i; k++)
        seen |= !strcmp(bs->b->children[k].name, d->name);
    if (seen && !(known->flags & SG_PLUGIN_REPEATABLE))
        bs->errors += !!sg_cfg_error(d, "plugin '%s' given twice in one server block", d->name);
}

static int block_lines(block_setup *bs)
{
    for (int i = 0; i < bs->b->nchildren; i++) {
        const sg_cfg_block *d = &bs->b->children[i];
        int rc = 0;
        if (!strcmp(d->name, "bind"))
            rc = bind_line(bs, d);
        else if (!strcmp(d->name, "tls"))
            rc = tls_line(bs, d);
        else
            plugin_line(bs, i);
        if (rc)
            return rc;
    }
    if (bs->nbinds == 0) {
        /* no bind: every address, IPv4 and IPv6 */
        bs->binds = calloc(2, sizeof *bs->binds);
        if (!bs->binds)
            return SG_ENOMEM;
        parse_addr("0.0.0.0", 53, &bs->binds[0]);
        parse_addr("::", 53, &bs->binds[1]);
        bs->nbinds = 2;
    }
    return 0;
}

/* The chain, in the program's fixed order; every plugin's setup runs, so that each
 * refused line is reported. */
static int block_chain(block_setup *bs, int check_only)
{
    sg_server_block *sb = bs->sb;
    const sg_cfg_block *b = bs->b;
    sb->handlers = calloc(bs->nplug ? bs->nplug : 1, sizeof *sb->handlers);
    if (!sb->handlers)
        return SG_ENOMEM;
    sg_setup_ctx ctx = { .zones = bs->zptr, .nzones = sb->nzones, .check_only = check_only,
                         .tsig = bs->rt->tsig, .block = b, .set_up = sb->handlers };
    /* zones at run time (issue 17): every plugin of the block must follow them, or the
     * combination is refused here rather than served wrongly */
    const sg_cfg_block *runtime = NULL;
    for (int p = 0; plugins[p] && !runtime; p++)
        for (int i = 0; i < b->nchildren && !runtime; i++)
            if ((plugins[p]->flags & SG_PLUGIN_RUNTIME_ZONES) &&
                !strcmp(b->children[i].name, plugins[p]->name))
                runtime = &b->children[i];
    if (runtime) {
        ctx.runtime_zones = 1;
        for (int p = 0; plugins[p]; p++) {
            if (plugins[p]->flags & (SG_PLUGIN_RUNTIME_ZONES | SG_PLUGIN_FOLLOWS_ZONES))
                continue;
            for (int i = 0; i < b->nchildren; i++)
                if (!strcmp(b->children[i].name, plugins[p]->name)) {
                    sg_cfg_error(&b->children[i], "%s: not available in a block whose zones "
                                 "come and go at run time ('%s' at line %d): it knows its "
                                 "zones only at setup; serve such zones in a block of their own",
                                 plugins[p]->name, runtime->name, runtime->line);
                    bs->errors++;
                }
        }
        if (bs->errors)
            return SG_ESYNTAX;
    }
    for (int p = 0; plugins[p]; p++) {
        for (int i = 0; i < b->nchildren; i++) {
            const sg_cfg_block *d = &b->children[i];
            if (strcmp(d->name, plugins[p]->name))
                continue;
            sg_handler *h = &sb->handlers[sb->nhandlers];
            h->plugin = plugins[p];
            h->slot = p < SG_ATTACH_MAX ? p : -1; /* its attachments on zone versions */
            ctx.slot = h->slot;
            ctx.nset_up = sb->nhandlers;
            int rc = h->plugin->setup(d, &ctx, &h->state);
            if (rc == SG_ENOMEM)
                return rc;
            if (rc) {
                bs->errors++; /* the other plugins still check their lines */
                continue;
            }
            sb->nhandlers++;
        }
    }
    if (bs->errors)
        return SG_ESYNTAX;
    for (int i = 0; i + 1 < sb->nhandlers; i++)
        sb->handlers[i].next = &sb->handlers[i + 1];
    if (sb->nhandlers == 0)
        sg_log(SG_LOG_WARN, "config", NULL, "%s:%d: server block has no plugins; it will refuse every query",
               b->file, b->line);
    return 0;
}

/* Each zone of the block on each listening address: zone -> chain routes. */
static int block_routes(block_setup *bs)
{
    sg_server_block *sb = bs->sb;
    const sg_cfg_block *b = bs->b;
    for (int z = 0; z < sb->nzones; z++) {
        for (int k = 0; k < bs->nbinds; k++) {
            sg_listen_addr a = bs->binds[k];
            if (a.ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&a.ss)->sin_port = htons(bs->ports[z]);
            else
                ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(bs->ports[z]);
            char *colon = strrchr(a.text, ':');
            if (colon)
                snprintf(colon, sizeof a.text - (colon - a.text), ":%u", bs->ports[z]);
            a.tls = sb->tls != NULL;
            int clash;
            sg_route_table *t = table_for(bs->rt, &a, &clash);
            if (!t)
                return clash ? sg_cfg_error(b, "%s serves plain DNS in another block; DNS over TLS "
                                            "needs a port of its own", a.text) : SG_ENOMEM;
            if (sb->tls && !t->tls)
                t->tls = sb->tls;
            else if (sb->tls && strcmp(sg_tls_ctx_cert(t->tls), sg_tls_ctx_cert(sb->tls)))
                return sg_cfg_error(b, "%s already has the certificate %s", a.text, sg_tls_ctx_cert(t->tls));
            int rc = route_add(t, sb->zones[z], sb->nhandlers ? &sb->handlers[0] : NULL);
            if (rc == SG_EEXIST)
                return sg_cfg_error(b, "zone '%s' is already served on %s", b->args[z], a.text);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int setup_block(sg_runtime *rt, const sg_cfg_block *b, int check_only)
{
    sg_server_block *sb = &rt->blocks[rt->nblocks++];
    memset(sb, 0, sizeof *sb);
    block_setup bs = { .rt = rt, .b = b, .sb = sb };
    bs.ports = calloc(b->nargs, sizeof *bs.ports);
    sb->zones = calloc(b->nargs, sizeof *sb->zones);
    bs.zptr = calloc(b->nargs, sizeof *bs.zptr);
    int rc = !bs.ports || !sb->zones || !bs.zptr ? SG_ENOMEM : 0;
    if (!rc)
        rc = block_zones(&bs);
    if (!rc)
        rc = block_lines(&bs);
    if (!rc)
        rc = block_chain(&bs, check_only);
    if (!rc)
        rc = block_routes(&bs);
    free(bs.ports);
    free(bs.zptr);
    free(bs.binds);
    return rc;
}

int sg_runtime_build(const char *cfg_path, int check_only, sg_runtime **rt_out)
{
    sg_cfg *cfg;
    int rc = sg_cfg_parse_file(cfg_path, &cfg);
    if (rc)
        return rc;
    return sg_runtime_build_cfg(cfg, check_only, rt_out);
}

int sg_runtime_build_cfg(sg_cfg *cfg, int check_only, sg_runtime **rt_out)
{
    const char *cfg_path = cfg->nfiles ? cfg->files[0] : "config";
    sg_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        sg_cfg_free(cfg);
        return SG_ENOMEM;
    }
    options_defaults(&rt->opt);
    rt->cfg = cfg;
    int rc;
    rt->tsig = sg_tsig_keyring_new();
    if (!rt->tsig) {
        rc = SG_ENOMEM;
        goto fail;
    }
    int errors = 0;
    if (rt->cfg->global && (rc = parse_options(rt->cfg->global, &rt->opt, rt->tsig))) {
        if (rc == SG_ENOMEM)
            goto fail;
        errors++; /* the server blocks are still checked */
    }
    sg_metrics_set_workers(rt->opt.workers); /* before plugins make their counters */
    if (rt->cfg->nservers == 0) {
        sg_log(SG_LOG_ERR, "config", NULL, "%s: no server blocks", cfg_path);
        rc = SG_ESYNTAX;
        goto fail;
    }
    rt->blocks = calloc(rt->cfg->nservers, sizeof *rt->blocks);
    if (!rt->blocks) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < rt->cfg->nservers; i++) {
        rc = setup_block(rt, &rt->cfg->servers[i], check_only);
        if (rc == SG_ENOMEM)
            goto fail;
        if (rc)
            errors++; /* go on, so that -t reports every broken block */
    }
    if (errors) {
        rc = SG_ESYNTAX;
        goto fail;
    }
    *rt_out = rt;
    return 0;
fail:
    sg_runtime_free(rt);
    return rc;
}

int sg_runtime_start(sg_runtime *rt)
{
    sg_compact_key_set_cache(rt->opt.key_objects);
    for (int b = 0; b < rt->nblocks; b++)
        for (int i = 0; i < rt->blocks[b].nhandlers; i++) {
            sg_handler *h = &rt->blocks[b].handlers[i];
            if (h->plugin->start) {
                int rc = h->plugin->start(h->state);
                if (rc)
                    return rc;
            }
        }
    return 0;
}

void sg_runtime_free(sg_runtime *rt)
{
    if (!rt)
        return;
    for (int b = 0; b < rt->nblocks; b++) {
        sg_server_block *sb = &rt->blocks[b];
        for (int i = 0; i < sb->nhandlers; i++) {
            sg_handler *h = &sb->handlers[i];
            if (h->plugin->stop)
                h->plugin->stop(h->state);
        }
        for (int i = 0; i < sb->nhandlers; i++) {
            sg_handler *h = &sb->handlers[i];
            if (h->plugin->teardown)
                h->plugin->teardown(h->state);
        }
        free(sb->handlers);
        free(sb->zones);
        sg_tls_ctx_free(sb->tls);
    }
    free(rt->blocks);
    for (int i = 0; i < rt->ntables; i++)
        free(rt->tables[i].slots);
    free(rt->tables);
    free(rt->by_socket);
    sg_tsig_keyring_free(rt->tsig);
    sg_cfg_free(rt->cfg);
    free(rt);
}

int sg_runtime_map_sockets(sg_runtime *rt, const sg_listen_addr *addrs, int n)
{
    free(rt->by_socket);
    rt->by_socket = calloc(n ? n : 1, sizeof *rt->by_socket);
    if (!rt->by_socket)
        return SG_ENOMEM;
    rt->nby_socket = n;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < rt->ntables; t++)
            if (addr_eq(&rt->tables[t].addr, &addrs[i]))
                rt->by_socket[i] = &rt->tables[t];
    return 0;
}
