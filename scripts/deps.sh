#!/bin/sh
# Install the Debian packages Signet needs to build, run and test (Debian 12, as root).
# Quiet and quick when everything is already there.
set -e
PKGS="cmake gcc make pkg-config libldns-dev ldnsutils libssl-dev libsqlite3-dev \
libcurl4-openssl-dev libjansson-dev libcmocka-dev knot-dnsutils bind9-dnsutils bind9-utils knot python3 iproute2 procps \
unbound clang groff-base man-db nsd openssl faketime dnsviz bind9 pdns-server pdns-backend-sqlite3 \
libp11-kit-dev softhsm2 prometheus debhelper lintian dpkg-dev systemd \
libfstrm-dev libprotobuf-c-dev protobuf-c-compiler fstrm-bin dnstap-ldns \
pebble python3-certbot-dns-rfc2136 lego"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The tests run knot, nsd, named, pdns_server and unbound as plain processes on loopback ports: their system
# services are not needed, so the packages must not start them (policy-rc.d, while we install).
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
