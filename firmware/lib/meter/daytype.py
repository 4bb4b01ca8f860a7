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


def friendly_windows(day, friendly, holidays):
    """The day's friendly windows [start_minute, end_minute]: the holiday's on a
    holiday (when it has any), else the weekday's."""
    windows = friendly["holiday"] if is_holiday(day, holidays) else None
    return windows or friendly["week"][civil.weekday(day)]


def in_friendly(t, friendly, holidays):
    """True if meter time t lies in a friendly (never-disconnect) window."""
    if not friendly:
        return False
    day, sec = civil.split(t)
    minute = sec // 60
    for start, end in friendly_windows(day, friendly, holidays):
        if start <= minute < end:
            return True
    return False


def next_friendly_edge(t, friendly, holidays):
    """The first start or end of a friendly window after t within a week, or None."""
    if not friendly:
        return None
    day = t // civil.DAY_S
    for d in range(day, day + 8):
        best = None
        for window in friendly_windows(d, friendly, holidays):
            for minute in window:
                edge = d * civil.DAY_S + minute * 60
                if edge > t and (best is None or edge < best):
                    best = edge
        if best is not None:
            return best
    return None
