"""SSD1306 OLED (128x32 or 128x64) on I2C, drawn through ``framebuf``.

The framebuffer is MONO_VLSB, which is the controller's own memory layout (one byte =
8 vertical pixels of one column, pages of 8 rows), so ``show()`` sends the buffer as it
is. I2C transactions start with a control byte (SSD1306 datasheet 8.1.5): 0x00 = the
rest are command bytes, 0x40 = the rest are display data.
Command values below are from the SSD1306 datasheet, section 9 (command table).
"""
import framebuf

from const import const

_ADDRESS = const(0x3C)
_CONTROL_COMMANDS = const(0x00)
_CONTROL_DATA = const(0x40)

_DISPLAY_OFF = const(0xAE)
_DISPLAY_ON = const(0xAF)
_SET_CONTRAST = const(0x81)
_SET_ADDRESSING_MODE = const(0x20)  # 0 = horizontal: column, then page, wraps
_SET_COLUMN_RANGE = const(0x21)
_SET_PAGE_RANGE = const(0x22)
_SET_START_LINE = const(0x40)
_SEGMENT_REMAP = const(0xA1)  # column 127 is SEG0: panel mounted rotated
_SET_MULTIPLEX = const(0xA8)
_COM_SCAN_REMAPPED = const(0xC8)
_SET_DISPLAY_OFFSET = const(0xD3)
_SET_COM_PINS = const(0xDA)  # 0x02 sequential (128x32), 0x12 alternative (128x64)
_SET_CLOCK = const(0xD5)
_SET_PRECHARGE = const(0xD9)
_SET_VCOMH = const(0xDB)
_FOLLOW_RAM = const(0xA4)
_NORMAL_NOT_INVERTED = const(0xA6)
_CHARGE_PUMP = const(0x8D)  # 0x14 = on (no external VCC)


class Ssd1306:
    def __init__(self, i2c, width=128, height=32, address=_ADDRESS):
        self.i2c = i2c
        self.width = width
        self.height = height
        self.address = address
        self.pages = height // 8
        self.buffer = bytearray(width * self.pages)
        self.fb = framebuf.FrameBuffer(self.buffer, width, height, framebuf.MONO_VLSB)
        self.writes = 0
        self.init_display()

    def _commands(self, *cmds):
        self.i2c.writeto(self.address, bytes((_CONTROL_COMMANDS,) + cmds))

    def init_display(self):
        self._commands(
            _DISPLAY_OFF,
            _SET_ADDRESSING_MODE, 0x00,
            _SET_START_LINE | 0,
            _SEGMENT_REMAP,
            _SET_MULTIPLEX, self.height - 1,
            _COM_SCAN_REMAPPED,
            _SET_DISPLAY_OFFSET, 0,
            _SET_COM_PINS, 0x02 if self.height == 32 else 0x12,
            _SET_CLOCK, 0x80,
            _SET_PRECHARGE, 0xF1,
            _SET_VCOMH, 0x30,
            _SET_CONTRAST, 0xFF,
            _FOLLOW_RAM,
            _NORMAL_NOT_INVERTED,
            _CHARGE_PUMP, 0x14,
            _DISPLAY_ON)
        self.fb.fill(0)
        self.show()

    def power(self, on):
        self._commands(_DISPLAY_ON if on else _DISPLAY_OFF)

    def contrast(self, level):
        self._commands(_SET_CONTRAST, level & 0xFF)

    def show(self):
        """Send the whole framebuffer (512 bytes at 128x32: about 13 ms at 400 kHz)."""
        self._commands(_SET_COLUMN_RANGE, 0, self.width - 1,
                       _SET_PAGE_RANGE, 0, self.pages - 1)
        self.i2c.writevto(self.address, (bytes((_CONTROL_DATA,)), self.buffer))
        self.writes += 1
