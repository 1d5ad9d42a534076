#!/bin/sh
# How data-parallel training scales on this machine: images per second of whole CycleGAN training steps at the same
# global batch, one process using every core against mpirun -np P processes of cores/P threads each, alternating
# round by round in one run so that a machine that slows down part-way slows both.
#   tools/bench-scaling.sh [--procs P] [--rounds N] [--iters N] [--warmup N] [--only LABEL] [--mrigan PATH]
# Configurations (mrigan bench train, no dropout):
#   default   the default recipe at 224 (mrigan train's network and losses)
#   unet128   U-Net 128 at 128, ngf 64, ndf 64 (the reference's recipe)
# Global batch: P crops a step (one per process). Columns: images per second (median over the rounds of each run's
# median step), the processes' over the one process's. Needs a build with MPI (mrigan --version says) and mpirun;
# the JSON lines go to stderr.
set -eu
cd "$(dirname "$0")/.."
procs=2 rounds=2 iters=5 warmup=1 only="" bin=build/mrigan
while [ $# -gt 0 ]; do
    case $1 in
    --procs) procs=$2 ;;
    --rounds) rounds=$2 ;;
    --iters) iters=$2 ;;
    --warmup) warmup=$2 ;;
    --only) only=$2 ;;
    --mrigan) bin=$2 ;;
    *) echo "bench-scaling: unknown option $1" >&2 && exit 2 ;;
    esac
    shift 2
done
[ -x "$bin" ] || { echo "bench-scaling: $bin not found (build first: ninja -C build)" >&2; exit 1; }
"$bin" --version | grep -q "over MPI" || { echo "bench-scaling: $bin was built without MPI" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench-scaling: no mpirun (apt-get install openmpi-bin)" >&2; exit 1; }
cores=$(nproc)
per=$((cores / procs))
[ "$per" -ge 1 ] || per=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# Open MPI refuses root without these; the processes may share cores with nothing else here
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cat >"$tmp/configs" <<'EOF'
default|--recipe default --size 224
unet128|--generator unet --size 128 --ngf 64 --ndf 64 --no-dropout
EOF

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $model, $cores cores; global batch $procs; $rounds rounds of $iters timed" \
    "steps after $warmup; $(mpirun --version | head -n 1)"
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
common="--iters $iters --warmup $warmup --profile 0 --batch-size $procs"
r=1
while [ "$r" -le "$rounds" ]; do
    while IFS='|' read -r label opts; do
        [ -n "$only" ] && [ "$only" != "$label" ] && continue
        # shellcheck disable=SC2086 # the options are words; stdin is the configurations (mpirun would read it)
        "$bin" bench train $opts $common --threads "$cores" </dev/null | tee -a "$tmp/$label.one" >&2
        # shellcheck disable=SC2086
        mpirun --oversubscribe -np "$procs" "$bin" bench train $opts $common --threads "$per" </dev/null |
            tee -a "$tmp/$label.many" >&2
    done <"$tmp/configs"
    r=$((r + 1))
done

printf '| configuration | 1 process x %d threads, img/s | %d processes x %d thread%s, img/s | speed-up |\n' \
    "$cores" "$procs" "$per" "$([ "$per" = 1 ] && echo "" || echo s)"
echo "| --- | --- | --- | --- |"
while IFS='|' read -r label opts; do
    [ -n "$only" ] && [ "$only" != "$label" ] && continue
    one=$(field images_per_s <"$tmp/$label.one" | median) many=$(field images_per_s <"$tmp/$label.many" | median)
    printf '| %s | %s | %s | %s |\n' "$label" "$one" "$many" \
        "$(awk -v a="$one" -v b="$many" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", b / a; else print "-" }')"
done <"$tmp/configs"
