#!/usr/bin/env bash
# Quickstart training speed on a shared CPU: alone, beside one busy process (one core
# spinning in a shell loop), and as 2 MPI ranks. Prints one table row per case: median
# it/s and images/s of the logged windows after the first, the 1-minute load average
# before the run, and the thread counts the run reported.
#   tools/measure_contention.sh SRENGINE_BINARY [ITERS] [LABEL]
# Runs stage psnr of configs/quickstart_x4.json for ITERS iterations (default 300) with
# validation and checkpoints pushed past the end; work goes to /tmp/srengine_contention.
set -euo pipefail
bin=$(readlink -f "$1") iters=${2:-300} label=${3:-$(basename "$bin")}
src=$(cd "$(dirname "$0")/.." && pwd)
work=/tmp/srengine_contention
mkdir -p "$work"
common=(--stage psnr --set "path.experiments_root=$work" --set "train.stages.0.total_iter=$iters"
        --set "train.stages.0.scheduler.periods=[$iters]" --set logger.print_freq=25
        --set val.val_freq=1000000 --set logger.save_checkpoint_freq=1000000 --set device=cpu)

summary() {  # metrics.jsonl -> "median it/s | threads seen"
  python3 - "$1" "$2" <<'PY'
import json, statistics, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
ev = [e for e in ev if e.get("event") == "train"][1:-1] or ev
its = statistics.median(e["it_per_s"] for e in ev)
thr = sorted({e.get("threads", "?") for e in ev}, key=str)
print(f"{its:.2f} | {its * 8 * int(sys.argv[2]):.1f} | {','.join(map(str, thr))}")
PY
}

run_case() {  # name ranks busy
  local name=$1 ranks=$2 busy=$3 exp="$label-$1" busy_pid=""
  rm -rf "${work:?}/$exp"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$busy" = 1 ]; then
    bash -c 'while :; do :; done' &
    busy_pid=$!
  fi
  if [ "$ranks" = 1 ]; then
    "$bin" train "$src/configs/quickstart_x4.json" "${common[@]}" --set "name=$exp" > "$work/$exp.log" 2>&1 || true
  else
    OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root --oversubscribe -np "$ranks" \
      "$bin" train "$src/configs/quickstart_x4.json" "${common[@]}" --set "name=$exp" > "$work/$exp.log" 2>&1 || true
  fi
  [ -n "$busy_pid" ] && kill "$busy_pid" && wait "$busy_pid" 2>/dev/null || true
  echo "| $label | $name | $load | $(summary "$work/$exp/metrics.jsonl" "$ranks") |"
}

echo "| binary | case | load before | it/s | images/s | threads |"
echo "|---|---|---|---|---|---|"
run_case alone 1 0
run_case "beside 1 busy process" 1 1
run_case "2 ranks" 2 0
