"""Battery level from an ADC pin behind a resistor divider, in integer mV and percent.

``ADC.read_uv()`` (ESP32, MicroPython >= 1.20) applies the chip's eFuse calibration,
so no float and no lookup table is needed; 11 dB attenuation reads up to about 3.1 V at
the pin. ``divider`` is (numerator, denominator) of the battery-to-pin ratio, e.g.
(2, 1) for two equal resistors. Percent is linear between ``empty_mv`` and ``full_mv``
(good enough for a lithium primary cell's flat curve to say "replace soon").
"""
from machine import ADC, Pin


class Battery:
    def __init__(self, pin, divider=(2, 1), empty_mv=3000, full_mv=3600):
        self._adc = ADC(Pin(pin))
        self._adc.atten(ADC.ATTN_11DB)
        self._num, self._den = divider
        self._empty_mv = empty_mv
        self._full_mv = full_mv

    def level_mv(self):
        return self._adc.read_uv() * self._num // self._den // 1000

    def percent(self):
        mv = self.level_mv()
        if mv <= self._empty_mv:
            return 0
        if mv >= self._full_mv:
            return 100
        return (mv - self._empty_mv) * 100 // (self._full_mv - self._empty_mv)
