/* SPDX-License-Identifier: MIT */
/* Query ACL rules: parsed once, matched per query by byte compares on masked prefixes. */
#include "daemon/acl.h"
#include "common/errors.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* An address prefix, IPv4 kept as 4 bytes (family 4) and IPv6 as 16 (family 6). */
typedef struct prefix {
    uint8_t family;
    uint8_t bits;
    uint8_t addr[16]; /* masked to bits */
} prefix;

typedef struct rule {
    sg_acl_action action;
    uint16_t *types;  /* ntypes 0: every type */
    int ntypes;
    prefix *nets;     /* nnets 0: every client */
    int nnets;
} rule;

struct sg_acl {
    rule *rules;
    int nrules;
};

static const char *const names[SG_ACL_NACTIONS] = { "allow", "block", "filter", "drop" };

const char *sg_acl_action_name(sg_acl_action act)
{
    return act < SG_ACL_NACTIONS ? names[act] : "?";
}

static void mask(uint8_t *a, int len, int bits)
{
    for (int i = 0; i < len; i++) {
        int keep = bits - i * 8;
        a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.1" (a /32), "::1" (a /128). */
static int parse_prefix(const char *s, prefix *p)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(s) >= sizeof buf)
        return SG_ESYNTAX;
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        char *end;
        *slash = 0;
        if (!slash[1] || slash[1] == '-' || slash[1] == '+')
            return SG_ESYNTAX;
        bits = strtol(slash + 1, &end, 10);
        if (*end)
            return SG_ESYNTAX;
    }
    memset(p, 0, sizeof *p);
    if (inet_pton(AF_INET, buf, p->addr) == 1) {
        if (bits > 32 || (slash && bits < 0))
            return SG_ESYNTAX;
        p->family = 4;
        p->bits = (uint8_t)(bits < 0 ? 32 : bits);
        mask(p->addr, 4, p->bits);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, p->addr) == 1) {
        if (bits > 128 || (slash && bits < 0))
            return SG_ESYNTAX;
        p->family = 6;
        p->bits = (uint8_t)(bits < 0 ? 128 : bits);
        mask(p->addr, 16, p->bits);
        return 0;
    }
    return SG_ESYNTAX;
}

static int prefix_has(const prefix *p, int family, const uint8_t *addr)
{
    if (p->family != family)
        return 0;
    int whole = p->bits / 8, rest = p->bits % 8;
    if (memcmp(p->addr, addr, (size_t)whole))
        return 0;
    return !rest || (addr[whole] & (uint8_t)(0xff << (8 - rest))) == p->addr[whole];
}

void sg_acl_free(sg_acl *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nrules; i++) {
        free(a->rules[i].types);
        free(a->rules[i].nets);
    }
    free(a->rules);
    free(a);
}

/* One `ACTION [type QTYPE...] [net PREFIX...]` line into r. */
static int parse_rule(const sg_cfg_block *c, rule *r)
{
    int act = -1;
    for (int i = 0; i < SG_ACL_NACTIONS; i++)
        if (!strcmp(c->name, names[i]))
            act = i;
    if (act < 0)
        return sg_cfg_error(c, "acl: unknown action '%s' (expected allow, block, filter or drop)", c->name);
    if (c->nchildren || c->has_block)
        return sg_cfg_error(c, "acl: %s takes no block", c->name);
    r->action = (sg_acl_action)act;
    if (c->nargs && !(r->types = calloc((size_t)c->nargs, sizeof *r->types)))
        return SG_ENOMEM;
    if (c->nargs && !(r->nets = calloc((size_t)c->nargs, sizeof *r->nets)))
        return SG_ENOMEM;
    int list = 0; /* 1: types, 2: nets */
    int any_type = 0, any_net = 0, saw_type = 0, saw_net = 0;
    for (int i = 0; i < c->nargs; i++) {
        const char *a = c->args[i];
        if (!strcmp(a, "type") || !strcmp(a, "net")) {
            list = a[0] == 't' ? 1 : 2;
            if ((list == 1 && saw_type) || (list == 2 && saw_net))
                return sg_cfg_error(c, "acl: '%s' given twice in one rule", a);
            saw_type |= list == 1;
            saw_net |= list == 2;
            if (i + 1 == c->nargs || !strcmp(c->args[i + 1], "type") || !strcmp(c->args[i + 1], "net"))
                return sg_cfg_error(c, "acl: '%s' needs at least one %s (or *)", a,
                                    list == 1 ? "QTYPE" : "address or prefix");
            continue;
        }
        if (!list)
            return sg_cfg_error(c, "acl: '%s': expected 'type QTYPE...' or 'net PREFIX...'", a);
        if (!strcmp(a, "*")) {
            if (list == 1)
                any_type = 1;
            else
                any_net = 1;
            continue;
        }
        if (list == 1) {
            ldns_rr_type t = ldns_get_rr_type_by_name(a);
            if (!t)
                return sg_cfg_error(c, "acl: '%s' is not a query type (A, AAAA, TXT, TYPE65534, *)", a);
            r->types[r->ntypes++] = (uint16_t)t;
        } else if (parse_prefix(a, &r->nets[r->nnets++])) {
            return sg_cfg_error(c, "acl: '%s' is not an IPv4 or IPv6 address or prefix "
                                "(192.0.2.0/24, 2001:db8::/32, *)", a);
        }
    }
    if (any_type)
        r->ntypes = 0;
    if (any_net)
        r->nnets = 0;
    return 0;
}

int sg_acl_parse(const sg_cfg_block *blk, sg_acl **out)
{
    if (!blk || !out)
        return SG_EINVAL;
    *out = NULL;
    if (!blk->nchildren)
        return sg_cfg_error(blk, "acl: expected a block of rules: acl [ZONES...] { ACTION "
                            "[type QTYPE...] [net PREFIX...] }");
    sg_acl *a = calloc(1, sizeof *a);
    if (!a || !(a->rules = calloc((size_t)blk->nchildren, sizeof *a->rules))) {
        free(a);
        return SG_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < blk->nchildren; i++) {
        int r = parse_rule(&blk->children[i], &a->rules[a->nrules++]);
        if (r == SG_ENOMEM) {
            rc = r;
            break;
        }
        if (r)
            rc = SG_ESYNTAX; /* the other lines are still checked */
    }
    if (rc) {
        sg_acl_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int sg_acl_nrules(const sg_acl *a)
{
    return a ? a->nrules : 0;
}

sg_acl_action sg_acl_match(const sg_acl *a, const struct sockaddr *client, uint16_t qtype)
{
    if (!a || !client)
        return SG_ACL_ALLOW;
    int family;
    const uint8_t *addr;
    if (client->sa_family == AF_INET) {
        family = 4;
        addr = (const uint8_t *)&((const struct sockaddr_in *)client)->sin_addr;
    } else if (client->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)client)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = 4;
            addr = a6->s6_addr + 12;
        } else {
            family = 6;
            addr = a6->s6_addr;
        }
    } else {
        return SG_ACL_ALLOW;
    }
    for (int i = 0; i < a->nrules; i++) {
        const rule *r = &a->rules[i];
        int hit = !r->ntypes;
        for (int k = 0; k < r->ntypes && !hit; k++)
            hit = r->types[k] == qtype;
        if (!hit)
            continue;
        hit = !r->nnets;
        for (int k = 0; k < r->nnets && !hit; k++)
            hit = prefix_has(&r->nets[k], family, addr);
        if (hit)
            return r->action;
    }
    return SG_ACL_ALLOW;
}
