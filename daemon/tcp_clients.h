/* SPDX-License-Identifier: MIT */
/* TCP connections per client address, counted across workers in a fixed table, for the
 * tcp-max-connections-per-client option. */
#ifndef SG_TCP_CLIENTS_H
#define SG_TCP_CLIENTS_H

#include <stdint.h>
#include <sys/socket.h>

/* Count one more connection from peer's address (the port is ignored). Returns 0, or -1
 * when peer already had max connections (max 0: no limit), in which case nothing was
 * counted. Lock-free; addresses that share a slot of the table share a count (a slot per
 * 2^13 addresses at worst, so a busy neighbour may be limited early, never late). */
int sg_tcp_client_acquire(const struct sockaddr *peer, uint32_t max);
/* Count one connection from peer less (one that sg_tcp_client_acquire accepted). */
void sg_tcp_client_release(const struct sockaddr *peer);
/* Connections counted for peer's slot (tests). */
uint32_t sg_tcp_client_count(const struct sockaddr *peer);

#endif
