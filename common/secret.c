/* SPDX-License-Identifier: MIT */
/* Secret strings in their own pages: MADV_DONTDUMP (not in a core), mlock (not in swap),
 * wiped before they go back. A few per process: one mapping each is fine. */
#include "common/secret.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void sg_secret_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

/* The mapping's size is stored before the block. */
void *sg_secret_alloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t total = (sizeof(size_t) + n + page - 1) / page * page;
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    madvise(m, total, MADV_DONTDUMP);
    mlock(m, total); /* best effort: RLIMIT_MEMLOCK may say no */
    memcpy(m, &total, sizeof total);
    return (char *)m + sizeof total;
}

void sg_secret_free(void *p)
{
    if (!p)
        return;
    char *m = (char *)p - sizeof(size_t);
    size_t total;
    memcpy(&total, m, sizeof total);
    explicit_bzero(m, total);
    munlock(m, total);
    munmap(m, total);
}

char *sg_secret_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *str = sg_secret_alloc(n);
    if (str)
        memcpy(str, s, n);
    return str;
}

void sg_secret_strfree(char *s)
{
    sg_secret_free(s);
}
