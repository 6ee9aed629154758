/* SPDX-License-Identifier: MIT */
/* TSIG keys: algorithms, base64 secrets, the keyring and the `tsig-key` config directive. */
#include "tsig/tsig.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/secure_heap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct sg_tsig_keyring {
    sg_tsig_key *keys;
    int n, cap;
};

static const struct {
    enum sg_tsig_alg alg;
    const char *name;
    size_t mac_len;
} algs[] = {
    { SG_TSIG_HMAC_SHA1, "hmac-sha1.", 20 },
    { SG_TSIG_HMAC_SHA256, "hmac-sha256.", 32 },
    { SG_TSIG_HMAC_SHA384, "hmac-sha384.", 48 },
    { SG_TSIG_HMAC_SHA512, "hmac-sha512.", 64 },
};

/* The wire names, built once by hand: they are constants. */
static const uint8_t wire_sha1[] = "\x09hmac-sha1";
static const uint8_t wire_sha256[] = "\x0bhmac-sha256";
static const uint8_t wire_sha384[] = "\x0bhmac-sha384";
static const uint8_t wire_sha512[] = "\x0bhmac-sha512";

static const uint8_t *alg_wire(enum sg_tsig_alg a)
{
    switch (a) {
    case SG_TSIG_HMAC_SHA1: return wire_sha1;
    case SG_TSIG_HMAC_SHA256: return wire_sha256;
    case SG_TSIG_HMAC_SHA384: return wire_sha384;
    case SG_TSIG_HMAC_SHA512: return wire_sha512;
    }
    return NULL;
}

int sg_tsig_alg_parse(const char *text, enum sg_tsig_alg *alg_out)
{
    if (!text || !alg_out)
        return SG_EINVAL;
    size_t l = strlen(text);
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        size_t nl = strlen(algs[i].name);
        /* with or without the trailing dot */
        if ((l == nl || l == nl - 1) && !strncasecmp(text, algs[i].name, l)) {
            *alg_out = algs[i].alg;
            return 0;
        }
    }
    return SG_EINVAL;
}

const char *sg_tsig_alg_name(enum sg_tsig_alg alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].alg == alg)
            return algs[i].name;
    return NULL;
}

size_t sg_tsig_alg_mac_len(enum sg_tsig_alg alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].alg == alg)
            return algs[i].mac_len;
    return 0;
}

/* Base64 into out (cap bytes), length to *len_out; SG_EINVAL on bad input. */
static int b64_decode(const char *s, uint8_t *out, size_t cap, size_t *len_out)
{
    if (!s || !out || !len_out)
        return SG_EINVAL;
    /* strip whitespace so that a secret split over lines still reads */
    size_t sl = strlen(s);
    char *clean = malloc(sl + 1);
    if (!clean)
        return SG_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < sl; i++)
        if (!isspace((unsigned char)s[i]))
            clean[n++] = s[i];
    clean[n] = 0;
    int rc = SG_EINVAL;
    if (n == 0 || n % 4)
        goto out;
    size_t pad = 0;
    if (clean[n - 1] == '=')
        pad++;
    if (clean[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!isalnum((unsigned char)clean[i]) && clean[i] != '+' && clean[i] != '/')
            goto out;
    size_t need = n / 4 * 3;
    uint8_t *tmp = malloc(need);
    if (!tmp) {
        rc = SG_ENOMEM;
        goto out;
    }
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)clean, (int)n);
    if (got < 0 || (size_t)got != need || need - pad > cap) {
        OPENSSL_cleanse(tmp, need);
        free(tmp);
        goto out;
    }
    memcpy(out, tmp, need - pad);
    *len_out = need - pad;
    OPENSSL_cleanse(tmp, need);
    free(tmp);
    rc = 0;
out:
    OPENSSL_cleanse(clean, sl + 1);
    free(clean);
    return rc;
}

char *sg_tsig_b64_encode(const uint8_t *data, size_t len)
{
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (!s)
        return NULL;
    EVP_EncodeBlock((unsigned char *)s, data, (int)len);
    return s;
}

sg_tsig_keyring *sg_tsig_keyring_new(void)
{
    return calloc(1, sizeof(sg_tsig_keyring));
}

/* A TSIG secret is a key like a DNSSEC private key: it lives in the secure heap (left out
 * of core dumps, locked, cleansed on free) when signetd has set one up. */
static void *secret_copy(const void *src, size_t len)
{
    void *p = sg_secure_alloc(len);
    if (p)
        memcpy(p, src, len);
    return p;
}

static void key_wipe(sg_tsig_key *k)
{
    sg_secure_free(k->secret, k->secret_len);
    if (k->secret_b64)
        sg_secure_free(k->secret_b64, strlen(k->secret_b64) + 1);
    memset(k, 0, sizeof *k);
}

void sg_tsig_keyring_free(sg_tsig_keyring *kr)
{
    if (!kr)
        return;
    for (int i = 0; i < kr->n; i++)
        key_wipe(&kr->keys[i]);
    free(kr->keys);
    free(kr);
}

int sg_tsig_keyring_count(const sg_tsig_keyring *kr)
{
    return kr ? kr->n : 0;
}

const sg_tsig_key *sg_tsig_keyring_at(const sg_tsig_keyring *kr, int i)
{
    return kr && i >= 0 && i < kr->n ? &kr->keys[i] : NULL;
}

const sg_tsig_key *sg_tsig_find_wire(const sg_tsig_keyring *kr, const uint8_t *name)
{
    if (!kr || !name)
        return NULL;
    uint8_t low[SG_NAME_MAX];
    size_t l = sg_name_len(name);
    if (l == 0 || l > SG_NAME_MAX)
        return NULL;
    memcpy(low, name, l);
    sg_name_lower(low);
    for (int i = 0; i < kr->n; i++)
        if (sg_name_eq(kr->keys[i].name, low))
            return &kr->keys[i];
    return NULL;
}

const sg_tsig_key *sg_tsig_find(const sg_tsig_keyring *kr, const char *name_text)
{
    uint8_t w[SG_NAME_MAX];
    if (!kr || !name_text || sg_name_from_str(name_text, (const uint8_t *)"", w))
        return NULL;
    return sg_tsig_find_wire(kr, w);
}

int sg_tsig_keyring_add(sg_tsig_keyring *kr, const char *name, const char *alg, const char *b64)
{
    if (!kr || !name || !alg || !b64)
        return SG_EINVAL;
    sg_tsig_key k;
    memset(&k, 0, sizeof k);
    if (sg_name_from_str(name, (const uint8_t *)"", k.name) || k.name[0] == 0)
        return SG_EINVAL;
    sg_name_lower(k.name);
    if (sg_tsig_alg_parse(alg, &k.alg))
        return SG_EINVAL;
    if (sg_tsig_find_wire(kr, k.name))
        return SG_EEXIST;
    k.alg_name = sg_tsig_alg_name(k.alg);
    k.alg_wire = alg_wire(k.alg);
    sg_name_to_str(k.name, k.name_text, sizeof k.name_text);
    uint8_t raw[SG_TSIG_SECRET_MAX];
    size_t rl = 0;
    int rc = b64_decode(b64, raw, sizeof raw, &rl);
    if (rc || rl == 0) {
        OPENSSL_cleanse(raw, sizeof raw);
        return rc == SG_ENOMEM ? rc : SG_EINVAL;
    }
    k.secret = secret_copy(raw, rl);
    k.secret_len = rl;
    OPENSSL_cleanse(raw, sizeof raw);
    /* re-encode rather than keep the text: one canonical form for ldns */
    char *text = k.secret ? sg_tsig_b64_encode(k.secret, rl) : NULL;
    if (text) {
        size_t tl = strlen(text) + 1;
        k.secret_b64 = secret_copy(text, tl);
        OPENSSL_cleanse(text, tl);
        free(text);
    }
    if (!k.secret || !k.secret_b64)
        goto nomem;
    if (kr->n == kr->cap) {
        int nc = kr->cap ? kr->cap * 2 : 4;
        sg_tsig_key *nk = realloc(kr->keys, (size_t)nc * sizeof *nk);
        if (!nk)
            goto nomem;
        kr->keys = nk;
        kr->cap = nc;
    }
    kr->keys[kr->n++] = k;
    return 0;
nomem:
    key_wipe(&k);
    return SG_ENOMEM;
}

int sg_tsig_keyring_add_file(sg_tsig_keyring *kr, const char *name, const char *path)
{
    if (!kr || !name || !path)
        return SG_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SG_EIO;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return SG_EIO;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return SG_EINVAL;
    }
    char buf[2048];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got < 0)
        return SG_EIO;
    buf[got] = 0;
    /* drop comments, then expect exactly two words */
    for (char *p = buf; *p; p++)
        if (*p == '#')
            while (*p && *p != '\n')
                *p++ = ' ';
    char *save = NULL;
    char *alg = strtok_r(buf, " \t\r\n", &save);
    char *secret = alg ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *extra = secret ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    int rc = (!alg || !secret || extra) ? SG_EINVAL : sg_tsig_keyring_add(kr, name, alg, secret);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int sg_tsig_config_directive(sg_tsig_keyring *kr, const sg_cfg_block *d)
{
    if (d->nargs != 3 || d->has_block)
        return sg_cfg_error(d, "tsig-key: expected NAME ALGORITHM BASE64SECRET or NAME file PATH");
    const char *name = d->args[0];
    int rc;
    if (!strcmp(d->args[1], "file")) {
        rc = sg_tsig_keyring_add_file(kr, name, d->args[2]);
        if (rc == SG_EIO)
            return sg_cfg_error(d, "tsig-key %s: cannot read key file '%s': %s", name, d->args[2],
                                strerror(errno));
        if (rc == SG_EINVAL) {
            struct stat st;
            if (!stat(d->args[2], &st) && (st.st_mode & (S_IRWXG | S_IRWXO)))
                return sg_cfg_error(d, "tsig-key %s: key file '%s' is accessible by group or "
                                    "others (mode %03o); chmod 600 it", name, d->args[2],
                                    (unsigned)(st.st_mode & 0777));
            return sg_cfg_error(d, "tsig-key %s: key file '%s' must hold 'ALGORITHM BASE64SECRET' "
                                "(algorithms: hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha1)",
                                name, d->args[2]);
        }
    } else {
        enum sg_tsig_alg a;
        if (sg_tsig_alg_parse(d->args[1], &a))
            return sg_cfg_error(d, "tsig-key %s: unknown algorithm '%s' (expected hmac-sha256, "
                                "hmac-sha384, hmac-sha512 or hmac-sha1)", name, d->args[1]);
        rc = sg_tsig_keyring_add(kr, name, d->args[1], d->args[2]);
        if (rc == SG_EINVAL)
            return sg_cfg_error(d, "tsig-key %s: bad key name or secret (expected a domain name and "
                                "non-empty base64)", name);
    }
    if (rc == SG_EEXIST)
        return sg_cfg_error(d, "tsig-key %s: a key of that name is already defined", name);
    if (rc)
        return sg_cfg_error(d, "tsig-key %s: %s", name, sg_strerror(rc));
    return 0;
}

sg_tsig_key *sg_tsig_key_dup(const sg_tsig_key *k)
{
    if (!k)
        return NULL;
    sg_tsig_key *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = *k;
    size_t bl = strlen(k->secret_b64) + 1;
    c->secret = secret_copy(k->secret, k->secret_len);
    c->secret_b64 = secret_copy(k->secret_b64, bl);
    if (!c->secret || !c->secret_b64) {
        sg_tsig_key_free(c);
        return NULL;
    }
    return c;
}

void sg_tsig_key_free(sg_tsig_key *k)
{
    if (!k)
        return;
    key_wipe(k);
    free(k);
}
