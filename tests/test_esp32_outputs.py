"""ESP32 outputs and peripherals: SSD1306 display, buzzer, LEDs, battery ADC, IR UART,
RTC and watchdog, against the fake ``machine`` (and the real ``framebuf`` under
MicroPython)."""
import sys

from dualrt import TESTS_DIR

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import machine  # noqa: E402
import framebuf  # noqa: E402

from boards.esp32 import display as display_mod  # noqa: E402
from boards.esp32 import rtc as rtc_mod  # noqa: E402
from boards.esp32.battery import Battery  # noqa: E402
from boards.esp32.buzzer import Buzzer  # noqa: E402
from boards.esp32.display import TextDisplay  # noqa: E402
from boards.esp32.ir_port import IrPort  # noqa: E402
from boards.esp32.leds import Leds  # noqa: E402
from boards.esp32.ssd1306 import Ssd1306  # noqa: E402
from boards.esp32.watchdog import Watchdog  # noqa: E402

DUAL_RUNTIME = True


def make_display(height=32):
    machine.fake_reset()
    i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=400000)
    return TextDisplay(Ssd1306(i2c, 128, height)), i2c


def test_ssd1306_init_sequence_over_i2c():
    _, i2c = make_display(32)
    addr, init = i2c.fake_log[0]
    assert addr == 0x3C
    assert init[0] == 0x00  # control byte: commands follow
    assert init[1] == 0xAE and init[-1] == 0xAF  # off first, on last
    assert bytes((0xA8, 31)) in init  # multiplex ratio = height - 1
    assert bytes((0xDA, 0x02)) in init  # COM pins for 128x32
    assert bytes((0x8D, 0x14)) in init  # charge pump on
    _, i2c64 = make_display(64)
    assert bytes((0xA8, 63)) in i2c64.fake_log[0][1]
    assert bytes((0xDA, 0x12)) in i2c64.fake_log[0][1]


def expected_frame(line1, line2, indicators, height=32):
    buf = bytearray(128 * height // 8)
    fb = framebuf.FrameBuffer(buf, 128, height, framebuf.MONO_VLSB)
    y1, y2, y_ind = display_mod.layout(height)
    fb.text(line1, 0, y1, 1)
    fb.text(line2, 0, y2, 1)
    for name, x in zip(display_mod.INDICATORS, display_mod.INDICATOR_X):
        if name in indicators:
            fb.blit(display_mod.glyph(name), x, y_ind)
    return bytes(buf)


def test_display_renders_text_and_indicators_and_writes_them():
    display, i2c = make_display(32)
    before = len(i2c.fake_log)
    assert display.show("CREDIT  123.45", "kWh  ALARM", supply=True, lockout=True)
    written = i2c.fake_log[before:]
    assert len(written) == 2
    addr, window = written[0]
    assert addr == 0x3C and window == bytes((0x00, 0x21, 0, 127, 0x22, 0, 3))
    addr, data = written[1]
    assert addr == 0x3C and data[0] == 0x40 and len(data) == 1 + 512
    assert data[1:] == expected_frame("CREDIT  123.45", "kWh  ALARM", ("supply", "lockout"))
    # the indicator row is page 3 (y 24..31): glyph bytes land there column by column
    assert data[1 + 3 * 128: 1 + 3 * 128 + 8] == display_mod.GLYPHS["supply"]
    assert data[1 + 3 * 128 + 96: 1 + 3 * 128 + 104] == display_mod.GLYPHS["lockout"]
    assert data[1 + 3 * 128 + 32: 1 + 3 * 128 + 40] == bytes(8)  # alarm off
    assert any(data[1:1 + 128])  # line 1 drawn in page 0
    assert display.lines == ("CREDIT  123.45", "kWh  ALARM")
    assert display.indicators == ("supply", "lockout")


def test_display_writes_only_on_change_and_cuts_long_lines():
    display, i2c = make_display(64)
    display.show("A" * 20, "")
    count = len(i2c.fake_log)
    assert not display.show("A" * 16, "")  # same after cutting to 16 columns
    assert len(i2c.fake_log) == count
    assert display.show("A" * 16, "", alarm=True)
    assert i2c.fake_log[-1][1][1:] == expected_frame("A" * 16, "", ("alarm",), 64)


def test_buzzer_beeps_for_the_given_time():
    machine.fake_reset()
    buzzer = Buzzer(2, timer_id=2, freq_hz=2700)
    pwm = machine.fake_pwm(2)
    assert pwm.duty_u16() == 0
    buzzer.beep(150)
    assert pwm.freq() == 2700 and pwm.duty_u16() == 32768 and buzzer.sounding
    machine.fake_advance_ms(149)
    assert pwm.duty_u16() == 32768
    machine.fake_advance_ms(1)
    assert pwm.duty_u16() == 0 and not buzzer.sounding
    buzzer.beep(1000, freq_hz=4000)
    buzzer.off()
    assert pwm.freq() == 4000 and pwm.duty_u16() == 0


def test_leds_by_name():
    machine.fake_reset()
    leds = Leds({"alarm": 15, "supply": None})
    assert leds.names == ("alarm",)
    leds.set("alarm", True)
    assert machine.fake_pin(15).out_level == 1 and leds.is_on("alarm")
    leds.set("supply", True)  # not fitted: ignored
    assert not leds.is_on("supply")
    low = Leds({"alarm": 15}, active_low=True)
    low.set("alarm", True)
    assert machine.fake_pin(15).out_level == 0


def test_battery_adc_scaling_in_integer_mv():
    machine.fake_reset()
    battery = Battery(35, divider=(2, 1), empty_mv=3000, full_mv=3600)
    machine.fake_adc_uv(35, 1650000)  # 1.65 V at the pin = 3.3 V battery
    assert battery.level_mv() == 3300
    assert battery.percent() == 50
    machine.fake_adc_uv(35, 1400000)
    assert battery.level_mv() == 2800 and battery.percent() == 0
    machine.fake_adc_uv(35, 1900000)
    assert battery.percent() == 100
    machine.fake_adc_uv(35, 1000001)  # 3:1 divider, rounding down
    assert Battery(35, divider=(3, 1)).level_mv() == 3000
    assert type(battery.level_mv()) is int


def test_ir_uart_is_300_baud_7e1_and_switches_baud():
    machine.fake_reset()
    port = IrPort(1, tx=32, rx=33)
    uart = machine.fake_uart(1)
    config = uart.fake_config
    assert config["baudrate"] == 300
    assert config["bits"] == 7 and config["parity"] == 0 and config["stop"] == 1
    assert config["tx"] == 32 and config["rx"] == 33 and config["timeout"] == 0
    assert port.read() == b""
    uart.fake_inject(b"/?!\r\n")
    assert port.any() == 5 and port.read(3) == b"/?!" and port.read() == b"\r\n"
    port.write(b"/PRE5\\@PREPAY\r\n")
    assert bytes(uart.fake_written) == b"/PRE5\\@PREPAY\r\n"
    port.set_baud(9600)
    assert config["baudrate"] == 9600 and config["bits"] == 7 and config["parity"] == 0
    assert port.baud == 9600


def test_rtc_seconds_since_2000_and_valid_flag():
    machine.fake_reset()
    clock = rtc_mod.Clock()
    assert clock.now_s() == 0 and not clock.valid()  # power-on default 2000-01-01
    at = rtc_mod.to_seconds((2026, 11, 23, 8, 0, 0))
    assert at == 9823 * 86400 + 8 * 3600
    clock.set_s(at)
    assert clock.valid() and clock.now_s() == at
    assert machine.RTC().datetime()[3] == 0  # 2026-11-23 is a Monday
    machine.fake_advance_ms(90 * 60 * 1000)
    assert clock.now_s() == at + 5400
    machine.fake_rtc_power_loss()
    assert not clock.valid() and clock.now_s() < at


def test_rtc_date_conversion_round_trips():
    for fields in ((2000, 1, 1, 0, 0, 0), (2024, 2, 29, 23, 59, 59), (2028, 12, 31, 12, 0, 1),
                   (2033, 3, 1, 0, 0, 0)):
        assert rtc_mod.from_seconds(rtc_mod.to_seconds(fields)) == fields
    assert rtc_mod.to_seconds((2024, 1, 1, 0, 0, 0)) == rtc_mod.EARLIEST_VALID_S


def test_watchdog_starts_only_when_asked():
    machine.fake_reset()
    dog = Watchdog()
    dog.feed()
    assert machine.fake_wdt() is None
    dog.start(8000)
    dog.feed()
    dog.feed()
    assert machine.fake_wdt().timeout == 8000 and machine.fake_wdt().fake_feeds == 2
