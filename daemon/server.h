/* SPDX-License-Identifier: MIT */
/* The network engine: listening sockets, worker threads (UDP with SO_REUSEPORT and
 * batched I/O, TCP with pipelining per RFC 7766), and the lock-free runtime swap. */
#ifndef SG_SERVER_H
#define SG_SERVER_H

#include "daemon/runtime.h"

typedef struct sg_server sg_server;

/* Open every socket the runtime's listening addresses need, for every worker.
 * Errors (address in use...) are logged. */
int sg_server_new(const sg_runtime *rt, sg_server **srv_out);
/* The addresses bound, in socket index order (for sg_runtime_map_sockets). */
const sg_listen_addr *sg_server_addrs(const sg_server *srv, int *n_out);
/* For status and stats: the number of workers, and of TCP connections open now. */
int sg_server_nworkers(const sg_server *srv);
unsigned sg_server_tcp_connections(const sg_server *srv);
/* Start the worker threads serving rt. */
int sg_server_start(sg_server *srv, sg_runtime *rt);
/* Make rt the runtime of every worker; returns the previous one once no worker can
 * still use it (the caller frees it). */
sg_runtime *sg_server_swap(sg_server *srv, sg_runtime *rt);
/* Stop and join the workers, close the sockets, free srv (not the runtime). */
void sg_server_free(sg_server *srv);

/* Answer one DNS message: parse, route, run the chain, render. Returns the reply length
 * in q->out (0: send nothing). Exposed for tests. */
size_t sg_server_answer(const sg_runtime *rt, int listen_idx, sg_query *q,
                        const uint8_t *pkt, size_t len);

#endif
