#!/usr/bin/env bash
# SIGINT during training: the current step finishes, a checkpoint is written, the process
# exits 0, and --resume auto continues from that checkpoint to the end.
#   sigint_test.sh SRENGINE_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
args=("$src/tests/fixtures/train_tiny.json" --set "path.experiments_root=$work" --set name=sigint
      --set train.stages.0.total_iter=100000 --set logger.save_checkpoint_freq=100000 --set val.val_freq=100000)
"$bin" train "${args[@]}" > "$work/out.txt" 2>&1 &
pid=$!
# Wait for the first logged iterations, then interrupt.
for _ in $(seq 1 200); do grep -q "iter 2/" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
status=0
wait "$pid" || status=$?
cat "$work/out.txt"
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status after SIGINT"; exit 1; }
grep -q "stopped by signal" "$work/out.txt" || { echo "FAIL: no stop message"; exit 1; }
ls "$work/sigint/training_states/"psnr_*.state > /dev/null || { echo "FAIL: no checkpoint"; exit 1; }
echo "ok: checkpoint written on SIGINT"
