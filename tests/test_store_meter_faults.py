"""Power cuts through the real meter core (meter.core.Meter) on LittleFS.

Top-ups, consumption pulses and tariff changes are driven through the core's
API with its own save policy; the flash loses power after the N-th block write
for every N of the run (see test_store_faults.py for the devices, the mount in
both runtimes and the segment replay). After each cut a fresh device is
mounted on the surviving image and a new Meter boots from it:

* the credit ledger balances exactly (``credit.check`` is 0);
* purchased = the top-ups that returned 'accepted' (plus the one in flight
  only if a torn last write completed its commit): none lost, none twice;
* the import register lost at most one save quantum (plus one step's pulses);
* the meter takes a new top-up and keeps it over a remount.

Finding (recorded, not asserted): in ~150 of the ~720 cut points the cut
falls in the saves ``topup`` makes *after* its credit save returned (the
forced save in ``_finish``, the events save), so ``topup`` raises OSError
although the credit is durable. A customer who then re-enters the token gets
it applied twice unless the TID memory is saved in the same record as the
credit (UNACKNOWLEDGED collects these cut points).
"""
from boards.sim.blockdev import RamFlash
from meter import credit as creditmod
from meter.core import Meter
from test_store_faults import Mounted, mkfs

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "1M"  # the simulated flash images are test fixtures

BLOCK_SIZE = 4096
BLOCK_COUNT = 32
SEGMENT_STEPS = 8
UNIT = 1000000
START_T = 820000000          # seconds since 2000, mid-2025
QUANTUM_MILLI = 10           # config save_quantum_milli: 0.01 kWh
UNACKNOWLEDGED = []          # cut points where credit landed but topup() raised
CHECKED = []


def config():
    return {"utility": "electricity", "credit_mode": "currency", "imp_per_unit": 1000,
            "save_quantum_milli": QUANTUM_MILLI,
            "tariff": {"active": {"kind": "flat", "prices": [200000]}}}


def scenario(n_steps):
    steps, x = [], 777
    for i in range(n_steps):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        kind = (x >> 16) % 10
        if kind < 2:
            steps.append(("topup", (5 + (x >> 4) % 50) * UNIT))
        elif kind == 2:
            steps.append(("tariff", 150000 + (x >> 8) % 100000))
        else:
            steps.append(("pulses", 10 + (x >> 8) % 3))  # 1 pulse = 1 Wh
    return steps


class WatchedStore:
    """The store the core gets, noting the credit of the last 'meter' record
    whose save returned and of the one in flight."""

    def __init__(self, store, purchased):
        self.store = store
        self.saved_purchased = purchased
        self.in_flight_purchased = None

    def load(self, name):
        return self.store.load(name)

    def save(self, name, record):
        if name == "meter":
            self.in_flight_purchased = record["credit"]["purchased"]
        self.store.save(name, record)
        if name == "meter":
            self.saved_purchased = self.in_flight_purchased
            self.in_flight_purchased = None


class Run:
    """A meter booted on a device, driven step by step until the power goes."""

    def __init__(self, dev, t, purchased):
        self.mounted = Mounted(dev)
        self.t = t
        self.watch = WatchedStore(None, purchased)
        self.accepted_micro = 0
        self.done = 0
        self.meter = None

    def drive(self, steps):
        try:
            self.watch.store = self.mounted.store()
            self.meter = Meter(config(), self.watch, self.t)
            for kind, value in steps:
                self.t += 30
                if kind == "topup":
                    assert self.meter.topup(self.t, value) == "accepted"
                    self.accepted_micro += value
                elif kind == "tariff":
                    self.meter.set_tariff_rate(self.t, 1, value)
                else:
                    self.meter.pulses(self.t, value)
                self.done += 1
        except OSError:
            pass
        self.mounted.unmount()
        return self


def check_survivor(dev, run, steps, purchased_before, imp_before, torn):
    cut_step = steps[run.done]
    mounted = Mounted(dev)
    meter = Meter(config(), mounted.store(), run.t + 60)
    c = meter.credit
    assert creditmod.check(c) == 0, c
    # every top-up that returned 'accepted' is there, exactly once
    accepted = purchased_before + run.accepted_micro
    assert c["purchased"] >= accepted, (c["purchased"], accepted)
    # and the credit is that of the last meter record whose save returned,
    # or (a torn last write completing its commit) the one in flight
    watch = run.watch
    assert c["purchased"] == watch.saved_purchased or (
        torn and c["purchased"] == watch.in_flight_purchased), (c["purchased"], cut_step)
    if c["purchased"] > accepted:
        UNACKNOWLEDGED.append(cut_step)  # credit kept, but topup() raised: see the report
    imp_saved = meter.reg["imp"]
    assert imp_saved >= imp_before - QUANTUM_MILLI - 2, (imp_saved, imp_before)
    booted_purchased = c["purchased"]
    assert meter.topup(run.t + 90, 3 * UNIT) == "accepted"
    mounted.unmount()
    mounted = Mounted(dev)
    again = Meter(config(), mounted.store(), run.t + 120)
    assert again.credit["purchased"] == booted_purchased + 3 * UNIT
    mounted.unmount()


def test_power_cut_after_every_block_write_through_the_meter_core():
    steps = scenario(48)
    dev = RamFlash(BLOCK_SIZE, BLOCK_COUNT)
    survivor = RamFlash(BLOCK_SIZE, BLOCK_COUNT)
    mkfs(dev)
    start = bytearray(dev.mem)  # images kept in place: big blocks fragment the heap
    end = bytearray(len(start))
    t, purchased, checked = START_T, 0, 0
    for first in range(0, len(steps), SEGMENT_STEPS):
        segment = steps[first:first + SEGMENT_STEPS]
        dev.restore(start)
        dev.powered = True
        dev.cut_after(-1)
        dev.programs = dev.erases = 0
        whole = Run(dev, t, purchased).drive(segment)
        assert whole.done == len(segment)
        writes = dev.writes
        end[:] = dev.mem
        for n in range(writes):
            dev.restore(start)
            dev.powered = True
            torn = n % 2 == 1
            dev.cut_after(n, torn)
            run = Run(dev, t, purchased).drive(segment)
            assert run.done < len(segment), n
            # what the meter had counted when the power went (a lower bound
            # for the last completed step)
            imp_before = run.meter.reg["imp"] if run.meter is not None else 0
            survivor.restore(dev.mem)
            check_survivor(survivor, run, segment, purchased, imp_before, torn)
            checked += 1
        purchased += whole.accepted_micro
        t = whole.t
        start, end = end, start
    CHECKED[:] = [checked]
    assert checked >= 300, checked
