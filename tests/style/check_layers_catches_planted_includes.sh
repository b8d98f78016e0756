#!/usr/bin/env bash
# tools/check_layers.py against trees with one planted include each: the checker must name
# the file, the line and the rule, pass the same tree without the bad include, and refuse
# a rule that checks nothing under --all-folders.
# usage: check_layers_catches_planted_includes.sh PYTHON CHECKER WORKDIR
set -u
PY=$1 CHECKER=$2 WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
fails=0

# expect NAME STATUS REGEX ROOT [ARGS...]: the checker exits with STATUS, its output matches REGEX
expect() {
  local name=$1 status=$2 regex=$3 root=$4
  shift 4
  local out rc
  out=$("$PY" "$CHECKER" "$root" "$@" 2>&1)
  rc=$?
  if [[ $rc -ne $status ]] || ! grep -Eq -- "$regex" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $status), output:"
    echo "$out"
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}

# plant ROOT FILE LINES...: writes FILE under ROOT with the given lines
plant() {
  local root=$1 file=$2
  shift 2
  mkdir -p "$(dirname "$root/$file")"
  printf '%s\n' "$@" >"$root/$file"
}

clean=$WORK/clean
plant "$clean" kernels/common/shape.h '#pragma once' '#include "kernels/common/math.h"' '#include "engine/philox.h"'
plant "$clean" kernels/cuda/conv.h '#pragma once' '' '#include "kernels/common/shape.h"'
plant "$clean" kernels/cpu/conv.h '#pragma once' '#include "kernels/common/shape.h"'
plant "$clean" nets/net.h '#pragma once' '#include "layers/module.h"'
expect clean_tree_passes 0 '0 problem' "$clean"

bad=$WORK/cuda_includes_cpu
cp -r "$clean" "$bad"
plant "$bad" kernels/cuda/conv.h '#pragma once' '' '#include "kernels/cpu/conv.h"'
expect cuda_includes_cpu 1 'kernels/cuda/conv.h:3: includes "kernels/cpu/conv.h", but kernels/cuda/ must not include kernels/cpu/' "$bad"

bad=$WORK/common_includes_tensor
cp -r "$clean" "$bad"
plant "$bad" kernels/common/shape.h '#pragma once' '  #  include "engine/tensor.h"'
expect common_includes_tensor 1 'kernels/common/shape.h:2: .*kernels/common/ may include only kernels/common/, engine/philox.h' "$bad"

bad=$WORK/net_includes_train
cp -r "$clean" "$bad"
plant "$bad" nets/net.h '#pragma once' '#include "train/config.h"'
expect nets_include_train 1 'nets/net.h:2: .*nets/ must not include train/' "$bad"

bad=$WORK/library_includes_tests
cp -r "$clean" "$bad"
plant "$bad" infer/tile.cpp '#include "support/fresh_seed.h"'
expect library_includes_test_code 1 'infer/tile.cpp:1: .*must not include support/' "$bad"

expect rule_without_folder 1 'the rule for kernels/simt/ checks nothing' "$clean" --all-folders

exit $((fails > 0))
