"""A CPython stand-in for MicroPython's built-in ``framebuf`` (MONO_VLSB only).

Under MicroPython the built-in module always wins over this file, so the real 8x8 font
is used there. Here ``text`` draws a stand-in glyph per character (deterministic and
never blank except for a space), which is enough to check what a driver rendered by
rendering the same text into a second buffer and comparing bytes.
"""

MONO_VLSB = 0


class FrameBuffer:
    def __init__(self, buf, width, height, fmt, stride=None):
        if fmt != MONO_VLSB:
            raise ValueError("only MONO_VLSB in this stand-in")
        self.buf = buf
        self.width = width
        self.height = height

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None if c is not None else 0
        index = (y >> 3) * self.width + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buf[index] & bit else 0
        if c:
            self.buf[index] |= bit
        else:
            self.buf[index] &= ~bit & 0xFF
        return None

    def fill(self, c):
        value = 0xFF if c else 0
        for i in range(len(self.buf)):
            self.buf[i] = value

    def fill_rect(self, x, y, w, h, c):
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.pixel(xx, yy, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
            return
        self.hline(x, y, w, c)
        self.hline(x, y + h - 1, w, c)
        self.vline(x, y, h, c)
        self.vline(x + w - 1, y, h, c)

    def text(self, s, x, y, c=1):
        for i, ch in enumerate(s):
            code = ord(ch)
            if code == 32:
                continue
            for col in range(8):
                bits = ((code * (col + 3)) ^ (code >> (col % 3))) & 0x7F or 0x41
                for row in range(8):
                    if bits >> row & 1:
                        self.pixel(x + i * 8 + col, y + row, c)

    def blit(self, fbuf, x, y, key=-1, palette=None):
        for yy in range(fbuf.height):
            for xx in range(fbuf.width):
                c = fbuf.pixel(xx, yy)
                if c != key:
                    self.pixel(x + xx, y + yy, c)
