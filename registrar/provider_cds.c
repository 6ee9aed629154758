/* SPDX-License-Identifier: MIT */
/* The cds provider, for parents whose registry scans the child's CDS/CDNSKEY (RFC 7344,
 * RFC 8078; many ccTLDs): nothing is pushed. The signer publishes CDS/CDNSKEY by the same
 * rule as the desired DS set, and the parent check sees the DS appear. */
#include "registrar/internal.h"

static const char *const no_keys[] = { NULL };

const sg_reg_provider sg_reg_provider_cds = {
    .name = "cds",
    .default_base = "",
    .cred_keys = no_keys,
    .scan_only = 1,
};
