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
  protocol1_tensors.pth    tensors.pth's dict with pickle_protocol=1 (text INT opcodes)
  tensors_deflated.pth     tensors.pth re-zipped with deflate and torch >= 2's 'archive/' folder
  legacy.pth               a small dict in the legacy (pre-1.6, non-zip) format
  legacy_tensors.pth       tensors.pth's dict in the legacy format
  legacy_protocol1_tensors.pth  the same with pickle_protocol=1 (text INT and LONG opcodes)
  text_ints_protocol0.pkl  pickle.dumps(v, protocol=0) of ints, bools and longs, back to back
  legacy_rrdbnet_x4.pth    {'params': sd} of rrdbnet_x4.pth in the legacy format (with _metadata)
  esrgan_2018_names_x4.pth the same sd, bare, in the legacy format, named as xinntao/ESRGAN's 2018
                           RRDB_ESRGAN_x4.pth (model.0, model.1.sub.N.RDBk.convj.0, ..., model.10)
  esrgan_2019_names_x4.pth the same in its 2019 names (RRDB_trunk.N.RDBk.convj, trunk_conv, upconv1,
                           HRconv; tools/convert_pth.py's legacy_esrgan_name maps them back)
  torchscript.pt           torch.jit.save of a tiny module (not a state dict)
  convert_non_tensors.pth  a tensor beside an int, a str, a list of tensors and an int key (srengine convert
                           names what it skips)
  convert_module_twins.pth 'module.a' and 'a' (one name once the prefix is removed: an error)
  small_int_types.pth, legacy_small_int_types.pth  bool, uint8, int8 and int16 tensors beside a float one
  legacy_convert_non_tensors.pth  convert_non_tensors.pth in the legacy format (the storages of the
                           skipped list and int-keyed tensors are in its key list and data too)
Hand-built hostile archives (hostile_*.pth), each a zip laid out like torch.save's with a
crafted data.pkl: imports of os.system / builtins.eval / builtins.exec (STACK_GLOBAL) /
torch.storage._load_from_bytes / numpy / a model class / a torch.nn module / a quantized
tensor, the INST opcode, REDUCE of a storage class, bad storage offsets and strides, an
expanded view, overflowing sizes, a storage larger than its entry, a missing storage entry,
a dict that contains itself, a list at the top.
Hand-built legacy files as PyTorch < 0.4 wrote them (torch._utils._rebuild_tensor, no
_metadata; checked here with torch.load):
  legacy_v1_py2.pth        as from Python 2: byte-string names, OrderedDict pickled as a list of
                           pairs, storages on 'cuda:0', a transposed view, a shared storage,
                           double / long / int storages
  legacy_v1_py3.pth        the same tensors as from Python 3 (OrderedDict by SETITEMS)
  legacy_v1_as_zip.pth     torch.load of them saved again in the zip format: what they must read as
Hostile legacy files (legacy_hostile_*.pth): an os.system import in the object and in
sys_info, a whole pickled module, a wrong magic number, protocol version, byte order and long
size, a zip-style 5-item persistent id, a storage view (view_metadata), storage keys missing,
extra, repeated or not strings, a key list that is not a list, an element count that differs
from the declared one, 2^40 declared elements over 24 stored bytes, a truncated last storage,
bytes after the last storage.
Legacy files name their storages by memory addresses; legacy_save renames them 0, 1, ... so
every run writes the same bytes (checked with torch.load, as every legacy fixture here).

usage: /usr/bin/python3 tools/make_pth_fixtures.py [--out tests/fixtures/pth]
"""
import argparse
import collections
import io
import os
import pickle
import pickletools
import re
import struct
import sys
import zipfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_file import read_safetensors  # noqa: E402
from torch_nets import RRDBNet  # noqa: E402
from convert_pth import legacy_esrgan_name  # noqa: E402

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


# ---- Legacy (pre-1.6) files ----------------------------------------------------------------
MAGIC = 0x1950a86a20f9469cfc6c
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}


def all_tensors(obj):
    if torch.is_tensor(obj):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from all_tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from all_tensors(v)


def legacy_save(obj, path, protocol=2):
    """torch.save in the legacy format, then its storage keys (memory addresses, so they differ
    from run to run, and so does the order of the data, sorted by key) renamed 0, 1, ... in the
    order the object first names them, and the data sorted again as torch.save sorts it."""
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    f = io.BytesIO(data)
    for _ in range(4):  # magic, protocol, sys_info, the object: walked over, not loaded
        for _ in pickletools.genops(f):
            pass
    obj_end = f.tell()
    keys = pickle.load(f)
    element_size = {str(t.storage()._storage._cdata): t.element_size() for t in all_tensors(obj)}
    blocks, at = {}, f.tell()
    for k in keys:
        n = struct.unpack("<q", data[at:at + 8])[0]
        blocks[k] = data[at:at + 8 + n * element_size[k]]
        at += 8 + n * element_size[k]
    assert at == len(data)

    def op(k):
        return b"X" + struct.pack("<I", len(k)) + k.encode()
    head = data[:obj_end]
    renames = {k: str(i) for i, k in enumerate(sorted(keys, key=lambda k: head.index(op(k))))}
    for old, new in renames.items():
        head = head.replace(op(old), op(new))
    new_keys = sorted(renames.values())
    back = {v: k for k, v in renames.items()}
    with open(path, "wb") as out:
        out.write(head + pickle.dumps(new_keys, protocol=protocol) + b"".join(blocks[back[k]] for k in new_keys))


def s2(text):
    """A Python 2 str in protocol 2: SHORT_BINSTRING."""
    b = text.encode()
    return b"U" + bytes([len(b)]) + b


def legacy_tensor_ops(key, numel, offset, sizes, strides, cls="FloatStorage", py2=False, view=b"N",
                      location="cpu", pid_items=6):
    """A tensor as PyTorch < 0.4 pickled it: _rebuild_tensor(storage, offset, size, stride), the
    storage a persistent id ('storage', class, key, location, numel, view_metadata)."""
    text = s2 if py2 else uni
    pid = [text("storage"), glob("torch", cls), text(key), text(location), i32(numel), view][:pid_items]
    return (glob("torch._utils", "_rebuild_tensor") + b"(" + b"(" + b"".join(pid) + b"tQ" + i32(offset) +
            ints_tuple(sizes) + ints_tuple(strides) + b"tR")


def legacy_v2_tensor_ops(key, numel, offset, sizes, strides, view=b"N", pid_items=6):
    """A tensor as PyTorch >= 0.4 pickles it in the legacy format (_rebuild_tensor_v2)."""
    pid = [uni("storage"), glob("torch", "FloatStorage"), uni(key), uni("cpu"), i32(numel), view][:pid_items]
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + b"(" + b"".join(pid) + b"tQ" + i32(offset) +
            ints_tuple(sizes) + ints_tuple(strides) + b"\x89" + glob("collections", "OrderedDict") + b")R" + b"tR")


def legacy_file(obj_pkl, storages, keys=None, sys_info=None, magic=MAGIC, protocol=1001, counts=None,
                tail=b"", cut=0):
    """The five pickles, then each storage (key -> element size, raw bytes) as its element count
    and bytes. keys: the storage-key list (default: the storages' keys); counts: element counts
    to write instead of the true ones; cut: bytes removed from the end."""
    out = b"".join(pickle.dumps(v, protocol=2) for v in (magic, protocol, sys_info or SYS_INFO))
    out += obj_pkl + pickle.dumps(list(storages) if keys is None else keys, protocol=2)
    for key, (size, data) in storages.items():
        out += struct.pack("<q", (counts or {}).get(key, len(data) // size)) + data
    out += tail
    return out[:len(out) - cut]


def ordered_dict_py2(pairs):
    """Python 2's OrderedDict.__reduce__: the class called with one list of [key, value] lists."""
    items = b"".join(b"](" + s2(k) + v + b"e" for k, v in pairs)
    return glob("collections", "OrderedDict") + b"](" + items + b"e\x85R"


def ordered_dict_py3(pairs):
    return glob("collections", "OrderedDict") + b")R(" + b"".join(uni(k) + v for k, v in pairs) + b"u"


def write_legacy_v1(out):
    """Tensors as PyTorch 0.1-0.3 saved them (torchvision's 2017 ImageNet weights)."""
    weight = struct.pack("<54f", *[(i - 27) / 8 for i in range(54)])  # 2x3x3x3
    stor = {"0": (4, weight), "1": (4, floats(0.5, -1.5)), "2": (4, floats(*range(6))),
            "3": (8, struct.pack("<2d", 0.1, -2.5)), "4": (8, struct.pack("<3q", 7, -3, 2**40)),
            "5": (4, struct.pack("<2i", 2**24, -5))}
    for py2 in (False, True):
        def t(key, sizes, strides, offset=0, cls="FloatStorage"):
            numel = len(stor[key][1]) // stor[key][0]
            return legacy_tensor_ops(key, numel, offset, sizes, strides, cls, py2=py2, location="cuda:0")
        pairs = [("features.0.weight", t("0", [2, 3, 3, 3], [27, 9, 3, 1])),
                 ("features.0.bias", t("1", [2], [1])),
                 ("classifier.weight", t("2", [3, 2], [1, 3])),  # a transposed view
                 ("shared_a", t("2", [2], [1], offset=1)),        # the same storage again
                 ("f64", t("3", [2], [1], cls="DoubleStorage")),
                 ("i64", t("4", [3], [1], cls="LongStorage")),
                 ("i32", t("5", [2], [1], cls="IntStorage"))]
        obj = b"\x80\x02" + (ordered_dict_py2(pairs) if py2 else ordered_dict_py3(pairs)) + b"."
        path = f"{out}/legacy_v1_{'py2' if py2 else 'py3'}.pth"
        with open(path, "wb") as f:
            f.write(legacy_file(obj, stor))
        loaded = torch.load(path, map_location="cpu")
        assert list(loaded) == [k for k, _ in pairs], list(loaded)
        assert torch.equal(loaded["classifier.weight"], torch.arange(6.0).reshape(2, 3).t())
    torch.save(loaded, f"{out}/legacy_v1_as_zip.pth")


def write_legacy_hostile(out):
    six = {"0": (4, floats(0, 1, 2, 3, 4, 5))}
    w = legacy_v2_tensor_ops("0", 6, 0, [6], [1])
    good = dict_pickle([("w", w)])
    two = dict_pickle([("w", w), ("v", legacy_v2_tensor_ops("1", 2, 0, [2], [1]))])
    two_stor = {"0": six["0"], "1": (4, floats(7, 8))}
    evil = b"\x80\x02" + glob("os", "system") + b"(" + uni("touch /tmp/srengine_pwned") + b"tR."
    module = io.BytesIO()
    torch.save(nn.ReLU(), module, _use_new_zipfile_serialization=False)
    cases = {
        "os_system": legacy_file(evil, six),
        "sys_info_os_system": legacy_file(good, six).replace(pickle.dumps(SYS_INFO, protocol=2), evil),
        "whole_module": module.getvalue(),
        "bad_magic": legacy_file(good, six, magic=MAGIC + 1),
        "protocol_version": legacy_file(good, six, protocol=1000),
        "big_endian": legacy_file(good, six, sys_info=dict(SYS_INFO, little_endian=False)),
        "long_size": legacy_file(good, six, sys_info=dict(SYS_INFO, type_sizes={"short": 2, "int": 4, "long": 8})),
        "zip_style_id": legacy_file(dict_pickle([("w", legacy_v2_tensor_ops("0", 6, 0, [6], [1], pid_items=5))]),
                                    six),
        "storage_view": legacy_file(dict_pickle([("w", legacy_v2_tensor_ops("0", 6, 0, [2], [1],
                                                                           view=b"(" + uni("9") + i32(2) + i32(2) +
                                                                           b"t"))]), six),
        "key_missing": legacy_file(two, two_stor, keys=["0"]),
        "key_extra": legacy_file(good, six, keys=["0", "9"]),
        "key_twice": legacy_file(good, six, keys=["0", "0"]),
        "key_not_str": legacy_file(good, six, keys=[0]),
        "keys_not_list": legacy_file(good, six, keys={"0": 1}),
        "numel_mismatch": legacy_file(good, six, counts={"0": 5}),
        # 2^40 float32 elements (4 TiB) declared, in the id and the data header, 24 bytes stored
        "huge_storage": legacy_file(dict_pickle([("w", legacy_v2_tensor_ops("0", 0, 0, [6], [1]).replace(
            i32(0) + b"N", b"\x8a\x06" + (2**40).to_bytes(6, "little") + b"N", 1))]), six, counts={"0": 2**40}),
        "truncated_data": legacy_file(good, six, cut=4),
        "trailing_bytes": legacy_file(good, six, tail=b"\0" * 16),
    }
    for name, data in cases.items():
        with open(f"{out}/legacy_hostile_{name}.pth", "wb") as f:
            f.write(data)


def esrgan_2018_name(k, blocks):
    """BasicSR's RRDBNet name -> the 2018 nn.Sequential arch's (x4)."""
    m = re.match(r"body\.(\d+)\.rdb(\d)\.(conv\d)\.(weight|bias)$", k)
    if m:
        return f"model.1.sub.{m[1]}.RDB{m[2]}.{m[3]}.0.{m[4]}"
    layer, param = k.split(".")
    index = {"conv_first": "0", "conv_body": f"1.sub.{blocks}", "conv_up1": "3", "conv_up2": "6", "conv_hr": "8",
             "conv_last": "10"}[layer]
    return f"model.{index}.{param}"


def esrgan_2019_name(k):
    m = re.match(r"body\.(\d+)\.rdb(\d)\.(conv\d\..*)$", k)
    if m:
        return f"RRDB_trunk.{m[1]}.RDB{m[2]}.{m[3]}"
    layer, param = k.split(".")
    return {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}.get(
        layer, layer) + "." + param


def write_old_esrgan_names(out, params):
    blocks = len({k.split(".")[1] for k in params if k.startswith("body.")})
    old = collections.OrderedDict((esrgan_2018_name(k, blocks), v) for k, v in params.items())
    legacy_save(old, f"{out}/esrgan_2018_names_x4.pth")
    new = collections.OrderedDict((esrgan_2019_name(k), v) for k, v in params.items())
    assert all(legacy_esrgan_name(k) == b for k, b in zip(new, params))
    legacy_save(new, f"{out}/esrgan_2019_names_x4.pth")


# What pickle protocol 0 writes for each value (INT for the int32 range, "01" / "00" for bools,
# LONG with its 'L' suffix beyond), one pickle after another; tests/test_pth_reader.cpp lists the
# same values in the same order.
TEXT_INTS = [0, 7, -7, 255, -256, 2**31 - 1, -2**31, True, False, 2**31, -2**31 - 1, 2**40, 2**63 - 1, -2**63,
             2**63, -2**63 - 1, MAGIC, -MAGIC]


def write_text_ints(out):
    data = b"".join(pickle.dumps(v, protocol=0) for v in TEXT_INTS)
    assert data.count(b"I") == 9 and data.count(b"L") == 18, data  # 7 ints, 2 bools; 9 longs (+ suffix)
    with open(f"{out}/text_ints_protocol0.pkl", "wb") as f:
        f.write(data)


def write_legacy(out, params, tensors):
    legacy_save({"w": torch.arange(4.0)}, f"{out}/legacy.pth")
    legacy_save(tensors, f"{out}/legacy_tensors.pth")
    # pickle_protocol=1: the magic number is LONG text, sys_info's little_endian, 'flag' and
    # requires_grad INT "01" / "00"
    legacy_save(tensors, f"{out}/legacy_protocol1_tensors.pth", protocol=1)
    write_text_ints(out)
    legacy_save({"params": params}, f"{out}/legacy_rrdbnet_x4.pth")
    write_legacy_v1(out)
    write_legacy_hostile(out)
    write_old_esrgan_names(out, params)


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
    torch.save(tensors, f"{out}/protocol1_tensors.pth", pickle_protocol=1)  # bools as INT "01" / "00"
    with zipfile.ZipFile(f"{out}/tensors.pth") as src, \
            zipfile.ZipFile(f"{out}/tensors_deflated.pth", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zip_put(dst, "archive/" + info.filename.split("/", 1)[1], src.read(info.filename), zipfile.ZIP_DEFLATED)
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), f"{out}/torchscript.pt")
    write_legacy(out, params, tensors)


def write_convert_cases(out):
    non_tensors = {"a": torch.ones(2), "b": 5, "c": "str", "d": [torch.ones(1)], 0: torch.ones(3)}
    torch.save(non_tensors, f"{out}/convert_non_tensors.pth")
    legacy_save(non_tensors, f"{out}/legacy_convert_non_tensors.pth")
    torch.save(collections.OrderedDict([("module.a", torch.ones(2)), ("a", torch.zeros(2))]),
               f"{out}/convert_module_twins.pth")


def write_small_int_types(out):
    """bool, uint8, int8 and int16 tensors beside a float one (masks and index buffers in real
    checkpoints), in both formats."""
    t = {"mask": torch.tensor([[True, False, True], [False, False, True]]),
         "bytes": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
         "chars": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
         "shorts": torch.tensor([-32768, -2, 7, 32767], dtype=torch.int16),
         "w": torch.tensor([0.5, -1.5])}
    torch.save(t, f"{out}/small_int_types.pth")
    legacy_save(t, f"{out}/legacy_small_int_types.pth")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=f"{ROOT}/tests/fixtures/pth")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    write_real(args.out)
    write_hostile(args.out)
    write_convert_cases(args.out)
    write_small_int_types(args.out)
    for name in sorted(os.listdir(args.out)):
        print(f"  {name}: {os.path.getsize(os.path.join(args.out, name))} bytes")


if __name__ == "__main__":
    main()
