/* SPDX-License-Identifier: MIT */
/* One generation of the running configuration: options, listeners, plugin chains and the
 * zone -> chain routing. Workers read it without locks; a reload builds a new one. */
#ifndef SG_RUNTIME_H
#define SG_RUNTIME_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/cfg.h"
#include "common/plugin.h"

#define SG_UDP_PAYLOAD_MAX 4096

/* Process-wide options, read at start (a change needs a restart): options_proc.c. */
typedef struct sg_proc_options {
    char control[108];        /* control socket path; "" when turned off */
    char user[64];            /* drop to this user after binding; "" to stay */
    char pid_file[1024];      /* "" for none */
    char log_target[16];      /* "stderr" or "syslog" */
    char log_format[8];       /* "text" or "json" */
    const char *cookie_secret;/* 32 hex digits shared with other servers, or NULL (random):
                               * points into the config tree, whose secrets stay out of
                               * core dumps; never copied */
    int core_dumps;           /* 1: the process may dump core (debugging); default no */
} sg_proc_options;

/* Parse one global option if it is a process option: 0 done, SG_ESYNTAX (logged with
 * file:line), or 1 when the directive is not one of these. */
int sg_proc_option(const sg_cfg_block *d, sg_proc_options *o);
void sg_proc_defaults(sg_proc_options *o);

typedef struct sg_options {
    int workers;              /* 0: one per core */
    uint16_t udp_max_payload; /* EDNS UDP payload we accept and advertise (default 1232) */
    uint32_t tcp_idle_timeout;/* seconds */
    uint32_t tcp_io_timeout;  /* milliseconds: a connection's first query, and any message
                               * once begun, must arrive whole within it (slowloris) */
    uint32_t tcp_max_connections;
    uint32_t tcp_max_per_client;  /* 0: no limit */
    uint16_t max_answer_size;     /* bytes of any reply but a transfer (default 65535) */
    size_t key_objects;           /* signing key objects kept built (signer/compact_key.h) */
    sg_proc_options proc;
} sg_options;

typedef struct sg_listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80];            /* "127.0.0.1:5353" / "[::1]:5353" */
    uint8_t tls;              /* DNS over TLS: TCP only, through the table's certificate */
} sg_listen_addr;

typedef struct sg_route {
    const uint8_t *apex;      /* wire, lower case */
    uint8_t apex_len;
    sg_handler *chain;
} sg_route;

/* The zones served on one listening address, hashed by apex. */
struct sg_tls_ctx;

typedef struct sg_route_table {
    sg_listen_addr addr;
    struct sg_tls_ctx *tls;   /* the certificate of a TLS address (borrowed from a block) */
    sg_route *slots;
    size_t mask;
    size_t n;
} sg_route_table;

typedef struct sg_server_block {
    uint8_t (*zones)[SG_NAME_MAX];
    int nzones;
    sg_handler *handlers;     /* the chain, handlers[0] first */
    int nhandlers;
    struct sg_tls_ctx *tls;   /* `tls CERT KEY`: the block listens for DNS over TLS */
} sg_server_block;

typedef struct sg_runtime {
    sg_cfg *cfg;
    sg_options opt;
    sg_server_block *blocks;
    int nblocks;
    sg_route_table *tables;   /* one per distinct listening address */
    int ntables;
    sg_route_table **by_socket; /* server listener index -> table (NULL: nothing there) */
    int nby_socket;
    struct sg_tsig_keyring *tsig; /* TSIG keys of the options block (never NULL once built) */
} sg_runtime;

/* Read the config file, set up every plugin (loading zones) and the routes.
 * Errors are logged with file:line. check_only: no background tasks, zones loaded fresh. */
int sg_runtime_build(const char *cfg_path, int check_only, sg_runtime **rt_out);
/* The same from a parsed configuration, which the runtime takes over (freed on failure too). */
int sg_runtime_build_cfg(sg_cfg *cfg, int check_only, sg_runtime **rt_out);
/* Start the plugins' background tasks. */
int sg_runtime_start(sg_runtime *rt);
/* Stop tasks and tear down every handler; frees rt. */
void sg_runtime_free(sg_runtime *rt);
/* Map the server's listening addresses (by index) to this runtime's route tables. */
int sg_runtime_map_sockets(sg_runtime *rt, const sg_listen_addr *addrs, int n);

/* The chain for a query arriving on server listener idx, or NULL (REFUSED). DS queries
 * for a zone apex go to the parent zone's chain when that zone is served too. */
sg_handler *sg_runtime_route(const sg_runtime *rt, int idx, const sg_query *q);

/* The plugins this program has, in chain order, NULL-terminated: set once, before the
 * first build, by the program (signetd, a test, a fuzz target). The list is generated
 * from plugin.cfg (cmake/plugins.cmake), so the core knows no plugin by name. */
void sg_runtime_set_plugins(const sg_plugin *const *order);
/* The generated list's name, for programs linking a signet_plugin_order() library. */
extern const sg_plugin *const sg_plugin_order[];

#endif
