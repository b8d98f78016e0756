#!/usr/bin/env bash
# srengine's CPU inference vs ONNX Runtime's on the same model, side by side in one run: for
# each case, random weights (BasicSR names, tools/torch_nets.py), `srengine export` to ONNX
# (fp32), then `srengine bench train --stage infer` (network_g's forward, no autograd) and
# tools/ort/bench_model.js (ONNX Runtime's CPU provider) back to back on the same input
# shape and thread count. Prints a markdown table with medians and the ratio
# srengine/ORT (< 1: srengine is faster).
#
#   tools/bench_vs_ort.sh [--bin build/srengine] [--out bench-ort] [--threads N] [--iters 5]
#                         [--cases srvgg256,srvgg512,rrdb64,swinir64]
# (swinir: SwinIR-light x4, BasicSR's lightweight options)
#
# Needs /usr/bin/python3 with python3-torch (the weights) and tools/ort/node_modules
# (tools/setup.sh installs onnxruntime-node).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/srengine"
out=bench-ort
threads=$(nproc)
iters=5
cases="srvgg256,srvgg512,rrdb64"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | cut -c3-; exit 0 ;;
    *) echo "bench_vs_ort.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
[ -d "$root/tools/ort/node_modules/onnxruntime-node" ] || { echo "bench_vs_ort.sh: run tools/setup.sh first (onnxruntime-node)" >&2; exit 1; }

# case -> network options and the LR side (square input, batch 1)
net_of() {
  case "$1" in
    srvgg*) echo '{"type": "SRVGGNetCompact", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 32, "upscale": 4, "act_type": "prelu"}' ;;
    rrdb*) echo '{"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 64, "num_block": 23, "num_grow_ch": 32}' ;;
    swinir*) echo '{"type": "SwinIR", "upscale": 4, "in_chans": 3, "img_size": 64, "window_size": 8, "img_range": 1.0, "depths": [6, 6, 6, 6], "embed_dim": 60, "num_heads": [6, 6, 6, 6], "mlp_ratio": 2, "upsampler": "pixelshuffledirect", "resi_connection": "1conv"}' ;;
    *) echo "bench_vs_ort.sh: unknown case '$1'" >&2; exit 2 ;;
  esac
}
side_of() { echo "${1//[a-z]/}"; }

echo "| model | input | threads | srengine ms | ONNX Runtime ms | srengine / ORT |"
echo "|---|---|---|---|---|---|"
IFS=, read -ra list <<< "$cases"
for c in "${list[@]}"; do
  net=$(net_of "$c")
  side=$(side_of "$c")
  SRENGINE_ROOT="$root" /usr/bin/python3 - "$out/$c.safetensors" "$net" <<'PY'
import json, sys, os
sys.path.insert(0, os.environ["SRENGINE_ROOT"] + "/tools")
import torch
from safetensors_file import write_safetensors
from torch_nets import RRDBNet, SRVGGNetCompact, SwinIR
opt = json.loads(sys.argv[2])
torch.manual_seed(0)
if opt["type"] == "RRDBNet":
    net = RRDBNet(3, 3, opt["scale"], opt["num_feat"], opt["num_block"], opt["num_grow_ch"])
elif opt["type"] == "SwinIR":
    net = SwinIR(**{k: v for k, v in opt.items() if k != "type"})
else:
    net = SRVGGNetCompact(3, 3, opt["num_feat"], opt["num_conv"], opt["upscale"], opt["act_type"])
write_safetensors(sys.argv[1], {k: v.float() for k, v in net.state_dict().items()})
PY
  printf '{"name": "bench_%s", "scale": 4, "network_g": %s}\n' "$c" "$net" > "$out/$c.json"
  "$bin" export --config "$out/$c.json" --weights "$out/$c.safetensors" --output "$out/$c.onnx" > /dev/null
  "$bin" bench train --config "$root/configs/quickstart_x4.json" --stage infer --iters "$iters" --warmup 1 \
    --threads "$threads" --set "network_g=$net" --set "datasets.train.gt_size=$((side * 4))" \
    --set datasets.train.batch_size_per_gpu=1 --json "$out/$c.srengine.json" > /dev/null
  node "$root/tools/ort/bench_model.js" "$out/$c.onnx" 1 3 "$side" "$side" "$threads" "$iters" 1 > "$out/$c.ort.json"
  /usr/bin/python3 - "$c" "$side" "$threads" "$out/$c.srengine.json" "$out/$c.ort.json" <<'PY'
import json, sys
c, side, threads, s_path, o_path = sys.argv[1:]
s = json.load(open(s_path))[0]["step_ms_median"]
o = json.load(open(o_path))["median_ms"]
print(f"| {c.rstrip('0123456789')} x4 | {side}x{side} | {threads} | {s:.1f} | {o:.1f} | {s / o:.2f} |")
PY
done
