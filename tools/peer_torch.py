#!/usr/bin/python3
"""PyTorch peer of `srengine bench kernels`: the same cases, timed the same way.

The case list comes from srengine itself (`srengine bench kernels --list-json FILE`), so
the shapes cannot drift. Each case runs as PyTorch eager would run it in training
(F.conv2d / aten.convolution_backward, F.interpolate and its aten backward, ...) in
float32 with torch.set_num_threads(--threads), inputs rotated over --rotations copies,
--warmup untimed runs, then the median of --repeat timed runs. Output: a table, and with
--json the same JSON format as srengine's (tool "pytorch").

--interleave-with SRENGINE runs, for every case, srengine's timing of that case (a
subprocess with --filter '^case$') immediately before PyTorch's, so both see the same
machine state; tools/bench_vs_torch.sh uses this and prints the side-by-side table.

`peer_torch.py train` is the peer of `srengine bench train`: the workloads (nets, batch
shape, losses, optimizers, EMA) come from `srengine bench train --list-json FILE`, and
tools/peer_torch_train.py runs them as BasicSR does in plain PyTorch.

Usage:
  peer_torch.py --cases cases.json [--json torch.json] [--filter REGEX] [--threads 2]
                [--repeat 10] [--warmup 2] [--rotations 4]
                [--interleave-with build/srengine --srengine-json srengine.json]
  peer_torch.py train --workloads list.json [--json torch.json] [--iters 10] [--warmup 2]
                [--threads 2]
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F


def conv_setup(p, op, rot):
    n, c, h, w, k, r = (int(p[x]) for x in ("N", "C", "H", "W", "K", "R"))
    st, pad, has_bias = int(p["stride"]), int(p["pad"]), bool(p["bias"])
    po = (h + 2 * pad - r) // st + 1
    wt = torch.empty(k, c, r, r).uniform_(-0.1, 0.1)
    bias = torch.empty(k).uniform_(-1, 1) if has_bias else None
    xs = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
    if op == "conv_fwd":
        return lambda i: F.conv2d(xs[i % rot], wt, bias, st, pad)
    dys = [torch.empty(n, k, po, po).uniform_(-1, 1) for _ in range(rot)]
    mask = [True, False, False] if op == "conv_bwd_data" else [False, True, has_bias]
    bias_sizes = [k] if has_bias else None

    def run(i):
        return torch.ops.aten.convolution_backward(dys[i % rot], xs[i % rot], wt, bias_sizes, [st, st],
                                                   [pad, pad], [1, 1], False, [0, 0], 1, mask)
    return run


def shape4(p):
    return tuple(int(p[x]) for x in ("N", "C", "H", "W"))


def resample_setup(p, op, rot):
    n, c, h, w = shape4(p)
    if op in ("pixel_shuffle", "pixel_unshuffle"):
        r = int(p["r"])
        if op == "pixel_shuffle":  # (N, C*r*r, H, W) -> (N, C, H*r, W*r)
            xs = [torch.empty(n, c * r * r, h, w).uniform_(-1, 1) for _ in range(rot)]
            return lambda i: F.pixel_shuffle(xs[i % rot], r)
        xs = [torch.empty(n, c, h * r, w * r).uniform_(-1, 1) for _ in range(rot)]
        return lambda i: F.pixel_unshuffle(xs[i % rot], r)
    r = int(p["r"])  # the upsampling factor
    small = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
    big = [torch.empty(n, c, r * h, r * w).uniform_(-1, 1) for _ in range(rot)]
    if op == "upsample_nearest_fwd":
        return lambda i: F.interpolate(small[i % rot], scale_factor=r, mode="nearest")
    if op == "upsample_nearest_bwd":
        return lambda i: torch.ops.aten.upsample_nearest2d_backward(big[i % rot], [r * h, r * w], [n, c, h, w])
    if op == "upsample_bilinear_fwd":
        return lambda i: F.interpolate(small[i % rot], scale_factor=r, mode="bilinear", align_corners=False)
    return lambda i: torch.ops.aten.upsample_bilinear2d_backward(big[i % rot], [r * h, r * w], [n, c, h, w],
                                                                 False, float(r), float(r))


def pointwise_setup(p, op, rot):
    n, c, h, w = shape4(p)
    numel = n * c * h * w
    if op in ("bias_lrelu_fwd", "bias_lrelu_bwd"):
        xs = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
        b = torch.empty(1, c, 1, 1).uniform_(-1, 1)
        if op == "bias_lrelu_fwd":
            return lambda i: F.leaky_relu(xs[i % rot] + b, 0.2)
        ys = [F.leaky_relu(x + b, 0.2) for x in xs]
        dys = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]

        def run(i):
            dx = torch.ops.aten.leaky_relu_backward(dys[i % rot], ys[i % rot], 0.2, True)
            return dx, dx.sum((0, 2, 3))
        return run
    if op == "residual_axpby":
        xs = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
        rs = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
        return lambda i: torch.add(xs[i % rot], rs[i % rot], alpha=0.2)
    xs = [torch.empty(n, c, h, w).uniform_(-2, 2) for _ in range(rot)]
    if op.startswith("l1_loss"):
        ts = [torch.empty(n, c, h, w).uniform_(-1, 1) for _ in range(rot)]
        if op == "l1_loss_fwd":
            return lambda i: F.l1_loss(xs[i % rot], ts[i % rot]).item()
        return lambda i: torch.sign(xs[i % rot] - ts[i % rot]).mul_(1.0 / numel)
    if op == "hinge_loss_fwd":
        return lambda i: F.relu(1.0 - xs[i % rot]).mean().item()
    # d/dx mean(relu(1 - x)) = -1/n where x < 1
    return lambda i: torch.where(xs[i % rot] < 1.0, -1.0 / numel, 0.0)


def spectral_norm_setup(p, op, rot):
    rows, cols = int(p["rows"]), int(p["cols"])
    ws = [torch.empty(rows, cols).uniform_(-0.1, 0.1) for _ in range(rot)]
    state = {"u": F.normalize(torch.randn(rows), dim=0), "v": F.normalize(torch.randn(cols), dim=0)}

    def run(i):  # torch.nn.utils.spectral_norm's compute_weight, one power iteration
        w = ws[i % rot]
        state["v"] = F.normalize(torch.mv(w.t(), state["u"]), dim=0, eps=1e-12)
        state["u"] = F.normalize(torch.mv(w, state["v"]), dim=0, eps=1e-12)
        return torch.dot(state["u"], torch.mv(w, state["v"])).item()
    return run


def rrdbnet_param_sizes():
    sizes = []

    def conv(cin, cout):
        sizes.extend([cout * cin * 9, cout])
    conv(3, 64)
    for _ in range(23 * 3):
        for i in range(4):
            conv(64 + 32 * i, 32)
        conv(192, 64)
    for _ in range(4):
        conv(64, 64)
    conv(64, 3)
    return sizes


def optimizer_setup(p, op, rot):
    params = [torch.empty(s).uniform_(-0.1, 0.1) for s in rrdbnet_param_sizes()]
    if op == "ema":
        ema = [x.clone() for x in params]

        def run(i):  # BasicSR's model_ema
            for e, q in zip(ema, params):
                e.mul_(0.999).add_(q, alpha=0.001)
        return run
    for q in params:
        q.requires_grad_(True)
        q.grad = torch.empty_like(q).uniform_(-0.01, 0.01)
    opt = torch.optim.Adam(params, lr=1e-4)
    return lambda i: opt.step()


SETUPS = {
    "conv_fwd": conv_setup, "conv_bwd_data": conv_setup, "conv_bwd_weight": conv_setup,
    "pixel_shuffle": resample_setup, "pixel_unshuffle": resample_setup,
    "upsample_nearest_fwd": resample_setup, "upsample_nearest_bwd": resample_setup,
    "upsample_bilinear_fwd": resample_setup, "upsample_bilinear_bwd": resample_setup,
    "bias_lrelu_fwd": pointwise_setup, "bias_lrelu_bwd": pointwise_setup,
    "residual_axpby": pointwise_setup,
    "l1_loss_fwd": pointwise_setup, "l1_loss_bwd": pointwise_setup,
    "hinge_loss_fwd": pointwise_setup, "hinge_loss_bwd": pointwise_setup,
    "spectral_norm": spectral_norm_setup, "adam": optimizer_setup, "ema": optimizer_setup,
}


def time_runs(run, warmup, repeat):
    for i in range(warmup):
        run(i)
    ms = []
    for i in range(repeat):
        t0 = time.perf_counter()
        run(warmup + i)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    mid = len(ms) // 2
    median = ms[mid] if len(ms) % 2 else 0.5 * (ms[mid - 1] + ms[mid])
    return median, ms[0]


def measure_ceilings(repeat):
    # The GEMM as a 1x1 convolution: torch.mm in Debian's build goes to a generic BLAS
    # (a few GFLOP/s), while the convolutions run on oneDNN, whose GEMM is the ceiling that
    # matters here. Same product as srengine's: n x n by n x n.
    n = 1536
    x = torch.empty(1, n, 32, n // 32).uniform_(-1, 1)
    w = torch.empty(n, n, 1, 1).uniform_(-1, 1)
    tg, _ = time_runs(lambda i: F.conv2d(x, w), 1, max(3, repeat // 2))
    m = 64 << 20
    src, dst = torch.empty(m).uniform_(-1, 1), torch.empty(m)
    tc, _ = time_runs(lambda i: dst.copy_(src), 1, max(3, repeat // 2))
    return {"gemm_gflops": 2.0 * n ** 3 / (tg * 1e6), "gemm": "sgemm %dx%dx%d (1x1 conv, oneDNN)" % (n, n, n),
            "copy_gbs": 2.0 * m * 4 / (tc * 1e6), "copy": "copy 256 MB"}


def result_row(case, median, minimum, repeat, ceilings):
    gflops = case["flops"] / (median * 1e6)
    gbs = case["bytes"] / (median * 1e6)
    compute = case["bound"] == "compute"
    row = dict(case)
    row.update({"variant": "torch-%s" % torch.__version__.split("+")[0], "device": "cpu", "default": True,
                "median_ms": median, "min_ms": minimum, "runs": repeat, "gflops": gflops, "gbs": gbs})
    if ceilings:
        row["pct_ceiling"] = 100.0 * (gflops / ceilings["gemm_gflops"] if compute
                                      else gbs / ceilings["copy_gbs"])
    return row


def print_row(tag, r):
    rate = ("%9.1f %8s" % (r["gflops"], "-")) if r["bound"] == "compute" else ("%9s %8.1f" % ("-", r["gbs"]))
    pct = ("%.0f%%" % r["pct_ceiling"]) if "pct_ceiling" in r else "-"
    print("%-34s %-17s %-28s %10.3f %s %6s" % (r["name"], tag, r["shape"], r["median_ms"], rate, pct), flush=True)


def run_srengine_case(binary, name, args, batch):
    """srengine's row for one case (None if it produced none)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        cmd = [binary, "bench", "kernels", "--filter", "^" + re.escape(name) + "$", "--json", path,
               "--no-ceilings", "--repeat", str(args.repeat), "--warmup", str(args.warmup),
               "--rotations", str(args.rotations), "--batch", str(batch), "--threads", str(args.threads)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            rows = json.load(f)["results"]
        return rows[0] if rows else None
    finally:
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", required=True, help="srengine bench kernels --list-json output")
    ap.add_argument("--json", help="write PyTorch's results here")
    ap.add_argument("--filter", default="", help="only cases whose name matches this regex")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rotations", type=int, default=4)
    ap.add_argument("--interleave-with", metavar="SRENGINE", help="time srengine on each case just before PyTorch")
    ap.add_argument("--srengine-json", help="with --interleave-with: write srengine's results here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.cases) as f:
        listing = json.load(f)
    cases = [c for c in listing["cases"] if re.search(args.filter, c["name"])]
    batch = listing["batch"]
    print("peer_torch: torch %s, %d threads, mkldnn %s, batch %d, median of %d runs after %d warm-up, "
          "%d input rotations" % (torch.__version__, torch.get_num_threads(), torch.backends.mkldnn.is_available(),
                                  batch, args.repeat, args.warmup, args.rotations))
    ceilings = measure_ceilings(args.repeat)
    print("ceilings (pytorch): %s %.1f GFLOP/s, %s %.1f GB/s" % (ceilings["gemm"], ceilings["gemm_gflops"],
                                                                ceilings["copy"], ceilings["copy_gbs"]))
    se_ceilings, se_meta = None, {}
    if args.interleave_with:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            path = f.name
        subprocess.run([args.interleave_with, "bench", "kernels", "--ceilings-only", "--json", path,
                        "--repeat", str(args.repeat), "--threads", str(args.threads)],
                       check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            se_meta = json.load(f)
        os.unlink(path)
        se_ceilings = se_meta.get("ceilings")
        print("ceilings (srengine): %s %.1f GFLOP/s, %s %.1f GB/s" % (
            se_ceilings["gemm"], se_ceilings["gemm_gflops"], se_ceilings["copy"], se_ceilings["copy_gbs"]))
    print("\n%-34s %-17s %-28s %10s %9s %8s %6s" % ("case", "variant", "shape", "median ms", "GFLOP/s", "GB/s",
                                                   "%ceil"))
    torch_rows, se_rows = [], []
    with torch.no_grad():
        for case in cases:
            if args.interleave_with:
                r = run_srengine_case(args.interleave_with, case["name"], args, batch)
                if r:
                    if se_ceilings:
                        compute = r["bound"] == "compute"
                        r["pct_ceiling"] = 100.0 * (r["gflops"] / se_ceilings["gemm_gflops"] if compute
                                                    else r["gbs"] / se_ceilings["copy_gbs"])
                    se_rows.append(r)
                    print_row("srengine", r)
            setup = SETUPS.get(case["op"])
            if setup is None:
                print("%-34s no PyTorch workload for op '%s'" % (case["name"], case["op"]))
                continue
            run = setup(case["params"], case["op"], args.rotations)
            median, minimum = time_runs(run, args.warmup, args.repeat)
            del run
            row = result_row(case, median, minimum, args.repeat, ceilings)
            torch_rows.append(row)
            print_row("pytorch", row)
    meta = {"device": "cpu", "threads": torch.get_num_threads(), "batch": batch, "repeat": args.repeat,
            "warmup": args.warmup, "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(meta, tool="pytorch", version=torch.__version__, isa="mkldnn" if
                           torch.backends.mkldnn.is_available() else "default", ceilings=ceilings,
                           results=torch_rows), f, indent=1)
    if args.interleave_with and args.srengine_json:
        out = dict(se_meta)
        out.update(meta)
        out["results"] = se_rows
        with open(args.srengine_json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import peer_torch_train
        sys.exit(peer_torch_train.main(sys.argv[2:]))
    sys.exit(main())
