/* SPDX-License-Identifier: MIT */
/* Taking over a zone's keys from the server that signs it today (BIND, Knot DNS, PowerDNS),
 * with the states they have there: `signetctl key import*`, and `zone adopt` to come. */
#ifndef SG_CTL_IMPORT_H
#define SG_CTL_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "keystore/keystore.h"

/*
 * Each function imports every key of one zone that its source holds, each in its own
 * transaction with its journal row, and writes one line per key to report (may be NULL):
 * "imported key ID: tag T ROLE ALG, STATE[, public-only][, DS seen]" or "skipped ...".
 * *n_out (may be NULL) gets the number imported. They stop at the first failure and
 * return 0 or an SG_E* code, with the reason on stderr (ks's error text included). A key
 * whose tag the zone already has is a failure (SG_EEXIST): importing twice changes nothing.
 */

/* BIND: every K<zone>+<alg>+<tag>.key in dir, with its .private (none: public-only) and
 * .state (dnssec-policy) beside it (sg_ks_key_import_bind). */
int ctl_import_bind_dir(sg_keystore *ks, const char *zone, const char *dir, int64_t now,
                        FILE *report, int *n_out);

/* Knot DNS: `keymgr -D KASP_DB ZONE list -e` (or `keymgr -c KNOT_CONF ...` when knot_conf is
 * not NULL; then kasp_db is where its keys are, NULL: read from `keymgr -c CONF` is not
 * possible, so it must be given), each key's PEM from KASP_DB/keys/<id>.pem with its timers
 * (sg_ks_knot_times); Knot's public-only keys through `keymgr ZONE dnskey`. keymgr:
 * the program to run ("keymgr" from PATH when NULL). */
int ctl_import_knot(sg_keystore *ks, const char *zone, const char *kasp_db,
                    const char *knot_conf, const char *keymgr, int64_t now, FILE *report,
                    int *n_out);

/* PowerDNS: `pdnsutil [--config-dir DIR] list-keys ZONE` for the keys and their flags
 * (sg_ks_pdns_times: published / active now), then export-zone-dnskey and
 * export-zone-key for each (the private key is read from the pipe into the secure heap,
 * never written to a file). pdnsutil: the program ("pdnsutil" when NULL). */
int ctl_import_pdns(sg_keystore *ks, const char *zone, const char *config_dir,
                    const char *pdnsutil, int64_t now, FILE *report, int *n_out);

/* The line the functions above write for a key. */
void ctl_import_line(FILE *report, const sg_ks_key *k, int64_t now);

#endif
