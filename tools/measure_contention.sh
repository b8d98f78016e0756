#!/usr/bin/env bash
# Quickstart training speed on a shared CPU, before and after the thread changes of
# ae9e16b (threads per rank = cores / local ranks, the measured thread count, polling MPI
# waits): stage psnr of configs/quickstart_x4.json run for a fixed wall time in three cases
#   alone | beside one busy process (a shell loop spinning on one core) | 2 MPI ranks
# and printed as a markdown table for docs/PERFORMANCE.md. Run it on an otherwise quiet
# machine: the "load before" column shows what else was running.
#
#   tools/measure_contention.sh [AFTER_BINARY]            (default: build/srengine)
#
# Environment:
#   BEFORE=PATH          the srengine binary built from the commit before the thread changes
#                        (make one with: tools/measure_contention.sh --build-before DIR).
#                        Unset: "before" is emulated with AFTER and OMP_NUM_THREADS=<cores>
#                        per process (the old default: every process, every rank, all cores;
#                        it also switches the thread tuner off). The emulation keeps the new
#                        polling MPI waits, so its 2-rank row is kinder than the real one.
#   SECONDS_PER_CASE=60  wall time of each run; 6 runs + start-up: about 7 minutes at 60.
#   WORK=/tmp/srengine_contention   scratch folder (experiments and logs).
#
#   tools/measure_contention.sh --build-before DIR
# checks out the commit before the thread changes into DIR (a detached git worktree) and
# builds its srengine (CPU only, Release): tens of minutes on 2 cores; then run with
# BEFORE=DIR/build/srengine.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
thread_commit=ae9e16b  # "CPU threads on shared machines"

if [ "${1:-}" = "--build-before" ]; then
  dir=${2:?usage: tools/measure_contention.sh --build-before DIR}
  git -C "$src" worktree add --detach "$dir" "$thread_commit^"
  cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DSRENGINE_CUDA=OFF
  cmake --build "$dir/build" --target srengine -j"$(nproc)"
  echo "before binary: $dir/build/srengine  (BEFORE=$dir/build/srengine tools/measure_contention.sh)"
  exit 0
fi

after=$(readlink -f "${1:-$src/build/srengine}")
[ -x "$after" ] || { echo "no srengine binary at '$after'" >&2; exit 2; }
before=${BEFORE:-}
if [ -n "$before" ]; then
  before=$(readlink -f "$before")
  [ -x "$before" ] || { echo "BEFORE='$BEFORE' is not an executable" >&2; exit 2; }
fi
secs=${SECONDS_PER_CASE:-60}
work=${WORK:-/tmp/srengine_contention}
cores=$(nproc)
batch=8  # quickstart batch_size_per_gpu, set explicitly below
mkdir -p "$work"

busy_pid=""
cleanup() { if [ -n "$busy_pid" ]; then kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

common=(--stage psnr --set "path.experiments_root=$work" --set train.stages.0.total_iter=1000000
        --set 'train.stages.0.scheduler.periods=[1000000]' --set logger.print_freq=10
        --set val.val_freq=100000000 --set logger.save_checkpoint_freq=100000000 --set device=cpu
        --set "datasets.train.batch_size_per_gpu=$batch")

# metrics.jsonl -> "it/s images/s threads iterations": iterations over time of every
# logged window after the first (warm-up), i.e. the harmonic mean of the window speeds, so
# slow windows (thread probes, a busy neighbour) weigh what they cost.
summary() {  # metrics.jsonl ranks
  python3 - "$1" "$2" "$batch" <<'PY'
import json, sys
path, ranks, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ev = []
try:
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:  # a line cut short when mpirun killed the ranks
            continue
        if e.get("event") == "train":
            ev.append(e)
except FileNotFoundError:
    pass
if len(ev) < 3:
    print(f"- - - {ev[-1]['iter'] if ev else 0}")
    sys.exit()
iters = secs = 0.0
for prev, e in zip(ev[1:], ev[2:]):
    n = e["iter"] - prev["iter"]
    iters += n
    secs += n / max(e["it_per_s"], 1e-9)
its = iters / secs
thr = ",".join(sorted({str(e["threads"]) for e in ev[1:] if "threads" in e})) or "-"
print(f"{its:.2f} {its * batch * ranks:.1f} {thr} {ev[-1]['iter']}")
PY
}

declare -A result  # "<binary label>|<case>" -> "it/s images/s threads iterations load"

run_case() {  # label binary emulate(0/1) case ranks busy
  local label=$1 bin=$2 emulate=$3 case=$4 ranks=$5 busy=$6
  local exp="$label-${case// /_}" load
  rm -rf "${work:?}/$exp"
  load=$(cut -d' ' -f1 /proc/loadavg)
  local env=()
  [ "$emulate" = 1 ] && env=(env "OMP_NUM_THREADS=$cores")
  if [ "$busy" = 1 ]; then
    bash -c 'while :; do :; done' &
    busy_pid=$!
  fi
  local cmd=("$bin" train "$src/configs/quickstart_x4.json" "${common[@]}" --set "name=$exp")
  if [ "$ranks" -gt 1 ]; then
    # mpirun forwards SIGTERM to the ranks; each exports OMP_NUM_THREADS when emulating.
    local xenv=()
    [ "$emulate" = 1 ] && xenv=(-x "OMP_NUM_THREADS=$cores")
    cmd=(env OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root --oversubscribe
         -np "$ranks" "${xenv[@]}" "${cmd[@]}")
  fi
  # SIGTERM after $secs: the run checkpoints and exits 143 (expected, not an error).
  timeout -k 60 -s TERM "$secs" "${env[@]}" "${cmd[@]}" > "$work/$exp.log" 2>&1 || true
  cleanup
  busy_pid=""
  result["$label|$case"]="$(summary "$work/$exp/metrics.jsonl" "$ranks") $load"
  echo "  $label / $case: ${result["$label|$case"]} (it/s images/s threads iterations load)  log: $work/$exp.log" >&2
}

cases=("alone" "beside 1 busy process" "2 ranks")
ranks_of() { [ "$1" = "2 ranks" ] && echo 2 || echo 1; }
busy_of() { [ "$1" = "beside 1 busy process" ] && echo 1 || echo 0; }

if [ -n "$before" ]; then before_label=before; before_bin=$before; before_emulate=0
else before_label="before-emulated"; before_bin=$after; before_emulate=1; fi

echo "measuring: ${#cases[@]} cases x 2 binaries, ${secs} s each, $cores cores" >&2
for c in "${cases[@]}"; do
  run_case "$before_label" "$before_bin" "$before_emulate" "$c" "$(ranks_of "$c")" "$(busy_of "$c")"
  run_case after "$after" 0 "$c" "$(ranks_of "$c")" "$(busy_of "$c")"
done

field() { echo "${result["$1"]}" | cut -d' ' -f"$2"; }
echo
echo "Quickstart stage psnr (batch $batch per rank), ${secs} s per run, $cores cores, $(date -u +%Y-%m-%d)."
if [ "$before_emulate" = 1 ]; then
  echo "Before: emulated (the after binary with OMP_NUM_THREADS=$cores per process); after: $after."
else
  echo "Before: $before; after: $after."
fi
echo
echo "| case | before it/s | before images/s | after it/s | after images/s | after threads | load before (before / after) |"
echo "|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  b="$before_label|$c" a="after|$c"
  echo "| $c | $(field "$b" 1) | $(field "$b" 2) | $(field "$a" 1) | $(field "$a" 2) | $(field "$a" 3) | $(field "$b" 5) / $(field "$a" 5) |"
done
echo
python3 - "$(field "$before_label|alone" 1)" "$(field "$before_label|beside 1 busy process" 1)" \
  "$(field "after|alone" 1)" "$(field "after|beside 1 busy process" 1)" <<'PY'
import sys
def ratio(a, b):
    try: return f"{float(b) / float(a):.0%}"
    except ValueError: return "-"
print(f"Beside one busy process the run keeps {ratio(sys.argv[1], sys.argv[2])} of its alone speed before, "
      f"{ratio(sys.argv[3], sys.argv[4])} after (the issue asks for at least 50%).")
PY
