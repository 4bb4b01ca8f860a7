"""Token codec throughput: encode tokens/s on CPython; decode us/token and heap on MicroPython.

Run: .venv/bin/python bench/bench_tokens.py   (prints numbers, asserts nothing)
It re-runs itself under the `micropython` beside this Python for the meter-side figures.
"""
import os
import sys
import time



def project_root():
    path = __file__
    for _ in range(2):
        path = path.rsplit("/", 1)[0] if "/" in path else "."
    return path


sys.path.insert(0, project_root())

from tokens import sts  # noqa: E402

KEYS = {"sta": b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f",
        "misty1": bytes(range(0x10, 0x20))}
MICROPYTHON = sys.implementation.name == "micropython"


def now_us():
    if MICROPYTHON:
        return time.ticks_us()
    return time.perf_counter_ns() // 1000


def elapsed_us(start):
    if MICROPYTHON:
        return time.ticks_diff(time.ticks_us(), start)
    return now_us() - start


def bench_encode(algorithm, count):
    key = KEYS[algorithm]
    start = now_us()
    for tid in range(count):
        sts.credit_token(key, algorithm, "electricity", tid, 1000 + tid, rnd=5)
    return elapsed_us(start)


def bench_decode(algorithm, count):
    key = KEYS[algorithm]
    tokens = [sts.credit_token(key, algorithm, "electricity", tid, 500, rnd=5).digits
              for tid in range(100)]
    start = now_us()
    for _ in range(count // 100):
        for digits in tokens:
            sts.decode(digits, key, algorithm)
    return elapsed_us(start)


def decode_heap(algorithm):
    import gc
    key = KEYS[algorithm]
    digits = sts.credit_token(key, algorithm, "electricity", 1, 500, rnd=5).digits
    sts.decode(digits, key, algorithm)           # warm: imports and tables
    gc.collect()
    before = gc.mem_alloc()
    gc.disable()
    sts.decode(digits, key, algorithm)
    used = gc.mem_alloc() - before
    gc.enable()
    return used


def main():
    runtime = "MicroPython" if MICROPYTHON else "CPython %d.%d" % sys.version_info[:2]
    count = 2000 if MICROPYTHON else 20000
    for algorithm in sts.ALGORITHMS:
        bench_encode(algorithm, 50)
        enc = bench_encode(algorithm, count)
        dec = bench_decode(algorithm, count)
        line = "%-12s %-7s encode %8.0f tokens/s (%6.1f us)   decode %6.1f us/token" % (
            runtime, algorithm, count * 1e6 / enc, enc / count, dec / count)
        if MICROPYTHON:
            line += "   decode heap %d bytes" % decode_heap(algorithm)
        print(line)
    if not MICROPYTHON:
        exe = os.path.join(os.path.dirname(sys.executable), "micropython")
        if os.path.exists(exe):
            sys.stdout.flush()
            # 200K: encoding builds the STA encryption tables, which a meter never needs;
            # decoding alone fits 64K (tests/test_tokens_heap.py).
            os.system("%s -X heapsize=200K %s" % (exe, os.path.abspath(__file__)))


main()
