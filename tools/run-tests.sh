#!/bin/sh
# Builds mrigan three times, as a release build (build/), with AddressSanitizer + UndefinedBehaviorSanitizer
# (build-asan/), and as a release build without the OpenCL backend and MPI (build-nocl/, -Dopencl=disabled
# -Dmpi=disabled), runs the whole test suite in each (the MPI test under mpirun where MPI is built), then fuzzes the input parsers for FUZZ_SECONDS (60) per target with tools/fuzz.sh
# (build-fuzz/; each target counts as one test; FUZZ_SECONDS=0 leaves the fuzzing out), and ends with one line:
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
status=0
passed=0
failed=0
skipped=0

run_suite() { # build folder, meson setup options...
    dir=$1
    shift
    tools/build.sh "$dir" "$@" || return 1
    log="$dir/meson-logs/testlog.json"
    rm -f "$log"
    meson test -C "$dir" --print-errorlogs || true # failures are counted from the log below
    [ -f "$log" ] || return 1
    p=$(grep -c '"result": "OK"' "$log")
    s=$(grep -c '"result": "SKIP"' "$log")
    t=$(grep -c '"result": ' "$log")
    passed=$((passed + p))
    skipped=$((skipped + s))
    failed=$((failed + t - p - s))
}

# Each fuzz target's line from tools/fuzz.sh counts as one test; no line at all means the fuzz build failed.
run_fuzz() { # seconds per target
    [ "$1" = 0 ] && return 0
    mkdir -p build-fuzz || return 1
    log=build-fuzz/summary.txt
    tools/fuzz.sh "$1" | tee "$log"
    p=$(grep -c ', no finding$' "$log")
    f=$(grep -cE '^fuzz-[a-z]+: (FINDING|FAILED)' "$log")
    passed=$((passed + p))
    failed=$((failed + f))
    [ $((p + f)) -gt 0 ]
}

run_suite build --buildtype=release || { status=1; failed=$((failed + 1)); }
run_suite build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined || { status=1; failed=$((failed + 1)); }
run_suite build-nocl --buildtype=release -Dopencl=disabled -Dmpi=disabled || { status=1; failed=$((failed + 1)); }
run_fuzz "${FUZZ_SECONDS:-60}" || { status=1; failed=$((failed + 1)); }
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
