"""SSD1306 OLED (128x32 or 128x64) on I2C, drawn through ``framebuf``.

The framebuffer is MONO_VLSB, which is the controller's own memory layout (one byte =
8 vertical pixels of one column, pages of 8 rows), so ``show()`` sends the buffer as it
is. I2C transactions start with a control byte (SSD1306 datasheet 8.1.5): 0x00 = the
rest are command bytes, 0x40 = the rest are display data.
Command values below are from the SSD1306 datasheet, section 9 (command table).
"""
import framebuf

ADDRESS = 0x3C
CONTROL_COMMANDS = 0x00
CONTROL_DATA = 0x40

DISPLAY_OFF = 0xAE
DISPLAY_ON = 0xAF
SET_CONTRAST = 0x81
SET_ADDRESSING_MODE = 0x20  # 0 = horizontal: column, then page, wraps
SET_COLUMN_RANGE = 0x21
SET_PAGE_RANGE = 0x22
SET_START_LINE = 0x40
SEGMENT_REMAP = 0xA1  # column 127 is SEG0: panel mounted rotated
SET_MULTIPLEX = 0xA8
COM_SCAN_REMAPPED = 0xC8
SET_DISPLAY_OFFSET = 0xD3
SET_COM_PINS = 0xDA  # 0x02 sequential (128x32), 0x12 alternative (128x64)
SET_CLOCK = 0xD5
SET_PRECHARGE = 0xD9
SET_VCOMH = 0xDB
FOLLOW_RAM = 0xA4
NORMAL_NOT_INVERTED = 0xA6
CHARGE_PUMP = 0x8D  # 0x14 = on (no external VCC)


class Ssd1306:
    def __init__(self, i2c, width=128, height=32, address=ADDRESS):
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
        self.i2c.writeto(self.address, bytes((CONTROL_COMMANDS,) + cmds))

    def init_display(self):
        self._commands(
            DISPLAY_OFF,
            SET_ADDRESSING_MODE, 0x00,
            SET_START_LINE | 0,
            SEGMENT_REMAP,
            SET_MULTIPLEX, self.height - 1,
            COM_SCAN_REMAPPED,
            SET_DISPLAY_OFFSET, 0,
            SET_COM_PINS, 0x02 if self.height == 32 else 0x12,
            SET_CLOCK, 0x80,
            SET_PRECHARGE, 0xF1,
            SET_VCOMH, 0x30,
            SET_CONTRAST, 0xFF,
            FOLLOW_RAM,
            NORMAL_NOT_INVERTED,
            CHARGE_PUMP, 0x14,
            DISPLAY_ON)
        self.fb.fill(0)
        self.show()

    def power(self, on):
        self._commands(DISPLAY_ON if on else DISPLAY_OFF)

    def contrast(self, level):
        self._commands(SET_CONTRAST, level & 0xFF)

    def show(self):
        """Send the whole framebuffer (512 bytes at 128x32: about 13 ms at 400 kHz)."""
        self._commands(SET_COLUMN_RANGE, 0, self.width - 1, SET_PAGE_RANGE, 0, self.pages - 1)
        self.i2c.writevto(self.address, (bytes((CONTROL_DATA,)), self.buffer))
        self.writes += 1
