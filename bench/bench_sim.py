"""Simulation speed: one simulated year of an hourly household profile through
``prepay sim``, on the stock Unix port (-X heapsize=200K) and the 32-bit frozen build
(64K): ``python bench/bench_sim.py [RUNTIME[:HEAP] ...]`` (e.g. ``frozen32:96K``).

Meter: boards/sim/examples/electricity-currency-tou.json (TOU tariff, standing charge,
15-minute metering bound). Load: 24 hourly steps a day (about 10 kWh/day), repeated
for 365 days; one 100 000 KES token at the start. Prints wall time, the meter process's
CPU time (the steadier figure on a shared machine), meter-seconds per second, wake-ups,
block writes (and the flash device: RamFlash is the mapped image), task crashes, heap
and the machine's load average (wall time on a shared machine follows it); also a 30-day
run for the heap figure. Prints numbers only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host.sim.runner import Sim, firmware_for, run_script  # noqa: E402
from host.sim.script import parse  # noqa: E402
from tokens import build  # noqa: E402
from tokens.tid import tid_at  # noqa: E402

CONFIG = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY = bytes.fromhex("87f3ecbb2e46b48f")
# W per hour of the day: night base, morning peak, evening peak (about 10 kWh/day)
HOURLY_W = (200, 180, 160, 160, 180, 220, 600, 1000, 600, 300, 250, 250,
            320, 300, 250, 300, 450, 800, 1800, 1600, 1000, 650, 420, 250)


def script(days, profile_path):
    token = build.currency_token(KEY, "sta", "electricity",
                                 tid_at(2014, 2026, 1, 1, 8, 0), 10 ** 10).digits
    return "\n".join(["at 2026-01-01T08:00", "token " + token,
                      "load profile " + profile_path, "advance %dd" % days, "status"])


def run(days, heap_stats, heap="200K", runtime="stock", at_end=None, firmware=None):
    """Run the story; ``at_end(sim)`` is called while the meter is still on; ``firmware``
    pins the runtime's build (``firmware_for``)."""
    state = tempfile.mkdtemp(prefix="bench-sim-")
    profile = os.path.join(state, "household.csv")
    with open(profile, "w") as f:
        f.write("\n".join("%02d:00,%d" % (h, w) for h, w in enumerate(HOURLY_W)) + "\n")
    with open(CONFIG) as f:
        cfg = json.load(f)
    with open(os.path.join(state, "meter.json"), "w") as f:
        json.dump(cfg, f)
    commands = parse(script(days, profile), state)
    try:
        sim = Sim(state, heap=heap, heap_mode="step" if heap_stats else "off",
                  out=open(os.devnull, "w"), runtime=runtime, firmware=firmware)
        t0 = time.perf_counter()
        try:
            run_script(sim, commands, open(os.devnull, "w"))
        except BaseException:       # a failed or interrupted run leaves no meter process
            if sim.meter is not None:
                sim.meter.kill()
            raise
        wall = time.perf_counter() - t0
        status = sim.last_status
        if at_end is not None:
            at_end(sim)
        sim.finish()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return wall, status, sim


HEAP = {"stock": "200K", "frozen64": "200K", "frozen32": "64K"}


def measured_at(runtime, firmware):
    """What was measured: the commit, the meter files changed since it, the build."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True,
                              text=True).stdout.strip()
    changed = git("status", "--porcelain", "--", "firmware", "tokens", "boards").splitlines()
    build = ("bundle " if firmware[1] else "build ") + os.path.basename(
        os.path.dirname(firmware[1] or firmware[0]))
    return "measured at %s%s, %s" % (
        git("rev-parse", "--short", "HEAD") or "?",
        " + %d uncommitted meter file(s)" % len(changed) if changed else "", build)


def main(runtimes):
    for spec in runtimes:
        runtime, _, heap = spec.partition(":")
        heap = heap or HEAP[runtime]
        print("prepay sim --runtime %s: hourly household profile, TOU tariff, -X heapsize=%s"
              % (runtime, heap))
        firmware = firmware_for(runtime)    # built (or from the cache) before the clock runs
        print(measured_at(runtime, firmware))
        for days, heap_stats in ((365, False), (365, True), (30, True)):
            before = os.times()
            wall, st, sim = run(days, heap_stats, heap, runtime, firmware=firmware)
            after = os.times()
            cpu = (after.children_user + after.children_system
                   - before.children_user - before.children_system)
            info = st["sim"]
            print("%3d days  heap stats %-3s  %6.1f s wall  %5.1f s CPU (meter)  %8d meter-s/s  "
                  "%5d kWh  %6d "
                  "wake-ups  %6d steps  %7d block writes (%s)  credit left %s %s  %d task "
                  "crash(es)  peak live heap %d B (after boot %d B)  load average %.1f" % (
                      days, "on" if heap_stats else "off", wall, cpu, days * 86400 / wall,
                      st["import_milli"] // 1000, info["wakeups"], info["steps"],
                      info["flash_writes"], info.get("flash"), st["credit"],
                      st["credit_unit"], st["crashes"], info["heap_peak"], info["heap_boot"],
                      os.getloadavg()[0]),
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ("stock", "frozen32"))
