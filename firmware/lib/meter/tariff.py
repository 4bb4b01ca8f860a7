"""Which rate and price apply at a given meter time.

A tariff config holds the active table and optionally a pending one that takes over
at ``pending_from``. Each table is flat, time-of-use (day profiles per day type) or
block (steps over the settlement month's consumption). ``segment(t)`` returns the rate
in effect at t and the time it stops being valid, so the core can split a consumption
interval exactly at each boundary and never price consumption retroactively.
"""
from meter import civil
from meter.daytype import day_type

DAY_S = civil.DAY_S


class Rate:
    """What applies over one stretch of time: a rate index 1..4 and its price, or a
    block table (price then depends on the month's consumption)."""

    def __init__(self, index, price, blocks, end):
        self.index = index        # 1..4; 0 for a block table (index comes from the step)
        self.price = price        # credit micro per unit (kWh / m3 / minute)
        self.blocks = blocks      # [[upto_milli or None, price], ...] or None
        self.end = end            # meter time at which this stretch ends


class Tariff:
    def __init__(self, tariff_cfg, holidays, weekend):
        self.cfg = tariff_cfg
        self.holidays = holidays
        self.weekend = weekend

    def table(self):
        return self.cfg["active"]

    def pending_due(self, t):
        """True if the pending table should be active at t."""
        return self.cfg["pending"] is not None and t >= self.cfg["pending_from"]

    def promote(self):
        """Make the pending table the active one (called at its boundary)."""
        self.cfg["active"] = self.cfg["pending"]
        self.cfg["pending"] = None
        self.cfg["pending_from"] = None

    def segment(self, t, clock_valid=True):
        """The Rate in effect at t (after any due pending promotion by the caller)."""
        day, sec = civil.split(t)
        end = (day + 1) * DAY_S
        if self.cfg["pending"] is not None and self.cfg["pending_from"] > t:
            end = min(end, self.cfg["pending_from"])
        if not clock_valid:
            return Rate(1, self.cfg["default_price"], None, end)
        table = self.cfg["active"]
        kind = table["kind"]
        if kind == "flat":
            return Rate(1, table["prices"][0], None, end)
        if kind == "block":
            return Rate(0, 0, table["blocks"], end)
        profiles = table["profiles"]
        dt = day_type(day, self.holidays, self.weekend)
        profile = profiles.get(dt) or (dt == "holiday" and profiles.get("weekend")) \
            or profiles["weekday"]
        minute = sec // 60
        rate = profile[0][1]
        for start, r in profile:
            if start > minute:
                end = min(end, day * DAY_S + start * 60)
                break
            rate = r
        return Rate(rate, table["prices"][rate - 1], None, end)

    def standing_micro_per_day(self):
        return self.cfg["active"]["standing_micro_per_day"]


def block_step(blocks, month_milli):
    """(step index 0.., milli-units left in this step or None) at a month position."""
    for i, (upto, _) in enumerate(blocks):
        if upto is None or month_milli < upto:
            return i, (None if upto is None else upto - month_milli)
    return len(blocks) - 1, None
