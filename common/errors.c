/* SPDX-License-Identifier: MIT */
/* Text for Signet error codes. */
#include "common/errors.h"

const char *sg_strerror(int err)
{
    switch (err) {
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
    }
    return "unknown error";
}
