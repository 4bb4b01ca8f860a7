"""The words on the meter's face: token results, credit alarms, keypad errors, amounts.

Everything here returns ASCII text that fits a 16-character line, built from integers
only (no float near money or energy). A *screen* is ``(line1, line2)``; a *message* is
``(line1, line2, seconds)``, the form ``display.Display.show`` queues.

Result names (the CONLOG/IEC 62055-41 status codes of sts.md section 10; the code
numbers are accepted too):

    1 accept   2 1st_kct   3 2nd_kct   4 overflow  5 key_type   6 format
    7 range    8 function  9 old      10 used     11 key_expired 12 ddtk
    13 crc    14 mfr_code 15 lockout  16 not_ready
    17 tamper (Prepay: credit refused until a ClearTamperCondition token)

Amount rounding: shown amounts are rounded toward minus infinity to the shown decimals,
so the display never shows more credit (or less debt) than the register holds.

Entry points: ``token_message`` (acceptance), ``credit_state_screen`` (alarms, READY),
``supply_screen`` and ``alarm_screen`` (why the supply is off, battery, leak),
``entry_error_message`` and ``emergency_message`` (keypad), ``readout_message`` and
``history_message`` (short codes), ``Amounts`` (this meter's currency or units).
"""
from const import const
from meter import civil

WIDTH = const(16)
ACCEPT_S = const(3)     # CLOU: accept message ~3 s, then the credited amount ~5 s
AMOUNT_S = const(5)
_REJECT_S = const(5)
_LOCKOUT_S = const(5)

RESULT_NAMES = ("accept", "1st_kct", "2nd_kct", "overflow", "key_type", "format",
                "range", "function", "old", "used", "key_expired", "ddtk", "crc",
                "mfr_code", "lockout", "not_ready", "tamper")

# other spellings of the same results (display labels of sts.md, acceptance names)
_ALIASES = {"1stkct": "1st_kct", "2ndkct": "2nd_kct", "kct1": "1st_kct",
            "kct2": "2nd_kct", "keytype": "key_type", "keyexpired": "key_expired",
            "expired": "key_expired", "mfrcode": "mfr_code", "manufacturer_code": "mfr_code",
            "token_lockout": "lockout", "tokenlockout": "lockout",
            "notready": "not_ready", "crc_error": "crc", "not_supported": "function"}

# result -> (short label after "Reject", explanation on line 2)
_REJECTS = {
    "overflow": ("overflow", "Credit too high"),
    "key_type": ("key type", "Wrong key type"),
    "format": ("format", "Token not valid"),
    "range": ("range", "Value not valid"),
    "function": ("function", "Not supported"),
    "old": ("old", "Token too old"),
    "used": ("used", "Used before"),
    "key_expired": ("expired", "Key has expired"),
    "ddtk": ("DDTK", "Needs key change"),
    "crc": ("CRC", "Check the digits"),
    "mfr_code": ("mfr code", "Wrong make"),
    "tamper": ("tamper", "Call the utility"),
}

UNIT_OF_UTILITY = {"electricity": "kWh", "heat": "kWh", "water": "m3", "gas": "m3",
                   "time": "min"}

# core.credit_state() / supply state -> the screen that explains it
_CREDIT_STATES = {
    "normal": None,
    "low1": ("Credit low", "Buy a token soon"),
    "low2": ("Credit very low", "Buy a token now"),
    "exhausted": ("Credit used up", "#09# emergency"),
    "emergency": ("Emergency credit", "in use"),
    "disconnected": ("Supply off", "Buy a token"),
    "friendly": ("Friendly credit", "active"),
    "ready": ("READY: press", "button twice"),
    "limited": ("Credit used up", "Power limited"),
}

# why the supply is held off or READY, and what the customer can do (core.Meter.alarm);
# a tamper reason is "tamper_" + the input, shown as "Tamper: cover" and the like
_HELD = {
    "overload": ("Overload", "Supply back soon"),
    "overload_lockout": ("Overload: reduce", "load, press btn"),
    "unbalance": ("Unbalanced load", "Supply back soon"),
    "unbalance_lockout": ("Unbalanced load", "Fix, press btn"),
    "low_battery": ("Battery low", "Replace battery"),
    "magnet": ("Magnet detected", "Call the utility"),
    "tilt": ("Tilt detected", "Call the utility"),
    "leak": ("Leak: valve shut", "Fixed? Press btn"),
    "over_flow": ("Flow too high", "Press btn twice"),
    "manual_off": ("Supply off", "by the utility"),
}
# alarms that leave the supply on
_ALARMS = {"low_battery": _HELD["low_battery"], "leak": ("Leak suspected", "Check taps")}

# keypad error reasons (keypad.py) -> line 1; line 2 is built from the detail
_ENTRY_ERRORS = {
    "too few digits": ("Too few digits", "Enter 20 digits"),
    "unknown code": ("Unknown code", None),
    "timeout": ("Entry timed out", "Start again"),
}


def result_name(result):
    """The canonical name of a result given as a name, label or code number (1..16)."""
    if isinstance(result, int) and not isinstance(result, bool):
        if 1 <= result <= len(RESULT_NAMES):
            return RESULT_NAMES[result - 1]
        raise ValueError("no token result with code %d" % result)
    key = str(result).strip().lower().replace(" ", "_").replace("-", "_")
    if key in RESULT_NAMES:
        return key
    squeezed = key.replace("_", "")
    for k in (key, squeezed):
        if k in _ALIASES:
            return _ALIASES[k]
    raise ValueError("unknown token result %r" % (result,))


def fit(text):
    """Exactly 16 printable ASCII characters: cut or padded; anything else becomes '?'."""
    text = str(text)
    out = []
    for ch in text[:WIDTH]:
        out.append(ch if 32 <= ord(ch) < 127 else "?")
    line = "".join(out)
    return line + " " * (WIDTH - len(line))


def label_value(label, value):
    """One line: label left, value right (``Credit   40.0kWh``). The value is never cut:
    the label shrinks first; a value wider than the line shows as '#' characters."""
    if len(value) > WIDTH:
        return "#" * WIDTH
    room = WIDTH - len(value) - 1
    if room <= 0:
        return " " * (WIDTH - len(value)) + value
    label = label[:room]
    return label + " " * (WIDTH - len(label) - len(value)) + value


def fixed(value, scale, decimals):
    """``value / scale`` as text with ``decimals`` decimals, floor-rounded, ints only.
    fixed(12549999, 1000000, 1) == '12.5'; fixed(-1, 1000, 1) == '-0.1'."""
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    p = 10 ** decimals
    n = (value * p) // scale          # floor division: toward minus infinity
    sign = "-" if n < 0 else ""
    n = -n if n < 0 else n
    whole, frac = divmod(n, p)
    if decimals == 0:
        return "%s%d" % (sign, whole)
    digits = str(frac)
    return "%s%d.%s" % (sign, whole, "0" * (decimals - len(digits)) + digits)


def units_micro(micro, unit="kWh", decimals=1):
    """Unit credit (core credit micro: 10^-6 kWh/m3/min) -> '12.5kWh'."""
    return fixed(micro, 1000000, decimals) + unit


def units_milli(milli, unit="kWh", decimals=1):
    """A register in milli-units (Wh, L) -> '1234.5kWh'."""
    return fixed(milli, 1000, decimals) + unit


def money_micro(micro, symbol="", decimals=2):
    """Currency credit (core credit micro: 10^-6 base units) -> 'KES 123.45'."""
    number = fixed(micro, 1000000, decimals)
    return symbol + " " + number if symbol else number


def duration(seconds):
    """'45 s', '21m 20s', '2h 05m' for a wait the customer reads."""
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%dm %02ds" % (seconds // 60, seconds % 60)
    return "%dh %02dm" % (seconds // 3600, seconds % 3600 // 60)


def token_message(result, amount_text=None, credit_text=None, failures=0, lockout_s=0):
    """The screens for a token result, in the order to show them.

    result: a name of RESULT_NAMES, a label such as '1stKCT', or a code 1..16.
    amount_text: the amount the token added, already formatted (e.g. '12.5kWh'); with
        it, an accept is followed by an 'Added'/'Credit' screen.
    credit_text: the new credit, formatted; shown under the amount.
    failures: consecutive failed tokens so far; > 0 shows CLOU's 'Reject-x' count.
    lockout_s: seconds of token lockout remaining, for 'lockout' (and shown after a
        reject that started a lockout).
    Returns a list of (line1, line2, seconds), every line exactly 16 ASCII characters.
    Raises ValueError for a result it does not know.
    """
    name = result_name(result)
    out = []
    if name == "accept":
        out.append(("Accept", "Token OK", ACCEPT_S))
        if amount_text is not None:
            signed = "+" in amount_text or "-" in amount_text
            added = amount_text if signed else "+" + amount_text
            out.append((label_value("Added", added),
                        label_value("Credit", credit_text) if credit_text else "",
                        AMOUNT_S))
        elif credit_text is not None:
            out.append((label_value("Credit", credit_text), "", AMOUNT_S))
    elif name == "1st_kct":
        out.append(("Key change", "1st token OK", _REJECT_S))
    elif name == "2nd_kct":
        out.append(("Key change", "2nd token OK", _REJECT_S))
    elif name == "lockout":
        out.append(("Token lockout", "Wait " + duration(lockout_s), _LOCKOUT_S))
    elif name == "not_ready":
        out.append(("Not ready", "Try again later", _REJECT_S))
    else:
        label, why = _REJECTS[name]
        head = "Reject-%d" % failures if failures > 0 else "Reject"
        line1 = head + ": " + label
        if len(line1) > WIDTH:
            line1 = head
        out.append((line1, why, _REJECT_S))
        if lockout_s > 0:
            out.append(("Token lockout", "Wait " + duration(lockout_s), _LOCKOUT_S))
    return [(fit(a), fit(b), s) for a, b, s in out]


def credit_state_screen(state):
    """The two lines that explain a credit/supply state, or None for 'normal'."""
    if state not in _CREDIT_STATES:
        raise ValueError("unknown credit state %r" % (state,))
    screen = _CREDIT_STATES[state]
    if screen is None:
        return None
    return fit(screen[0]), fit(screen[1])


def supply_screen(reason):
    """The two lines that say why the supply is held off or READY for ``reason`` (a
    supply reason of the core), or None for the credit rules' own reasons."""
    if reason.startswith("tamper_"):
        return fit("Tamper: " + reason[7:]), fit("Call the utility")
    screen = _HELD.get(reason)
    return None if screen is None else (fit(screen[0]), fit(screen[1]))


def alarm_screen(alarm):
    """The two lines for an alarm that leaves the supply on (``low_battery``, ``leak``),
    or None."""
    screen = _ALARMS.get(alarm)
    return None if screen is None else (fit(screen[0]), fit(screen[1]))


def entry_error_message(reason, detail=""):
    """A keypad error action ('error', reason, detail) as one message."""
    if reason not in _ENTRY_ERRORS:
        raise ValueError("unknown entry error %r" % (reason,))
    line1, line2 = _ENTRY_ERRORS[reason]
    if line2 is None:
        line2 = "#" + detail + "#"
    return [(fit(line1), fit(line2), _REJECT_S)]


def emergency_message(result, amount_text=""):
    """core.take_emergency_credit() results as a message."""
    screens = {"accepted": ("Emergency credit", "+" + amount_text if amount_text else "given"),
               "already_active": ("Emergency credit", "already in use"),
               "not_needed": ("Emergency credit", "not needed yet"),
               "disabled": ("Emergency credit", "not available")}
    if result not in screens:
        raise ValueError("unknown emergency credit result %r" % (result,))
    a, b = screens[result]
    return [(fit(a), fit(b), AMOUNT_S)]


class Amounts:
    """How this meter writes its amounts: credit in currency ('KES 12.50') or units
    ('12.5kWh'), quantities from milli-unit registers, power or flow."""

    def __init__(self, utility="electricity", credit_mode="currency", symbol="",
                 money_decimals=2, unit_decimals=1):
        if utility not in UNIT_OF_UTILITY:
            raise ValueError("unknown utility %r" % (utility,))
        self.unit = UNIT_OF_UTILITY[utility]
        self.flow = utility in ("water", "gas")
        self.currency = credit_mode == "currency"
        self.symbol = symbol
        self.money_decimals = money_decimals
        self.unit_decimals = unit_decimals

    def credit(self, micro):
        if self.currency:
            return money_micro(micro, self.symbol, self.money_decimals)
        return units_micro(micro, self.unit, self.unit_decimals)

    def quantity(self, milli):
        return units_milli(milli, self.unit, self.unit_decimals)

    def power(self, value):
        return "%d %s" % (value, "L/h" if self.flow else "W")

    def price(self, price_micro_per_unit):
        return money_micro(price_micro_per_unit, self.symbol, self.money_decimals) \
            + "/" + self.unit


_READOUT_S = const(10)


def readout_message(name, totals, amounts, price_micro_per_unit=None):
    """The screens for a read-out short code (keypad.SHORT_CODES names 'credit' ..
    'debt') from ``Meter.totals()``; each shows a label on line 1, the value on line 2."""
    t = totals
    if name == "credit":
        screens = [("Credit", amounts.credit(t["balance_micro"]))]
    elif name == "consumption_today":
        screens = [("Used today", amounts.quantity(t["today_milli"]))]
        if amounts.currency:
            screens.append(("Spent today", amounts.credit(t["today_money_micro"])))
    elif name == "total":
        screens = [("Total", amounts.quantity(t["import_milli"]))]
    elif name == "power_now":
        screens = [("Flow now" if amounts.flow else "Power now", amounts.power(t["power"]))]
    elif name == "tariff_rate":
        if price_micro_per_unit is None:
            raise ValueError("tariff_rate needs the price")
        screens = [("Tariff rate", amounts.price(price_micro_per_unit))]
    elif name == "debt":
        screens = [("Debt", amounts.credit(t["debt_micro"]))]
        if t["emergency_owed_micro"]:
            screens.append(("Emergency owed", amounts.credit(t["emergency_owed_micro"])))
    else:
        raise ValueError("no read-out for %r" % (name,))
    return [(fit(a), label_value("", b), _READOUT_S) for a, b in screens]


def result_label(result):
    """A result in a few characters, for the history line ('Accept', 'Used', ...)."""
    name = result_name(result)
    if name in _REJECTS:
        label = _REJECTS[name][0]
        return label[0].upper() + label[1:]
    return {"accept": "Accept", "1st_kct": "1st KCT", "2nd_kct": "2nd KCT",
            "lockout": "Lockout", "not_ready": "Not ready"}[name]


def history_message(number, when_s, result, amount_text=None):
    """One token of the history (#07# shows number 1, the newest; #08# browses 1..10):
    line 1 '#1 14/03 12:05', line 2 the result and the amount it added."""
    day, second = civil.split(when_s)
    _, month, mday = civil.civil_from_days(day)
    line1 = "#%d %02d/%02d %02d:%02d" % (number, mday, month, second // 3600,
                                         second % 3600 // 60)
    label = result_label(result)
    line2 = label_value(label, amount_text) if amount_text else label
    return [(fit(line1), fit(line2), _READOUT_S)]


def no_history_message():
    return [(fit("No tokens yet"), fit(""), _READOUT_S)]
