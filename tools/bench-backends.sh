#!/bin/sh
# Whole CycleGAN training iterations on the CPU backend and on every OpenCL device, in one run, as JSON
# lines from `mrigan bench train` (device name, seconds per iteration, peak memory, per-op times).
#   tools/bench-backends.sh [mrigan bench train options, e.g. --size 128 --ngf 64 --iters 5]
set -eu
cd "$(dirname "$0")/.."
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
build/mrigan devices | sed -n '/^processor:/,/GEMM/s/^ */# /p'
build/mrigan bench train --backend cpu "$@"
n=$(build/mrigan devices | grep -c '^device ' || true)
i=0
while [ "$i" -lt "$n" ]; do
    build/mrigan bench train --backend opencl --device "$i" "$@"
    i=$((i + 1))
done
