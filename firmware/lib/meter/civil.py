"""Civil-calendar arithmetic without ``datetime`` (MicroPython has none).

Time in the meter is an int: seconds since 2000-01-01 00:00 in the meter's local civil
time (the ESP32 epoch). Day numbers count days since 2000-01-01 (day 0, a Saturday).
The date arithmetic itself is ``tokens.civil``'s, shared with the token codec.
"""

from const import const
from tokens import civil as calendar

DAY_S = const(86400)
EPOCH_DAY = calendar.days_from_civil(2000, 1, 1)   # the meter's day 0 on the 1970 count


def days_from_civil(year, month, day):
    """Day number (days since 2000-01-01) of a civil date."""
    return calendar.days_from_civil(year, month, day) - EPOCH_DAY


def civil_from_days(days):
    """(year, month, day) of a day number."""
    return calendar.civil_from_days(days + EPOCH_DAY)


def weekday(days):
    """0 = Monday ... 6 = Sunday."""
    return calendar.weekday(days + EPOCH_DAY)


def seconds(year, month, day, hour=0, minute=0, second=0):
    """Meter time of a local civil date and time."""
    return days_from_civil(year, month, day) * DAY_S + hour * 3600 + minute * 60 + second


def split(t):
    """(day number, second of day) of a meter time."""
    return t // DAY_S, t % DAY_S


def month_key(year, month):
    """A month as one int, e.g. 202503, used to label monthly history."""
    return year * 100 + month


def settlement_start(days, settlement_day):
    """Day number on which the settlement month containing ``days`` began.

    The month closes at 00:00 of ``settlement_day`` (1..28) of each calendar month.
    """
    y, m, d = civil_from_days(days)
    if d < settlement_day:
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return days_from_civil(y, m, settlement_day)


def next_settlement(days, settlement_day):
    """Day number of the next settlement close after the month containing ``days``."""
    y, m, _ = civil_from_days(settlement_start(days, settlement_day))
    m += 1
    if m == 13:
        y, m = y + 1, 1
    return days_from_civil(y, m, settlement_day)
