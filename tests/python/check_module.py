"""The Python module (build/python/srengine*.so) used as Real-ESRGAN's RealESRGANer is:
BGR(A) numpy images in and out, (output, img_mode) back, the same pixels as `srengine infer`
gives for the same file; errors as exceptions; BasicSR's metrics; training from a config; BasicSR
option files (.yml) wherever a config is read.

usage: /usr/bin/python3 tests/python/check_module.py BUILD_PYTHON_DIR SRENGINE_EXE SOURCE_DIR
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

build_python, exe, src = sys.argv[1:4]
sys.path.insert(0, build_python)
import srengine  # noqa: E402

fx = os.path.join(src, "tests", "fixtures", "infer")
config, weights = os.path.join(fx, "config.json"), os.path.join(fx, "rrdbnet_tiny.safetensors")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what)


def bgr(rgb):
    return np.ascontiguousarray(rgb[:, :, [2, 1, 0] + ([3] if rgb.shape[2] == 4 else [])])


check("RealESRGAN_x4plus" in srengine.model_names(), "model_names lists the presets")
up = srengine.Upscaler(config=config, weights=weights, tile=8, device="cpu")
# Paths as pathlib.Path work as str does (model_dir too).
from pathlib import Path  # noqa: E402
check(srengine.Upscaler(config=Path(config), weights=Path(weights), model_dir=Path("."), device="cpu").scale == 4,
      "Upscaler takes pathlib.Path arguments")
check(up.scale == 4 and up.device == "cpu", "scale and device")

with tempfile.TemporaryDirectory() as tmp:
    photo = os.path.join(fx, "input.png")
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    for outscale, flag in ((None, []), (2.5, ["-s", "2.5"])):
        out_dir = os.path.join(tmp, f"cli{outscale}")
        subprocess.run([exe, "infer", "--config", config, "--weights", weights, "-i", photo, "-o", out_dir,
                        "-t", "8", "--device", "cpu"] + flag, check=True, stdout=subprocess.DEVNULL)
        cli = bgr(np.asarray(Image.open(os.path.join(out_dir, "input.png")).convert("RGB")))
        got, mode = up.enhance(bgr(rgb), outscale=outscale)
        check(mode == "RGB" and got.dtype == np.uint8, f"outscale {outscale}: mode RGB, uint8")
        check(got.shape == cli.shape, f"outscale {outscale}: shape {got.shape} == CLI {cli.shape}")
        check(got.shape == cli.shape and np.array_equal(got, cli), f"outscale {outscale}: the CLI's pixels")

    # Gray stays 2-D, RGBA keeps 4 channels, uint16 stays uint16, strided views are read right.
    gray = rgb[:, :, 1].copy()
    g, mode = up.enhance(gray)
    check(mode == "L" and g.shape == (gray.shape[0] * 4, gray.shape[1] * 4), "gray: 2-D, mode L")
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 200, np.uint8)], axis=2)
    a, mode = up.enhance(bgr(rgba), alpha_upsampler="bicubic")
    check(mode == "RGBA" and a.shape[2] == 4 and abs(int(a[:, :, 3].mean()) - 200) <= 1, "RGBA: alpha kept")
    w16, _ = up.enhance((bgr(rgb).astype(np.uint16) * 257))
    check(w16.dtype == np.uint16, "uint16 in, uint16 out")
    base, _ = up.enhance(bgr(rgb))
    flipped, _ = up.enhance(bgr(rgb)[:, ::-1][:, ::-1])  # a non-contiguous view of the same pixels
    check(np.array_equal(base, flipped), "strided input")

    # half=True (RealESRGANer's) is the CLI's --half: its pixels, a few of them off float32's.
    half_dir = os.path.join(tmp, "cli_half")
    subprocess.run([exe, "infer", "--config", config, "--weights", weights, "-i", photo, "-o", half_dir, "-t", "8",
                    "--device", "cpu", "--half"], check=True, stdout=subprocess.DEVNULL)
    cli_half = bgr(np.asarray(Image.open(os.path.join(half_dir, "input.png")).convert("RGB")))
    half, _ = srengine.Upscaler(config=config, weights=weights, tile=8, device="cpu", half=True).enhance(bgr(rgb))
    check(np.array_equal(half, cli_half), "half=True: the CLI's --half pixels")
    check(not np.array_equal(half, base) and np.abs(half.astype(int) - base).max() <= 1, "half: within a level")
    # Errors name the keyword arguments, not srengine infer's flags.
    refusals = (({"precision": "fp8"}, "precision expects default"),
                ({"half": True, "precision": "bf16"}, "contradicts"),
                ({"tile_pad": -1}, "tile_pad must be >= 0, got -1"),
                ({"model_name": "RealESRGAN_x4plus"}, "give a model name (model_name) or config, not both"))
    for kwargs, words in refusals:
        try:
            srengine.Upscaler(**{"config": config, "weights": weights, "device": "cpu", **kwargs})
            check(False, f"{kwargs} raises")
        except srengine.Error as e:
            check(words in str(e) and "--" not in str(e), f"{kwargs}: the error says '{words}', no CLI flag")
    try:
        up.pre_pad = -4
        check(False, "pre_pad -4 raises")
    except srengine.Error as e:
        check(str(e) == "pre_pad must be >= 0, got -4", "pre_pad -4: the error names the property")

    try:
        srengine.Upscaler(model_name="RealESRGAN_x4plus", model_dir=tmp)
        check(False, "a missing weights file raises")
    except srengine.Error as e:
        check("RealESRGAN_x4plus.pth" in str(e) and isinstance(e, RuntimeError), "the error names the file")
        check("model_dir" in str(e) and "--" not in str(e), f"the error names model_dir, no CLI flag ({e})")
    try:  # a file whose architecture cannot be told from its tensors
        srengine.Upscaler(weights=os.path.join(src, "tests", "fixtures", "nets", "rrdbnet_x1.safetensors"))
        check(False, "an unrecognised weights file raises")
    except srengine.Error as e:
        check("Give config (its network_g) or model_name" in str(e) and "--" not in str(e),
              f"the unrecognised file's error names config and model_name ({e})")

    # BasicSR's PSNR: 10 log10(255^2 / MSE); identical images give inf.
    noisy = np.clip(base.astype(int) + (np.arange(base.size).reshape(base.shape) % 5) - 2, 0, 255).astype(np.uint8)
    mse = np.mean((base.astype(np.float64) - noisy) ** 2)
    check(abs(srengine.calculate_psnr(base, noisy) - 10 * math.log10(255.0 ** 2 / mse)) < 1e-9, "PSNR")
    check(math.isinf(srengine.calculate_psnr(base, base)), "PSNR of equal images is inf")
    check(abs(srengine.calculate_ssim(base, base) - 1.0) < 1e-12, "SSIM of equal images is 1")

    # NIQE against a pristine model made by niqe-fit: the reference implementation's number
    # (tests/python/niqe_reference.py, scipy's convolve as BasicSR) where scipy is installed.
    pristine = os.path.join(tmp, "pristine.npz")
    subprocess.run([exe, "niqe-fit", "--input", os.path.join(src, "datasets", "train_photos"), "--output", pristine],
                   check=True, capture_output=True)
    niqe_photo = os.path.join(src, "datasets", "val_photos", "mate_wood.png")
    niqe_bgr = np.ascontiguousarray(np.asarray(Image.open(niqe_photo).convert("RGB"))[:, :, ::-1])
    niqe = srengine.calculate_niqe(niqe_bgr, 4, pris_params=Path(pristine))
    check(math.isfinite(niqe) and niqe > 0, f"NIQE of a photo is finite ({niqe})")
    try:
        sys.path.insert(0, os.path.join(src, "tests", "python"))
        import niqe_reference  # noqa: E402 (needs python3-scipy)
        ref = niqe_reference.score(dict(np.load(pristine)), niqe_photo, 4)
        check(abs(niqe - ref) < 1e-9 * ref, f"NIQE equals the reference's ({niqe} vs {ref})")
    except ImportError:
        print("warning: python3-scipy is missing: NIQE not compared with the reference")
    try:
        srengine.calculate_niqe(niqe_bgr[:100, :100], 0, pris_params=pristine)
        check(False, "a 100x100 image raises")
    except srengine.Error as e:
        check("two whole 96x96 blocks" in str(e), f"the small image's error says what NIQE needs ({e})")

    # LPIPS: random AlexNet weights from the reference script; the object equals the reference on
    # the files it reads (RGB), and takes BGR arrays as cv2 gives them.
    sys.path.insert(0, os.path.join(src, "tests", "python"))
    try:
        import torch  # noqa: F401,E402
        lp_dir = os.path.join(tmp, "lpips")
        os.makedirs(lp_dir)
        ref_script = os.path.join(src, "tests", "python", "lpips_reference.py")
        subprocess.run([sys.executable, ref_script, "make-weights", "alex", lp_dir], check=True, capture_output=True)
        wood = np.asarray(Image.open(niqe_photo).convert("RGB"))[:96, :128]
        blur = np.asarray(Image.fromarray(wood).resize((64, 48), Image.BICUBIC).resize((128, 96), Image.BICUBIC))
        Image.fromarray(wood).save(os.path.join(lp_dir, "gt.png"))
        Image.fromarray(blur).save(os.path.join(lp_dir, "sr.png"))
        lp = srengine.LPIPS(Path(lp_dir) / "lin.pth", os.path.join(lp_dir, "backbone.pth"))
        check(lp.net == "alex", f"LPIPS tells AlexNet from the weights ({lp.net})")
        got = lp(bgr(blur), bgr(wood))
        out = subprocess.run([sys.executable, ref_script, "score", os.path.join(lp_dir, "lin.pth"),
                              os.path.join(lp_dir, "backbone.pth"), "0", os.path.join(lp_dir, "gt.png"),
                              os.path.join(lp_dir, "sr.png")], check=True, capture_output=True, text=True).stdout
        ref = float(out.split()[1])
        check(abs(got - ref) < 1e-4 * ref, f"LPIPS equals the reference's ({got} vs {ref})")
        check(lp(bgr(wood), bgr(wood)) == 0.0, "LPIPS of equal images is 0")
        try:
            lp(bgr(wood)[:20, :20], bgr(wood)[:20, :20])
            check(False, "a 20x20 image raises for AlexNet")
        except srengine.Error as e:
            check("at least 31" in str(e), f"the small image's error says what AlexNet needs ({e})")
    except ImportError:
        print("warning: python3-torch is missing: LPIPS not checked")

    # Training: the tiny config's first stage for 2 iterations, into the temporary folder.
    rc = srengine.train(os.path.join(src, "tests", "fixtures", "train_tiny.json"),
                        overrides=["train.stages.0.total_iter=2", "val.val_freq=2", "logger.save_checkpoint_freq=2",
                                   f"path.experiments_root={tmp}/exp"], stage="psnr")
    model = os.path.join(tmp, "exp", "tiny", "models", "net_g_psnr_final.safetensors")
    check(rc == 0 and os.path.exists(model), "train() ran and saved the model")
    check(srengine.Upscaler(weights=model, device="cpu").scale == 4, "the trained model opens without a config")

# RealESRGANer with Real-ESRGAN's constructor: a .pth of {'params_ema': ...} as its releases are,
# torch.device, pre_pad 10 on the right and bottom only; its pixels are what RealESRGANer.enhance
# computes (pad, net, crop, clamp, x255, round), within a level of float rounding. Upscaler's
# pre_pad on all four sides differs more (the top and left border get context there).
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
sys.path.insert(0, os.path.join(src, "tools"))
from torch_nets import RRDBNet  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    torch.manual_seed(5)
    net = RRDBNet(3, 3, 4, num_feat=8, num_block=1, num_grow_ch=4).eval()
    pth = os.path.join(tmp, "net.pth")
    torch.save({"params_ema": net.state_dict()}, pth)
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    img = rng.integers(0, 256, (19, 23, 3), dtype=np.uint8)  # BGR
    with torch.no_grad():
        x = torch.from_numpy(img[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        y = net(F.pad(x, (0, 10, 0, 10), mode="reflect"))[:, :, :19 * 4, :23 * 4].clamp(0, 1)
    want = np.round(y[0].permute(1, 2, 0).numpy() * 255.0).astype(np.uint8)[:, :, ::-1]
    shim = srengine.RealESRGANer(scale=4, model_path=pth, model=net, tile=0, half=False,
                                 device=torch.device("cpu"), gpu_id=None)
    got, mode = shim.enhance(img, outscale=None)
    shim_gap = np.abs(got.astype(int) - want).max()
    check(mode == "RGB" and got.shape == want.shape and shim_gap <= 1, f"RealESRGANer: its pixels (gap {shim_gap})")
    check(shim.pre_pad == 10 and shim.tile_size == 0 and shim.scale == 4, "RealESRGANer: its defaults")
    all_sides, _ = srengine.Upscaler(weights=pth, pre_pad=10, device="cpu").enhance(img)
    check(np.abs(all_sides.astype(int) - want).max() > shim_gap, "pre_pad on all sides differs at the border")
    # alpha_upsampler other than 'realesrgan': RealESRGANer's cv2.resize(alpha, INTER_LINEAR) of
    # the whole alpha plane, which is torch's bilinear without align_corners when upscaling.
    alpha = rng.integers(0, 256, (19, 23), dtype=np.uint8)
    a = torch.from_numpy(alpha.astype(np.float32) / 255.0)[None, None]
    want_a = np.round(F.interpolate(a, scale_factor=4, mode="bilinear", align_corners=False)[0, 0].numpy() * 255.0)
    got4, mode = shim.enhance(np.dstack([img, alpha]), alpha_upsampler="bicubic")
    alpha_gap = np.abs(got4[:, :, 3].astype(int) - want_a).max()
    check(mode == "RGBA" and alpha_gap <= 1, f"RealESRGANer: its linear alpha (gap {alpha_gap})")
    check(np.array_equal(got4[:, :, :3], got), "RealESRGANer: RGBA colour is the RGB output")
    shim.tile_size = 8
    check(shim.enhance(img)[0].shape == want.shape, "RealESRGANer: tile_size set after construction")
    for kwargs, words in (({"scale": 2}, "x4 network"), ({"model_path": "https://x/y.pth"}, "downloads nothing"),
                          ({"model_path": [pth, pth], "dni_weight": [0.5, 0.6]}, "must sum to 1")):
        try:
            srengine.RealESRGANer(**{"scale": 4, "model_path": pth, **kwargs})
            check(False, f"RealESRGANer {kwargs} raises")
        except srengine.Error as e:
            check(words in str(e), f"RealESRGANer {kwargs}: the error says '{words}'")
    # Gray output is the clamped output's luma (RealESRGANer: clamp, then BGR2GRAY); H x W x 1
    # keeps its layout; 16-bit samples in big-endian order are read; outscale 0 is refused.
    gray = img[:, :, 1].copy()
    g, mode = shim.enhance(gray)
    with torch.no_grad():
        xg = torch.from_numpy(np.repeat(gray[:, :, None], 3, 2).astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        yg = net(F.pad(xg, (0, 10, 0, 10), mode="reflect"))[0, :, :19 * 4, :23 * 4].clamp(0, 1)
    want_g = np.round((0.299 * yg[0] + 0.587 * yg[1] + 0.114 * yg[2]).numpy() * 255.0)
    check(mode == "L" and np.abs(g.astype(int) - want_g).max() <= 1, "gray: the clamped output's luma")
    check(shim.enhance(gray[:, :, None])[0].shape == (76, 92, 1), "H x W x 1 stays H x W x 1")
    big = (img.astype(np.uint16) * 257).astype(">u2")
    check(np.array_equal(shim.enhance(big)[0], shim.enhance(big.astype(np.uint16))[0]), "big-endian uint16")
    try:
        shim.enhance(img, outscale=0)
        check(False, "outscale 0 raises")
    except srengine.Error as e:
        check("outscale must be a number > 0" in str(e), "outscale 0: the error names outscale")

# A BasicSR option file is read as the CLI reads it: the architecture for Upscaler, and
# training (the published PSNR file with the embedded photos, a tiny net, 2 iterations).
with tempfile.TemporaryDirectory() as tmp:
    yml = os.path.join(tmp, "net.yml")
    with open(yml, "w") as f:
        f.write("name: infer_fixture\nmodel_type: SRModel\nscale: 4\nnum_gpu: 0\n"
                "network_g: {type: RRDBNet, num_in_ch: 3, num_out_ch: 3, num_feat: 4, num_block: 1, num_grow_ch: 3}\n")
    from_yaml = srengine.Upscaler(config=yml, weights=weights, tile=8, device="cpu")
    photo = bgr(np.asarray(Image.open(os.path.join(fx, "input.png")).convert("RGB")))
    check(np.array_equal(from_yaml.enhance(photo)[0], up.enhance(photo)[0]), "Upscaler from a .yml config")
    photos = os.path.join(src, "datasets")
    sets = []
    for s in ("train", "val"):
        sets += [f"datasets.{s}.type=GTOnlyBicubicDataset", f"datasets.{s}.dataroot_gt={photos}/{s}_photos",
                 f"datasets.{s}.dataroot_lq=null"]
    rc = srengine.train(os.path.join(src, "tests", "fixtures", "yaml", "train_RRDBNet_PSNR_x4.yml"),
                        overrides=sets + [f"datasets.val.meta_info_file={src}/tests/fixtures/val_one.txt",
                                          "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                          "network_g.num_feat=8", "network_g.num_block=1", "network_g.num_grow_ch=4",
                                          "train.stages.0.total_iter=2", "train.stages.0.scheduler.periods=[2]",
                                          "train.stages.0.scheduler.restart_weights=[1]",
                                          "val.val_freq=2", "logger.save_checkpoint_freq=2", "device=cpu",
                                          "name=yaml_py", f"path.experiments_root={tmp}/exp"])
    check(rc == 0 and os.path.exists(os.path.join(tmp, "exp", "yaml_py", "models", "net_g_sr_final.safetensors")),
          "train() from a BasicSR option file")

print("check_module:", "FAILED " + ", ".join(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
