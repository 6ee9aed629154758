/* SPDX-License-Identifier: MIT */
/* Secrets below OpenSSL (a TSIG or cookie secret written in the config, the cookie secrets
 * in use): kept in pages left out of core dumps and locked in memory, wiped when freed.
 * The secure heap (OpenSSL's, common/secure_heap.h) holds keys; this is for the layers below it. */
#ifndef SG_SECRET_H
#define SG_SECRET_H

#include <stddef.h>

/* n bytes (zeroed) in pages that no core dump holds, locked; NULL when out of memory. */
void *sg_secret_alloc(size_t n);
/* Wipe and release a block from sg_secret_alloc (NULL does nothing). */
void sg_secret_free(void *p);
/* A copy of s in memory that no core dump holds; NULL when out of memory. */
char *sg_secret_strdup(const char *s);
/* Wipe and release a string from sg_secret_strdup (NULL does nothing). */
void sg_secret_strfree(char *s);
/* Wipe n bytes so that the compiler cannot drop it (explicit_bzero). */
void sg_secret_wipe(void *p, size_t n);

#endif
