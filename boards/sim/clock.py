"""The simulator's virtual clock: a small discrete-event scheduler on top of asyncio.

Virtual time (``ms``: milliseconds since 2000-01-01 00:00 local) stands still while
the script decides; ``run_until`` jumps it from one wake-up to the next, so a month
with nothing to do costs a handful of wake-ups, not millions of ticks.

A task sleeps with ``sleep_ms(ms, lazy, wake)``:
* timed sleeps wake at ``now + ms``, in time order;
* ``lazy`` sleeps (polling periods: keypad, display, watchdog) wake only when the
  script hands in input (``kick``) or when control returns to the script, except while
  ``urgent`` (keys queued), when they keep their period;
* a sleep with ``wake="metering"`` ends early when ``kick("metering")`` says the load
  changed.
"""
import asyncio
from heapq import heappop, heappush

ALL = "*"


class VirtualClock:
    def __init__(self, start_ms):
        self.ms = start_ms
        self.timed = []         # heap of (wake ms, seq, event, wake tag)
        self.lazy = []          # [(nominal wake ms, event, wake tag)]
        self.seq = 0
        self.activity = 0       # sleeps registered so far (a settle check)
        self.urgent = False
        self.wakeups = 0
        self.awake = 0          # woken tasks that have not gone back to sleep yet

    def sleep_ms(self, ms, lazy=False, wake=None):
        ev = asyncio.Event()
        self.seq += 1
        self.activity += 1
        self.awake -= 1
        if lazy:
            self.lazy.append((self.ms + ms, ev, wake))
        else:
            heappush(self.timed, (self.ms + ms, self.seq, ev, wake))
        return ev.wait()

    def next_wake(self):
        """The next virtual time something must run, or None."""
        t = self.timed[0][0] if self.timed else None
        if self.urgent:
            for entry in self.lazy:
                if t is None or entry[0] < t:
                    t = entry[0]
        return t

    def wake_due(self):
        """Wake every timed sleeper due now (and lazy ones due, when urgent)."""
        while self.timed and self.timed[0][0] <= self.ms:
            heappop(self.timed)[2].set()
            self._woke()
        if self.urgent:
            keep = []
            for entry in self.lazy:
                if entry[0] <= self.ms:
                    entry[1].set()
                    self._woke()
                else:
                    keep.append(entry)
            self.lazy = keep

    def _woke(self):
        self.wakeups += 1
        self.awake += 1

    def kick(self, tag=ALL):
        """Wake lazy sleepers now (all, or those waiting on ``tag``) and timed
        sleepers waiting on ``tag``."""
        keep = []
        for entry in self.lazy:
            if tag == ALL or entry[2] == tag:
                entry[1].set()
                self._woke()
            else:
                keep.append(entry)
        self.lazy = keep
        if tag != ALL:
            rest = []
            for entry in self.timed:
                if entry[3] == tag:
                    entry[2].set()
                    self._woke()
                else:
                    rest.append(entry)
            if len(rest) != len(self.timed):
                self.timed = rest
                rest.sort()

    def wake_all(self):
        """After the clock is set: every sleeper wakes and sleeps again from the new time."""
        for entry in self.timed:
            entry[2].set()
            self._woke()
        self.timed = []
        self.kick()
