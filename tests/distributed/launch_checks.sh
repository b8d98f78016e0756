#!/usr/bin/env bash
# How `srengine train` meets launches a BasicSR user may try (docs/DISTRIBUTED.md), on
# tests/distributed/dp_tiny.json:
#   launch_checks.sh MODE SRENGINE SOURCE_DIR WORK_DIR MPIRUN... -np 2
#   torchrun_env     RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 without mpirun (as torchrun starts a
#                    process): an error naming the variables and mpirun, nothing written
#   ranks_differ     mpirun -np 1 A : -np 1 A --set datasets.train.use_hflip=false: the job
#                    ends at start-up naming the key and both values, nothing written
#   batch_in_log     the stage's first log line says the batch is per rank and the global
#                    batch; a state of 2 ranks x 2 resumed by 1 process x 2 says both
#   srun_no_pmi      srun's variables (task 0 of 2) in a process MPI initialises alone, as srun
#                    starts an MPI without Slurm's PMI: an error naming srun, its variables
#                    and `srun --mpi=pmix`, nothing written (the tasks used to train alone)
#   hydra_no_pmi     the same with a Hydra mpiexec's PMI_SIZE / PMI_RANK (rank 1 of 2)
#   bad_image_rank1  skip_bad_images with one image cut short, 2 ranks x 1 over 4 epochs of 4
#                    images: rank 1 draws it in some epoch (seed 5) and says so on the console
#                    (rank 0 alone writes train.log, so rank 1's warning used to be lost)
set -uo pipefail
mode=$1 bin=$2 src=$3 work=$4
shift 4
mpirun=("$@")
cfg=$src/tests/distributed/dp_tiny.json

fail() { echo "FAIL: $*"; exit 1; }

# expect_error NAME MESSAGE COMMAND...: COMMAND fails within 60 s (no hang) printing MESSAGE,
# and leaves no experiment folder $work/NAME.
expect_error() {
  local name=$1 message=$2 status=0 out
  shift 2
  out=$(timeout 60 "$@" 2>&1) || status=$?
  echo "$out" | grep -v "iter [0-9]*/" | head -20
  [ "$status" -ne 124 ] || fail "the job hung"
  [ "$status" -ne 0 ] || fail "the job exited 0"
  grep -qF -- "$message" <<<"$out" || fail "'$message' not in the output"
  [ ! -e "$work/$name" ] || fail "the run wrote $work/$name"
}

mkdir -p "$work"
common=(--set "path.experiments_root=$work" --stage psnr)
case $mode in
  torchrun_env)
    rm -rf "${work:?}/torchrun"
    expect_error torchrun "RANK=1 WORLD_SIZE=2 LOCAL_RANK=1, as torchrun does" \
      env RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 "$bin" train "$cfg" "${common[@]}" --set name=torchrun
    ;;
  srun_no_pmi)
    rm -rf "${work:?}/srun"
    expect_error srun "srun started this process as rank 0 of 2 (SLURM_STEP_NUM_TASKS=2, SLURM_PROCID=0), but MPI sees rank 0 of 1" \
      env SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=0 SLURM_LOCALID=0 "$bin" train "$cfg" "${common[@]}" --set name=srun
    expect_error srun "srun --mpi=pmix" \
      env SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=0 SLURM_LOCALID=0 "$bin" train "$cfg" "${common[@]}" --set name=srun
    ;;
  hydra_no_pmi)
    rm -rf "${work:?}/hydra"
    expect_error hydra "mpiexec started this process as rank 1 of 2 (PMI_SIZE=2, PMI_RANK=1), but MPI sees rank 0 of 1" \
      env PMI_SIZE=2 PMI_RANK=1 MPI_LOCALRANKID=1 "$bin" train "$cfg" "${common[@]}" --set name=hydra
    ;;
  ranks_differ)
    [ "${mpirun[-2]}" = "-np" ] || fail "MPIRUN must end with -np N"
    one=("${mpirun[@]:0:${#mpirun[@]}-1}" 1)  # the launcher with -np 1, for mpirun's A : B form
    rm -rf "${work:?}/differ"
    expect_error differ "rank 1 runs another job than rank 0: datasets.train.use_hflip is false here but true" \
      "${one[@]}" "$bin" train "$cfg" "${common[@]}" --set name=differ : \
      -np 1 "$bin" train "$cfg" "${common[@]}" --set name=differ --set datasets.train.use_hflip=false
    ;;
  batch_in_log)
    rm -rf "${work:?}/batch_log"
    timeout 60 "${mpirun[@]}" "$bin" train "$cfg" "${common[@]}" --set name=batch_log \
      --set train.stages.0.total_iter=2 --set logger.save_checkpoint_freq=2 > "$work/batch_log.out" 2>&1 ||
      { cat "$work/batch_log.out"; fail "the 2-rank run failed"; }
    log=$work/batch_log/train.log
    grep "stage 1/2" "$log"
    grep -q "batch 2 per rank (4 per iteration over all ranks), 2 rank(s) (mpi)" "$log" ||
      fail "the stage line does not give the batch per rank and the global batch"
    timeout 60 "$bin" train "$cfg" "${common[@]}" --set name=batch_log --resume auto \
      --set train.stages.0.total_iter=3 > "$work/batch_log.out" 2>&1 ||
      { cat "$work/batch_log.out"; fail "the 1-process resume failed"; }
    grep "state was saved by" "$log" || true
    grep -q "the state was saved by 2 rank(s), global batch 4; this run has 1 rank(s), global batch 2" "$log" ||
      fail "the resume on another world size is not logged"
    ;;
  bad_image_rank1)
    data=$work/bad_image
    rm -rf "$data" "${work:?}/bad_image_run" && mkdir -p "$data"
    for f in mate_aqua mate_blinds mate_dune mate_garden; do cp "$src/datasets/train_photos/$f.png" "$data/"; done
    truncate -s $(($(stat -c %s "$data/mate_dune.png") / 2)) "$data/mate_dune.png"
    timeout 60 "${mpirun[@]}" "$bin" train "$cfg" "${common[@]}" --set name=bad_image_run \
      --set "datasets.train.dataroot_gt=$data" --set datasets.train.skip_bad_images=true \
      --set datasets.train.batch_size_per_gpu=1 --set train.stages.0.total_iter=8 > "$work/bad_image.out" 2>&1 ||
      { cat "$work/bad_image.out"; fail "the run failed"; }
    grep "skipping bad image" "$work/bad_image.out" || true
    grep -q "^rank 1: warning: skipping bad image (skip_bad_images): .*mate_dune.png" "$work/bad_image.out" ||
      fail "rank 1's skipped image was not reported"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
echo "ok: $mode"
