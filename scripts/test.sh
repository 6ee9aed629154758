#!/bin/sh
# Build Signet with warnings as errors and run every test (unit and integration) with ctest,
# three times over:
#   1. a Release build, as users build it (-O3: the warnings that only optimisation
#      finds, such as -Wmaybe-uninitialized, fail here);
#   2. an ASan+UBSan build (CMAKE_BUILD_TYPE=Asan): any invalid access, leak or undefined
#      behaviour fails the test that hit it;
#   3. the libFuzzer targets (clang): each seed corpus and regression input replayed, then
#      each target fuzzed for FUZZ_SECONDS (default 60; 6 targets, ~190 s on 2 cores).
# SKIP_ASAN=1 / SKIP_FUZZ=1 leave out a stage (local runs); CI runs all three.
set -e
cd "$(dirname "$0")/.."
./scripts/deps.sh
JOBS=$(nproc)
BUILD=${BUILD_DIR:-build-test}
cmake -S . -B "$BUILD" -DSIGNET_WERROR=ON -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" > /dev/null
cmake --build "$BUILD" -j"$JOBS"
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS" ${CTEST_ARGS:-})

if [ -z "${SKIP_ASAN:-}" ]; then
    echo "== ASan+UBSan build"
    ABUILD=${ASAN_BUILD_DIR:-build-test-asan}
    cmake -S . -B "$ABUILD" -DSIGNET_WERROR=ON -DCMAKE_BUILD_TYPE=Asan > /dev/null
    cmake --build "$ABUILD" -j"$JOBS"
    # the Python harness fails a test when signetd's exit code after SIGTERM is not 0,
    # which is what a leak report or a sanitizer abort makes it
    (cd "$ABUILD" &&
     ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1 \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -j"$JOBS" ${CTEST_ARGS:-})
fi

if [ -z "${SKIP_FUZZ:-}" ]; then
    echo "== libFuzzer targets"
    FBUILD=${FUZZ_BUILD_DIR:-build-test-fuzz}
    CC=clang cmake -S . -B "$FBUILD" -DSIGNET_WERROR=ON -DSIGNET_FUZZ=ON -DSIGNET_TESTS=OFF \
        -DFUZZ_SECONDS="${FUZZ_SECONDS:-60}" > /dev/null
    cmake --build "$FBUILD" -j"$JOBS"
    (cd "$FBUILD" && ctest --output-on-failure -j"$JOBS" -L 'fuzz')
fi
