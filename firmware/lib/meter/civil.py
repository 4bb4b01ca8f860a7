"""Civil-calendar arithmetic without ``datetime`` (MicroPython has none).

Time in the meter is an int: seconds since 2000-01-01 00:00 in the meter's local civil
time (the ESP32 epoch). Day numbers count days since 2000-01-01 (day 0, a Saturday).
The date conversion uses the era-based proleptic Gregorian method (400-year eras of
146 097 days), valid for any year this meter will see.
"""

DAY_S = 86400
# 2000-03-01 is day 60; eras start on 1 March so that leap days fall at the era's end.
_MARCH_2000 = 60
_ERA_DAYS = 146097


def days_from_civil(year, month, day):
    """Day number (days since 2000-01-01) of a civil date."""
    y = year - (1 if month <= 2 else 0)
    era = (y - 2000) // 400
    yoe = y - 2000 - era * 400                      # year of era, 0..399
    mp = (month + 9) % 12                           # March = 0 ... February = 11
    doy = (153 * mp + 2) // 5 + day - 1             # day of the March-based year
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy   # day of era
    return era * _ERA_DAYS + doe + _MARCH_2000


def civil_from_days(days):
    """(year, month, day) of a day number."""
    z = days - _MARCH_2000
    era = z // _ERA_DAYS
    doe = z - era * _ERA_DAYS
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = 2000 + era * 400 + yoe + (1 if month <= 2 else 0)
    return year, month, day


def weekday(days):
    """0 = Monday ... 6 = Sunday."""
    return (days + 5) % 7


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
