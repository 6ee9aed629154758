/* SPDX-License-Identifier: MIT */
/* The fixed order of the chain (as CoreDNS's plugin.cfg): a server block only chooses
 * which plugins are in its chain, never their order. */
#include "daemon/plugins.h"
#include "daemon/runtime.h"
#include "signer/dnssec_plugin.h"
#include "transfer/transfer.h"
#include "zones/file_plugin.h"
#include "secondary/secondary_plugin.h"

const sg_plugin *const sg_plugin_order[] = {
    &sg_plugin_log,
    &sg_plugin_errors,
    &sg_plugin_prometheus,
    &sg_plugin_rrl,          /* on the way back: it needs the reply's class */
    &sg_plugin_cache,        /* before dnssec: it stores signed replies */
    &sg_plugin_dnssec,
    &sg_plugin_transfer,
    &sg_plugin_file,
    &sg_plugin_secondary,
    NULL,
};
