"""The meter's face on an SSD1306: two text lines of 16 characters and four indicators.

Layout (8x8 font, so 16 characters fill 128 pixels): on 128x32 line 1 at y=0, line 2
at y=12 and the indicator row at y=24; on 128x64 at y=8, 28 and 52. Indicators sit at
x = 0, 32, 64, 96 in the order supply, alarm, tamper, lockout, each an 8x8 glyph drawn
for this project (bolt, bell, warning triangle, padlock). The panel is written only when
something changed.
"""
import framebuf

from const import const

_COLUMNS = const(16)
INDICATORS = ("supply", "alarm", "tamper", "lockout")
GLYPHS = {
    "supply": b"\x00\x88\xcc\x6e\x3b\x19\x08\x00",
    "alarm": b"\x20\x3c\x3e\xbf\xbf\x3e\x3c\x20",
    "tamper": b"\xe0\x98\x86\xd9\xd9\x86\x98\xe0",
    "lockout": b"\xf8\xfe\xf9\xc9\x89\xf9\xfe\xf8",
}
INDICATOR_X = (0, 32, 64, 96)


def layout(height):
    """(line 1 y, line 2 y, indicator row y) for a panel height."""
    return (0, 12, 24) if height == 32 else (8, 28, 52)


def glyph(name):
    return framebuf.FrameBuffer(bytearray(GLYPHS[name]), 8, 8, framebuf.MONO_VLSB)


def fit(text):
    """Exactly 16 characters: cut, or padded with spaces."""
    text = text[:_COLUMNS]
    return text + " " * (_COLUMNS - len(text))


class TextDisplay:
    def __init__(self, panel):
        self.panel = panel
        self._glyphs = [glyph(name) for name in INDICATORS]
        self._shown = None
        self.lines = ("", "")
        self.indicators = ()

    def show(self, line1, line2, supply=False, alarm=False, tamper=False, lockout=False):
        """Draw the two lines and the indicators; returns True if the panel was written."""
        line1, line2 = fit(line1), fit(line2)
        flags = (supply, alarm, tamper, lockout)
        content = (line1, line2, flags)
        if content == self._shown:
            return False
        fb = self.panel.fb
        y1, y2, y_ind = layout(self.panel.height)
        fb.fill(0)
        fb.text(line1, 0, y1, 1)
        fb.text(line2, 0, y2, 1)
        for on, g, x in zip(flags, self._glyphs, INDICATOR_X):
            if on:
                fb.blit(g, x, y_ind)
        self.panel.show()
        self._shown = content
        self.lines = (line1.rstrip(), line2.rstrip())
        self.indicators = tuple(n for n, on in zip(INDICATORS, flags) if on)
        return True
