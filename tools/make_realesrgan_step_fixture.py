#!/usr/bin/python3
"""Writes tests/fixtures/train/realesrgan_steps.safetensors: three RealESRGANModel iterations in
PyTorch (Debian's python3-torch), the reference of the `realesrgan` stage type's step test.

The update follows Real-ESRGAN's RealESRGANModel.optimize_parameters (Wang et al., Real-ESRGAN,
ICCVW 2021): gt_usm = USM(gt); D frozen; out = G(lq); G loss = pixel(out, gt_usm if l1_gt_usm
else gt) + gan(D(out), real) (vanilla, weighted), G step; then D: gan(D(gt_usm if gan_gt_usm else
gt), real) backward, gan(D(out.detach().clone()), fake) backward, D step. The perceptual term
needs VGG19 weights and is left out; its target switch is the same code path as the pixel one.
USM follows BasicSR's USMSharp (radius 50 -> 51, sigma 8, weight 0.5, threshold 10, reflect
padding), written here from its definition. Networks are tools/torch_nets.py's (nothing is
imported from BasicSR or Real-ESRGAN), float32.

The LQ / GT batch is fixed (make_fixtures.hashed_input mapped to [0, 1), GT flipped left-right),
so only the losses and updates are compared, not the degradation. Two runs from the same start:
  a: l1_gt_usm true, gan_gt_usm false (the published setting);
  b: l1_gt_usm false, gan_gt_usm true.
The file holds init.g.<key>, init.d.<key>, final_a.g/d.<key>, final_b.g/d.<key>, and metadata
net_g, net_d, stage, iters.

usage: /usr/bin/python3 tools/make_realesrgan_step_fixture.py [--out tests/fixtures/train]
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import hashed_input  # noqa: E402
from safetensors_file import write_safetensors  # noqa: E402
from torch_nets import RRDBNet, UNetDiscriminatorSN  # noqa: E402

ITERS = 3
STAGE = {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.9, 0.99], "pixel_weight": 1.0, "gan_weight": 0.1}


def usm_sharp(img, radius=50, weight=0.5, threshold=10):
    """Unsharp masking of a (B, C, H, W) batch in [0, 1], per channel, reflect padding."""
    if radius % 2 == 0:
        radius += 1
    sigma = 0.3 * ((radius - 1) * 0.5 - 1) + 0.8
    n = torch.arange(radius, dtype=torch.float64) - (radius - 1) / 2
    g = torch.exp(-n * n / (2 * sigma * sigma))
    g = g / g.sum()
    k = torch.outer(g, g).float()
    c = img.shape[1]

    def blur(x):
        p = radius // 2
        xp = F.pad(x, (p, p, p, p), mode="reflect")
        return F.conv2d(xp, k.expand(c, 1, radius, radius), groups=c)

    b = blur(img)
    residual = img - b
    mask = (torch.abs(residual) * 255 > threshold).float()
    soft = blur(mask)
    sharp = torch.clamp(img + weight * residual, 0, 1)
    return soft * sharp + (1 - soft) * img


def gan_loss(logits, target_is_real, is_disc):
    target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
    loss = F.binary_cross_entropy_with_logits(logits, target)
    return loss if is_disc else loss * STAGE["gan_weight"]


def run(g, d, lq, gt, l1_gt_usm, gan_gt_usm):
    g, d = copy.deepcopy(g), copy.deepcopy(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=STAGE["lr_g"], betas=tuple(STAGE["betas"]), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=STAGE["lr_d"], betas=tuple(STAGE["betas"]), eps=1e-8)
    g.train()
    d.train()
    gt_usm = usm_sharp(gt)
    for _ in range(ITERS):
        for p in d.parameters():
            p.requires_grad = False
        opt_g.zero_grad()
        out = g(lq)
        l_pix = F.l1_loss(out, gt_usm if l1_gt_usm else gt) * STAGE["pixel_weight"]
        l_gan = gan_loss(d(out), True, False)
        (l_pix + l_gan).backward()
        opt_g.step()
        for p in d.parameters():
            p.requires_grad = True
        opt_d.zero_grad()
        l_d_real = gan_loss(d(gt_usm if gan_gt_usm else gt), True, True)
        l_d_real.backward()
        l_d_fake = gan_loss(d(out.detach().clone()), False, True)
        l_d_fake.backward()
        opt_d.step()
    return g, d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/train")
    out_dir = ap.parse_args().out
    torch.manual_seed(51)
    net_g_opt = {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 4, "num_block": 1,
                 "num_grow_ch": 2}
    net_d_opt = {"type": "UNetDiscriminatorSN", "num_in_ch": 3, "num_feat": 4, "skip_connection": True}
    g = RRDBNet(3, 3, 4, 4, 1, 2)
    d = UNetDiscriminatorSN(3, 4, True)
    tensors = {}
    for k, v in g.state_dict().items():
        tensors[f"init.g.{k}"] = v.clone()
    for k, v in d.state_dict().items():
        tensors[f"init.d.{k}"] = v.clone()
    lq = ((hashed_input((2, 3, 16, 16)) + 1) / 2).float()
    gt = ((hashed_input((2, 3, 64, 64)).flip(3) + 1) / 2).float()
    for name, l1u, ganu in (("a", True, False), ("b", False, True)):
        g2, d2 = run(g, d, lq, gt, l1u, ganu)
        for k, v in g2.state_dict().items():
            tensors[f"final_{name}.g.{k}"] = v.clone()
        for k, v in d2.state_dict().items():
            tensors[f"final_{name}.d.{k}"] = v.clone()
    tensors["gt_usm"] = usm_sharp(gt)
    os.makedirs(out_dir, exist_ok=True)
    path = f"{out_dir}/realesrgan_steps.safetensors"
    write_safetensors(path, {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()},
                      {"net_g": json.dumps(net_g_opt), "net_d": json.dumps(net_d_opt), "stage": json.dumps(STAGE),
                       "iters": str(ITERS)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
