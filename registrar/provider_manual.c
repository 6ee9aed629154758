/* SPDX-License-Identifier: MIT */
/* The manual provider: say what the operator must give the registrar, then wait for
 * `signetctl ds seen` (or `ds gone`), which the operator runs once the parent serves it. */
#include "registrar/internal.h"

#include "common/log.h"

#include <stdio.h>
#include <string.h>

void sg_reg_manual_announce(const char *zone, const sg_reg_dsset *want, int unsigning,
                            sg_reg_journal *j)
{
    if (unsigning && want->n == 0) {
        sg_log(SG_LOG_WARN, "registrar", zone,
               "remove every DS record of %s at the registrar, then run: signetctl ds gone %s",
               zone, zone);
        sg_reg_note_add(j, "reg-manual", "operator: remove every DS at the registrar, then "
                                         "signetctl ds gone %s", zone);
        return;
    }
    char line[200];
    for (size_t i = 0; i < want->n; i++) {
        sg_reg_ds_text(&want->v[i], line, sizeof line);
        sg_log(SG_LOG_WARN, "registrar", zone, "the registrar must have: %s IN DS %s", zone, line);
        sg_reg_note_add(j, "reg-manual", "operator: the parent must have %s IN DS %s", zone, line);
    }
    sg_log(SG_LOG_WARN, "registrar", zone,
           "give the registrar exactly these %zu DS record%s (remove any other), then run: "
           "signetctl ds seen %s",
           want->n, want->n == 1 ? "" : "s", zone);
    sg_reg_note_add(j, "reg-manual", "operator: exactly these %zu DS, then signetctl ds seen %s",
                    want->n, zone);
}
