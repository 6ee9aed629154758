/* SPDX-License-Identifier: MIT */
/* Query ACLs (the `acl` plugin's rules): ordered rules of an action, query types and
 * client prefixes; the first rule that matches a query decides, none matching allows.
 * Matching reads only the compiled rules: no allocation, no lock, on any worker. */
#ifndef SG_ACL_H
#define SG_ACL_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/cfg.h"

typedef enum sg_acl_action {
    SG_ACL_ALLOW,  /* the query goes on down the chain */
    SG_ACL_BLOCK,  /* REFUSED */
    SG_ACL_FILTER, /* NOERROR with nothing in it */
    SG_ACL_DROP,   /* no reply at all */
    SG_ACL_NACTIONS
} sg_acl_action;

typedef struct sg_acl sg_acl;

/* Compile the rules of an `acl [ZONES...] { ACTION [type QTYPE...] [net PREFIX...] }`
 * block: each child line is a rule (allow, block, filter, drop), `type` names query types
 * (or `*`), `net` names IPv4/IPv6 addresses or prefixes (or `*`); an omitted list matches
 * everything. Errors name file:line (sg_cfg_error). 0 and *out (sg_acl_free), SG_ESYNTAX or
 * SG_ENOMEM. The ZONES of blk are not read here (the plugin's). */
int sg_acl_parse(const sg_cfg_block *blk, sg_acl **out);
void sg_acl_free(sg_acl *a);

/* What the first matching rule says for a query of type qtype from client (AF_INET or
 * AF_INET6; an IPv4-mapped IPv6 address is matched as IPv4); SG_ACL_ALLOW when none
 * matches or the client's family is another. */
sg_acl_action sg_acl_match(const sg_acl *a, const struct sockaddr *client, uint16_t qtype);

/* The number of rules (tests). */
int sg_acl_nrules(const sg_acl *a);

/* "allow", "block", "filter", "drop". */
const char *sg_acl_action_name(sg_acl_action act);

#endif
