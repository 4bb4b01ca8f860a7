"""Assembles the ESP32 drivers into the board object the firmware is handed.

``build_board(board_config)`` takes the meter configuration's ``board`` section
(``{"name": "esp32", "variant": ..., "pins": {...}, "wifi": {"ssid": ..., "password":
...}}``; without ``wifi`` the meter has no network service) and returns an ``Esp32Board``
with the attributes and methods ``boards/README.md`` lists. Nothing here decides
anything about credit or supply; it only wires pins to drivers. Drivers that only one
variant uses (relay or valve, metering chip or pulse counter) are imported when built,
which keeps the unused one's bytecode out of the heap (.mpy code is loaded into RAM).
"""
from machine import I2C, Pin, UART

from boards.esp32 import pins as pinmap
from boards.esp32 import ticks
from boards.esp32.battery import Battery
from boards.esp32.button import Button
from boards.esp32.buzzer import Buzzer
from boards.esp32.display import TextDisplay
from boards.esp32.ir_port import IrPort
from boards.esp32.keypad import Keypad
from boards.esp32.leds import Leds
from boards.esp32.power_fail import PowerFail
from boards.esp32.rtc import Clock
from boards.esp32.ssd1306 import Ssd1306
from boards.esp32.tamper import Tamper
from boards.esp32.watchdog import Watchdog
from const import const

_CSE7766_BAUD = const(4800)


class Esp32Board:
    name = "esp32"

    def __init__(self, settings, ticks_ms=ticks.ticks_ms, wifi=None):
        p = settings
        self.settings = settings
        self.ticks_ms = ticks_ms
        self.data_dir = p["data_dir"]
        self.key_flash = key_partition(p["key_partition"])
        self.config_scrub_dir = "/"     # meter.json is on the LittleFS root (app_keys)

        self.metering = None
        if p["metering"] == "cse7766":
            from boards.esp32.cse7766 import Cse7766
            uart = UART(p["meter_uart_id"], baudrate=_CSE7766_BAUD, bits=8, parity=0, stop=1,
                        rx=p["meter_rx"], tx=p["meter_tx"], timeout=0, rxbuf=256)
            self.metering = Cse7766(uart, p["voltage_scale"], p["current_scale"],
                                    p["power_scale"])

        self.pulse_input = None
        if p["pulse_input"] is not None:
            from boards.esp32.pulse_counter import PulseCounter
            self.pulse_input = PulseCounter(
                p["pulse_input"], p["pulse_timer"], p["pulse_debounce_ms"],
                pull=pinmap.has_internal_pull(p["pulse_input"]))

        if p["supply"] == "relay":
            from boards.esp32.relay import LatchingRelay
            self.supply = LatchingRelay(
                p["relay_set"], p["relay_reset"], p["relay_pulse_ms"], p["supply_timer"],
                voltage_mv=self.supply_voltage_mv if self.metering else None,
                nominal_mv=p["nominal_voltage_mv"])
        else:                                   # the variant's other switch: a valve
            from boards.esp32.valve import MotorValve
            self.supply = MotorValve(
                p["valve_open"], p["valve_close"], p["valve_timeout_ms"], p["supply_timer"],
                opened_switch=p["valve_opened_switch"], closed_switch=p["valve_closed_switch"])

        i2c = I2C(p["i2c_id"], scl=Pin(p["i2c_scl"]), sda=Pin(p["i2c_sda"]), freq=p["i2c_freq"])
        self.display = TextDisplay(Ssd1306(i2c, p["display_width"], p["display_height"],
                                           p["display_address"]))
        self.keypad = Keypad(p["keypad_rows"], p["keypad_cols"], p["keypad_debounce_ms"],
                             ticks_ms=ticks_ms)
        self.buzzer = Buzzer(p["buzzer"], p["buzzer_timer"])
        self.leds = Leds({"alarm": p["led_alarm"], "supply": p["led_supply"]})
        self.button = Button(p["button"], ticks_ms=ticks_ms)
        self.tamper = Tamper({
            name: (p["tamper_" + name], True, pinmap.has_internal_pull(p["tamper_" + name]))
            if p["tamper_" + name] is not None else None
            for name in ("cover", "magnet", "tilt")})
        self.power_fail = PowerFail(p["power_fail"])
        self.battery = Battery(p["battery_adc"], p["battery_divider"], p["battery_empty_mv"],
                               p["battery_full_mv"])
        if p["rtc"] == "ds3231":
            from boards.esp32.ds3231 import Ds3231
            self.rtc = Ds3231(i2c)
        else:
            self.rtc = Clock()
        self.ir_port = IrPort(p["ir_uart_id"], p["ir_tx"], p["ir_rx"])
        self.watchdog = Watchdog()
        self.network = None             # Wi-Fi, when the board section has "wifi"
        if wifi is not None:
            from boards.esp32.wifi import Wifi
            self.network = Wifi(wifi[0], wifi[1], ticks_ms, self.ticks_diff)

    def supply_voltage_mv(self):
        """Mains voltage in mV from the metering chip; None when not (yet) known."""
        return self.metering.voltage_mv if self.metering is not None else None

    def ticks_diff(self, end, start):
        return ticks.ticks_diff(end, start)


def key_partition(label):
    """The partition the meter's secrets live in (``meter.keystore``), by its label in
    the partition table (``boards/esp32/partitions.csv``)."""
    import esp32
    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=label)
    if not found:
        raise ValueError("board.pins.key_partition: this ESP32's partition table has no "
                         "data partition %r (flash boards/esp32/partitions.csv)" % label)
    return found[0]


def build_board(board_config=None, ticks_ms=ticks.ticks_ms):
    """The board for the configuration's ``board`` section (a dict, or None for defaults)."""
    board_config = board_config or {}
    name = board_config.get("name", "esp32")
    if name != "esp32":
        raise ValueError("board.name: this is the esp32 board, the configuration asks for %r"
                         % name)
    settings = pinmap.pin_map(board_config.get("variant", pinmap.DEFAULT_VARIANT),
                              board_config.get("pins"))
    from boards.esp32.wifi import check
    return Esp32Board(settings, ticks_ms=ticks_ms, wifi=check(board_config.get("wifi")))
