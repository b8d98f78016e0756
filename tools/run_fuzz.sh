#!/bin/sh
# Builds the libFuzzer decoder target with clang (ASan + UBSan) in its own build folder
# and fuzzes the PNG/JPEG decoders for a bounded time from a seed corpus of the
# committed test images. Exits 0 when no crash was found.
#   tools/run_fuzz.sh [SECONDS]        (default 60; build dir: build-fuzz, or $SRENGINE_FUZZ_BUILD)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${SRENGINE_FUZZ_BUILD:-$root/build-fuzz}
cxx=$(command -v clang++ || command -v clang++-14)

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DSRENGINE_FUZZ=ON -DSRENGINE_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --target fuzz_decode -j2

# Seed corpus: the committed PNG/JPEG fixtures (copied, since libFuzzer adds to it).
corpus="$build/fuzz_corpus"
mkdir -p "$corpus"
cp "$root"/tests/fixtures/data/*.png "$root"/tests/fixtures/data/*.jpg "$corpus"/
mkdir -p "$build/fuzz_artifacts"
# -rss_limit_mb bounds memory; -timeout flags any input that takes over 10 s (a hang).
"$build/fuzz_decode" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$build/fuzz_artifacts/" -print_final_stats=1
echo "run_fuzz: no crash in $seconds s"
