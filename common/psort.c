/* SPDX-License-Identifier: MIT */
/* Parallel merge sort (see psort.h). Each level splits the threads between the halves; the
 * merge of two sorted runs writes its first half forward from the fronts and its second
 * half backward from the backs, on two threads, without a search for a split point. */
#include "common/psort.h"
#include "common/errors.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Below this many elements a level is not worth a thread. */
#define PSORT_MIN 8192

typedef int (*cmp_fn)(const void *, const void *);

typedef struct task {
    char *a;            /* the elements, sorted in place */
    char *tmp;          /* scratch of the same size */
    size_t n, size;
    cmp_fn cmp;
    int threads;
} task;

typedef struct merge {
    const char *l, *r;  /* two sorted runs */
    size_t nl, nr, size;
    char *out;          /* nl + nr elements */
    cmp_fn cmp;
    int back;           /* 0: the first half, from the fronts; 1: the rest, from the backs */
} merge;

/* Half of a merge. Ties take the left run's element first (forward) and the right run's
 * last (backward), so the two halves meet without overlap or gap. */
static void *merge_half(void *arg)
{
    merge *m = arg;
    size_t total = m->nl + m->nr, half = total / 2, sz = m->size;
    if (!m->back) {
        size_t i = 0, j = 0;
        for (size_t k = 0; k < half; k++) {
            if (j >= m->nr || (i < m->nl && m->cmp(m->l + i * sz, m->r + j * sz) <= 0))
                memcpy(m->out + k * sz, m->l + i++ * sz, sz);
            else
                memcpy(m->out + k * sz, m->r + j++ * sz, sz);
        }
    } else {
        size_t i = m->nl, j = m->nr; /* one past the next element from each back */
        for (size_t k = total; k > half; k--) {
            if (i == 0 || (j > 0 && m->cmp(m->l + (i - 1) * sz, m->r + (j - 1) * sz) <= 0))
                memcpy(m->out + (k - 1) * sz, m->r + --j * sz, sz);
            else
                memcpy(m->out + (k - 1) * sz, m->l + --i * sz, sz);
        }
    }
    return NULL;
}

static void *sort_task(void *arg)
{
    task *t = arg;
    if (t->threads < 2 || t->n < PSORT_MIN) {
        qsort(t->a, t->n, t->size, t->cmp);
        return NULL;
    }
    size_t nl = t->n / 2, sz = t->size;
    task left = { t->a, t->tmp, nl, sz, t->cmp, t->threads / 2 };
    task right = { t->a + nl * sz, t->tmp + nl * sz, t->n - nl, sz, t->cmp, t->threads - t->threads / 2 };
    pthread_t th;
    int spawned = pthread_create(&th, NULL, sort_task, &left) == 0;
    if (!spawned)
        sort_task(&left);
    sort_task(&right);
    if (spawned)
        pthread_join(th, NULL);
    merge front = { t->a, t->a + nl * sz, nl, t->n - nl, sz, t->tmp, t->cmp, 0 };
    merge back = front;
    back.back = 1;
    spawned = pthread_create(&th, NULL, merge_half, &front) == 0;
    if (!spawned)
        merge_half(&front);
    merge_half(&back);
    if (spawned)
        pthread_join(th, NULL);
    memcpy(t->a, t->tmp, t->n * sz);
    return NULL;
}

int sg_psort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
             int threads)
{
    if (threads < 2 || n < PSORT_MIN) {
        qsort(base, n, size, cmp);
        return 0;
    }
    char *tmp = malloc(n * size);
    if (!tmp) {
        qsort(base, n, size, cmp);
        return SG_ENOMEM;
    }
    task t = { base, tmp, n, size, cmp, threads };
    sort_task(&t);
    free(tmp);
    return 0;
}
