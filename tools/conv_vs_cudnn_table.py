#!/usr/bin/env python3
"""Native conv against cuDNN, one markdown table, from `srengine bench kernels --device cuda
--variants all --json FILE` (tools/gpu_check.sh writes it as bench_conv.json).

    python3 tools/conv_vs_cudnn_table.py bench_conv.json [--nets rrdb,unet]

One row per layer and direction: the median ms of the native TF32, bf16, igemm_v2 (bf16,
cp.async + ldmatrix) and wgmma (bf16, TMA + wgmma, sm_90a) kernels, cuDNN with TF32 allowed and cuDNN in fp32 (the oracle), and
native speed relative to cuDNN
(cuDNN ms / native ms: >= 0.8 is the target, > 1 is faster than cuDNN). The last rows sum
the times over one pass of each net, each layer weighted by how often the net runs it
(the RRDB trunk's five dense-block convs 69 times; conv_hr has conv_up2's shape, the
U-Net's conv8 conv7's), as `srengine bench kernels` weights its summary lines.
"""
import argparse
import json
import sys
from collections import OrderedDict

DIRECTIONS = ("conv_fwd", "conv_bwd_data", "conv_bwd_weight")
SHORT = {"conv_fwd": "fwd", "conv_bwd_data": "bwd data", "conv_bwd_weight": "bwd weight"}
# How often each layer shape runs in one pass: 23 RRDBs x 3 RDBs per RDB conv of RRDBNet
# nf64 nb23; conv_hr is conv_up2's shape, the U-Net's conv8 conv7's.
RRDB_REPEATS = {"rrdb.rdb_conv%d" % k: 69 for k in range(1, 6)}
RRDB_REPEATS.update({"rrdb.conv_up2": 2, "unet.conv7": 2})


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--nets", default="rrdb,unet", help="comma-separated layer prefixes")
    args = ap.parse_args(argv)
    with open(args.json) as f:
        d = json.load(f)
    nets = args.nets.split(",")
    times = OrderedDict()
    shapes = {}
    for r in d["results"]:
        op, layer = r["name"].split("/", 1)
        if op not in DIRECTIONS or layer.split(".")[0] not in nets:
            continue
        times.setdefault((layer, op), {})[r["variant"]] = r["median_ms"]
        shapes[layer] = r["shape"]
    print("Measured %s on %s, batch %d, median of %d runs after %d warm-up, srengine %s." % (
        d.get("date", "?"), d.get("device", "?"), d.get("batch", 0), d.get("repeat", 0), d.get("warmup", 0),
        d.get("version", "?")))
    print()
    print("| layer | shape | direction | tf32 ms | bf16 ms | igemm_v2 ms | wgmma ms | cuDNN ms | cuDNN fp32 ms "
          "| tf32 vs cuDNN | bf16 vs cuDNN | igemm_v2 vs cuDNN | wgmma vs cuDNN |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    later = ("igemm_v2", "wgmma")  # variants newer than some files: their columns may stay empty
    sums = {}
    for (layer, op), v in times.items():
        need = ("tf32", "bf16", "cudnn", "cudnn_fp32")
        for k in later:  # (a file from before the variant, or a GPU without sm_90a)
            v.setdefault(k, float("nan"))
        if any(k not in v for k in need):
            continue
        net = layer.split(".")[0]
        rep = RRDB_REPEATS.get(layer, 1)
        for k in need + later:
            sums.setdefault(net, {}).setdefault(k, 0.0)
            sums[net][k] += rep * v[k]
        print("| %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f |" % (
            layer, shapes[layer], SHORT[op], v["tf32"], v["bf16"], v["igemm_v2"], v["wgmma"], v["cudnn"],
            v["cudnn_fp32"], v["cudnn"] / v["tf32"], v["cudnn"] / v["bf16"], v["cudnn"] / v["igemm_v2"],
            v["cudnn"] / v["wgmma"]))
    for net, s in sums.items():
        label = "RRDBNet pass (RDB convs x69, conv_up2 x2)" if net == "rrdb" else "U-Net pass (conv7 x2)"
        print("| **%s** | all layers | fwd + bwd | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            label, s["tf32"], s["bf16"], s["igemm_v2"], s["wgmma"], s["cudnn"], s["cudnn_fp32"],
            s["cudnn"] / s["tf32"], s["cudnn"] / s["bf16"], s["cudnn"] / s["igemm_v2"], s["cudnn"] / s["wgmma"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
