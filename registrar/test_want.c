/* SPDX-License-Identifier: MIT */
/* sg_reg_zone_want on a real keystore through a zone's life: nothing before a DS is
 * submitted (an empty set never goes over a live one), the set once submitted, the empty
 * set while unsigning, and nothing more once the DS was seen gone (the parent check used
 * to go on and record ds-gone again every second, which moved the engine's "stop
 * signing" time forward for ever: found by integ.registrar test_signetd_cds_unsign). */
#include "registrar/tick.h"
#include "keystore/rollover.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZONE "want.test."

static void life(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/signet-want-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ks.db", dir);
    sg_keystore *ks = NULL;
    int64_t now = 1000000;
    assert_int_equal(sg_ks_new(path, "test", &ks), 0);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "p");
    assert_int_equal(sg_ks_policy_add(ks, &p, now), 0);
    assert_int_equal(sg_ks_zone_add(ks, ZONE, "p", now), 0);
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(ks, ZONE, SG_KS_ROLE_CSK, 0, 0, now, &k), 0);
    k.publish = k.active = now;
    assert_int_equal(sg_ks_key_update(ks, &k, "test", now), 0);

    sg_reg_dsset want;
    int unsigning = -1, pending = -1;
    /* keys, but no DS submitted: nothing to push */
    assert_int_equal(sg_reg_zone_want(ks, ZONE, now + 1, &want, &unsigning, &pending), 0);
    assert_int_equal(unsigning, 0);

    /* submitted: the set, not yet seen */
    k.ds_submitted = now + 2;
    assert_int_equal(sg_ks_key_update(ks, &k, "test", now + 2), 0);
    assert_int_equal(sg_reg_zone_want(ks, ZONE, now + 3, &want, &unsigning, &pending), 1);
    assert_int_equal(want.n, 1);
    assert_int_equal(pending, 1);
    sg_reg_dsset_deinit(&want);

    /* unsigning, the DS withdrawn: the empty set, to be seen gone */
    assert_int_equal(sg_roll_unsign(ks, ZONE, now + 4), 0);
    assert_int_equal(sg_ks_key_get(ks, k.id, &k), 0);
    k.ds_seen = now + 3;
    k.ds_withdrawn = now + 4;
    assert_int_equal(sg_ks_key_update(ks, &k, "test", now + 4), 0);
    assert_int_equal(sg_reg_zone_want(ks, ZONE, now + 5, &want, &unsigning, &pending), 1);
    assert_int_equal(want.n, 0);
    assert_int_equal(unsigning, 1);
    sg_reg_dsset_deinit(&want);

    /* seen gone: nothing more to ask the parent, and the time recorded stays */
    assert_int_equal(sg_roll_ds_gone(ks, ZONE, now + 6), 0);
    assert_int_equal(sg_reg_zone_want(ks, ZONE, now + 7, &want, &unsigning, &pending), 0);
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(ks, ZONE, &z), 0);
    char st[64];
    snprintf(st, sizeof st, "%s@%lld", SG_ROLL_STATE_DS_GONE, (long long)(now + 6));
    assert_string_equal(z.state, st);

    sg_ks_free(ks);
    unlink(path);
    char more[80];
    snprintf(more, sizeof more, "%s-wal", path);
    unlink(more);
    snprintf(more, sizeof more, "%s-shm", path);
    unlink(more);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(life) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
