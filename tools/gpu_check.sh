#!/usr/bin/env bash
# tools/gpu_check.sh: what a CUDA machine must confirm about srengine, in one budgeted run,
# most valuable results first. Every row goes to $OUT/summary.txt the moment it is known,
# and the logs are re-packed into $OUT/logs.tgz after each row, so a run killed at its
# limit still returns its table. docs/GPU.md explains each row and what to do when one
# fails.
#
#   tools/gpu_check.sh                 on a CUDA machine (any NVIDIA GPU of sm_80 or newer)
#   tools/gpu_check.sh --rehearse      on a machine without a GPU: the same flow with the
#                                      build prefix made only from .gpudeps/ (a missing
#                                      package shows), every GPU row "not run"
#   tools/gpu_check.sh --rehearse --configure-only    preflight + configure (CI)
#
# Environment: BUDGET seconds for everything (default 540; 3600 for a rehearsal), BUILD_CAP
# seconds for the build (330; 3000 for a rehearsal), OUT (default
# /tmp/srengine-gpu-check/out; four files land there: summary.txt, logs.tgz, bench_conv.json,
# bench_train.md), BUILD (default
# /tmp/srengine-gpu-check/build), ARCH (default: the GPU's, e.g. 90a on Hopper), JOBS,
# BIN_DIR (a build folder to use as it is: no configure, no build), SKIP (a regex of rows
# not to run, e.g. 'memcheck|racecheck' on a rerun).
# Inputs it uses when present: .gpudeps/*.deb (tools/gpu_bundle.sh: headers and libraries
# a bare image lacks, unpacked under /tmp, never into /) and .gpubin/ (tools/gpu_bundle.sh
# --binaries: a build made elsewhere, used when it runs here; otherwise the check builds).
#
# Steps (each row: name, state ok/FAIL/skip/not run, seconds since the start, detail):
#   preflight   GPU, driver, nvcc, cmake, headers, cuDNN and NCCL location (seconds)
#   build       srengine, srengine_tests, srengine_dp_check for one architecture
#   sass        tensor-core instructions (HMMA; HGMMA and UTMALDG of the wgmma conv) in the conv
#               kernels, local-memory spills
#   tests       the cuda/ tests, one process each, CUDA_LAUNCH_BLOCKING=1
#   conv impl   cuda/ops_conv under each conv variant (naive, bf16, fp16, igemm_v2, cudnn, cudnn_fp32;
#               wgmma on sm_90a)
#   memcheck    compute-sanitizer memcheck over the cuda/ tests
#   train smoke two stages on the GPU, the L1 loss must fall
#   nccl        a one-rank NCCL run (no mpirun) equals a single-process run
#   bench conv  native conv vs cuDNN on the RRDB and U-Net shapes (bench_conv.json)
#   bench wgmma plans  each wgmma tile plan forced, beside the planned one (sm_90a)
#   train vs torch  batch-16 L1 / GAN / inference steps against PyTorch, TF32 then bf16 (srengine's
#               native bf16 conv: wgmma on sm_90a, else igemm_v2)
#   racecheck   compute-sanitizer racecheck on the conv and dense-block tests
#   bench all   every kernel's row (logs/bench_all.json): GB/s against the copy bandwidth
#   ncu         Nsight Compute speed-of-light of the slowest conv kernel
# Exit status: 0 when no row failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REHEARSE=0
CONFIGURE_ONLY=0
for a in "$@"; do
  case "$a" in
    --rehearse) REHEARSE=1 ;;
    --configure-only) CONFIGURE_ONLY=1 ;;
    -h|--help) sed -n '2,/^# Exit status/p' "$0" | cut -c3-; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done
WORK=/tmp/srengine-gpu-check
BUILD=${BUILD:-$WORK/build}
OUT=${OUT:-$WORK/out}
# A rehearsal builds on a small machine (2 cores: about 15 minutes): its budget is larger.
if ((REHEARSE)); then BUDGET=${BUDGET:-3600}; BUILD_CAP=${BUILD_CAP:-3000}; fi
BUDGET=${BUDGET:-540}
BUILD_CAP=${BUILD_CAP:-330}
JOBS=${JOBS:-$(nproc)}
LOG=$WORK/logs
DEPS=$WORK/deps          # .gpudeps unpacked here
RUNS=$WORK/runs          # experiments, checkpoints
rm -rf "$LOG" "$RUNS" "$DEPS"
mkdir -p "$OUT" "$LOG" "$RUNS" "$DEPS" "$BUILD"
rm -f "$OUT/summary.txt" "$OUT/logs.tgz" "$OUT/bench_conv.json" "$OUT/bench_train.md"
export PATH="$PATH:/usr/local/cuda/bin"
T0=$SECONDS
FAILED=0
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"

left() { echo $((BUDGET - (SECONDS - T0))); }
row() {  # name state detail: printed, appended to summary.txt, logs re-packed
  local line
  line=$(printf '%-26s %-7s %4ss  %s' "$1" "$2" "$((SECONDS - T0))" "$3")
  echo "$line" | tee -a "$SUMMARY"
  [ "$2" = FAIL ] && FAILED=1
  pack_logs
  return 0
}
# Re-packs the logs; steps run in the background may call it at once, hence the lock.
pack_logs() {
  (
    flock 9
    tar -czf "$WORK/logs.tgz.part" -C "$WORK" logs 2> /dev/null && cp -f "$WORK/logs.tgz.part" "$OUT/logs.tgz"
  ) 9> "$WORK/pack.lock"
}
finish() {
  pack_logs
  echo
  echo "gpu_check: $((SECONDS - T0)) s of a ${BUDGET} s budget; logs in $OUT/logs.tgz"
  printf '%-26s %-7s %5s  %s\n' step state time detail
  cat "$SUMMARY"
  # Rows may come from steps run in the background: the verdict is read off the table.
  grep -qE '^.{27}FAIL' "$SUMMARY" && exit 1
  exit 0
}
trap finish EXIT
trap 'row killed FAIL "signal after $((SECONDS - T0)) s"; exit 1' TERM INT
# timed CAP LOG CMD...: CMD under min(CAP, budget left - 10 s); 99 when no time is left.
timed() {
  local cap=$1 log=$2 l
  shift 2
  l=$(left)
  ((l < 20)) && return 99
  ((cap > l - 10)) && cap=$((l - 10))
  timeout -k 5 "$cap" "$@" > "$LOG/$log" 2>&1
}
gpu_row() {  # name: true (and a row) when this GPU step is not to run: rehearsal or SKIP
  if ((REHEARSE)); then row "$1" "not run" "no GPU (rehearsal)"; return 0; fi
  if [ -n "${SKIP:-}" ] && [[ "$1" =~ $SKIP ]]; then row "$1" skip "SKIP='$SKIP'"; return 0; fi
  return 1
}
no_time() { row "$1" skip "budget spent"; }

# ---- preflight --------------------------------------------------------------------------------
GPU=""
if ((REHEARSE)); then
  row gpu "not run" "rehearsal on $(uname -m), $(nproc) cores, no GPU used"
else
  GPU=$(nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader 2> /dev/null | head -1)
  if [ -z "$GPU" ]; then
    row gpu FAIL "nvidia-smi sees no GPU (use --rehearse on a machine without one)"
    exit 1
  fi
  row gpu ok "$GPU"
fi
if [ -z "${ARCH:-}" ]; then
  CAP=$(echo "$GPU" | awk -F', ' '{gsub(/\./, "", $2); print $2}')
  CAP=${CAP:-90}
  # Hopper's own instructions (wgmma, setmaxnreg) need the arch-specific 90a target.
  if [ "$CAP" = 90 ]; then ARCH=90a; else ARCH=$CAP; fi
fi

# .gpudeps: unpacked under /tmp; headers and libraries looked up there first.
PREFIX=""
if [ -f "$ROOT/.gpudeps/MANIFEST" ]; then
  for f in "$ROOT"/.gpudeps/*.deb; do dpkg -x "$f" "$DEPS" || row gpudeps FAIL "dpkg -x $f failed"; done
  # Absolute links (zlib1g-dev's libz.so -> /lib/...) would point at this machine's files:
  # point them into the unpacked tree instead.
  find "$DEPS" -type l | while read -r link; do
    target=$(readlink "$link")
    case "$target" in /*) [ -e "$DEPS$target" ] && ln -sfn "$DEPS$target" "$link" ;; esac
  done
  PREFIX=$DEPS/usr
elif ((REHEARSE)); then
  row gpudeps FAIL "no .gpudeps/ (run tools/gpu_bundle.sh first)"
  exit 1
fi
DEPLIB=$DEPS/usr/lib/x86_64-linux-gnu
DEPSRC="from the system"
[ -n "$PREFIX" ] && DEPSRC=".gpudeps ($(wc -l < "$ROOT/.gpudeps/MANIFEST") debs)"
missing=""
for h in eigen3/Eigen/Core nlohmann/json.hpp catch2/catch.hpp png.h zlib.h jpeglib.h; do
  if [ -n "$PREFIX" ] && [ -e "$PREFIX/include/$h" ]; then continue; fi
  if ((REHEARSE == 0)) && [ -e "/usr/include/$h" ]; then continue; fi
  missing="$missing $h"
done
for l in libpng16.so.16 libjpeg.so.62 libz.so; do
  [ -n "$PREFIX" ] && [ -e "$DEPLIB/$l" ] && continue
  ((REHEARSE == 0)) && continue   # a system library may serve on a real machine
  missing="$missing $l"
done
[ -n "$missing" ] && { row "build deps" FAIL "missing:$missing (tools/gpu_bundle.sh, send .gpudeps)"; exit 1; }

# cuDNN and NCCL: the toolkit's, or those of the python3 that has PyTorch (pip wheels).
PY=${SRENGINE_TORCH_PYTHON:-python3}
wheel_dir() {  # nvidia.<name> package folder of $PY, or nothing
  "$PY" -c "import importlib.util as u; s = u.find_spec('nvidia.$1'); print(list(s.submodule_search_locations)[0] if s else '')" 2> /dev/null
}
CMAKE_LIBS=()
LIBPATH=""
for lib in cudnn nccl; do
  up=$(echo $lib | tr a-z A-Z)
  soname=lib$lib.so.$([ $lib = cudnn ] && echo 9 || echo 2)
  where=""
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/$soname" ] && [ -z "$where" ] && where="toolkit $d"
  done
  if [ -z "$where" ] && ((REHEARSE == 0)); then
    w=$(wheel_dir $lib)
    if [ -n "$w" ] && [ -e "$w/lib/$soname" ]; then
      where="wheel $w"
      [ -e "$w/include/$lib.h" ] && CMAKE_LIBS+=("-D${up}_ROOT=$w")
      LIBPATH="$LIBPATH:$w/lib"
    fi
  fi
  eval "WHERE_$up=\"\${where:-none}\""
done
# The wheels' other libraries (cuBLAS and the CUDA runtime of PyTorch's build) are not
# needed: the toolkit has them. cuDNN's own sub-libraries sit beside libcudnn.so.9.
export LD_LIBRARY_PATH="${LIBPATH#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
NVCC=$(command -v nvcc || true)
row preflight ok "arch sm_$ARCH, nvcc $("${NVCC:-nvcc}" --version 2> /dev/null | sed -nE 's/.*release ([0-9.]+).*/\1/p'), cmake $(cmake --version | head -1 | awk '{print $3}'), deps $DEPSRC, cuDNN $WHERE_CUDNN, NCCL $WHERE_NCCL"
[ -z "$NVCC" ] && { row build FAIL "no nvcc on PATH or in /usr/local/cuda/bin"; exit 1; }

# ---- binaries: carried (.gpubin) when they run here, else built -----------------------------------
# probe_gpubin: true when the carried binaries load (every library resolves) and start.
probe_gpubin() {
  { ldd "$ROOT/.gpubin/srengine_tests"; ldd "$ROOT/.gpubin/srengine"; } > "$LOG/ldd.log" 2>&1 &&
    ! grep -q "not found" "$LOG/ldd.log" &&
    { "$ROOT/.gpubin/srengine_tests" --list-test-names-only "cuda/*" > "$LOG/list.log" 2>&1; true; } &&
    grep -q "^cuda/" "$LOG/list.log" &&   # (Catch2 v2 exits with the number of tests listed)
    "$ROOT/.gpubin/srengine" --help > /dev/null 2>&1
}
gpubin_info() {
  echo "$(tail -1 "$ROOT/.gpubin/BUILD_INFO"), $(sed -nE 's/^CMAKE_CUDA_ARCHITECTURES:.*=(.*)/sm_\1/p' "$ROOT/.gpubin/BUILD_INFO")"
}
BIN=""
if [ -x "$ROOT/.gpubin/srengine_tests" ]; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$DEPLIB:/usr/local/cuda/lib64"
fi
if [ -n "${BIN_DIR:-}" ]; then
  BIN=$(cd "$BIN_DIR" && pwd)
  row binaries ok "BIN_DIR $BIN, as it is"
elif ((REHEARSE)) && [ -x "$ROOT/.gpubin/srengine_tests" ]; then
  # The rehearsal probes the carried binaries as the GPU run will, then builds anyway.
  if probe_gpubin; then row binaries ok "carried .gpubin ($(gpubin_info)) would run; building for the rehearsal"
  else row binaries FAIL "carried .gpubin does not start here: $(grep -m1 -E 'not found|GLIBC|rror' "$LOG/ldd.log" "$LOG/list.log" | cut -c1-100)"; fi
elif ((REHEARSE == 0)) && [ -x "$ROOT/.gpubin/srengine_tests" ]; then
  # The binaries look for the sources and build folder where they were built: point those
  # paths at this tree (only when nothing is there).
  src=$(sed -nE 's/^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)/\1/p' "$ROOT/.gpubin/BUILD_INFO")
  bld=$(sed -nE 's/^CMAKE_CACHEFILE_DIR:INTERNAL=(.*)/\1/p' "$ROOT/.gpubin/BUILD_INFO")
  if [ -n "$src" ] && [ "$src" != "$ROOT" ] && [ ! -e "$src" ]; then mkdir -p "$(dirname "$src")" && ln -s "$ROOT" "$src"; fi
  if [ -n "$bld" ] && [ ! -e "$bld" ]; then ln -s "$ROOT/.gpubin" "$bld"; fi
  if probe_gpubin; then
    BIN=$ROOT/.gpubin
    row binaries ok "carried .gpubin ($(gpubin_info))"
  else
    row binaries skip "carried .gpubin does not run here: $(grep -m1 -E 'not found|GLIBC|rror' "$LOG/ldd.log" "$LOG/list.log" | cut -c1-100); building"
  fi
fi
if [ -z "$BIN" ]; then
  GEN=()
  [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja > /dev/null && GEN=(-G Ninja)
  ISOLATE=()
  # The rehearsal must not see this machine's own -dev packages: only the prefix counts.
  ((REHEARSE)) && ISOLATE=(-DCMAKE_IGNORE_PREFIX_PATH=/usr
                           "-DCMAKE_IGNORE_PATH=/usr/include;/usr/lib/x86_64-linux-gnu;/usr/lib/cmake;/usr/share/cmake")
  timed 120 configure.log cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSRENGINE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DSRENGINE_NATIVE=ON -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON \
    -DSRENGINE_PYTHON=OFF \
    ${PREFIX:+-DCMAKE_PREFIX_PATH=$PREFIX} "${ISOLATE[@]}" "${CMAKE_LIBS[@]}"
  rc=$?
  if [ $rc -ne 0 ]; then
    # The first CMake error with its explanation; a "Could NOT find" of an optional package
    # (TIFF, WebP) is not the cause.
    why=$(grep -m1 -A3 'CMake Error' "$LOG/configure.log" | tr -s ' \n' ' ')
    [ -n "$why" ] || why=$(grep -m1 -iE 'error|not found|could not' "$LOG/configure.log")
    row configure FAIL "rc $rc: $(echo "$why" | cut -c1-140)"
    exit 1
  fi
  row configure ok "$(grep -E 'srengine: (CUDNN|NCCL)' "$LOG/configure.log" | sed -E 's/-- srengine: //; s/ \(headers.*//' | tr '\n' ' ')"
  if ((CONFIGURE_ONLY)); then exit $FAILED; fi
  timed "$BUILD_CAP" build.log cmake --build "$BUILD" -j"$JOBS" --target srengine srengine_tests srengine_dp_check
  rc=$?
  if [ $rc -ne 0 ]; then
    why=$(grep -m1 -E 'error' "$LOG/build.log" | cut -c1-140)
    [ $rc = 124 ] && why="not finished in $BUILD_CAP s (BUILD_CAP); $(grep -E '^\[[0-9]+/[0-9]+\]' "$LOG/build.log" | tail -1 | cut -d' ' -f1) steps done"
    row build FAIL "rc $rc: $why"
    exit 1
  fi
  row build ok "sm_$ARCH, $JOBS jobs"
  BIN=$BUILD
fi
TESTS=$BIN/srengine_tests
CLI=$BIN/srengine

# ---- SASS: tensor cores in the conv kernels (seconds; runs in the rehearsal too) ---------------
if command -v cuobjdump > /dev/null; then
  cuobjdump --dump-sass "$CLI" > "$LOG/srengine.sass" 2> "$LOG/cuobjdump.err"
  awk '/Function :/ { f = $3 } /HMMA|LDL|STL/ { n[f]++ } END { for (k in n) print k, n[k] }' "$LOG/srengine.sass" \
    > "$LOG/sass_counts.txt"
  tf32=$(grep -c "HMMA.1688.F32.TF32" "$LOG/srengine.sass")
  bf16=$(grep -c "HMMA.16816.F32.BF16" "$LOG/srengine.sass")
  fp16=$(grep -cE "HMMA.16816.F32 " "$LOG/srengine.sass")  # the fp16 variant: no operand suffix
  spill=$(awk '/Function :/ { f = $3 } /igemm/ && /LDL|STL/ { c++ } END { print c + 0 }' "$LOG/srengine.sass")
  # igemm_v2's pipeline: ldmatrix (LDSM) and cp.async (LDGSTS) must be in the SASS.
  ldsm=$(grep -c "LDSM" "$LOG/srengine.sass")
  ldgsts=$(grep -c "LDGSTS" "$LOG/srengine.sass")
  igemm_local=$(awk '/Function :/ { f = ($3 ~ /igemm/) } f && /LDL|STL/ { c++ } END { print c + 0 }' "$LOG/srengine.sass")
  # The wgmma conv (its sm_90a cubin, built whatever ARCH is): warpgroup MMA (HGMMA) and the
  # tensor-map loads (UTMALDG) inside conv2d_wgmma_kernel.
  hgmma=$(awk '/Function :/ { f = ($3 ~ /conv2d_wgmma/) } f && /HGMMA/ { c++ } END { print c + 0 }' "$LOG/srengine.sass")
  utmaldg=$(awk '/Function :/ { f = ($3 ~ /conv2d_wgmma/) } f && /UTMALDG/ { c++ } END { print c + 0 }' "$LOG/srengine.sass")
  if [ "$tf32" -gt 0 ] && [ "$bf16" -gt 0 ] && [ "$ldsm" -gt 0 ] && [ "$ldgsts" -gt 0 ] && [ "$hgmma" -gt 0 ] &&
    [ "$utmaldg" -gt 0 ]; then
    row sass ok "$tf32 HMMA.1688.TF32, $bf16 HMMA.16816.BF16, $fp16 HMMA.16816.F32 (fp16), $ldsm LDSM, $ldgsts LDGSTS, $hgmma HGMMA + $utmaldg UTMALDG (wgmma); $igemm_local LDL/STL in igemm kernels"
  else
    row sass FAIL "$tf32 TF32 and $bf16 bf16 HMMA, $ldsm LDSM, $ldgsts LDGSTS, $hgmma HGMMA, $utmaldg UTMALDG in conv2d_wgmma (expected all > 0): $(head -c 100 "$LOG/cuobjdump.err")"
  fi
  : "$spill"
else
  row sass skip "no cuobjdump"
fi

# ---- the cuda/ tests: one process per test, in parallel ---------------------------------------
# run_tests NAME SPEC CAP LOGDIR [ENV...]: every test case matching SPEC in its own process;
# a test that prints "SKIPPED:" is skipped (on a GPU machine that is a failure: nothing
# there may skip), a non-zero exit or a timeout is a failure.
run_tests() {
  local name=$1 spec=$2 cap=$3 dir=$4
  shift 4
  if ((REHEARSE == 0)) && [ -n "${SKIP:-}" ] && [[ "$name" =~ $SKIP ]]; then row "$name" skip "SKIP='$SKIP'"; return; fi
  mkdir -p "$LOG/$dir"
  "$TESTS" --list-test-names-only "$spec" 2> /dev/null | grep -v '^$' > "$LOG/$dir/list.txt"
  local n
  n=$(wc -l < "$LOG/$dir/list.txt")
  [ "$n" -gt 0 ] || { row "$name" FAIL "no test matches '$spec'"; return; }
  local l
  l=$(left)
  ((l < 30)) && { no_time "$name"; return; }
  ((cap > l - 10)) && cap=$((l - 10))
  local per=$((cap < 150 ? cap : 150))
  # shellcheck disable=SC2016
  timeout -k 5 "$cap" xargs -d '\n' -P "${PAR:-8}" -I{} env "$@" bash -c '
      f="$3/$(echo "$1" | tr "/ " "__").log"
      timeout -k 5 "$4" "$2" "$1" > "$f" 2>&1; echo "$?" >> "$f.rc"' _ {} "$TESTS" "$LOG/$dir" "$per" \
    < "$LOG/$dir/list.txt"
  local pass=0 fail=0 skip=0 failed="" t f rc
  while IFS= read -r t; do
    f="$LOG/$dir/$(echo "$t" | tr "/ " "__").log"
    rc=$(cat "$f.rc" 2> /dev/null || echo none)
    if [ "$rc" = 0 ] && grep -q "SKIPPED:" "$f"; then skip=$((skip + 1))
    elif [ "$rc" = 0 ]; then pass=$((pass + 1))
    else fail=$((fail + 1)); failed="$failed ${t#cuda/}($rc)"; fi
  done < "$LOG/$dir/list.txt"
  if ((REHEARSE)); then
    row "$name" "$( ((fail)) && echo FAIL || echo 'not run')" "$n tests; $skip skipped, $pass passed without a GPU, $fail failed$failed"
  elif ((fail + skip)); then
    row "$name" FAIL "$pass/$n passed, $skip skipped; failed:$failed"
  else
    row "$name" ok "$pass/$n passed"
  fi
}
run_tests "tests cuda/" "cuda/*" 180 tests CUDA_LAUNCH_BLOCKING=1 SRENGINE_SYNC_LAUNCHES=1
if ((REHEARSE)); then
  row "conv impls" "not run" "no GPU (rehearsal)"
else
  # Six (seven) processes at once: each is small next to the GPU. wgmma runs on sm_90a only.
  impls="naive bf16 fp16 igemm_v2 cudnn cudnn_fp32"
  [ "$ARCH" = 90a ] && impls="$impls wgmma"
  for v in $impls; do
    run_tests "conv+rdb $v" "cuda/ops_conv,cuda/ops_rdb" 90 "conv_$v" SRENGINE_CONV_IMPL=$v &
  done
  wait
fi

# ---- memcheck ---------------------------------------------------------------------------------
# sanitize NAME TOOL CAP SPEC...: compute-sanitizer over the matching tests, one process each.
sanitize() {
  local name=$1 tool=$2 cap=$3
  shift 3
  gpu_row "$name" && return
  command -v compute-sanitizer > /dev/null || { row "$name" skip "no compute-sanitizer"; return; }
  local l
  l=$(left)
  ((l < 40)) && { no_time "$name"; return; }
  ((cap > l - 10)) && cap=$((l - 10))
  mkdir -p "$LOG/$tool"
  for spec in "$@"; do "$TESTS" --list-test-names-only "$spec" 2> /dev/null; done | grep -v '^$' > "$LOG/$tool/list.txt"
  # shellcheck disable=SC2016
  timeout -k 5 "$cap" xargs -d '\n' -P 8 -I{} bash -c '
      f="$3/$(echo "$1" | tr "/ " "__").log"
      compute-sanitizer --tool "$4" --error-exitcode 86 --print-limit 20 --report-api-errors no "$2" "$1" > "$f" 2>&1
      echo "$?" >> "$f.rc"' _ {} "$TESTS" "$LOG/$tool" "$tool" < "$LOG/$tool/list.txt"
  # The sanitizer's own findings exit with 86 and print a non-zero summary; any other
  # exit is the test's (a failed CHECK, counted in the tests row, not here).
  local clean=0 bad="" unfinished=0 testfail="" t f rc
  while IFS= read -r t; do
    f="$LOG/$tool/$(echo "$t" | tr "/ " "__").log"
    rc=$(cat "$f.rc" 2> /dev/null || echo none)
    if [ "$rc" = none ]; then unfinished=$((unfinished + 1))
    elif [ "$rc" = 86 ] || grep -qE '(ERROR|RACECHECK) SUMMARY: [1-9]' "$f"; then
      bad="$bad ${t#cuda/}($(grep -m1 -E 'Invalid|Race|hazard|Error|error' "$f" | sed 's/^=* *//' | cut -c1-70))"
    else
      clean=$((clean + 1))
      [ "$rc" = 0 ] || testfail="$testfail ${t#cuda/}"
    fi
  done < "$LOG/$tool/list.txt"
  local n
  n=$(wc -l < "$LOG/$tool/list.txt")
  local note=""
  [ -n "$testfail" ] && note="; the test itself failed in:$testfail"
  ((unfinished)) && note="$note; $unfinished not finished in ${cap} s"
  if [ -n "$bad" ]; then row "$name" FAIL "$clean/$n clean;$bad$note"
  else row "$name" ok "$clean/$n clean$note"; fi
}
sanitize "memcheck cuda/" memcheck 120 "cuda/*"

# ---- training smoke: two stages on the GPU, the L1 loss must fall -------------------------------
SMOKE=$ROOT/tests/fixtures/train_tiny.json
SMOKE_ARGS=(--set train.stages.0.total_iter=300 --set train.stages.1.total_iter=60 --set val.val_freq=150
            --set logger.print_freq=20 --set logger.save_checkpoint_freq=150)
if ! gpu_row "train smoke"; then
  timed 90 train_smoke.log "$CLI" train "$SMOKE" --set device=cuda "${SMOKE_ARGS[@]}" \
    --set path.experiments_root="$RUNS/smoke"
  rc=$?
  # The stage-1 L1 loss: the mean of the first three logged values against the last three.
  fall=$(grep -E '^\[psnr\] iter' "$LOG/train_smoke.log" | sed -nE 's/.* l_g_pix ([0-9.eE+-]+).*/\1/p' |
         awk '{ v[NR] = $1 } END { if (NR < 6) { print "too few"; exit } a = (v[1] + v[2] + v[3]) / 3;
              b = (v[NR] + v[NR - 1] + v[NR - 2]) / 3; printf "%s %.4g -> %.4g", (b < a ? "falls" : "rises"), a, b }')
  case $rc in
    0) case "$fall" in
         falls*) row "train smoke" ok "l_g_pix $fall; $(grep -E '^\[gan\] iter' "$LOG/train_smoke.log" | tail -1 | cut -c1-70)" ;;
         *) row "train smoke" FAIL "l_g_pix $fall" ;;
       esac ;;
    99) no_time "train smoke" ;;
    *) row "train smoke" FAIL "rc $rc: $(grep -m1 -iE 'error' "$LOG/train_smoke.log" | cut -c1-120)" ;;
  esac
fi

# ---- NCCL with one rank, no mpirun: its weights equal a single-process run's --------------------
if ! gpu_row "nccl 1 rank"; then
  NCCL_ARGS=(--set device=cuda --set train.stages.0.total_iter=30 --set train.stages.1.total_iter=10
             --set val.val_freq=1000 --set logger.save_checkpoint_freq=40 --set dist.bucket_mb=0.01)
  timed 60 train_nccl.log env NCCL_DEBUG=WARN "$CLI" train "$SMOKE" "${NCCL_ARGS[@]}" --set dist.backend=nccl \
    --set path.experiments_root="$RUNS/nccl"
  rc=$?
  if [ $rc = 0 ] && grep -q "1 rank(s) (nccl) on cuda" "$LOG/train_nccl.log"; then
    timed 60 train_single.log "$CLI" train "$SMOKE" "${NCCL_ARGS[@]}" --set path.experiments_root="$RUNS/single"
    a=$(ls -t "$RUNS"/nccl/*/training_states/*.state 2> /dev/null | head -1)
    b=$RUNS/single/$(basename "$(dirname "$(dirname "$a")")")/training_states/$(basename "$a")
    # ncclAvg over one rank is a copy: the weights agree up to the kernels' own run-to-run
    # differences (none with deterministic kernels; the row prints the largest).
    if CMP=$("$BIN/srengine_dp_check" compare "$a" "$b" 1e-5 1e-4 net_g. net_g_ema. net_d. 2>&1); then
      row "nccl 1 rank" ok "$(echo "$CMP" | tail -1 | cut -c1-110)"
    else
      row "nccl 1 rank" FAIL "weights differ from a single-process run: $(echo "$CMP" | tail -1 | cut -c1-100)"
    fi
  elif [ $rc = 99 ]; then
    no_time "nccl 1 rank"
  else
    row "nccl 1 rank" FAIL "rc $rc: $(grep -m1 -iE 'error|NCCL WARN' "$LOG/train_nccl.log" | cut -c1-120)"
  fi
fi

# ---- native conv vs cuDNN on the RRDB / U-Net shapes -------------------------------------------
if ! gpu_row "bench conv"; then
  timed 100 bench_conv.log "$CLI" bench kernels --device cuda --variants all \
    --filter '^(conv_|upsample_nearest2x_conv2d_.*conv_up2$)' --repeat 10 --json "$OUT/bench_conv.json"
  case $? in
    0) row "bench conv" ok "$(awk '($1 ~ /^conv_(fwd|bwd_data|bwd_weight)\/(rrdb.rdb_conv5|unet.conv2)$/ || $1 == "conv_bwd_weight/rrdb.rdb_conv1" ||
                  $1 ~ /^upsample_nearest2x_conv2d_(fwd|bwd_data|bwd_weight)\/rrdb.conv_up2$/) &&
                 ($2 == "tf32" || $2 == "igemm_v2" || $2 == "wgmma" || $2 == "cudnn") {
                 split($1, a, "/"); sub(/^upsample_nearest2x_conv2d_/, "up_", a[1]); if (a[2] == "unet.conv2") a[1] = "s2_" a[1];
                 if (a[2] == "rrdb.rdb_conv1") a[1] = "g_" a[1];
                 t[a[1] " " $2] = $(NF - 3) }
               END { printf "ms tf32/igemm_v2/wgmma/cudnn, rdb_conv5:"; n = split("conv_fwd conv_bwd_data conv_bwd_weight", o, " ");
                     for (i = 1; i <= n; i++) printf " %s %s/%s/%s/%s", o[i], t[o[i] " tf32"], t[o[i] " igemm_v2"], t[o[i] " wgmma"], t[o[i] " cudnn"];
                     printf "; rdb_conv1 (32 out):"; n = split("g_conv_bwd_weight", o, " ");
                     for (i = 1; i <= n; i++) printf " %s %s/%s/%s/%s", o[i], t[o[i] " tf32"], t[o[i] " igemm_v2"], t[o[i] " wgmma"], t[o[i] " cudnn"];
                     printf "; unet.conv2 (4x4 stride 2):"; n = split("s2_conv_fwd s2_conv_bwd_data s2_conv_bwd_weight", o, " ");
                     for (i = 1; i <= n; i++) printf " %s %s/%s/%s/%s", o[i], t[o[i] " tf32"], t[o[i] " igemm_v2"], t[o[i] " wgmma"], t[o[i] " cudnn"];
                     printf "; conv_up2:"; n = split("up_fwd up_bwd_data up_bwd_weight", o, " ");
                     for (i = 1; i <= n; i++) printf " %s %s/%s/%s/%s", o[i], t[o[i] " tf32"], t[o[i] " igemm_v2"], t[o[i] " wgmma"], t[o[i] " cudnn"] }' "$LOG/bench_conv.log")" ;;
    99) no_time "bench conv" ;;
    *) row "bench conv" FAIL "$(tail -1 "$LOG/bench_conv.log" | cut -c1-120)" ;;
  esac
fi

# ---- wgmma's plans: each forced (SRENGINE_WGMMA_PLAN) beside its own choice ("auto") -------------
# The RRDB convs at LR 32 (rdb_conv1: 32 out, rdb_conv5: 192 in, conv_body) and LR 64
# (conv_up1), batch 16, 4 and 1: the plan rule of kernels/cuda/conv2d_wgmma_plan.h is
# confirmed where auto is within 5% of the fastest forced plan (logs/bench_wgmma_plans.txt:
# batch, case, plan, median ms).
if ! gpu_row "bench wgmma plans"; then
  if [ "$ARCH" != 90a ]; then
    row "bench wgmma plans" skip "wgmma needs sm_90a (this is sm_$ARCH)"
  else
    re='^conv_(fwd|bwd_data)/rrdb\.(rdb_conv1|rdb_conv5|conv_body|conv_up1)$'
    plans_log=$LOG/bench_wgmma_plans.txt
    : > "$plans_log"
    rc=0
    section_end=$((SECONDS + 90))
    for b in 16 4 1; do
      for plan in auto 128x64:8x16 128x64:16x8 64x64:8x8 64x64:4x16 128x32:8x16 128x32:16x8 64x32:8x8 64x32:4x16; do
        ((SECONDS > section_end)) && { rc=98; break 2; }
        log=bench_wgmma_${plan/:/_}_b$b.log
        timed 30 "$log" env SRENGINE_WGMMA_PLAN="${plan#auto}" "$CLI" bench kernels --device cuda --variants wgmma \
          --filter "$re" --batch "$b" --repeat 10 --no-ceilings
        rc=$?
        [ $rc = 0 ] || break 2
        awk -v p="$plan" -v b="$b" '$2 == "wgmma" { print "b" b, $1, p, $(NF - 3) }' "$LOG/$log" >> "$plans_log"
      done
    done
    summary=$(awk '{ k = $1 " " $2; if ($3 == "auto") a[k] = $4; else if (!(k in best) || $4 < best[k]) { best[k] = $4; bp[k] = $3 } }
                   END { n = 0; ok = 0; worst = 1; for (k in a) if (k in best) { n++; r = a[k] / best[k]; if (r <= 1.05) ok++;
                           if (r > worst) { worst = r; w = k " auto " a[k] " ms, " bp[k] " " best[k] " ms" } }
                         printf "auto within 5%% of the best forced plan in %d of %d rows", ok, n;
                         if (worst > 1.05) printf "; worst %s", w }' "$plans_log")
    case $rc in
      0) row "bench wgmma plans" ok "$summary" ;;
      98) row "bench wgmma plans" skip "90 s spent after $(wc -l < "$plans_log") rows: $summary" ;;
      99) no_time "bench wgmma plans" ;;
      *) row "bench wgmma plans" FAIL "rc $rc: $(tail -1 "$LOG/$log" | cut -c1-120)" ;;
    esac
  fi
fi

# ---- training step vs PyTorch, TF32 then bf16 --------------------------------------------------
# bf16 runs srengine's native bf16 kernels (wgmma on sm_90a, else igemm_v2): the dense blocks'
# packed twins and the trunk's links only exist there.
bf16_impl=igemm_v2
[ "$ARCH" = 90a ] && bf16_impl=wgmma
for prec in tf32 bf16; do
  gpu_row "train vs torch $prec" && continue
  if ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2> /dev/null; then
    row "train vs torch $prec" skip "no CUDA PyTorch in $PY (set SRENGINE_TORCH_PYTHON)"
    continue
  fi
  impl_args=()
  [ "$prec" = bf16 ] && impl_args=(--conv-impl "$bf16_impl")
  timed 130 "bench_train_$prec.log" "$ROOT/tools/bench_train_vs_torch.sh" --device cuda --precision "$prec" \
    "${impl_args[@]}" --python "$PY" --bin "$CLI" --iters 8 --warmup 2 --out "$RUNS/bench_train_$prec"
  case $? in
    0) { echo "## $prec"; cat "$RUNS/bench_train_$prec/table.md"; echo; } >> "$OUT/bench_train.md"
       mkdir -p "$LOG/bench_train_$prec" && cp "$RUNS/bench_train_$prec"/*.json "$LOG/bench_train_$prec/" 2> /dev/null
       row "train vs torch $prec" ok "${impl_args[1]:+${impl_args[1]}: }srengine/PyTorch eager, graph: $(grep -E '^\| gpu_' "$RUNS/bench_train_$prec/table.md" | awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $6); gsub(/ /, "", $8); printf "%s %s, %s; ", $2, $6, $8}')" ;;
    99) no_time "train vs torch $prec" ;;
    *) row "train vs torch $prec" FAIL "$(grep -m1 -iE 'error|Traceback' "$LOG/bench_train_$prec.log" | cut -c1-120)" ;;
  esac
done

# ---- as time allows: racecheck, every kernel's row, one profile --------------------------------
sanitize "racecheck conv+rdb" racecheck 90 "cuda/conv2d_variants" "cuda/ops_rdb" "cuda/ops_conv"
if ! gpu_row "bench all"; then
  timed 90 bench_all.log "$CLI" bench kernels --device cuda --filter '^(?!conv_)' --repeat 10 --json "$LOG/bench_all.json"
  case $? in
    0) row "bench all" ok "$(grep -cE '^[a-z0-9_]+/' "$LOG/bench_all.log") rows; $(grep -m1 -oE 'copy [0-9]+ MB [0-9.]+ GB/s' "$LOG/bench_all.log")" ;;
    99) no_time "bench all" ;;
    *) row "bench all" FAIL "$(tail -1 "$LOG/bench_all.log" | cut -c1-120)" ;;
  esac
fi
if ! gpu_row "ncu igemm"; then
  if command -v ncu > /dev/null; then
    timed 60 ncu.log ncu --clock-control none -k 'regex:igemm' -c 3 --section SpeedOfLight --section Occupancy \
      "$CLI" bench kernels --device cuda --filter 'conv_fwd/rrdb.rdb.conv5' --repeat 1 --warmup 0 --no-ceilings
    case $? in
      0) row "ncu igemm" ok "$(grep -m1 -E 'Compute \(SM\) Throughput' "$LOG/ncu.log" | tr -s ' ' | cut -c1-50); $(grep -m1 -E 'Memory Throughput' "$LOG/ncu.log" | tr -s ' ' | cut -c1-50)" ;;
      99) no_time "ncu igemm" ;;
      *) row "ncu igemm" FAIL "$(grep -m1 -iE 'error' "$LOG/ncu.log" | cut -c1-120)" ;;
    esac
  else
    row "ncu igemm" skip "no ncu"
  fi
fi
exit $FAILED
