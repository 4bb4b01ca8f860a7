"""Meter configuration: a JSON-able dict, validated once at load.

``validate(raw)`` returns a complete config (defaults filled in) or raises
``ConfigError`` naming the offending field by its dotted path, e.g.
``tariff.active.profiles.weekday[2]: switching times must increase``.
Unknown keys are refused too, so a misspelt field never silently falls back to a
default. Units are in the key names (see firmware/README.md).
"""
from const import const
from meter.errors import ConfigError  # noqa: F401 - re-exported; see meter/errors.py

UTILITIES = ("electricity", "water", "gas", "heat", "time")
VALVE_UTILITIES = ("water", "gas", "heat")
_MAX_RATES = const(4)
_MAX_SWITCHES = const(12)
_DAY_MIN = const(1440)
DEMAND_PERIODS_S = (60, 300, 600, 900, 1800, 3600)
_UNIT_PRICE = const(1000000)    # unit mode: one unit of credit per unit consumed (1:1)


def _fail(path, msg):
    raise ConfigError("%s: %s" % (path, msg))


def _check_keys(d, allowed, path):
    if not isinstance(d, dict):
        _fail(path, "must be an object")
    for k in d:
        if k not in allowed:
            _fail(path + "." + str(k) if path else str(k), "unknown field")


def _int(d, key, path, default, lo=None, hi=None):
    v = d.get(key, default)
    p = path + "." + key if path else key
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(p, "must be an integer, got %r" % (v,))
    if lo is not None and v < lo:
        _fail(p, "must be >= %d, got %d" % (lo, v))
    if hi is not None and v > hi:
        _fail(p, "must be <= %d, got %d" % (hi, v))
    return v


def _opt_int(d, key, path, lo=None, hi=None):
    if d.get(key) is None:
        return None
    return _int(d, key, path, None, lo, hi)


def _bool(d, key, path, default):
    v = d.get(key, default)
    if not isinstance(v, bool):
        _fail(path + "." + key, "must be true or false, got %r" % (v,))
    return v


def _choice(d, key, path, default, choices):
    v = d.get(key, default)
    if v not in choices:
        _fail(path + "." + key if path else key,
              "must be one of %s, got %r" % (", ".join(choices), v))
    return v


def _profile(p, path, n_rates):
    if not isinstance(p, list) or not p:
        _fail(path, "must be a non-empty list of [minute_of_day, rate]")
    if len(p) > _MAX_SWITCHES:
        _fail(path, "at most %d switching times" % _MAX_SWITCHES)
    out = []
    last = -1
    for i, entry in enumerate(p):
        ep = "%s[%d]" % (path, i)
        if not isinstance(entry, list) or len(entry) != 2:
            _fail(ep, "must be [minute_of_day, rate]")
        minute, rate = entry
        if not isinstance(minute, int) or not 0 <= minute < _DAY_MIN:
            _fail(ep, "minute of day must be 0..1439")
        if i == 0 and minute != 0:
            _fail(ep, "the first switching time must be 0 (00:00)")
        if minute <= last:
            _fail(ep, "switching times must increase")
        if not isinstance(rate, int) or not 1 <= rate <= n_rates:
            _fail(ep, "rate must be 1..%d" % n_rates)
        last = minute
        out.append([minute, rate])
    return out


def _table(t, path):
    _check_keys(t, ("name", "kind", "prices", "profiles", "blocks",
                    "standing_micro_per_day"), path)
    kind = _choice(t, "kind", path, "flat", ("flat", "tou", "block"))
    out = {"name": str(t.get("name", "")), "kind": kind,
           "standing_micro_per_day": _int(t, "standing_micro_per_day", path, 0, 0)}
    if kind == "block":
        blocks = t.get("blocks")
        bp = path + ".blocks"
        if not isinstance(blocks, list) or not 1 <= len(blocks) <= _MAX_RATES:
            _fail(bp, "must list 1..%d [upto_milli, price_micro_per_unit] steps" % _MAX_RATES)
        last = 0
        clean = []
        for i, b in enumerate(blocks):
            ep = "%s[%d]" % (bp, i)
            if not isinstance(b, list) or len(b) != 2:
                _fail(ep, "must be [upto_milli or null, price_micro_per_unit]")
            upto, price = b
            final = i == len(blocks) - 1
            if final and upto is not None:
                _fail(ep, "the last step must be open-ended: [null, price]")
            if not final and (not isinstance(upto, int) or upto <= last):
                _fail(ep, "step limits must be increasing integers (milli-units)")
            if isinstance(price, bool) or not isinstance(price, int) or price < 0:
                _fail(ep, "price must be an integer >= 0")
            if upto is not None:
                last = upto
            clean.append([upto, price])
        out["blocks"] = clean
        out["prices"] = [b[1] for b in clean]
        return out
    prices = t.get("prices")
    pp = path + ".prices"
    if not isinstance(prices, list) or not 1 <= len(prices) <= _MAX_RATES:
        _fail(pp, "must list 1..%d prices (micro per unit)" % _MAX_RATES)
    for i, price in enumerate(prices):
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            _fail("%s[%d]" % (pp, i), "must be an integer >= 0")
    out["prices"] = list(prices)
    if kind == "tou":
        profiles = t.get("profiles")
        prp = path + ".profiles"
        _check_keys(profiles, ("weekday", "weekend", "holiday"), prp)
        if "weekday" not in profiles:
            _fail(prp + ".weekday", "is required")
        out["profiles"] = {}
        for day_type in ("weekday", "weekend", "holiday"):
            if day_type in profiles:
                out["profiles"][day_type] = _profile(profiles[day_type],
                                                     prp + "." + day_type, len(prices))
    return out


def _date_list(v, path):
    if not isinstance(v, list):
        _fail(path, "must be a list of [month, day] or [year, month, day]")
    out = []
    for i, d in enumerate(v):
        ep = "%s[%d]" % (path, i)
        if not isinstance(d, list) or len(d) not in (2, 3):
            _fail(ep, "must be [month, day] or [year, month, day]")
        for x in d:
            if isinstance(x, bool) or not isinstance(x, int):
                _fail(ep, "must hold integers")
        m, day = d[-2], d[-1]
        if not 1 <= m <= 12 or not 1 <= day <= 31:
            _fail(ep, "month 1..12 and day 1..31")
        out.append(list(d))
    return out


def _windows(v, path):
    if not isinstance(v, list):
        _fail(path, "must be a list of [start_minute, end_minute] windows")
    out = []
    for i, w in enumerate(v):
        ep = "%s[%d]" % (path, i)
        if (not isinstance(w, list) or len(w) != 2 or not isinstance(w[0], int)
                or not isinstance(w[1], int) or not 0 <= w[0] < w[1] <= _DAY_MIN):
            _fail(ep, "must be [start_minute, end_minute] with 0 <= start < end <= 1440")
        out.append(list(w))
    return out


def _friendly(f, path):
    if f is None:
        return None
    _check_keys(f, ("week", "holiday"), path)
    week = f.get("week", [[]] * 7)
    if not isinstance(week, list) or len(week) != 7:
        _fail(path + ".week", "must list 7 days (Monday first) of windows")
    return {"week": [_windows(week[i], "%s.week[%d]" % (path, i)) for i in range(7)],
            "holiday": _windows(f.get("holiday", []), path + ".holiday")}


def _trip(d, path, default_limit):
    """Load or unbalance limit. A lockout ends by the customer's button, a new limit
    token, or by itself after ``lockout_s`` (0: only the button or the token)."""
    d = d or {}
    _check_keys(d, ("limit_w", "hold_s", "reconnect_s", "max_trips", "window_s",
                    "lockout_s"), path)
    return {"limit_w": _int(d, "limit_w", path, default_limit, 0),
            "hold_s": _int(d, "hold_s", path, 10, 0),
            "reconnect_s": _int(d, "reconnect_s", path, 30, 0),
            "max_trips": _int(d, "max_trips", path, 5, 1),
            "window_s": _int(d, "window_s", path, 1800, 1),
            "lockout_s": _int(d, "lockout_s", path, 1800, 0, 7 * 86400)}


def _level(d, path):
    if d is None:
        return None
    _check_keys(d, ("micro", "percent", "days"), path)
    out = {"micro": _opt_int(d, "micro", path),
           "percent": _opt_int(d, "percent", path, 0, 100),
           "days": _opt_int(d, "days", path, 0, 366)}
    if out["micro"] is None and out["percent"] is None and out["days"] is None:
        _fail(path, "give at least one of micro, percent, days")
    return out


def _credit(c, path, mode):
    c = c or {}
    _check_keys(c, ("max_micro", "disconnect_micro", "emergency", "debt", "alarms"), path)
    ec = c.get("emergency") or {}
    _check_keys(ec, ("amount_micro", "threshold_micro"), path + ".emergency")
    debt = c.get("debt") or {}
    _check_keys(debt, ("start_micro", "percent", "per_day_micro"), path + ".debt")
    alarms = c.get("alarms") or {}
    _check_keys(alarms, ("low1", "low2"), path + ".alarms")
    big = 10 ** 15
    return {
        "max_micro": _int(c, "max_micro", path, big, 1),
        "disconnect_micro": _int(c, "disconnect_micro", path, 0),
        "emergency": {
            "amount_micro": _int(ec, "amount_micro", path + ".emergency", 0, 0),
            "threshold_micro": _int(ec, "threshold_micro", path + ".emergency", 0)},
        "debt": {
            "start_micro": _int(debt, "start_micro", path + ".debt", 0, 0),
            "percent": _int(debt, "percent", path + ".debt", 0, 0, 100),
            "per_day_micro": _int(debt, "per_day_micro", path + ".debt", 0, 0)},
        "alarms": {"low1": _level(alarms.get("low1"), path + ".alarms.low1"),
                   "low2": _level(alarms.get("low2"), path + ".alarms.low2")},
    }


def _supply(s, path, utility):
    s = s or {}
    _check_keys(s, ("reconnect", "low_power_limit_w", "friendly", "load_limit",
                    "unbalance", "tamper", "valve", "leak"), path)
    valve = utility in VALVE_UTILITIES
    tp = s.get("tamper") or {}
    _check_keys(tp, ("disconnect", "refuse_credit", "reverse_is_tamper"), path + ".tamper")
    vv = s.get("valve") or {}
    _check_keys(vv, ("close_on_low_battery", "close_on_magnet", "close_on_tilt",
                     "close_on_leak", "max_flow_lph"), path + ".valve")
    lk = s.get("leak") or {}
    _check_keys(lk, ("enabled", "low_flow_lph", "low_flow_hours"), path + ".leak")
    return {
        "reconnect": _choice(s, "reconnect", path,
                             "confirm" if utility in ("gas", "heat") else "auto",
                             ("auto", "confirm")),
        "low_power_limit_w": _int(s, "low_power_limit_w", path, 0, 0),
        "friendly": _friendly(s.get("friendly"), path + ".friendly"),
        "load_limit": _trip(s.get("load_limit"), path + ".load_limit", 0),
        "unbalance": _trip(s.get("unbalance"), path + ".unbalance", 0),
        "tamper": {
            "disconnect": _bool(tp, "disconnect", path + ".tamper", False),
            "refuse_credit": _bool(tp, "refuse_credit", path + ".tamper", True),
            "reverse_is_tamper": _bool(tp, "reverse_is_tamper", path + ".tamper", True)},
        "valve": {
            "close_on_low_battery": _bool(vv, "close_on_low_battery", path + ".valve", valve),
            "close_on_magnet": _bool(vv, "close_on_magnet", path + ".valve", utility == "water"),
            "close_on_tilt": _bool(vv, "close_on_tilt", path + ".valve", utility == "gas"),
            "close_on_leak": _bool(vv, "close_on_leak", path + ".valve", False),
            "max_flow_lph": _int(vv, "max_flow_lph", path + ".valve", 0, 0)},
        "leak": {
            "enabled": _bool(lk, "enabled", path + ".leak", utility == "water"),
            "low_flow_lph": _int(lk, "low_flow_lph", path + ".leak", 20, 0),
            "low_flow_hours": _int(lk, "low_flow_hours", path + ".leak", 6, 1, 24)},
    }


TOP_KEYS = ("revision", "utility", "credit_mode", "imp_per_unit", "ml_per_pulse",
            "water_factor_permille", "settlement_day", "demand_period_s",
            "save_quantum_milli", "save_max_interval_s", "events_save_interval_s",
            "event_capacity", "daily_history_days", "monthly_history_months",
            "holidays", "weekend", "tariff", "credit", "supply")


def validate(raw):
    """A complete, checked copy of ``raw`` (a dict parsed from JSON)."""
    _check_keys(raw, TOP_KEYS, "")
    utility = _choice(raw, "utility", "", "electricity", UTILITIES)
    mode = _choice(raw, "credit_mode", "", "currency", ("currency", "unit"))
    cfg = {
        "revision": _int(raw, "revision", "", 0, 0),
        "utility": utility,
        "credit_mode": mode,
        # pulses: imp per kWh (or per m3), or mL per pulse for water and gas meters
        "imp_per_unit": _opt_int(raw, "imp_per_unit", "", 1),
        "ml_per_pulse": _opt_int(raw, "ml_per_pulse", "", 1),
        "water_factor_permille": _int(raw, "water_factor_permille", "", 1000, 1, 65535),
        "settlement_day": _int(raw, "settlement_day", "", 1, 1, 28),
        "demand_period_s": _int(raw, "demand_period_s", "", 900),
        "save_quantum_milli": _int(raw, "save_quantum_milli", "", 50, 1),
        "save_max_interval_s": _int(raw, "save_max_interval_s", "", 3600, 60),
        "events_save_interval_s": _int(raw, "events_save_interval_s", "", 900, 0),
        "event_capacity": _int(raw, "event_capacity", "", 200, 200, 1000),
        "daily_history_days": _int(raw, "daily_history_days", "", 62, 62, 400),
        "monthly_history_months": _int(raw, "monthly_history_months", "", 24, 24, 120),
        "holidays": _date_list(raw.get("holidays", []), "holidays"),
        "weekend": raw.get("weekend", [5, 6]),
    }
    if cfg["demand_period_s"] not in DEMAND_PERIODS_S:
        _fail("demand_period_s", "must be one of %s" % (DEMAND_PERIODS_S,))
    if cfg["imp_per_unit"] is not None and cfg["ml_per_pulse"] is not None:
        _fail("ml_per_pulse", "give either imp_per_unit or ml_per_pulse, not both")
    if cfg["ml_per_pulse"] is not None and utility not in ("water", "gas"):
        _fail("ml_per_pulse", "only for water and gas meters; use imp_per_unit")
    if cfg["imp_per_unit"] is None and cfg["ml_per_pulse"] is None:
        cfg["imp_per_unit"] = 1000
    wk = cfg["weekend"]
    if not isinstance(wk, list) or any((not isinstance(d, int) or not 0 <= d <= 6) for d in wk):
        _fail("weekend", "must list weekdays 0..6 (0 = Monday)")
    tariff = raw.get("tariff") or {}
    _check_keys(tariff, ("active", "pending", "pending_from", "default_price"), "tariff")
    active = tariff.get("active") or {"kind": "flat",
                                      "prices": [_UNIT_PRICE if mode == "unit" else 0]}
    cfg["tariff"] = {
        "active": _table(active, "tariff.active"),
        "pending": None,
        "pending_from": None,
        "default_price": None,
    }
    if tariff.get("pending") is not None:
        cfg["tariff"]["pending"] = _table(tariff["pending"], "tariff.pending")
        cfg["tariff"]["pending_from"] = _int(tariff, "pending_from", "tariff", None, 0)
    cfg["tariff"]["default_price"] = _int(tariff, "default_price", "tariff",
                                          max(cfg["tariff"]["active"]["prices"]), 0)
    cfg["credit"] = _credit(raw.get("credit"), "credit", mode)
    cfg["supply"] = _supply(raw.get("supply"), "supply", utility)
    return cfg
