"""Indicator LEDs by name (``set("alarm", True)``); a name without a pin is ignored."""
from machine import Pin


class Leds:
    def __init__(self, pins, active_low=False):
        self._on = 0 if active_low else 1
        self._pins = {}
        for name, pin_id in pins.items():
            if pin_id is not None:
                self._pins[name] = Pin(pin_id, Pin.OUT, value=1 - self._on)
        self.names = tuple(sorted(self._pins))

    def set(self, name, on):
        pin = self._pins.get(name)
        if pin is not None:
            pin.value(self._on if on else 1 - self._on)

    def is_on(self, name):
        pin = self._pins.get(name)
        return pin is not None and pin.value() == self._on
