#!/usr/bin/python3
"""Writes tests/fixtures/lmdb/: LMDB databases made by the real LMDB library (python3-lmdb), laid
out as BasicSR's scripts/data_preparation/create_lmdb.py leaves them (data.mdb, meta_info.txt with
'<key>.png (h,w,c) <compress_level>' lines; lock.mdb is not kept, srengine never reads it), for
tests/test_data_lmdb.cpp's reader and dataset tests:

  paired_gt.lmdb, paired_lq.lmdb  a x2 paired set (GT 16x16..40x40; the noisy 40x40 GT records are
                                  larger than a page, so they lie in overflow pages), beside the same
                                  PNG bytes as files in paired_gt/ and paired_lq/
  many.lmdb                       300 small records: enough leaf pages for a branch level
  two_txns.lmdb                   written in two transactions: the newer meta page has 'a' = b'new'
                                  and 'b' = b'added', the older one 'a' = b'old' alone
  named.lmdb                      the main database holds a named sub-database (refused)
  short.lmdb                      three commits that allocate and free pages: its data.mdb ends
                                  before the last page its meta page counts, and it is whole
                                  (keys 00005 00006 00011 00035: 3000 bytes 'v', 00014: 1000,
                                  00036: 20000)
  expected.txt                    '<database> <key> <size> <crc32>' for every record written

usage: /usr/bin/python3 tools/make_lmdb_fixtures.py [--out tests/fixtures/lmdb]
"""
import argparse
import io
import os
import shutil
import zlib

import lmdb
import numpy as np
from PIL import Image


def png_bytes(a):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_lmdb(folder, records, shapes):
    """records: key -> PNG bytes, written in one transaction in sorted key order (as create_lmdb)."""
    if os.path.exists(folder):
        shutil.rmtree(folder)
    env = lmdb.open(folder, map_size=1 << 22)
    with env.begin(write=True) as txn:
        for key in sorted(records):
            txn.put(key.encode("ascii"), records[key])
    env.close()
    os.remove(os.path.join(folder, "lock.mdb"))
    with open(os.path.join(folder, "meta_info.txt"), "w") as f:
        for key in sorted(records):
            h, w, c = shapes[key]
            f.write(f"{key}.png ({h},{w},{c}) 1\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/lmdb")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    expected = []

    # Paired x2: smooth GT (small PNGs) and two noisy 40x40 GT (about 4.8 KB: overflow pages).
    gt, lq, gt_shapes, lq_shapes = {}, {}, {}, {}
    sizes = [(16, 16), (24, 32), (40, 40), (32, 24), (40, 40), (16, 24)]
    for i, (h, w) in enumerate(sizes):
        key = f"{i:04d}_s{i % 3:03d}"
        if i in (2, 4):
            a = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        else:
            y, x = np.mgrid[0:h, 0:w]
            a = np.stack([(x * 7 + i * 20) % 256, (y * 5) % 256, ((x + y) * 3) % 256], -1).astype(np.uint8)
        small = a.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)
        gt[key], lq[key] = png_bytes(a), png_bytes(small)
        gt_shapes[key], lq_shapes[key] = (h, w, 3), (h // 2, w // 2, 3)
    for name, recs, shapes in (("paired_gt", gt, gt_shapes), ("paired_lq", lq, lq_shapes)):
        write_lmdb(os.path.join(out, name + ".lmdb"), recs, shapes)
        folder = os.path.join(out, name)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        for key, b in recs.items():
            with open(os.path.join(folder, key + ".png"), "wb") as f:
                f.write(b)
            expected.append((name + ".lmdb", key, len(b), zlib.crc32(b)))

    # 300 tiny gray records: several leaf pages under a branch page.
    many, many_shapes = {}, {}
    for i in range(300):
        key = f"img{i:05d}"
        many[key] = png_bytes(np.full((8, 8), i % 256, dtype=np.uint8))
        many_shapes[key] = (8, 8, 1)
        expected.append(("many.lmdb", key, len(many[key]), zlib.crc32(many[key])))
    write_lmdb(os.path.join(out, "many.lmdb"), many, many_shapes)

    def fresh_env(name, **kw):
        folder = os.path.join(out, name)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        return folder, lmdb.open(folder, map_size=1 << 20, **kw)

    folder, env = fresh_env("two_txns.lmdb")
    with env.begin(write=True) as txn:
        txn.put(b"a", b"old")
    with env.begin(write=True) as txn:
        txn.put(b"a", b"new")
        txn.put(b"b", b"added")
    env.close()
    os.remove(os.path.join(folder, "lock.mdb"))

    folder, env = fresh_env("named.lmdb", max_dbs=2)
    sub = env.open_db(b"sub")
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v", db=sub)
    env.close()
    os.remove(os.path.join(folder, "lock.mdb"))

    folder, env = fresh_env("short.lmdb")
    with env.begin(write=True) as txn:
        txn.put(b"zz", b"v" * 50000)
        txn.delete(b"zz")
    with env.begin(write=True) as txn:
        txn.put(b"00014", b"v" * 1000)
    with env.begin(write=True) as txn:
        for k in (b"00005", b"00006", b"00035", b"00011"):
            txn.put(k, b"v" * 3000)
        txn.put(b"00036", b"v" * 20000)
        txn.put(b"00037", b"v" * 20000)
        txn.delete(b"00037")
    last_page = env.info()["last_pgno"]
    env.close()
    os.remove(os.path.join(folder, "lock.mdb"))
    assert os.path.getsize(os.path.join(folder, "data.mdb")) // 4096 <= last_page, "short.lmdb is not short"

    with open(os.path.join(out, "expected.txt"), "w") as f:
        for db, key, n, crc in expected:
            f.write(f"{db} {key} {n} {crc}\n")


if __name__ == "__main__":
    main()
