"""The meter core: energy's journey from pulses or samples to credit, supply and events.

``Meter(config, store, now)`` is handed its configuration (a dict), a store (the
power-cut-safe records, see ``store.py``) and the time; it never imports a board or
reads a clock. Every input carries ``now`` (seconds since 2000-01-01 00:00 local civil
time) and every call returns the supply decision ``(state, reason)`` for the board to
apply. See firmware/README.md for units, records and the save rules.
"""
import sys

from const import const
from meter import civil, credit, leak, supply, trip
from meter.daytype import in_friendly, next_friendly_edge
from meter.events import EventLog
from meter.history import DAILY, MONTHLY, Rows
from meter.history import Record as HistoryRecord
from meter.tariff import Tariff

_MICRO = const(1000000)
_CLOCK_BACK_TOLERANCE_S = const(60)
# ClearCredit register numbers (STS class 2 subclass 1)
REGISTER_OF_UTILITY = {"electricity": 0, "water": 1, "gas": 2, "time": 3}
_CLEAR_ALL = const(0xFFFF)
# supply reasons that are no alarm: the credit rules at work (the credit state says the rest)
CREDIT_REASONS = ("credit", "credit_exhausted", "credit_power_limit", "friendly",
                  "keep_supply", "manual_on", "await_confirm", "commissioned")


def validate_config(raw):
    """``meter.config.validate``, with the validator imported for the check only: it is
    needed at start-up and for a pending tariff, and dropping it afterwards gives its
    functions back to the heap (about 5 KB on the 64-bit Unix port)."""
    from meter import config
    try:
        return config.validate(raw)
    finally:
        _drop_validator()


def _configuration(raw, store):
    """(the configuration to run, provisioned?): the one the meter saved unless meter.json
    has a newer revision, each checked as it is taken, with one import of the validator
    (each import is a few KB made and dropped while the records are being read)."""
    from meter import config
    try:
        cfg = config.validate(raw)
        stored = store.load("config")
        if stored is not None and stored.get("revision", 0) >= cfg["revision"]:
            return config.validate(stored), False
        return cfg, True
    finally:
        _drop_validator()


def _drop_validator():
    sys.modules.pop("meter.config", None)
    package = sys.modules.get("meter")
    if package is not None and "config" in package.__dict__:
        delattr(package, "config")


def _ring_size_asked(raw):
    """The event ring's capacity as the unchecked configuration asks (validation then
    settles it; 200 when it makes no sense)."""
    v = raw.get("event_capacity", 200) if isinstance(raw, dict) else 200
    return v if isinstance(v, int) and 0 < v <= 1000 else 200


def new_registers(day):
    return {
        "imp": 0, "imp_rem": 0,          # total import, milli-units + micro remainder
        "rates": [0, 0, 0, 0],           # per-rate import (rate 1..4), milli-units
        "exp": 0, "exp_rem": 0,          # export / reverse, kept apart, never credited
        "reverse": False,                # reverse flow seen (flag)
        "day": 0, "day_money": 0,        # today so far (milli-units, credit micro)
        "month": 0, "month_money": 0,    # this settlement month so far
        "md_w": 0, "md_t": None,         # max demand this month (W or L/h) and when
        "dem": 0,                        # micro-units in the current demand period
        "power": 0,                      # last instantaneous power (W) or flow (L/h)
        "day_no": day,                   # day number these day counters belong to
        "pulse_rem": 0, "time_rem": 0,   # remainders of pulse and time conversions
    }


class Meter:
    def __init__(self, cfg, store, now, clock_valid=True):
        self.store = store
        self.saves = 0
        self.dirty = False
        self.day_closed = False
        # The event ring is the largest block the meter keeps: take it before validation
        # litters the heap, which may then have no hole that size left.
        self.events = EventLog(_ring_size_asked(cfg))
        cfg, provisioned = _configuration(cfg, store)
        self.cfg = cfg
        if self.events.capacity != cfg["event_capacity"]:     # the stored config differs
            self.events = EventLog(cfg["event_capacity"])
        self.events.load(store)
        hist = store.load("history") or {"daily": [], "monthly": []}
        self.daily = Rows(cfg["daily_history_days"], DAILY, hist["daily"])
        self.monthly = Rows(cfg["monthly_history_months"], MONTHLY, hist["monthly"])
        del hist
        rec = store.load("meter")
        if rec is None:
            day = now // civil.DAY_S
            self.t = now
            self.credit = credit.new_state(cfg["credit"]["debt"]["start_micro"])
            self.reg = new_registers(day)
            self.sup = supply.new_state()
            self.load = trip.new_state()
            self.unbal = trip.new_state()
            self.leak = leak.new_state()
            self.credit_state = "normal"
            self.clock_ok = clock_valid
            self.events.add(now, "power", "first_start")
        else:
            self.t = rec["t"]
            self.credit = rec["credit"]
            self.reg = rec["reg"]
            self.sup = rec["sup"]
            self.load = rec["load"]
            self.unbal = rec["unbal"]
            self.leak = rec["leak"]
            self.credit_state = rec["credit_state"]
            self.clock_ok = clock_valid
            self.events.add(now, "power", "up")
        if provisioned:
            self._save_config(now, "provisioned")
        self.tariff = Tariff(cfg["tariff"], cfg["holidays"], cfg["weekend"])
        self._pulse_ratio()
        self.unsaved_micro = 0
        self.last_save_t = now
        self.events_save_t = now
        self.spent7 = self._spent_last_7_days()
        if not clock_valid:
            self.events.add(now, "clock", "invalid")
        self._new_segment(self.t)
        self._run(now, 0, 0)
        self._decide(now)
        self._save(now)

    # ----------------------------------------------------------------- inputs
    def pulses(self, now, count, reverse_count=0):
        """Pulses counted since the last call (forward and reverse)."""
        num, den = self.pulse_num, self.pulse_den
        r = self.reg
        total = count * num + r["pulse_rem"]
        qty = total // den
        rev = reverse_count * num // den
        r["pulse_rem"] = total - qty * den
        dt = now - self.t
        power = qty * 3600 // (dt * 1000) if dt > 0 else None
        return self._input(now, qty, rev, power, None)

    def sample(self, now, import_micro, export_micro=0, power=None, phases_w=None):
        """A metering-chip reading: energy (mWh) or volume (mL) since the last sample,
        optional instantaneous power (W) or flow (L/h), optional per-phase powers."""
        if power is None and now > self.t:
            power = import_micro * 3600 // ((now - self.t) * 1000)
        return self._input(now, import_micro, export_micro, power, phases_w)

    def tick(self, now):
        """Time passes with no new reading (standing charges, timers, day closes)."""
        self._run(now, 0, 0)
        self._supervise(now, None, None)
        return self._finish(now)

    def press(self, now):
        """The customer button: two presses within 30 s confirm a READY supply; a press
        ends a load or unbalance lockout (the customer has reduced the load: if not, the
        limit trips again) and a valve closure for a leak (the leak is fixed)."""
        self._run(now, 0, 0)
        if supply.press(self.sup, now):
            self.events.add(now, "supply", "customer_confirmed")
        ended = self._end_lockouts(now, "button")
        if self.sup["leak"] and self.cfg["supply"]["valve"]["close_on_leak"]:
            leak.clear(self.leak)
            self.sup["leak"] = None
            self.events.add(now, "leak", "cleared_button")
            ended = True
        return self._finish(now, force_save=ended)

    def power_fail(self, now):
        """The board's power-fail signal: bring everything up to date and save now."""
        self._run(now, 0, 0)
        self.events.add(now, "power", "down")
        self._save(now)
        self._save_events(now)
        self._save_history()

    def set_clock_valid(self, now, valid):
        """The board reports whether its clock can be trusted (RTC lost / set)."""
        if valid != self.clock_ok:
            self.clock_ok = valid
            self.events.add(now, "clock", "valid" if valid else "invalid")
            self._new_segment(self.t)
        return self.tick(now)

    def battery(self, now, low):
        if low != self.sup["battery_low"]:
            self.sup["battery_low"] = low
            self.events.add(now, "alarm", "battery_low" if low else "battery_ok")
        return self.tick(now)

    def tamper(self, now, kind):
        """cover, magnet, reverse or tilt detected by the board."""
        self._run(now, 0, 0)
        self._raise_tamper(now, kind)
        return self._finish(now, force_save=True)

    # ------------------------------------------------------------ customer / technician
    def take_emergency_credit(self, now):
        self._run(now, 0, 0)
        result = credit.take_emergency(self.credit, self.cfg["credit"])
        self.events.add(now, "credit", "emergency_" + result,
                        self.cfg["credit"]["emergency"]["amount_micro"])
        if result == "accepted":
            self._save(now)
        self._finish(now)
        return result

    def manual(self, now, mode):
        """Technician: 'on' or 'off' regardless of balance; None returns to automatic."""
        if mode not in ("on", "off", None):
            raise ValueError("manual mode must be 'on', 'off' or None")
        self._run(now, 0, 0)
        self.sup["manual"] = mode
        self.events.add(now, "supply", "manual_" + (mode or "end"))
        return self._finish(now, force_save=True)

    def keep_supply(self, now, seconds):
        """Remote override: no credit disconnection for ``seconds`` (0 cancels)."""
        self._run(now, 0, 0)
        self.sup["keep_until"] = now + seconds if seconds > 0 else None
        self.events.add(now, "supply", "keep_supply", seconds)
        return self._finish(now, force_save=True)

    def clear_load_lockout(self, now):
        """Technician: end a load and an unbalance lockout."""
        self._run(now, 0, 0)
        self._end_lockouts(now, "technician")
        return self._finish(now, force_save=True)

    def _end_lockouts(self, now, by, which=("load_limit", "unbalance")):
        """End the lockouts of the named limits; True if one was on. The event's
        detail says which (``load_lockout_cleared``/``unbalance_lockout_cleared``) and its
        value who: 0 the customer's button, 1 a limit token, 2 the technician."""
        ended = False
        for name in which:
            state = self.load if name == "load_limit" else self.unbal
            if state["lockout"]:
                trip.Trip(self.cfg["supply"][name], state).clear()
                self.events.add(now, "load", name.split("_")[0] + "_lockout_cleared",
                                ("button", "token", "technician").index(by))
                ended = True
        return ended

    def add_debt(self, now, amount_micro):
        """The utility loads a debt to recover (by % of top-ups and/or per day)."""
        self._run(now, 0, 0)
        self.credit["debt"] += amount_micro
        self.events.add(now, "credit", "debt_added", amount_micro)
        self._save(now)

    # ------------------------------------------------------------ token hooks
    def credit_tokens_allowed(self):
        return not (self.sup["tampers"] and self.cfg["supply"]["tamper"]["refuse_credit"])

    def add_unit_credit(self, now, tenths):
        """An STS unit credit token: ``tenths`` of kWh / m3 / minute."""
        if self.cfg["credit_mode"] != "unit":
            return "wrong_mode"
        return self.topup(now, tenths * 100000)

    def add_currency_credit(self, now, amount_e5):
        """An STS currency credit token: amount in 10^-5 base units (may be negative)."""
        if self.cfg["credit_mode"] != "currency":
            return "wrong_mode"
        return self.topup(now, amount_e5 * 10)

    def topup(self, now, amount_micro):
        """Add credit; saved before this returns 'accepted'. Other results:
        'overflow' (over the maximum credit), 'tamper' (refused by tamper policy)."""
        self._run(now, 0, 0)
        if not self.credit_tokens_allowed():
            self.events.add(now, "token", "refused_tamper", amount_micro)
            return "tamper"
        plan = credit.plan_topup(self.credit, amount_micro,
                                 self.cfg["credit"]["debt"]["percent"])
        if self.credit["bal"] + plan[2] > self.cfg["credit"]["max_micro"] and amount_micro > 0:
            self.events.add(now, "token", "overflow", amount_micro)
            return "overflow"
        before = dict(self.credit)
        credit.apply_topup(self.credit, amount_micro, plan)
        self.events.add(now, "token", "credit", amount_micro)
        try:
            self._save(now)
        except Exception:
            self.credit = before      # not saved, so not accepted
            raise
        if plan[0]:
            self.events.add(now, "credit", "emergency_repaid", plan[0])
        if plan[1]:
            self.events.add(now, "credit", "debt_recovered", plan[1])
        self._finish(now)             # saves again only if the supply or credit state changed
        self._save_events(now)
        return "accepted"

    def clear_credit(self, now, register=_CLEAR_ALL):
        """ClearCredit token; returns 'accepted' or 'not_this_meter'."""
        mine = REGISTER_OF_UTILITY.get(self.cfg["utility"], 0)
        if self.cfg["credit_mode"] == "currency":
            mine += 4
        if register != _CLEAR_ALL and register != mine:
            return "not_this_meter"
        self._run(now, 0, 0)
        amount = self.credit["bal"]
        credit.clear(self.credit)
        self.events.add(now, "token", "clear_credit", amount)
        self._finish(now, force_save=True)
        return "accepted"

    def clear_tamper(self, now):
        """ClearTamperCondition token."""
        self._run(now, 0, 0)
        self.sup["tampers"] = []
        self.reg["reverse"] = False
        self.events.add(now, "tamper", "cleared")
        return self._finish(now, force_save=True)

    def set_max_power(self, now, watts):
        """SetMaximumPowerLimit token (0 switches the load limit off); a new limit ends
        a load lockout, its trips counted afresh against it."""
        return self._set_setting(now, ("supply", "load_limit", "limit_w"), watts)

    def set_unbalance_limit(self, now, watts):
        """SetMaximumPhasePowerUnbalanceLimit token; ends an unbalance lockout."""
        return self._set_setting(now, ("supply", "unbalance", "limit_w"), watts)

    def set_water_factor(self, now, permille):
        """SetWaterMeterFactor: pulses are scaled by permille / 1000 from now on."""
        result = self._set_setting(now, ("water_factor_permille",), permille)
        self._pulse_ratio()
        return result

    def set_tariff_rate(self, now, rate, price_micro_per_unit):
        """SetTariffRate: new price of rate 1..4 of the active table, from now."""
        prices = self.cfg["tariff"]["active"]["prices"]
        if not 1 <= rate <= len(prices):
            return "no_such_rate"
        self._run(now, 0, 0)
        table = self.cfg["tariff"]["active"]
        prices[rate - 1] = price_micro_per_unit
        if table["kind"] == "block":
            table["blocks"][rate - 1][1] = price_micro_per_unit
        self._save_config(now, "tariff_rate", rate)
        self._new_segment(self.t)
        return "accepted"

    def set_pending_tariff(self, now, table, from_t):
        """Load a pending tariff table that takes over at ``from_t``."""
        self._run(now, 0, 0)
        raw = dict(self.cfg["tariff"])
        raw["pending"] = table
        raw["pending_from"] = from_t
        checked = validate_config({"tariff": raw,
                                      "credit_mode": self.cfg["credit_mode"]})["tariff"]
        self.cfg["tariff"]["pending"] = checked["pending"]
        self.cfg["tariff"]["pending_from"] = from_t
        self._save_config(now, "pending_tariff", from_t)
        self._new_segment(self.t)
        return "accepted"

    def change_settings(self, now, path, value):
        """A technician's setting (optical port W1, head-end): the configuration entry at
        ``path`` (a tuple of keys) becomes ``value``, checked with the whole configuration
        by its own rules; a ConfigError names the field and changes nothing. Saved
        before it returns the supply decision."""
        import json
        self._run(now, 0, 0)
        raw = json.loads(json.dumps(self.cfg))
        d = raw
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
        cfg = validate_config(raw)
        self.cfg = cfg
        self.tariff = Tariff(cfg["tariff"], cfg["holidays"], cfg["weekend"])
        self._pulse_ratio()
        self._new_segment(self.t)
        self._save_config(now, path[-1])
        return self._finish(now, force_save=True)

    def _set_setting(self, now, path, value):
        """A setting from a token, saved; the supply decided again at once."""
        if value < 0:
            return "range"
        self._run(now, 0, 0)
        d = self.cfg
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
        self._save_config(now, path[-1], value)
        ended = path[-1] == "limit_w" and self._end_lockouts(now, "token", path[1:2])
        self._finish(now, force_save=ended)
        return "accepted"

    # ------------------------------------------------------------ read-outs
    def balance_micro(self):
        return self.credit["bal"]

    def state(self):
        """(supply state, reason)."""
        return self.sup["state"], self.sup["reason"]

    def alarm(self):
        """What the customer must be told, most urgent first: why the supply is held
        off or READY by anything but the credit rules (its reason: ``overload_lockout``,
        ``low_battery``, ``tamper_cover``, ``leak``, ``over_flow`` ...), then a low
        battery or a leak that only alarms, then a credit alarm level; None when all is
        well."""
        state, reason = self.sup["state"], self.sup["reason"]
        if state in ("off", "ready") and reason not in CREDIT_REASONS:
            return reason
        if self.sup["battery_low"]:
            return "low_battery"
        if self.sup["leak"]:
            return "leak"
        return None if self.credit_state == "normal" else self.credit_state

    def next_boundary(self, now):
        """The next time after ``now`` at which the clock alone changes what the meter
        does, so that the application wakes then rather than at its next sample: a
        tariff switch, midnight (day close, standing charge, daily debt), a pending
        tariff, the start or end of a friendly window, the end of keep-supply, a load or
        unbalance retry, hold time or lockout timeout, the hour a leak check closes."""
        sup_cfg = self.cfg["supply"]
        ahead = [self.sup["keep_until"],
                 trip.Trip(sup_cfg["load_limit"], self.load).next_change(),
                 trip.Trip(sup_cfg["unbalance"], self.unbal).next_change()]
        if self.clock_ok:
            ahead.append(next_friendly_edge(now, sup_cfg["friendly"], self.cfg["holidays"]))
        if sup_cfg["leak"]["enabled"]:
            ahead.append(now - now % 3600 + 3600)
        t = self.rate.end if self.rate.end > now else None
        for x in ahead:
            if x is not None and x > now and (t is None or x < t):
                t = x
        return t

    def ms_to_credit_level(self, power_w):
        """Milliseconds until the balance, spent at power_w and the highest active price,
        reaches the next level below it where the credit state changes; None when no
        level is ahead or nothing is being spent."""
        bal = self.balance_micro()
        ahead = [x for x in credit.levels_micro(self.credit, self.cfg["credit"]) if x < bal]
        price = max(self.cfg["tariff"]["active"]["prices"])
        if self.cfg["utility"] == "time":       # minutes of supply: spent while it is on
            cost_per_s = price // 60 + 1
        elif power_w > 0:
            cost_per_s = power_w * price // 3600000 + 1
        else:
            return None
        if not ahead:
            return None
        return ((bal - max(ahead)) // cost_per_s + 1) * 1000

    def days_remaining(self):
        return credit.days_remaining(self.credit["bal"], self.spent7)

    def totals(self):
        """The registers a display, a test token or a read-out shows."""
        r = self.reg
        c = self.credit
        return {
            "import_milli": r["imp"], "rates_milli": list(r["rates"]),
            "export_milli": r["exp"], "reverse_flag": r["reverse"],
            "power": r["power"], "max_demand": r["md_w"],
            "month_milli": r["month"], "month_money_micro": r["month_money"],
            "today_milli": r["day"], "today_money_micro": r["day_money"],
            "balance_micro": c["bal"], "emergency_owed_micro": c["ec_owed"],
            "debt_micro": c["debt"], "purchased_micro": c["purchased"],
            "energy_charged_micro": c["energy"], "standing_charged_micro": c["standing"],
            "topups": c["topups"], "credit_state": self.credit_state,
            "supply": self.sup["state"], "supply_reason": self.sup["reason"],
            "tampers": list(self.sup["tampers"]), "leak": self.sup["leak"],
        }

    # ------------------------------------------------------------ metering engine
    def _pulse_ratio(self):
        """Micro-units per pulse as a fraction num/den (exact, no float)."""
        cfg = self.cfg
        f = cfg["water_factor_permille"]
        if cfg["ml_per_pulse"] is not None:
            self.pulse_num, self.pulse_den = cfg["ml_per_pulse"] * f, 1000
        else:
            self.pulse_num, self.pulse_den = _MICRO * f, cfg["imp_per_unit"] * 1000

    def _input(self, now, qty, exp, power, phases_w):
        self._run(now, qty, exp)
        if power is not None:
            self.reg["power"] = power
        unbalance = None
        if phases_w:
            unbalance = max(phases_w) - min(phases_w)
        self._supervise(now, power, unbalance)
        return self._finish(now)

    def _new_segment(self, t):
        self.rate = self.tariff.segment(t, self.clock_ok)
        period = self.cfg["demand_period_s"]
        self.seg_end = min(self.rate.end, (t // period + 1) * period)

    def _run(self, now, qty, exp):
        """Bring the meter to ``now``, spreading qty/exp (micro-units) over the interval
        in proportion to time and crossing every boundary on the way."""
        if now < self.t:
            if self.t - now > _CLOCK_BACK_TOLERANCE_S:
                self.events.add(now, "clock", "backwards", self.t - now)
            self.t = now
            self._new_segment(now)
        if self.cfg["utility"] == "time" and self.sup["state"] in ("on", "limited"):
            num = (now - self.t) * _MICRO + self.reg["time_rem"]
            qty += num // 60
            self.reg["time_rem"] = num % 60
        start = self.t
        while self.seg_end <= now:
            b = self.seg_end
            if (qty or exp) and now > start:
                span = now - start
                part = qty * (b - start) // span
                epart = exp * (b - start) // span
                self._consume(part, epart)
                qty -= part
                exp -= epart
            start = b
            self.t = b
            self._boundary(b)
        self._consume(qty, exp)
        self.t = now

    def _consume(self, qty, exp):
        if exp > 0:
            r = self.reg
            total = r["exp_rem"] + exp
            r["exp"] += total // 1000
            r["exp_rem"] = total % 1000
            if not r["reverse"]:
                r["reverse"] = True
                self.events.add(self.t, "alarm", "reverse_flow", exp)
                if self.cfg["supply"]["tamper"]["reverse_is_tamper"]:
                    self._raise_tamper(self.t, "reverse")
        if qty <= 0:
            return
        blocks = self.rate.blocks
        if blocks is None:
            self._charge(qty, self.rate.index, self.rate.price)
            return
        pos = self.reg["month"] * 1000 + self.reg["imp_rem"]
        for i in range(len(blocks)):
            upto, price = blocks[i]
            if upto is not None and pos >= upto * 1000:
                continue
            part = qty if upto is None else min(qty, upto * 1000 - pos)
            self._charge(part, i + 1, price)
            qty -= part
            pos += part
            if qty <= 0:
                return

    def _charge(self, qty, rate_index, price):
        r = self.reg
        total = r["imp_rem"] + qty
        whole = total // 1000
        r["imp_rem"] = total - whole * 1000
        if whole:
            r["imp"] += whole
            r["rates"][rate_index - 1] += whole
            r["day"] += whole
            r["month"] += whole
            self.leak["hour_milli"] += whole
        r["dem"] += qty
        cost = credit.charge_usage(self.credit, qty, price)
        r["day_money"] += cost
        r["month_money"] += cost
        self.unsaved_micro += qty

    def _boundary(self, b):
        """Cross a segment end: demand period, hour, day, settlement month, tariff."""
        cfg = self.cfg
        r = self.reg
        period = cfg["demand_period_s"]
        if b % period == 0:
            demand = r["dem"] * 3600 // (period * 1000)
            if demand > r["md_w"]:
                r["md_w"] = demand
                r["md_t"] = b - period
            r["dem"] = 0
        if b % 3600 == 0 and cfg["supply"]["leak"]["enabled"]:
            raised = leak.hour_closed(self.leak, cfg["supply"]["leak"], self.leak["hour_milli"],
                                      cfg["supply"]["valve"]["close_on_leak"])
            if raised:
                self.sup["leak"] = self.leak["leak"]
                self.events.add(b, "leak", raised)
        day = b // civil.DAY_S
        if day > r["day_no"]:
            self._close_day(b, day)
        if self.tariff.pending_due(b):
            self.tariff.promote()
            self._save_config(b, "tariff_activated", b)
        self._new_segment(b)

    def _close_day(self, b, day):
        cfg = self.cfg
        r = self.reg
        self.daily.append((r["day_no"], r["day"], r["day_money"]))
        r["day"] = 0
        r["day_money"] = 0
        if civil.civil_from_days(day)[2] == cfg["settlement_day"]:
            y, m, _ = civil.civil_from_days(day - 1)
            start = civil.settlement_start(day - 1, cfg["settlement_day"])
            sy, sm, _ = civil.civil_from_days(start)
            self.monthly.append((civil.month_key(sy, sm), r["month"], r["month_money"],
                                 r["md_w"]))
            r["month"] = 0
            r["month_money"] = 0
            r["md_w"] = 0
            r["md_t"] = None
        r["day_no"] = day
        # the new day's fixed charges
        standing = self.tariff.standing_micro_per_day()
        if standing:
            credit.charge_standing(self.credit, standing)
            r["day_money"] += standing
            r["month_money"] += standing
        debt = credit.recover_daily_debt(self.credit, cfg["credit"]["debt"]["per_day_micro"])
        if debt:
            self.events.add(b, "credit", "debt_recovered_daily", debt)
        self.spent7 = self._spent_last_7_days()
        self.day_closed = True

    def _spent_last_7_days(self):
        return sum(d[2] for d in self.daily[-7:])

    # ------------------------------------------------------------ supervision and decision
    def _raise_tamper(self, now, kind):
        if kind not in self.sup["tampers"]:
            self.sup["tampers"].append(kind)
            self.events.add(now, "tamper", kind)

    def _supervise(self, now, power, unbalance):
        """Load limit, phase unbalance and (gas) over-flow from the latest readings."""
        sup_cfg = self.cfg["supply"]
        limited = self.sup["state"] == "limited"
        limit = sup_cfg["load_limit"]["limit_w"]
        if limited:
            low = sup_cfg["low_power_limit_w"]
            limit = low if limit <= 0 else min(limit, low)
        if self.sup["state"] in ("off", "ready"):
            power = None      # nothing flows while open; only the retry timer runs
            unbalance = None
        was = self.load["lockout"]
        status, changed = trip.Trip(sup_cfg["load_limit"], self.load).update(now, power, limit)
        if changed:
            self.events.add(now, "load", "trip_" + status if status != "ok"
                            else "lockout_timeout" if was else "retry", power or 0)
        was = self.unbal["lockout"]
        status, changed = trip.Trip(sup_cfg["unbalance"], self.unbal).update(now, unbalance)
        if changed:
            self.events.add(now, "load", "unbalance_" + (status if status != "ok"
                            else "lockout_timeout" if was else "retry"), unbalance or 0)
        max_flow = sup_cfg["valve"]["max_flow_lph"]
        if max_flow and power is not None and power > max_flow and self.sup["state"] == "on":
            self.sup["state"] = "ready"
            self.sup["reason"] = "over_flow"
            self.sup["confirmed"] = False
            self.events.add(now, "supply", "over_flow", power)
            self.dirty = True

    def _decide(self, now):
        cs = credit.credit_state(self.credit, self.cfg["credit"], self.spent7)
        if cs != self.credit_state:
            self.events.add(now, "alarm", cs, self.credit["bal"])
            self.credit_state = cs
            self.dirty = True
        friendly = self.clock_ok and in_friendly(now, self.cfg["supply"]["friendly"],
                                                 self.cfg["holidays"])
        sup_cfg = self.cfg["supply"]
        want, reason = supply.target(
            self.sup, self.cfg, cs, friendly, now,
            trip.Trip(sup_cfg["load_limit"], self.load).status(now),
            trip.Trip(sup_cfg["unbalance"], self.unbal).status(now))
        state, reason, changed = supply.decide(self.sup, self.cfg, want, reason)
        if changed:
            self.events.add(now, "supply", reason, ("on", "off", "ready", "limited").index(state))
            self.dirty = True
            if state in ("off", "ready"):
                self.reg["power"] = 0       # nothing flows once open (no stale reading)
        return state, reason

    def _finish(self, now, force_save=False):
        decision = self._decide(now)
        if force_save or self.dirty or self.day_closed:
            self._save(now)
        elif (self.unsaved_micro >= self.cfg["save_quantum_milli"] * 1000
              or (self.unsaved_micro and now - self.last_save_t >= self.cfg["save_max_interval_s"])):
            self._save(now)
        if self.day_closed:
            self.day_closed = False
            self._save_history()
        if self.events.dirty and now - self.events_save_t >= self.cfg["events_save_interval_s"]:
            self._save_events(now)
        return decision

    # ------------------------------------------------------------ persistence
    def record(self):
        return {"v": 1, "t": self.t, "credit": self.credit, "reg": self.reg,
                "sup": self.sup, "load": self.load, "unbal": self.unbal,
                "leak": self.leak, "credit_state": self.credit_state}

    def _save(self, now):
        self.store.save("meter", self.record())
        self.saves += 1
        self.unsaved_micro = 0
        self.last_save_t = now
        self.dirty = False

    def _save_events(self, now):
        if self.events.dirty:
            self.saves += self.events.save(self.store)
            self.events_save_t = now

    def _save_history(self):
        self.store.save("history", HistoryRecord(self.daily, self.monthly))
        self.saves += 1

    def _save_config(self, now, what, value=0):
        """Configuration changes are rare (tokens, provisioning): save with the event."""
        self.store.save("config", self.cfg)
        self.saves += 1
        self.events.add(now, "config", what, value)
        self._save_events(now)


def saves_per_day(cfg, daily_milli, events_per_day=0, topups_per_day=0):
    """Upper bound on store saves per day for the flash-wear calculation.

    "meter": one per save quantum of consumption (ceil), plus the day close, plus at
    most one per ``save_max_interval_s`` when consumption is too small to fill a quantum,
    plus one per top-up / credit-state or supply change (counted by the caller in
    ``events_per_day``); "history": one at the day close; event pages: at most one per
    ``events_save_interval_s`` while events are logged (one page, <= 50 entries).
    """
    cfg = validate_config(cfg)
    quantum = cfg["save_quantum_milli"]
    meter = (daily_milli + quantum - 1) // quantum + 1 + 86400 // cfg["save_max_interval_s"]
    meter += events_per_day + topups_per_day
    interval = max(cfg["events_save_interval_s"], 1)
    pages = min(events_per_day, 86400 // interval) + topups_per_day
    return {"meter": meter, "history": 1, "events": pages,
            "total": meter + 1 + pages}
