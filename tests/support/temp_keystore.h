/* SPDX-License-Identifier: MIT */
/* Unit-test support: an empty keystore in a fresh temporary directory. */
#ifndef SG_TEST_TEMP_KEYSTORE_H
#define SG_TEST_TEMP_KEYSTORE_H

#include "keystore/keystore.h"

#include <stddef.h>

/* Make a directory /tmp/sg-test-<tag>-XXXXXX (its path written to dir, dircap bytes) and
 * open a new keystore ks.db in it, acting as "test". 0 on success, -1 or an SG_E* code
 * otherwise. Close with sg_test_keystore_close. */
int sg_test_keystore_open(const char *tag, char *dir, size_t dircap, sg_keystore **ks_out);

/* Free ks (NULL is fine) and remove dir with everything in it; 0 on success, else -1. */
int sg_test_keystore_close(sg_keystore *ks, const char *dir);

#endif
