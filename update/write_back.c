/* SPDX-License-Identifier: MIT */
/* Writing a zone's journaled updates into its zone file and emptying the journal: the
 * same for signetd's `write-back` and `signetctl zone flush`. */
#include "update/apply.h"
#include "update/journal.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct wb {
    sg_zone *v;          /* the version so far (owned unless it is base) */
    sg_zone *base;
    int n;
    char *why;
    size_t cap;
} wb;

static int one(void *arg, uint32_t from, uint32_t to, const char *text)
{
    wb *w = arg;
    sg_zone *cur = w->v ? w->v : w->base;
    if (from != cur->serial) {
        snprintf(w->why, w->cap, "update %d starts at serial %u, the zone file is at %u", w->n + 1, from,
                 cur->serial);
        return SG_EZONE;
    }
    ldns_rr_list *diff = NULL;
    if (sg_upd_diff_parse(text, &diff)) {
        snprintf(w->why, w->cap, "update %d cannot be read", w->n + 1);
        return SG_EZONE;
    }
    sg_zone *nz = NULL;
    char why[256];
    int rc = sg_upd_replay(cur, diff, &nz, why, sizeof why);
    ldns_rr_list_deep_free(diff);
    if (rc || nz->serial != to) {
        snprintf(w->why, w->cap, "update %d does not apply: %s", w->n + 1, rc ? why : "another serial");
        sg_zone_free(nz);
        return SG_EZONE;
    }
    if (w->v)
        sg_zone_free(w->v);
    w->v = nz;
    w->n++;
    return 0;
}

int sg_upd_write_back(sg_upd_journal *j, const char *path, const char *apex, uint32_t *serial_out, char *why,
                      size_t why_cap)
{
    if (!j || !path || !apex)
        return SG_EINVAL;
    snprintf(why, why_cap, "?");
    int rc = sg_upd_journal_begin(j);
    if (rc) {
        snprintf(why, why_cap, "the journal is busy or broken");
        return rc;
    }
    wb w = { .why = why, .cap = why_cap };
    if ((rc = sg_zone_load_file(path, apex, &w.base))) {
        snprintf(why, why_cap, "%s does not load (see above)", path);
        goto out;
    }
    rc = sg_upd_journal_each(j, apex, one, &w);
    if (rc)
        goto out;
    if (!w.v) {
        rc = SG_ENOTFOUND;
        snprintf(why, why_cap, "no journaled updates");
        goto out;
    }
    if ((rc = sg_zone_write_file(w.v, path))) {
        snprintf(why, why_cap, "cannot write %s", path);
        goto out;
    }
    if ((rc = sg_upd_journal_drop(j, apex)) || (rc = sg_upd_journal_commit(j))) {
        /* the file has the updates; a journal kept would replay them on it at the next
         * start, and stop at the first (its serial is no longer the file's): said loudly */
        snprintf(why, why_cap, "%s written, but the journal could not be emptied", path);
        goto out;
    }
    if (serial_out)
        *serial_out = w.v->serial;
out:
    if (rc)
        sg_upd_journal_rollback(j);
    sg_zone_free(w.v);
    sg_zone_free(w.base);
    return rc;
}
