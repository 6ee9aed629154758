/* SPDX-License-Identifier: MIT */
/* DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): a client that
 * shows a server cookie we made for its address has shown it can receive our replies, so
 * it is not a spoofed source (response rate limiting exempts it). */
#ifndef SG_COOKIE_H
#define SG_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SG_COOKIE_OPTION 10        /* EDNS option code (RFC 7873 4) */
#define SG_COOKIE_CLIENT_LEN 8
#define SG_COOKIE_SERVER_LEN 16    /* RFC 9018: version, reserved, timestamp, hash */
#define SG_COOKIE_OPT_LEN (4 + SG_COOKIE_CLIENT_LEN + SG_COOKIE_SERVER_LEN)
#define SG_RCODE_BADCOOKIE 23

/* SipHash-2-4 (Aumasson and Bernstein) of in[0..len) with a 16-byte key. */
uint64_t sg_siphash24(const uint8_t key[16], const uint8_t *in, size_t len);

/* The process's server secret: made at random on first use, rotated by
 * sg_cookie_rotate; cookies made with the previous secret are still valid. */
void sg_cookie_rotate(void);

/* The 16-byte server cookie (RFC 9018 4) for a client cookie and address at now. */
void sg_cookie_make(const uint8_t client[SG_COOKIE_CLIENT_LEN], const struct sockaddr *addr,
                    uint32_t now, uint8_t out[SG_COOKIE_SERVER_LEN]);

/* Non-zero when server (len bytes) is a cookie we made for this client cookie and
 * address, with the current or the previous secret, and its time is within an hour in the
 * past and five minutes in the future (RFC 9018 4.3). */
int sg_cookie_valid(const uint8_t client[SG_COOKIE_CLIENT_LEN], const uint8_t *server,
                    size_t len, const struct sockaddr *addr, uint32_t now);

struct sg_query;
/* After parsing: is the query's server cookie one of ours (q->cookie_valid)? */
void sg_cookie_check(struct sg_query *q, uint32_t now);
/* After rendering: append our COOKIE option to the reply's OPT when the query had one
 * (the client cookie and a server cookie: ours sent back while under half an hour old,
 * else a fresh one). Replies from the answer cache get theirs here too. */
void sg_cookie_reply(struct sg_query *q, uint32_t now);
/* A fixed secret shared with other servers (32 hex digits; RFC 9018 lets anycast nodes
 * of any make accept each other's cookies): never rotated. NULL: secrets of our own,
 * random and rotated every hour. 0, or -1 for a bad value. */
int sg_cookie_set_secret(const char *hex);

#endif
