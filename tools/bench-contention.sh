#!/bin/sh
# Seconds per CycleGAN training iteration on a quiet machine and beside N competing busy processes, for
# mrigan's CPU backend and for the PyTorch reference in ../shared/reference: how gracefully each degrades when
# another process wants a core. Each implementation runs quiet, then loaded, back to back, round after round.
#   tools/bench-contention.sh [--hogs N] [--rounds N] [--generator unet|resnet] [--size N] [--ngf N]
#                             [--iters N] [--warmup N] [--threads N] [--mrigan PATH]
# A competing process is `while :; do :; done` in sh, pinned nowhere, started before a loaded run and killed
# after it (and on exit). "other" is the CPU (in cores) that neither the benchmark nor the competing
# processes used while a run lasted, from /proc/stat: anything well above 0 means someone else shared the
# machine and that row is not clean. Needs a built build/mrigan (or --mrigan) and, for the reference only,
# Debian's python3-torch; without torch the reference rows are skipped.
set -eu
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-options.sh
. tools/bench-options.sh
hogs=1 rounds=1 iters=5 warmup=1 bin=build/mrigan
while [ $# -gt 0 ]; do
    case $1 in
    --hogs) hogs=$2 ;;
    --rounds) rounds=$2 ;;
    --mrigan) bin=$2 ;;
    *) bench_option "$1" "$2" || { echo "bench-contention: unknown option $1" >&2; exit 2; } ;;
    esac
    shift 2
done
[ -x "$bin" ] || { echo "bench-contention: $bin not found (build first: ninja -C build)" >&2; exit 1; }
ref=../shared/reference/cyclegan_ref.py

tmp=$(mktemp -d)
hog_pids=
# shellcheck disable=SC2086 # the list of process ids is meant to split
stop_hogs() {
    if [ -n "$hog_pids" ]; then
        kill $hog_pids 2>/dev/null || true
        wait $hog_pids 2>/dev/null || true
    fi
    hog_pids=
}
trap 'stop_hogs; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The measurements below are functions that set variables rather than print, because a command
# substitution is a subshell: `times` there counts from zero, and competing processes started there would
# escape the trap above.
# Busy CPU ticks of the whole machine (user, nice, system, irq, softirq, steal); 0 without /proc.
machine_ticks() { ticks=$(awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat 2>/dev/null || echo 0); }
# CPU seconds of this shell's finished children.
child_seconds() {
    times >"$tmp/times"
    secs=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } print s }' \
        "$tmp/times")
}
# Seconds since boot, for the wall time of a run.
now_seconds() { clock=$(cut -d ' ' -f 1 /proc/uptime 2>/dev/null || date +%s); }

# run LOAD COMMAND...: sets median (seconds per iteration) and other (cores used by anyone else).
run() {
    load=$1
    shift
    i=0
    while [ "$i" -lt "$load" ]; do
        sh -c 'while :; do :; done' &
        hog_pids="$hog_pids $!"
        i=$((i + 1))
    done
    machine_ticks; m0=$ticks; child_seconds; c0=$secs; now_seconds; t0=$clock
    "$@" >"$tmp/out" 2>/dev/null || { echo "bench-contention: $1 failed" >&2; exit 1; }
    machine_ticks; m1=$ticks; child_seconds; c1=$secs; now_seconds; t1=$clock
    h=0
    for p in $hog_pids; do
        h=$((h + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    stop_hogs
    median=$(sed -n 's/.*"train_iter_s_median": *\([0-9.]*\).*/\1/p' "$tmp/out" | tail -n 1)
    [ -n "$median" ] || { echo "bench-contention: no train_iter_s_median from $1" >&2; exit 1; }
    other=$(awk -v m0="$m0" -v m1="$m1" -v h="$h" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
        -v tck="$(getconf CLK_TCK)" 'BEGIN {
        o = (m1 > 0 && t1 > t0) ? ((m1 - m0 - h) / tck - (c1 - c0)) / (t1 - t0) : 0
        printf "%.2f", o < 0 ? 0 : o }')
}

# row NAME ROUND COMMAND...: one table row, the quiet run and then the loaded one.
row() {
    name=$1 round=$2
    shift 2
    run 0 "$@"
    q=$median qo=$other
    run "$hogs" "$@"
    awk -v n="$name" -v r="$round" -v q="$q" -v l="$median" -v qo="$qo" -v lo="$other" 'BEGIN {
        printf "| %s | %d | %.3f | %.3f | %.2f | %s / %s |\n", n, r, q, l, l / q, qo, lo }'
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $threads threads, $hogs competing busy process(es)," \
    "$generator, size $size, ngf $ngf, no dropout, $iters iterations after $warmup"
"$bin" devices | sed -n '/^processor:/,/GEMM/s/^ */# /p'
have_torch=no
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    have_torch=yes
else
    echo "# PyTorch reference skipped: needs $ref and /usr/bin/python3 with torch (Debian's python3-torch)"
fi
echo "| implementation | round | quiet s/iter | loaded s/iter | loaded / quiet | other load, cores (quiet / loaded) |"
echo "| --- | --- | --- | --- | --- | --- |"
r=1
while [ "$r" -le "$rounds" ]; do
    row mrigan "$r" "$bin" bench train --backend cpu --generator "$generator" --size "$size" --ngf "$ngf" \
        --no-dropout --iters "$iters" --warmup "$warmup" --threads "$threads"
    if [ "$have_torch" = yes ]; then
        row "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)" "$r" \
            /usr/bin/python3 "$ref" bench --generator "$generator" --size "$size" --ngf "$ngf" --iters "$iters" \
            --warmup "$warmup" --threads "$threads"
    fi
    r=$((r + 1))
done
