"""ESRGAN's generator, Real-ESRGAN's discriminator and compact net, EDSR, MSRResNet (and RCAN, SwinIR,
HAT, ECBSR) in plain PyTorch,
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


# ---- SwinIR (Liang et al. 2021, "SwinIR: Image Restoration Using Swin Transformer") --------------
# BasicSR's swinir_arch names and options. Tokens are (B, H*W, C); a block's windows come from the
# token image rolled by (-shift, -shift); the relative position bias and the shift mask follow the
# Swin paper's definitions. Dropout and stochastic depth are left out (the parity fixtures train
# with drop_path_rate 0).

def swin_windows(x, ws):
    """(B, H, W, C) -> (B * H/ws * W/ws, ws*ws, C), windows row-major, tokens row-major."""
    B, H, W, C = x.shape
    return x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, C)


def swin_unwindows(w, ws, B, H, W):
    """The inverse of swin_windows."""
    return w.view(B, H // ws, W // ws, ws, ws, w.shape[-1]).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)


def swin_relative_position_index(ws):
    """index[i, j] = (yi - yj + ws - 1) (2 ws - 1) + (xi - xj + ws - 1) over a window's tokens."""
    ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    y, x = ys.flatten(), xs.flatten()
    return (y[:, None] - y[None, :] + ws - 1) * (2 * ws - 1) + (x[:, None] - x[None, :] + ws - 1)


def swin_shift_mask(H, W, ws, shift, dtype=torch.float64):
    """(nW, N, N): -100 where two tokens of a window of the rolled image come from different
    regions (rows cut at H - ws and H - shift, columns at W - ws and W - shift), else 0."""
    label = torch.zeros(1, H, W, 1, dtype=dtype)
    cuts = lambda n: ((0, n - ws), (n - ws, n - shift), (n - shift, n))  # noqa: E731
    region = 0
    for h0, h1 in cuts(H):
        for w0, w1 in cuts(W):
            label[:, h0:h1, w0:w1, :] = region
            region += 1
    lw = swin_windows(label, ws).squeeze(-1)
    differ = (lw[:, None, :] - lw[:, :, None]) != 0
    return torch.zeros(differ.shape, dtype=dtype).masked_fill(differ, -100.0)


class SwinWindowAttention(nn.Module):
    def __init__(self, dim, ws, num_heads, qkv_bias=True, qk_scale=None):
        super().__init__()
        self.ws, self.num_heads, self.scale = ws, num_heads, qk_scale or (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(0.02 * torch.randn((2 * ws - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", swin_relative_position_index(ws))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        B_, N, C = x.shape
        nh = self.num_heads
        q, k, v = self.qkv(x).reshape(B_, N, 3, nh, C // nh).permute(2, 0, 3, 1, 4)
        s = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, nh)
        s = s + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            s = (s.view(B_ // nW, nW, nh, N, N) + mask.unsqueeze(1).unsqueeze(0)).view(B_, nh, N, N)
        out = (s.softmax(dim=-1) @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(out)


class SwinMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, input_resolution, num_heads, ws, shift, mlp_ratio, qkv_bias, qk_scale):
        super().__init__()
        if min(input_resolution) <= ws:  # one window covers the training patch: no shift
            ws, shift = min(input_resolution), 0
        self.ws, self.shift, self.input_resolution = ws, shift, tuple(input_resolution)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SwinWindowAttention(dim, ws, num_heads, qkv_bias, qk_scale)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = SwinMlp(dim, int(dim * mlp_ratio))
        mask = swin_shift_mask(*input_resolution, ws, shift, torch.float32) if shift > 0 else None
        self.register_buffer("attn_mask", mask)

    def forward(self, x, x_size):
        H, W = x_size
        B, L, C = x.shape
        y = self.norm1(x).view(B, H, W, C)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        mask = None
        if self.shift:
            mask = self.attn_mask if tuple(x_size) == self.input_resolution else swin_shift_mask(H, W, self.ws, self.shift, x.dtype)
        y = swin_unwindows(self.attn(swin_windows(y, self.ws), mask), self.ws, B, H, W)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y.reshape(B, L, C)
        return x + self.mlp(self.norm2(x))


class SwinBasicLayer(nn.Module):
    def __init__(self, dim, input_resolution, depth, num_heads, ws, mlp_ratio, qkv_bias, qk_scale):
        super().__init__()
        self.blocks = nn.ModuleList([SwinTransformerBlock(dim, input_resolution, num_heads, ws,
                                                          0 if i % 2 == 0 else ws // 2, mlp_ratio, qkv_bias, qk_scale)
                                     for i in range(depth)])

    def forward(self, x, x_size):
        for b in self.blocks:
            x = b(x, x_size)
        return x


def swin_tokens(x):
    return x.flatten(2).transpose(1, 2)


def swin_image(t, x_size):
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], *x_size)


def swin_residual_conv(dim, kind):
    """"1conv": a 3x3 conv; "3conv": 3x3 to dim / 4, LeakyReLU 0.2, 1x1, LeakyReLU 0.2, 3x3 back."""
    if kind == "1conv":
        return nn.Conv2d(dim, dim, 3, 1, 1)
    return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim // 4, 1, 1, 0),
                         nn.LeakyReLU(0.2), nn.Conv2d(dim // 4, dim, 3, 1, 1))


class RSTB(nn.Module):
    """Residual Swin transformer block: tokens + embed(conv(unembed(blocks(tokens))))."""

    def __init__(self, dim, input_resolution, depth, num_heads, ws, mlp_ratio, qkv_bias, qk_scale, resi_connection):
        super().__init__()
        self.residual_group = SwinBasicLayer(dim, input_resolution, depth, num_heads, ws, mlp_ratio, qkv_bias, qk_scale)
        self.conv = swin_residual_conv(dim, resi_connection)

    def forward(self, x, x_size):
        return swin_tokens(self.conv(swin_image(self.residual_group(x, x_size), x_size))) + x


class SwinPatchEmbedNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)


class SwinIR(nn.Module):
    def __init__(self, upscale=2, in_chans=3, img_size=64, window_size=7, img_range=1.0, depths=(6, 6, 6, 6),
                 embed_dim=96, num_heads=(6, 6, 6, 6), mlp_ratio=4.0, qkv_bias=True, qk_scale=None, patch_norm=True,
                 upsampler="", resi_connection="1conv", num_feat=64):
        super().__init__()
        self.upscale, self.window_size, self.img_range, self.upsampler = upscale, window_size, img_range, upsampler
        # float64 here, rounded to the input's dtype at use (BasicSR's float32 constant in float32 runs).
        self.mean = (torch.tensor([0.4488, 0.4371, 0.4040], dtype=torch.float64).view(1, 3, 1, 1) if in_chans == 3
                     else torch.zeros(1, 1, 1, 1, dtype=torch.float64))
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.patch_norm = patch_norm
        if patch_norm:
            self.patch_embed = SwinPatchEmbedNorm(embed_dim)
        res = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.layers = nn.ModuleList([RSTB(embed_dim, res, d, nh, window_size, mlp_ratio, qkv_bias, qk_scale, resi_connection)
                                     for d, nh in zip(depths, num_heads)])
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = swin_residual_conv(embed_dim, resi_connection)
        if upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
            ups = []
            if upscale & (upscale - 1) == 0:
                for _ in range(upscale.bit_length() - 1):
                    ups += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
            else:
                ups += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
            self.upsample = nn.Sequential(*ups)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        elif upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(nn.Conv2d(embed_dim, upscale * upscale * in_chans, 3, 1, 1),
                                          nn.PixelShuffle(upscale))
        elif upsampler == "nearest+conv":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
            self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)
        else:
            self.conv_last = nn.Conv2d(embed_dim, in_chans, 3, 1, 1)

    def features(self, x):
        x_size = (x.shape[2], x.shape[3])
        t = swin_tokens(x)
        if self.patch_norm:
            t = self.patch_embed.norm(t)
        for layer in self.layers:
            t = layer(t, x_size)
        return swin_image(self.norm(t), x_size)

    def forward(self, x):
        H, W = x.shape[2:]
        ws = self.window_size
        x = F.pad(x, (0, (ws - W % ws) % ws, 0, (ws - H % ws) % ws), "reflect")
        mean = self.mean.to(x)
        x = (x - mean) * self.img_range
        lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        if self.upsampler == "":
            f = self.conv_first(x)
            x = x + self.conv_last(self.conv_after_body(self.features(f)) + f)
        else:
            f = self.conv_first(x)
            f = self.conv_after_body(self.features(f)) + f
            if self.upsampler == "pixelshuffle":
                x = self.conv_last(self.upsample(self.conv_before_upsample(f)))
            elif self.upsampler == "pixelshuffledirect":
                x = self.upsample(f)
            else:
                f = self.conv_before_upsample(f)
                f = lrelu(self.conv_up1(F.interpolate(f, scale_factor=2, mode="nearest")))
                f = lrelu(self.conv_up2(F.interpolate(f, scale_factor=2, mode="nearest")))
                x = self.conv_last(lrelu(self.conv_hr(f)))
        x = x / self.img_range + mean
        s = self.upscale if self.upsampler else 1
        return x[:, :, :H * s, :W * s]


# ---- HAT (Chen et al. 2023, "Activating More Pixels in Image Super-Resolution Transformer") -------
# XPixelGroup/HAT's hat_arch names and options, written from the paper's definitions on the Swin
# pieces above. The per-block window attention is Swin's with the index at the top of the net;
# the overlapping cross-attention takes its keys and values from wse x wse windows (zero-padded
# at the image's border) centred on each ws x ws query window. Dropout and stochastic depth are
# left out (the parity fixtures train with drop_path_rate 0).

def hat_overlap_index(ws, wse):
    """(ws*ws, wse*wse): query token (yi, xi) of the window against key token (yj, xj) of the
    enlarged window, ((yj - yi) + ws - wse + 1) (ws + wse - 1) + ((xj - xi) + ws - wse + 1), where
    negative values index the table from its end (as a PyTorch index does)."""
    side = ws + wse - 1
    qy, qx = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    ky, kx = torch.meshgrid(torch.arange(wse), torch.arange(wse), indexing="ij")
    dy = ky.flatten()[None, :] - qy.flatten()[:, None] + ws - wse + 1
    dx = kx.flatten()[None, :] - qx.flatten()[:, None] + ws - wse + 1
    return dy * side + dx


class HATWindowAttention(SwinWindowAttention):
    """Swin's window attention whose index lives at the top of the net (no buffer here)."""

    def __init__(self, dim, ws, num_heads, qkv_bias=True, qk_scale=None):
        super().__init__(dim, ws, num_heads, qkv_bias, qk_scale)
        del self.relative_position_index
        self.index = None  # set by HAT before each forward

    def forward(self, x, mask):
        self.relative_position_index = self.index
        try:
            return super().forward(x, mask)
        finally:
            del self.relative_position_index


class HATChannelAttention(nn.Module):
    """RCAN's squeeze and excitation with HAT's key layout (attention.1, attention.3)."""

    def __init__(self, nf, squeeze):
        super().__init__()
        self.attention = nn.ModuleDict({"1": nn.Conv2d(nf, nf // squeeze, 1), "3": nn.Conv2d(nf // squeeze, nf, 1)})

    def forward(self, x):
        w = self.attention["3"](F.relu(self.attention["1"](x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(w)


class HATCAB(nn.Module):
    """conv 3x3 C -> C / compress, GELU, conv 3x3 back, channel attention; keys cab.0, cab.2, cab.3."""

    def __init__(self, nf, compress, squeeze):
        super().__init__()
        self.cab = nn.ModuleDict({"0": nn.Conv2d(nf, nf // compress, 3, 1, 1), "2": nn.Conv2d(nf // compress, nf, 3, 1, 1),
                                  "3": HATChannelAttention(nf, squeeze)})

    def forward(self, x):
        return self.cab["3"](self.cab["2"](F.gelu(self.cab["0"](x))))


class HATBlock(nn.Module):
    """x + attn(windows of norm1 x) + conv_scale * CAB(norm1 x), then x + mlp(norm2 x)."""

    def __init__(self, dim, num_heads, ws, shift, compress, squeeze, conv_scale, mlp_ratio, qkv_bias, qk_scale):
        super().__init__()
        self.ws, self.shift, self.conv_scale = ws, shift, conv_scale
        self.norm1 = nn.LayerNorm(dim)
        self.attn = HATWindowAttention(dim, ws, num_heads, qkv_bias, qk_scale)
        self.conv_block = HATCAB(dim, compress, squeeze)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = SwinMlp(dim, int(dim * mlp_ratio))

    def forward(self, x, x_size, index_sa):
        H, W = x_size
        B, L, C = x.shape
        n = self.norm1(x)
        conv = self.conv_block(swin_image(n, x_size))
        y = n.view(B, H, W, C)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        mask = swin_shift_mask(H, W, self.ws, self.shift, x.dtype) if self.shift else None
        self.attn.index = index_sa
        y = swin_unwindows(self.attn(swin_windows(y, self.ws), mask), self.ws, B, H, W)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y.reshape(B, L, C) + self.conv_scale * swin_tokens(conv)
        return x + self.mlp(self.norm2(x))


class HATOverlapBlock(nn.Module):
    """Overlapping cross-attention: queries from ws x ws windows, keys and values from the
    zero-padded wse x wse windows around them; x + proj(attention), then x + mlp(norm2 x)."""

    def __init__(self, dim, ws, wse, num_heads, qkv_bias, qk_scale, mlp_ratio):
        super().__init__()
        self.ws, self.wse, self.num_heads = ws, wse, num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.relative_position_bias_table = nn.Parameter(0.02 * torch.randn((ws + wse - 1) ** 2, num_heads))
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = SwinMlp(dim, int(dim * mlp_ratio))

    def forward(self, x, x_size, index_oca):
        H, W = x_size
        B, L, C = x.shape
        ws, wse, nh = self.ws, self.wse, self.num_heads
        d = C // nh
        q, k, v = self.qkv(self.norm1(x)).view(B, H, W, 3, C).unbind(3)
        qw = swin_windows(q, ws)                                         # (B nW, ws*ws, C)
        pad = (wse - ws) // 2

        def around(t):  # (B, H, W, C) -> (B nW, wse*wse, C): the enlarged window of each query window
            t = F.pad(t.permute(0, 3, 1, 2), (pad, pad, pad, pad))       # zeros outside the image
            t = t.unfold(2, wse, ws).unfold(3, wse, ws)                  # (B, C, nWh, nWw, wse, wse)
            return t.permute(0, 2, 3, 4, 5, 1).reshape(-1, wse * wse, C)

        kw, vw = around(k), around(v)
        heads = lambda t: t.view(t.shape[0], t.shape[1], nh, d).transpose(1, 2)  # noqa: E731
        s = (heads(qw) * self.scale) @ heads(kw).transpose(-2, -1)
        bias = self.relative_position_bias_table[index_oca.reshape(-1)].view(ws * ws, wse * wse, nh)
        s = s + bias.permute(2, 0, 1).unsqueeze(0)
        out = (s.softmax(-1) @ heads(vw)).transpose(1, 2).reshape(-1, ws * ws, C)
        x = self.proj(swin_unwindows(out, ws, B, H, W).reshape(B, L, C)) + x
        return x + self.mlp(self.norm2(x))


class HATGroupBody(nn.Module):
    def __init__(self, blocks, overlap):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.overlap_attn = overlap


class RHAG(nn.Module):
    """Residual hybrid attention group: x + embed(conv(unembed(overlap_attn(blocks(x)))))."""

    def __init__(self, dim, depth, num_heads, ws, shifted, wse, compress, squeeze, conv_scale, mlp_ratio, qkv_bias,
                 qk_scale, resi_connection):
        super().__init__()
        blocks = [HATBlock(dim, num_heads, ws, ws // 2 if shifted and i % 2 else 0, compress, squeeze, conv_scale,
                           mlp_ratio, qkv_bias, qk_scale) for i in range(depth)]
        self.residual_group = HATGroupBody(blocks, HATOverlapBlock(dim, ws, wse, num_heads, qkv_bias, qk_scale, mlp_ratio))
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1) if resi_connection == "1conv" else nn.Identity()

    def forward(self, x, x_size, index_sa, index_oca):
        t = x
        for b in self.residual_group.blocks:
            t = b(t, x_size, index_sa)
        t = self.residual_group.overlap_attn(t, x_size, index_oca)
        return swin_tokens(self.conv(swin_image(t, x_size))) + x


class HAT(nn.Module):
    """HAT with the pixelshuffle head; the input is reflect-padded to a multiple of the window and
    the output cropped (HATModel's test-time padding, done here for every forward)."""

    def __init__(self, upscale=2, in_chans=3, img_size=64, window_size=7, compress_ratio=3, squeeze_factor=30,
                 conv_scale=0.01, overlap_ratio=0.5, img_range=1.0, depths=(6, 6, 6, 6), embed_dim=96,
                 num_heads=(6, 6, 6, 6), mlp_ratio=4.0, qkv_bias=True, qk_scale=None, patch_norm=True,
                 upsampler="pixelshuffle", resi_connection="1conv", num_feat=64, index_buffers=True):
        super().__init__()
        assert upsampler == "pixelshuffle", upsampler
        ws = window_size
        wse = int(ws * overlap_ratio) + ws
        self.upscale, self.window_size, self.img_range = upscale, ws, img_range
        self.mean = (torch.tensor([0.4488, 0.4371, 0.4040], dtype=torch.float64).view(1, 3, 1, 1) if in_chans == 3
                     else torch.zeros(1, 1, 1, 1, dtype=torch.float64))
        index_sa, index_oca = swin_relative_position_index(ws), hat_overlap_index(ws, wse)
        if index_buffers:  # HAT's newer files carry both; older ones neither
            self.register_buffer("relative_position_index_SA", index_sa)
            self.register_buffer("relative_position_index_OCA", index_oca)
        else:
            self.index_sa, self.index_oca = index_sa, index_oca
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        self.patch_norm = patch_norm
        if patch_norm:
            self.patch_embed = SwinPatchEmbedNorm(embed_dim)
        res = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        shifted = min(res) > ws  # a one-window training patch drops the shift
        self.layers = nn.ModuleList([RHAG(embed_dim, d, nh, ws, shifted, wse, compress_ratio, squeeze_factor,
                                          conv_scale, mlp_ratio, qkv_bias, qk_scale, resi_connection)
                                     for d, nh in zip(depths, num_heads)])
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, 1, 1) if resi_connection == "1conv" else nn.Identity()
        self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, num_feat, 3, 1, 1), nn.LeakyReLU())
        ups = []
        if upscale & (upscale - 1) == 0:
            for _ in range(upscale.bit_length() - 1):
                ups += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        else:
            ups += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        self.upsample = nn.Sequential(*ups)
        self.conv_last = nn.Conv2d(num_feat, in_chans, 3, 1, 1)

    def indices(self):
        if hasattr(self, "relative_position_index_SA"):
            return self.relative_position_index_SA, self.relative_position_index_OCA
        return self.index_sa, self.index_oca

    def features(self, x):
        x_size = (x.shape[2], x.shape[3])
        index_sa, index_oca = self.indices()
        t = swin_tokens(x)
        if self.patch_norm:
            t = self.patch_embed.norm(t)
        for layer in self.layers:
            t = layer(t, x_size, index_sa, index_oca)
        return swin_image(self.norm(t), x_size)

    def forward(self, x):
        H, W = x.shape[2:]
        ws = self.window_size
        x = F.pad(x, (0, (ws - W % ws) % ws, 0, (ws - H % ws) % ws), "reflect")
        mean = self.mean.to(x)
        x = (x - mean) * self.img_range
        f = self.conv_first(x)
        f = self.conv_after_body(self.features(f)) + f
        x = self.conv_last(self.upsample(self.conv_before_upsample(f)))
        x = x / self.img_range + mean
        return x[:, :, :H * self.upscale, :W * self.upscale]


# ---- ECBSR (Zhang, Zeng and Zhang, ACM MM 2021) ----------------------------------------------
# Training form: every block is the sum of its five branches, each computed as the paper draws
# it (a 1x1 convolution whose output is padded with its own bias, then a 3x3), not folded.

ECB_EDGE_TAPS = {
    "sbx": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sby": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "lpl": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def pad_with_bias(y, b):
    """y (N, C, H, W) padded by one pixel on each side with b[c] instead of zeros."""
    p = F.pad(y, (1, 1, 1, 1))
    v = b.view(1, -1, 1, 1)
    p[:, :, :1, :] = v
    p[:, :, -1:, :] = v
    p[:, :, :, :1] = v
    p[:, :, :, -1:] = v
    return p


class ECBConv1x1Conv3x3(nn.Module):
    def __init__(self, cin, cout, mid):
        super().__init__()
        c0, c1 = nn.Conv2d(cin, mid, 1), nn.Conv2d(mid, cout, 3)
        self.k0, self.b0 = c0.weight, c0.bias
        self.k1, self.b1 = c1.weight, c1.bias

    def forward(self, x):
        return F.conv2d(pad_with_bias(F.conv2d(x, self.k0, self.b0), self.b0), self.k1, self.b1)


class ECBConv1x1Edge(nn.Module):
    def __init__(self, cin, cout, taps):
        super().__init__()
        c0 = nn.Conv2d(cin, cout, 1)
        self.k0, self.b0 = c0.weight, c0.bias
        self.scale = nn.Parameter(torch.randn(cout, 1, 1, 1) * 1e-3)
        self.bias = nn.Parameter(torch.randn(cout) * 1e-3)
        self.register_buffer("mask", torch.tensor(taps, dtype=torch.float32).view(1, 1, 3, 3).repeat(cout, 1, 1, 1))

    def forward(self, x):
        y0 = pad_with_bias(F.conv2d(x, self.k0, self.b0), self.b0)
        return F.conv2d(y0, self.scale * self.mask, self.bias, groups=self.mask.shape[0])


class ECB(nn.Module):
    def __init__(self, cin, cout, act_type, with_idt):
        super().__init__()
        self.with_idt = with_idt and cin == cout
        self.conv3x3 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.conv1x1_3x3 = ECBConv1x1Conv3x3(cin, cout, 2 * cout)
        self.conv1x1_sbx = ECBConv1x1Edge(cin, cout, ECB_EDGE_TAPS["sbx"])
        self.conv1x1_sby = ECBConv1x1Edge(cin, cout, ECB_EDGE_TAPS["sby"])
        self.conv1x1_lpl = ECBConv1x1Edge(cin, cout, ECB_EDGE_TAPS["lpl"])
        self.act_type = act_type
        if act_type == "prelu":
            self.act = nn.PReLU(cout)
        elif act_type == "relu":
            self.act = nn.ReLU()

    def forward(self, x):
        y = (self.conv3x3(x) + self.conv1x1_3x3(x) + self.conv1x1_sbx(x) + self.conv1x1_sby(x)
             + self.conv1x1_lpl(x))
        if self.with_idt:
            y = y + x
        return y if self.act_type == "linear" else self.act(y)


class ECBSR(nn.Module):
    def __init__(self, num_in_ch, num_out_ch, num_block, num_channel, with_idt, act_type, scale):
        super().__init__()
        self.scale = scale
        blocks = [ECB(num_in_ch, num_channel, act_type, with_idt)]
        blocks += [ECB(num_channel, num_channel, act_type, with_idt) for _ in range(num_block)]
        blocks.append(ECB(num_channel, num_out_ch * scale * scale, "linear", with_idt))
        self.backbone = nn.Sequential(*blocks)

    def forward(self, x):
        # Each input channel repeated scale^2 times (one channel broadcasts over all of them).
        shortcut = torch.repeat_interleave(x, self.scale * self.scale, dim=1) if x.shape[1] > 1 else x
        return F.pixel_shuffle(self.backbone(x) + shortcut, self.scale)
