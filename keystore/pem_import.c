/* SPDX-License-Identifier: MIT */
/* Importing a bare PKCS#8 PEM private key: the form Knot DNS keeps in its KASP directory
 * (keys/<id>.pem) and the form `signetctl key export --private` writes. A PEM carries no
 * DNS metadata, so the role comes from the caller and the algorithm from the key type
 * (RSA needs it said: the same key serves RSASHA256 and RSASHA512). */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

/* The DNSSEC algorithm a key's type implies; 0 when the key type does not say (RSA). */
static uint8_t implied_alg(const EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return 15;
    if (EVP_PKEY_is_a(pkey, "ED448"))
        return 16;
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, &glen) != 1)
            return 0;
        if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
            return 13;
        if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
            return 14;
    }
    return 0;
}

static int alg_fits(const EVP_PKEY *pkey, uint8_t alg)
{
    if (alg == 8 || alg == 10)
        return EVP_PKEY_is_a(pkey, "RSA");
    return implied_alg(pkey) == alg;
}

int sg_ks_key_import_pem(sg_keystore *ks, const char *zone, const char *path,
                         enum sg_ks_role role, uint8_t alg, const sg_ks_import_times *times,
                         int64_t now, sg_ks_key *key_out)
{
    if (!ks || !zone || !path || (unsigned)role > SG_KS_ROLE_CSK)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (r)
        return r;
    FILE *f = fopen(path, "re");
    if (!f) {
        ks_set_err(ks, "cannot open %s", path);
        return SG_EIO;
    }
    /* A passphrase-protected PEM fails here rather than prompting: imports run unattended. */
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
    if (!pkey) {
        ks_set_err(ks, "%s: not an unencrypted PKCS#8 or traditional PEM private key", path);
        return SG_ESYNTAX;
    }
    if (alg == 0)
        alg = implied_alg(pkey);
    if (alg == 0) {
        ks_set_err(ks, "%s: an RSA key needs --algorithm rsasha256 or rsasha512", path);
        r = SG_EINVAL;
        goto out;
    }
    if (!sg_ks_alg_name(alg) || !alg_fits(pkey, alg)) {
        ks_set_err(ks, "%s: the key cannot be used with algorithm %u", path, alg);
        r = SG_EINVAL;
        goto out;
    }

    sg_ks_key k;
    ks_key_init(&k, z.name, role, alg);
    /* Without the source's times the key is taken over from a server that publishes and
     * signs with it now. */
    ks_import_times_apply(&k, times, 0, now);
    k.bits = sg_ks_pkey_bits(pkey);
    if ((r = sg_ks_pkey_to_dnskey(pkey, alg, k.pubkey, sizeof k.pubkey, &k.pubkey_len)) != 0) {
        ks_set_err(ks, "%s: cannot derive the DNSKEY", path);
        goto out;
    }
    uint8_t rd[SG_KS_RDATA_MAX];
    size_t rdlen;
    if ((r = sg_ks_key_dnskey_rdata(&k, rd, sizeof rd, &rdlen)) != 0)
        goto out;
    k.tag = sg_ks_key_tag(rd, rdlen);

    r = ks_key_import_insert(ks, &z, &k, pkey, times && times->known ? "imported from Knot DNS" : "imported from PEM", now);
    if (!r && key_out)
        *key_out = k;
out:
    EVP_PKEY_free(pkey);
    return r;
}
