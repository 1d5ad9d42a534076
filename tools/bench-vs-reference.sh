#!/bin/sh
# mrigan's CPU backend beside the PyTorch reference in ../shared/reference: median seconds per whole CycleGAN
# training iteration, their ratio, peak RSS and the training state's size, for the same configurations on the same
# threads, mrigan and PyTorch alternating configuration by configuration and round by round in one run, so that a
# machine that slows down part-way slows both.
#   tools/bench-vs-reference.sh [--rounds N] [--iters N] [--warmup N] [--threads N] [--only LABEL] [--mrigan PATH]
# Configurations (no dropout, batch 1, the reference's losses: LSGAN, cycle 10, identity 0.5):
#   unet128   U-Net 128 at 128, ngf 64, ndf 64      unet256   U-Net 256 at 256, ngf 64, ndf 64
#   resnet256 ResNet-9 at 256, ngf 64, ndf 64       default   the default network: ResNet, 6 blocks, ngf 16, ndf 32,
#             at 224 (a 181 x 217 slice's size), with transposed convolutions as the reference has them
# then, mrigan alone: the default recipe at 224 (its upsampling by resizing, structure loss, contrast prior and
# two-pass translations, which the reference lacks), and U-Net 256 on one thread (how two threads scale).
# Columns: s/it (median over the rounds of each run's median), mrigan / PyTorch (below 1: mrigan is faster), peak
# RSS of each process, mrigan's peak tensor memory and its training state (parameters, gradients, Adam's two
# moments), the system time's share of mrigan's CPU time over its timed iterations, and page faults per iteration.
# The header names the processor and the GEMM kernels mrigan runs; JSON lines go to stderr. Needs a built
# build/mrigan (or --mrigan) and, for the reference, Debian's python3-torch; without it the PyTorch columns are "-".
set -eu
cd "$(dirname "$0")/.."
rounds=2 iters=5 warmup=1 threads=$(nproc) only="" bin=build/mrigan
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2 ;;
    --iters) iters=$2 ;;
    --warmup) warmup=$2 ;;
    --threads) threads=$2 ;;
    --only) only=$2 ;;
    --mrigan) bin=$2 ;;
    *) echo "bench-vs-reference: unknown option $1" >&2 && exit 2 ;;
    esac
    shift 2
done
[ -x "$bin" ] || { echo "bench-vs-reference: $bin not found (build first: ninja -C build)" >&2; exit 1; }
ref=../shared/reference/cyclegan_ref.py py=/usr/bin/python3
have_ref=1
{ [ -f "$ref" ] && "$py" -c 'import torch' 2>/dev/null; } || {
    have_ref=0
    echo "bench-vs-reference: no $ref or no torch for $py: mrigan only" >&2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# label | mrigan options | reference options ("" for mrigan alone)
cat >"$tmp/configs" <<'EOF'
unet128|--generator unet --size 128 --ngf 64 --ndf 64|--generator unet --size 128 --ngf 64 --ndf 64
unet256|--generator unet --size 256 --ngf 64 --ndf 64|--generator unet --size 256 --ngf 64 --ndf 64
resnet256|--generator resnet --size 256 --ngf 64 --ndf 64 --blocks 9|--generator resnet --size 256 --ngf 64 --ndf 64 --blocks 9
default|--generator resnet --size 224 --ngf 16 --ndf 32 --blocks 6|--generator resnet --size 224 --ngf 16 --ndf 32 --blocks 6
default-recipe|--recipe default --size 224|
unet256-1thread|--generator unet --size 256 --ngf 64 --ndf 64 --threads 1|
EOF

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $model, $(nproc) cores, $threads threads, $rounds rounds of $iters timed" \
    "iterations after $warmup"
"$bin" devices | sed -n '/^processor:/,/GEMM/s/^ */# /p'
[ "$have_ref" = 1 ] && echo "# reference: PyTorch $("$py" -c 'import torch; print(torch.__version__)')"

# field NAME: the number after "NAME": on each line read
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
# median of the numbers on stdin, one per line ("-" for none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
                                                else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

r=1
while [ "$r" -le "$rounds" ]; do
    while IFS='|' read -r label mopts ropts; do
        [ -z "$only" ] || [ "$only" = "$label" ] || [ "$only" = "${label%-*}" ] || continue
        # shellcheck disable=SC2086 # the options are meant to split
        "$bin" bench train --backend cpu --no-dropout --iters "$iters" --warmup "$warmup" --threads "$threads" \
            $mopts >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; : >"$tmp/out"; }
        tee -a "$tmp/$label.mrigan" <"$tmp/out" >&2
        if [ -n "$ropts" ] && [ "$have_ref" = 1 ]; then
            # shellcheck disable=SC2086
            "$py" "$ref" bench $ropts --iters "$iters" --warmup "$warmup" --threads "$threads" >"$tmp/out" \
                2>"$tmp/err" || { tail -n 5 "$tmp/err" >&2; : >"$tmp/out"; }
            tee -a "$tmp/$label.torch" <"$tmp/out" >&2
        fi
    done <"$tmp/configs"
    r=$((r + 1))
done

of() { [ -f "$tmp/$1" ] && field "$2" <"$tmp/$1" | median || echo "-"; }
# fmt FORMAT VALUE: printf's rendering of a number, "-" kept
fmt() { awk -v f="$1" -v v="$2" 'BEGIN { if (v == "-") print "-"; else printf f "\n", v }'; }
echo "| configuration | mrigan s/it | PyTorch s/it | mrigan / PyTorch | peak RSS MB, mrigan / PyTorch |" \
    "mrigan peak tensors / state MB | system time share | page faults / it |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
while IFS='|' read -r label mopts ropts; do
    [ -f "$tmp/$label.mrigan" ] || continue
    m=$(of "$label.mrigan" train_iter_s_median) p=$(of "$label.torch" train_iter_s_median)
    ratio=$(awk -v a="$m" -v b="$p" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
    sys=$(of "$label.mrigan" sys_share)
    printf '| %s | %s | %s | %s | %s / %s | %s / %s | %s | %s |\n' "$label" "$(fmt %.3f "$m")" "$(fmt %.3f "$p")" \
        "$ratio" "$(fmt %.0f "$(of "$label.mrigan" peak_rss_mb)")" "$(fmt %.0f "$(of "$label.torch" peak_rss_mb)")" \
        "$(fmt %.0f "$(of "$label.mrigan" peak_tensor_mb)")" "$(fmt %.0f "$(of "$label.mrigan" state_mb)")" \
        "$(awk -v s="$sys" 'BEGIN { if (s == "-") print "-"; else printf "%.1f%%", 100 * s }')" \
        "$(fmt %.0f "$(of "$label.mrigan" minor_faults_per_iter)")"
done <"$tmp/configs"
one=$(of unet256-1thread.mrigan train_iter_s_median) two=$(of unet256.mrigan train_iter_s_median)
awk -v a="$one" -v b="$two" -v t="$threads" 'BEGIN { if (a > 0 && b > 0)
    printf "# U-Net 256: %d threads run %.2fx the iterations per second of one\n", t, a / b }'
