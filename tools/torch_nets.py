"""ESRGAN's generator, Real-ESRGAN's discriminator and compact net, EDSR, MSRResNet in plain PyTorch,
re-implemented from their published definitions with BasicSR's module and parameter names
(so state dicts load into srengine and back). Shared by tools/make_fixtures.py (parity fixtures),
tools/peer_torch_train.py (the PyTorch side of `srengine bench train`) and
tools/realesrgan_reference.py (the released models' architectures).

LeakyReLU runs in place, as BasicSR's modules do (it changes memory, not values).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def lrelu(t):
    return F.leaky_relu(t, 0.2, inplace=True)


class ResidualDenseBlock(nn.Module):
    """x_k = lrelu(conv_k(cat(x, x_1..x_{k-1}))) for k < 5, out = 0.2 * conv5(cat(...)) + x."""

    def __init__(self, nf, gc):
        super().__init__()
        for k in range(1, 6):
            setattr(self, f"conv{k}", nn.Conv2d(nf + (k - 1) * gc, gc if k < 5 else nf, 3, 1, 1))

    def forward(self, x):
        feats = [x]
        for k in range(1, 5):
            feats.append(lrelu(getattr(self, f"conv{k}")(torch.cat(feats, 1))))
        return 0.2 * self.conv5(torch.cat(feats, 1)) + x


class RRDB(nn.Module):
    """out = 0.2 * rdb3(rdb2(rdb1(x))) + x."""

    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = ResidualDenseBlock(nf, gc), ResidualDenseBlock(nf, gc), ResidualDenseBlock(nf, gc)

    def forward(self, x):
        return 0.2 * self.rdb3(self.rdb2(self.rdb1(x))) + x


class RRDBNet(nn.Module):
    """Unshuffle (x2, x1), conv_first, body + conv_body skip, two nearest x2 + conv, conv_hr, conv_last."""

    def __init__(self, num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        factor = {4: 1, 2: 2, 1: 4}[scale]
        self.conv_first = nn.Conv2d(num_in_ch * factor * factor, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
            setattr(self, name, nn.Conv2d(num_feat, num_feat, 3, 1, 1))
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x):
        factor = {4: 1, 2: 2, 1: 4}[self.scale]
        feat = F.pixel_unshuffle(x, factor) if factor > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(lrelu(self.conv_hr(feat)))


class UNetDiscriminatorSN(nn.Module):
    """Three stride-2 4x4 levels down, three bilinear x2 levels up with skips; torch's
    spectral_norm on conv1..conv8 (one power iteration per training forward); per-pixel logits."""

    def __init__(self, num_in_ch=3, num_feat=64, skip_connection=True):
        super().__init__()
        nf, sn = num_feat, nn.utils.spectral_norm
        self.skip = skip_connection
        self.conv0 = nn.Conv2d(num_in_ch, nf, 3, 1, 1)
        self.conv1 = sn(nn.Conv2d(nf, nf * 2, 4, 2, 1, bias=False))
        self.conv2 = sn(nn.Conv2d(nf * 2, nf * 4, 4, 2, 1, bias=False))
        self.conv3 = sn(nn.Conv2d(nf * 4, nf * 8, 4, 2, 1, bias=False))
        self.conv4 = sn(nn.Conv2d(nf * 8, nf * 4, 3, 1, 1, bias=False))
        self.conv5 = sn(nn.Conv2d(nf * 4, nf * 2, 3, 1, 1, bias=False))
        self.conv6 = sn(nn.Conv2d(nf * 2, nf, 3, 1, 1, bias=False))
        self.conv7 = sn(nn.Conv2d(nf, nf, 3, 1, 1, bias=False))
        self.conv8 = sn(nn.Conv2d(nf, nf, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(nf, 1, 3, 1, 1)

    def forward(self, x):
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        x0 = lrelu(self.conv0(x))
        x1 = lrelu(self.conv1(x0))
        x2 = lrelu(self.conv2(x1))
        x3 = lrelu(self.conv3(x2))
        x4 = lrelu(self.conv4(up(x3)))
        if self.skip:
            x4 = x4 + x2
        x5 = lrelu(self.conv5(up(x4)))
        if self.skip:
            x5 = x5 + x1
        x6 = lrelu(self.conv6(up(x5)))
        if self.skip:
            x6 = x6 + x0
        return self.conv9(lrelu(self.conv8(lrelu(self.conv7(x6)))))


class SRVGGNetCompact(nn.Module):
    """SRVGGNetCompact: conv + act, num_conv x (conv + act), conv to out*r^2, pixel shuffle, + nearest(x)."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"):
        super().__init__()
        nf, self.upscale = num_feat, upscale

        def act():
            return {"prelu": lambda: nn.PReLU(nf), "relu": lambda: nn.ReLU(),
                    "leakyrelu": lambda: nn.LeakyReLU(0.1)}[act_type]()

        layers = [nn.Conv2d(num_in_ch, nf, 3, 1, 1), act()]
        for _ in range(num_conv):
            layers += [nn.Conv2d(nf, nf, 3, 1, 1), act()]
        layers.append(nn.Conv2d(nf, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        return F.pixel_shuffle(out, self.upscale) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


class ResidualBlockNoBN(nn.Module):
    """x + res_scale * conv2(relu(conv1(x))), both convs nf -> nf."""

    def __init__(self, num_feat=64, res_scale=1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x))) * self.res_scale


class EDSR(nn.Module):
    """EDSR: mean shift and range scaling, conv_first, residual blocks + conv_after_body skip,
    upsample (x2^n: n x [conv to 4 nf, pixel shuffle 2]; x3: conv to 9 nf, pixel shuffle 3),
    conv_last, the shift undone. The mean is a constant outside the state dict."""

    def __init__(self, num_in_ch, num_out_ch, num_feat=64, num_block=16, upscale=4, res_scale=1.0,
                 img_range=255.0, rgb_mean=(0.4488, 0.4371, 0.4040)):
        super().__init__()
        self.img_range = img_range
        self.mean = torch.tensor(rgb_mean, dtype=torch.float64).view(1, -1, 1, 1)
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat, res_scale) for _ in range(num_block)])
        self.conv_after_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        steps = []
        if upscale == 3:
            steps = [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        else:
            assert upscale >= 2 and upscale & (upscale - 1) == 0, upscale
            while upscale > 1:
                steps += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
                upscale //= 2
        self.upsample = nn.Sequential(*steps)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x):
        mean = self.mean.to(x.dtype)
        x = self.conv_first((x - mean) * self.img_range)
        res = self.conv_after_body(self.body(x)) + x
        return self.conv_last(self.upsample(res)) / self.img_range + mean


class ChannelAttention(nn.Module):
    """x * sigmoid(conv(relu(conv(global average of x)))), 1x1 convs nf -> nf/s -> nf; the
    convs at attention.1 and attention.3 (the pool, ReLU and sigmoid hold no weights)."""

    def __init__(self, num_feat, squeeze_factor):
        super().__init__()
        self.attention = nn.ModuleDict({"1": nn.Conv2d(num_feat, num_feat // squeeze_factor, 1),
                                        "3": nn.Conv2d(num_feat // squeeze_factor, num_feat, 1)})

    def forward(self, x):
        w = x.mean(dim=(2, 3), keepdim=True)
        w = torch.sigmoid(self.attention["3"](F.relu(self.attention["1"](w))))
        return x * w


class RCAB(nn.Module):
    """x + res_scale * CA(conv(relu(conv(x)))), keys rcab.0, rcab.2, rcab.3."""

    def __init__(self, num_feat, squeeze_factor, res_scale):
        super().__init__()
        self.res_scale = res_scale
        self.rcab = nn.ModuleDict({"0": nn.Conv2d(num_feat, num_feat, 3, 1, 1),
                                   "2": nn.Conv2d(num_feat, num_feat, 3, 1, 1),
                                   "3": ChannelAttention(num_feat, squeeze_factor)})

    def forward(self, x):
        r = self.rcab["3"](self.rcab["2"](F.relu(self.rcab["0"](x))))
        return x + r * self.res_scale


class ResidualGroup(nn.Module):
    """x + conv(RCAB chain(x))."""

    def __init__(self, num_feat, num_block, squeeze_factor, res_scale):
        super().__init__()
        self.residual_group = nn.Sequential(*[RCAB(num_feat, squeeze_factor, res_scale) for _ in range(num_block)])
        self.conv = nn.Conv2d(num_feat, num_feat, 3, 1, 1)

    def forward(self, x):
        return x + self.conv(self.residual_group(x))


class RCAN(EDSR):
    """RCAN: EDSR's mean shift, conv_first, long skip, upsample and conv_last around a body of
    residual groups of channel-attention blocks."""

    def __init__(self, num_in_ch, num_out_ch, num_feat=64, num_group=10, num_block=16, squeeze_factor=16, upscale=4,
                 res_scale=1.0, img_range=255.0, rgb_mean=(0.4488, 0.4371, 0.4040)):
        super().__init__(num_in_ch, num_out_ch, num_feat, 0, upscale, res_scale, img_range, rgb_mean)
        self.body = nn.Sequential(*[ResidualGroup(num_feat, num_block, squeeze_factor, res_scale)
                                    for _ in range(num_group)])


class MSRResNet(nn.Module):
    """MSRResNet (SRResNet without batch norm): lrelu(conv_first), residual blocks (res_scale 1,
    no long skip), upconv + pixel shuffle (x2/x3: one by r; x4: two by 2) each with lrelu,
    lrelu(conv_hr), conv_last, plus the input upsampled bilinearly (align_corners=False)."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4):
        super().__init__()
        self.upscale = upscale
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat, 1.0) for _ in range(num_block)])
        r1 = 2 if upscale == 4 else upscale
        self.upconv1 = nn.Conv2d(num_feat, num_feat * r1 * r1, 3, 1, 1)
        if upscale == 4:
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.1)  # noqa: E731
        out = self.body(act(self.conv_first(x)))
        if self.upscale == 4:
            out = act(F.pixel_shuffle(self.upconv1(out), 2))
            out = act(F.pixel_shuffle(self.upconv2(out), 2))
        else:
            out = act(F.pixel_shuffle(self.upconv1(out), self.upscale))
        out = self.conv_last(act(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
