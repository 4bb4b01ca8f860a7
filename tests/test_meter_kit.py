"""Shared helpers for the meter-core tests (no tests here): an in-RAM store that
follows the store contract and keeps a log of saves, a few meter configs and drivers.
Works in both runtimes."""
import json

from meter import civil
from meter.core import Meter
from meter.store import record_text

UNIT = 1000000          # one currency base unit (or one kWh of unit credit) in credit micro


class LogStore:
    """The Store contract in RAM: load() returns the last saved dict (a copy) or None;
    save() keeps a JSON copy, counts saves per record and keeps the names of the last
    few saves in order, so a test can inspect what was written when."""

    def __init__(self):
        self.records = {}
        self.counts = {}
        self.log = []
        self.fail_next = False

    def load(self, name):
        text = self.records.get(name)
        return None if text is None else json.loads(text)

    def save(self, name, record):
        if self.fail_next:
            self.fail_next = False
            raise OSError("flash write failed")
        text = record_text(record)   # the history writes its own JSON
        self.records[name] = text
        self.counts[name] = self.counts.get(name, 0) + 1
        self.log.append(name)
        if len(self.log) > 20:
            self.log.pop(0)

    def count(self, name=None):
        if name is None:
            return sum(self.counts.values())
        return self.counts.get(name, 0)


def at(y, mo, d, h=0, mi=0, s=0):
    return civil.seconds(y, mo, d, h, mi, s)


def electricity(**over):
    cfg = {"utility": "electricity", "credit_mode": "currency", "imp_per_unit": 1000,
           "tariff": {"active": {"kind": "flat", "prices": [200000]}}}
    for k in over:
        cfg[k] = over[k]
    return cfg


def new_meter(cfg, now, store=None, credit_micro=0):
    store = store or LogStore()
    m = Meter(cfg, store, now)
    if credit_micro:
        assert m.topup(now, credit_micro) == "accepted"
    return m, store


def run_pulses(m, start, end, per_minute, step=60):
    """Feed pulses every ``step`` seconds from start to end; per_minute(t) gives the
    pulses for the step that ends at t. Returns the last decision."""
    t = start
    decision = None
    while t < end:
        t += step
        decision = m.pulses(t, per_minute(t))
    return decision


def run_power(m, start, end, watts, step=60):
    """Constant power from start to end as chip samples every ``step`` seconds."""
    t = start
    decision = None
    while t < end:
        t += step
        decision = m.sample(t, watts * step * 1000 // 3600, 0, watts)
    return decision
