"""The assembled ESP32 board: both variants built from configuration, wired as the pin
map says, and the relay's voltage rule fed by the metering chip."""
import sys

from dualrt import TESTS_DIR, raises

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import esp32  # noqa: E402
import machine  # noqa: E402

from boards.esp32 import pins  # noqa: E402
from boards.esp32 import supply_states as S  # noqa: E402
from boards.esp32.board import build_board  # noqa: E402

DUAL_RUNTIME = True


def cse_frame(v_coeff, v_cycle, cf):
    def u24(x):
        return bytes(((x >> 16) & 0xFF, (x >> 8) & 0xFF, x & 0xFF))
    body = (u24(v_coeff) + u24(v_cycle) + u24(16000) + u24(12800) + u24(5175000)
            + u24(18000) + bytes((0x70, cf >> 8, cf & 0xFF)))
    return b"\x55\x5a" + body + bytes((sum(body) & 0xFF,))


def test_electricity_board_has_relay_and_metering_chip():
    machine.fake_reset()
    board = build_board({"name": "esp32", "variant": "electricity"},
                        ticks_ms=machine.fake_ticks_ms)
    assert board.name == "esp32" and board.supply.kind == "relay"
    assert board.pulse_input is None and board.metering is not None
    meter_uart = machine.fake_uart(2).fake_config
    assert meter_uart["baudrate"] == 4800 and meter_uart["bits"] == 8
    assert meter_uart["parity"] == 0 and meter_uart["stop"] == 1  # 8E1
    assert machine.fake_uart(1).fake_config["bits"] == 7  # the IR port
    assert board.tamper.names == ("cover", "magnet")
    assert board.data_dir == "/data"
    assert board.ticks_diff(5, 3) == 2


def test_relay_waits_for_the_metering_chip_to_report_voltage():
    machine.fake_reset()
    board = build_board({"variant": "electricity"}, ticks_ms=machine.fake_ticks_ms)
    assert board.supply_voltage_mv() is None
    assert board.supply.connect() == S.LOW_VOLTAGE
    machine.fake_uart(2).fake_inject(cse_frame(150000, 1000, 0))  # 150 V: too low
    board.metering.poll()
    assert board.supply_voltage_mv() == 150000
    assert board.supply.connect() == S.LOW_VOLTAGE
    machine.fake_uart(2).fake_inject(cse_frame(230000, 1000, 0))
    board.metering.poll()
    assert board.supply.connect() == S.OK
    machine.fake_advance_ms(100)
    assert board.supply.state() == S.ON
    assert machine.fake_pin(4).history[-2:] == [(0, 1), (100, 0)]


def test_water_board_has_valve_and_pulse_input():
    machine.fake_reset()
    machine.fake_drive(17, 0)  # valve at its closed end switch
    machine.fake_drive(39, 1)
    board = build_board({"name": "esp32", "variant": "water"}, ticks_ms=machine.fake_ticks_ms)
    assert board.supply.kind == "valve" and board.supply.state() == S.OFF
    assert board.metering is None and board.supply_voltage_mv() is None
    assert board.tamper.names == ("cover", "magnet", "tilt")
    machine.fake_drive(39, 0)
    machine.fake_advance_ms(50)
    machine.fake_drive(39, 1)
    machine.fake_advance_ms(50)
    assert board.pulse_input.take_count() == 1
    assert board.supply.connect() == S.OK
    assert machine.fake_pin(4).out_level == 1


def test_pin_overrides_and_errors():
    settings = pins.pin_map("electricity", {"buzzer": 25, "relay_pulse_ms": 60})
    assert settings["buzzer"] == 25 and settings["relay_pulse_ms"] == 60
    assert "unknown" in str(raises(ValueError, pins.pin_map, "gas"))
    assert "board.pins.buzzr" in str(raises(ValueError, pins.pin_map, "water", {"buzzr": 1}))
    said = str(raises(ValueError, pins.pin_map, "electricity", {"supply": "valve"}))
    assert said == "board.pins.supply: set by the variant (electricity has 'relay')"
    assert "board.name" in str(raises(ValueError, build_board, {"name": "sim"}))
    assert pins.has_internal_pull(33) and not pins.has_internal_pull(34)


def test_default_pin_map_has_no_pin_used_twice():
    for variant in pins.VARIANTS:
        settings = pins.pin_map(variant)
        used = []
        for key in settings:
            if key.endswith(("_id", "_ms", "_mv", "_freq", "_width", "_height", "_address",
                             "_scale", "_timer", "_divider", "_dir", "_partition")) or key in (
                                 "supply", "metering"):
                continue
            value = settings[key]
            if isinstance(value, tuple):
                used.extend(value)
            elif value is not None:
                used.append(value)
        assert len(used) == len(set(used)), (variant, sorted(used))
        for pin in used:
            assert pin not in (1, 3, 6, 7, 8, 9, 10, 11), (variant, pin)  # UART0, flash


def test_the_key_partition_is_the_partition_tables():
    """The decoder key's partition (meter.keystore) comes from the partition table; a
    table without it (MicroPython's own) is refused, naming the setting."""
    from meter.keystore import KeyStore
    machine.fake_reset()
    esp32.fake_reset()
    board = build_board({"name": "esp32"}, ticks_ms=machine.fake_ticks_ms)
    assert board.key_flash is esp32.fake_table["prepay_keys"] and board.config_scrub_dir == "/"
    KeyStore(board.key_flash).save({"krn": 1})
    assert KeyStore(board.key_flash).load() == {"krn": 1}
    del esp32.fake_table["prepay_keys"]
    said = str(raises(ValueError, build_board, {"name": "esp32"}))
    assert said.startswith("board.pins.key_partition: this ESP32's partition table has no "
                           "data partition 'prepay_keys'")
    esp32.fake_reset()


def test_the_partition_tables_hold_the_key_partition_and_fit_the_flash():
    """boards/esp32/micropython-board/partitions-*.csv: 4 KiB-aligned partitions in
    order, no overlap, inside 4 MiB, with the key partition the board looks for (two
    erase blocks, encrypted under flash encryption) and an encrypted filesystem."""
    folder = TESTS_DIR + "/../boards/esp32/micropython-board/"
    for name in ("partitions-prepay.csv", "partitions-prepay-romfs.csv"):
        rows = {}
        end = 0x9000                       # after the bootloader and the partition table
        with open(folder + name) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    cells = [c.strip() for c in line.split(",")]
                    offset, size = int(cells[3], 16), int(cells[4], 16)
                    assert offset % 4096 == 0 and size % 4096 == 0 and offset >= end, line
                    end = offset + size
                    rows[cells[0]] = cells
        assert end <= 4 * 1024 * 1024, name
        keys = rows[pins.COMMON["key_partition"]]
        assert keys[1] == "data" and int(keys[4], 16) == 2 * 4096 and keys[5] == "encrypted"
        assert rows["vfs"][5] == "encrypted" and rows["factory"][1] == "app"
