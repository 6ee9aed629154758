/* SPDX-License-Identifier: MIT */
/* Importing a BIND key pair (K<zone>+<alg>+<tag>.key and .private) into the keystore. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FILE_MAX 65536

/* Read a whole small file; the caller cleanses and frees it (it may be a private key). */
static int slurp(const char *path, char **buf_out, size_t *len_out)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        sg_log(SG_LOG_ERR, "keystore", NULL, "cannot open %s", path);
        return SG_EIO;
    }
    char *buf = sg_secure_alloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    int err = ferror(f) || (buf && n == FILE_MAX);
    fclose(f);
    if (!buf)
        return SG_ENOMEM;
    if (err) {
        sg_secure_free(buf, FILE_MAX + 1);
        return SG_EIO;
    }
    *buf_out = buf;
    *len_out = FILE_MAX + 1;
    return 0;
}

/* "YYYYMMDDHHMMSS" (UTC) to Unix time; 0 when absent or malformed. */
static int64_t bind_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* Parse the DNSKEY line of a .key file: owner, flags, algorithm, public key. */
static int parse_key_file(char *text, char *owner, size_t ocap, sg_ks_key *k)
{
    /* Drop comments and fold a parenthesised record onto one line (RFC 1035 5.1). */
    int depth = 0, comment = 0;
    for (char *p = text; *p; p++) {
        if (*p == '\n') {
            comment = 0;
            if (depth)
                *p = ' ';
        } else if (comment || *p == ';') {
            comment = 1;
            *p = ' ';
        } else if (*p == '(' || *p == ')') {
            depth += *p == '(' ? 1 : -1;
            *p = ' ';
        }
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tok[8];
        int nt = 0;
        char *save, *t = strtok_r(line, " \t\r", &save);
        while (t && nt < 8) {
            tok[nt++] = t;
            if (strcasecmp(t, "DNSKEY") == 0)
                break;
            t = strtok_r(NULL, " \t\r", &save);
        }
        if (nt < 2 || strcasecmp(tok[nt - 1], "DNSKEY") != 0)
            continue;
        char *fl = strtok_r(NULL, " \t\r", &save), *proto = strtok_r(NULL, " \t\r", &save);
        char *alg = strtok_r(NULL, " \t\r", &save), *rest = strtok_r(NULL, "", &save);
        if (!fl || !proto || !alg || !rest || atoi(proto) != 3)
            return SG_ESYNTAX;
        snprintf(owner, ocap, "%s", tok[0]);
        k->flags = (uint16_t)atoi(fl);
        k->algorithm = (uint8_t)atoi(alg);
        return ks_b64_decode(rest, k->pubkey, sizeof k->pubkey, &k->pubkey_len);
    }
    return SG_ESYNTAX;
}

/* Value of "Field: value" in a .private file, or NULL. */
static const char *priv_field(char **lines, int n, const char *field)
{
    size_t fl = strlen(field);
    for (int i = 0; i < n; i++)
        if (strncasecmp(lines[i], field, fl) == 0 && lines[i][fl] == ':') {
            const char *v = lines[i] + fl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    return NULL;
}

static BIGNUM *priv_bn(char **lines, int n, const char *field)
{
    uint8_t buf[1024];
    size_t len;
    const char *v = priv_field(lines, n, field);
    if (!v || ks_b64_decode(v, buf, sizeof buf, &len) != 0)
        return NULL;
    BIGNUM *bn = BN_secure_new();
    if (bn && !BN_bin2bn(buf, (int)len, bn)) {
        BN_clear_free(bn);
        bn = NULL;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return bn;
}

static int build_pkey(sg_keystore *ks, const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
             EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) > 0;
    EVP_PKEY_CTX_free(ctx);
    /* Private values came from secure BIGNUMs, so they are cleansed when freed. */
    OSSL_PARAM_free(params);
    return ok ? 0 : ks_ssl_fail(ks, "build imported private key");
}

static int private_to_pkey(sg_keystore *ks, char **lines, int n, const sg_ks_key *k,
                           EVP_PKEY **out)
{
    uint8_t raw[128];
    size_t rlen = 0;
    int r = SG_ESYNTAX;
    const char *pk = priv_field(lines, n, "PrivateKey");
    switch (k->algorithm) {
    case SG_KS_ALG_ED25519:
    case SG_KS_ALG_ED448:
        if (!pk || ks_b64_decode(pk, raw, sizeof raw, &rlen) != 0)
            break;
        *out = EVP_PKEY_new_raw_private_key(k->algorithm == SG_KS_ALG_ED25519 ? EVP_PKEY_ED25519
                                                                             : EVP_PKEY_ED448,
                                            NULL, raw, rlen);
        r = *out ? 0 : ks_ssl_fail(ks, "read EdDSA private key");
        break;
    case SG_KS_ALG_ECDSAP256SHA256:
    case SG_KS_ALG_ECDSAP384SHA384: {
        BIGNUM *d = priv_bn(lines, n, "PrivateKey");
        uint8_t pt[1 + 96];
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (d && bld && k->pubkey_len <= 96) {
            pt[0] = 4;
            memcpy(pt + 1, k->pubkey, k->pubkey_len);
            r = SG_ELIB;
            if (OSSL_PARAM_BLD_push_utf8_string(
                    bld, OSSL_PKEY_PARAM_GROUP_NAME,
                    k->algorithm == SG_KS_ALG_ECDSAP256SHA256 ? "P-256" : "P-384", 0) &&
                OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                 1 + k->pubkey_len) &&
                OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
                r = build_pkey(ks, "EC", bld, out);
        }
        OSSL_PARAM_BLD_free(bld);
        BN_clear_free(d);
        break;
    }
    case SG_KS_ALG_RSASHA256:
    case SG_KS_ALG_RSASHA512: {
        static const char *const fields[] = { "Modulus", "PublicExponent", "PrivateExponent",
                                              "Prime1", "Prime2", "Exponent1", "Exponent2",
                                              "Coefficient" };
        static const char *const params[] = {
            OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
            OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
            OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
            OSSL_PKEY_PARAM_RSA_COEFFICIENT1
        };
        BIGNUM *bn[8] = { 0 };
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        int ok = bld != NULL;
        for (int i = 0; i < 8 && ok; i++) {
            bn[i] = priv_bn(lines, n, fields[i]);
            ok = bn[i] && OSSL_PARAM_BLD_push_BN(bld, params[i], bn[i]);
        }
        if (ok)
            r = build_pkey(ks, "RSA", bld, out);
        OSSL_PARAM_BLD_free(bld);
        for (int i = 0; i < 8; i++)
            BN_clear_free(bn[i]);
        break;
    }
    default:
        r = SG_EINVAL;
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return r;
}

/* "Field: value" lines of a .key file's comments ("; Publish: 2026...") or a .private: the
 * timing points dnssec-keygen and dnssec-settime write. */
static void file_times(char *text, sg_ks_import_times *t)
{
    char *lines[64];
    int n = 0;
    char *save;
    for (char *l = strtok_r(text, "\r\n", &save); l && n < 64; l = strtok_r(NULL, "\r\n", &save)) {
        while (*l == ';' || *l == ' ' || *l == '\t')
            l++;
        lines[n++] = l;
    }
    memset(t, 0, sizeof *t);
    t->publish = bind_time(priv_field(lines, n, "Publish"));
    t->active = bind_time(priv_field(lines, n, "Activate"));
    t->retire = bind_time(priv_field(lines, n, "Inactive"));
    t->remove = bind_time(priv_field(lines, n, "Delete"));
    t->known = t->publish || t->active || t->retire || t->remove;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f)
        fclose(f);
    return f != NULL;
}

/* The import itself, from the texts (modified; the caller cleanses them). priv_text NULL:
 * public-only. */
static int import_texts(sg_keystore *ks, const sg_ks_zone *z, const char *what, char *pub_text,
                        char *priv_text, int role_override, const sg_ks_import_times *times,
                        const char *reason, int64_t now, sg_ks_key *key_out)
{
    sg_ks_key k;
    memset(&k, 0, sizeof k);
    char owner[SG_KS_ZONE_MAX], norm[SG_KS_ZONE_MAX];
    EVP_PKEY *pkey = NULL;
    int r;
    sg_ks_import_times ft;
    size_t pl = strlen(pub_text);
    char *copy = sg_secure_alloc(pl + 1);
    if (!copy)
        return SG_ENOMEM;
    memcpy(copy, pub_text, pl + 1);
    file_times(copy, &ft);
    sg_secure_free(copy, pl + 1);
    if ((r = parse_key_file(pub_text, owner, sizeof owner, &k)) != 0) {
        ks_set_err(ks, "%s: no DNSKEY record found", what);
        goto out;
    }
    if (sg_ks_zone_normalize(owner, norm) != 0 || strcmp(norm, z->name) != 0) {
        ks_set_err(ks, "%s: the key is for %s, not %s", what, owner, z->name);
        r = SG_EINVAL;
        goto out;
    }
    if (!sg_ks_alg_name(k.algorithm)) {
        ks_set_err(ks, "%s: unsupported algorithm %u", what, k.algorithm);
        r = SG_EINVAL;
        goto out;
    }
    snprintf(k.zone, sizeof k.zone, "%s", z->name);
    if (role_override >= 0)
        k.role = (enum sg_ks_role)role_override;
    else
        k.role = (k.flags & SG_KS_FLAG_SEP) ? SG_KS_ROLE_KSK : SG_KS_ROLE_ZSK;
    if (priv_text) {
        char *lines[64];
        int n = 0;
        char *save;
        for (char *l = strtok_r(priv_text, "\r\n", &save); l && n < 64;
             l = strtok_r(NULL, "\r\n", &save))
            lines[n++] = l;
        const char *alg = priv_field(lines, n, "Algorithm");
        if (!alg || atoi(alg) != k.algorithm) {
            ks_set_err(ks, "%s: the private key's algorithm differs from the DNSKEY's", what);
            r = SG_EINVAL;
            goto out;
        }
        if ((r = private_to_pkey(ks, lines, n, &k, &pkey)) != 0) {
            if (r == SG_ESYNTAX)
                ks_set_err(ks, "%s: missing or malformed private key fields", what);
            goto out;
        }
        if ((r = ks_key_check_pair(ks, pkey, &k)) != 0)
            goto out;
        ft.publish = bind_time(priv_field(lines, n, "Publish"));
        ft.active = bind_time(priv_field(lines, n, "Activate"));
        ft.retire = bind_time(priv_field(lines, n, "Inactive"));
        ft.remove = bind_time(priv_field(lines, n, "Delete"));
        ft.known = ft.publish || ft.active || ft.retire || ft.remove;
        k.bits = sg_ks_pkey_bits(pkey);
    } else {
        EVP_PKEY *pub = NULL;
        if ((r = sg_ks_pkey_from_dnskey(k.algorithm, k.pubkey, k.pubkey_len, &pub)) != 0) {
            ks_set_err(ks, "%s: the DNSKEY's public key is malformed", what);
            goto out;
        }
        k.bits = sg_ks_pkey_bits(pub);
        EVP_PKEY_free(pub);
    }
    ks_import_times_apply(&k, times && times->known ? times : &ft, pkey == NULL, now);
    uint8_t rd[SG_KS_RDATA_MAX];
    size_t rdlen;
    if ((r = sg_ks_key_dnskey_rdata(&k, rd, sizeof rd, &rdlen)) != 0)
        goto out;
    k.tag = sg_ks_key_tag(rd, rdlen);
    r = ks_key_import_insert(ks, z, &k, pkey, reason, now);
    if (!r && key_out)
        *key_out = k;
out:
    EVP_PKEY_free(pkey);
    return r;
}

int sg_ks_key_import_bind_text(sg_keystore *ks, const char *zone, const char *key_text,
                               const char *private_text, int role_override,
                               const sg_ks_import_times *times, const char *source,
                               int64_t now, sg_ks_key *key_out)
{
    if (!ks || !zone || !key_text)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (r)
        return r;
    size_t kl = strlen(key_text) + 1, pl = private_text ? strlen(private_text) + 1 : 0;
    char *kt = sg_secure_alloc(kl), *pt = pl ? sg_secure_alloc(pl) : NULL;
    if (!kt || (pl && !pt)) {
        sg_secure_free(kt, kl);
        sg_secure_free(pt, pl);
        return SG_ENOMEM;
    }
    memcpy(kt, key_text, kl);
    if (pt)
        memcpy(pt, private_text, pl);
    char reason[96];
    snprintf(reason, sizeof reason, "imported from %s", source ? source : "DNSKEY text");
    r = import_texts(ks, &z, source ? source : "DNSKEY", kt, pt, role_override, times, reason,
                     now, key_out);
    sg_secure_free(kt, kl);
    sg_secure_free(pt, pl);
    return r;
}

int sg_ks_key_import_bind(sg_keystore *ks, const char *zone, const char *path,
                          int role_override, unsigned flags, const sg_ks_import_times *times,
                          int64_t now, sg_ks_key *key_out)
{
    if (!ks || !zone || !path)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (r)
        return r;
    char base[4096], fn[4200], pfn[4200];
    snprintf(base, sizeof base, "%s", path);
    size_t bl = strlen(base);
    int named_private = 0;
    if (bl > 4 && strcmp(base + bl - 4, ".key") == 0) {
        base[bl - 4] = 0;
    } else if (bl > 8 && strcmp(base + bl - 8, ".private") == 0) {
        base[bl - 8] = 0;
        named_private = 1;
    } else if (bl > 6 && strcmp(base + bl - 6, ".state") == 0) {
        base[bl - 6] = 0;
    }
    char *pub_text = NULL, *priv_text = NULL, *state_text = NULL;
    size_t pub_cap = 0, priv_cap = 0, state_cap = 0;
    snprintf(fn, sizeof fn, "%s.key", base);
    if ((r = slurp(fn, &pub_text, &pub_cap)) != 0) {
        ks_set_err(ks, "cannot read %s", fn);
        goto out;
    }
    snprintf(pfn, sizeof pfn, "%s.private", base);
    /* no private half beside the DNSKEY: another signer's key (or one to come), public-only;
     * a .private named on the command line must be there */
    int want_private = !(flags & SG_KS_IMPORT_PUBLIC) && (named_private || file_exists(pfn));
    if (want_private && (r = slurp(pfn, &priv_text, &priv_cap)) != 0) {
        ks_set_err(ks, "cannot read %s", pfn);
        goto out;
    }
    sg_ks_import_times st;
    memset(&st, 0, sizeof st);
    char sfn[4200];
    snprintf(sfn, sizeof sfn, "%s.state", base);
    if (!(times && times->known) && file_exists(sfn)) {
        if ((r = slurp(sfn, &state_text, &state_cap)) != 0) {
            ks_set_err(ks, "cannot read %s", sfn);
            goto out;
        }
        if ((r = sg_ks_bind_state_parse(state_text, &st, NULL)) != 0) {
            ks_set_err(ks, "%s: not a BIND key state file", sfn);
            goto out;
        }
        times = &st;
    }
    r = import_texts(ks, &z, fn, pub_text, priv_text, role_override, times,
                     times == &st ? "imported from BIND (with its .state)" : "imported from BIND",
                     now, key_out);
out:
    sg_secure_free(pub_text, pub_cap);
    sg_secure_free(priv_text, priv_cap);
    sg_secure_free(state_text, state_cap);
    return r;
}
