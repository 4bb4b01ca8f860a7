"""The wall clock: seconds since 2000-01-01 00:00:00 local time, and whether to trust it.

Built on ``machine.RTC``. The ESP32's internal RTC keeps time through deep sleep and
soft resets but restarts at 2000-01-01 after a power loss, and ``RTC.memory()`` (RTC
slow memory) is cleared with it. ``set_s`` writes a marker there, so ``valid()`` is
True only when the time was set since the last power loss and is not before 2024.
Dates convert with the meter's integer calendar (``meter.civil``), independent of the
port's epoch (2000 on ESP32, 1970 on the Unix port).
"""
from machine import RTC

from const import const
from meter.civil import civil_from_days, days_from_civil, seconds, weekday

VALID_MARKER = b"PPT1"
EARLIEST_VALID_S = const(757382400)  # 2024-01-01 00:00:00 in seconds since 2000


def to_seconds(fields):
    """(year, month, day, hour, minute, second) -> seconds since 2000-01-01."""
    return seconds(*fields)


def from_seconds(seconds):
    days, rest = divmod(seconds, 86400)
    y, mo, d = civil_from_days(days)
    return y, mo, d, rest // 3600, rest // 60 % 60, rest % 60


class Clock:
    def __init__(self, rtc=None):
        self._rtc = rtc or RTC()

    def now_s(self):
        y, mo, d, _wd, h, mi, s, _sub = self._rtc.datetime()
        return to_seconds((y, mo, d, h, mi, s))

    def set_s(self, seconds):
        y, mo, d, h, mi, s = from_seconds(seconds)
        day_of_week = weekday(days_from_civil(y, mo, d))  # Monday = 0
        self._rtc.datetime((y, mo, d, day_of_week, h, mi, s, 0))
        self._rtc.memory(VALID_MARKER)

    def valid(self):
        return self._rtc.memory() == VALID_MARKER and self.now_s() >= EARLIEST_VALID_S
