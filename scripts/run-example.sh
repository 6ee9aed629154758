#!/bin/sh
# Build Signet and serve the example zone on 127.0.0.1:5353 in the foreground.
# Try it from another shell: dig @127.0.0.1 -p 5353 www.example.test
set -e
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DSIGNET_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)"
exec ./build/daemon/signetd -c examples/Corefile
