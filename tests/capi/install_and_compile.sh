#!/bin/sh
# Installs srengine into a scratch prefix, compiles tests/capi/capi_check.c with only
# `pkg-config --cflags --libs srengine`, and runs it: the header, the library and the .pc
# file work as an application would use them.
#   install_and_compile.sh BUILD_DIR SCRATCH_DIR SOURCE_DIR
set -eu
build=$1 scratch=$2 src=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
pc=$(dirname "$(find "$scratch/prefix" -name srengine.pc)")
flags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs srengine)
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir srengine)
cc -std=c99 -Wall -Wextra -pedantic -Werror "$src/tests/capi/capi_check.c" $flags -Wl,-rpath,"$libdir" \
  -o "$scratch/capi_check"
"$scratch/capi_check" "$src/tests/fixtures/infer/config.json" "$src/tests/fixtures/infer/rrdbnet_tiny.safetensors" \
  "$scratch/out"
test -s "$scratch/out.rgba8"
echo "installed srengine: compiled and ran capi_check with pkg-config ($flags)"
