#!/usr/bin/env bash
# srengine vs PyTorch on the same kernel cases, in one go: `srengine bench kernels` lists
# the cases, tools/peer_torch.py times each one with srengine and then with PyTorch back to
# back (so both see the same machine state), and the two JSON files are joined into one
# markdown table with the time ratio srengine/PyTorch per row (< 1: srengine is faster),
# plus the conv time of one RRDBNet / UNet training step summed over the nets' layers.
#
#   tools/bench_vs_torch.sh [--bin build/srengine] [--out bench-out] [--filter REGEX]
#                           [--batch 4] [--repeat 10] [--threads N] [--python PY]
#
# --python names the interpreter that has PyTorch (default: $SRENGINE_TORCH_PYTHON, else
# python3 on PATH).
# Output: OUT/cases.json, OUT/srengine.json, OUT/torch.json, OUT/table.md (also printed).
#
# --train: the training-step workloads instead (tools/bench_train_vs_torch.sh: srengine
# bench train and peer_torch.py train back to back per workload); the options after
# --train go to that script (see its --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--train" ]; then
  shift
  exec "$root/tools/bench_train_vs_torch.sh" "$@"
fi
bin="$root/build/srengine"
out=bench-out
filter=""
batch=4
repeat=10
threads=$(nproc)
python=${SRENGINE_TORCH_PYTHON:-python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | cut -c3-; exit 0 ;;
    *) echo "bench_vs_torch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "bench_vs_torch.sh: no srengine binary at $bin (use --bin)" >&2; exit 2; }
mkdir -p "$out"
filter_args=()
[ -n "$filter" ] && filter_args=(--filter "$filter")

"$bin" bench kernels --list-json "$out/cases.json" --batch "$batch" "${filter_args[@]}"
"$python" "$root/tools/peer_torch.py" --cases "$out/cases.json" --json "$out/torch.json" \
  --interleave-with "$bin" --srengine-json "$out/srengine.json" --repeat "$repeat" --threads "$threads"

"$python" - "$out/srengine.json" "$out/torch.json" > "$out/table.md" <<'EOF'
import json, math, sys
se, pt = (json.load(open(p)) for p in sys.argv[1:3])
torch_rows = {r["name"]: r for r in pt["results"]}
sc, tc = se.get("ceilings", {}), pt.get("ceilings", {})
print("Measured %s. srengine %s (%s, %d threads), PyTorch %s (%d threads); batch %d, median of %d runs "
      "after %d warm-up, inputs rotated." % (se.get("date", "?"), se.get("version", "?"), se.get("isa", "?"),
      se.get("threads", 0), pt.get("version", "?"), pt.get("threads", 0), se.get("batch", 0),
      se.get("repeat", 0), se.get("warmup", 0)))
print()
if sc and tc:
    print("Ceilings measured in the same run: srengine %s %.0f GFLOP/s, PyTorch %s %.0f GFLOP/s; FMA peak "
          "(all threads, registers only) %.0f GFLOP/s; %s %.1f GB/s (srengine), %.1f GB/s (PyTorch). "
          "\"%% of ceiling\" is against srengine's GEMM (compute-bound rows) or copy (memory-bound rows); "
          "memory-bound rows whose data stays in cache exceed 100%%." % (
              sc["gemm"], sc["gemm_gflops"], tc["gemm"], tc["gemm_gflops"], sc.get("fma_peak_gflops", 0),
              sc["copy"], sc["copy_gbs"], tc["copy_gbs"]))
    print()
print("| case | shape | srengine ms | PyTorch ms | srengine / PyTorch | srengine GFLOP/s or GB/s | "
      "PyTorch GFLOP/s or GB/s | srengine % of ceiling |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in se["results"]:
    t = torch_rows.get(r["name"])
    unit = "GFLOP/s" if r["bound"] == "compute" else "GB/s"
    rate = lambda x: ("%.1f %s" % (x["gflops"] if x["bound"] == "compute" else x["gbs"], unit)) if x else "-"
    ratio = "%.2f" % (r["median_ms"] / t["median_ms"]) if t else "-"
    pct = "%.0f%%" % r["pct_ceiling"] if "pct_ceiling" in r else "-"
    print("| %s | %s | %.3f | %s | %s | %s | %s | %s |" % (r["name"], r["shape"], r["median_ms"],
          "%.3f" % t["median_ms"] if t else "-", ratio, rate(r), rate(t), pct))

# Conv time of one training step (forward + backward-data + backward-weight), summed over
# the layers of each net with their multiplicities (69 dense blocks; conv_hr = conv_up2;
# UNet conv8 = conv7). RRDBNet's conv_first needs no backward-data (its input is data).
counts = {"rrdb.conv_first": 1, "rrdb.rdb_conv1": 69, "rrdb.rdb_conv2": 69, "rrdb.rdb_conv3": 69,
          "rrdb.rdb_conv4": 69, "rrdb.rdb_conv5": 69, "rrdb.conv_body": 1, "rrdb.conv_up1": 1,
          "rrdb.conv_up2": 2, "rrdb.conv_last": 1, "unet.conv0": 1, "unet.conv1": 1, "unet.conv2": 1,
          "unet.conv3": 1, "unet.conv4": 1, "unet.conv5": 1, "unet.conv6": 1, "unet.conv7": 2, "unet.conv9": 1}
def step_ms(rows, net, directions):
    # None unless every (layer, direction) of the net is present.
    want = {(op, layer) for layer in counts if layer.startswith(net + ".") for op in directions
            if not (op == "conv_bwd_data" and layer == "rrdb.conv_first")}
    got = {}
    for r in rows:
        op, _, layer = r["name"].partition("/")
        if (op, layer) in want:
            got[(op, layer)] = counts[layer] * r["median_ms"]
    return sum(got.values()) if set(got) == want else None
se_rows = se["results"]
pt_rows = [torch_rows[r["name"]] for r in se_rows if r["name"] in torch_rows]
lines = []
for net, label in (("rrdb", "RRDBNet"), ("unet", "UNetDiscriminatorSN")):
    for dirs, what in ((("conv_fwd",), "forward"), (("conv_fwd", "conv_bwd_data", "conv_bwd_weight"),
                                                     "forward + backward")):
        a, b = step_ms(se_rows, net, dirs), step_ms(pt_rows, net, dirs)
        if a is not None and b is not None:
            lines.append("| %s convs, %s | %.1f | %.1f | %.2f |" % (label, what, a, b, a / b))
if lines:
    print()
    print("Conv time of one step, summed over each net's layers with their multiplicities (batch %d):" %
          se.get("batch", 0))
    print()
    print("| | srengine ms | PyTorch ms | srengine / PyTorch |")
    print("|---|---:|---:|---:|")
    print("\n".join(lines))
EOF
cat "$out/table.md"
