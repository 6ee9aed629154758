/* SPDX-License-Identifier: MIT */
/* Unit-test support: an empty keystore in a fresh temporary directory. */
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int sg_test_keystore_open(const char *tag, char *dir, size_t dircap, sg_keystore **ks_out)
{
    int n = snprintf(dir, dircap, "/tmp/sg-test-%s-XXXXXX", tag);
    if (n < 0 || (size_t)n >= dircap || !mkdtemp(dir))
        return -1;
    char db[256];
    snprintf(db, sizeof db, "%s/ks.db", dir);
    return sg_ks_new(db, "test", ks_out);
}

int sg_test_keystore_close(sg_keystore *ks, const char *dir)
{
    sg_ks_free(ks);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
