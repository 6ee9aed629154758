/* SPDX-License-Identifier: MIT */
/* A zone version as master-file text: each record as a line (signetctl zone diff compares
 * them), or the whole zone written back atomically (temporary file, fsync, rename), so that
 * a crash leaves either the old copy or the new one. */
#include "zones/zone.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

/* Each record of rs as one presentation line (ldns's, newline-terminated) to fn. */
static int rrset_text(const uint8_t *owner, const sg_rrset *rs,
                      int (*fn)(void *arg, uint16_t type, char *line), void *arg)
{
    uint8_t w[SG_NAME_MAX + 10 + 65535];
    size_t ol = sg_name_len(owner);
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++, p += 2 + sg_rdlen(p)) {
        uint16_t rdlen = sg_rdlen(p);
        memcpy(w, owner, ol);
        uint8_t *h = w + ol;
        h[0] = (uint8_t)(rs->type >> 8); h[1] = (uint8_t)rs->type;
        h[2] = 0; h[3] = SG_CLASS_IN;
        h[4] = (uint8_t)(rs->ttl >> 24); h[5] = (uint8_t)(rs->ttl >> 16);
        h[6] = (uint8_t)(rs->ttl >> 8); h[7] = (uint8_t)rs->ttl;
        h[8] = (uint8_t)(rdlen >> 8); h[9] = (uint8_t)rdlen;
        memcpy(h + 10, p + 2, rdlen);
        ldns_rr *rr = NULL;
        size_t pos = 0;
        if (ldns_wire2rr(&rr, w, ol + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
            return SG_EMALFORMED;
        char *text = ldns_rr2str(rr);
        ldns_rr_free(rr);
        if (!text)
            return SG_ENOMEM;
        int rc = fn(arg, rs->type, text);
        free(text);
        if (rc)
            return rc;
    }
    return 0;
}

int sg_zone_each_record_text(const sg_zone *z, int (*fn)(void *arg, uint16_t type, char *line),
                             void *arg)
{
    if (!z || !fn)
        return SG_EINVAL;
    /* the SOA first, as a master file reader expects */
    int rc = rrset_text(z->apex, z->soa, fn, arg);
    for (size_t i = 0; i < z->nnodes && !rc; i++) {
        const sg_node *n = &z->nodes[i];
        for (uint16_t k = 0; k < n->nrrsets && !rc; k++)
            if (&n->rrsets[k] != z->soa)
                rc = rrset_text(n->name, &n->rrsets[k], fn, arg);
    }
    return rc;
}

static int put_line(void *arg, uint16_t type, char *line)
{
    (void)type;
    return fputs(line, arg) < 0 ? SG_EIO : 0; /* ldns ends the line */
}

int sg_zone_write_file(const sg_zone *z, const char *path)
{
    if (!z || !path)
        return SG_EINVAL;
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp)
        return SG_ENOMEM;
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return SG_EIO;
    }
    int rc = 0;
    if (fprintf(f, "; %s serial %u, written by signetd (a zone transfer, or dynamic updates)\n", z->apex_str, z->serial) < 0)
        rc = SG_EIO;
    if (!rc)
        rc = sg_zone_each_record_text(z, put_line, f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = rc ? rc : SG_EIO;
    if (fclose(f) != 0)
        rc = rc ? rc : SG_EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = SG_EIO;
    if (rc) {
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "cannot write %s: %s", path,
               rc == SG_EIO ? strerror(errno) : sg_strerror(rc));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
