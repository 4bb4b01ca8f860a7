"""The optical port's figures: the engine's own time for a full readout on MicroPython
against the same bytes' time on the wire at 9600 Bd 7E1, a whole session through the
simulator's pty with the standard's delays, the engine's heap (stock and frozen32), and
a fuzz run of random and mutated frames (``--frames``, default 100 000) with its result.

``--story``: the IR task's own share of the firmware's peak heap, and whether its
short-lived garbage (a readout allocates ~23 KB in small pieces) can fragment a small
heap into a failure: bench_sim's household story (TOU meter, one token, the hourly
profile) for ``--days`` (30) on ``--runtime`` (frozen32) in ``--heap`` (72K), twice:
each simulated day ends with 6 s of real-time ``serve``, once with nobody at the port
and once with a readout and a programming session (P1, R1 of the credit, the event
log and the token history, a W1 of the clock, B0) through the pty. Prints the live heap
after boot and its peak (after a collection at each wake-up, as bench_heap), task
crashes, answers refused or failed, and the registers of both runs.

    .venv/bin/python bench/bench_iec62056.py [--frames N]
    .venv/bin/python bench/bench_iec62056.py --story [--days 30] [--heap 72K] [--runtime frozen32]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "firmware", "lib"),
                os.path.join(ROOT, "bench")]

ESP32_FACTOR = 200
STORY_LIMIT_S = 900         # the story takes 4-6 min; a heap too small loops restarting tasks          # ../shared/docs/micropython.md section 14
ENGINE = r"""
import gc, sys, time
sys.path[:0] = ["%(tests)s", "%(lib)s", "%(root)s"]
from dualrt import tmp_dir
from optical_kit import Bench
import app_ir
bench = Bench(tmp_dir("bench-iec62056"))
gc.collect()
engine = bench.engine
port = bench.board.ir_port
def readout():
    port.inbox = b"/?!\r\n"
    bench.run(300)
    port.inbox = b"\x06050\r\n"
    port.sent = b""
    t0 = time.ticks_us()
    engine.feed(port.read(), 0)
    n = 0
    engine.t0 = -100000         # the switch delay is the wire's, not the engine's
    while engine.busy or engine.out is not None:
        chunk = engine.pump(0)
        if chunk:
            n += len(chunk)
            engine.t0 = -100000
        elif engine.out is None:
            break
    us = time.ticks_diff(time.ticks_us(), t0)
    engine._end("bench", 0)
    return us, n
readout()
gc.collect()
before = gc.mem_alloc()
best = None
peak = 0
for _ in range(5):
    gc.collect()
    us, n = readout()
    best = us if best is None or us < best else best
print("RESULT", best, n, before)
import micropython
"""


def engine_figures():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    src = ENGINE % {"tests": os.path.join(ROOT, "tests"), "lib": os.path.join(ROOT, "firmware", "lib"),
                    "root": ROOT}
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
    out = subprocess.run([exe, "-X", "heapsize=800K", f.name], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    os.remove(f.name)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
    if not line:
        raise SystemExit("engine run failed:\n" + out.stdout + out.stderr)
    _, us, n, _ = line[0].split()
    return int(us), int(n)


def engine_heap(runtime="stock"):
    """Bytes the engine and its port objects hold, and what a readout allocates in all
    (short-lived: it is streamed a line at a time), on the PyPI 64-bit Unix port or on
    a frozen build (``frozen32``: the ESP32's width, the firmware from the image)."""
    if runtime == "stock":
        exe = os.path.join(os.path.dirname(sys.executable), "micropython")
        path = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "firmware", "lib"), ROOT]
    else:
        from host.firmware.build import build
        exe = build(runtime)["binary"]
        path = [os.path.join(ROOT, "tests")]    # the test kit; the firmware is frozen
    src = r"""
import gc, sys
sys.path[:0] = %(path)r
from dualrt import tmp_dir
from optical_kit import Bench
import app_ir
from iec62056 import modec, frame
from obis import registers, settings
bench = Bench(tmp_dir("bench-iec62056-heap"))
gc.collect(); a = gc.mem_alloc()
engine = app_ir.start(bench.app)
gc.collect(); b = gc.mem_alloc()
bench.engine = engine
bench.talk(b"/?!\r\n", 300)
gc.collect(); gc.threshold(-1)
c = gc.mem_alloc()
bench.talk(b"\x06050\r\n", 3000)
d = gc.mem_alloc()
print("HEAP", b - a, d - c)
""" % {"path": path}
    out = subprocess.run([exe, "-X", "heapsize=800K", "-c", src], capture_output=True,
                         text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, MICROPYPATH=".frozen"))
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAP")]
    if not line:
        raise SystemExit("heap run failed:\n" + out.stdout + out.stderr)
    _, held, readout_alloc = line[0].split()
    return int(held), int(readout_alloc)


def pty_session():
    """A whole readout and a programming session through the sim's pty, as a client
    sees them (the meter's 200 ms reaction and 300 ms switch delays included), on the
    32-bit frozen build in a 72 KB heap (64K: no room since the online task, --story)."""
    from host.readout import jobs
    from host.sim.runner import Sim
    from host.sim.script import meter_seconds
    import threading
    state = tempfile.mkdtemp(prefix="bench-iec-")
    with open(os.path.join(ROOT, "boards", "sim", "examples",
                           "electricity-currency-tou.json")) as f:
        cfg = json.load(f)
    cfg["ir"] = {"passwords": {"reader": "rd-4711", "technician": "tech-0815"}}
    with open(os.path.join(state, "meter.json"), "w") as f:
        json.dump(cfg, f)
    link = os.path.join(state, "ir")
    sim = Sim(state, heap="72K", runtime="frozen32", heap_mode="off", ir_link=link)
    sim.world.rtc_s = meter_seconds("2026-11-23T08:00")
    sim.power_on()
    thread = threading.Thread(target=sim.serve, args=(15000,))
    thread.start()
    t0 = time.monotonic()
    rows = jobs.readout(link)
    readout_s = time.monotonic() - t0
    t0 = time.monotonic()
    jobs.read_codes(link, ["1-0:1.8.0", "0-0:19.0.0"], "tech-0815")
    program_s = time.monotonic() - t0
    thread.join()
    sim.finish()
    return readout_s, program_s, len(rows)


def fuzz_run(frames):
    from dualrt import tmp_dir
    from optical_fuzz import fuzz
    from optical_kit import Bench
    bench = Bench(tmp_dir("bench-fuzz"))
    cfg = repr(bench.app.meter.cfg)
    t0 = time.monotonic()
    sessions = fuzz(bench, frames, seed=20261123)
    took = time.monotonic() - t0
    writes = [e for e in bench.app.meter.events.items if e[2] == "optical" and e[3].startswith("write")]
    ok = bench.engine.fault is None and repr(bench.app.meter.cfg) == cfg and not writes
    bench.run(200000)
    ok = ok and bench.talk(b"/?!\r\n").startswith(b"/PP")
    return ok, sessions, bench.engine.errors, took


def story(days, heap, runtime, readouts, firmware):
    """(live heap after boot, peak live heap, status at the end, sessions that failed)."""
    import threading
    from bench_sim import CONFIG, HOURLY_W, script
    from host.readout import jobs
    from host.readout.client import ReadoutError
    from host.sim.runner import Sim, run_script
    from host.sim.script import parse
    state = tempfile.mkdtemp(prefix="bench-iec-story-")
    profile = os.path.join(state, "household.csv")
    with open(profile, "w") as f:
        f.write("\n".join("%02d:00,%d" % (h, w) for h, w in enumerate(HOURLY_W)) + "\n")
    with open(CONFIG) as f:
        cfg = json.load(f)
    cfg["ir"] = {"passwords": {"reader": "rd-4711", "technician": "tech-0815"}}
    with open(os.path.join(state, "meter.json"), "w") as f:
        json.dump(cfg, f)
    link = os.path.join(state, "ir")
    devnull = open(os.devnull, "w")
    sim = Sim(state, heap=heap, heap_mode="step", out=devnull, runtime=runtime,
              firmware=firmware, ir_link=link)
    head = script(days, profile).splitlines()[:3]         # at, token, load profile
    run_script(sim, parse("\n".join(head), state), devnull)
    failed = []
    t0 = time.monotonic()
    for day in range(days):
        if time.monotonic() - t0 > STORY_LIMIT_S:    # tasks restarting on MemoryError
            failed.append("stopped after day %d: over %d s" % (day, STORY_LIMIT_S))
            break
        run_script(sim, parse("advance 1d", state), devnull)
        served = threading.Thread(target=sim.serve, args=(6000,))
        served.start()
        if readouts:
            try:
                jobs.readout(link, timeout=5)
                with jobs.programming(link, "tech-0815", timeout=5) as client:
                    client.read("0-0:19.0.0")
                    client.read("0-0:99.98.0", "20")
                    client.read("0-0:99.15.0")
                    clock = client.read("0-0:1.0.0")[0][1]
                    client.write("0-0:1.0.0", clock)
            except ReadoutError as exc:
                failed.append("day %d: %s" % (day + 1, exc))
        served.join()
    status = sim.status()
    sim.finish()
    devnull.close()
    return sim.heap_boot, sim.heap_peak, status, failed


def story_figures(days, heap, runtime):
    from bench_sim import measured_at
    from host.sim.runner import firmware_for
    firmware = firmware_for(runtime)
    print("story: %d days on %s in -X heapsize=%s, %s" % (days, runtime, heap,
                                                        measured_at(runtime, firmware)))
    peaks = {}
    for readouts in (False, True):
        boot, peak, status, failed = story(days, heap, runtime, readouts, firmware)
        peaks[readouts] = peak
        books = {k: status[k] for k in ("credit_micro", "import_milli")}
        print("  %-46s live heap after boot %d B, peak %d B; task crashes %d; sessions "
              "failed %d; %r" % ("a readout and a programming session every day:"
                                 if readouts else "nobody at the optical port:", boot, peak,
                                 status["crashes"], len(failed), books))
        for line in failed[:5]:
            print("    " + line)
    print("  the IR task adds %d B to the peak live heap" % (peaks[True] - peaks[False]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100000)
    parser.add_argument("--story", action="store_true",
                        help="only the IR task's share of the peak heap in the 30-day story")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--heap", default="72K")
    parser.add_argument("--runtime", default="frozen32")
    args = parser.parse_args()
    print("load average %.2f %.2f %.2f (2 shared cores: figures are noisy)"
          % os.getloadavg())
    if args.story:
        story_figures(args.days, args.heap, args.runtime)
        return 0
    us, nbytes = engine_figures()
    wire_ms = nbytes * 10 * 1000 / 9600
    print("readout: %d bytes; engine %.1f ms on the Unix port (x%d for an ESP32: %.0f ms); "
          "wire at 9600 Bd 7E1: %.0f ms" % (nbytes, us / 1000, ESP32_FACTOR,
                                            us / 1000 * ESP32_FACTOR, wire_ms))
    for runtime in ("stock", "frozen32"):
        held, alloc = engine_heap(runtime)
        print("heap (%s): engine and port objects %d bytes held; a readout allocates %d "
              "bytes of short-lived garbage" % (runtime, held, alloc))
    readout_s, program_s, lines = pty_session()
    print("through the sim's pty: readout of %d lines %.2f s; programming session "
          "(P1, 2 x R1, B0) %.2f s" % (lines, readout_s, program_s))
    ok, sessions, errors, took = fuzz_run(args.frames)
    print("fuzz: %d random and mutated frames (%d in programming sessions) in %.0f s: %s; "
          "%d refused" % (args.frames, sessions, took,
                          "no exception, no write, port answers after" if ok else "FAILED",
                          errors))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
