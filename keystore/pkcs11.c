/* SPDX-License-Identifier: MIT */
/* PKCS#11 keys: modules loaded with dlopen, one logged-in session per token behind a
 * mutex, key pairs made and used in the token (the private key is never extractable). */
#include "keystore/pkcs11.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/secure_heap.h"
#include "keystore/internal.h"
#include "keystore/keystore.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <p11-kit/pkcs11.h>

/* ---- URIs (RFC 7512) ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode [s, e) into out (cap bytes); -1 if malformed or too long. */
static long pct_decode(const char *s, const char *e, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s < e) {
        int c = (unsigned char)*s;
        if (c == '%') {
            if (e - s < 3 || hexval(s[1]) < 0 || hexval(s[2]) < 0)
                return -1;
            c = hexval(s[1]) << 4 | hexval(s[2]);
            s += 3;
        } else {
            s++;
        }
        if (n >= cap)
            return -1;
        out[n++] = (uint8_t)c;
    }
    return (long)n;
}

static int text_attr(const char *s, const char *e, char *out, size_t cap)
{
    long n = pct_decode(s, e, (uint8_t *)out, cap - 1);
    if (n < 0 || memchr(out, 0, (size_t)n))
        return -1;
    out[n] = 0;
    return 0;
}

int sg_p11_uri_parse(const char *text, sg_p11_uri *u, char *why, size_t cap)
{
    if (!text || !u)
        return sg_say(why, cap, SG_EINVAL, "no URI");
    memset(u, 0, sizeof *u);
    if (strncmp(text, "pkcs11:", 7) != 0)
        return sg_say(why, cap, SG_EINVAL, "a token URI starts with 'pkcs11:'");
    const char *p = text + 7;
    int query = 0;
    while (*p) {
        const char *end = p + strcspn(p, query ? "&" : ";?");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            return sg_say(why, cap, SG_EINVAL, "'%.*s' in the token URI has no '='", (int)(end - p), p);
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1;
        int bad = 0;
#define IS(k) (kl == strlen(k) && !memcmp(p, k, kl))
        if (!query && IS("token")) {
            bad = text_attr(v, end, u->token, sizeof u->token);
        } else if (!query && IS("object")) {
            bad = text_attr(v, end, u->object, sizeof u->object);
        } else if (!query && IS("id")) {
            long n = pct_decode(v, end, u->id, sizeof u->id);
            bad = n <= 0;
            u->id_len = n > 0 ? (size_t)n : 0;
        } else if (!query && (IS("type") || IS("manufacturer") || IS("model") || IS("serial") ||
                              IS("library-description") || IS("library-manufacturer") ||
                              IS("library-version") || IS("slot-description") ||
                              IS("slot-manufacturer") || IS("slot-id"))) {
            /* accepted for copy-paste from p11tool; the token label is what we match on */
        } else if (query && IS("module-path")) {
            bad = text_attr(v, end, u->module, sizeof u->module);
        } else if (query && IS("pin-source")) {
            bad = text_attr(v, end, u->pin_source, sizeof u->pin_source);
        } else {
            return sg_say(why, cap, SG_EINVAL, "unknown token URI attribute '%.*s'", (int)kl, p);
        }
#undef IS
        if (bad)
            return sg_say(why, cap, SG_EINVAL, "token URI attribute '%.*s' is malformed or too long",
                       (int)kl, p);
        p = end;
        if (*p == '?') {
            if (query)
                return sg_say(why, cap, SG_EINVAL, "two '?' in the token URI");
            query = 1;
        }
        if (*p)
            p++;
    }
    return 0;
}

/* RFC 7512's unreserved and path/query characters that need no escape; the rest as %XX. */
static int put_pct(char **o, char *end, const uint8_t *s, size_t n, int all)
{
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        int plain = !all && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || strchr("-._~/:", c));
        if (end - *o < 4)
            return SG_ESPACE;
        *o += plain ? sprintf(*o, "%c", c) : sprintf(*o, "%%%02x", c);
    }
    return 0;
}

int sg_p11_uri_format(const sg_p11_uri *u, char *out, size_t cap)
{
    if (!u || !out || cap < 16)
        return SG_EINVAL;
    char *o = out, *end = out + cap;
    o += sprintf(o, "pkcs11:token=");
    int r = put_pct(&o, end, (const uint8_t *)u->token, strlen(u->token), 0);
    if (!r && u->id_len) {
        if (end - o < 5)
            return SG_ESPACE;
        o += sprintf(o, ";id=");
        r = put_pct(&o, end, u->id, u->id_len, 1);
    }
    if (!r && u->object[0]) {
        if (end - o < 9)
            return SG_ESPACE;
        o += sprintf(o, ";object=");
        r = put_pct(&o, end, (const uint8_t *)u->object, strlen(u->object), 0);
    }
    if (!r) {
        if (end - o < 14)
            return SG_ESPACE;
        o += sprintf(o, "?module-path=");
        r = put_pct(&o, end, (const uint8_t *)u->module, strlen(u->module), 0);
    }
    if (!r && u->pin_source[0]) {
        if (end - o < 13)
            return SG_ESPACE;
        o += sprintf(o, "&pin-source=");
        r = put_pct(&o, end, (const uint8_t *)u->pin_source, strlen(u->pin_source), 0);
    }
    if (r || o >= end)
        return SG_ESPACE;
    *o = 0;
    return 0;
}

int sg_p11_uri_check(const char *text, char *why, size_t cap)
{
    sg_p11_uri u;
    int r = sg_p11_uri_parse(text, &u, why, cap);
    if (r)
        return r;
    if (!u.token[0])
        return sg_say(why, cap, SG_EINVAL, "the token URI names no token (token=LABEL)");
    if (u.module[0] != '/')
        return sg_say(why, cap, SG_EINVAL,
                   "the token URI needs the module's absolute path (?module-path=/...)");
    if (strncmp(u.pin_source, "file:", 5) != 0 && strncmp(u.pin_source, "env:", 4) != 0)
        return sg_say(why, cap, SG_EINVAL,
                   "the token URI needs a pin-source: file:/PATH (mode 0600) or env:NAME");
    if (u.pin_source[0] == 'f' && u.pin_source[5] != '/')
        return sg_say(why, cap, SG_EINVAL, "the PIN file must be an absolute path (file:/...)");
    if (u.pin_source[0] == 'e' && !u.pin_source[4])
        return sg_say(why, cap, SG_EINVAL, "pin-source env: names no variable");
    return 0;
}

int sg_p11_alg_supported(uint8_t alg)
{
    return alg == SG_KS_ALG_RSASHA256 || alg == SG_KS_ALG_RSASHA512 ||
           alg == SG_KS_ALG_ECDSAP256SHA256 || alg == SG_KS_ALG_ECDSAP384SHA384 ||
           alg == SG_KS_ALG_ED25519;
}

/* ---- modules and tokens ---- */

typedef struct p11_module {
    char path[1024];
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    struct p11_module *next;
} p11_module;

/* Sessions a token lends to signing threads at once (besides its own). */
#define SIGN_SESSIONS 4

typedef struct p11_token {
    p11_module *m;
    char label[33];
    char pin_source[1024];
    pthread_mutex_t mu;           /* the session is used by one thread at a time */
    CK_SESSION_HANDLE s;
    int open;
    /* Signing sessions beside s, so that workers sign at the same time: a PKCS#11 session
     * serves one thread at a time, but the login and object handles of one application
     * hold in all its sessions. idle[] are ready (opened in epoch pool_epoch); busy counts
     * those lent out, which signing uses without t->mu held. */
    CK_SESSION_HANDLE idle[SIGN_SESSIONS];
    int nidle;
    int busy;
    uint64_t pool_epoch;
    uint64_t epoch;               /* moves with every new session: key handles found again */
    int failing;                  /* a failure was logged; a success logs the recovery */
    int pin_failing;              /* the PIN source failed (logged once; no hold) */
    time_t retry_at;              /* no reconnection before this */
    time_t reminded_at;
    struct p11_token *next;
} p11_token;

struct sg_p11_key {
    p11_token *t;
    uint8_t alg;
    uint8_t id[32];
    size_t id_len;
    CK_OBJECT_HANDLE h;           /* valid while epoch == t->epoch (under t->mu) */
    uint64_t epoch;
    atomic_int refs;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static p11_module *modules;
static p11_token *tokens;

static const char *rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    default: return "CKR_(other)";
    }
}

static int module_get(const char *path, p11_module **out, char *why, size_t cap)
{
    for (p11_module *m = modules; m; m = m->next)
        if (!strcmp(m->path, path)) {
            *out = m;
            return 0;
        }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return sg_say(why, cap, SG_KS_ETOKEN, "cannot load PKCS#11 module %s: %s", path, dlerror());
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    if (!gfl || gfl(&f) != CKR_OK || !f) {
        dlclose(dl);
        return sg_say(why, cap, SG_KS_ETOKEN, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        dlclose(dl);
        return sg_say(why, cap, SG_KS_ETOKEN, "PKCS#11 module %s: C_Initialize: %s", path, rv_name(rv));
    }
    p11_module *m = calloc(1, sizeof *m);
    if (!m) {
        if (rv == CKR_OK)
            f->C_Finalize(NULL);
        dlclose(dl);
        return SG_ENOMEM;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    m->dl = dl;
    m->f = f;
    m->next = modules;
    modules = m;
    *out = m;
    return 0;
}

static int token_get(const sg_p11_uri *u, p11_token **out, char *why, size_t cap)
{
    pthread_mutex_lock(&reg_mu);
    int r = 0;
    p11_token *t;
    for (t = tokens; t; t = t->next)
        if (!strcmp(t->m->path, u->module) && !strcmp(t->label, u->token) &&
            !strcmp(t->pin_source, u->pin_source))
            goto done;
    p11_module *m = NULL;
    if ((r = module_get(u->module, &m, why, cap)) != 0)
        goto done;
    if (!(t = calloc(1, sizeof *t))) {
        r = SG_ENOMEM;
        goto done;
    }
    t->m = m;
    snprintf(t->label, sizeof t->label, "%s", u->token);
    snprintf(t->pin_source, sizeof t->pin_source, "%s", u->pin_source);
    pthread_mutex_init(&t->mu, NULL);
    t->next = tokens;
    tokens = t;
done:
    pthread_mutex_unlock(&reg_mu);
    if (!r)
        *out = t;
    return r;
}

/* The PIN from its source, in the secure heap (sg_secure_free(pin, PIN_MAX)). */
#define PIN_MAX 256
static int pin_read(const char *source, char **pin_out, size_t *len_out, char *why, size_t cap)
{
    char *pin = sg_secure_alloc(PIN_MAX);
    if (!pin)
        return SG_ENOMEM;
    size_t n = 0;
    int r = 0;
    if (!strncmp(source, "env:", 4)) {
        const char *v = getenv(source + 4);
        if (!v || !*v) {
            r = sg_say(why, cap, SG_KS_EPIN, "the PIN variable %s is not set", source + 4);
            goto out;
        }
        n = strlen(v);
        if (n >= PIN_MAX) {
            r = sg_say(why, cap, SG_KS_EPIN, "the PIN in %s is too long", source + 4);
            goto out;
        }
        memcpy(pin, v, n);
    } else if (!strncmp(source, "file:", 5)) {
        const char *path = source + 5;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            r = sg_say(why, cap, SG_KS_EPIN, "cannot read the PIN file %s: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
        if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
            close(fd);
            r = sg_say(why, cap, SG_KS_EPIN,
                    "the PIN file %s must be a regular file only its owner can read (chmod 600)",
                    path);
            goto out;
        }
        ssize_t got = read(fd, pin, PIN_MAX - 1);
        close(fd);
        if (got <= 0) {
            r = sg_say(why, cap, SG_KS_EPIN, "the PIN file %s is empty or unreadable", path);
            goto out;
        }
        n = (size_t)got;
        if (n && pin[n - 1] == '\n')
            n--;
        if (n && pin[n - 1] == '\r')
            n--;
    } else {
        r = sg_say(why, cap, SG_KS_EPIN, "unknown pin-source (file:/PATH or env:NAME)");
        goto out;
    }
    pin[n] = 0;
    *pin_out = pin;
    *len_out = n;
    return 0;
out:
    sg_secure_free(pin, PIN_MAX);
    return r;
}

static int session_fail(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR ||
           rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_CRYPTOKI_NOT_INITIALIZED ||
           rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED ||
           rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

static void session_drop(p11_token *t)
{
    if (t->open)
        t->m->f->C_CloseSession(t->s);
    t->open = 0;
    t->epoch++;
    /* sessions lent out come back to an epoch that moved on and are closed then */
    while (t->nidle)
        t->m->f->C_CloseSession(t->idle[--t->nidle]);
}

/* A signing session for the current epoch (t->mu held, session open): an idle one, a new
 * one while fewer than SIGN_SESSIONS are lent, or 0 (sign on t->s under the lock). */
static CK_SESSION_HANDLE lend_session(p11_token *t)
{
    if (t->pool_epoch != t->epoch) {
        while (t->nidle)
            t->m->f->C_CloseSession(t->idle[--t->nidle]);
        t->pool_epoch = t->epoch;
    }
    CK_SESSION_HANDLE s = 0;
    if (t->nidle)
        s = t->idle[--t->nidle];
    else if (t->busy + t->nidle < SIGN_SESSIONS) {
        CK_SESSION_INFO info;
        /* the slot of the token's own session: the new one shares its login */
        if (t->m->f->C_GetSessionInfo(t->s, &info) != CKR_OK ||
            t->m->f->C_OpenSession(info.slotID, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
            s = 0;
    }
    if (s)
        t->busy++;
    return s;
}

/* A lent session back (t->mu held): kept if its epoch is still the token's and it did
 * not fail, else closed. */
static void return_session(p11_token *t, CK_SESSION_HANDLE s, uint64_t epoch, int ok)
{
    t->busy--;
    if (ok && epoch == t->epoch && t->pool_epoch == epoch && t->nidle < SIGN_SESSIONS)
        t->idle[t->nidle++] = s;
    else
        t->m->f->C_CloseSession(s);
}

/* Log a token failure on its change of state, then at most once a minute. */
static void token_failed(p11_token *t, const char *msg)
{
    time_t now = time(NULL);
    if (!t->failing || now - t->reminded_at >= 60) {
        /* most reasons already name the token */
        int named = !strncmp(msg, "token '", 7);
        sg_log(SG_LOG_ERR, "pkcs11", NULL, "%s%s%s%s%s", named ? "" : "token '",
               named ? "" : t->label, named ? "" : "': ", msg,
               t->failing ? " (still failing)" : "; signing with its keys stops until it is back");
        t->reminded_at = now;
    }
    t->failing = 1;
}

static void token_ok(p11_token *t)
{
    if (t->failing)
        sg_log(SG_LOG_WARN, "pkcs11", NULL, "token '%s' is back; signing resumes", t->label);
    t->failing = 0;
}

/* A module whose token went away may never see it again until it is initialised anew
 * (SoftHSM2 keeps a vanished token invalid): finalise and initialise it, when no other
 * token of the module has a session that this would break (t->mu held). */
static void module_reset(p11_token *t)
{
    pthread_mutex_lock(&reg_mu);
    int others = 0;
    for (p11_token *o = tokens; o; o = o->next)
        if ((o != t && o->m == t->m && o->open && !o->failing) || (o->m == t->m && o->busy))
            others = 1;
    if (!others) {
        for (p11_token *o = tokens; o; o = o->next)
            if (o->m == t->m && o != t) {
                /* their sessions die with the module; each finds out on its next call */
                o->open = 0;
                o->epoch++;
            }
        CK_C_INITIALIZE_ARGS args;
        memset(&args, 0, sizeof args);
        args.flags = CKF_OS_LOCKING_OK;
        t->m->f->C_Finalize(NULL);
        t->m->f->C_Initialize(&args);
    }
    pthread_mutex_unlock(&reg_mu);
}

static int session_try(p11_token *t, char *pin, size_t plen, char *why, size_t cap);

/* Open and log in the token's session (t->mu held). A failure is logged on the token's
 * change of state; while it fails, a reconnection is tried at most once a second.
 * The PIN source is read first: an unset variable or a loose PIN file is the operator's
 * to fix and says nothing about the token, so it neither starts the token's hold nor
 * resets its module, and the next call reads the source again. */
static int session_open(p11_token *t, char *why, size_t cap)
{
    if (t->open)
        return 0;
    char *pin = NULL;
    size_t plen = 0;
    int r = pin_read(t->pin_source, &pin, &plen, why, cap);
    if (r) {
        if (!t->pin_failing)
            sg_log(SG_LOG_ERR, "pkcs11", NULL, "token '%s': %s; signing with its keys stops until "
                   "the PIN can be read", t->label, why && cap ? why : "the PIN cannot be read");
        t->pin_failing = 1;
        return r;
    }
    if (t->pin_failing)
        sg_log(SG_LOG_WARN, "pkcs11", NULL, "token '%s': the PIN can be read again", t->label);
    t->pin_failing = 0;
    time_t now = time(NULL);
    if (t->failing && now < t->retry_at) {
        sg_secure_free(pin, PIN_MAX);
        return sg_say(why, cap, SG_KS_ETOKEN, "token '%s' is failing (next attempt in a second)",
                   t->label);
    }
    t->retry_at = now + 1;
    if (t->failing)
        module_reset(t);
    r = session_try(t, pin, plen, why, cap);
    sg_secure_free(pin, PIN_MAX);
    if (r == SG_KS_ETOKEN || r == SG_KS_EPIN)
        token_failed(t, why && cap ? why : "cannot be reached");
    else if (!r)
        token_ok(t);
    return r;
}

static int session_try(p11_token *t, char *pin, size_t plen, char *why, size_t cap)
{
    CK_FUNCTION_LIST_PTR f = t->m->f;
    CK_ULONG n = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
    CK_SLOT_ID slots[64];
    if (rv == CKR_OK) {
        if (n > 64)
            n = 64;
        rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    }
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return sg_say(why, cap, SG_KS_ETOKEN, "token '%s': C_GetSlotList: %s", t->label, rv_name(rv));
    char want[32];
    memset(want, ' ', sizeof want);
    memcpy(want, t->label, strlen(t->label));
    CK_SLOT_ID slot = 0;
    int found = 0;
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && !memcmp(ti.label, want, 32)) {
            slot = slots[i];
            found = 1;
        }
    }
    if (!found)
        return sg_say(why, cap, SG_KS_ETOKEN, "no token labelled '%s' in module %s", t->label,
                   t->m->path);
    CK_SESSION_HANDLE s;
    rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return sg_say(why, cap, SG_KS_ETOKEN, "token '%s': C_OpenSession: %s", t->label, rv_name(rv));
    rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, plen);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        f->C_CloseSession(s);
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE ||
            rv == CKR_PIN_EXPIRED || rv == CKR_PIN_INVALID)
            return sg_say(why, cap, SG_KS_EPIN, "token '%s' refused the PIN from %s: %s", t->label,
                       t->pin_source, rv_name(rv));
        return sg_say(why, cap, SG_KS_ETOKEN, "token '%s': C_Login: %s", t->label, rv_name(rv));
    }
    t->s = s;
    t->open = 1;
    t->epoch++;
    return 0;
}

/* The object of class cls with CKA_ID id (t->mu held, session open). */
static int find_object(p11_token *t, CK_OBJECT_CLASS cls, const uint8_t *id, size_t id_len,
                       CK_OBJECT_HANDLE *h_out, CK_RV *rv_out)
{
    CK_FUNCTION_LIST_PTR f = t->m->f;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_ID, (void *)id, id_len },
    };
    CK_OBJECT_HANDLE hs[2];
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(t->s, tmpl, 2);
    if (rv == CKR_OK) {
        rv = f->C_FindObjects(t->s, hs, 2, &n);
        CK_RV rv2 = f->C_FindObjectsFinal(t->s);
        if (rv == CKR_OK)
            rv = rv2;
    }
    *rv_out = rv;
    if (rv != CKR_OK)
        return SG_KS_ETOKEN;
    if (n != 1)
        return n == 0 ? SG_ENOTFOUND : SG_EEXIST;
    *h_out = hs[0];
    return 0;
}

/* ---- public keys as DNSKEY data ---- */

static int get_attr(p11_token *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, uint8_t *buf,
                    size_t cap, size_t *len_out)
{
    CK_ATTRIBUTE a = { type, buf, cap };
    CK_RV rv = t->m->f->C_GetAttributeValue(t->s, h, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == (CK_ULONG)-1)
        return rv == CKR_BUFFER_TOO_SMALL ? SG_ESPACE : SG_KS_ETOKEN;
    *len_out = a.ulValueLen;
    return 0;
}

/* CKA_EC_POINT is a DER OCTET STRING (some modules give the bare point). */
static const uint8_t *unwrap_octets(const uint8_t *p, size_t n, size_t *len_out)
{
    if (n >= 2 && p[0] == 0x04) {
        size_t l = p[1], hdr = 2;
        if (l == 0x81 && n >= 3) {
            l = p[2];
            hdr = 3;
        }
        if (hdr + l == n) {
            *len_out = l;
            return p + hdr;
        }
    }
    *len_out = n;
    return p;
}

static int public_of(p11_token *t, CK_OBJECT_HANDLE h, uint8_t alg, uint8_t *pub, size_t cap,
                     size_t *len_out)
{
    uint8_t buf[1100];
    size_t n;
    int r;
    if (alg == SG_KS_ALG_RSASHA256 || alg == SG_KS_ALG_RSASHA512) {
        uint8_t e[16], mod[1024];
        size_t el, ml;
        if ((r = get_attr(t, h, CKA_PUBLIC_EXPONENT, e, sizeof e, &el)) ||
            (r = get_attr(t, h, CKA_MODULUS, mod, sizeof mod, &ml)))
            return r;
        const uint8_t *ep = e, *mp = mod;
        while (el > 1 && *ep == 0)
            ep++, el--;
        while (ml > 1 && *mp == 0)
            mp++, ml--;
        if (el == 0 || el > 255 || 1 + el + ml > cap)
            return SG_ESPACE;
        pub[0] = (uint8_t)el; /* RFC 3110 2 */
        memcpy(pub + 1, ep, el);
        memcpy(pub + 1 + el, mp, ml);
        *len_out = 1 + el + ml;
        return 0;
    }
    if ((r = get_attr(t, h, CKA_EC_POINT, buf, sizeof buf, &n)))
        return r;
    size_t pl;
    const uint8_t *pt = unwrap_octets(buf, n, &pl);
    size_t fs = alg == SG_KS_ALG_ECDSAP256SHA256 ? 32 : alg == SG_KS_ALG_ECDSAP384SHA384 ? 48 : 0;
    if (fs) { /* RFC 6605 4: x | y without the 0x04 prefix */
        if (pl != 1 + 2 * fs || pt[0] != 4)
            return SG_EMALFORMED;
        if (cap < 2 * fs)
            return SG_ESPACE;
        memcpy(pub, pt + 1, 2 * fs);
        *len_out = 2 * fs;
        return 0;
    }
    if (pl != 32) /* RFC 8080 3: the 32-octet Ed25519 public key */
        return SG_EMALFORMED;
    if (cap < 32)
        return SG_ESPACE;
    memcpy(pub, pt, 32);
    *len_out = 32;
    return 0;
}

/* ---- generation ---- */

int sg_p11_generate(const char *token_uri, uint8_t alg, uint16_t bits, const char *label,
                    char *ref_out, size_t ref_cap, uint8_t *pub, size_t pub_cap,
                    size_t *pub_len_out, char *why, size_t cap)
{
    if (!token_uri || !ref_out || !pub || !pub_len_out)
        return SG_EINVAL;
    sg_p11_uri u;
    int r = sg_p11_uri_check(token_uri, why, cap);
    if (r || (r = sg_p11_uri_parse(token_uri, &u, why, cap)))
        return r;
    if (!sg_p11_alg_supported(alg))
        return sg_say(why, cap, SG_EINVAL, "algorithm %u cannot be kept in a PKCS#11 token here "
                   "(RSASHA256, RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519)", alg);
    int rsa = alg == SG_KS_ALG_RSASHA256 || alg == SG_KS_ALG_RSASHA512;
    if (rsa && bits == 0)
        bits = 2048;
    if (rsa && (bits < 1024 || bits > 4096))
        return sg_say(why, cap, SG_EINVAL, "RSA key size %u out of range", bits);
    p11_token *t;
    if ((r = token_get(&u, &t, why, cap)))
        return r;
    if (RAND_bytes(u.id, 16) != 1)
        return sg_say(why, cap, SG_ELIB, "no random CKA_ID");
    u.id_len = 16;
    snprintf(u.object, sizeof u.object, "%s", label ? label : "signet");

    static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
    static const uint8_t ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 }; /* RFC 8410 id-Ed25519 */
    static const uint8_t f4[] = { 0x01, 0x00, 0x01 };
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG modbits = bits;
    CK_MECHANISM mech = { rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN
                          : alg == SG_KS_ALG_ED25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN
                                                     : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    const uint8_t *params = alg == SG_KS_ALG_ECDSAP256SHA256 ? p256
                          : alg == SG_KS_ALG_ECDSAP384SHA384 ? p384 : ed25519;
    size_t plen = alg == SG_KS_ALG_ECDSAP256SHA256 ? sizeof p256
                : alg == SG_KS_ALG_ECDSAP384SHA384 ? sizeof p384 : sizeof ed25519;
    size_t llen = strlen(u.object);
    CK_ATTRIBUTE pubt[] = {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_VERIFY, &yes, sizeof yes },
        { CKA_ID, u.id, u.id_len },
        { CKA_LABEL, u.object, llen },
        { rsa ? CKA_MODULUS_BITS : CKA_EC_PARAMS, rsa ? (void *)&modbits : (void *)params,
          rsa ? sizeof modbits : plen },
        { CKA_PUBLIC_EXPONENT, (void *)f4, sizeof f4 },
    };
    CK_ATTRIBUTE privt[] = {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
        { CKA_EXTRACTABLE, &no, sizeof no },
        { CKA_SIGN, &yes, sizeof yes },
        { CKA_ID, u.id, u.id_len },
        { CKA_LABEL, u.object, llen },
    };
    pthread_mutex_lock(&t->mu);
    if ((r = session_open(t, why, cap)))
        goto out;
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_RV rv = t->m->f->C_GenerateKeyPair(t->s, &mech, pubt, rsa ? 6 : 5, privt, 7, &hpub, &hpriv);
    if (rv != CKR_OK) {
        if (session_fail(rv))
            session_drop(t);
        r = sg_say(why, cap, SG_KS_ETOKEN, "token '%s': C_GenerateKeyPair (algorithm %u): %s",
                t->label, alg, rv_name(rv));
        token_failed(t, why ? why : "key generation failed");
        goto out;
    }
    r = public_of(t, hpub, alg, pub, pub_cap, pub_len_out);
    if (!r)
        r = sg_p11_uri_format(&u, ref_out, ref_cap);
    if (r) {
        t->m->f->C_DestroyObject(t->s, hpriv);
        t->m->f->C_DestroyObject(t->s, hpub);
        sg_say(why, cap, r, "token '%s': the new key's public half does not read back: %s",
            t->label, sg_strerror(r));
    }
out:
    pthread_mutex_unlock(&t->mu);
    return r;
}

int sg_p11_destroy(const char *ref, char *why, size_t cap)
{
    sg_p11_uri u;
    int r = sg_p11_uri_parse(ref, &u, why, cap);
    if (r)
        return r;
    if (!u.id_len)
        return sg_say(why, cap, SG_EINVAL, "the key reference has no id");
    p11_token *t;
    if ((r = token_get(&u, &t, why, cap)))
        return r;
    pthread_mutex_lock(&t->mu);
    int gone = 0;
    if (!(r = session_open(t, why, cap))) {
        CK_OBJECT_CLASS cls[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
        for (int i = 0; i < 2 && !r; i++) {
            CK_OBJECT_HANDLE h;
            CK_RV rv;
            int fr = find_object(t, cls[i], u.id, u.id_len, &h, &rv);
            if (fr == SG_ENOTFOUND)
                continue;
            if (!fr)
                rv = t->m->f->C_DestroyObject(t->s, h);
            if (fr || rv != CKR_OK)
                r = sg_say(why, cap, SG_KS_ETOKEN, "token '%s': destroying the key: %s", t->label,
                        rv_name(rv));
            else
                gone++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (!r && !gone)
        r = sg_say(why, cap, SG_ENOTFOUND, "token '%s' has no key with that id", u.token);
    return r;
}

/* ---- keys ---- */

int sg_p11_key_open(const char *ref, uint8_t alg, sg_p11_key **out, char *why, size_t cap)
{
    if (!ref || !out)
        return SG_EINVAL;
    sg_p11_uri u;
    int r = sg_p11_uri_parse(ref, &u, why, cap);
    if (r)
        return r;
    if (!u.id_len || !u.token[0] || !u.module[0])
        return sg_say(why, cap, SG_EINVAL, "the key reference lacks its token, id or module");
    if (!sg_p11_alg_supported(alg))
        return sg_say(why, cap, SG_EINVAL, "algorithm %u is not signed through PKCS#11 here", alg);
    p11_token *t;
    if ((r = token_get(&u, &t, why, cap)))
        return r;
    sg_p11_key *k = calloc(1, sizeof *k);
    if (!k)
        return SG_ENOMEM;
    k->t = t;
    k->alg = alg;
    memcpy(k->id, u.id, u.id_len);
    k->id_len = u.id_len;
    atomic_init(&k->refs, 1);
    pthread_mutex_lock(&t->mu);
    if (!(r = session_open(t, why, cap))) {
        CK_RV rv = CKR_OK;
        r = find_object(t, CKO_PRIVATE_KEY, k->id, k->id_len, &k->h, &rv);
        if (r == SG_KS_ETOKEN) {
            if (session_fail(rv))
                session_drop(t);
            sg_say(why, cap, r, "token '%s': finding the key: %s", t->label, rv_name(rv));
            token_failed(t, why ? why : "finding a key failed");
        } else if (r) {
            sg_say(why, cap, r, "token '%s' has %s private key with the id of this reference",
                t->label, r == SG_ENOTFOUND ? "no" : "more than one");
        }
        k->epoch = t->epoch;
    }
    pthread_mutex_unlock(&t->mu);
    if (r) {
        free(k);
        return r;
    }
    *out = k;
    return 0;
}

sg_p11_key *sg_p11_key_ref(sg_p11_key *k)
{
    if (k)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

void sg_p11_key_free(sg_p11_key *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1)
        free(k);
}

/* Make sure the session is open and k->h is this session's handle (t->mu held). */
static int key_ready(sg_p11_key *k, char *why, size_t cap)
{
    p11_token *t = k->t;
    int r = session_open(t, why, cap);
    if (r)
        return r;
    if (k->epoch == t->epoch)
        return 0;
    CK_RV rv = CKR_OK;
    r = find_object(t, CKO_PRIVATE_KEY, k->id, k->id_len, &k->h, &rv);
    if (r == SG_KS_ETOKEN) {
        if (session_fail(rv))
            session_drop(t);
        sg_say(why, cap, r, "finding the key: %s", rv_name(rv));
    } else if (r) {
        r = sg_say(why, cap, SG_KS_ETOKEN, "the key is no longer in the token");
    }
    if (r) {
        token_failed(t, why);
        return r;
    }
    k->epoch = t->epoch;
    return 0;
}

int sg_p11_key_public(sg_p11_key *k, uint8_t *pub, size_t cap, size_t *len_out)
{
    if (!k || !pub || !len_out)
        return SG_EINVAL;
    p11_token *t = k->t;
    char why[200];
    pthread_mutex_lock(&t->mu);
    int r = key_ready(k, why, sizeof why);
    if (!r) {
        CK_OBJECT_HANDLE h;
        CK_RV rv;
        int fr = find_object(t, CKO_PUBLIC_KEY, k->id, k->id_len, &h, &rv);
        r = public_of(t, fr ? k->h : h, k->alg, pub, cap, len_out);
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

int sg_p11_key_custody(sg_p11_key *k, int *sensitive_out, int *extractable_out,
                       int *value_readable_out)
{
    if (!k || !sensitive_out || !extractable_out || !value_readable_out)
        return SG_EINVAL;
    p11_token *t = k->t;
    char why[200];
    pthread_mutex_lock(&t->mu);
    int r = key_ready(k, why, sizeof why);
    if (!r) {
        CK_BBOOL sens = CK_FALSE, ext = CK_TRUE;
        CK_ATTRIBUTE a[] = { { CKA_SENSITIVE, &sens, sizeof sens },
                             { CKA_EXTRACTABLE, &ext, sizeof ext } };
        if (t->m->f->C_GetAttributeValue(t->s, k->h, a, 2) != CKR_OK)
            r = SG_KS_ETOKEN;
        *sensitive_out = sens == CK_TRUE;
        *extractable_out = ext == CK_TRUE;
        /* the secret itself: CKA_VALUE (EC, EdDSA) or CKA_PRIVATE_EXPONENT (RSA) */
        uint8_t buf[1024];
        CK_ATTRIBUTE v = { k->alg == SG_KS_ALG_RSASHA256 || k->alg == SG_KS_ALG_RSASHA512
                               ? CKA_PRIVATE_EXPONENT : CKA_VALUE, buf, sizeof buf };
        CK_RV rv = t->m->f->C_GetAttributeValue(t->s, k->h, &v, 1);
        *value_readable_out = rv == CKR_OK && v.ulValueLen != (CK_ULONG)-1;
        OPENSSL_cleanse(buf, sizeof buf);
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

/* ---- signing ---- */

int sg_p11_sign(sg_p11_key *k, const uint8_t *data, size_t len, uint8_t *sig, size_t cap,
                size_t *len_out)
{
    if (!k || !data || !sig || !len_out)
        return SG_EINVAL;
    uint8_t md[64];
    unsigned mdlen = 0;
    const uint8_t *in = data;
    size_t inlen = len;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    switch (k->alg) {
    case SG_KS_ALG_ECDSAP256SHA256:
    case SG_KS_ALG_ECDSAP384SHA384:
        if (!EVP_Digest(data, len, md, &mdlen,
                        k->alg == SG_KS_ALG_ECDSAP256SHA256 ? EVP_sha256() : EVP_sha384(), NULL))
            return SG_ELIB;
        in = md;
        inlen = mdlen;
        break;
    case SG_KS_ALG_RSASHA256: mech.mechanism = CKM_SHA256_RSA_PKCS; break;
    case SG_KS_ALG_RSASHA512: mech.mechanism = CKM_SHA512_RSA_PKCS; break;
    case SG_KS_ALG_ED25519: mech.mechanism = CKM_EDDSA; break;
    default: return SG_EINVAL;
    }
    p11_token *t = k->t;
    char why[256];
    pthread_mutex_lock(&t->mu);
    int r = key_ready(k, why, sizeof why);
    /* key_ready logged its own failure; what fails after is ours to say */
    int said = r != 0;
    if (!r) {
        CK_FUNCTION_LIST_PTR f = t->m->f;
        CK_ULONG out = cap;
        CK_OBJECT_HANDLE h = k->h;
        uint64_t epoch = t->epoch;
        CK_SESSION_HANDLE s = lend_session(t);
        CK_RV rv;
        if (s) {
            /* the token signs for other threads meanwhile */
            pthread_mutex_unlock(&t->mu);
            rv = f->C_SignInit(s, &mech, h);
            if (rv == CKR_OK)
                rv = f->C_Sign(s, (CK_BYTE_PTR)in, inlen, sig, &out);
            pthread_mutex_lock(&t->mu);
            return_session(t, s, epoch, rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL);
        } else {
            rv = f->C_SignInit(t->s, &mech, h);
            if (rv == CKR_OK)
                rv = f->C_Sign(t->s, (CK_BYTE_PTR)in, inlen, sig, &out);
        }
        if (rv == CKR_OK) {
            *len_out = out;
            token_ok(t);
        } else {
            /* a failure of a session of an older epoch was already seen by another thread */
            if (session_fail(rv) && epoch == t->epoch)
                session_drop(t);
            r = rv == CKR_BUFFER_TOO_SMALL ? SG_ESPACE : SG_KS_ETOKEN;
            snprintf(why, sizeof why, "signing failed: %s", rv_name(rv));
        }
    }
    if (r == SG_KS_ETOKEN && !said)
        token_failed(t, why);
    pthread_mutex_unlock(&t->mu);
    return r == SG_KS_EPIN ? SG_KS_ETOKEN : r;
}

/* How many sessions the token of k has lent and kept idle (tests). */
int sg_p11_sessions(sg_p11_key *k, int *busy_out, int *idle_out)
{
    if (!k)
        return SG_EINVAL;
    pthread_mutex_lock(&k->t->mu);
    *busy_out = k->t->busy;
    *idle_out = k->t->nidle;
    pthread_mutex_unlock(&k->t->mu);
    return 0;
}

void sg_p11_shutdown(void)
{
    pthread_mutex_lock(&reg_mu);
    while (tokens) {
        p11_token *t = tokens;
        tokens = t->next;
        session_drop(t);
        pthread_mutex_destroy(&t->mu);
        free(t);
    }
    while (modules) {
        p11_module *m = modules;
        modules = m->next;
        m->f->C_Finalize(NULL);
        /* not dlclose: a module may keep threads or atexit handlers, and its code must
         * stay mapped for LeakSanitizer to name (and suppress) what SoftHSM2 leaks */
        free(m);
    }
    pthread_mutex_unlock(&reg_mu);
}
