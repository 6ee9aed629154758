# signetd signing online with the answer cache in front of the signer (`cache SIZE`,
# SIGNETD_ANSWER_CACHE, default 512M: room for every signed reply of the 100k-name zone,
# about 230k (name, type) pairs of 300-700 bytes). A hit replays the whole rendered,
# signed reply with the client's ID and case. See signetd.sh for the rest.
# shellcheck shell=bash
SIGNETD_ANSWER_CACHE=${SIGNETD_ANSWER_CACHE:-512M}
# shellcheck source=signetd.sh
source "$(dirname "${BASH_SOURCE[0]}")/signetd.sh"
target_describe() { echo "signetd $("$SIGNETD_BIN" --version 2>&1 | awk 'NR==1{print $NF}'), answer cache $SIGNETD_ANSWER_CACHE + dnssec plugin (online signing, ECDSAP256SHA256 $(signetd_keys_label), signature cache $SIGNETD_SIGCACHE), workers 1"; }
