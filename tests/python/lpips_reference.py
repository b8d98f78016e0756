#!/usr/bin/python3
"""LPIPS v0.1 in PyTorch, written from the paper and the lpips package's documented layout, for
tests/test_lpips.cpp (run with Debian's python3-torch; torchvision is not needed).

  R. Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018.

x0, x1 in [-1, 1] -> (x - shift) / scale -> VGG16 relu1_2 .. relu5_3 or AlexNet relu1 .. relu5
(torchvision's `features` layouts) -> per pixel f / (||f||_2 + 1e-10) -> squared difference ->
1x1 conv to one channel (the "lin" layers) -> spatial mean -> sum over the five layers.

usage:
  lpips_reference.py make-weights {vgg,alex} OUTDIR [--seed S]
      writes OUTDIR/lin.pth (lin<k>.model.1.weight, non-negative as trained LPIPS weights are),
      OUTDIR/backbone.pth (features.<i>.weight/bias, He-initialised) and OUTDIR/whole.pth (one
      LPIPS state dict: net.slice<s>.<i>.*, lin<k>.*, lins.<k>.*), all torch.save zip files.
  lpips_reference.py score LIN BACKBONE CROP GT SR [GT SR ...] [--float64] [--variant no_scaling]
      prints "SR_PATH VALUE" per pair: images read with PIL as 8-bit RGB, CROP border pixels cut,
      v / 255 normalised with mean and std 0.5. --variant no_scaling drops the scaling layer
      (lpips' version 0.0), a planted difference the test must see.
"""
import argparse
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

SHIFT = [-0.030, -0.088, -0.188]
SCALE = [0.458, 0.448, 0.450]


def vgg16_features():
    layers, c_in = [], 3
    for b, (width, convs) in enumerate(zip([64, 128, 256, 512, 512], [2, 2, 3, 3, 3])):
        if b:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(convs):
            layers += [nn.Conv2d(c_in, width, 3, 1, 1), nn.ReLU()]
            c_in = width
    return nn.Sequential(*layers), [3, 8, 15, 22, 29], [64, 128, 256, 512, 512]


def alexnet_features():
    layers = [nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, 1, 2), nn.ReLU(),
              nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, 1, 1), nn.ReLU(), nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(),
              nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU()]
    return nn.Sequential(*layers), [1, 4, 7, 9, 11], [64, 192, 384, 256, 256]


def backbone(net):
    return vgg16_features() if net == "vgg" else alexnet_features()


def make_weights(net, out, seed):
    torch.manual_seed(seed)
    features, taps, chans = backbone(net)
    bb, whole = {}, {}
    for i, m in enumerate(features):
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            w = torch.randn(m.weight.shape) * (2.0 / fan_in) ** 0.5
            b = torch.randn(m.bias.shape) * 0.05
            bb[f"features.{i}.weight"], bb[f"features.{i}.bias"] = w, b
            s = 1 + sum(1 for t in taps if t < i)
            whole[f"net.slice{s}.{i}.weight"], whole[f"net.slice{s}.{i}.bias"] = w, b
    lin = {}
    for k, c in enumerate(chans):
        w = torch.rand(1, c, 1, 1) * (2.0 / c)
        lin[f"lin{k}.model.1.weight"] = w
        whole[f"lin{k}.model.1.weight"] = w
        whole[f"lins.{k}.model.1.weight"] = w
    torch.save(lin, f"{out}/lin.pth")
    torch.save(bb, f"{out}/backbone.pth")
    torch.save(whole, f"{out}/whole.pth")


def load_image(path, crop, dtype):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    if crop:
        a = a[crop:-crop, crop:-crop]
    t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
    return ((t - 0.5) / 0.5).to(dtype)


def lpips(features, taps, lins, x0, x1, variant):
    shift = torch.tensor(SHIFT, dtype=x0.dtype).view(1, 3, 1, 1)
    scale = torch.tensor(SCALE, dtype=x0.dtype).view(1, 3, 1, 1)
    if variant != "no_scaling":
        x0, x1 = (x0 - shift) / scale, (x1 - shift) / scale
    total = 0.0
    k = 0
    for i, m in enumerate(features):
        x0, x1 = m(x0), m(x1)
        if i in taps:
            n0 = x0 / (torch.sqrt((x0 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
            n1 = x1 / (torch.sqrt((x1 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
            total = total + nn.functional.conv2d((n0 - n1) ** 2, lins[k]).mean(dim=(2, 3))
            k += 1
    return total.flatten()


def score(args):
    dtype = torch.float64 if args.float64 else torch.float32
    net = None
    lin = torch.load(args.lin)
    chans = [lin[f"lin{k}.model.1.weight"].shape[1] for k in range(5)]
    net = "vgg" if chans == [64, 128, 256, 512, 512] else "alex"
    features, taps, _ = backbone(net)
    features.load_state_dict({k[len("features."):]: v for k, v in torch.load(args.backbone).items()})
    features = features.to(dtype).eval()
    lins = [lin[f"lin{k}.model.1.weight"].to(dtype) for k in range(5)]
    pairs = args.images
    if len(pairs) % 2:
        sys.exit("score: GT and SR images come in pairs")
    with torch.no_grad():
        for gt, sr in zip(pairs[0::2], pairs[1::2]):
            d = lpips(features, taps, lins, load_image(sr, args.crop, dtype), load_image(gt, args.crop, dtype),
                      args.variant)
            print(sr, repr(float(d[0])))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-weights")
    m.add_argument("net", choices=["vgg", "alex"])
    m.add_argument("out")
    m.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score")
    s.add_argument("lin")
    s.add_argument("backbone")
    s.add_argument("crop", type=int)
    s.add_argument("images", nargs="+")
    s.add_argument("--float64", action="store_true")
    s.add_argument("--variant", default="")
    a = p.parse_args()
    if a.cmd == "make-weights":
        make_weights(a.net, a.out, a.seed)
    else:
        score(a)


if __name__ == "__main__":
    main()
