"""The optional DS3231 clock against a register-level fake of the chip on the fake I2C
bus: BCD time, 24- and 12-hour modes, the oscillator-stopped flag, and the board
picking it from the pin map."""
import sys

from dualrt import TESTS_DIR, raises

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import machine  # noqa: E402

from boards.esp32 import ds3231  # noqa: E402
from boards.esp32.board import build_board  # noqa: E402
from meter.civil import seconds  # noqa: E402

DUAL_RUNTIME = True


class FakeDs3231:
    """19 registers; a new chip (or one whose cell went flat) has OSF set and EOSC clear."""

    def __init__(self):
        self.regs = bytearray(19)
        self.regs[ds3231.STATUS_REG] = ds3231.OSF
        self.regs[ds3231.CONTROL_REG] = 0x1C        # the chip's power-on default

    def read_mem(self, reg, n):
        return bytes(self.regs[reg:reg + n])

    def write_mem(self, reg, data):
        self.regs[reg:reg + len(data)] = data


def bus(chip=None):
    machine.fake_reset()
    i2c = machine.I2C(0)
    if chip is not None:
        i2c.fake_devices[ds3231.ADDRESS] = chip
    return i2c


def test_set_writes_bcd_24_hour_time_and_clears_the_stopped_flag():
    chip = FakeDs3231()
    clock = ds3231.Ds3231(bus(chip))
    assert not clock.valid()                          # oscillator stopped: not trusted
    at = seconds(2026, 11, 23, 21, 45, 9)
    clock.set_s(at)
    # seconds, minutes, hours, weekday (Monday = 1), date, month, year
    assert list(chip.regs[0:7]) == [0x09, 0x45, 0x21, 1, 0x23, 0x11, 0x26]
    assert chip.regs[ds3231.STATUS_REG] & ds3231.OSF == 0
    assert chip.regs[ds3231.CONTROL_REG] == 0x1C      # other control bits kept
    assert clock.valid() and clock.now_s() == at
    chip.regs[0] = 0x30                                # the chip ticks on by itself
    assert clock.now_s() == at + 21


def test_twelve_hour_mode_left_by_another_tool_reads_right():
    chip = FakeDs3231()
    clock = ds3231.Ds3231(bus(chip))
    clock.set_s(seconds(2030, 2, 28, 0, 0, 0))
    chip.regs[2] = ds3231.HOUR_12 | ds3231.HOUR_PM | 0x09      # 9 PM
    assert clock.now_s() == seconds(2030, 2, 28, 21, 0, 0)
    chip.regs[2] = ds3231.HOUR_12 | 0x12                       # 12 AM: midnight
    assert clock.now_s() == seconds(2030, 2, 28, 0, 0, 0)


def test_a_stopped_oscillator_or_a_silent_chip_is_not_trusted():
    chip = FakeDs3231()
    i2c = bus(chip)
    clock = ds3231.Ds3231(i2c)
    clock.set_s(seconds(2026, 11, 23, 8, 0, 0))
    chip.regs[ds3231.STATUS_REG] |= ds3231.OSF                 # the cell went flat
    assert not clock.valid()
    clock.set_s(seconds(2026, 11, 23, 8, 5, 0))
    assert clock.valid()
    del i2c.fake_devices[ds3231.ADDRESS]                       # a loose wire
    assert not clock.valid()
    assert "0x68" in str(raises(OSError, ds3231.Ds3231, bus()))


def test_the_board_takes_the_ds3231_when_the_pin_map_says_so():
    chip = FakeDs3231()
    machine.fake_reset()
    machine.fake_i2c_device(0, ds3231.ADDRESS, chip)
    board = build_board({"name": "esp32", "pins": {"rtc": "ds3231"}})
    board.rtc.set_s(seconds(2027, 1, 1, 0, 0, 0))
    assert chip.regs[6] == 0x27
    assert board.rtc.now_s() == seconds(2027, 1, 1, 0, 0, 0)
    assert "board.pins.rtc: one of internal, ds3231" in str(
        raises(ValueError, build_board, {"name": "esp32", "pins": {"rtc": "gps"}}))
