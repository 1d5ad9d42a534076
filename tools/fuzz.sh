#!/bin/sh
# Fuzzes the parsers of untrusted input with libFuzzer: the PNG loader, the NIfTI loader, the checkpoint loader and
# the option parser (tests/fuzz/).
#   tools/fuzz.sh [SECONDS [TARGET...]]    SECONDS per target (60); targets fuzz-png fuzz-nifti fuzz-ckpt fuzz-options (all)
# Sets up build-fuzz/ when it has no build yet (clang, ASan + UBSan, libFuzzer's coverage instrumentation in
# the library too), builds the targets, and runs each on its committed seeds, tests/fuzz/corpus/<target>/
# (read only), plus a working corpus, build-fuzz/corpus-<target>/, that keeps what earlier runs found. Prints
# one line per target; a finding (crash, leak, undefined behaviour, timeout, out of memory) prints the report,
# leaves its input in build-fuzz/artifacts/ and makes the script exit 1. Reproduce one with
#   build-fuzz/tests/fuzz/<target> build-fuzz/artifacts/<file>
set -u
cd "$(dirname "$0")/.." || exit 1
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz-png fuzz-nifti fuzz-ckpt fuzz-options}
dir=build-fuzz
case $seconds in
'' | *[!0-9]* | 0) echo "fuzz: SECONDS must be a positive integer, not '$seconds'" >&2; exit 2 ;;
esac
for t in $targets; do
    [ -d "tests/fuzz/corpus/$t" ] || {
        echo "fuzz: unknown target $t (fuzz-png, fuzz-nifti, fuzz-ckpt, fuzz-options)" >&2
        exit 2
    }
done

# UBSan aborts at the first report (-fno-sanitize-recover), so that libFuzzer records it as a finding. clang
# links the sanitizer runtime into executables only, so shared objects (the tests' preloaded module) keep
# undefined sanitizer symbols: -Db_lundef=false, which meson asks for with clang's sanitizers.
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Dopencl=disabled -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' --buildtype=debugoptimized || exit 1
fi
# shellcheck disable=SC2086 # one argument per target
meson compile -C "$dir" $targets || exit 1
mkdir -p "$dir/artifacts" || exit 1

# One target for $seconds: prints its line and returns 1 on a finding or when it did not run to the end.
fuzz_run_target() { # target
    t=$1
    log=$dir/$t.log
    mkdir -p "$dir/corpus-$t" || return 1
    # -close_fd_mask=2 drops what the code under test prints to stderr (the option parser's messages, one per
    # input); libFuzzer's and the sanitizers' reports still reach the log.
    # the NIfTI target's named input files live in $dir/tmp, so a crash leaves them in the build folder
    mkdir -p "$dir/tmp" || return 1
    TMPDIR=$PWD/$dir/tmp UBSAN_OPTIONS=print_stacktrace=1 "$dir/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -close_fd_mask=2 -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus-$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    done_line=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        echo "$t: $done_line, no finding"
        return 0
    fi
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    # the report, from the sanitizer's or libFuzzer's first error line, without libFuzzer's progress lines
    report=$(awk '/runtime error:|^==[0-9]+== *ERROR/ { on = 1 } on && !/^#[0-9]/' "$log" | head -n 200)
    if [ -n "$report" ]; then echo "$report"; else tail -n 40 "$log"; fi
    if [ -n "$artifact" ]; then
        echo "$t: FINDING, input $artifact (log $log)"
    else
        echo "$t: FAILED with exit status $rc, no input written (log $log)"
    fi
    return 1
}

status=0
for t in $targets; do
    fuzz_run_target "$t" || status=1
done
exit $status
