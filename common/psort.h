/* SPDX-License-Identifier: MIT */
/* Sorting on several threads: a merge sort whose halves are sorted by different threads and
 * whose merges run from both ends at once. With a total order the result is qsort's. */
#ifndef SG_PSORT_H
#define SG_PSORT_H

#include <stddef.h>

/* Sort n elements of size bytes at base by cmp on up to `threads` threads (1: qsort).
 * Elements that compare equal may end in any order, as with qsort. Returns 0, or SG_ENOMEM
 * (then base is sorted by qsort on the calling thread, as a fallback). */
int sg_psort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
             int threads);

#endif
