"""Power-fail input: a comparator on the rectified supply pulls this pin low when the
mains is going away, leaving the hold-up capacitor a few tens of ms for the store to
flush. The IRQ latches the event; an optional handler runs from the IRQ (a soft IRQ on
the ESP32, so it may allocate) to start the flush at once.
"""
from machine import Pin


class PowerFail:
    def __init__(self, pin, active_low=True):
        self._pin = Pin(pin, Pin.IN)
        self._active = 0 if active_low else 1
        self._latched = False
        self._handler = None
        self._pin.irq(handler=self._edge,
                      trigger=Pin.IRQ_FALLING if active_low else Pin.IRQ_RISING)

    def failing(self):
        """True while the comparator says the supply is failing."""
        return self._pin.value() == self._active

    def take_event(self):
        """True once after each power-fail edge."""
        latched = self._latched
        self._latched = False
        return latched

    def set_handler(self, fn):
        self._handler = fn

    def _edge(self, _pin):
        self._latched = True
        if self._handler is not None:
            self._handler()
