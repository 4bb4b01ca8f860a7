"""4x4 matrix keypad, scanned when the firmware calls ``poll()`` (every ~10-20 ms).

Rows are open-drain outputs, columns inputs with pull-ups: pulling one row low makes
the columns of its pressed keys read low. A key is reported once, when it has been seen
alone and unchanged for ``debounce_ms``; holding it does not repeat, and it can be
reported again only after the pad has been seen released (or another key alone) for
``debounce_ms``. Two or
more keys at once (or ghosting, which a diode-less matrix shows then) count as no key.
"""
from machine import Pin

from boards.esp32 import ticks

LAYOUT = ("123A", "456B", "789C", "*0#D")


class Keypad:
    def __init__(self, row_pins, col_pins, debounce_ms=30, layout=LAYOUT,
                 ticks_ms=ticks.ticks_ms):
        self._rows = [Pin(p, Pin.OPEN_DRAIN, value=1) for p in row_pins]
        self._cols = [Pin(p, Pin.IN, Pin.PULL_UP) for p in col_pins]
        self._layout = layout
        self._debounce_ms = debounce_ms
        self._ticks_ms = ticks_ms
        self._seen = None  # what the last scan saw (key, or None)
        self._since_ms = ticks_ms()
        self._reported = None  # the key reported and still held, or None when released

    def scan(self):
        """The single key down right now, or None (no key, or several)."""
        found = None
        for r, row in enumerate(self._rows):
            row.value(0)
            for c, col in enumerate(self._cols):
                if col.value() == 0:
                    if found is not None:
                        row.value(1)
                        return None
                    found = self._layout[r][c]
            row.value(1)
        return found

    def poll(self):
        """The newly pressed key, or None. Call it regularly."""
        now = self._ticks_ms()
        key = self.scan()
        if key != self._seen:
            self._seen = key
            self._since_ms = now
            return None
        if ticks.ticks_diff(now, self._since_ms) < self._debounce_ms:
            return None
        if key is None:
            self._reported = None
            return None
        if key != self._reported:  # a new key, also when rolled over from another
            self._reported = key
            return key
        return None
