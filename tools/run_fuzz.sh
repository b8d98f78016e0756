#!/bin/sh
# Builds a libFuzzer target with clang (ASan + UBSan) in its own build folder and fuzzes it for
# a bounded time from a seed corpus of committed fixtures. Exits 0 when no crash was found.
#   tools/run_fuzz.sh [SECONDS] [TARGET]   (default 60 s; TARGET: decode (PNG/JPEG decoders, the
#                                           default) or pth (the torch.save reader);
#                                           build dir: build-fuzz, or $SRENGINE_FUZZ_BUILD)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
target=${2:-decode}
build=${SRENGINE_FUZZ_BUILD:-$root/build-fuzz}
cxx=$(command -v clang++ || command -v clang++-14)

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DSRENGINE_FUZZ=ON -DSRENGINE_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --target "fuzz_$target" -j2

# Seed corpus: committed fixtures (copied, since libFuzzer adds to it).
corpus="$build/fuzz_corpus_$target"
mkdir -p "$corpus"
case "$target" in
  decode) cp "$root"/tests/fixtures/data/*.png "$root"/tests/fixtures/data/*.jpg "$corpus"/ ;;
  pth) cp "$root"/tests/fixtures/pth/*.pth "$corpus"/ ;;
  *) echo "run_fuzz: unknown target '$target' (decode or pth)" >&2; exit 2 ;;
esac
mkdir -p "$build/fuzz_artifacts"
# -rss_limit_mb bounds memory; -timeout flags any input that takes over 10 s (a hang).
"$build/fuzz_$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$build/fuzz_artifacts/" -print_final_stats=1
echo "run_fuzz: fuzz_$target, no crash in $seconds s"
