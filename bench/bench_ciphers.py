"""EA07 (STA) and EA11 (MISTY1): microseconds per block, on CPython and MicroPython.

Run: .venv/bin/python bench/bench_ciphers.py
Prints numbers only. Re-runs itself under the ``micropython`` beside sys.executable
(``-X heapsize=200K``) and adds MicroPython's heap use per decrypt.
"""
import gc
import sys
import time

ROOT = __file__.rsplit("/", 2)[0] if __file__.count("/") >= 2 else ".."
sys.path.insert(0, ROOT)

from tokens import misty1, sta  # noqa: E402

IS_MICROPYTHON = sys.implementation.name == "micropython"
N = 3000 if IS_MICROPYTHON else 20000


def _now_us():
    if IS_MICROPYTHON:
        return time.ticks_us()
    return time.perf_counter_ns() // 1000


def _elapsed_us(start):
    if IS_MICROPYTHON:
        return time.ticks_diff(time.ticks_us(), start)
    return _now_us() - start


def best_us_per_call(fn, key_of, n=N, repeats=5):
    best = None
    for _ in range(repeats):
        block = 0x0123456789ABCDEF
        start = _now_us()
        for i in range(n):
            block = fn(block, key_of(i))
        t = _elapsed_us(start) / n
        best = t if best is None or t < best else best
    return best


def heap_per_call(fn, block, key):
    fn(block, key)
    gc.collect()
    before = gc.mem_alloc()
    fn(block, key)
    return gc.mem_alloc() - before


def run():
    runtime = "MicroPython" if IS_MICROPYTHON else "CPython %d.%d" % sys.version_info[:2]
    print("== %s" % runtime)
    sta_keys = [bytes([i, 1, 2, 3, 4, 5, 6, 7]) for i in range(256)]
    misty_keys = [bytes([i]) + bytes(range(1, 16)) for i in range(256)]
    cases = [
        ("EA07 STA", sta, sta_keys),
        ("EA11 MISTY1", misty1, misty_keys),
    ]
    for name, module, keys in cases:
        for op in ("encrypt", "decrypt"):
            fn = getattr(module, op)
            cached = best_us_per_call(fn, lambda i: keys[0])
            fresh = best_us_per_call(fn, lambda i: keys[i & 255], n=N // 4)
            print("%-12s %-7s %7.2f us/block  %9.0f blocks/s   fresh key every call: %7.2f us"
                  % (name, op, cached, 1e6 / cached, fresh))
    if not IS_MICROPYTHON:
        for label, fn in (("portable", sta.encrypt_portable), ("portable", sta.decrypt_portable)):
            t = best_us_per_call(fn, lambda i: sta_keys[0], n=N // 4)
            print("%-12s %-7s %7.2f us/block  (portable path, as run on the meter)"
                  % ("EA07 STA", fn.__name__.split("_")[0], t))
    else:
        plain = sta._core_plain
        t = best_us_per_call(lambda b, k: sta.decrypt_portable(b, k, plain),
                             lambda i: sta_keys[0], n=N // 4)
        print("%-12s %-7s %7.2f us/block  (plain core, no viper)" % ("EA07 STA", "decrypt", t))
        print("viper core in use: %s" % (sta._core is sta._core_native))
        for name, module, key, block in (
                ("EA07 STA", sta, bytes.fromhex("87f3ecbb2e46b48f"), 0x0B3F788E0691EBEC),
                ("EA11 MISTY1", misty1, bytes.fromhex("daa892189d08e738dfded73924c87f32"),
                 0x54944418E2BD2A0B)):
            print("%-12s decrypt heap: %d bytes per call (key cached)"
                  % (name, heap_per_call(module.decrypt, block, key)))
            gc.collect()
            before = gc.mem_alloc()
            module.decrypt(block, bytes(len(key)))
            print("%-12s decrypt heap: %d bytes with a new key (schedule rebuilt)"
                  % (name, gc.mem_alloc() - before))
        gc.collect()
        print("heap free after both modules loaded: %d bytes" % gc.mem_free())


def run_micropython():
    import os
    import subprocess
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(exe):
        print("(no micropython beside %s)" % sys.executable)
        return
    out = subprocess.run([exe, "-X", "heapsize=200K", os.path.abspath(__file__)],
                         capture_output=True, text=True, cwd=os.path.abspath(ROOT))
    print(out.stdout + out.stderr, end="")


run()
if not IS_MICROPYTHON:
    run_micropython()
