#!/usr/bin/env bash
# tools/gpu_bundle.sh: packs what a bare CUDA machine lacks to build and run srengine's GPU
# check (tools/gpu_check.sh), so that the check needs nothing from a network.
#
#   tools/gpu_bundle.sh                 Debian packages -> .gpudeps/ (about 4 MB)
#   tools/gpu_bundle.sh --binaries DIR  also the GPU build in DIR (srengine, srengine_tests,
#                                       srengine_dp_check, stripped) -> .gpubin/
#
# .gpudeps/ holds .deb files, unpacked on the GPU machine with `dpkg -x` under /tmp (never
# into /) and used as a CMake prefix. What each one is for:
#   libeigen3-dev        Eigen headers (CPU GEMM, find_package(Eigen3))
#   nlohmann-json3-dev   JSON headers (configs, safetensors headers, bench output)
#   catch2               Catch2 v2 headers and CMake config (the test binary)
#   libpng-dev zlib1g-dev           png.h, zlib.h and the link-time .so names
#   zlib1g               libz.so.1 (zlib1g-dev's libz.so is an absolute link to it)
#   libjpeg62-turbo-dev             jpeglib.h and libjpeg.so
#   libpng16-16 libjpeg62-turbo     the runtime libraries (libpng16.so.16, libjpeg.so.62:
#                                   an Ubuntu image has libjpeg.so.8, not .62)
#   libgomp1             OpenMP runtime of Debian's GCC, for binaries built here (--binaries)
# Not bundled: CUDA, cuDNN, cuBLAS and NCCL (the toolkit or PyTorch's wheels provide them
# there, see CMakeLists.txt), MPI (the check runs NCCL with one rank, without mpirun).
#
# .gpubin/ (with --binaries) lets the check skip its build when the binaries run there
# (same CPU architecture, a glibc at least as new as this machine's); otherwise it builds.
# Both folders are git-ignored; send them with the device call (carry: .gpudeps .gpubin).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS=$ROOT/.gpudeps
PACKAGES=(libeigen3-dev nlohmann-json3-dev catch2 libpng-dev libpng16-16 zlib1g-dev
          libjpeg62-turbo-dev libjpeg62-turbo libgomp1 zlib1g)
BIN_FROM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binaries) BIN_FROM=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | cut -c3-; exit 0 ;;
    *) echo "gpu_bundle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$DEPS"
have_all=1
for p in "${PACKAGES[@]}"; do ls "$DEPS/${p}_"*.deb > /dev/null 2>&1 || have_all=0; done
if [ $have_all = 0 ]; then
  rm -f "$DEPS"/*.deb
  # apt-get download writes into the current folder and needs no root.
  (cd "$DEPS" && apt-get download "${PACKAGES[@]}") || {
    echo "gpu_bundle.sh: apt-get download failed (run 'apt-get update' first?)" >&2
    exit 1
  }
fi
# A manifest: the check prints it, and a missing file is named rather than guessed.
(cd "$DEPS" && ls -1 ./*.deb | sed 's|^\./||') > "$DEPS/MANIFEST"
size_kb=$(du -sk "$DEPS" | cut -f1)
echo "gpu_bundle.sh: .gpudeps/ holds $(wc -l < "$DEPS/MANIFEST") packages, ${size_kb} KiB"
if [ "$size_kb" -gt 16384 ]; then
  echo "gpu_bundle.sh: .gpudeps/ is over 16 MiB" >&2
  exit 1
fi

if [ -n "$BIN_FROM" ]; then
  BIN=$ROOT/.gpubin
  rm -rf "$BIN" && mkdir -p "$BIN"
  for exe in srengine srengine_tests srengine_dp_check; do
    [ -x "$BIN_FROM/$exe" ] || { echo "gpu_bundle.sh: no $exe in $BIN_FROM" >&2; exit 1; }
    # strip keeps the device code (a fatbin in a data section) and drops host debug info.
    strip -o "$BIN/$exe" "$BIN_FROM/$exe"
  done
  # Where the binaries expect their sources and build folder (tests read fixtures from
  # there); the check links these paths to the copy of the tree on the GPU machine.
  grep -E '^(CMAKE_HOME_DIRECTORY|CMAKE_CACHEFILE_DIR|CMAKE_CUDA_ARCHITECTURES):' "$BIN_FROM/CMakeCache.txt" \
    > "$BIN/BUILD_INFO"
  git -C "$ROOT" rev-parse --short HEAD >> "$BIN/BUILD_INFO" 2> /dev/null || true
  echo "gpu_bundle.sh: .gpubin/ holds the binaries of $BIN_FROM, $(du -sk "$BIN" | cut -f1) KiB"
fi
