/* SPDX-License-Identifier: MIT */
/* Names of algorithms, digests, roles and key states, both ways. */
#include "keystore/keystore.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    uint8_t num;
    const char *name;
    const char *alias;
} algs[] = {
    { SG_KS_ALG_RSASHA256, "RSASHA256", "rsa256" },
    { SG_KS_ALG_RSASHA512, "RSASHA512", "rsa512" },
    { SG_KS_ALG_ECDSAP256SHA256, "ECDSAP256SHA256", "ecdsa256" },
    { SG_KS_ALG_ECDSAP384SHA384, "ECDSAP384SHA384", "ecdsa384" },
    { SG_KS_ALG_ED25519, "ED25519", "ed25519" },
    { SG_KS_ALG_ED448, "ED448", "ed448" },
};

const char *sg_ks_alg_name(int alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].num == alg)
            return algs[i].name;
    return NULL;
}

int sg_ks_alg_parse(const char *s, uint8_t *alg_out)
{
    if (!s || !alg_out)
        return SG_EINVAL;
    char *end;
    long n = strtol(s, &end, 10);
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if ((*s && *end == 0 && n == algs[i].num) || strcasecmp(s, algs[i].name) == 0 ||
            strcasecmp(s, algs[i].alias) == 0) {
            *alg_out = algs[i].num;
            return 0;
        }
    }
    return SG_EINVAL;
}

int sg_ks_digest_parse(const char *s, uint8_t *digest_out)
{
    if (!s || !digest_out)
        return SG_EINVAL;
    if (!strcasecmp(s, "sha256") || !strcasecmp(s, "sha-256") || !strcmp(s, "2"))
        *digest_out = SG_KS_DIGEST_SHA256;
    else if (!strcasecmp(s, "sha384") || !strcasecmp(s, "sha-384") || !strcmp(s, "4"))
        *digest_out = SG_KS_DIGEST_SHA384;
    else
        return SG_EINVAL;
    return 0;
}

const char *sg_ks_digest_name(int digest)
{
    switch (digest) {
    case SG_KS_DIGEST_SHA1: return "SHA-1";
    case SG_KS_DIGEST_SHA256: return "SHA-256";
    case SG_KS_DIGEST_SHA384: return "SHA-384";
    }
    return NULL;
}

static const char *const roles[] = { "ksk", "zsk", "csk" };
static const char *const states[] = { "generated", "published", "ready",
                                      "active", "retired", "removed" };

const char *sg_ks_role_name(enum sg_ks_role r)
{
    return (unsigned)r < 3 ? roles[r] : "?";
}

int sg_ks_role_parse(const char *s, enum sg_ks_role *out)
{
    for (int i = 0; s && i < 3; i++)
        if (strcasecmp(s, roles[i]) == 0) {
            *out = (enum sg_ks_role)i;
            return 0;
        }
    return SG_EINVAL;
}

const char *sg_ks_state_name(enum sg_ks_key_state s)
{
    return (unsigned)s < 6 ? states[s] : "?";
}

int sg_ks_state_parse(const char *s, enum sg_ks_key_state *out)
{
    for (int i = 0; s && i < 6; i++)
        if (strcasecmp(s, states[i]) == 0) {
            *out = (enum sg_ks_key_state)i;
            return 0;
        }
    return SG_EINVAL;
}
