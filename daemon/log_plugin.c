/* SPDX-License-Identifier: MIT */
/* The `log` plugin: one line per query, in CoreDNS's format, after the reply is made. */
#include "daemon/plugins.h"
#include "daemon/clock.h"
#include "common/log.h"
#include "common/wire.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

static int log_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    (void)ctx;
    if (blk->nargs > 0 || blk->nchildren > 0)
        return sg_cfg_error(blk, "log: takes no arguments");
    *state_out = NULL;
    return 0;
}

const char *sg_rcode_name(uint16_t rcode)
{
    static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                   "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                   "NOTZONE" };
    if (rcode < sizeof names / sizeof names[0])
        return names[rcode];
    if (rcode == SG_RCODE_BADVERS)
        return "BADVERS";
    return "RCODE?";
}

void sg_type_name(uint16_t type, char *buf, size_t cap)
{
    const ldns_rr_descriptor *d = ldns_rr_descript(type);
    if (d && d->_name)
        snprintf(buf, cap, "%s", d->_name);
    else
        snprintf(buf, cap, "TYPE%u", type);
}

/* "127.0.0.1:53" or "[::1]:53" */
static void addr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        port = ntohs(v4->sin_port);
        snprintf(buf, cap, "%s:%u", ip, port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        port = ntohs(v6->sin6_port);
        snprintf(buf, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(buf, cap, "?");
    }
}

static int log_handle(sg_handler *self, sg_query *q)
{
    int rc = sg_next(self, q);
    if (rc == SG_ENOHANDLER) {
        q->rcode = SG_RCODE_REFUSED;
        rc = 0;
    }
    if (rc < 0) {
        /* what the server core would do; done here so that the line shows it */
        q->rcode = SG_RCODE_SERVFAIL;
        q->an.n = q->ns.n = q->ar.n = 0;
        rc = 0;
    }
    if (!q->drop && !q->out_len)
        sg_wire_render(q);
    char client[80], name[1100], type[32];
    addr_text(q->client, client, sizeof client);
    sg_name_to_str(q->qname, name, sizeof name);
    sg_type_name(q->qtype, type, sizeof type);
    uint16_t fl = q->out_len >= 4 ? (uint16_t)(q->out[2] << 8 | q->out[3]) : 0;
    char flags[32];
    snprintf(flags, sizeof flags, "qr%s%s%s%s", (fl & SG_FLAG_AA) ? ",aa" : "",
             (fl & SG_FLAG_TC) ? ",tc" : "", (fl & SG_FLAG_RD) ? ",rd" : "",
             (fl & SG_FLAG_CD) ? ",cd" : "");
    double secs = (double)(sg_now_ns() - q->start_ns) / 1e9;
    sg_log(SG_LOG_INFO, "log", NULL, "%s - %u \"%s %s %s %s %zu %s %u\" %s %s %zu %.6fs",
           client, q->id, type, q->qclass == SG_CLASS_IN ? "IN" : "CLASS?", name,
           q->transport == SG_TRANSPORT_UDP ? "udp" : q->transport == SG_TRANSPORT_TLS ? "tls" : "tcp", q->wire_len,
           q->do_bit ? "true" : "false", q->has_edns ? q->edns_payload : 512,
           q->drop ? "DROPPED" : sg_rcode_name(q->rcode), flags, q->out_len, secs);
    return rc;
}

const sg_plugin sg_plugin_log = {
    .name = "log",
    .setup = log_setup,
    .handle = log_handle,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
