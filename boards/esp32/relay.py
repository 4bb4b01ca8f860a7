"""Latching relay: one pulse on the set coil connects, one on the reset coil disconnects.

A latching relay holds its contacts without coil current, so the driver only pulses a
coil for ``pulse_ms`` and ends the pulse from a one-shot ``machine.Timer``; nothing
blocks. Switching is refused while the supply voltage is below 70 % of nominal (the coil
may not pull in fully and the contacts may weld; Hexing's relay rule, see
docs/prepaid-features.md section 5). ``voltage_mv`` is a callable returning the present
supply voltage in mV, or None when no reading is available yet; pass ``voltage_mv=None``
on a board that cannot measure it, and switching is always allowed.
"""
from machine import Pin, Timer

from boards.esp32 import supply_states as S
from const import const

_MIN_VOLTAGE_PERCENT = const(70)


class LatchingRelay:
    kind = "relay"

    def __init__(self, set_pin, reset_pin, pulse_ms, timer_id, voltage_mv=None,
                 nominal_mv=230000):
        self._set = Pin(set_pin, Pin.OUT, value=0)
        self._reset = Pin(reset_pin, Pin.OUT, value=0)
        self._pulse_ms = pulse_ms
        self._timer = Timer(timer_id)
        self._voltage_mv = voltage_mv
        self._min_mv = nominal_mv * _MIN_VOLTAGE_PERCENT // 100
        self._state = S.UNKNOWN
        self._target = None
        self.operations = 0  # coil pulses since boot (relay life is counted in these)

    def connect(self):
        return self._switch(self._set, S.ON)

    def disconnect(self):
        return self._switch(self._reset, S.OFF)

    def state(self):
        return self._state

    def voltage_ok(self):
        return S.voltage_ok(self._voltage_mv, self._min_mv)

    def _switch(self, coil, target):
        if self._state == S.MOVING:
            return S.BUSY
        if not self.voltage_ok():
            return S.LOW_VOLTAGE
        self._state = S.MOVING
        self._target = target
        self.operations += 1
        coil.value(1)
        self._timer.init(mode=Timer.ONE_SHOT, period=self._pulse_ms, callback=self._end_pulse)
        return S.OK

    def _end_pulse(self, _timer):
        self._set.value(0)
        self._reset.value(0)
        self._state = self._target
