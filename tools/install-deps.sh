#!/bin/sh
# Installs the Debian packages mrigan needs to build and test (clang and its runtime for the fuzz targets),
# skipping those already present.
# Runs apt-get through sudo when not root.
set -eu
packages="gcc libc6-dev meson ninja-build pkg-config libopenblas-dev libpng-dev zlib1g-dev libnifti2-dev ocl-icd-opencl-dev libclblast-dev pocl-opencl-icd libopenmpi-dev openmpi-bin chromium clang libclang-rt-14-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
