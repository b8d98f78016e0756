"""The Python module's training and metric functions against a hostile or hurried user:
pathlib.Path configs, None for the optional arguments, Ctrl-C during srengine.train (a
checkpoint, then KeyboardInterrupt, with other Python threads running meanwhile: the GIL is
released), train called again in the same process, and metric inputs that BasicSR refuses
(shapes or dtypes that differ) or that do not fit (sides past 2^31-1, empty arrays).

usage: /usr/bin/python3 tests/python/check_train_and_metrics_args.py BUILD_PYTHON_DIR SOURCE_DIR
"""
import glob
import os
import pathlib
import signal
import sys
import tempfile
import threading
import time

import numpy as np

build_python, src = sys.argv[1:3]
sys.path.insert(0, build_python)
import srengine  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what)


def error_of(fn):
    """The srengine.Error fn raises (None when it raises nothing; anything else propagates)."""
    try:
        fn()
    except srengine.Error as e:
        return str(e)
    return None


tiny = pathlib.Path(src) / "tests" / "fixtures" / "train_tiny.json"

# Paths as BasicSR users pass them: pathlib.Path (was a TypeError), errors naming the file.
missing = pathlib.Path("/nonexistent/train.json")
message = error_of(lambda: srengine.train(missing, stage=None, resume=None))
check(message is not None and str(missing) in message, f"train(Path): the error names the file ({message})")

# Metrics: BasicSR asserts one shape; one dtype here (8 and 16-bit would round to equal).
img = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
for a, b, words in ((img, img[:, :, 0].copy(), "differ in shape: (16, 16, 3) vs (16, 16)"),
                    (img, img.astype(np.uint16) * 257, "differ in dtype: uint8 vs uint16"),
                    (np.zeros((0, 16, 3), np.uint8), np.zeros((0, 16, 3), np.uint8), "got shape (0, 16, 3)")):
    for fn in (srengine.calculate_psnr, srengine.calculate_ssim):
        message = error_of(lambda: fn(a, b))
        check(message is not None and words in message, f"{fn.__name__}: '{words}' ({message})")
wide = (img.astype(np.uint16) * 257).astype(">u2")
check(srengine.calculate_psnr(wide, wide.astype(np.uint16)) == float("inf"), "big-endian uint16 is uint16")
# A side past INT_MAX (a broadcast view: no memory) was wrapped: 2^32 + 16 rows read as 16.
tall = np.broadcast_to(np.zeros(1, np.uint8), (2 ** 32 + 16, 16))
message = error_of(lambda: srengine.calculate_psnr(tall, tall))
check(message is not None and "2^31-1" in message, f"2^32 + 16 rows refused ({message})")

with tempfile.TemporaryDirectory() as tmp:
    # Ctrl-C during train: a watcher thread (it runs only if the GIL is released) waits for
    # the second logged iteration and sends SIGINT; train writes its checkpoint and raises
    # KeyboardInterrupt (it returned 130, and a loop over configs went on).
    log = os.path.join(tmp, "exp", "py_sigint", "train.log")
    ticks = []

    def interrupt_after_iteration_2():
        deadline = time.time() + 120
        while time.time() < deadline:
            ticks.append(time.time())
            if os.path.exists(log) and "iter 2/" in open(log).read():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_after_iteration_2, daemon=True)
    long_run = ["train.stages.0.total_iter=100000", "val.val_freq=100000", "logger.save_checkpoint_freq=100000",
                "logger.print_freq=1", "name=py_sigint", f"path.experiments_root={tmp}/exp"]
    interrupted = False
    started = time.time()
    watcher.start()
    try:
        srengine.train(tiny, overrides=long_run, stage="psnr")
    except KeyboardInterrupt:
        interrupted = True
    watcher.join()
    check(interrupted, "Ctrl-C during train raises KeyboardInterrupt")
    # The watcher polled while train ran (the interrupt needed it); a held GIL would have
    # stalled it, and the 100000-iteration run would have hit ctest's timeout instead.
    check(len(ticks) > 0, f"another Python thread ran during train ({len(ticks)} ticks)")
    states = glob.glob(os.path.join(tmp, "exp", "py_sigint", "training_states", "psnr_*.state"))
    check(len(states) == 1, f"the checkpoint is there ({states})")
    print(f"check_train_and_metrics_args: interrupted after {time.time() - started:.1f} s")

    # train again in the same process, with Path arguments; afterwards Python's own SIGINT
    # handler is back (a SIGINT is a KeyboardInterrupt at once, not a checkpoint request).
    short_run = ["train.stages.0.total_iter=2", "val.val_freq=2", "logger.save_checkpoint_freq=2",
                 "name=py_again", f"path.experiments_root={tmp}/exp"]
    rc = srengine.train(tiny, overrides=short_run, stage="psnr", resume=None)
    check(rc == 0 and os.path.exists(os.path.join(tmp, "exp", "py_again", "models", "net_g_psnr_final.safetensors")),
          "a second train() in the process ran to the end")
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
        check(False, "Python's SIGINT handler is restored after train()")
    except KeyboardInterrupt:
        pass

    # Two runs in two threads and one Ctrl-C: both write a checkpoint and return 130, and the
    # main thread gets one KeyboardInterrupt. (The first run to finish raised SIGINT again
    # while the other's stop handler was installed: a "second Ctrl-C" that ended the process.)
    results = {}

    def run_in_thread(name):
        results[name] = srengine.train(tiny, overrides=[o.replace("py_sigint", name) for o in long_run], stage="psnr")

    runs = [threading.Thread(target=run_in_thread, args=(n,)) for n in ("py_thread_a", "py_thread_b")]
    for t in runs:
        t.start()
    logs = [os.path.join(tmp, "exp", n, "train.log") for n in ("py_thread_a", "py_thread_b")]
    deadline = time.time() + 120
    while time.time() < deadline and not all(os.path.exists(p) and "iter 2/" in open(p).read() for p in logs):
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)
    interrupted = False
    try:
        for t in runs:
            t.join()
        time.sleep(0.5)
    except KeyboardInterrupt:
        interrupted = True
        for t in runs:
            t.join()
    check(results == {"py_thread_a": 130, "py_thread_b": 130}, f"both threaded runs stopped with 130 ({results})")
    check(interrupted, "one Ctrl-C over two threaded runs: the main thread gets KeyboardInterrupt, the process lives")
    for n in ("py_thread_a", "py_thread_b"):
        states = glob.glob(os.path.join(tmp, "exp", n, "training_states", "psnr_*.state"))
        check(len(states) == 1, f"{n}: its checkpoint is there ({states})")

print("check_train_and_metrics_args:", "FAILED " + ", ".join(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
