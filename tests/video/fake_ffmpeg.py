#!/usr/bin/python3
"""A stand-in for the ffmpeg and ffprobe programs (installed under both names in a test's
PATH), speaking their command-line and raw-video pipe protocol on a trivial container, so the
video plumbing of `srengine infer` is tested where FFmpeg is not installed. Real FFmpeg
compatibility is not what this proves.

Container: b"FAKEVID1 W H RATE N\\n" followed by N frames of W*H*3 bytes (rgb24).
  ffprobe ... INPUT               prints width=, height=, r_frame_rate= like
                                  `-of default=noprint_wrappers=1`
  ffmpeg ... -i INPUT ... -       writes the frames to stdout as rawvideo rgb24
  ffmpeg ... -s WxH -r R -i - ... OUTPUT
                                  reads rgb24 frames from stdin, writes OUTPUT in the container
                                  and OUTPUT.args (its arguments, one per line)
"""
import os
import sys


def read_container(path):
    with open(path, "rb") as f:
        data = f.read()
    head, _, body = data.partition(b"\n")
    magic, w, h, rate, n = head.split(b" ")
    assert magic == b"FAKEVID1", "not a fake video"
    return int(w), int(h), rate.decode(), int(n), body


def main():
    prog = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    if prog == "ffprobe":
        w, h, rate, _, _ = read_container(args[-1])
        print(f"width={w}\nheight={h}\nr_frame_rate={rate}")
        return 0
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-i"]
    if inputs[0] != "-":  # decode
        w, h, _, n, body = read_container(inputs[0])
        assert args[-1] == "-" and "rawvideo" in args and "rgb24" in args
        sys.stdout.buffer.write(body[: n * w * h * 3])
        return 0
    w, h = (int(v) for v in args[args.index("-s") + 1].split("x"))
    rate, out = args[args.index("-r") + 1], args[-1]
    frames = sys.stdin.buffer.read()
    if len(frames) % (w * h * 3):
        sys.stderr.write(f"ffmpeg stand-in: {len(frames)} bytes is not whole {w}x{h} frames\n")
        return 1
    with open(out, "wb") as f:
        f.write(f"FAKEVID1 {w} {h} {rate} {len(frames) // (w * h * 3)}\n".encode() + frames)
    with open(out + ".args", "w") as f:
        f.write("\n".join(args) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
