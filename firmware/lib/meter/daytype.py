"""Which kind of day a date is (weekday / weekend / holiday), shared by the tariff
and the friendly-credit rules so both read the same holiday list."""
from meter import civil


def is_holiday(day, holidays):
    """True if the day number matches a [month, day] or [year, month, day] entry."""
    if not holidays:
        return False
    y, m, d = civil.civil_from_days(day)
    for h in holidays:
        if h[-1] == d and h[-2] == m and (len(h) == 2 or h[0] == y):
            return True
    return False


def day_type(day, holidays, weekend):
    """'holiday', 'weekend' or 'weekday'."""
    if is_holiday(day, holidays):
        return "holiday"
    if civil.weekday(day) in weekend:
        return "weekend"
    return "weekday"


def in_friendly(t, friendly, holidays):
    """True if meter time t lies in a friendly (never-disconnect) window."""
    if not friendly:
        return False
    day, sec = civil.split(t)
    minute = sec // 60
    windows = friendly["holiday"] if is_holiday(day, holidays) else None
    if not windows:
        windows = friendly["week"][civil.weekday(day)]
    for start, end in windows:
        if start <= minute < end:
            return True
    return False
