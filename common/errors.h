/* SPDX-License-Identifier: MIT */
/* Signet error codes: every function returns 0 or a negative SG_E* value. */
#ifndef SG_ERRORS_H
#define SG_ERRORS_H

enum {
    SG_OK = 0,
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
};

/* Human-readable text for an SG_E* code; never NULL, static storage. */
const char *sg_strerror(int err);

#endif
