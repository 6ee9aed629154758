/* SPDX-License-Identifier: MIT */
/* Signature caches kept across reloads, by block, counted like sg_counters_keep. */
#include "dnssec/cache_keep.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sg_cache_keep {
    char *key;
    int holds;
    _Atomic(sg_sigcache *) cache;
    size_t slot;
    struct sg_cache_keep *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_cache_keep *g_kept;

sg_cache_keep *sg_cache_keep_get(const char *key)
{
    pthread_mutex_lock(&g_lock);
    sg_cache_keep *k;
    for (k = g_kept; k; k = k->next)
        if (!strcmp(k->key, key))
            break;
    if (k) {
        k->holds++;
    } else if ((k = calloc(1, sizeof *k)) != NULL) {
        if (!(k->key = strdup(key))) {
            free(k);
            k = NULL;
        } else {
            k->holds = 1;
            k->next = g_kept;
            g_kept = k;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return k;
}

_Atomic(sg_sigcache *) *sg_cache_keep_cache(sg_cache_keep *k)
{
    return &k->cache;
}

size_t *sg_cache_keep_slot(sg_cache_keep *k)
{
    return &k->slot;
}

void sg_cache_keep_drop(sg_cache_keep *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&g_lock);
    int last = --k->holds == 0;
    if (last)
        for (sg_cache_keep **p = &g_kept; *p; p = &(*p)->next)
            if (*p == k) {
                *p = k->next;
                break;
            }
    pthread_mutex_unlock(&g_lock);
    if (last) {
        sg_sigcache_free(atomic_load(&k->cache));
        free(k->key);
        free(k);
    }
}
