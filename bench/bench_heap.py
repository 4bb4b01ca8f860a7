"""The firmware's heap in ``prepay sim``: the live peak and the smallest heap it runs in.

Story: bench_sim.py's, for 30 days (the TOU meter, one token, an hourly household
profile). The *live* peak is the heap in use after a collection at each wake-up (what
``prepay sim`` reports); the *smallest heap* is found by bisection on ``-X heapsize``
(2 KB steps), so it also pays for garbage between collections and for fragmentation: it
is what a board must have. Both on the 64-bit Unix port; an ESP32 (32-bit) needs less
for the same objects. Prints numbers only.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_sim import run  # noqa: E402
from host.errors import UserError  # noqa: E402

DAYS = 30


def runs_in(heap_k):
    try:
        run(DAYS, False, "%dK" % heap_k)
    except UserError:         # the firmware ran out of heap (a MemoryError, or a crash
        return False          # after one: prepay sim's SimError is a UserError too)
        return False
    return True


def main():
    info = run(DAYS, True)[1]["sim"]
    lo, hi = 64, 200          # lo fails (or is the goal), hi runs
    while hi - lo > 2:
        mid = (lo + hi) // 2
        if runs_in(mid):
            hi = mid
        else:
            lo = mid
    print("prepay sim, %d-day household story, ROMFS modules, 64-bit Unix port" % DAYS)
    print("live heap after boot   %7d B" % info["heap_boot"])
    print("live heap peak         %7d B" % info["heap_peak"])
    print("smallest -X heapsize   %7d KB (runs in %dK, not in %dK)" % (hi, hi, lo))


if __name__ == "__main__":
    main()
