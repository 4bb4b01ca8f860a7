"""The wall clock: seconds since 2000-01-01 00:00:00 local time, and whether to trust it.

Built on ``machine.RTC``. The ESP32's internal RTC keeps time through deep sleep and
soft resets but restarts at 2000-01-01 after a power loss, and ``RTC.memory()`` (RTC
slow memory) is cleared with it. ``set_s`` writes a marker there, so ``valid()`` is
True only when the time was set since the last power loss and is not before 2024.
Dates convert with integer day arithmetic (proleptic Gregorian), independent of the
port's epoch (2000 on ESP32, 1970 on the Unix port).
"""
from machine import RTC

VALID_MARKER = b"PPT1"
EARLIEST_VALID_S = 757382400  # 2024-01-01 00:00:00 in seconds since 2000


def days_from_2000(year, month, day):
    """Days from 2000-01-01 to the given date (negative before)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 730425  # 730425 = days from 0000-03-01 to 2000-01-01


def date_from_days(days):
    """(year, month, day) for days since 2000-01-01."""
    z = days + 730425
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def to_seconds(fields):
    """(year, month, day, hour, minute, second) -> seconds since 2000-01-01."""
    y, mo, d, h, mi, s = fields
    return days_from_2000(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def from_seconds(seconds):
    days, rest = divmod(seconds, 86400)
    y, mo, d = date_from_days(days)
    return y, mo, d, rest // 3600, rest // 60 % 60, rest % 60


class Clock:
    def __init__(self, rtc=None):
        self._rtc = rtc or RTC()

    def now_s(self):
        y, mo, d, _wd, h, mi, s, _sub = self._rtc.datetime()
        return to_seconds((y, mo, d, h, mi, s))

    def set_s(self, seconds):
        y, mo, d, h, mi, s = from_seconds(seconds)
        weekday = (days_from_2000(y, mo, d) + 5) % 7  # 2000-01-01 was a Saturday; Mon = 0
        self._rtc.datetime((y, mo, d, weekday, h, mi, s, 0))
        self._rtc.memory(VALID_MARKER)

    def valid(self):
        return self._rtc.memory() == VALID_MARKER and self.now_s() >= EARLIEST_VALID_S
