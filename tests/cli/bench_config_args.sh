#!/usr/bin/env bash
# `srengine bench` and `srengine config` against a hostile user: numbers out of range or
# malformed (refused naming the option and value, never truncated, never a crash), output
# files that would overwrite an input (refused), output files written whole or not at all,
# output to a full disk (an error, not exit 0), options of another benchmark, --doc mixed in.
#   bench_config_args.sh SRENGINE_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cfg=$src/tests/fixtures/train_tiny.json
infer_cfg=$src/tests/fixtures/infer/config.json
photos=$src/datasets/train_photos
failures=0

# expect STATUS WORDS -- COMMAND...: the exit status and a stderr line holding WORDS; at most
# 60 s and 4 GB of address space each, so that a regression that runs away ends here.
expect() {
  local want=$1 words=$2
  shift 3
  local status=0
  (ulimit -v 4000000; exec timeout 60 "$@") > "$work/out.txt" 2> "$work/err.txt" || status=$?
  if [ "$status" -ne "$want" ] || ! grep -qF -- "$words" "$work/err.txt"; then
    echo "FAIL: $* -> status $status (want $want), stderr:"
    cat "$work/err.txt"
    failures=$((failures + 1))
  fi
}

# --threads far past any machine: refused (was a segmentation fault in bench kernels / train).
expect 1 "--threads expects an integer in [1, 4096], got '1000000'" -- \
  "$bin" bench kernels --threads 1000000 --filter conv_fwd/rrdb.conv_last --repeat 1 --warmup 0 --no-ceilings
expect 1 "--threads expects an integer in [1, 4096], got '1000000'" -- \
  "$bin" bench train --config "$cfg" --threads 1000000 --iters 1 --warmup 0 --stage infer
expect 1 "--threads expects an integer in [1, 4096], got '3x'" -- "$bin" bench infer --config "$infer_cfg" --threads 3x

# bench loader: integers are integers (2.7 was cut to 2, 0x10 read as 16, 1e12 wrapped to a
# negative gt_size), and --seconds has an end (inf ran forever).
for bad in "--batch 2.7" "--scale 0x10" "--gt-size 1e12" "--workers -1" "--batch 3x" "--scale 0"; do
  set -- $bad
  expect 1 "bench loader: $1 expects an integer" -- "$bin" bench loader --dir "$photos" --seconds 0.2 "$1" "$2"
done
for bad in inf nan 1e300 0x10 " 1" 0.01; do
  expect 1 "bench loader: --seconds expects a number in [0.1, 86400], got '$bad'" -- \
    "$bin" bench loader --dir "$photos" --seconds "$bad"
done

# Another benchmark's option is unknown here, not "missing its value".
expect 1 "unknown option '--real-data'" -- "$bin" bench infer --config "$infer_cfg" --real-data
expect 1 "unknown benchmark 'nope'" -- "$bin" bench nope

# An output over an input: refused, the input intact (bench train --list-json over its config).
cp "$cfg" "$work/cfg.json"
data_sets=(--set "datasets.train.dataroot_gt=$photos" --set "datasets.val.dataroot_gt=$src/datasets/val_photos"
           --set "datasets.val.meta_info_file=$src/tests/fixtures/val_one.txt")
expect 1 "would overwrite its input" -- "$bin" bench train --config "$work/cfg.json" "${data_sets[@]}" \
  --list-json "$work/cfg.json"
cmp -s "$cfg" "$work/cfg.json" || { echo "FAIL: --list-json overwrote the config"; failures=$((failures + 1)); }
cp "$src/tests/fixtures/infer/rrdbnet_tiny.safetensors" "$work/w.safetensors"
expect 1 "would overwrite the input '$work/w.safetensors'" -- "$bin" bench infer --config "$infer_cfg" \
  --weights "$work/w.safetensors" --json "$work/./w.safetensors" --size 8 --iters 1 --warmup 0 --precision fp32
# An unwritable --list-json is an error (it was silently skipped, exit 0).
expect 1 "folder '$work/no/such/folder' does not exist" -- \
  "$bin" bench train --config "$cfg" --list-json "$work/no/such/folder/list.json"
# A folder as --json: refused before the benchmark runs (it was found after it).
expect 1 "is not a regular file" -- "$bin" bench train --config "$cfg" --json "$work" --stage infer --iters 100000
# An empty --precision list: refused (it printed the header of an empty table, exit 0).
expect 1 "--precision lists no precision" -- "$bin" bench infer --config "$infer_cfg" --precision "" --size 8
# config --from-yaml --out over its own option file.
yml=$work/net.yml
printf 'name: t\nmodel_type: SRModel\nscale: 4\nnum_gpu: 0\nnetwork_g: {type: RRDBNet, num_feat: 4, num_block: 1}\n' \
  > "$yml"
cp "$yml" "$work/net_copy.yml"
expect 1 "would overwrite its input" -- "$bin" config --from-yaml "$yml" --out "$yml"
cmp -s "$yml" "$work/net_copy.yml" || { echo "FAIL: --out overwrote the option file"; failures=$((failures + 1)); }

# stdout that cannot be written (a full disk) is an error, not exit 0 with nothing written.
if [ -w /dev/full ]; then
  expect 1 "writing the output failed" -- sh -c "exec '$bin' config --doc > /dev/full"
  expect 1 "writing the output failed" -- sh -c "exec '$bin' config '$cfg' > /dev/full"
fi
# --doc with anything else is refused, not the reference printed and the rest ignored.
expect 1 "--doc takes no other argument" -- "$bin" config "$cfg" --doc
expect 1 "unknown argument '--chek'" -- "$bin" config --doc --chek

# A pipe closed early (`| head -1`) ends the command quietly, as any Unix filter: no message,
# also where the parent left SIGPIPE ignored ("writing the output failed: Broken pipe"). The
# reader (true) is gone before the first write, whatever the pipe's buffer holds.
: > "$work/err.txt"
(sleep 0.5; exec "$bin" config --doc 2>> "$work/err.txt") | true
(trap '' PIPE; sleep 0.5; exec "$bin" config --doc 2>> "$work/err.txt") | true
if [ -s "$work/err.txt" ]; then
  echo "FAIL: config --doc | head -1 wrote:"
  cat "$work/err.txt"
  failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "bench_config_args: $failures FAILED"
  exit 1
fi
echo "bench_config_args: all checks passed"
