"""Motorised valve: the motor runs open or closed until an end switch or a timeout.

With end switches (active low, to ground), the motor stops when the switch for the
target position closes; if it has not closed after ``timeout_ms`` the motor stops and
the valve reports ``FAULT`` (jammed, motor or wiring broken). Without end switches the
motor runs for ``timeout_ms`` and the valve then counts as arrived. The two motor pins
drive an H-bridge (open pin high = run towards open); both low = brake/off.
"""
from machine import Pin, Timer

from boards.esp32 import supply_states as S


class MotorValve:
    kind = "valve"

    def __init__(self, open_pin, close_pin, timeout_ms, timer_id,
                 opened_switch=None, closed_switch=None, voltage_mv=None,
                 min_voltage_mv=0):
        self._open = Pin(open_pin, Pin.OUT, value=0)
        self._close = Pin(close_pin, Pin.OUT, value=0)
        self._timeout_ms = timeout_ms
        self._timer = Timer(timer_id)
        self._voltage_mv = voltage_mv
        self._min_voltage_mv = min_voltage_mv
        self._switches = {}
        self._target = None
        self.operations = 0
        for target, pin_id in ((S.ON, opened_switch), (S.OFF, closed_switch)):
            if pin_id is not None:
                pin = Pin(pin_id, Pin.IN, Pin.PULL_UP)
                pin.irq(handler=self._end_switch, trigger=Pin.IRQ_FALLING)
                self._switches[target] = pin
        self._state = self._position()

    def open(self):
        return self._run(S.ON)

    def close(self):
        return self._run(S.OFF)

    # The supply-switch names the meter core uses.
    connect = open
    disconnect = close

    def state(self):
        return self._state

    def voltage_ok(self):
        return S.voltage_ok(self._voltage_mv, self._min_voltage_mv)

    def _position(self):
        for target, pin in self._switches.items():
            if pin.value() == 0:
                return target
        return S.UNKNOWN

    def _run(self, target):
        if self._state == S.MOVING:
            return S.BUSY
        if not self.voltage_ok():
            return S.LOW_VOLTAGE
        self._target = target
        if target in self._switches and self._switches[target].value() == 0:
            self._state = target  # already there
            return S.OK
        self._state = S.MOVING
        self.operations += 1
        self._close.value(0)
        self._open.value(0)
        (self._open if target == S.ON else self._close).value(1)
        self._timer.init(mode=Timer.ONE_SHOT, period=self._timeout_ms, callback=self._timed_out)
        return S.OK

    def _stop(self, state):
        self._open.value(0)
        self._close.value(0)
        self._timer.deinit()
        self._state = state

    def _end_switch(self, pin):
        if self._state != S.MOVING:
            return
        switch = self._switches.get(self._target)
        if switch is not None and switch.value() == 0:
            self._stop(self._target)

    def _timed_out(self, _timer):
        if self._state != S.MOVING:
            return
        self._stop(S.FAULT if self._target in self._switches else self._target)
