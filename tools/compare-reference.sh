#!/bin/sh
# Seconds per CycleGAN training iteration, mrigan against the PyTorch reference in ../shared/reference, for
# the same configuration, measured back to back in one run on the same threads.
#   tools/compare-reference.sh [--generator unet|resnet] [--size N] [--ngf N] [--iters N] [--warmup N] [--threads N]
# The header names the processor and the GEMM kernels mrigan runs (as `mrigan devices` prints them).
# Needs Debian's python3-torch (for the reference only) and a built build/mrigan.
set -eu
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-options.sh
. tools/bench-options.sh
while [ $# -gt 0 ]; do
    bench_option "$1" "$2" || { echo "compare-reference: unknown option $1" >&2; exit 2; }
    shift 2
done
ref=../shared/reference/cyclegan_ref.py
[ -f "$ref" ] || { echo "compare-reference: $ref not found" >&2; exit 1; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $threads threads, $generator, size $size, ngf $ngf, no dropout"
build/mrigan devices | sed -n '/^processor:/,/GEMM/s/^ */# /p'
build/mrigan bench train --generator "$generator" --size "$size" --ngf "$ngf" --no-dropout --iters "$iters" \
    --warmup "$warmup" --threads "$threads"
/usr/bin/python3 "$ref" bench --generator "$generator" --size "$size" --ngf "$ngf" --iters "$iters" \
    --warmup "$warmup" --threads "$threads" 2>/dev/null
