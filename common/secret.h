/* SPDX-License-Identifier: MIT */
/* Strings that are secrets (a TSIG secret, a cookie secret written in the config): kept in
 * pages left out of core dumps and locked in memory, wiped when freed. The keystore's
 * secure heap (OpenSSL's) holds keys; this is for the config layer, below OpenSSL. */
#ifndef SG_SECRET_H
#define SG_SECRET_H

#include <stddef.h>

/* A copy of s in memory that no core dump holds; NULL when out of memory. */
char *sg_secret_strdup(const char *s);
/* Wipe and release a string from sg_secret_strdup (NULL does nothing). */
void sg_secret_strfree(char *s);
/* Wipe n bytes so that the compiler cannot drop it (explicit_bzero). */
void sg_secret_wipe(void *p, size_t n);

#endif
