#!/usr/bin/python3
"""Writes the torch.save fixtures under tests/fixtures/pth/ (run with Debian's python3-torch 1.13).

Real checkpoints, written by torch.save itself:
  rrdbnet_x4.pth           {'params': sd, 'params_ema': -sd}: sd = the weights of
                           tests/fixtures/nets/rrdbnet_x4.safetensors, loaded into tools/torch_nets.RRDBNet
                           (so the OrderedDicts carry state_dict()'s _metadata, as real files do)
  rrdbnet_x4_fp16_module.pth  the same sd as float16, bare, with DataParallel's 'module.' prefixes
  rrdbnet_x4_bf16.pth      {'params': sd as bfloat16}
  rrdbnet_tiny_infer.pth   tests/fixtures/infer/rrdbnet_tiny.safetensors as {'params_ema': .., 'params': zeros}
  tensors.pth              every storage type, views (transposed, offset, shared storage, 0-d, empty),
                           nested dicts, an nn.Parameter, a BatchNorm state dict, non-tensor entries
  tensors_deflated.pth     tensors.pth re-zipped with deflate and torch >= 2's 'archive/' folder
  legacy.pth               a small dict in the legacy (non-zip) format
  torchscript.pt           torch.jit.save of a tiny module (not a state dict)
  convert_non_tensors.pth  a tensor beside an int, a str, a list of tensors and an int key (srengine convert
                           names what it skips)
  convert_module_twins.pth 'module.a' and 'a' (one name once the prefix is removed: an error)
Hand-built hostile archives (hostile_*.pth), each a zip laid out like torch.save's with a
crafted data.pkl: imports of os.system / builtins.eval / builtins.exec (STACK_GLOBAL) /
torch.storage._load_from_bytes / numpy / a model class / a torch.nn module / a quantized
tensor, the INST opcode, REDUCE of a storage class, bad storage offsets and strides, an
expanded view, overflowing sizes, a storage larger than its entry, a missing storage entry,
a dict that contains itself, a list at the top.

usage: /usr/bin/python3 tools/make_pth_fixtures.py [--out tests/fixtures/pth]
"""
import argparse
import collections
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_file import read_safetensors  # noqa: E402
from torch_nets import RRDBNet  # noqa: E402

ROOT = os.path.dirname(HERE)


# ---- Pickle opcodes, written by hand for the hostile files --------------------------------
def uni(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def i32(v):
    return b"J" + struct.pack("<i", v)


def ints_tuple(vals):
    return b"(" + b"".join(i32(v) for v in vals) + b"t"


def tensor_ops(key, numel, offset, sizes, strides, cls="FloatStorage", numel_op=None):
    pid = b"(" + uni("storage") + glob("torch", cls) + uni(key) + uni("cpu") + (numel_op or i32(numel)) + b"t"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + i32(offset) + ints_tuple(sizes) +
            ints_tuple(strides) + b"\x89" + glob("collections", "OrderedDict") + b")R" + b"tR")


def dict_pickle(pairs):
    return b"\x80\x02}(" + b"".join(uni(k) + v for k, v in pairs) + b"u."


def zip_put(z, name, data, method=zipfile.ZIP_STORED):
    """A fixed timestamp, so the fixtures are the same bytes on every run."""
    z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=method)


def write_archive(path, pkl, storages=None, prefix="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        zip_put(z, f"{prefix}/data.pkl", pkl)
        for key, data in (storages or {}).items():
            zip_put(z, f"{prefix}/data/{key}", data)
        zip_put(z, f"{prefix}/version", "3\n")


def floats(*v):
    return struct.pack(f"<{len(v)}f", *v)


def write_hostile(out):
    six = {"0": floats(0, 1, 2, 3, 4, 5)}
    cases = {
        "os_system": b"\x80\x02" + glob("os", "system") + b"(" + uni("touch /tmp/srengine_pwned") + b"tR.",
        "builtins_eval": b"\x80\x02" + glob("builtins", "eval") + b"(" + uni("1+1") + b"tR.",
        "stack_global_exec": b"\x80\x04" + b"\x8c\x08builtins\x8c\x04exec\x93(" + uni("pass") + b"tR.",
        "load_from_bytes": dict_pickle([("w", glob("torch.storage", "_load_from_bytes") + b"(" + uni("x") + b"tR")]),
        "numpy_reconstruct": dict_pickle([("w", glob("numpy.core.multiarray", "_reconstruct") + b")R")]),
        "whole_model": b"\x80\x02" + glob("__main__", "Net") + b")\x81}b.",
        "torch_module": b"\x80\x02" + glob("torch.nn.modules.conv", "Conv2d") + b")\x81}b.",
        "quantized_tensor": dict_pickle([("w", glob("torch._utils", "_rebuild_qtensor") + b")R")]),
        "inst_opcode": b"\x80\x02(iposix\nsystem\n.",
        "reduce_storage_class": dict_pickle([("w", glob("torch", "FloatStorage") + b")R")]),
        "not_a_dict": b"\x80\x02]K\x01a.",
        "cyclic_dict": b"\x80\x02}q\x00(" + uni("self") + b"h\x00u.",
        "truncated_pickle": dict_pickle([("w", tensor_ops("0", 6, 0, [2, 3], [3, 1]))])[:-20],
    }
    for name, pkl in cases.items():
        write_archive(f"{out}/hostile_{name}.pth", pkl, six)
    views = {
        "offset_out_of_range": ([("w", tensor_ops("0", 6, 7, [1], [1]))], six),
        "stride_outside": ([("w", tensor_ops("0", 6, 0, [2, 3], [3, 2]))], six),
        "size_overflow": ([("w", tensor_ops("0", 6, 0, [2**31 - 1] * 3, [1, 1, 1]))], six),
        "negative_stride": ([("w", tensor_ops("0", 6, 5, [6], [-1]))], six),
        # a 2^30-element expanded view of a 6-element storage: 4 GiB from a 500-byte file
        "expanded_view": ([("w", tensor_ops("0", 6, 0, [2**15, 2**15], [0, 0]))], six),
        "storage_larger_than_entry": ([("w", tensor_ops("0", 100, 0, [100], [1]))], six),
        # 2^40 float32 elements (4 TiB) declared, 24 bytes stored: refused before any allocation
        "huge_storage": ([("w", tensor_ops("0", 0, 0, [6], [1], numel_op=b"\x8a\x06" + (2**40).to_bytes(6, "little")))],
                         six),
        "missing_storage": ([("w", tensor_ops("7", 6, 0, [6], [1]))], six),
    }
    for name, (pairs, storages) in views.items():
        write_archive(f"{out}/hostile_{name}.pth", dict_pickle(pairs), storages)


# ---- Real checkpoints ----------------------------------------------------------------------
def fixture_rrdbnet():
    tensors, _ = read_safetensors(f"{ROOT}/tests/fixtures/nets/rrdbnet_x4.safetensors")
    sd = {k[len("weight."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("weight.")}
    net = RRDBNet(3, 3, 4, 4, 2, 3)
    net.load_state_dict(sd)
    return net.state_dict()


def with_metadata(src, values):
    out = collections.OrderedDict(values)
    out._metadata = src._metadata
    return out


def write_real(out):
    params = fixture_rrdbnet()
    ema = with_metadata(params, ((k, -v) for k, v in params.items()))
    torch.save({"params": params, "params_ema": ema}, f"{out}/rrdbnet_x4.pth")
    torch.save(collections.OrderedDict(("module." + k, v.half()) for k, v in params.items()),
               f"{out}/rrdbnet_x4_fp16_module.pth")
    torch.save({"params": with_metadata(params, ((k, v.bfloat16()) for k, v in params.items()))},
               f"{out}/rrdbnet_x4_bf16.pth")

    tiny, _ = read_safetensors(f"{ROOT}/tests/fixtures/infer/rrdbnet_tiny.safetensors")
    ema = collections.OrderedDict((k[len("params_ema."):], torch.from_numpy(v.copy()))
                                  for k, v in tiny.items() if k.startswith("params_ema."))
    torch.save({"params_ema": ema, "params": collections.OrderedDict((k, torch.zeros_like(v)) for k, v in ema.items())},
               f"{out}/rrdbnet_tiny_infer.pth")

    base = torch.arange(8.0).reshape(2, 4)
    tensors = {
        "f32": torch.arange(6.0).reshape(2, 3),
        "f16": torch.tensor([1.0, -2.0, 0.5, 65504.0, 2.0**-24, 0.333251953125], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.0, 0.5, 3.140625, -0.0078125], dtype=torch.bfloat16),
        "f64": torch.tensor([0.1, 2.5], dtype=torch.float64),
        "i64": torch.tensor([7, -3], dtype=torch.int64),
        "i32": torch.tensor([2**24, -5], dtype=torch.int32),
        "transposed": torch.arange(6.0).reshape(2, 3).t(),
        "offset_view": torch.arange(10.0)[3:7],
        "shared_a": base[0],
        "shared_b": base[1],
        "scalar": torch.tensor(5.0),
        "empty": torch.zeros(0, 3),
        "bn": nn.BatchNorm2d(2).state_dict(),
        "nested": {"deeper": {"w": torch.tensor([1.0, 2.0])}},
        "param": nn.Parameter(torch.tensor([3.0, 4.0])),
        "iter": 1000, "lr": 0.5, "name": "tiny", "flag": True, "none": None, "list": [1, 2],
    }
    torch.save(tensors, f"{out}/tensors.pth")
    with zipfile.ZipFile(f"{out}/tensors.pth") as src, \
            zipfile.ZipFile(f"{out}/tensors_deflated.pth", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zip_put(dst, "archive/" + info.filename.split("/", 1)[1], src.read(info.filename), zipfile.ZIP_DEFLATED)
    torch.save({"w": torch.arange(4.0)}, f"{out}/legacy.pth", _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), f"{out}/torchscript.pt")


def write_convert_cases(out):
    torch.save({"a": torch.ones(2), "b": 5, "c": "str", "d": [torch.ones(1)], 0: torch.ones(3)},
               f"{out}/convert_non_tensors.pth")
    torch.save(collections.OrderedDict([("module.a", torch.ones(2)), ("a", torch.zeros(2))]),
               f"{out}/convert_module_twins.pth")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=f"{ROOT}/tests/fixtures/pth")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    write_real(args.out)
    write_hostile(args.out)
    write_convert_cases(args.out)
    for name in sorted(os.listdir(args.out)):
        print(f"  {name}: {os.path.getsize(os.path.join(args.out, name))} bytes")


if __name__ == "__main__":
    main()
