/* SPDX-License-Identifier: MIT */
/* What the providers' listings have in common: the list member of a reply, a listed
 * record's optional fields, and the one way a listing fails (the set emptied, a reason). */
#include "registrar/internal.h"

#include <stdarg.h>
#include <stdio.h>

int sg_reg_listing_array(const json_t *root, const char *member, const char *shown,
                         const json_t **list_out, char *err, size_t cap)
{
    const json_t *list = member ? json_object_get(root, member) : root;
    *list_out = NULL;
    if (member && (!list || json_is_null(list)))
        return 0; /* no member: nothing listed */
    if (!json_is_array(list)) {
        snprintf(err, cap, "%s", shown);
        return SG_EMALFORMED;
    }
    *list_out = list;
    return 0;
}

void sg_reg_listing_fill(sg_reg_ds *d, long flags, long tag, long digest_type,
                         const char *digest_hex)
{
    d->flags = flags > 0 ? (uint16_t)flags : 0;
    d->tag = tag > 0 ? (uint16_t)tag : 0;
    if (digest_type > 0 && digest_hex &&
        !sg_reg_hex_decode(digest_hex, d->digest, sizeof d->digest, &d->digest_len))
        d->digest_type = (uint8_t)digest_type;
    else
        d->digest_len = 0;
}

int sg_reg_listing_add(sg_reg_dsset *out, const sg_reg_ds *d)
{
    if (!sg_reg_dsset_add(out, d))
        return 0;
    sg_reg_dsset_deinit(out);
    return SG_ENOMEM;
}

int sg_reg_listing_bad(sg_reg_dsset *out, char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    sg_reg_dsset_deinit(out);
    return SG_EMALFORMED;
}
