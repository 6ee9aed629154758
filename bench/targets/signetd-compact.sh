# signetd signing online with compact denial of existence (RFC 9824): a non-existent
# name gets NOERROR with an NSEC owned by the query name (next name \000.<qname>, types
# RRSIG NSEC NXNAME), so every new name needs a fresh signature, as with Knot's
# mod-onlinesign.  The harness's readiness check looks for an NSEC in the answer to a
# non-existent name, which compact mode gives, so this target declares `nsec` only (the
# harness's denial label; signetd's policy says compact).  Single CSK by default, like
# knot-online (SIGNETD_KEYS=ksk-zsk for KSK+ZSK).  See signetd.sh for the rest.
# shellcheck shell=bash
SIGNETD_KEYS=${SIGNETD_KEYS:-csk}
# shellcheck source=signetd.sh
source "$(dirname "${BASH_SOURCE[0]}")/signetd.sh"
signetd_policy_denial() { echo compact; }
target_describe() { echo "signetd $("$SIGNETD_BIN" --version 2>&1 | awk 'NR==1{print $NF}'), dnssec plugin, compact denial (RFC 9824), online signing ECDSAP256SHA256 $(signetd_keys_label), signature cache $SIGNETD_SIGCACHE, workers 1"; }
target_supports() { [ "$1" = nsec ]; }
