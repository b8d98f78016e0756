#!/usr/bin/env bash
# Installs srengine's build and test dependencies from Debian's packages (idempotent:
# packages already present are not reinstalled, and apt is not touched when nothing is
# missing), and ONNX Runtime for the onnx/ tests from the npm registry (tools/ort/: not
# touched when the pinned version is already there).
#   tools/setup.sh            build + test dependencies
#   tools/setup.sh --torch    also python3-torch (PyTorch fixtures and benchmarks)
#   tools/setup.sh --browser  also chromium (checking report.html headless)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev nlohmann-json3-dev catch2
  libpng-dev libjpeg62-turbo-dev libwebp-dev libtiff-dev zlib1g-dev
  openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev
  python3-numpy python3-pil python3-dev pybind11-dev python3-lmdb python3-scipy
  libonnx-dev libprotobuf-dev python3-onnx
  libyaml-cpp-dev
)
for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch) ;;
    --browser) packages+=(chromium) ;;
    *) echo "tools/setup.sh: unknown option '$arg' (use --torch or --browser)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "tools/setup.sh: all Debian packages present"
else
  echo "tools/setup.sh: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime (CPU) for the onnx/ tests: onnxruntime-node, pinned in tools/ort/package.json and
# package-lock.json. Its CPU library for linux x64 ships in the package; --ignore-scripts skips
# its postinstall, which would download GPU providers. Without Node.js/npm or the registry the
# onnx/ tests that need it say SKIPPED; the build does not need it.
ort_dir="$(cd "$(dirname "$0")" && pwd)/ort"
ort_version="$(sed -n 's/.*"onnxruntime-node": "\(.*\)".*/\1/p' "$ort_dir/package.json")"
ort_installed="$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$ort_dir/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)"
if [ "$ort_installed" = "$ort_version" ]; then
  echo "tools/setup.sh: onnxruntime-node $ort_version present"
elif ! command -v npm >/dev/null; then
  echo "tools/setup.sh: warning: no npm, so no onnxruntime-node (the onnx/ ONNX Runtime tests will be skipped)" >&2
elif (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
  echo "tools/setup.sh: installed onnxruntime-node $ort_version into $ort_dir/node_modules"
else
  echo "tools/setup.sh: warning: npm could not install onnxruntime-node (the onnx/ ONNX Runtime tests will be skipped)" >&2
fi
