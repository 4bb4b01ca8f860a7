"""Meter-core throughput and store saves per day.

Run with CPython: measures the core there, then runs itself under the ``micropython``
beside ``sys.executable`` (-X heapsize=200K) and prints both. Prints numbers only.

Workload: a TOU tariff with standing charge, one metering-chip sample per second
(energy delta and power, as a CSE7766 delivers), 10 kW constant and a household profile
(about 10 kWh a day). Throughput is seconds of meter time per second of real time; an
ESP32 is roughly 160-250x slower than the Unix port (docs/micropython.md section 14).
"""
import json
import sys
import time

ROOT = __file__.rsplit("/", 2)[0] if __file__.count("/") >= 2 else ".."
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/firmware/lib")

from meter import civil  # noqa: E402
from meter.core import Meter  # noqa: E402

IS_MPY = sys.implementation.name == "micropython"
DAY = 86400


class CountingStore:
    """In-RAM store that counts saves and bytes per record name."""

    def __init__(self):
        self.records = {}
        self.saves = {}
        self.bytes = {}

    def load(self, name):
        text = self.records.get(name)
        return None if text is None else json.loads(text)

    def save(self, name, record):
        text = json.dumps(record)
        self.records[name] = text
        key = "ev*" if name.startswith("ev") else name
        self.saves[key] = self.saves.get(key, 0) + 1
        self.bytes[key] = self.bytes.get(key, 0) + len(text)


def config():
    return {"utility": "electricity", "credit_mode": "currency", "imp_per_unit": 1000,
            "tariff": {"active": {
                "kind": "tou", "prices": [200000, 350000, 100000],
                "standing_micro_per_day": 500000,
                "profiles": {"weekday": [[0, 3], [420, 1], [1020, 2], [1200, 1], [1380, 3]],
                             "weekend": [[0, 3], [480, 1], [1320, 3]]}}}}


def household_w(sec_of_day):
    """About 10 kWh a day: 250 W base, 1.5 kW 07-08, 2.5 kW 18-20, 700 W 20-23."""
    h = sec_of_day // 3600
    if h == 7:
        return 1500
    if 18 <= h < 20:
        return 2500
    if 20 <= h < 23:
        return 700
    return 250


def run(load, seconds):
    """Meter time `seconds` of 1 s samples; returns (real s, store, meter)."""
    store = CountingStore()
    start = civil.seconds(2025, 3, 3)
    m = Meter(config(), store, start)
    m.topup(start, 10 ** 12)
    base = dict(store.saves)
    t = start
    rem = 0
    t0 = time.ticks_ms() if IS_MPY else time.perf_counter()
    for _ in range(seconds):
        t += 1
        w = 10000 if load == "10kW" else household_w(t % DAY)
        rem += w * 1000          # mWh * 3600
        mwh = rem // 3600
        rem -= mwh * 3600
        m.sample(t, mwh, 0, w)
    if IS_MPY:
        real = time.ticks_diff(time.ticks_ms(), t0) / 1000
    else:
        real = time.perf_counter() - t0
    for k in base:
        store.saves[k] -= base[k]
    return real, store, m


def measure():
    """One result dict per workload, each covering one full day of meter time."""
    out = {}
    for load in ("10kW", "household"):
        real, store, m = run(load, DAY)
        out[load] = {"meter_s_per_real_s": int(DAY / real) if real > 0 else 0,
                     "kwh": m.totals()["import_milli"] // 1000,
                     "saves": store.saves, "bytes": store.bytes}
    return out


def child_main():
    print("@@bench " + json.dumps(measure()))


def print_result(runtime, res):
    for load in ("10kW", "household"):
        r = res[load]
        total = sum(r["saves"].values())
        print("%-11s %-9s %10d meter-s/s  %3d kWh/day  %6d saves/day  (%s)" % (
            runtime, load, r["meter_s_per_real_s"], r["kwh"], total,
            ", ".join("%s %d" % (k, r["saves"][k]) for k in sorted(r["saves"]))))


def main():
    import os
    import subprocess
    from meter.config import validate
    print("meter core: one day of 1 s samples, TOU tariff, save quantum %d Wh (the default)"
          % validate({})["save_quantum_milli"])
    cpy = measure()
    print_result("CPython", cpy)
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(exe):
        print("micropython not found beside", sys.executable)
        return
    proc = subprocess.run([exe, "-X", "heapsize=200K", os.path.abspath(__file__), "--child"],
                          capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("@@bench ")]
    if not lines:
        print("MicroPython run failed:", proc.stdout[-800:], proc.stderr[-800:])
        return
    mpy = json.loads(lines[-1][8:])
    print_result("MicroPython", mpy)
    for load in ("10kW", "household"):
        r = mpy[load]["meter_s_per_real_s"]
        print("ESP32 estimate (%s): %d .. %d meter-s/s (Unix port / 250 .. / 160)" % (
            load, r // 250, r // 160))
    print("saves/day are those of the core's records (meter, history, ev* pages, config);"
          " block writes per save: see docs/flash-wear.md")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main()
    else:
        main()
