"""Pulse input (S0 output of a meter, reed switch of a water meter), counted by IRQ.

Debounce without polling: every edge (re)starts a one-shot Timer of ``debounce_ms``;
when it fires the line has been quiet that long, and its settled level is read. A
settled active level after a settled idle level is one pulse. Bounces at press or
release only restart the timer, and a slow IRQ that reads the level mid-bounce cannot
cause a miscount, because only the level read after the quiet time decides.
Pulses shorter than ``debounce_ms`` are lost, so choose it below the shortest pulse
the meter emits (S0: at least 30 ms by EN 62053-31; reed contacts bounce for about
1 ms), and below half the shortest pulse period at maximum flow.
"""
from machine import Pin, Timer


class PulseCounter:
    def __init__(self, pin, timer_id, debounce_ms=20, active_low=True, pull=True):
        if pull:
            self._pin = Pin(pin, Pin.IN, Pin.PULL_UP if active_low else Pin.PULL_DOWN)
        else:
            self._pin = Pin(pin, Pin.IN)
        self._active = 0 if active_low else 1
        self._debounce_ms = debounce_ms
        self._timer = Timer(timer_id)
        self._was_active = self._pin.value() == self._active
        self._count = 0
        self.total = 0  # pulses since boot
        self._pin.irq(handler=self._edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)

    def take_count(self):
        """Pulses since the previous call."""
        n = self._count
        self._count -= n  # an IRQ between the two lines only adds; nothing is lost
        return n

    def _edge(self, _pin):
        self._timer.init(mode=Timer.ONE_SHOT, period=self._debounce_ms, callback=self._settled)

    def _settled(self, _timer):
        active = self._pin.value() == self._active
        if active and not self._was_active:
            self._count += 1
            self.total += 1
        self._was_active = active
