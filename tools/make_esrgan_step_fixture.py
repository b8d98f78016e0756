#!/usr/bin/python3
"""Writes tests/fixtures/train/esrgan_steps.safetensors: three ESRGANModel iterations in PyTorch
(run with Debian's python3-torch), the reference of the `esrgan` stage type's step test.

The update follows BasicSR's ESRGANModel.optimize_parameters (relativistic average GAN, Wang et
al., ESRGAN, ECCVW 2018): D frozen, G loss = pixel + (gan(D(gt).detach() - mean(D(out)), fake) +
gan(D(out) - mean(D(gt)), real)) / 2, G step; then D: D(out) detached as the average fake,
gan(D(gt) - mean(that), real) / 2 backward, gan(D(out.detach()) - mean(D(gt).detach()), fake) / 2
backward, D step. Networks are the plain-PyTorch re-implementations of tools/torch_nets.py and
tools/make_fixtures.py (nothing is imported from BasicSR), in float32 as training runs.

The file holds init.g.<key>, init.d.<key> (the starting weights), final.g.<key>, final.d.<key> (the weights after the three iterations), and metadata net_g, net_d
(network options for srengine's build_network), stage (the stage's optimiser and loss options);
the batch (LQ 2x3x32x32, GT 2x3x128x128) is make_fixtures.hashed_input, GT flipped left-right.

usage: /usr/bin/python3 tools/make_esrgan_step_fixture.py [--out tests/fixtures/train]
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import VGGStyle, hashed_input  # noqa: E402
from safetensors_file import write_safetensors  # noqa: E402
from torch_nets import RRDBNet  # noqa: E402

ITERS = 3
STAGE = {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.9, 0.99], "pixel_weight": 1e-2, "gan_weight": 5e-3}


def gan_loss(logits, target_is_real, is_disc):
    """BasicSR's GANLoss, vanilla: BCE with logits; loss_weight on the generator's term only."""
    target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
    loss = F.binary_cross_entropy_with_logits(logits, target)
    return loss if is_disc else loss * STAGE["gan_weight"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/train")
    out_dir = ap.parse_args().out
    torch.manual_seed(50)
    net_g_opt = {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 4, "num_block": 1,
                 "num_grow_ch": 2}
    net_d_opt = {"type": "VGGStyleDiscriminator", "num_in_ch": 3, "num_feat": 2, "input_size": 128}
    g = RRDBNet(3, 3, 4, 4, 1, 2)
    d = VGGStyle(3, 2, 128)
    with torch.no_grad():  # non-trivial batch-norm affine parameters
        for m in d.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    tensors = {}
    for k, v in g.state_dict().items():
        tensors[f"init.g.{k}"] = v.clone()
    for k, v in d.state_dict().items():
        tensors[f"init.d.{k}"] = v.clone()
    # One batch for every iteration, from make_fixtures.hashed_input (recomputed by the test,
    # so the file holds weights only): LQ and GT in [-1, 1), GT's pattern unlike LQ's.
    lq = hashed_input((2, 3, 32, 32)).float()
    gt = hashed_input((2, 3, 128, 128)).flip(3).float()
    batches = [(lq, gt)] * ITERS

    opt_g = torch.optim.Adam(g.parameters(), lr=STAGE["lr_g"], betas=tuple(STAGE["betas"]), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=STAGE["lr_d"], betas=tuple(STAGE["betas"]), eps=1e-8)
    g.train()
    d.train()
    for lq, gt in batches:
        # generator, D frozen
        for p in d.parameters():
            p.requires_grad = False
        opt_g.zero_grad()
        out = g(lq)
        l_pix = F.l1_loss(out, gt) * STAGE["pixel_weight"]
        real_d_pred = d(gt).detach()
        fake_g_pred = d(out)
        l_g_real = gan_loss(real_d_pred - torch.mean(fake_g_pred), False, False)
        l_g_fake = gan_loss(fake_g_pred - torch.mean(real_d_pred), True, False)
        (l_pix + (l_g_real + l_g_fake) / 2).backward()
        opt_g.step()
        # discriminator
        for p in d.parameters():
            p.requires_grad = True
        opt_d.zero_grad()
        fake_d_pred = d(out).detach()
        real_d_pred = d(gt)
        l_d_real = gan_loss(real_d_pred - torch.mean(fake_d_pred), True, True) * 0.5
        l_d_real.backward()
        fake_d_pred = d(out.detach())
        l_d_fake = gan_loss(fake_d_pred - torch.mean(real_d_pred.detach()), False, True) * 0.5
        l_d_fake.backward()
        opt_d.step()

    for k, v in g.state_dict().items():
        tensors[f"final.g.{k}"] = v.clone()
    for k, v in d.state_dict().items():
        tensors[f"final.d.{k}"] = v.clone()
    os.makedirs(out_dir, exist_ok=True)
    path = f"{out_dir}/esrgan_steps.safetensors"
    write_safetensors(path, {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()},
                      {"net_g": json.dumps(net_g_opt), "net_d": json.dumps(net_d_opt), "stage": json.dumps(STAGE),
                       "iters": str(ITERS)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
