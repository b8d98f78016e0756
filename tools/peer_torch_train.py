"""PyTorch peer of `srengine bench train` (run as `peer_torch.py train ...`).

The workloads come from `srengine bench train --list-json FILE`: per stage the nets
(network_g / network_d options), the batch shape, the losses, the optimizers and the EMA
decay. Each runs here the way BasicSR's SRModel / SRGANModel run it, in plain PyTorch
(own code, BasicSR's semantics), float32 on the CPU with torch.set_num_threads(--threads), or
on a GPU with --device cuda (TF32 by default, --precision fp32/bf16; phases end at a device
synchronisation, peak memory is torch.cuda.max_memory_allocated):
  sr:     out = G(lq); l1 * w; backward; Adam step; EMA
  srgan:  D frozen; out = G(lq); l1 * w + hinge_G(D(out)) * gan_w; backward; G step;
          D: hinge(D(gt), real) backward, hinge(D(out.detach()), fake) backward; D step; EMA
  infer:  G(lq) under torch.no_grad(), G in eval mode
Losses are read back with .item() as BasicSR's logging does (and srengine's step does).
Batches are synthetic (uniform LQ/GT, two batches in turn), as srengine's default.
Reported like srengine: medians of the whole iteration and of its phases, LR pixels/s,
images/s, peak RSS of the workload (VmHWM, reset before it).
"""
import argparse
import contextlib
import datetime
import json
import os
import time

import sys

import torch
import torch.nn.functional as F

# The nets, with BasicSR's names and semantics, shared with make_fixtures.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_nets import ECBSR, EDSR, HAT, RCAN, MSRResNet, RRDBNet, SRVGGNetCompact, SwinIR, UNetDiscriminatorSN  # noqa: E402

UPSCALE_NETS = {"SRVGGNetCompact": SRVGGNetCompact, "EDSR": EDSR, "MSRResNet": MSRResNet, "RCAN": RCAN}


def build_net(opt, scale):
    kw = {k: v for k, v in opt.items() if k != "type"}
    if opt["type"] == "RRDBNet":
        kw.setdefault("scale", scale)
        return RRDBNet(**kw)
    if opt["type"] == "UNetDiscriminatorSN":
        return UNetDiscriminatorSN(**kw)
    if opt["type"] == "SwinIR":
        kw.setdefault("upscale", scale)
        kw.pop("use_checkpoint", None)
        if kw.pop("drop_path_rate", 0.1) != 0:  # torch_nets' SwinIR has no stochastic depth
            raise SystemExit("peer_torch train: SwinIR needs network_g.drop_path_rate 0 here (timing the same work)")
        return SwinIR(**kw)
    if opt["type"] == "HAT":
        kw.setdefault("upscale", scale)
        kw.pop("use_checkpoint", None)
        if kw.pop("drop_path_rate", 0.1) != 0:  # torch_nets' HAT has no stochastic depth
            raise SystemExit("peer_torch train: HAT needs network_g.drop_path_rate 0 here (timing the same work)")
        return HAT(**kw)
    if opt["type"] == "ECBSR":  # the training form BasicSR runs: five branches a block
        kw.setdefault("scale", scale)
        return ECBSR(**kw)
    if opt["type"] in UPSCALE_NETS:
        kw.setdefault("upscale", scale)
        if opt["type"] in ("EDSR", "RCAN"):
            kw.setdefault("num_in_ch", 3)
            kw.setdefault("num_out_ch", 3)
        return UPSCALE_NETS[opt["type"]](**kw)
    raise SystemExit("peer_torch train: no PyTorch version of network type '%s'" % opt["type"])


# ---- losses and optimizers (BasicSR semantics) -----------------------------------------------

def pixel_loss(opt):
    w, kind = opt.get("loss_weight", 1.0), opt["type"]
    if kind == "L1Loss":
        return lambda x, y: F.l1_loss(x, y) * w
    if kind == "MSELoss":
        return lambda x, y: F.mse_loss(x, y) * w
    eps = opt.get("eps", 1e-12)  # CharbonnierLoss
    return lambda x, y: torch.sqrt((x - y) ** 2 + eps).mean() * w


def gan_loss(opt):
    """loss(logits, target_is_real, is_disc); the weight applies to G's term only."""
    kind, w = opt["gan_type"], opt.get("loss_weight", 1.0)

    def loss(x, real, is_disc):
        if kind == "hinge":
            if is_disc:
                return F.relu(1 + (-x if real else x)).mean()
            return -x.mean() * w
        target = torch.full_like(x, 1.0 if real else 0.0)
        l = F.binary_cross_entropy_with_logits(x, target) if kind == "vanilla" else F.mse_loss(x, target)
        return l if is_disc else l * w
    return loss


def adam(params, opt):
    return torch.optim.Adam(params, lr=opt.get("lr", 1e-4), betas=tuple(opt.get("betas", (0.9, 0.99))),
                            weight_decay=opt.get("weight_decay", 0))


# ---- one workload ------------------------------------------------------------------------------

def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def median(v):
    v = sorted(v)
    m = len(v) // 2
    return (v[m] if len(v) % 2 else 0.5 * (v[m - 1] + v[m])) if v else 0.0


def run_workload(w, iters, warmup, device="cpu", precision="fp32"):
    cuda = device.startswith("cuda")
    reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(0)
    b, lr, gt, scale = w["batch"], w["lr_size"], w["gt_size"], w["scale"]
    g = build_net(w["network_g"], scale).to(device)
    cin, cout = w["network_g"].get("num_in_ch", 3), w["network_g"].get("num_out_ch", 3)
    batches = [(torch.rand(b, cin, lr, lr, device=device), torch.rand(b, cout, gt, gt, device=device))
               for _ in range(2)]
    phases = {k: [] for k in ("total", "forward", "backward", "optimizer", "g_step", "d_step")}

    def now():  # GPU work is asynchronous: a phase ends when the device has finished it
        if cuda:
            torch.cuda.synchronize(device)
        return time.perf_counter()

    # bf16: autocast around forward and losses, as a PyTorch user would train in bf16.
    def autocast():
        # Not constructed at all otherwise: a CPU-only torch refuses even a disabled CUDA autocast.
        if cuda and precision == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    if w["type"] == "infer":
        g.eval()
        with torch.no_grad(), autocast():
            for i in range(warmup + iters):
                t0 = now()
                g(batches[i % 2][0])
                if i >= warmup:
                    phases["total"].append(now() - t0)
                    phases["forward"].append(now() - t0)
        return summarise(w, phases, device, precision)

    gan = w["type"] == "srgan"
    d = build_net(w["network_d"], scale).to(device) if gan else None
    ema = None
    decay = w.get("ema_decay", 0.0)
    if decay > 0:
        ema = build_net(w["network_g"], scale).to(device)
        ema.load_state_dict(g.state_dict())
        ema.eval()
    opt_g = adam(g.parameters(), w["optim_g"])
    opt_d = adam(d.parameters(), w["optim_d"]) if gan else None
    pix = pixel_loss(w["pixel_opt"]) if "pixel_opt" in w else None
    gl = gan_loss(w["gan_opt"]) if gan else None
    d_iters, d_init = w.get("net_d_iters", 1), w.get("net_d_init_iters", 0)

    for i in range(warmup + iters):
        it = d_init + 1 + i
        lq, hr = batches[i % 2]
        t = {k: 0.0 for k in phases}
        t0 = tg = now()
        # generator
        if gan:
            for p in d.parameters():
                p.requires_grad = False
        opt_g.zero_grad()
        with autocast():
            out = g(lq)
        if not gan or (it % d_iters == 0 and it > d_init):
            total = 0
            logs = []
            with autocast():
                if pix:
                    l_pix = pix(out, hr)
                    total, logs = total + l_pix, logs + [l_pix]
                if gan:
                    l_gan = gl(d(out), True, False)
                    total, logs = total + l_gan, logs + [l_gan]
            [l.item() for l in logs]
            t["forward"] += now() - t0
            t1 = now()
            total.backward()
            t["backward"] += now() - t1
            t1 = now()
            opt_g.step()
            t["optimizer"] += now() - t1
        t["g_step"] = now() - tg
        # discriminator
        if gan:
            td = t1 = now()
            for p in d.parameters():
                p.requires_grad = True
            opt_d.zero_grad()
            with autocast():
                real_pred = d(hr)
                l_real = gl(real_pred, True, True)
            l_real.item(), real_pred.detach().mean().item()
            t["forward"] += now() - t1
            t1 = now()
            l_real.backward()
            t["backward"] += now() - t1
            t1 = now()
            with autocast():
                fake_pred = d(out.detach())
                l_fake = gl(fake_pred, False, True)
            l_fake.item(), fake_pred.detach().mean().item()
            t["forward"] += now() - t1
            t1 = now()
            l_fake.backward()
            t["backward"] += now() - t1
            t1 = now()
            opt_d.step()
            t["optimizer"] += now() - t1
            t["d_step"] = now() - td
        if ema is not None:  # BasicSR's model_ema: ema = decay * ema + (1 - decay) * g
            t1 = now()
            with torch.no_grad():
                gp = dict(g.named_parameters())
                for k, e in ema.named_parameters():
                    e.mul_(decay).add_(gp[k], alpha=1 - decay)
            t["optimizer"] += now() - t1
        t["total"] = now() - t0
        if i >= warmup:
            for k in phases:
                phases[k].append(t[k])
    return summarise(w, phases, device, precision)


def summarise(w, phases, device="cpu", precision="fp32"):
    ms = 1e3 * median(phases["total"])
    b, lr = w["batch"], w["lr_size"]
    cuda = device.startswith("cuda")
    r = {"stage": w["stage"], "type": w["type"], "device": device, "precision": precision,
         "threads": torch.get_num_threads(),
         "data": "synthetic", "batch": b, "lr_size": lr, "gt_size": w["gt_size"], "iters": len(phases["total"]),
         "step_ms_median": ms, "step_ms_min": 1e3 * min(phases["total"]),
         "lr_pixels_per_s": b * lr * lr / (ms / 1e3), "images_per_s": b / (ms / 1e3),
         "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else peak_rss_mb(),
         "peak_mem_kind": "peak CUDA memory allocated" if cuda else "peak RSS of the stage", "data_ms": 0.0,
         "forward_ms": 1e3 * median(phases["forward"]), "backward_ms": 1e3 * median(phases["backward"]),
         "optimizer_ms": 1e3 * median(phases["optimizer"]), "communication_ms": 0.0, "workload": w}
    if w["type"] == "srgan":
        r["g_step_ms"] = 1e3 * median(phases["g_step"])
        r["d_step_ms"] = 1e3 * median(phases["d_step"])
    return r


def main(argv):
    ap = argparse.ArgumentParser(prog="peer_torch.py train", description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", required=True, help="srengine bench train --list-json output")
    ap.add_argument("--stage", default="", help="only this stage (or infer)")
    ap.add_argument("--json", help="write the results here (a JSON array, srengine's format)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N] (the GPU machine's PyTorch)")
    ap.add_argument("--precision", default=None, choices=["fp32", "tf32", "bf16"],
                    help="CUDA math: fp32, tf32 (default on CUDA: TF32 convs and matmuls, srengine's "
                         "default) or bf16 (autocast); the CPU is always fp32")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("peer_torch train: --device %s but this PyTorch has no CUDA device" % args.device)
    precision = (args.precision or "tf32") if cuda else "fp32"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = precision != "fp32"
        torch.backends.cudnn.allow_tf32 = precision != "fp32"
    with open(args.workloads) as f:
        workloads = [w for w in json.load(f) if not args.stage or w["stage"] == args.stage]
    print("peer_torch train: torch %s, %d threads, mkldnn %s, median of %d iterations after %d warm-up" % (
        torch.__version__, torch.get_num_threads(), torch.backends.mkldnn.is_available(), args.iters, args.warmup))
    print("%-8s %-6s %5s %6s %10s %11s %7s %8s | %8s %8s %8s | %8s %8s" % (
        "stage", "type", "batch", "LR", "step ms", "LR px/s", "img/s", "peak MB", "forward", "backward", "optim",
        "G step", "D step"))
    rows = []
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for w in workloads:
        r = run_workload(w, args.iters, args.warmup, args.device, precision)
        r.update({"tool": "pytorch", "version": torch.__version__, "date": date})
        gd = " %8.1f %8.1f" % (r["g_step_ms"], r["d_step_ms"]) if "g_step_ms" in r else ""
        print("%-8s %-6s %5d %4dpx %10.1f %11.0f %7.2f %8.0f | %8.1f %8.1f %8.1f |%s" % (
            r["stage"], r["type"], r["batch"], r["lr_size"], r["step_ms_median"], r["lr_pixels_per_s"],
            r["images_per_s"], r["peak_mem_mb"], r["forward_ms"], r["backward_ms"], r["optimizer_ms"], gd),
            flush=True)
        rows.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0
