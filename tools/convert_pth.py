#!/usr/bin/python3
"""Converts BasicSR / Real-ESRGAN PyTorch weights to safetensors for srengine, and back.

  .pth -> .safetensors   convert_pth.py net_g.pth net_g.safetensors [--key auto|params_ema|params|all]
  .safetensors -> .pth   convert_pth.py net_g.safetensors net_g.pth

Reading a .pth handles BasicSR checkpoints ({'params': sd} or {'params': sd, 'params_ema': sd}),
bare state dicts (torchvision's vgg19-dcbb9e9d.pth, many third-party models: the cause of
BasicSR's "KeyError: 'params'"), other wrappers ('state_dict', 'model'), DataParallel's
'module.' prefixes, and the legacy ESRGAN names (RRDB_trunk.N.RDBk, trunk_conv, upconv1/2,
HRconv). --key chooses the wrapper: auto = params_ema if present, else params, else the bare
dict; all = every wrapper, keys kept as 'params.<name>' / 'params_ema.<name>' (srengine's
--weights understands both and prefers params_ema). Tensors keep their dtype (float16 and
bfloat16 are read by srengine as float32), unless --float32.

Writing a .pth produces {'params': sd} (plus 'params_ema' when the safetensors file holds
params_ema.-prefixed keys); num_batches_tracked becomes int64 again as torch expects.
Uses Debian's python3-torch only to read/write .pth; the safetensors side is tools/safetensors_file.py.
"""
import argparse
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import read_safetensors, write_safetensors  # noqa: E402

WRAPPERS = ("params_ema", "params")


def legacy_esrgan_name(k):
    """xinntao/ESRGAN's RRDB_ESRGAN_x4.pth names -> BasicSR's."""
    k = re.sub(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.", r"body.\1.rdb\2.", k)
    for old, new in (("trunk_conv.", "conv_body."), ("upconv1.", "conv_up1."), ("upconv2.", "conv_up2."),
                     ("HRconv.", "conv_hr.")):
        if k.startswith(old):
            k = new + k[len(old):]
    return k


def clean_state_dict(sd, where):
    """Tensors only, 'module.' stripped, legacy names mapped."""
    out, skipped = {}, []
    for k, v in sd.items():
        if not torch.is_tensor(v):
            skipped.append(k)
            continue
        while k.startswith("module."):
            k = k[len("module."):]
        k = legacy_esrgan_name(k)
        if k in out:
            sys.exit(f"convert_pth: {where}: key {k!r} appears twice after removing prefixes")
        out[k] = v
    if skipped:
        print(f"  {where}: skipped {len(skipped)} non-tensor entries: {', '.join(skipped[:5])}"
              f"{' ...' if len(skipped) > 5 else ''}")
    return out


def load_pth(path, key):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 (report any unpickling failure plainly)
        sys.exit(f"convert_pth: cannot read {path}: {e}")
    if not isinstance(obj, dict):
        sys.exit(f"convert_pth: {path} holds a {type(obj).__name__}, not a state dict (a whole pickled model? "
                 "save its state_dict() instead)")
    wrappers = {w: obj[w] for w in WRAPPERS if isinstance(obj.get(w), dict)}
    for other in ("state_dict", "model"):
        if not wrappers and isinstance(obj.get(other), dict):
            print(f"  using the {other!r} entry of {path}")
            obj = obj[other]
    if key == "all":
        if not wrappers:
            return clean_state_dict(obj, path)
        out = {}
        for w, sd in wrappers.items():
            out.update({f"{w}.{k}": v for k, v in clean_state_dict(sd, f"{path}[{w}]").items()})
        return out
    if key == "auto":
        chosen = next((w for w in WRAPPERS if w in wrappers), None)
    else:
        if key not in wrappers:
            found = ", ".join(wrappers) or "none (a bare state dict)"
            sys.exit(f"convert_pth: {path} has no {key!r} entry (wrappers found: {found}); use --key auto")
        chosen = key
    if chosen is None:
        print(f"  {path}: bare state dict (no 'params' / 'params_ema' wrapper)")
        return clean_state_dict(obj, path)
    print(f"  {path}: using {chosen!r}" + (f" (also present: {', '.join(w for w in wrappers if w != chosen)})"
                                           if len(wrappers) > 1 else ""))
    return clean_state_dict(wrappers[chosen], f"{path}[{chosen}]")


def pth_to_safetensors(src, dst, key, float32):
    sd = load_pth(src, key)
    if not sd:
        sys.exit(f"convert_pth: {src} holds no tensors")
    if float32:
        sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    write_safetensors(dst, sd, {"format": "pt", "source": os.path.basename(src)})
    n = sum(v.numel() for k, v in sd.items() if v.is_floating_point() and "running_" not in k and "weight_u" not in k
            and "weight_v" not in k)
    print(f"wrote {dst}: {len(sd)} tensors, {n:,} floating-point values in parameters")


def safetensors_to_pth(src, dst):
    tensors, meta = read_safetensors(src)
    groups = {}
    for k, a in tensors.items():
        group, name = "params", k
        for w in WRAPPERS:
            if k.startswith(w + "."):
                group, name = w, k[len(w) + 1:]
                break
        t = torch.from_numpy(np.array(a))
        if name.endswith("num_batches_tracked"):
            t = t.to(torch.int64)
        groups.setdefault(group, {})[name] = t
    out = {w: groups[w] for w in WRAPPERS[::-1] if w in groups}
    torch.save(out, dst)
    print(f"wrote {dst}: " + ", ".join(f"{w}: {len(sd)} tensors" for w, sd in out.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--key", default="auto", choices=["auto", "params_ema", "params", "all"],
                    help="which wrapper of a BasicSR checkpoint to convert (default auto: params_ema, else params)")
    ap.add_argument("--float32", action="store_true", help="store floating-point tensors as float32")
    args = ap.parse_args()
    if not os.path.isfile(args.input):
        sys.exit(f"convert_pth: input {args.input} does not exist")
    src_st = args.input.endswith(".safetensors")
    dst_st = args.output.endswith(".safetensors")
    if src_st == dst_st:
        sys.exit("convert_pth: convert between .pth/.pt and .safetensors (exactly one side must be .safetensors)")
    if src_st:
        safetensors_to_pth(args.input, args.output)
    else:
        pth_to_safetensors(args.input, args.output, args.key, args.float32)


if __name__ == "__main__":
    main()
