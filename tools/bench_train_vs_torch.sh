#!/usr/bin/env bash
# srengine vs PyTorch on whole training iterations (`tools/bench_vs_torch.sh --train`):
# for each workload, `srengine bench train --list-json` describes it (nets, batch shape,
# losses, optimizers, EMA), srengine times it, then tools/peer_torch.py train times the
# same workload in PyTorch, back to back; the 1-minute load average is recorded before and
# after each pair. The JSON files are joined into one markdown table with the ratio
# srengine/PyTorch per row (< 1: srengine is faster) against its target (docs/PERFORMANCE.md).
# On a GPU srengine also times the replays of the captured iteration (its ":graph" row, what
# training runs there): the table shows both, and the target is judged on the replays.
#
#   tools/bench_train_vs_torch.sh [--bin build/srengine] [--out bench-train-out]
#       [--config configs/esrgan_x4.json] [--only REGEX] [--iters N] [--warmup W]
#       [--threads N] [--max-load L] [--device cpu|cuda] [--precision tf32|bf16] [--conv-impl V]
#       [--python PY]
#
# --device cuda times the GPU workloads instead (batch 16 training steps, the GPU target:
# srengine / PyTorch <= 1/1.2). --precision tf32 (default): srengine's default conv (TF32
# tensor cores) against PyTorch eager with cuDNN in TF32; bf16: srengine's bf16 conv
# (SRENGINE_CONV_IMPL=bf16) against PyTorch under bf16 autocast; --conv-impl names another bf16
# variant for it (igemm_v2, or wgmma on sm_90a: the native kernels with the dense block's packed
# twin). --python names the interpreter that has PyTorch (default: $SRENGINE_TORCH_PYTHON, else
# python3 on PATH).
#
# --max-load L waits (up to 5 minutes) before each workload until the 1-minute load
# average is below L and the CPUs were >= 90% idle over 2 seconds.
# Output: OUT/<workload>.{list,srengine,torch,meta}.json, OUT/table.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/srengine"
out=bench-train-out
config="$root/configs/esrgan_x4.json"
only=""
iters=""
warmup=2
threads=$(nproc)
max_load=""
device=cpu
python=${SRENGINE_TORCH_PYTHON:-python3}
precision=tf32
bf16_impl=bf16
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --max-load) max_load=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --conv-impl) bf16_impl=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | cut -c3-; exit 0 ;;
    *) echo "bench_train_vs_torch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$bf16_impl" in
  bf16|igemm_v2|wgmma) ;;
  *) echo "bench_train_vs_torch.sh: --conv-impl must be a bf16 variant (bf16, igemm_v2, wgmma), got '$bf16_impl'" >&2
     exit 2 ;;
esac
[ "$bf16_impl" = bf16 ] || [ "$precision" = bf16 ] || {
  echo "bench_train_vs_torch.sh: --conv-impl $bf16_impl needs --precision bf16" >&2; exit 2; }
case "$precision" in
  tf32) conv_impl="" ;;
  bf16) conv_impl=$bf16_impl ;;
  *) echo "bench_train_vs_torch.sh: --precision must be tf32 or bf16, got '$precision'" >&2; exit 2 ;;
esac
[ "$device" = cuda ] || [ "$precision" = tf32 ] || { echo "bench_train_vs_torch.sh: --precision bf16 needs --device cuda" >&2; exit 2; }
command -v "$python" > /dev/null || { echo "bench_train_vs_torch.sh: no python interpreter '$python' (use --python)" >&2; exit 2; }
[ -x "$bin" ] || { echo "bench_train_vs_torch.sh: no srengine binary at $bin (use --bin)" >&2; exit 2; }
mkdir -p "$out"

# name | default iterations | target ratio | srengine bench train arguments (after --config)
batch() { echo "--set datasets.train.batch_size_per_gpu=$1 --set datasets.train.gt_size=$2"; }
tiny="--set network_g.num_feat=16 --set network_g.num_block=2 --set network_g.num_grow_ch=8"
if [ "$device" = cpu ]; then
  workloads=(
    "rrdb_l1_b4|5|1.0|--stage psnr $(batch 4 128)"
    "rrdb_gan_b1|5|1.0|--stage gan $(batch 1 128)"
    "rrdb_infer_b1|5|1.0|--stage infer $(batch 1 256)"
    "tiny_l1_b4|30|0.5|--stage psnr $(batch 4 128) $tiny"
  )
else
  workloads=(
    "gpu_rrdb_l1_b16|20|0.83|--stage psnr $(batch 16 128)"
    "gpu_rrdb_gan_b16|20|0.83|--stage gan $(batch 16 128)"
    "gpu_rrdb_infer_b1|20|1.0|--stage infer $(batch 1 256)"
  )
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
# Percentage of CPU time idle over the next 2 seconds (from /proc/stat): the load average
# lags by a minute, this does not.
idle_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local busy=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  for i in 1 2 3 6 7 8; do busy=$(( busy + b[i] - a[i] )); done
  echo $(( 100 * idle / (idle + busy + 1) ))
}
wait_for_load() {
  [ -n "$max_load" ] || return 0
  for _ in $(seq 1 60); do
    awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l < m) }' && [ "$(idle_pct)" -ge 90 ] && return 0
    sleep 3
  done
  echo "bench_train_vs_torch.sh: load still $(load1) after 5 minutes; measuring anyway" >&2
}

names=()
for w in "${workloads[@]}"; do
  IFS='|' read -r name n target args <<< "$w"
  [ -z "$only" ] || [[ "$name" =~ $only ]] || continue
  n=${iters:-$n}
  names+=("$name")
  # shellcheck disable=SC2086  # $args is a list of words
  "$bin" bench train --config "$config" $args --list-json "$out/$name.list.json"
  wait_for_load
  before=$(load1)
  echo "== $name (load $before)"
  # shellcheck disable=SC2086
  SRENGINE_CONV_IMPL=${conv_impl:-${SRENGINE_CONV_IMPL:-}} \
    "$bin" bench train --config "$config" $args --device "$device" --iters "$n" --warmup "$warmup" --threads "$threads" \
    --json "$out/$name.srengine.json"
  peer_precision=()
  [ "$device" = cuda ] && peer_precision=(--precision "$precision")
  "$python" "$root/tools/peer_torch.py" train --workloads "$out/$name.list.json" --iters "$n" \
    --warmup "$warmup" --threads "$threads" --device "$device" "${peer_precision[@]}" --json "$out/$name.torch.json"
  printf '{"name": "%s", "target": %s, "load_before": %s, "load_after": %s, "conv_impl": "%s"}\n' "$name" "$target" \
    "$before" "$(load1)" "${conv_impl:-${SRENGINE_CONV_IMPL:-default}}" > "$out/$name.meta.json"
done

"$python" - "$out" "${names[@]}" > "$out/table.md" <<'EOF'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
load = lambda n, k: json.load(open(os.path.join(out, "%s.%s.json" % (n, k))))
first = load(names[0], "srengine")[0] if names else {}
torch0 = load(names[0], "torch")[0] if names else {}
meta0 = load(names[0], "meta") if names else {}
where = ("float32 on the CPU" if first.get("device", "cpu") == "cpu" else
         "on %s, srengine's conv variant %s, PyTorch in %s" % (first.get("device"), meta0.get("conv_impl", "?"),
                                                               torch0.get("precision", "?")))
print("Measured %s. srengine %s (%d threads), PyTorch %s (%d threads), %s, synthetic batches; "
      "median of the iterations after the warm-up; srengine then PyTorch back to back per row; load = 1-minute "
      "load average before / after the pair." % (first.get("date", "?"), first.get("version", "?"),
      first.get("threads", 0), torch0.get("version", "?"), torch0.get("threads", 0), where))
print()
print("| workload | shape | srengine ms | PyTorch ms | srengine / PyTorch | srengine graph ms (graph / eager) "
      "| graph / PyTorch | target | LR px/s srengine / PyTorch "
      "| srengine fwd / bwd / opt ms | PyTorch fwd / bwd / opt ms | peak memory MB srengine / PyTorch (RSS on the CPU, device on CUDA) | load |")
print("|---|---|---:|---:|---:|---:|---:|---|---|---|---|---|---|")
for n in names:
    rows, t, m = load(n, "srengine"), load(n, "torch")[0], load(n, "meta")
    s = rows[0]  # the eager row; on a GPU the ":graph" row (replays, what training runs) follows it
    graph = next((r for r in rows if r.get("mode") == "graph"), None)
    w = s["workload"]
    g = w["network_g"]
    net = g.get("type", "RRDBNet")
    blocks = {"RRDBNet": "nb%d gc%d" % (g.get("num_block", 23), g.get("num_grow_ch", 32)),
              "RCAN": "ng%d nb%d" % (g.get("num_group", 10), g.get("num_block", 16))}.get(net, "nb%d" % g.get("num_block", 16))
    shape = "%s %s nf%d %s x%d, batch %d, LR %dpx" % (w["type"], net, g.get("num_feat", 64), blocks, w["scale"],
            w["batch"], w["lr_size"])
    if "network_d" in w:
        shape += ", D nf%d %dpx" % (w["network_d"].get("num_feat", 64), w["gt_size"])
    ratio = s["step_ms_median"] / t["step_ms_median"]
    graph_ms = "%.1f (%.2f)" % (graph["step_ms_median"], graph["graph_over_eager"]) if graph else "-"
    graph_ratio = graph["step_ms_median"] / t["step_ms_median"] if graph else None
    # The target is met by what training runs: the replays where it captures.
    trained = graph_ratio if graph else ratio
    verdict = "met" if trained <= m["target"] else "missed"
    phases = lambda r: "%.0f / %.0f / %.0f" % (r["forward_ms"], r["backward_ms"], r["optimizer_ms"]) + (
        " (G %.0f, D %.0f)" % (r["g_step_ms"], r["d_step_ms"]) if "g_step_ms" in r else "")
    print("| %s | %s | %.1f | %.1f | %.2f | %s | %s | <= %.1f: %s | %.0f / %.0f | %s | %s | %.0f / %.0f | %.2f / %.2f |" % (
        n, shape, s["step_ms_median"], t["step_ms_median"], ratio, graph_ms,
        "%.2f" % graph_ratio if graph else "-", m["target"], verdict, s["lr_pixels_per_s"],
        t["lr_pixels_per_s"], phases(s), phases(t), s["peak_mem_mb"], t["peak_mem_mb"], m["load_before"],
        m["load_after"]))
EOF
cat "$out/table.md"
