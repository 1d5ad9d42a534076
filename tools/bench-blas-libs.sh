#!/bin/sh
# Single-threaded SGEMM speed of the BLAS libraries Debian offers, on the generators' GEMM shapes: OpenBLAS
# with its own kernel choice and with each OPENBLAS_CORETYPE given, and BLIS when libblis-dev is installed.
#   tools/bench-blas-libs.sh [CORE ...]      e.g. tools/bench-blas-libs.sh Prescott Haswell SkylakeX
# Builds tools/sgemm-libs.c once per library into a temporary folder.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ), one thread"
if [ -x build/mrigan ]; then build/mrigan devices | sed -n '/^processor:/,/vector ISA/s/^ */# /p'; fi
cc -O2 tools/sgemm-libs.c -o "$tmp/openblas" $(pkg-config --libs openblas)
echo "## OpenBLAS, its own choice"
OPENBLAS_NUM_THREADS=1 "$tmp/openblas"
for core in "$@"; do
    echo "## OpenBLAS, OPENBLAS_CORETYPE=$core"
    OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=1 "$tmp/openblas"
done
blis=$(ls /usr/lib/*/libblis.so.4 2>/dev/null | head -n 1 || true)
if [ -n "$blis" ]; then
    cc -O2 tools/sgemm-libs.c -o "$tmp/blis" "$blis"
    echo "## BLIS ($(readlink -f "$blis"))"
    BLIS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$tmp/blis"
else
    echo "## BLIS: not installed (apt-get install libblis-dev)"
fi
