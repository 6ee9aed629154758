/* SPDX-License-Identifier: MIT */
/* Signet's one error space: every function returns 0 or a negative SG_E* value. */
#ifndef SG_ERRORS_H
#define SG_ERRORS_H

#include <stddef.h>

/*
 * Every error code of every component is in the one enum below, and sg_strerror() knows
 * them all, so a caller never has to know which component a code came from. Each
 * component owns a range of one hundred codes; a code's range is -err / 100:
 *
 *   range  codes          component   prefix
 *   0        -1 ..  -99   common      SG_E*      general: arguments, memory, I/O, syntax...
 *   1      -100 .. -199   keystore    SG_KS_E*   the SQLite database (keystore/)
 *   2      -200 .. -299   registrar   SG_REG_E*  parent DS pushes (registrar/)
 *
 * A component uses the general codes whenever one fits and adds its own only for a
 * failure its callers must tell apart. A new component takes the next free hundred. A new
 * code needs its text in sg_strerror (the compiler refuses an enumerator with no case
 * there, and two codes of one value) and its row in common/test_errors.c (which fails
 * without it).
 */
enum sg_error {
    SG_OK = 0,

    /* common: -1 .. -99 */
    SG_EINVAL = -1,     /* bad argument */
    SG_ENOMEM = -2,     /* allocation failed */
    SG_EIO = -3,        /* read/write/socket failure (errno kept by caller) */
    SG_ESYNTAX = -4,    /* config or zone syntax error */
    SG_EZONE = -5,      /* zone content error (semantic check) */
    SG_ENOTFOUND = -6,  /* no such item */
    SG_ESPACE = -7,     /* buffer too small */
    SG_EMALFORMED = -8, /* malformed wire data */
    SG_EEXIST = -9,     /* already exists */
    SG_ENOHANDLER = -10,/* end of chain reached without an answer */
    SG_ELIB = -11,      /* a library (ldns, OpenSSL, SQLite, curl) failed */
    SG_EBUSY = -12,     /* a limit on work in progress reached: shed, not queued */
    SG_ETIMEOUT = -13,  /* a time budget ran out */

    /* keystore: -100 .. -199 */
    SG_KS_EBUSY = -100,   /* another process holds the write lock longer than the timeout */
    SG_KS_EINUSE = -101,  /* refused: still used (policy by a zone, key published...) */
    SG_KS_ESCHEMA = -102, /* the database schema is newer than this program knows */
    SG_KS_ECORRUPT = -103, /* a backup or database fails its checksum or integrity check */
    SG_KS_EDECRYPT = -104, /* an encrypted backup cannot be decrypted with what was given */
    SG_KS_ETOKEN = -105,  /* a PKCS#11 module or token failed or cannot be reached */
    SG_KS_EPIN = -106,    /* a token's PIN cannot be read or the token refused it */
    SG_KS_EKEK = -107,    /* the key-encryption key is missing, unreadable or not the keys' */

    /* registrar: -200 .. -299 */
    SG_REG_ERETRY = -200,  /* transient failure (5xx, 429, network): retried with backoff */
    SG_REG_EREJECT = -201, /* the registrar refused the request (4xx other than 429) */
    SG_REG_ECRED = -202,   /* credentials missing, unreadable or readable by others */
};

/* Human-readable text for any SG_E* code of any component (an SG_KS_E* or SG_REG_E*
 * one included); "unknown error" for a value that is no code. Never NULL, static
 * storage. */
const char *sg_strerror(int err);

/* Fill a caller's "why" buffer (why may be NULL or cap 0: nothing written) and return rc:
 * `return sg_say(why, cap, SG_EZONE, "line %d: ...", n);`. */
int sg_say(char *why, size_t cap, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
