#!/usr/bin/python3
"""PyTorch side of srengine's released-model checks (run with Debian's python3-torch).

  counts                      the parameter count of every preset (tests/test_model_presets.cpp
                              compares srengine's nets with these numbers)
  make-pth NAME OUT.pth       random weights for a preset's architecture, saved the way the
                              Real-ESRGAN releases are ({'params_ema': state_dict}, torch.save)
  upscale NAME W.pth IMG      what Real-ESRGAN's inference_realesrgan.py computes for an RGB 8-bit
                              image (RealESRGANer.enhance, no tiling, pre_pad 0): the net, clamp,
                              x255 and round to uint8, then with --outscale S != the net's scale
                              cv2.INTER_LANCZOS4 to int(W S) x int(H S), here in float64 numpy
                              from its definition (cv2 is not a Debian dependency of srengine)

The architectures are those Real-ESRGAN's inference script builds for each -n name, written
with tools/torch_nets.py's re-implementations (BasicSR's parameter names).
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_nets import RRDBNet, SRVGGNetCompact  # noqa: E402

PRESETS = {
    "RealESRGAN_x4plus": lambda: RRDBNet(3, 3, 4, 64, 23, 32),
    "RealESRNet_x4plus": lambda: RRDBNet(3, 3, 4, 64, 23, 32),
    "RealESRGAN_x4plus_anime_6B": lambda: RRDBNet(3, 3, 4, 64, 6, 32),
    "RealESRGAN_x2plus": lambda: RRDBNet(3, 3, 2, 64, 23, 32),
    "realesr-animevideov3": lambda: SRVGGNetCompact(3, 3, 64, 16, 4, "prelu"),
    "realesr-general-x4v3": lambda: SRVGGNetCompact(3, 3, 64, 32, 4, "prelu"),
    "realesr-general-wdn-x4v3": lambda: SRVGGNetCompact(3, 3, 64, 32, 4, "prelu"),
    "ESRGAN_SRx4_DF2KOST": lambda: RRDBNet(3, 3, 4, 64, 23, 32),
}


def random_net(name, seed):
    """PyTorch's default initialisation, seeded. An RRDBNet's last conv is then rescaled so a
    natural image's output has mean 0.5 and spread 0.15: unscaled, a random RRDBNet's output
    lies mostly outside [0, 1] and the 8-bit comparison would compare clamped values."""
    torch.manual_seed(seed)
    net = PRESETS[name]().eval()
    if isinstance(net, RRDBNet):
        probe = torch.linspace(0, 1, 3 * 24 * 32).reshape(1, 3, 24, 32)
        with torch.no_grad():
            y = net(probe)
            k = 0.15 / float(y.std())
            net.conv_last.weight.mul_(k)
            net.conv_last.bias.mul_(k).add_(0.5 - k * float(y.mean()))
    return net


def lanczos4_matrix(n_in, n_out):
    """(n_out, n_in) float64 matrix of cv2.INTER_LANCZOS4 along one axis: output d reads the 8
    inputs s-3..s+4 (clamped) around x = (d + 0.5) * n_in / n_out - 0.5 (float32, as cv2),
    s = floor(x), with weights sinc(t) sinc(t/4) at t = x - s + 3 - i, normalised to sum 1."""
    m = np.zeros((n_out, n_in))
    scale = 1.0 / (n_out / n_in)
    for d in range(n_out):
        x = float(np.float32((d + 0.5) * scale - 0.5))
        s = math.floor(x)
        f = x - s
        w = []
        for i in range(8):
            t = f + 3 - i
            w.append(1.0 if abs(t) < 1e-9 else
                     math.sin(math.pi * t) * math.sin(math.pi * t / 4) / (math.pi * t * math.pi * t / 4))
        total = sum(w)
        for i in range(8):
            m[d, min(max(s - 3 + i, 0), n_in - 1)] += w[i] / total
    return m


def resize_lanczos4_u8(img, w, h):
    """img (H, W, C) uint8 -> (h, w, C) uint8: rows then columns, rounded half to even, clipped."""
    my, mx = lanczos4_matrix(img.shape[0], h), lanczos4_matrix(img.shape[1], w)
    out = np.einsum("yi,ijc,xj->yxc", my, img.astype(np.float64), mx)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cmd_counts(_args):
    for name, make in PRESETS.items():
        print(f"{name} {sum(p.numel() for p in make().parameters())}")


def cmd_make_pth(args):
    net = random_net(args.name, args.seed)
    torch.save({"params_ema": net.state_dict()}, args.out)


def cmd_upscale(args):
    net = PRESETS[args.name]().eval()
    state = torch.load(args.weights, map_location="cpu")
    state = state.get("params_ema", state.get("params", state))
    net.load_state_dict(state, strict=True)
    img = np.asarray(Image.open(args.image).convert("RGB"))
    if args.input_out:
        Image.fromarray(img).save(args.input_out)
    scale = net.scale if isinstance(net, RRDBNet) else net.upscale
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    h, w = img.shape[:2]
    # RealESRGANer pads x2 inputs to even sides by reflection and crops the output back.
    ph, pw = (h % 2, w % 2) if scale == 2 else (0, 0)
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    with torch.no_grad():
        y = net(x)[:, :, : h * scale, : w * scale]
    if args.net_out:
        y.numpy().astype(np.float32).tofile(args.net_out)
    out = y.squeeze(0).clamp(0, 1).permute(1, 2, 0).numpy()
    out = np.round(out * np.float32(255.0)).astype(np.uint8)
    if args.outscale is not None and args.outscale != float(scale):
        out = resize_lanczos4_u8(out, int(w * args.outscale), int(h * args.outscale))
    Image.fromarray(out).save(args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("counts")
    p = sub.add_parser("make-pth")
    p.add_argument("name", choices=sorted(PRESETS))
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("upscale")
    p.add_argument("name", choices=sorted(PRESETS))
    p.add_argument("weights")
    p.add_argument("image")
    p.add_argument("--out", required=True, help="the result as PNG")
    p.add_argument("--outscale", type=float)
    p.add_argument("--net-out", help="the net's float32 output (1, 3, sH, sW), raw little-endian")
    p.add_argument("--input-out", help="the decoded input as PNG (to check both sides read the same pixels)")
    args = ap.parse_args()
    {"counts": cmd_counts, "make-pth": cmd_make_pth, "upscale": cmd_upscale}[args.cmd](args)


if __name__ == "__main__":
    main()
