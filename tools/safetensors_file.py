"""Minimal safetensors reader/writer for srengine's Python tools (no safetensors package).

Format: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor bytes (offsets relative to the end of the header).
"""
import json
import struct

import numpy as np

_NP_OF = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}
_CODE_OF = {np.dtype(v).str: k for k, v in _NP_OF.items()}


def _as_numpy(t):
    """numpy array from a numpy array or torch tensor (bfloat16 is widened to float32)."""
    if hasattr(t, "detach"):
        t = t.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        t = t.contiguous().numpy()
    a = np.asarray(t)
    return a if a.flags.c_contiguous else a.copy()  # (ascontiguousarray would turn 0-d into 1-d)


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> numpy array / torch tensor, written in the dict's order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = _as_numpy(t)
        code = _CODE_OF.get(a.dtype.newbyteorder("<").str)
        if code is None:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {a.dtype}")
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)  # data section 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (dict name -> numpy array in file order, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        if e["dtype"] == "BF16":
            raw = np.frombuffer(data[base + b:base + end], dtype="<u2").astype(np.uint32) << 16
            a = raw.view(np.float32)
        else:
            a = np.frombuffer(data[base + b:base + end], dtype=np.dtype(_NP_OF[e["dtype"]]).newbyteorder("<"))
        out[name] = a.reshape(e["shape"]).copy()
    return out, meta
