#!/bin/sh
# Build Signet with warnings as errors and run every test (unit and integration) with ctest.
set -e
cd "$(dirname "$0")/.."
./scripts/deps.sh
BUILD=${BUILD_DIR:-build-test}
cmake -S . -B "$BUILD" -DSIGNET_WERROR=ON -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" > /dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}
