"""ESP32 latching relay and motorised valve against the fake ``machine``."""
import sys

from dualrt import TESTS_DIR

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import machine  # noqa: E402

from boards.esp32 import supply_states as S  # noqa: E402
from boards.esp32.relay import LatchingRelay  # noqa: E402
from boards.esp32.valve import MotorValve  # noqa: E402

DUAL_RUNTIME = True
SET, RESET = 4, 12


def make_relay(voltage=None, measured=True):
    machine.fake_reset()
    reading = {"mv": voltage}
    source = (lambda: reading["mv"]) if measured else None
    relay = LatchingRelay(SET, RESET, pulse_ms=100, timer_id=1, voltage_mv=source,
                          nominal_mv=230000)
    return relay, reading


def pulses(pin_id):
    """(start_ms, length_ms) of each high pulse written to an output pin."""
    out, start = [], None
    for ms, level in machine.fake_pin(pin_id).history:
        if level and start is None:
            start = ms
        elif not level and start is not None:
            out.append((start, ms - start))
            start = None
    return out


def test_relay_connect_pulses_the_set_coil_for_the_pulse_time():
    relay, _ = make_relay(voltage=230000)
    assert relay.state() == S.UNKNOWN
    machine.fake_advance_ms(5)
    assert relay.connect() == S.OK
    assert relay.state() == S.MOVING
    assert machine.fake_pin(SET).out_level == 1
    machine.fake_advance_ms(99)
    assert machine.fake_pin(SET).out_level == 1
    machine.fake_advance_ms(1)
    assert machine.fake_pin(SET).out_level == 0
    assert relay.state() == S.ON
    assert pulses(SET) == [(5, 100)]
    assert pulses(RESET) == []


def test_relay_disconnect_pulses_the_reset_coil():
    relay, _ = make_relay(voltage=230000)
    assert relay.disconnect() == S.OK
    machine.fake_advance_ms(200)
    assert relay.state() == S.OFF
    assert pulses(RESET) == [(0, 100)]
    assert pulses(SET) == []
    assert relay.operations == 1


def test_relay_busy_while_pulsing():
    relay, _ = make_relay(voltage=230000)
    relay.connect()
    machine.fake_advance_ms(50)
    assert relay.disconnect() == S.BUSY
    machine.fake_advance_ms(50)
    assert relay.disconnect() == S.OK
    machine.fake_advance_ms(100)
    assert relay.state() == S.OFF
    assert pulses(SET) == [(0, 100)] and pulses(RESET) == [(100, 100)]


def test_relay_refuses_below_70_percent_of_nominal():
    relay, reading = make_relay(voltage=160999)  # 70 % of 230 V is 161.0 V
    assert relay.connect() == S.LOW_VOLTAGE
    assert relay.disconnect() == S.LOW_VOLTAGE
    machine.fake_advance_ms(500)
    assert pulses(SET) == [] and pulses(RESET) == []
    assert relay.state() == S.UNKNOWN
    reading["mv"] = 161000
    assert relay.connect() == S.OK


def test_relay_refuses_while_voltage_not_yet_measured():
    relay, _ = make_relay(voltage=None)
    assert relay.connect() == S.LOW_VOLTAGE
    assert pulses(SET) == []


def test_relay_switches_when_board_cannot_measure_voltage():
    relay, _ = make_relay(measured=False)
    assert relay.connect() == S.OK
    machine.fake_advance_ms(100)
    assert relay.state() == S.ON


OPEN, CLOSE, OPENED_SW, CLOSED_SW = 4, 12, 16, 17


def make_valve(switches=True, start="closed"):
    machine.fake_reset()
    machine.fake_drive(OPENED_SW, 0 if start == "opened" else 1)
    machine.fake_drive(CLOSED_SW, 0 if start == "closed" else 1)
    if switches:
        return MotorValve(OPEN, CLOSE, timeout_ms=15000, timer_id=1,
                          opened_switch=OPENED_SW, closed_switch=CLOSED_SW)
    return MotorValve(OPEN, CLOSE, timeout_ms=8000, timer_id=1)


def test_valve_reads_its_position_at_boot():
    assert make_valve(start="closed").state() == S.OFF
    assert make_valve(start="opened").state() == S.ON
    assert make_valve(start="between").state() == S.UNKNOWN
    assert make_valve(switches=False).state() == S.UNKNOWN


def test_valve_opens_until_end_switch():
    valve = make_valve()
    assert valve.open() == S.OK
    assert valve.state() == S.MOVING
    assert machine.fake_pin(OPEN).out_level == 1 and machine.fake_pin(CLOSE).out_level == 0
    machine.fake_advance_ms(1000)
    machine.fake_drive(CLOSED_SW, 1)  # leaves the closed position
    assert valve.state() == S.MOVING
    machine.fake_advance_ms(3000)
    machine.fake_drive(OPENED_SW, 0)  # reaches open
    assert valve.state() == S.ON
    assert machine.fake_pin(OPEN).out_level == 0
    assert pulses(OPEN) == [(0, 4000)]
    machine.fake_advance_ms(20000)  # the timeout must not fire afterwards
    assert valve.state() == S.ON


def test_valve_close_drives_the_close_pin():
    valve = make_valve(start="opened")
    assert valve.close() == S.OK
    assert valve.open() == S.BUSY
    machine.fake_drive(OPENED_SW, 1)
    machine.fake_advance_ms(2500)
    machine.fake_drive(CLOSED_SW, 0)
    assert valve.state() == S.OFF
    assert pulses(CLOSE) == [(0, 2500)] and pulses(OPEN) == []


def test_valve_without_end_switch_signal_times_out_to_fault():
    valve = make_valve()
    valve.open()
    machine.fake_drive(CLOSED_SW, 1)
    machine.fake_advance_ms(14999)
    assert valve.state() == S.MOVING
    machine.fake_advance_ms(1)
    assert valve.state() == S.FAULT
    assert machine.fake_pin(OPEN).out_level == 0
    assert pulses(OPEN) == [(0, 15000)]
    # a fault can be retried
    assert valve.close() == S.OK
    machine.fake_drive(CLOSED_SW, 0)
    assert valve.state() == S.OFF


def test_valve_already_in_position_does_not_run():
    valve = make_valve(start="closed")
    assert valve.close() == S.OK
    assert valve.state() == S.OFF
    assert pulses(CLOSE) == [] and valve.operations == 0


def test_valve_without_switches_runs_for_its_time():
    valve = make_valve(switches=False)
    valve.connect()
    machine.fake_advance_ms(7999)
    assert valve.state() == S.MOVING
    machine.fake_advance_ms(1)
    assert valve.state() == S.ON
    assert pulses(OPEN) == [(0, 8000)]
