#!/usr/bin/env bash
# SIGINT / SIGTERM during training: the current step finishes, a checkpoint is written, and
# the process exits 128 + signal (130 / 143, as a shell reports a signal-stopped job), so
# `srengine train ... && next-step` stops and a scheduler requeues the job; --resume auto
# then continues from that checkpoint.
#   sigint_test.sh SRENGINE_BINARY SOURCE_DIR WORK_DIR [INT|TERM]
set -euo pipefail
bin=$1 src=$2 work=$3 sig=${4:-INT}
case $sig in INT) want=130 ;; TERM) want=143 ;; *) echo "unknown signal $sig"; exit 2 ;; esac
rm -rf "$work" && mkdir -p "$work"
args=("$src/tests/fixtures/train_tiny.json" --set "path.experiments_root=$work" --set name=sigint
      --set train.stages.0.total_iter=100000 --set logger.save_checkpoint_freq=100000 --set val.val_freq=100000)
"$bin" train "${args[@]}" > "$work/out.txt" 2>&1 &
pid=$!
# Wait for the first logged iterations, then interrupt.
for _ in $(seq 1 200); do grep -q "iter 2/" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
kill -"$sig" "$pid"
status=0
wait "$pid" || status=$?
cat "$work/out.txt"
[ "$status" -eq "$want" ] || { echo "FAIL: exit status $status after SIG$sig, expected $want"; exit 1; }
grep -q "stopped by SIG$sig" "$work/out.txt" || { echo "FAIL: no stop message naming SIG$sig"; exit 1; }
ls "$work/sigint/training_states/"psnr_*.state > /dev/null || { echo "FAIL: no checkpoint"; exit 1; }
echo "ok: checkpoint written on SIG$sig, exit status $status"
