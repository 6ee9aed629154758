/* SPDX-License-Identifier: MIT */
/* Which names of a zone version are new, changed or as they were in the version it was
 * made from: what lets a denial chain be derived from the last one instead of rebuilt. */
#include "signer/denial.h"

#include <string.h>

static int same_content(const sg_node *a, const sg_node *b)
{
    if (a->flags != b->flags || a->nrrsets != b->nrrsets)
        return 0;
    for (uint16_t k = 0; k < a->nrrsets; k++)
        if (a->rrsets[k].type != b->rrsets[k].type)
            return 0;
    return 1;
}

void sg_denial_delta(const sg_zone *base, const sg_zone *z, uint32_t *peer)
{
    size_t j = 0;
    for (size_t i = 0; i < z->nnodes; i++) {
        const sg_node *a = &z->nodes[i];
        peer[i] = SG_DELTA_NONE;
        while (j < base->nnodes) {
            const sg_node *b = &base->nodes[j];
            /* most names are the base's: equal bytes settle it without the canonical
             * comparison */
            int c = a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len)
                        ? 0 : sg_name_canon_cmp(a->name, b->name);
            if (c < 0)
                break;
            j++;
            if (c == 0) {
                peer[i] = (uint32_t)(j - 1) | (same_content(a, b) ? SG_DELTA_SAME : 0);
                break;
            }
        }
    }
}
