# The options of the contention benchmark (tools/bench-contention.sh), which times mrigan beside the PyTorch
# reference, sourced from the repository root: the defaults, and bench_option NAME VALUE, which sets one and fails
# for a name it does not know.
# shellcheck shell=sh disable=SC2034 # the variables are the sourcing script's
generator=unet size=128 ngf=64 iters=10 warmup=2 threads=$(nproc)
bench_option() {
    case $1 in
    --generator) generator=$2 ;;
    --size) size=$2 ;;
    --ngf) ngf=$2 ;;
    --iters) iters=$2 ;;
    --warmup) warmup=$2 ;;
    --threads) threads=$2 ;;
    *) return 1 ;;
    esac
}
