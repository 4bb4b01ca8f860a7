"""Millisecond ticks for the drivers: MicroPython's ``time.ticks_*`` where they exist.

Drivers take a ``ticks_ms`` callable so tests (and the simulator) can hand in their own
clock; this module is the default. CPython has no ``time.ticks_ms``: the fallback keeps
host-side imports (the bundle build, tests) working with the ESP32's 2**30 tick period.
"""
import time

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
except AttributeError:  # CPython
    _PERIOD = 1 << 30
    _HALF = 1 << 29

    def ticks_ms():
        return int(time.monotonic() * 1000) % _PERIOD

    def ticks_diff(end, start):
        return (end - start + _HALF) % _PERIOD - _HALF
