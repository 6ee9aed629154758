/* SPDX-License-Identifier: MIT */
/* Rendering a catalog zone (RFC 9432 version 2) from a list of member zones. */
#include "transfer/catalog.h"
#include "common/errors.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_catalog_id(const uint8_t *member, int wide, char out[SG_CATALOG_ID_MAX])
{
    uint8_t name[SG_NAME_MAX], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t len = sg_name_len(member);
    memcpy(name, member, len);
    sg_name_lower(name);
    /* a hash of the name: the same id on every server and after every restart, so that a
     * consumer never sees a member "change" (RFC 9432 5.3: a new id resets its state) */
    EVP_Digest(name, len, md, &mdlen, EVP_sha256(), NULL);
    int nbytes = wide ? 16 : 8;
    for (int i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[2 * nbytes] = 0;
}

/* prefix (presentation labels, "" for none) + base (wire) into out; -1 when too long */
static int name_join(const char *prefix, const uint8_t *base, uint8_t out[SG_NAME_MAX])
{
    return sg_name_from_str(prefix, base, out) ? -1 : 0;
}

static int by_canon(const void *a, const void *b)
{
    return sg_name_canon_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

static int put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

int sg_catalog_build(const uint8_t *apex, const uint8_t *const *members, int n,
                     const char *group, uint32_t serial, sg_zone **zone_out)
{
    if (!apex || !zone_out || n < 0 || (n && !members) || (group && strlen(group) > 255))
        return SG_EINVAL;
    static const char *const src = "catalog";
    static const uint8_t invalid[] = "\007invalid";   /* with its NUL: the root label */
    uint8_t top[SG_NAME_MAX], zones[SG_NAME_MAX], owner[SG_NAME_MAX];
    size_t alen = sg_name_len(apex);
    memcpy(top, apex, alen);
    sg_name_lower(top);
    if (name_join("zones", top, zones))
        return SG_EINVAL;
    uint8_t (*m)[SG_NAME_MAX] = calloc(n ? (size_t)n : 1, sizeof *m);
    const uint8_t **sorted = calloc(n ? (size_t)n : 1, sizeof *sorted);
    char (*ids)[SG_CATALOG_ID_MAX] = calloc(n ? (size_t)n : 1, sizeof *ids);
    sg_zone_builder *b = sg_zone_builder_new(top);
    int rc = SG_ENOMEM;
    if (!m || !sorted || !ids || !b)
        goto fail;
    int nm = 0;
    for (int i = 0; i < n; i++) {
        memcpy(m[nm], members[i], sg_name_len(members[i]));
        sg_name_lower(m[nm]);
        if (!sg_name_is_sub(m[nm], top)) /* the catalog's own names are not members */
            sorted[nm] = m[nm], nm++;
    }
    qsort(sorted, (size_t)nm, sizeof *sorted, by_canon);
    uint8_t rd[2 * SG_NAME_MAX + 20];
    size_t o = 0;
    memcpy(rd, invalid, sizeof invalid);
    o += sizeof invalid;
    memcpy(rd + o, invalid, sizeof invalid);
    o += sizeof invalid;
    o += put_u32(rd + o, serial);
    o += put_u32(rd + o, 3600);
    o += put_u32(rd + o, 600);
    o += put_u32(rd + o, 2147483646);
    o += put_u32(rd + o, 0);
    rc = SG_EINVAL;
    if (sg_zone_builder_add(b, top, SG_TYPE_SOA, 1, 0, rd, (uint16_t)o, src, 1) ||
        sg_zone_builder_add(b, top, SG_TYPE_NS, 1, 0, invalid, sizeof invalid, src, 2) ||
        name_join("version", top, owner) ||
        sg_zone_builder_add(b, owner, SG_TYPE_TXT, 1, 0, (const uint8_t *)"\0012", 2, src, 3))
        goto fail;
    for (int i = 0, k = 0; i < nm; i++) {
        if (i && sg_name_eq(sorted[i], sorted[i - 1]))
            continue;
        sg_catalog_id(sorted[i], 0, ids[k]);
        /* two members with one short id (2^-64 per pair): the later in canonical order
         * takes the wide one, which stays its id while the earlier one is listed */
        for (int j = 0; j < k; j++)
            if (!strcmp(ids[j], ids[k])) {
                sg_catalog_id(sorted[i], 1, ids[k]);
                break;
            }
        if (name_join(ids[k], zones, owner) ||
            sg_zone_builder_add(b, owner, SG_TYPE_PTR, 1, 0, sorted[i],
                                (uint16_t)sg_name_len(sorted[i]), src, 4))
            goto fail;
        if (group && group[0]) {
            char lab[SG_CATALOG_ID_MAX + 8];
            snprintf(lab, sizeof lab, "group.%s", ids[k]);
            size_t gl = strlen(group);
            rd[0] = (uint8_t)gl;
            memcpy(rd + 1, group, gl);
            if (name_join(lab, zones, owner) ||
                sg_zone_builder_add(b, owner, SG_TYPE_TXT, 1, 0, rd, (uint16_t)(gl + 1), src, 5))
                goto fail;
        }
        k++;
    }
    free(m);
    free(sorted);
    free(ids);
    return sg_zone_builder_finish(b, zone_out);
fail:
    sg_zone_builder_free(b);
    free(m);
    free(sorted);
    free(ids);
    return rc;
}

static int rrset_same(const sg_rrset *a, const sg_rrset *b)
{
    if (a->type != b->type || a->ttl != b->ttl || a->count != b->count)
        return 0;
    if (a->type == SG_TYPE_SOA) /* everything but the serial (the 5th-last word) */
        return a->rdata_len == b->rdata_len && a->rdata_len >= 22 &&
               !memcmp(a->rdata, b->rdata, a->rdata_len - 20) &&
               !memcmp(a->rdata + a->rdata_len - 16, b->rdata + b->rdata_len - 16, 16);
    return a->rdata_len == b->rdata_len && !memcmp(a->rdata, b->rdata, a->rdata_len);
}

int sg_catalog_same(const sg_zone *a, const sg_zone *b)
{
    if (!a || !b || a->nnodes != b->nnodes || !sg_name_eq(a->apex, b->apex))
        return 0;
    for (size_t i = 0; i < a->nnodes; i++) {
        const sg_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) ||
            x->nrrsets != y->nrrsets)
            return 0;
        for (uint16_t r = 0; r < x->nrrsets; r++)
            if (!rrset_same(&x->rrsets[r], &y->rrsets[r]))
                return 0;
    }
    return 1;
}
