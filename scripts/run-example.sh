#!/bin/sh
# Build Signet and serve the example zone, signed online, on 127.0.0.1:5353 until Ctrl-C.
# Prints the DS record a parent zone would need. Try it from another shell:
#   dig @127.0.0.1 -p 5353 www.example.test +dnssec
set -e
cd "$(dirname "$0")/.."
./scripts/deps.sh
# its own build folder, so that a test build in build/ keeps its settings
cmake -S . -B build-run -DSIGNET_TESTS=OFF > /dev/null
cmake --build build-run -j"$(nproc)"
./build-run/daemon/signetd -c examples/Corefile -t
./build-run/daemon/signetd -c examples/Corefile &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM
# the keys exist once the zone answers signed
i=0
until dig @127.0.0.1 -p 5353 example.test SOA +dnssec +time=1 +tries=1 2>/dev/null | grep -q RRSIG; do
    i=$((i + 1))
    if [ $i -gt 50 ] || ! kill -0 $pid 2>/dev/null; then
        echo "signetd did not come up" >&2
        exit 1
    fi
    sleep 0.2
done
echo "example.test is served signed on 127.0.0.1:5353. The DS to give the parent:"
./build-run/ctl/signetctl --db build-run/example.keystore.db ds example.test
wait $pid
