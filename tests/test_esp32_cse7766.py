"""CSE7766 frame parsing: frames built here from known register values."""
import sys

from dualrt import TESTS_DIR, raises

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import machine  # noqa: E402

from boards.esp32 import cse7766  # noqa: E402
from boards.esp32.cse7766 import Cse7766, FrameError, decode  # noqa: E402

DUAL_RUNTIME = True

# Register values of a plausible frame: 230.5 V, 1.25 A, 287.5 W.
V_COEFF, V_CYCLE = 193600, 840          # 193600 / 840 = 230.476... V
I_COEFF, I_CYCLE = 16000, 12800         # 1.25 A
P_COEFF, P_CYCLE = 5175000, 18000       # 287.5 W
ALL_UPDATED = 0x70


def u24(value):
    return bytes(((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF))


def frame(cf=0, state=0x55, updated=ALL_UPDATED, v=(V_COEFF, V_CYCLE), i=(I_COEFF, I_CYCLE),
          p=(P_COEFF, P_CYCLE), bad_checksum=False):
    body = (u24(v[0]) + u24(v[1]) + u24(i[0]) + u24(i[1]) + u24(p[0]) + u24(p[1])
            + bytes((updated, (cf >> 8) & 0xFF, cf & 0xFF)))
    check = sum(body) & 0xFF
    if bad_checksum:
        check ^= 0x01
    return bytes((state, 0x5A)) + body + bytes((check,))


def test_decode_gives_integer_mv_ma_mw():
    f = frame(cf=1234)
    assert len(f) == 24
    v_mv, i_ma, p_mw, cf, coeff = decode(f)
    assert v_mv == V_COEFF * 1000 // V_CYCLE == 230476
    assert i_ma == 1250
    assert p_mw == 287500
    assert cf == 1234 and coeff == P_COEFF
    assert type(v_mv) is int and type(p_mw) is int


def test_scales_calibrate_the_readings():
    v_mv, i_ma, p_mw, _, _ = decode(frame(), voltage_scale=1010, current_scale=990,
                                    power_scale=1000)
    assert v_mv == V_COEFF * 1010 // V_CYCLE
    assert i_ma == 1237


def test_muldiv_matches_exact_division_within_rounding():
    for a, b, c in ((16777215, 1000, 16777213), (5175000, 1000, 1), (193600, 1000, 840),
                    (12345678, 997, 9999999), (1, 1000, 3), (0, 1000, 7)):
        exact = a * b // c
        got = cse7766.muldiv(a, b, c)
        assert abs(got - exact) <= max(1, exact // 100000), (a, b, c, got, exact)
    assert cse7766.muldiv(5, 1000, 0) == 0


def test_bad_checksum_rejected():
    exc = raises(FrameError, decode, frame(bad_checksum=True))
    assert "checksum" in str(exc)


def test_bad_header_rejected():
    good = frame()
    raises(FrameError, decode, bytes((0x12,)) + good[1:])
    raises(FrameError, decode, good[:1] + bytes((0x5B,)) + good[2:])


def test_chip_errors_rejected_and_power_range_means_zero_power():
    raises(FrameError, decode, frame(state=0xAA))  # not calibrated
    raises(FrameError, decode, frame(state=0xF8))  # voltage cycle out of range
    raises(FrameError, decode, frame(state=0xF1))  # coefficient storage corrupt
    v_mv, i_ma, p_mw, _, _ = decode(frame(state=0xF2))
    assert v_mv == 230476 and p_mw == 0


def test_values_not_updated_this_frame():
    v_mv, i_ma, p_mw, _, _ = decode(frame(updated=0x40))  # only voltage measured
    assert v_mv == 230476 and i_ma == 0 and p_mw == 0
    v_mv, _, _, _, _ = decode(frame(updated=0x00))
    assert v_mv is None


def make_chip():
    machine.fake_reset()
    uart = machine.UART(2, baudrate=4800, bits=8, parity=0, stop=1, rx=16, tx=17)
    return Cse7766(uart), uart


def test_stream_with_noise_and_split_frames():
    chip, uart = make_chip()
    data = b"\x00\x13\x5a\x55" + frame(cf=10) + frame(cf=12)
    uart.fake_inject(data[:17])
    assert chip.poll() == 0
    uart.fake_inject(data[17:])
    assert chip.poll() == 2
    assert chip.voltage_mv == 230476 and chip.current_ma == 1250 and chip.power_mw == 287500
    assert chip.frames == 2 and chip.errors == 0


def test_stream_recovers_after_a_bad_frame():
    chip, uart = make_chip()
    uart.fake_inject(frame(cf=1, bad_checksum=True) + frame(cf=2) + frame(cf=3))
    assert chip.poll() == 2
    assert chip.errors == 1
    uart.fake_inject(frame(cf=4)[:10] + frame(cf=5))  # truncated frame, then a good one
    assert chip.poll() == 1
    assert chip.errors == 2 and chip.frames == 3


def test_energy_from_cf_pulses():
    chip, _ = make_chip()
    # one CF pulse = P_COEFF / 3.6e9 Wh = 1.4375 mWh; 1000 pulses = 1437.5 mWh
    chip.feed(frame(cf=100))
    assert chip.take_energy_mwh() == 0  # the first frame only sets the baseline
    chip.feed(frame(cf=600))
    chip.feed(frame(cf=1100))
    assert chip.take_energy_mwh() == 1437
    assert chip.take_energy_mwh() == 0
    chip.feed(frame(cf=1102))  # the left-over 0.5 mWh plus 2.875 mWh
    assert chip.take_energy_mwh() == 3


def test_energy_counter_overflow():
    chip, _ = make_chip()
    chip.feed(frame(cf=65530))
    chip.feed(frame(cf=65535))
    chip.feed(frame(cf=4))  # wrapped: 65536 - 65535 + 4 = 5 more pulses
    total_pulses = 10
    assert chip.take_energy_mwh() == total_pulses * P_COEFF // 3600000
