/* SPDX-License-Identifier: MIT */
/* Text for every Signet error code, of every component. */
#include "common/errors.h"

#include <stdarg.h>
#include <stdio.h>

const char *sg_strerror(int err)
{
    /* No default: -Wswitch then names any enumerator left without a text. */
    switch ((enum sg_error)err) {
    case SG_OK: return "success";
    case SG_EINVAL: return "invalid argument";
    case SG_ENOMEM: return "out of memory";
    case SG_EIO: return "input/output error";
    case SG_ESYNTAX: return "syntax error";
    case SG_EZONE: return "zone content error";
    case SG_ENOTFOUND: return "not found";
    case SG_ESPACE: return "no space left in buffer";
    case SG_EMALFORMED: return "malformed data";
    case SG_EEXIST: return "already exists";
    case SG_ENOHANDLER: return "no plugin answered";
    case SG_ELIB: return "library error";
    case SG_EBUSY: return "too much work in progress";
    case SG_ETIMEOUT: return "time budget exceeded";

    case SG_KS_EBUSY: return "keystore busy (another process is writing)";
    case SG_KS_EINUSE: return "still in use";
    case SG_KS_ESCHEMA: return "keystore schema is newer than this program";
    case SG_KS_ECORRUPT: return "damaged: checksum or integrity check failed";
    case SG_KS_EDECRYPT: return "cannot decrypt (wrong passphrase or key)";
    case SG_KS_ETOKEN: return "PKCS#11 token failed or unreachable";
    case SG_KS_EPIN: return "PKCS#11 PIN unreadable or refused";
    case SG_KS_EKEK: return "key-encryption key missing or not the one the keys need";

    case SG_REG_ERETRY: return "temporary failure at the registrar (will retry)";
    case SG_REG_EREJECT: return "the registrar refused the request";
    case SG_REG_ECRED: return "registrar credentials missing or unsafe";
    }
    return "unknown error";
}

int sg_say(char *why, size_t cap, int rc, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}
