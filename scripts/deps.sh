#!/bin/sh
# Install the Debian packages Signet needs to build, run and test (Debian 12, as root).
# Quiet and quick when everything is already there.
set -e
PKGS="cmake gcc make pkg-config libldns-dev ldnsutils libssl-dev libsqlite3-dev \
libcurl4-openssl-dev libjansson-dev libcmocka-dev knot-dnsutils bind9-dnsutils bind9-utils knot python3 iproute2 procps \
unbound clang groff-base man-db"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
