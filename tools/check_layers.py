#!/usr/bin/env python3
"""Checks srengine's layering: which folders' files may #include which (docs/ARCHITECTURE.md).

usage: check_layers.py ROOT [--all-folders]

Reads every `#include "..."` of the .h / .cpp / .cu / .cuh files under ROOT (tests/, build
folders and third-party code left out) and prints one line per include that a rule below
forbids, as `file:line: ...` with the rule's reason; exit status 1 when there is one, 0
otherwise. --all-folders also fails when a rule names a folder that has no source file, so a
renamed folder cannot leave its rule checking nothing (the repository's test passes it).
"""
import os
import re
import sys

# (folder, what it must not include, why). A folder's rule covers every file below it; an
# include is forbidden when its path starts with one of the prefixes (a prefix ending in '/'
# is a folder, otherwise a file). ONLY(...) turns the list into the allowed ones.
ABOVE_ENGINE = ["layers/", "nets/", "data/", "train/", "infer/", "quant/", "deploy/", "capi/", "python/",
                "tools/"]


def ONLY(*prefixes):
    return ("only", list(prefixes))


RULES = [
    ("kernels/common/", ONLY("kernels/common/", "engine/philox.h"),
     "the math shared by every device: itself and the header-only counter RNG"),
    ("kernels/cuda/", ["kernels/cpu/"],
     "the CUDA kernels share types with the CPU ones through kernels/common/, not the CPU backend"),
    ("kernels/simt/", ["kernels/cpu/", "kernels/cuda/"],
     "the SIMT interpreter runs the CUDA sources; it knows neither backend's host code"),
    ("kernels/cpu/", ["kernels/cuda/", "kernels/simt/"], "the CPU backend builds without CUDA"),
    ("kernels/", ABOVE_ENGINE + ["engine/tensor.h", "engine/autograd.h", "engine/ops", "engine/dispatch.h"],
     "kernels work on pointers and shapes: no tensors, autograd, modules or training"),
    ("engine/", ABOVE_ENGINE, "the engine knows nothing of modules, nets, data or training"),
    ("layers/", ABOVE_ENGINE[1:], "layers are built from engine ops only"),
    ("nets/", ABOVE_ENGINE[2:], "networks are built from layers; they know nothing of data or training"),
    ("data/", ["layers/", "nets/"] + ABOVE_ENGINE[3:], "data loading knows nothing of networks or training"),
    ("quant/", ["train/", "capi/", "python/", "tools/"], "quantisation works on a built network"),
    ("deploy/", ["train/", "capi/", "python/", "tools/"], "export works on a built network"),
    ("infer/", ["quant/", "deploy/", "capi/", "python/", "tools/"],
     "inference is used by the front ends, never the reverse"),
    ("train/", ["quant/", "deploy/", "capi/", "python/", "tools/"],
     "training is used by the front ends, never the reverse"),
]
# No source file includes a test's header.
EVERYWHERE = (["tests/", "support/"], "library code never includes test code")

SOURCE = re.compile(r"\.(h|hpp|cpp|cu|cuh)$")
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)
SKIP_DIRS = {"tests", "build", "third_party", ".git", "node_modules"}


def source_files(root):
    for top in sorted(os.listdir(root)):
        if top in SKIP_DIRS or top.startswith((".", "build")) or not os.path.isdir(os.path.join(root, top)):
            continue
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for f in sorted(files):
                if SOURCE.search(f):
                    yield os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/")


def violation(path, inc):
    """The reason `path` may not include `inc`, or None."""
    for folder, forbidden, why in RULES:
        if not path.startswith(folder):
            continue
        if isinstance(forbidden, tuple):  # ONLY(...)
            if not any(inc.startswith(p) for p in forbidden[1]):
                return f"{folder} may include only {', '.join(forbidden[1])} ({why})"
        else:
            hit = next((p for p in forbidden if inc.startswith(p)), None)
            if hit:
                return f"{folder} must not include {hit} ({why})"
    hit = next((p for p in EVERYWHERE[0] if inc.startswith(p)), None)
    return f"must not include {hit} ({EVERYWHERE[1]})" if hit else None


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if len(args) != 1 or flags - {"--all-folders"}:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = args[0]
    if not os.path.isdir(root):
        print(f"check_layers: '{root}' is not a folder", file=sys.stderr)
        return 2
    files = list(source_files(root))
    problems = []
    for path in files:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            why = violation(path, m.group(1))
            if why:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f'{path}:{line}: includes "{m.group(1)}", but {why}')
    if "--all-folders" in flags:
        for folder, _, _ in RULES:
            if not any(p.startswith(folder) for p in files):
                problems.append(f"check_layers: the rule for {folder} checks nothing: no source file is there")
    for p in problems:
        print(p)
    print(f"check_layers: {len(files)} files, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
