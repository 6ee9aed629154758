/* SPDX-License-Identifier: MIT */
/* Writing a zone's journaled updates into its zone file and emptying the journal: the
 * same for signetd's `write-back` and `signetctl zone flush`. */
#include "update/apply.h"
#include "update/journal.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct wb {
    sg_upd_replay_set set;
    char *why;
    size_t cap;
} wb;

static int one(void *arg, uint32_t from, uint32_t to, const char *text)
{
    wb *w = arg;
    return sg_upd_replay_add(&w->set, from, to, text, w->why, w->cap);
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
    sg_zone *base = NULL, *v = NULL;
    sg_upd_replay_init(&w.set);
    if ((rc = sg_zone_load_file(path, apex, &base))) {
        snprintf(why, why_cap, "%s does not load (see above)", path);
        sg_upd_replay_finish(&w.set, NULL, &v, NULL, 0);
        goto out;
    }
    rc = sg_upd_journal_each(j, apex, one, &w);
    if (rc)
        w.set.failed = 1;
    int frc = sg_upd_replay_finish(&w.set, base, &v, rc ? NULL : why, why_cap);
    if (!rc)
        rc = frc;
    if (rc == SG_ENOTFOUND)
        snprintf(why, why_cap, "no journaled updates");
    if (rc)
        goto out;
    if ((rc = sg_zone_write_file(v, path))) {
        snprintf(why, why_cap, "cannot write %s", path);
        goto out;
    }
    if ((rc = sg_upd_journal_drop(j, apex)) || (rc = sg_upd_journal_commit(j))) {
        /* the file has the updates; a journal kept would not start at its serial, so the
         * next start drops it (the file wins) and loses nothing */
        snprintf(why, why_cap, "%s written, but the journal could not be emptied", path);
        goto out;
    }
    if (serial_out)
        *serial_out = v->serial;
out:
    if (rc)
        sg_upd_journal_rollback(j);
    sg_zone_free(v);
    sg_zone_free(base);
    return rc;
}
