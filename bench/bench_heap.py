"""The firmware's heap in ``prepay sim``: the live peak and the smallest heap it runs in.

Story: the TOU meter of boards/sim/examples/electricity-currency-tou.json, one token,
30 days of the hourly household profile of bench_sim.py. The *live* peak is the heap in
use after a collection at each wake-up (what ``prepay sim`` reports); the *smallest
heap* is found by bisection on ``-X heapsize`` (2 KB steps), so it also pays for
garbage between collections and for fragmentation: it is what a board must have.
Both on the 64-bit Unix port; an ESP32 (32-bit) needs less for the same objects.
Prints numbers only.
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_sim import CONFIG, HOURLY_W, script  # noqa: E402
from host.sim_cmd import Sim, SimError, run_script  # noqa: E402
from host.sim_script import parse  # noqa: E402

DAYS = 30


def run(heap_k):
    """(live peak, live after boot) in bytes, or None when the firmware ran out of heap."""
    state = tempfile.mkdtemp(prefix="bench-heap-")
    profile = os.path.join(state, "household.csv")
    with open(profile, "w") as f:
        f.write("\n".join("%02d:00,%d" % (h, w) for h, w in enumerate(HOURLY_W)) + "\n")
    with open(CONFIG) as src, open(os.path.join(state, "meter.json"), "w") as dst:
        dst.write(src.read())
    sim = Sim(state, heap="%dK" % heap_k, out=open(os.devnull, "w"))
    try:
        run_script(sim, parse(script(DAYS, profile), state), open(os.devnull, "w"))
    except SimError:          # out of heap: the process is gone or dying
        sim.power_cut()
        return None
    info = sim.last_status["sim"]
    sim.finish()
    return info["heap_peak"], info["heap_boot"]


def main():
    peak, boot = run(200)
    lo, hi = 64, 200          # lo fails (or is the goal), hi runs
    while hi - lo > 2:
        mid = (lo + hi) // 2
        if run(mid) is None:
            lo = mid
        else:
            hi = mid
    print("prepay sim, %d-day household story, ROMFS modules, 64-bit Unix port" % DAYS)
    print("live heap after boot   %7d B" % boot)
    print("live heap peak         %7d B" % peak)
    print("smallest -X heapsize   %7d KB (runs in %dK, not in %dK)" % (hi, hi, lo))


if __name__ == "__main__":
    main()
