#!/bin/sh
# SPDX-License-Identifier: MIT
# Signatures per second through SoftHSM2 (PKCS#11) vs in-process OpenSSL (issue 19): builds
# bench_p11_sign, makes a token in a temporary directory, signs for -l seconds per case
# with 1 and 2 threads. Usage: bench/pkcs11.sh [-l SECONDS] [-b BUILD_DIR]
set -eu
secs=3
build=build
while getopts l:b: o; do
    case $o in
    l) secs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: $0 [-l SECONDS] [-b BUILD_DIR]" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
module=/usr/lib/softhsm/libsofthsm2.so
[ -e "$module" ] || { echo "softhsm2 is not installed (scripts/deps.sh)" >&2; exit 1; }
[ -d "$build" ] || cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_p11_sign >/dev/null
tmp=$(mktemp -d /tmp/signet-p11bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF="$tmp/softhsm2.conf"
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 12345678 >/dev/null
(umask 077; echo 1234 >"$tmp/pin")
"$build/signer/bench_p11_sign" "pkcs11:token=bench?module-path=$module&pin-source=file:$tmp/pin" "$secs"
