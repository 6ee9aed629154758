/* SPDX-License-Identifier: MIT */
/* The bump allocator: alignment, growing chunks that stay within twice what is used,
 * big one-off allocations, reset and reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/arena.h"

#include <stdint.h>
#include <string.h>

static void test_alignment_and_copy(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1024);
    for (size_t len = 1; len < 40; len++) {
        uint8_t *p = sg_arena_alloc(&a, len);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, 0xab, len);
    }
    const char text[] = "example.test";
    char *d = sg_arena_dup(&a, text, sizeof text);
    assert_string_equal(d, text);
    sg_arena_deinit(&a);
    assert_int_equal(sg_arena_reserved(&a), 0);
}

/* A 10-record zone's data (~1.5 KiB) or a small NSEC chain (~150 bytes) must not hold a
 * 4 KiB chunk: growing arenas start at SG_ARENA_FIRST_CHUNK and double. */
static void test_growing_stays_near_what_is_used(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init_growing(&a, 1 << 20);
    assert_non_null(sg_arena_alloc(&a, 150));
    assert_int_equal(sg_arena_reserved(&a), SG_ARENA_FIRST_CHUNK);
    sg_arena_deinit(&a);

    size_t sizes[] = {100, 1500, 20000, 300000, 5000000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        sg_arena_init_growing(&a, 1 << 20);
        size_t used = 0;
        while (used < sizes[k]) {
            assert_non_null(sg_arena_alloc(&a, 40));
            used += 40;
        }
        size_t r = sg_arena_reserved(&a);
        assert_true(r >= used);
        /* doubling: never more than twice the data, plus the first chunk */
        assert_true(r <= 2 * used + SG_ARENA_FIRST_CHUNK);
        sg_arena_deinit(&a);
    }
}

/* A request larger than a chunk gets its own, and the chunk in front keeps taking the
 * small ones. */
static void test_big_one_off(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1024);
    char *small = sg_arena_alloc(&a, 16);
    assert_non_null(small);
    char *big = sg_arena_alloc(&a, 10000);
    assert_non_null(big);
    memset(big, 1, 10000);
    char *small2 = sg_arena_alloc(&a, 16);
    assert_ptr_equal(small2, small + 16);
    assert_int_equal(sg_arena_reserved(&a), 1024 + 10000);
    sg_arena_deinit(&a);
}

static void test_reset_keeps_one_chunk(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 512);
    char *first = sg_arena_alloc(&a, 100);
    for (int i = 0; i < 100; i++)
        assert_non_null(sg_arena_alloc(&a, 100));
    assert_true(sg_arena_reserved(&a) > 512);
    sg_arena_reset(&a);
    assert_int_equal(sg_arena_reserved(&a), 512);
    assert_int_equal(a.total, 0);
    assert_ptr_equal(sg_arena_alloc(&a, 100), first);
    sg_arena_deinit(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_copy),
        cmocka_unit_test(test_growing_stays_near_what_is_used),
        cmocka_unit_test(test_big_one_off),
        cmocka_unit_test(test_reset_keeps_one_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
