"""DS3231 real-time clock on the board's I2C bus, the optional choice (``"rtc": "ds3231"``
in the pin map): its coin cell keeps the time through power cuts, which the ESP32's
own RTC does not, so TOU rates and token dates stay right after an outage.

Facts from the DS3231 datasheet (Maxim Integrated, 19-5170): I2C address 0x68;
registers 0x00-0x06 are seconds, minutes, hours, day of week (1-7), date, month
(bit 7: century) and year 00-99, in BCD; hours bit 6 set means 12-hour mode (bit 5:
PM); control register 0x0E bit 7 (EOSC) set stops the oscillator on battery; status
register 0x0F bit 7 (OSF) is set when the oscillator has stopped (first power-up, flat
cell) and stays set until written 0. Same interface as ``rtc.Clock``: seconds since
2000-01-01 local time, ``valid()`` False until set after the oscillator stopped.
"""
from boards.esp32.rtc import EARLIEST_VALID_S, from_seconds
from const import const
from meter.civil import days_from_civil, seconds, weekday

ADDRESS = const(0x68)
_TIME_REG = const(0x00)
CONTROL_REG = const(0x0E)
STATUS_REG = const(0x0F)
_EOSC = const(0x80)
OSF = const(0x80)
HOUR_12 = const(0x40)
HOUR_PM = const(0x20)


def to_bcd(n):
    return (n // 10) << 4 | n % 10


def from_bcd(b):
    return (b >> 4) * 10 + (b & 0x0F)


class Ds3231:
    def __init__(self, i2c, address=ADDRESS):
        if address not in i2c.scan():
            raise OSError("no DS3231 answers at I2C address 0x%02x" % address)
        self._i2c = i2c
        self._address = address

    def _read(self, reg, n):
        return self._i2c.readfrom_mem(self._address, reg, n)

    def _write(self, reg, data):
        self._i2c.writeto_mem(self._address, reg, bytes(data))

    def now_s(self):
        r = self._read(_TIME_REG, 7)
        hour = r[2]
        if hour & HOUR_12:      # left in 12-hour mode by another tool
            h = from_bcd(hour & 0x1F) % 12 + (12 if hour & HOUR_PM else 0)
        else:
            h = from_bcd(hour & 0x3F)
        return seconds(2000 + from_bcd(r[6]), from_bcd(r[5] & 0x1F), from_bcd(r[4]), h,
                       from_bcd(r[1]), from_bcd(r[0] & 0x7F))

    def set_s(self, t):
        """Set the time (24-hour mode), keep the oscillator running on the cell and
        clear the stopped flag: from now on the time is trusted."""
        y, mo, d, h, mi, s = from_seconds(t)
        day_of_week = weekday(days_from_civil(y, mo, d)) + 1    # Monday = 1
        self._write(_TIME_REG, (to_bcd(s), to_bcd(mi), to_bcd(h), day_of_week, to_bcd(d),
                               to_bcd(mo), to_bcd(y - 2000)))
        self._write(CONTROL_REG, (self._read(CONTROL_REG, 1)[0] & ~_EOSC,))
        self._write(STATUS_REG, (self._read(STATUS_REG, 1)[0] & ~OSF,))

    def valid(self):
        """False after the oscillator stopped, or when the chip does not answer."""
        try:
            stopped = self._read(STATUS_REG, 1)[0] & OSF
            return not stopped and self.now_s() >= EARLIEST_VALID_S
        except OSError:
            return False
