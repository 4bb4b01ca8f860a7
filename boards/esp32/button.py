"""Push button (active low, to ground): presses latched by IRQ, debounced by time.

Both edges raise the IRQ. An edge that reads low counts as a press when the line had
been quiet (no edge) for ``debounce_ms`` before it and was last seen high, so bounce at
press and at release, which comes as edges close together, is ignored. A button does
not need the pulse counter's timer-settled exactness, and this leaves the ESP32's four
hardware timers for jobs that need them.
"""
from machine import Pin

from boards.esp32 import ticks


class Button:
    def __init__(self, pin, debounce_ms=50, ticks_ms=ticks.ticks_ms):
        self._pin = Pin(pin, Pin.IN, Pin.PULL_UP)
        self._debounce_ms = debounce_ms
        self._ticks_ms = ticks_ms
        self._last_edge_ms = None
        self._armed = self._pin.value() == 1
        self._presses = 0
        self._pin.irq(handler=self._edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def pressed(self):
        """True while the button is held down."""
        return self._pin.value() == 0

    def take_presses(self):
        """Presses since the previous call."""
        n = self._presses
        self._presses -= n
        return n

    def _edge(self, pin):
        now = self._ticks_ms()
        quiet = (self._last_edge_ms is None
                 or ticks.ticks_diff(now, self._last_edge_ms) >= self._debounce_ms)
        self._last_edge_ms = now
        if pin.value():
            self._armed = True
        elif quiet and self._armed:
            self._armed = False
            self._presses += 1
