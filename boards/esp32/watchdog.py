"""Hardware watchdog. On the ESP32 it cannot be stopped once started, so it starts only
when the firmware asks (after boot has loaded its state), not when the board is built.
"""
from machine import WDT


class Watchdog:
    def __init__(self):
        self._wdt = None
        self.timeout_ms = None

    def start(self, timeout_ms):
        if self._wdt is None:
            self._wdt = WDT(timeout=timeout_ms)
            self.timeout_ms = timeout_ms

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()
