/* SPDX-License-Identifier: MIT */
/* Allocator settings (see mem.h for why). */
#include "common/mem.h"

#include <malloc.h>

#define SG_MEM_TRIM_THRESHOLD (1 << 20)
#define SG_MEM_TOP_PAD (256 << 10)

void sg_mem_tune(void)
{
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, SG_MEM_TRIM_THRESHOLD);
    mallopt(M_TOP_PAD, SG_MEM_TOP_PAD);
#endif
}

void sg_mem_release(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
