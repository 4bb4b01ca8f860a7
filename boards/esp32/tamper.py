"""Tamper inputs (terminal cover switch, magnet/hall sensor, tilt switch), each a pin
with its active level. An IRQ on every edge latches the ones that became active, so a
short magnet attack between two polls is still seen.
"""
from machine import Pin


class Tamper:
    def __init__(self, inputs):
        """inputs: {name: (pin, active_low, pull)}; a pin of None means not fitted.

        pull False: the pin has an external resistor (ESP32 pins 34-39 have no
        internal pull-up or pull-down).
        """
        self._inputs = {}
        self._latched = set()
        for name, spec in inputs.items():
            if spec is None or spec[0] is None:
                continue
            pin_id, active_low, pull = spec
            if pull:
                pin = Pin(pin_id, Pin.IN, Pin.PULL_UP if active_low else Pin.PULL_DOWN)
            else:
                pin = Pin(pin_id, Pin.IN)
            self._inputs[name] = (pin, 0 if active_low else 1)
            pin.irq(handler=self._make_handler(name), trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)
        self.names = tuple(sorted(self._inputs))
        self._latched = set(self.active())  # found active at boot: report once

    def _make_handler(self, name):
        def handler(_pin):
            if self._is_active(name):
                self._latched.add(name)
        return handler

    def _is_active(self, name):
        pin, active = self._inputs[name]
        return pin.value() == active

    def active(self):
        """Names of the inputs active now, sorted."""
        return tuple(n for n in self.names if self._is_active(n))

    def take_triggered(self):
        """Names that became active since the previous call (also if clear again)."""
        latched = tuple(sorted(self._latched))
        self._latched = set()
        return latched
