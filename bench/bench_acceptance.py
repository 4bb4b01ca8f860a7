"""Token acceptance on the meter: decode-and-apply time, and what brute force gets.

Run: .venv/bin/python bench/bench_acceptance.py   (prints numbers, asserts nothing)

1. us per token to decode and apply a credit token (TID memory, key rules, the core's
   top-up with its save to an in-RAM store), on CPython and on the MicroPython Unix port.
2. Brute force: 100,000 random 20-digit entries against a provisioned meter, the attacker
   waiting out every lockout: how many pass the CRC, how many are accepted, and how much
   time the lockout imposes.
"""
import os
import random
import sys
import time

MICROPYTHON = sys.implementation.name == "micropython"


def project_root():
    path = __file__
    for _ in range(2):
        path = path.rsplit("/", 1)[0] if "/" in path else "."
    return path


ROOT = project_root()
sys.path.insert(0, ROOT + "/firmware/lib")
sys.path.insert(0, ROOT)

from meter.acceptance import TokenAcceptor  # noqa: E402
from meter.core import Meter  # noqa: E402
from meter.store import MemoryStore  # noqa: E402
from tokens import build  # noqa: E402

KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
T0 = 848736000                # 2026-11-23 08:00 (seconds since 2000)
TID0 = 6781440                # the same minute on the 2014 base
GUESSES = 100000


def provision():
    store = MemoryStore()
    meter = Meter({"utility": "electricity", "credit_mode": "unit"}, store, T0)
    identity = {"key": "87f3ecbb2e46b48f", "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1,
                "sgc": 201457}
    return meter, TokenAcceptor(meter, store, identity, T0, TID0)


def ticks_us():
    return time.ticks_us() if MICROPYTHON else time.perf_counter_ns() // 1000


def bench_apply(count):
    meter, acceptor = provision()
    tokens = [build.credit_token(KEY, "sta", "electricity", TID0 + 1 + i, 10).digits
              for i in range(count)]
    start = ticks_us()
    for i, digits in enumerate(tokens):
        acceptor.enter(T0 + i, digits)
    applied = ticks_us() - start
    start = ticks_us()
    for i, digits in enumerate(tokens):
        acceptor.enter(T0 + count + i, digits)        # replays: Used
    refused = ticks_us() - start
    return applied / count, refused / count


def brute_force(guesses, seed=2026):
    meter, acceptor = provision()
    rng = random.Random(seed)
    now = T0
    results = {}
    waited = 0
    for _ in range(guesses):
        wait = acceptor.lockout_s(now)
        now += wait
        waited += wait
        digits = "%020d" % rng.randrange(10 ** 20)
        outcome = acceptor.enter(now, digits)
        results[outcome.result] = results.get(outcome.result, 0) + 1
        now += 10                                      # typing 20 digits takes a while
    return results, waited, meter.balance_micro()


def main():
    runtime = "MicroPython" if MICROPYTHON else "CPython %d.%d" % sys.version_info[:2]
    per_token, per_replay = bench_apply(40 if MICROPYTHON else 400)
    print("%-12s decode and apply a credit token: %7.0f us   refuse a replay: %6.0f us"
          % (runtime, per_token, per_replay))
    if MICROPYTHON:
        return
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(exe):
        sys.stdout.flush()
        # 1M: the bench also makes the tokens (encryption tables a meter never builds)
        os.system("%s -X heapsize=1M %s" % (exe, os.path.abspath(__file__)))
    start = time.perf_counter()
    results, waited, balance = brute_force(GUESSES)
    passed_crc = sum(n for r, n in results.items() if r not in ("CRC", "Format", "Token lockout"))
    years = waited / (365.25 * 86400)
    print("brute force: %d random entries (%.0f s to run)" % (GUESSES, time.perf_counter() - start))
    print("  results: %s" % ", ".join("%s %d" % kv for kv in sorted(results.items())))
    print("  passed the CRC: %d (expected about %.1f)   credit gained: %d credit micro"
          % (passed_crc, GUESSES * 0.74 / 65536, balance))
    print("  lockout imposed: %.0f s = %.1f years, i.e. %.0f s per guess"
          % (waited, years, waited / GUESSES))


main()
