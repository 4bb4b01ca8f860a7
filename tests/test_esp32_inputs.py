"""ESP32 inputs: pulse counter, keypad, push button, tamper, power fail."""
import sys

from dualrt import TESTS_DIR

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import machine  # noqa: E402

from boards.esp32.button import Button  # noqa: E402
from boards.esp32.keypad import Keypad  # noqa: E402
from boards.esp32.power_fail import PowerFail  # noqa: E402
from boards.esp32.pulse_counter import PulseCounter  # noqa: E402
from boards.esp32.tamper import Tamper  # noqa: E402

DUAL_RUNTIME = True
PULSE_PIN = 39


def drive_sequence(pin, steps):
    """steps: (level, hold_ms) pairs."""
    for level, hold_ms in steps:
        machine.fake_drive(pin, level)
        machine.fake_advance_ms(hold_ms)


def make_counter(debounce_ms=20):
    machine.fake_reset()
    machine.fake_drive(PULSE_PIN, 1)  # external pull-up: idle high
    return PulseCounter(PULSE_PIN, timer_id=0, debounce_ms=debounce_ms, pull=False)


def test_clean_pulses_are_counted():
    counter = make_counter()
    for _ in range(5):
        drive_sequence(PULSE_PIN, ((0, 40), (1, 60)))
    assert counter.take_count() == 5
    assert counter.take_count() == 0
    assert counter.total == 5


def test_bounce_at_press_and_release_counts_once():
    counter = make_counter()
    bouncy_pulse = ((0, 1), (1, 1), (0, 2), (1, 1), (0, 80),   # press with bounce
                    (1, 1), (0, 1), (1, 2), (0, 1), (1, 200))  # release with bounce
    drive_sequence(PULSE_PIN, bouncy_pulse)
    drive_sequence(PULSE_PIN, bouncy_pulse)
    assert counter.take_count() == 2


def test_long_closure_with_release_bounce_counts_once():
    counter = make_counter()
    drive_sequence(PULSE_PIN, ((0, 5000), (1, 3), (0, 3), (1, 3), (0, 3), (1, 1000)))
    assert counter.take_count() == 1


def test_spike_shorter_than_debounce_is_ignored():
    counter = make_counter()
    drive_sequence(PULSE_PIN, ((0, 5), (1, 100), (0, 19), (1, 100)))
    assert counter.take_count() == 0
    drive_sequence(PULSE_PIN, ((0, 20), (1, 100)))
    assert counter.take_count() == 1


def test_line_active_at_boot_is_not_a_pulse():
    machine.fake_reset()
    machine.fake_drive(PULSE_PIN, 0)
    counter = PulseCounter(PULSE_PIN, timer_id=0, debounce_ms=20, pull=False)
    drive_sequence(PULSE_PIN, ((1, 50), (0, 50), (1, 50)))
    assert counter.take_count() == 1


ROWS = (13, 14, 27, 26)
COLS = (25, 23, 19, 18)
LAYOUT = ("123A", "456B", "789C", "*0#D")


def make_keypad(debounce_ms=30):
    """A keypad wired in the fake: a column reads low when a pressed key's row is low."""
    machine.fake_reset()
    held = set()

    def column(c):
        def level():
            for key in held:
                for r, row_keys in enumerate(LAYOUT):
                    if row_keys[c] == key and machine.fake_pin(ROWS[r]).level() == 0:
                        return 0
            return 1
        return level

    for c, pin in enumerate(COLS):
        machine.fake_wire(pin, column(c))
    keypad = Keypad(ROWS, COLS, debounce_ms=debounce_ms, ticks_ms=machine.fake_ticks_ms)
    return keypad, held


def poll_for(keypad, ms, step_ms=10):
    keys = ""
    for _ in range(ms // step_ms):
        machine.fake_advance_ms(step_ms)
        key = keypad.poll()
        if key is not None:
            keys += key
    return keys


def test_keypad_scan_finds_each_key():
    keypad, held = make_keypad()
    for key in "0123456789ABCD*#":
        held.clear()
        held.add(key)
        assert keypad.scan() == key
    held.clear()
    assert keypad.scan() is None
    assert all(machine.fake_pin(r).out_level == 1 for r in ROWS)  # rows released


def test_keypad_reports_a_held_key_once():
    keypad, held = make_keypad()
    held.add("5")
    assert poll_for(keypad, 2000) == "5"
    held.clear()
    assert poll_for(keypad, 100) == ""
    held.add("5")
    assert poll_for(keypad, 100) == "5"


def test_keypad_debounce_ignores_short_contact():
    keypad, held = make_keypad(debounce_ms=30)
    held.add("7")
    assert poll_for(keypad, 20) == ""  # seen for 10-20 ms only
    held.clear()
    assert poll_for(keypad, 100) == ""


def test_keypad_typing_a_sequence():
    keypad, held = make_keypad()
    typed = ""
    for key in "1234#":
        held.add(key)
        typed += poll_for(keypad, 80)
        held.clear()
        typed += poll_for(keypad, 60)
    assert typed == "1234#"


def test_keypad_two_keys_at_once_count_as_none_then_rollover():
    keypad, held = make_keypad()
    held.add("1")
    held.add("2")
    assert keypad.scan() is None
    assert poll_for(keypad, 200) == ""
    held.discard("1")
    assert poll_for(keypad, 200) == "2"


BUTTON = 0


def test_button_press_debounced():
    machine.fake_reset()
    button = Button(BUTTON, debounce_ms=50, ticks_ms=machine.fake_ticks_ms)
    assert not button.pressed()
    drive_sequence(BUTTON, ((0, 1), (1, 1), (0, 300), (1, 1), (0, 1), (1, 500)))
    assert button.take_presses() == 1
    drive_sequence(BUTTON, ((0, 100),))
    assert button.pressed()
    drive_sequence(BUTTON, ((1, 100),))
    assert button.take_presses() == 1
    assert button.take_presses() == 0


def test_tamper_latches_short_events():
    machine.fake_reset()
    machine.fake_drive(34, 1)
    tamper = Tamper({"cover": (34, True, False), "magnet": (5, True, True),
                     "tilt": None})
    assert tamper.names == ("cover", "magnet")
    assert tamper.active() == ()
    assert tamper.take_triggered() == ()
    machine.fake_drive(5, 0)  # magnet attack for 300 ms
    machine.fake_advance_ms(300)
    machine.fake_drive(5, 1)
    assert tamper.active() == ()
    assert tamper.take_triggered() == ("magnet",)
    assert tamper.take_triggered() == ()
    machine.fake_drive(34, 0)  # cover opened and stays open
    assert tamper.active() == ("cover",)
    assert tamper.take_triggered() == ("cover",)
    assert tamper.take_triggered() == ()


def test_tamper_active_at_boot_reported_once():
    machine.fake_reset()
    machine.fake_drive(34, 0)
    tamper = Tamper({"cover": (34, True, False)})
    assert tamper.take_triggered() == ("cover",)
    assert tamper.take_triggered() == ()


def test_power_fail_irq_latches_and_calls_handler():
    machine.fake_reset()
    machine.fake_drive(36, 1)
    power = PowerFail(36)
    calls = []
    power.set_handler(lambda: calls.append(machine.fake_ticks_ms()))
    assert not power.failing() and not power.take_event()
    machine.fake_advance_ms(7)
    machine.fake_drive(36, 0)
    assert power.failing()
    assert calls == [7]
    assert power.take_event() and not power.take_event()
