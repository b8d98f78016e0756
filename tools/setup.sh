#!/usr/bin/env bash
# Installs srengine's build and test dependencies from Debian's packages (idempotent:
# packages already present are not reinstalled, and apt is not touched when nothing is
# missing).
#   tools/setup.sh            build + test dependencies
#   tools/setup.sh --torch    also python3-torch (PyTorch fixtures and benchmarks)
#   tools/setup.sh --browser  also chromium (checking report.html headless)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev nlohmann-json3-dev catch2
  libpng-dev libjpeg62-turbo-dev zlib1g-dev
  openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev
  python3-numpy python3-pil
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
  echo "tools/setup.sh: all dependencies present"
  exit 0
fi
echo "tools/setup.sh: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
