"""Token identifiers: minutes since the key's base date, in 24 bits (sts.md 4.2).

Times are the utility's local civil time, as the compliance vectors use naive local
timestamps; the vending host and the meter must agree on that zone.
"""
from tokens.civil import civil_from_days, days_from_civil, valid_date
from tokens.errors import TokenError

BASE_YEARS = (1993, 2014, 2035)
TID_MAX = 0xFFFFFF                  # last minute: 20:15 on 24 Nov of base year + 31
RESERVED_HOUR_MINUTE = (0, 1)       # 00:01 of every day is reserved; normal tokens get 00:02


def check_base_year(base_year):
    if base_year not in BASE_YEARS:
        raise TokenError("base date must be one of 1993, 2014, 2035, not %r" % (base_year,))


def minutes_since_base(base_year, year, month, day, hour, minute):
    check_base_year(base_year)
    if not valid_date(year, month, day, hour, minute):
        raise TokenError("no such time: %04d-%02d-%02d %02d:%02d" % (year, month, day, hour, minute))
    days = days_from_civil(year, month, day) - days_from_civil(base_year, 1, 1)
    return (days * 24 + hour) * 60 + minute


def _check_range(base_year, tid):
    if tid < 0:
        raise TokenError("the time is before the %d base date" % base_year)
    if tid > TID_MAX:
        y, mo, d, h, mi = tid_time(base_year, TID_MAX)
        raise TokenError("the %d base date rolled over at %04d-%02d-%02d %02d:%02d; "
                         "the meter needs a rollover key change" % (base_year, y, mo, d, h, mi))
    return tid


def tid_at(base_year, year, month, day, hour, minute):
    """The TID of a normal token issued at that minute (00:01 moves to 00:02)."""
    tid = minutes_since_base(base_year, year, month, day, hour, minute)
    if (hour, minute) == RESERVED_HOUR_MINUTE:
        tid += 1
    return _check_range(base_year, tid)


def is_reserved(tid):
    return tid % 1440 == 1


def next_tid(base_year, year, month, day, hour, minute, last_tid):
    """A TID for a new token to a meter whose last token had last_tid (None: no token yet).

    Tokens to one meter must carry distinct TIDs that grow in the order they are issued;
    when the clock minute is already used, the next free minute is taken.
    """
    tid = tid_at(base_year, year, month, day, hour, minute)
    if last_tid is not None and tid <= last_tid:
        tid = last_tid + 1
        if is_reserved(tid):
            tid += 1
    return _check_range(base_year, tid)


def tid_time(base_year, tid):
    """TID -> (year, month, day, hour, minute)."""
    check_base_year(base_year)
    days, minute_of_day = divmod(tid, 1440)
    year, month, day = civil_from_days(days_from_civil(base_year, 1, 1) + days)
    return year, month, day, minute_of_day // 60, minute_of_day % 60
