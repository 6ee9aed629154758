/* SPDX-License-Identifier: MIT */
/* signetctl tsig generate: a new TSIG key as a config line (or as a key file's content). */
#include "ctl/ctl.h"
#include "tsig/tsig.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdlib.h>
#include <string.h>

static void help(void)
{
    printf("usage: signetctl tsig generate NAME [--algorithm hmac-sha256|hmac-sha384|hmac-sha512|hmac-sha1]\n"
           "                 [--file]\n"
           "       prints 'tsig-key NAME ALGORITHM SECRET' for the Corefile's options block;\n"
           "       with --file, 'ALGORITHM SECRET' for a key file (tsig-key NAME file PATH,\n"
           "       mode 0600). The secret is as long as the algorithm's hash (RFC 8945 6).\n");
}

int cmd_tsig(ctl *c, int argc, char **argv)
{
    (void)c;
    enum { O_ALG, O_FILE, O_N };
    ctl_opt o[O_N] = { { "algorithm", 1, NULL, 0 }, { "file", 0, NULL, 0 } };
    char *pos[2];
    int npos = 0, help_wanted = 0;
    int rc = ctl_parse("tsig ", argc, argv, o, O_N, pos, 2, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        help();
        return CTL_OK;
    }
    if (npos < 1 || strcmp(pos[0], "generate"))
        return ctl_usage("tsig ", "expected 'tsig generate NAME'");
    if (npos != 2)
        return ctl_usage("tsig ", "tsig generate: expected a key NAME");
    enum sg_tsig_alg alg = SG_TSIG_HMAC_SHA256;
    if (o[O_ALG].set && sg_tsig_alg_parse(o[O_ALG].val, &alg))
        return ctl_usage("tsig ", "unknown algorithm '%s'", o[O_ALG].val);
    /* check the name the way the server will read it */
    sg_tsig_keyring *kr = sg_tsig_keyring_new();
    if (!kr)
        return CTL_ERR;
    uint8_t secret[SG_TSIG_MAC_MAX];
    size_t len = sg_tsig_alg_mac_len(alg);
    if (RAND_bytes(secret, (int)len) != 1) {
        sg_tsig_keyring_free(kr);
        fprintf(stderr, "signetctl: tsig generate: no random bytes from OpenSSL\n");
        return CTL_ERR;
    }
    char *b64 = sg_tsig_b64_encode(secret, len);
    OPENSSL_cleanse(secret, sizeof secret);
    if (!b64 || sg_tsig_keyring_add(kr, pos[1], sg_tsig_alg_name(alg), b64)) {
        if (b64) {
            OPENSSL_cleanse(b64, strlen(b64));
            free(b64);
        }
        sg_tsig_keyring_free(kr);
        return ctl_usage("tsig ", "'%s' is not a valid key name", pos[1]);
    }
    const sg_tsig_key *k = sg_tsig_keyring_at(kr, 0);
    char alg_text[32];
    snprintf(alg_text, sizeof alg_text, "%s", k->alg_name);
    alg_text[strlen(alg_text) - 1] = 0; /* config style: no trailing dot */
    if (o[O_FILE].set)
        printf("%s %s\n", alg_text, b64);
    else
        printf("tsig-key %s %s %s\n", k->name_text, alg_text, b64);
    OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    sg_tsig_keyring_free(kr);
    return CTL_OK;
}
