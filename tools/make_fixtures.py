#!/usr/bin/python3
"""Writes the PyTorch parity fixtures under tests/fixtures/nets/ (run with Debian's python3-torch).

The networks are re-implemented here in plain PyTorch from their published definitions
(RRDBNet, UNetDiscriminatorSN, VGGStyleDiscriminator, SRVGGNetCompact, EDSR, MSRResNet); nothing is imported
from BasicSR. Each fixture is one safetensors file holding, for a tiny configuration:
  weight.<key>   the state dict with BasicSR's names (F32: the values are float32-exact, and the
                 reference then computes in float64 from exactly those values)
  input, target  (F32, same reason)
  output, loss   float64 results of forward and the loss
  grad.input, grad.<param>   float64 gradients of the loss
  after.<buffer> buffers after the forward (spectral-norm u/v, batch-norm running statistics)
and metadata: "net" (the JSON network options for srengine's build_network), "loss".

usage: /usr/bin/python3 tools/make_fixtures.py [--out tests/fixtures/nets] [--infer tests/fixtures/infer]
       /usr/bin/python3 tools/make_fixtures.py --only edsr       (just the EDSR fixtures, the others untouched)
       /usr/bin/python3 tools/make_fixtures.py --only rcan       (just the RCAN fixtures)
       /usr/bin/python3 tools/make_fixtures.py --only srvgg_x3   (just the SRVGGNetCompact x3 fixture)
       /usr/bin/python3 tools/make_fixtures.py --only msrresnet  (just the MSRResNet fixtures)
       /usr/bin/python3 tools/make_fixtures.py --only swinir     (just the SwinIR fixtures)
       /usr/bin/python3 tools/make_fixtures.py --only hat        (just the HAT fixtures)
       /usr/bin/python3 tools/make_fixtures.py --only ecbsr      (just the ECBSR fixtures)
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import write_safetensors  # noqa: E402
from torch_nets import ECBSR, EDSR, HAT, MSRResNet, RCAN, RRDBNet, SwinIR, UNetDiscriminatorSN  # noqa: E402
from torch_nets import SRVGGNetCompact as Compact  # noqa: E402


# ---- Reference networks ---------------------------------------------------------------------

class VGGStyle(nn.Module):
    """VGG-style discriminator: conv/BN/LReLU stages halving the size down to 4x4, two linears."""

    def __init__(self, num_in_ch, nf, input_size):
        super().__init__()
        self.conv0_0 = nn.Conv2d(num_in_ch, nf, 3, 1, 1)
        self.conv0_1 = nn.Conv2d(nf, nf, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(nf)
        widths = [nf, nf * 2, nf * 4, nf * 8, nf * 8, nf * 8]
        self.stages = 5 if input_size == 256 else 4
        for k in range(1, self.stages + 1):
            setattr(self, f"conv{k}_0", nn.Conv2d(widths[k - 1], widths[k], 3, 1, 1, bias=False))
            setattr(self, f"bn{k}_0", nn.BatchNorm2d(widths[k]))
            setattr(self, f"conv{k}_1", nn.Conv2d(widths[k], widths[k], 4, 2, 1, bias=False))
            setattr(self, f"bn{k}_1", nn.BatchNorm2d(widths[k]))
        self.linear1 = nn.Linear(nf * 8 * 16, 100)
        self.linear2 = nn.Linear(100, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        feat = act(self.conv0_0(x))
        feat = act(self.bn0_1(self.conv0_1(feat)))
        for k in range(1, self.stages + 1):
            for j in (0, 1):
                feat = act(getattr(self, f"bn{k}_{j}")(getattr(self, f"conv{k}_{j}")(feat)))
        return self.linear2(act(self.linear1(feat.flatten(1))))


# ---- Fixture writing --------------------------------------------------------------------------

def f32_exact(t):
    """Rounds to float32 and back, so a float32 file holds the exact float64 values used."""
    return t.detach().float().double()


def hashed_input(shape):
    """Input too large to store: x[i] = 2 * ((i * 2654435761 + 12345) mod 2^32) / 2^32 - 1, exact in
    float64 and recomputed by the C++ test (metadata input = "hash")."""
    n = int(np.prod(shape))
    h = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(12345)) & np.uint64(0xFFFFFFFF)
    return torch.from_numpy(h.astype(np.float64) / 2.0**32 * 2.0 - 1.0).reshape(shape)


def make_fixture(path, net, opt, x, loss_kind, target=None, perturb_bias=True, seed=0, hashed=False,
                 grad_input_stride=1, zero_grads=()):
    """hashed: x comes from hashed_input and is not stored; grad_input_stride: store only every
    k-th element of the flattened input gradient (keeps big-input fixtures small); zero_grads: the
    parameters whose gradient is 0 in exact arithmetic (the reference's is rounding noise), listed
    in the metadata for the test to hold both sides near 0 rather than to each other."""
    g = torch.Generator().manual_seed(seed + 1)
    net = net.double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if perturb_bias and name.endswith("bias"):
                p.add_(0.05 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            p.copy_(f32_exact(p))
        for name, b in net.named_buffers():
            if b.is_floating_point():
                b.copy_(f32_exact(b))
    net.train()
    tensors = {}
    # The state dict before the forward (the forward changes u/v and running statistics).
    for k, v in net.state_dict().items():
        tensors["weight." + k] = v.float() if v.is_floating_point() else v.clone()
    meta = {"net": json.dumps(opt), "loss": loss_kind, "producer": "tools/make_fixtures.py"}
    if zero_grads:
        meta["zero_grads"] = json.dumps(list(zero_grads))
    if hashed:
        x = x.clone().requires_grad_(True)
        meta["input"] = "hash"
        meta["input_shape"] = json.dumps(list(x.shape))
    else:
        x = f32_exact(x).requires_grad_(True)
        tensors["input"] = x.detach().float()
    if target is not None:
        target = f32_exact(target)
        tensors["target"] = target.float()
    out = net(x)
    if loss_kind == "l1":
        loss = (out - target).abs().mean()
    elif loss_kind == "bce_real":
        loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    elif loss_kind == "hinge_real":
        loss = F.relu(1 - out).mean()
    else:
        raise ValueError(loss_kind)
    loss.backward()
    tensors["output"] = out.detach()
    tensors["loss"] = loss.detach().reshape(1)
    tensors["grad.input"] = x.grad.flatten()[::grad_input_stride].clone() if grad_input_stride > 1 else x.grad
    if grad_input_stride > 1:
        meta["grad_input_stride"] = str(grad_input_stride)
    for k, p in net.named_parameters():
        tensors["grad." + k] = p.grad
    for k, b in net.named_buffers():
        tensors["after." + k] = b.detach().double() if b.is_floating_point() else b.detach()
    write_safetensors(path, tensors, meta)
    print(f"{path}: {os.path.getsize(path)} bytes, loss {loss.item():.6f}, output {tuple(out.shape)}")


def rand(g, *shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64)


def write_net_fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(1234)

    for scale, nf, nb, gc, shape in ((4, 4, 2, 3, (1, 3, 6, 7)), (2, 4, 1, 3, (1, 3, 8, 10)),
                                      (1, 4, 1, 2, (2, 3, 8, 4))):
        opt = {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": scale, "num_feat": nf,
               "num_block": nb, "num_grow_ch": gc}
        torch.manual_seed(10 + scale)
        net = RRDBNet(3, 3, scale, nf, nb, gc)
        x = rand(g, *shape)
        target = rand(g, shape[0], 3, shape[2] * scale, shape[3] * scale)
        make_fixture(f"{out_dir}/rrdbnet_x{scale}.safetensors", net, opt, x, "l1", target, seed=scale)

    torch.manual_seed(20)
    opt = {"type": "UNetDiscriminatorSN", "num_in_ch": 3, "num_feat": 3, "skip_connection": True}
    make_fixture(f"{out_dir}/unet_discriminator_sn.safetensors", UNetDiscriminatorSN(3, 3, True), opt,
                 rand(g, 1, 3, 16, 24, lo=-1, hi=1), "bce_real", seed=20)

    torch.manual_seed(30)
    opt = {"type": "SRVGGNetCompact", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 5, "num_conv": 2,
           "upscale": 4, "act_type": "prelu"}
    net = Compact(3, 3, 5, 2, 4, "prelu")
    with torch.no_grad():  # distinct slopes per channel and layer
        for m in net.body:
            if isinstance(m, nn.PReLU):
                m.weight.copy_(rand(g, m.weight.numel(), lo=0.05, hi=0.5))
    make_fixture(f"{out_dir}/srvgg_compact_x4.safetensors", net, opt, rand(g, 1, 3, 6, 5),
                 "l1", rand(g, 1, 3, 24, 20), seed=30)

    torch.manual_seed(31)
    opt = {"type": "SRVGGNetCompact", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 4, "num_conv": 1,
           "upscale": 2, "act_type": "leakyrelu"}
    make_fixture(f"{out_dir}/srvgg_compact_x2_leakyrelu.safetensors", Compact(3, 3, 4, 1, 2, "leakyrelu"), opt,
                 rand(g, 2, 3, 5, 4), "l1", rand(g, 2, 3, 10, 8), seed=31)

    torch.manual_seed(40)
    opt = {"type": "VGGStyleDiscriminator", "num_in_ch": 3, "num_feat": 1, "input_size": 128}
    net = VGGStyle(3, 1, 128)
    with torch.no_grad():  # non-trivial affine parameters and running statistics
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(rand(g, m.num_features, lo=0.5, hi=1.5))
                m.running_mean.copy_(rand(g, m.num_features, lo=-0.1, hi=0.1))
                m.running_var.copy_(rand(g, m.num_features, lo=0.5, hi=1.5))
    make_fixture(f"{out_dir}/vgg_style_discriminator.safetensors", net, opt,
                 hashed_input((2, 3, 128, 128)), "hinge_real", seed=40, hashed=True, grad_input_stride=37)


def write_edsr_fixtures(out_dir):
    """EDSR x2 (res_scale 1: the blocks' plain add), x4 (res_scale 0.1, EDSR-L's, with a
    non-default img_range and rgb_mean), x3 (one conv to 9 nf and pixel shuffle 3) and x8 (three
    shuffles by 2), num_feat 8 (4 at x8), num_block 2; the x4 weights also as BasicSR's release
    format, ../pth/edsr_x4_params.pth."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(60)
    for scale, nf, res_scale, img_range, mean, shape in (
            (2, 8, 1.0, 255.0, (0.4488, 0.4371, 0.4040), (1, 3, 5, 6)),
            (4, 8, 0.1, 1.0, (0.5, 0.25, 0.125), (2, 3, 3, 4)),
            (3, 8, 1.0, 255.0, (0.4488, 0.4371, 0.4040), (2, 3, 4, 5)),
            (8, 4, 0.5, 255.0, (0.4488, 0.4371, 0.4040), (1, 3, 3, 2))):
        opt = {"type": "EDSR", "num_in_ch": 3, "num_out_ch": 3, "num_feat": nf, "num_block": 2, "upscale": scale,
               "res_scale": res_scale, "img_range": img_range, "rgb_mean": list(mean)}
        torch.manual_seed(60 + scale)
        net = EDSR(3, 3, nf, 2, scale, res_scale, img_range, mean)
        target = rand(g, shape[0], 3, shape[2] * scale, shape[3] * scale)
        make_fixture(f"{out_dir}/edsr_x{scale}.safetensors", net, opt, rand(g, *shape), "l1", target, seed=60 + scale)
        if scale == 4:
            # As BasicSR releases EDSR (EDSR_Mx4_f64b16_DIV2K_official-*.pth): torch.save of
            # {'params': state_dict()} in float32, the fixture's weights.
            pth_dir = os.path.join(os.path.dirname(os.path.abspath(out_dir)), "pth")
            torch.save({"params": net.float().state_dict()}, f"{pth_dir}/edsr_x4_params.pth")


def write_msrresnet_fixtures(out_dir):
    """MSRResNet x4 (two shuffles by 2), x3 and x2 (one shuffle by r), num_feat 6, num_block 2,
    odd input sizes (the bilinear base's edge taps)."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(70)
    for scale, shape in ((4, (1, 3, 5, 4)), (3, (2, 3, 4, 5)), (2, (1, 3, 7, 3))):
        opt = {"type": "MSRResNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 6, "num_block": 2, "upscale": scale}
        torch.manual_seed(70 + scale)
        target = rand(g, shape[0], 3, shape[2] * scale, shape[3] * scale)
        make_fixture(f"{out_dir}/msrresnet_x{scale}.safetensors", MSRResNet(3, 3, 6, 2, scale), opt, rand(g, *shape),
                     "l1", target, seed=70 + scale)


def write_rcan_fixtures(out_dir):
    """RCAN x2 (res_scale 1) and x3 (res_scale 0.5, img_range 1 and another mean), num_feat 8,
    2 groups of 2 blocks, squeeze 4 (the attention's hidden width 2)."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(80)
    for scale, res_scale, img_range, mean, shape in ((2, 1.0, 255.0, (0.4488, 0.4371, 0.4040), (2, 3, 5, 6)),
                                                      (3, 0.5, 1.0, (0.5, 0.25, 0.125), (1, 3, 4, 3))):
        opt = {"type": "RCAN", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_group": 2, "num_block": 2,
               "squeeze_factor": 4, "upscale": scale, "res_scale": res_scale, "img_range": img_range,
               "rgb_mean": list(mean)}
        torch.manual_seed(80 + scale)
        net = RCAN(3, 3, 8, 2, 2, 4, scale, res_scale, img_range, mean)
        target = rand(g, shape[0], 3, shape[2] * scale, shape[3] * scale)
        make_fixture(f"{out_dir}/rcan_x{scale}.safetensors", net, opt, rand(g, *shape), "l1", target, seed=80 + scale)


def write_swinir_fixtures(out_dir):
    """SwinIR in five tiny shapes, each with drop_path_rate 0 (the fixtures run in training mode):
    x2 pixelshuffle on an input of img_size (the shifted blocks use the attn_mask buffer); x3
    3conv with qk_scale and img_range 255 on a 6x7 input reflect-padded to 8x8; x4 nearest+conv
    whose img_size fits one window (one 4x4 window, no shift) on a non-square input without
    patch_norm; x4 pixelshuffledirect, one channel, on an input larger than img_size (the mask
    recomputed); x1 (upsampler "") with an odd window (shift 1) on a 7x5 input padded to 9x6.
    The heads' width num_feat is 8 instead of BasicSR's fixed 64, to keep the files small."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(90)
    cases = (
        ("swinir_x2", dict(upscale=2, img_size=8, window_size=4, depths=[2, 2], embed_dim=12, num_heads=[2, 3],
                           mlp_ratio=2.0, upsampler="pixelshuffle"), (2, 3, 8, 8)),
        ("swinir_x3_3conv", dict(upscale=3, img_size=8, window_size=4, depths=[2], embed_dim=16, num_heads=[4],
                                 mlp_ratio=1.5, upsampler="pixelshuffle", resi_connection="3conv", img_range=255.0,
                                 qk_scale=0.3), (1, 3, 6, 7)),
        ("swinir_x4_nearest", dict(upscale=4, img_size=4, window_size=4, depths=[3], embed_dim=8, num_heads=[2],
                                   mlp_ratio=2.0, upsampler="nearest+conv", patch_norm=False), (1, 3, 8, 4)),
        ("swinir_x4_direct_gray", dict(upscale=4, in_chans=1, img_size=8, window_size=4, depths=[2], embed_dim=8,
                                       num_heads=[2], mlp_ratio=2.0, upsampler="pixelshuffledirect"), (2, 1, 12, 8)),
        ("swinir_x1", dict(upscale=1, img_size=6, window_size=3, depths=[2], embed_dim=6, num_heads=[3],
                           mlp_ratio=2.0, upsampler=""), (1, 3, 7, 5)),
    )
    for i, (name, kw, shape) in enumerate(cases):
        torch.manual_seed(90 + i)
        net = SwinIR(num_feat=8, **kw)
        with torch.no_grad():  # LayerNorm's 1 / 0 and the bias table's 0.02 spread would hide mistakes
            for k, p in net.named_parameters():
                if k.endswith("relative_position_bias_table"):
                    p.normal_(0.0, 0.5)
                elif ".norm" in k or k.startswith("norm"):
                    p.add_(0.2 * torch.randn(p.shape))
        opt = {"type": "SwinIR", "in_chans": kw.get("in_chans", 3), "drop_path_rate": 0.0, "num_feat": 8, **kw}
        s = kw["upscale"] if kw["upsampler"] else 1
        x = rand(g, *shape)
        target = rand(g, shape[0], shape[1], shape[2] * s, shape[3] * s)
        make_fixture(f"{out_dir}/{name}.safetensors", net, opt, x, "l1", target, seed=90 + i)


def write_hat_fixtures(out_dir):
    """HAT in two tiny shapes, drop_path_rate 0 (the fixtures run in training mode): x2 with two
    RHAGs of a plain and a shifted block, window 4 and overlap_ratio 0.5 (key windows of 6), on a
    batch of two 7x10 inputs reflect-padded to 8x12; x3, one channel, resi_connection identity,
    qk_scale, img_range 255 and conv_scale 0.3, a training patch of one window (so no shift) and
    overlap_ratio 1 (key windows of 8), on a 5x6 input padded to 8x8. The head's width num_feat
    is 8 instead of HAT's fixed 64, to keep the files small. The x2 weights also as HAT's
    releases store them, ../pth/hat_x2_params.pth ({'params': state_dict} in float32, with the
    int64 index buffers of HAT's newer files) and ../pth/hat_x2_no_index.pth (without them, as
    its older files)."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(100)
    cases = (
        ("hat_x2", dict(upscale=2, img_size=8, window_size=4, overlap_ratio=0.5, compress_ratio=3, squeeze_factor=3,
                        depths=[2, 2], embed_dim=12, num_heads=[2, 3], mlp_ratio=2.0), (2, 3, 7, 10)),
        ("hat_x3_identity_gray", dict(upscale=3, in_chans=1, img_size=4, window_size=4, overlap_ratio=1.0,
                                      compress_ratio=2, squeeze_factor=4, conv_scale=0.3, depths=[2], embed_dim=8,
                                      num_heads=[2], mlp_ratio=1.5, qk_scale=0.3, img_range=255.0,
                                      resi_connection="identity"), (1, 1, 5, 6)),
    )
    for i, (name, kw, shape) in enumerate(cases):
        torch.manual_seed(100 + i)
        net = HAT(num_feat=8, upsampler="pixelshuffle", **kw)
        with torch.no_grad():  # LayerNorm's 1 / 0 and the bias tables' 0.02 spread would hide mistakes
            for k, p in net.named_parameters():
                if k.endswith("relative_position_bias_table"):
                    p.normal_(0.0, 0.5)
                elif ".norm" in k or k.startswith("norm"):
                    p.add_(0.2 * torch.randn(p.shape))
        opt = {"type": "HAT", "in_chans": kw.get("in_chans", 3), "drop_path_rate": 0.0, "num_feat": 8,
               "upsampler": "pixelshuffle", **kw}
        s = kw["upscale"]
        x = rand(g, *shape)
        target = rand(g, shape[0], shape[1], shape[2] * s, shape[3] * s)
        make_fixture(f"{out_dir}/{name}.safetensors", net, opt, x, "l1", target, seed=100 + i)
        if name == "hat_x2":
            pth_dir = os.path.join(os.path.dirname(os.path.abspath(out_dir)), "pth")
            sd = {k: v.float() if v.is_floating_point() else v for k, v in net.state_dict().items()}
            torch.save({"params": sd}, f"{pth_dir}/hat_x2_params.pth")
            old = {k: v for k, v in sd.items() if not k.startswith("relative_position_index_")}
            torch.save({"params": old}, f"{pth_dir}/hat_x2_no_index.pth")


def write_ecbsr_fixtures(out_dir):
    """ECBSR in its training form (five branches a block, 1x1 outputs padded with their bias):
    x4 on one channel (BasicSR's Y-channel recipe's shape) with PReLU; x2 RGB with with_idt and
    ReLU; x3 from one channel to three (the shortcut broadcast) with no activation. The edge
    branches' scale and bias are redrawn from N(0, 0.5^2): BasicSR's N(0, 1e-3^2) would leave the
    branches too small to test. Their b0 gradients are 0 in exact arithmetic (the Sobel and
    Laplacian taps sum to 0)."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(95)
    cases = (("ecbsr_x4_y_prelu", 1, 1, 2, 8, False, "prelu", 4, (2, 1, 5, 6)),
             ("ecbsr_x2_rgb_idt_relu", 3, 3, 1, 6, True, "relu", 2, (1, 3, 4, 7)),
             ("ecbsr_x3_gray_to_rgb_linear", 1, 3, 1, 5, True, "linear", 3, (1, 1, 3, 5)))
    for name, cin, cout, nb, nc, idt, act, scale, shape in cases:
        opt = {"type": "ECBSR", "num_in_ch": cin, "num_out_ch": cout, "num_block": nb, "num_channel": nc,
               "with_idt": idt, "act_type": act, "scale": scale}
        torch.manual_seed(95 + scale)
        net = ECBSR(cin, cout, nb, nc, idt, act, scale)
        zero = []
        with torch.no_grad():
            for k, p in net.named_parameters():
                if k.split(".")[-2] in ("conv1x1_sbx", "conv1x1_sby", "conv1x1_lpl"):
                    if k.endswith(".scale") or k.endswith(".bias"):
                        p.copy_(0.5 * torch.randn(p.shape, generator=g))
                    if k.endswith(".b0"):
                        zero.append(k)
        target = rand(g, shape[0], cout, shape[2] * scale, shape[3] * scale)
        if name == "ecbsr_x3_gray_to_rgb_linear":
            # Far below every output: the L1 gradient's signs then do not depend on rounding, so
            # the simt test (TF32 convolutions against the CPU's float32) compares like with like.
            target = target - 10
        make_fixture(f"{out_dir}/{name}.safetensors", net, opt, rand(g, *shape), "l1", target, seed=95 + scale,
                     zero_grads=zero)
        if name == "ecbsr_x4_y_prelu":  # as BasicSR saves it: {'params': state dict}, float32, masks included
            pth_dir = os.path.join(os.path.dirname(out_dir), "pth")
            torch.save({"params": {k: v.float() for k, v in net.state_dict().items()}},
                       f"{pth_dir}/ecbsr_x4_y_params.pth")


def write_srvgg_x3_fixture(out_dir):
    """SRVGGNetCompact x3 (ReLU): the last conv to 27 channels, pixel shuffle 3, nearest x3 of the input."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(32)
    torch.manual_seed(32)
    opt = {"type": "SRVGGNetCompact", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 4, "num_conv": 1,
           "upscale": 3, "act_type": "relu"}
    make_fixture(f"{out_dir}/srvgg_compact_x3_relu.safetensors", Compact(3, 3, 4, 1, 3, "relu"), opt,
                 rand(g, 2, 3, 4, 5), "l1", rand(g, 2, 3, 12, 15), seed=32)


# ---- The `srengine infer` fixture --------------------------------------------------------------

def write_png(path, rgb_u8):
    """8-bit RGB PNG, written by hand (zlib + CRC) so no imaging library is needed."""
    h, w, _ = rgb_u8.shape
    raw = b"".join(b"\x00" + rgb_u8[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def write_infer_fixture(out_dir):
    """Random-weight RRDBNet (params_ema-prefixed BasicSR names), an input PNG, PyTorch's output PNG."""
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(50)
    g = torch.Generator().manual_seed(51)
    opt = {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 4, "num_block": 1,
           "num_grow_ch": 3}
    net = RRDBNet(3, 3, 4, 4, 1, 3).eval()
    with torch.no_grad():  # spread the output over the whole [0, 1] range and beyond (clamped)
        net.conv_last.weight.mul_(6.0)
        net.conv_last.bias.fill_(0.5)
    img = (torch.rand(12, 10, 3, generator=g) * 255).round().to(torch.uint8)
    write_png(f"{out_dir}/input.png", img.numpy())
    x = img.permute(2, 0, 1).unsqueeze(0).float() / 255.0
    with torch.no_grad():
        y = net(x).clamp(0, 1)[0].permute(1, 2, 0)
    expected = np.round(y.numpy() * 255.0).astype(np.uint8)  # numpy rounds half to even
    write_png(f"{out_dir}/expected.png", expected)
    sd = {"params_ema." + k: v for k, v in net.state_dict().items()}
    sd.update({"params." + k: torch.zeros_like(v) for k, v in net.state_dict().items()})  # must be ignored
    write_safetensors(f"{out_dir}/rrdbnet_tiny.safetensors", sd, {"format": "pt"})
    cfg = {"name": "infer_fixture", "scale": 4, "network_g": opt}
    with open(f"{out_dir}/config.json", "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print(f"{out_dir}: input 10x12 -> expected {expected.shape[1]}x{expected.shape[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(here, "tests/fixtures/nets"))
    ap.add_argument("--infer", default=os.path.join(here, "tests/fixtures/infer"))
    ap.add_argument("--only", choices=["edsr", "srvgg_x3", "msrresnet", "rcan", "swinir", "hat", "ecbsr"], help="write only these fixtures")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.only in (None, "edsr"):
        write_edsr_fixtures(args.out)
    if args.only in (None, "srvgg_x3"):
        write_srvgg_x3_fixture(args.out)
    if args.only in (None, "msrresnet"):
        write_msrresnet_fixtures(args.out)
    if args.only in (None, "rcan"):
        write_rcan_fixtures(args.out)
    if args.only in (None, "swinir"):
        write_swinir_fixtures(args.out)
    if args.only in (None, "hat"):
        write_hat_fixtures(args.out)
    if args.only in (None, "ecbsr"):
        write_ecbsr_fixtures(args.out)
    if args.only:
        return
    write_net_fixtures(args.out)
    write_infer_fixture(args.infer)


if __name__ == "__main__":
    main()
