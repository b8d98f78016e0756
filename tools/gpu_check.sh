#!/usr/bin/env bash
# tools/gpu_check.sh: everything a GPU machine must confirm about the CUDA backend, in one
# run (target: under 8 minutes on one H200), ending with a short table.
#
#   1. configure and build Release with CUDA on (only the local GPU's architecture unless
#      ARCHS is given, to keep the build short; CI builds 80 and 90)
#   2. the cuda/ tests (CPU <-> CUDA parity of every op, variants against cuDNN,
#      determinism, optimizer, memory pool) and the host-side kernels/ tests
#   3. the SASS of the tensor-core conv kernels: HMMA instructions must be there
#   4. `srengine bench kernels --device cuda`, when the CLI has a bench command; then
#      `srengine bench train` against PyTorch on the GPU (tools/bench_train_vs_torch.sh)
#   5. a short training smoke run, when the CLI has a train command and a tiny config exists
#   6. NCCL data parallelism with world size 1 (`mpirun -np 1`, dist.backend=nccl): one GPU
#      cannot run two NCCL ranks ("Duplicate GPU"), so this checks the NCCL path (unique
#      id over MPI, ncclCommInitRank, bucketed ncclAvg on its own stream, the watchdog)
#      and that its weights equal a single-process run's
#
# Usage: tools/gpu_check.sh              (from anywhere; builds in build-gpu/)
#   BUILD=dir ARCHS="90" JOBS=16 OUT=dir tools/gpu_check.sh
# Full logs go to $OUT (default $BUILD/gpu_check/). Exit status: 0 when every step that
# ran passed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-gpu}
OUT=${OUT:-$BUILD/gpu_check}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
export PATH="/usr/local/cuda/bin:$PATH"

ROWS=()
FAILED=0
START=$SECONDS
row() {  # step status detail
  ROWS+=("$(printf '%-32s %-5s %s' "$1" "$2" "$3")")
  [ "$2" = "FAIL" ] && FAILED=1
  echo "== $1: $2 $3"
}
elapsed() { echo "$(( SECONDS - $1 ))s"; }

# ---- 0. the machine -------------------------------------------------------------------------
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
if [ -z "$GPU" ]; then
  row "gpu" "FAIL" "nvidia-smi found no GPU"
else
  row "gpu" "ok" "$GPU"
fi
if [ -z "${ARCHS:-}" ]; then
  CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
  ARCHS=${CAP:-90}
fi

# ---- 1. build -------------------------------------------------------------------------------
t=$SECONDS
if cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSRENGINE_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES="$ARCHS" > "$OUT/configure.log" 2>&1 &&
   cmake --build "$BUILD" -j"$JOBS" > "$OUT/build.log" 2>&1; then
  row "build (sm_$ARCHS)" "ok" "$(elapsed $t)"
else
  row "build (sm_$ARCHS)" "FAIL" "$(elapsed $t), see $OUT/build.log: $(grep -m1 -E 'error' "$OUT/build.log" | cut -c1-120)"
  # The library alone may still build when another target is broken: test what there is.
  cmake --build "$BUILD" -j"$JOBS" --target srengine_tests > "$OUT/build_tests.log" 2>&1 || true
fi

# ---- 2. tests -------------------------------------------------------------------------------
run_ctest() {  # name regex log
  local t=$SECONDS
  if [ ! -x "$BUILD/srengine_tests" ]; then
    row "$1" "FAIL" "no test binary"
    return
  fi
  ctest --test-dir "$BUILD" -R "$2" --output-on-failure --timeout 300 > "$OUT/$3" 2>&1
  local rc=$?
  local summary skipped total
  summary=$(grep -E "tests passed|tests failed" "$OUT/$3" | tail -1)
  skipped=$(grep -c '\*\*\*Skipped' "$OUT/$3")
  total=$(echo "$summary" | sed -nE 's/.*out of ([0-9]+).*/\1/p')
  if [ $rc -ne 0 ]; then
    row "$1" "FAIL" "${summary:-ctest failed} $(elapsed $t); failing: $(grep -E '\*\*\*Failed|Exception' "$OUT/$3" | awk '{print $4}' | head -5 | tr '\n' ' ')"
  elif [ -n "$total" ] && [ "$skipped" -eq "$total" ]; then
    row "$1" "skip" "all $total skipped (no GPU or no cuDNN: see $3)"
  else
    row "$1" "ok" "${summary:-no tests}, $skipped skipped, $(elapsed $t)"
  fi
}
run_ctest "tests cuda/" "^cuda/" ctest_cuda.log
run_ctest "tests kernels/ optimizer/" "^(kernels|optimizer)/" ctest_kernels.log
# The autograd-level conv tests once more under every conv variant (the env override).
VARIANTS="naive bf16"
grep -q "CUDNN_LIBRARY:FILEPATH=.*NOTFOUND" "$BUILD/CMakeCache.txt" 2>/dev/null || VARIANTS="$VARIANTS cudnn cudnn_fp32"
for v in $VARIANTS; do
  export SRENGINE_CONV_IMPL=$v
  run_ctest "tests cuda/ops_conv ($v)" "^cuda/ops_conv$" "ctest_ops_conv_$v.log"
  unset SRENGINE_CONV_IMPL
done

# ---- 3. tensor cores in the SASS --------------------------------------------------------------
OBJ=$(find "$BUILD" -name 'conv2d_igemm.cu.o' | head -1)
if command -v cuobjdump > /dev/null && [ -n "$OBJ" ]; then
  cuobjdump --dump-sass "$OBJ" > "$OUT/conv2d_igemm.sass" 2>&1
  TF32=$(grep -c "HMMA.1688.F32.TF32" "$OUT/conv2d_igemm.sass")
  BF16=$(grep -c "HMMA.16816.F32.BF16" "$OUT/conv2d_igemm.sass")
  KERNELS=$(grep -c "Function : .*igemm_kernel" "$OUT/conv2d_igemm.sass")
  if [ "$TF32" -gt 0 ] && [ "$BF16" -gt 0 ]; then
    row "sass HMMA (igemm)" "ok" "$KERNELS kernels, $TF32 HMMA.1688.TF32, $BF16 HMMA.16816.BF16"
  else
    row "sass HMMA (igemm)" "FAIL" "$KERNELS kernels, $TF32 TF32 and $BF16 bf16 HMMA (expected both > 0)"
  fi
else
  row "sass HMMA (igemm)" "skip" "cuobjdump or conv2d_igemm.cu.o not found"
fi

# ---- 4. kernel benchmark ----------------------------------------------------------------------
CLI="$BUILD/srengine"
if [ -x "$CLI" ] && "$CLI" --help 2>&1 | grep -qE '^\s+bench\s'; then
  t=$SECONDS
  if timeout 180 "$CLI" bench kernels --device cuda --variants all --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1; then
    row "bench kernels (cuda)" "ok" "$(elapsed $t), table in $OUT/bench.log"
  else
    row "bench kernels (cuda)" "FAIL" "$(elapsed $t): $(tail -1 "$OUT/bench.log" | cut -c1-120)"
  fi
else
  row "bench kernels (cuda)" "skip" "srengine has no bench command yet"
fi

# ---- 4b. training step vs PyTorch -----------------------------------------------------------------
# The GPU rows of docs/PERFORMANCE.md: batch-16 L1 and GAN iterations and inference, srengine
# then PyTorch (cuDNN, TF32) back to back, with whichever python3 here has a CUDA PyTorch.
TORCH_PY=""
for py in /usr/bin/python3 python3; do
  if command -v "$py" > /dev/null && "$py" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2> /dev/null; then
    TORCH_PY=$py && break
  fi
done
if [ -x "$CLI" ] && [ -n "$TORCH_PY" ]; then
  t=$SECONDS
  if timeout 200 "$ROOT/tools/bench_train_vs_torch.sh" --device cuda --python "$TORCH_PY" --bin "$CLI" \
        --iters 10 --out "$OUT/bench_train" > "$OUT/bench_train.log" 2>&1; then
    ratios=$(grep -E '^\| gpu_' "$OUT/bench_train/table.md" | awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $6); printf "%s %s  ", $2, $6}')
    row "bench train vs torch (cuda)" "ok" "$(elapsed $t): srengine/PyTorch $ratios"
  else
    row "bench train vs torch (cuda)" "FAIL" "$(elapsed $t): $(tail -1 "$OUT/bench_train.log" | cut -c1-120)"
  fi
elif [ -x "$CLI" ] && timeout 120 "$CLI" bench train --config "$ROOT/configs/esrgan_x4.json" --device cuda \
        --set datasets.train.batch_size_per_gpu=16 --iters 10 --json "$OUT/bench_train.json" > "$OUT/bench_train.log" 2>&1; then
  row "bench train (cuda)" "ok" "no CUDA PyTorch here for the peer; $OUT/bench_train.log"
else
  row "bench train (cuda)" "FAIL" "$(tail -1 "$OUT/bench_train.log" 2>/dev/null | cut -c1-120)"
fi

# ---- 5. training smoke --------------------------------------------------------------------------
SMOKE_CFG=""
for c in "$ROOT/configs/smoke_cuda.json" "$ROOT/tests/fixtures/train_tiny.json"; do
  [ -f "$c" ] && SMOKE_CFG=$c && break
done
if [ -x "$CLI" ] && "$CLI" --help 2>&1 | grep -qE '^\s+train\s' && [ -n "$SMOKE_CFG" ]; then
  t=$SECONDS
  # A few hundred iterations of the tiny two-stage run on the GPU.
  if timeout 240 "$CLI" train "$SMOKE_CFG" --set device=cuda --set train.stages.0.total_iter=300 \
        --set train.stages.1.total_iter=100 --set path.experiments_root="$OUT/train_smoke" \
        > "$OUT/train_smoke.log" 2>&1; then
    row "train smoke (cuda)" "ok" "$(elapsed $t): $(grep -iE 'loss' "$OUT/train_smoke.log" | tail -1 | cut -c1-100)"
  else
    row "train smoke (cuda)" "FAIL" "$(elapsed $t): $(tail -1 "$OUT/train_smoke.log" | cut -c1-120)"
  fi
else
  row "train smoke (cuda)" "skip" "no train command or no tiny config yet"
fi

# ---- 6. NCCL, world size 1 ----------------------------------------------------------------------
MPIRUN=$(command -v mpirun || true)
if [ ! -x "$CLI" ] || [ -z "$SMOKE_CFG" ]; then
  row "train nccl (mpirun -np 1)" "skip" "no srengine binary or no tiny config"
elif [ -z "$MPIRUN" ]; then
  row "train nccl (mpirun -np 1)" "skip" "no mpirun (tools/setup.sh installs openmpi-bin libopenmpi-dev)"
elif ! grep -qE "^NCCL_LIBRARY:FILEPATH=/" "$BUILD/CMakeCache.txt"; then
  row "train nccl (mpirun -np 1)" "skip" "built without NCCL (install libnccl-dev and rebuild)"
else
  t=$SECONDS
  # Tiny buckets (10 KB) so that several all-reduces start during backward.
  NCCL_ARGS=(--set device=cuda --set train.stages.0.total_iter=30 --set train.stages.1.total_iter=10
             --set val.val_freq=1000 --set dist.bucket_mb=0.01)
  rm -rf "$OUT/train_nccl" "$OUT/train_single"
  if OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NCCL_DEBUG=WARN timeout 180 \
        "$MPIRUN" -np 1 "$CLI" train "$SMOKE_CFG" "${NCCL_ARGS[@]}" --set dist.backend=nccl \
        --set path.experiments_root="$OUT/train_nccl" > "$OUT/train_nccl.log" 2>&1 &&
     grep -q "1 rank(s) (nccl) on cuda" "$OUT/train_nccl.log"; then
    row "train nccl (mpirun -np 1)" "ok" "$(elapsed $t): $(grep -E 'iter [0-9]+/' "$OUT/train_nccl.log" | tail -1 | cut -c1-90)"
    # The same run without mpirun (identity collectives): ncclAvg over one rank is a copy,
    # so the weights must agree (exactly, with deterministic kernels).
    STATE=$(cd "$OUT"/train_nccl/*/training_states && ls -t ./*.state | head -1)  # the last one written
    if timeout 180 "$CLI" train "$SMOKE_CFG" "${NCCL_ARGS[@]}" --set path.experiments_root="$OUT/train_single" \
          > "$OUT/train_single.log" 2>&1 && [ -x "$BUILD/srengine_dp_check" ]; then
      if CMP=$("$BUILD/srengine_dp_check" compare "$OUT"/train_nccl/*/training_states/"$STATE" \
               "$OUT"/train_single/*/training_states/"$STATE" \
               1e-5 1e-4 net_g. net_g_ema. net_d. 2>&1); then
        row "nccl vs single-process weights" "ok" "$(echo "${CMP#ok: }" | cut -c1-110)"
      else
        row "nccl vs single-process weights" "FAIL" "$(echo "$CMP" | tail -1 | cut -c1-110)"
      fi
    else
      row "nccl vs single-process weights" "FAIL" "the single-process run or srengine_dp_check failed: $OUT/train_single.log"
    fi
  else
    WHY=$(grep -m1 -iE 'error|NCCL WARN' "$OUT/train_nccl.log" | cut -c1-120)
    row "train nccl (mpirun -np 1)" "FAIL" "$(elapsed $t): ${WHY:-no '1 rank(s) (nccl)' line}, see $OUT/train_nccl.log"
  fi
fi

# ---- the table ---------------------------------------------------------------------------------
echo
echo "gpu_check ($(elapsed $START) total; logs in $OUT)"
printf '%-32s %-5s %s\n' "step" "state" "detail"
for r in "${ROWS[@]}"; do echo "$r"; done
exit $FAILED
