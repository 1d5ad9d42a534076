#!/bin/sh
# Configures (once) and compiles a build folder: tools/build.sh [DIR [meson setup options...]].
# DIR defaults to build; the options apply only when DIR is first configured.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
meson compile -C "$dir"
