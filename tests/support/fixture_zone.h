/* SPDX-License-Identifier: MIT */
/* Unit-test support: tests/fixtures/example.test.zone loaded once for a cmocka group. */
#ifndef SG_TEST_FIXTURE_ZONE_H
#define SG_TEST_FIXTURE_ZONE_H

#include "zones/zone.h"

/* The loaded example.test. zone, between sg_test_zone_setup and sg_test_zone_teardown. */
extern sg_zone *sg_test_zone;

/* cmocka group setup: load the fixture zone (with its $INCLUDE) into sg_test_zone;
 * 0 on success, else the loader's SG_E* code. st is not used. */
int sg_test_zone_setup(void **st);

/* cmocka group teardown: free sg_test_zone; returns 0. */
int sg_test_zone_teardown(void **st);

#endif
