/* SPDX-License-Identifier: MIT */
/* signetctl keystore: the key-encryption key of private keys at rest (status, rekey). */
#include "ctl/ctl.h"

#include "common/errors.h"
#include "common/secure_heap.h"
#include "keystore/kek.h"

#include <string.h>

static const char *help =
    "usage: signetctl keystore kek              the KEK given (its id) and what the keys need\n"
    "       signetctl keystore rekey [--old-kek-file F]\n"
    "  Private keys stored as PEM are encrypted with AES-256-GCM under the key-encryption key\n"
    "  (KEK) from $SIGNET_KEK_FILE (a 0600 file: 64 hex digits or base64 of 32 bytes) or\n"
    "  $SIGNET_KEK. rekey rewrites every PEM private key under that KEK in one transaction:\n"
    "  plain ones are encrypted, ones under another KEK (read from --old-kek-file F) move.\n"
    "  Keys in a PKCS#11 token are not touched. See docs/key-custody.md.\n";

int cmd_keystore(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "old-kek-file", 1, 0, 0 } };
    char *pos[2];
    int npos, help_wanted;
    int rc = ctl_parse("keystore ", argc, argv, o, 1, pos, 2, &npos, &help_wanted);
    if (rc)
        return rc;
    if (help_wanted) {
        fputs(help, stdout);
        return CTL_OK;
    }
    if (npos != 1 || (strcmp(pos[0], "rekey") && strcmp(pos[0], "kek")))
        return ctl_usage("keystore ", "say 'kek' or 'rekey'");
    if ((rc = ctl_open(c)) != CTL_OK)
        return rc;
    char id[17], why[512];
    if (!strcmp(pos[0], "kek")) {
        int s = sg_ks_kek_id(id, why, sizeof why);
        if (s < 0)
            return ctl_fail(c, s, "%s", why);
        printf("kek given:   %s\n", s ? id : "none (SIGNET_KEK_FILE, SIGNET_KEK unset)");
        if (sg_ks_kek_check(c->ks, why, sizeof why) != 0) {
            printf("keys:        %s\n", why);
            return CTL_ERR;
        }
        printf("keys:        every encrypted private key opens with it\n");
        return CTL_OK;
    }
    uint8_t *old = NULL;
    if (o[0].set) {
        if (!(old = sg_secure_alloc(SG_KS_KEK_LEN)))
            return ctl_fail(c, SG_ENOMEM, "out of secure memory");
        if ((rc = sg_ks_kek_read_file(o[0].val, old, why, sizeof why)) != 0) {
            sg_secure_free(old, SG_KS_KEK_LEN);
            return ctl_fail(c, rc, "%s", why);
        }
    }
    size_t n = 0;
    rc = sg_ks_rekey(c->ks, old, c->now, &n, why, sizeof why);
    sg_secure_free(old, SG_KS_KEK_LEN);
    if (rc)
        return ctl_fail(c, rc, "rekey failed, nothing changed: %s", why);
    sg_ks_kek_id(id, NULL, 0);
    printf("%zu private key%s now encrypted with key-encryption key %s\n", n, n == 1 ? "" : "s",
           id);
    return CTL_OK;
}
