/* SPDX-License-Identifier: MIT */
/* The `dnssec` plugin: online signing of the replies of the plugins after it. */
#ifndef SG_DNSSEC_PLUGIN_H
#define SG_DNSSEC_PLUGIN_H

#include "common/plugin.h"
#include "registrar/registrar.h"
#include "signer/sign_gate.h"

extern const sg_plugin sg_plugin_dnssec;

/* Parsed `dnssec { ... }` options. */
typedef struct sg_dnssec_cfg {
    char keystore[1024];
    char policy[64];
    size_t cache_entries;
    size_t presign_max;    /* presign-max: zones up to this many records are signed in the
                            * background once loaded (0: none) */
    int has_registrar;     /* a `registrar PROVIDER { ... }` block pushes the DS */
    sg_reg_cfg registrar;
    sg_sign_gate gate;     /* max-pending-signatures, query-time-budget; live in the state */
} sg_dnssec_cfg;

#endif
