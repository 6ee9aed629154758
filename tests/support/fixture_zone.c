/* SPDX-License-Identifier: MIT */
/* Unit-test support: tests/fixtures/example.test.zone loaded once for a cmocka group. */
#include "tests/support/fixture_zone.h"

#include <stddef.h>

sg_zone *sg_test_zone;

int sg_test_zone_setup(void **st)
{
    (void)st;
    return sg_zone_load_file(SIGNET_SOURCE_DIR "/tests/fixtures/example.test.zone",
                             "example.test.", &sg_test_zone);
}

int sg_test_zone_teardown(void **st)
{
    (void)st;
    sg_zone_free(sg_test_zone);
    sg_test_zone = NULL;
    return 0;
}
