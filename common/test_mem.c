/* SPDX-License-Identifier: MIT */
/* The allocator keeps freed scratch at the top of the heap instead of calling brk for
 * every zone-file record (see mem.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_freed_scratch_stays(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
    skip(); /* ASan's allocator, or not glibc: nothing of glibc's to tune */
#else
    sg_mem_tune();
    /* what ldns does per record: blocks under the mmap threshold, taken from the top of
     * the heap and given back */
    for (int round = 0; round < 3; round++) {
        void *p[4];
        for (int i = 0; i < 4; i++) {
            p[i] = malloc(100 * 1024);
            assert_non_null(p[i]);
            memset(p[i], i, 100 * 1024);
        }
        void *top = sbrk(0);
        for (int i = 3; i >= 0; i--)
            free(p[i]);
        /* glibc's default trims above 128 KiB free at the top: the break would go down
         * here, and up again next round */
        assert_ptr_equal(sbrk(0), top);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freed_scratch_stays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
