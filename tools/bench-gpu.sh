#!/bin/sh
# mrigan's OpenCL backend on a GPU beside the PyTorch reference on CUDA, each configuration back to back in one
# run: median seconds per whole CycleGAN training iteration and per generator forward, and peak device memory.
#   tools/bench-gpu.sh [--iters N] [--warmup N]
# Configurations: the three of tools/bench-vs-reference.sh (U-Net 128 at 128, U-Net 256 at 256, ResNet-9 at 256,
# ngf 64, no dropout) and the default network (ResNet, 6 blocks, ngf 16, ndf 32) at 224, the size a 181 x 217
# slice trains at, both with the reference's losses; then mrigan's whole default recipe at 224 (its structure
# loss, contrast prior and two-pass translations, which the reference lacks). The reference runs in float32
# and with TF32 convolutions (PyTorch's default on this GPU generation). JSON lines go to stdout with the table
# last. Needs build/mrigan and an OpenCL GPU (mrigan devices; MRIGAN_DEVICE picks one), python3 with a CUDA
# PyTorch (PYTHON, default python3) and the reference (REF, default ../shared/reference/cyclegan_ref.py).
set -eu
cd "$(dirname "$0")/.."
iters=20 warmup=3
while [ $# -gt 0 ]; do
    case $1 in
    --iters) iters=$2 ;;
    --warmup) warmup=$2 ;;
    *) echo "bench-gpu: unknown option $1" >&2 && exit 2 ;;
    esac
    shift 2
done
py=${PYTHON:-python3} ref=${REF:-../shared/reference/cyclegan_ref.py}
[ -f "$ref" ] || { echo "bench-gpu: $ref not found (set REF)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $iters timed iterations after $warmup"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/# GPU, driver: /' || true
build/mrigan devices | sed -n '/^device /,/^$/s/^ */# /p'

# field NAME: the number after "NAME": on the line read
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" | head -n 1; }
row() { # label, mrigan options, reference options ("" for none)
    m=$(timeout 600 build/mrigan bench train --backend opencl --no-dropout --iters "$iters" --warmup "$warmup" $2 \
        2>>"$log" | tee /dev/stderr) || m=""
    f=""
    t=""
    if [ -n "$3" ]; then
        f=$(timeout 600 "$py" tools/reference-cuda.py "$ref" bench $3 --iters "$iters" --warmup "$warmup" 2>>"$log" |
            tr '\n' ' ' | tee /dev/stderr) || f=""
        t=$(timeout 600 "$py" tools/reference-cuda.py "$ref" --tf32 bench $3 --iters "$iters" --warmup "$warmup" \
            2>>"$log" | tr '\n' ' ' | tee /dev/stderr) || t=""
    fi
    echo >&2
    ms=$(echo "$m" | field train_iter_s_median) fs=$(echo "$f" | field train_iter_s_median)
    ts=$(echo "$t" | field train_iter_s_median)
    ratio=$(awk -v a="$ms" -v b="$fs" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else print "-" }')
    printf '| %s | %s | %s | %s | %s | %s / %s | %s / %s |\n' "$1" "${ms:--}" "${fs:--}" "${ts:--}" "$ratio" \
        "$(echo "$m" | field g_forward_s_median)" "$(echo "$f" | field g_forward_s_median)" \
        "$(echo "$m" | field peak_tensor_mb)" "$(echo "$f" | field peak_gpu_mb)" >>"$log.table"
}
: >"$log.table"
row "U-Net 128 at 128" "--generator unet --size 128" "--generator unet --size 128"
row "U-Net 256 at 256" "--generator unet --size 256" "--generator unet --size 256"
row "ResNet-9 at 256" "--generator resnet --size 256 --blocks 9" "--generator resnet --size 256 --blocks 9"
row "default network at 224" "--generator resnet --size 224 --ngf 16 --ndf 32 --blocks 6" \
    "--generator resnet --size 224 --ngf 16 --ndf 32 --blocks 6"
row "default recipe at 224 (mrigan only)" "--recipe default --size 224" ""
echo "| configuration | mrigan OpenCL s/it | PyTorch CUDA fp32 s/it | PyTorch CUDA TF32 s/it | PyTorch fp32 / mrigan |" \
    "G forward s, mrigan / PyTorch fp32 | peak MB, mrigan tensors / PyTorch |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
cat "$log.table"
rm -f "$log.table"
if grep -qi "error\|traceback" "$log"; then
    echo "# errors:" && grep -i -A3 "error\|traceback" "$log" | head -n 20
fi
