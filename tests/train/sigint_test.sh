#!/usr/bin/env bash
# SIGINT / SIGTERM during training: the current step finishes, a checkpoint is written, and
# the process exits 128 + signal (130 / 143, as a shell reports a signal-stopped job), so
# `srengine train ... && next-step` stops and a scheduler requeues the job; --resume auto
# then continues from that checkpoint. INT2: a second SIGINT while the first waits for the end
# of a long iteration ends the process at once, by the signal (130), without a checkpoint.
# HUP: a closed terminal (ssh) stops it the same way (129); HUP_IGNORED: under nohup (SIGHUP
# ignored) it trains on to the end. PIPE: the reader of its output goes away (`| grep -m1`,
# a killed `| tee`): a checkpoint, then 141, where the signal's default would have ended the
# run on the spot. PIPE_LATE: the reader leaves at the last iteration's line, so the signal comes
# during the final validation, after the loop's last look: the run completes, and still exits
# 141 (before, it exited 0 and then 1, "writing the output failed", as if it had not finished).
#   sigint_test.sh SRENGINE_BINARY SOURCE_DIR WORK_DIR [INT|TERM|INT2|HUP|HUP_IGNORED|PIPE|PIPE_LATE]
set -euo pipefail
bin=$1 src=$2 work=$3 sig=${4:-INT}
case $sig in
  INT | INT2) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; PIPE | PIPE_LATE) want=141 ;; HUP_IGNORED) want=0 ;;
  *) echo "unknown signal $sig"; exit 2 ;;
esac
rm -rf "$work" && mkdir -p "$work"
args=("$src/tests/fixtures/train_tiny.json" --set "path.experiments_root=$work" --set name=sigint
      --set train.stages.0.total_iter=100000 --set logger.save_checkpoint_freq=100000 --set val.val_freq=100000)
# INT2: iterations of seconds (a wider generator on 128-pixel patches), so that the second
# signal comes while the first waits for the end of one.
[ "$sig" = INT2 ] && args+=(--set network_g.num_feat=64 --set network_g.num_block=4 --set network_g.num_grow_ch=32
                            --set datasets.train.gt_size=128 --set datasets.train.batch_size_per_gpu=4
                            --set logger.print_freq=1)
if [ "$sig" = PIPE ] || [ "$sig" = PIPE_LATE ]; then
  # stdout into a reader that leaves at a progress line (PIPE: the first, mid-run; PIPE_LATE: the
  # last iteration's, so the signal comes in the final validation); stderr kept in a file.
  if [ "$sig" = PIPE ]; then
    line="iter 2/" want_log="stopped by SIGPIPE" want_file="training_states/psnr_*.state"
  else
    args+=(--set train.stages.0.total_iter=2 --stage psnr)
    line="iter 2/2" want_log="finished (SIGPIPE.*arrived after the last iteration"
    want_file="models/net_g_psnr_final.safetensors"
  fi
  set +e
  "$bin" train "${args[@]}" 2> "$work/err.txt" | grep -m1 "$line" > /dev/null
  status=${PIPESTATUS[0]}
  set -e
  cat "$work/err.txt"
  tail -3 "$work/sigint/train.log"
  [ "$status" -eq 141 ] || { echo "FAIL: exit status $status once the output pipe closed, expected 141"; exit 1; }
  grep -q "$want_log" "$work/sigint/train.log" || { echo "FAIL: train.log does not say '$want_log'"; exit 1; }
  # shellcheck disable=SC2086  # want_file may be a glob
  ls "$work"/sigint/$want_file > /dev/null || { echo "FAIL: no $want_file"; exit 1; }
  echo "ok: $sig: $want_file written, exit status $status"
  exit 0
fi
if [ "$sig" = HUP_IGNORED ]; then
  args+=(--set train.stages.0.total_iter=12)
  (trap '' HUP; exec "$bin" train "${args[@]}") > "$work/out.txt" 2>&1 &
else
  "$bin" train "${args[@]}" > "$work/out.txt" 2>&1 &
fi
pid=$!
# Wait for the first logged iterations, then interrupt.
for _ in $(seq 1 200); do grep -q "iter 2/" "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
if [ "$sig" = INT2 ]; then
  kill -INT "$pid"
  for _ in $(seq 1 100); do grep -q "stopping after this iteration" "$work/out.txt" && break; sleep 0.02; done
  kill -INT "$pid"
else
  kill -"${sig%_IGNORED}" "$pid"
fi
status=0
wait "$pid" || status=$?
cat "$work/out.txt"
if [ "$sig" = HUP_IGNORED ]; then
  [ "$status" -eq 0 ] || { echo "FAIL: exit status $status under nohup after SIGHUP, expected 0"; exit 1; }
  grep -q "stopped by" "$work/out.txt" && { echo "FAIL: an ignored SIGHUP stopped the run"; exit 1; }
  echo "ok: SIGHUP ignored (nohup): the run trained on to the end"
  exit 0
fi
if [ "$sig" = INT2 ]; then
  [ "$status" -eq 130 ] || { echo "FAIL: exit status $status after two SIGINTs, expected 130"; exit 1; }
  grep -q "second stop signal: quitting at once" "$work/out.txt" ||
    { echo "FAIL: no word of the second signal"; exit 1; }
  if grep -q "stopped by SIGINT" "$work/out.txt"; then echo "FAIL: the run waited for its checkpoint"; exit 1; fi
  echo "ok: the second SIGINT ended the run at once, exit status $status"
  exit 0
fi
[ "$status" -eq "$want" ] || { echo "FAIL: exit status $status after SIG$sig, expected $want"; exit 1; }
grep -q "stopped by SIG$sig" "$work/out.txt" || { echo "FAIL: no stop message naming SIG$sig"; exit 1; }
ls "$work/sigint/training_states/"psnr_*.state > /dev/null || { echo "FAIL: no checkpoint"; exit 1; }
echo "ok: checkpoint written on SIG$sig, exit status $status"
