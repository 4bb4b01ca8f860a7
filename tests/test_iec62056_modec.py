"""The IEC 62056-21 mode C engine on its own, in both runtimes: every message, every error
path, the baud switch, the reaction and switch delays, the inactivity timeout and the
half-received frame, against a device that records what it was asked."""
DUAL_RUNTIME = True

from iec62056.frame import bcc, command_frame, data_frame, wire_ms
from iec62056.modec import FRAME_GAP_MS, OPTION_WAIT_MS, ModeC, Refused

SETTINGS = {"manufacturer": "PPM", "ident": "PREPAY", "address": "00123456", "baud": 5,
            "reaction_ms": 200, "switch_ms": 300, "inactivity_s": 120}


def diff(a, b):
    return a - b


class Device:
    def __init__(self):
        self.calls = []
        self.registers = {"1-0:1.8.0": "1-0:1.8.0(12.345*kWh)"}

    def readout(self):
        yield "0-0:96.1.0(123456)"
        yield "1-0:1.8.0(12.345*kWh)"

    def password(self, text):
        self.calls.append(("P1", text))
        if text == "LOCK":
            raise Refused("LOCKED 300 S")
        return {"reader1": 1, "tech1234": 2}.get(text, 0)

    def read(self, code, arg, level):
        self.calls.append(("R1", code, arg, level))
        if code == "0-0:99.98.0":
            return ("0-0:99.98.0(2;x)", "0-0:99.98.0(1;y)")
        if code == "boom":
            raise RuntimeError("device bug")
        if code not in self.registers:
            raise Refused("UNKNOWN REGISTER")
        return (self.registers[code],)

    def write(self, code, value, level):
        self.calls.append(("W1", code, value, level))
        if code == "bad":
            raise Refused("RANGE: x must be 1..5")
        return value != "nak"

    def session_end(self, level, how):
        self.calls.append(("end", level, how))


class Line:
    """The engine with a clock: run(ms) steps time, collecting what it sends."""

    def __init__(self, **over):
        settings = dict(SETTINGS)
        settings.update(over)
        self.device = Device()
        self.engine = ModeC(self.device, settings, diff)
        self.now = 1000
        self.sent = []          # (ms, baud, bytes)

    def send(self, data):
        self.engine.feed(data, self.now)

    def run(self, ms):
        end = self.now + ms
        while True:
            chunk = self.engine.pump(self.now)
            if chunk:
                self.sent.append((self.now, self.engine.baud, chunk))
                continue
            wait = self.engine.wait_ms(self.now)
            if wait is None or self.now + max(wait, 1) > end:
                self.now = end
                self.engine.pump(self.now)
                return
            self.now += max(wait, 1)

    def take(self):
        out = b"".join(s[2] for s in self.sent)
        self.sent = []
        return out


def sign_on(line, request=b"/?!\r\n", mode=b"0"):
    line.send(request)
    line.run(1000)
    ident = line.take()
    line.send(b"\x06" + b"0" + b"5" + mode + b"\r\n")
    return ident


def programming(line, password=b"tech1234"):
    sign_on(line, mode=b"1")
    line.run(500)
    assert line.take() == command_frame(b"P0", b"(00123456)")
    line.send(command_frame(b"P1", b"(" + password + b")"))
    line.run(300)
    return line.take()


def test_bcc_is_the_xor_after_the_first_control_character():
    frame = data_frame(b"1-0:1.8.0(1)")
    assert frame[-1] == bcc(frame[1:-1])
    assert command_frame(b"B0") == b"\x01B0\x03" + bytes((bcc(b"B0\x03"),))
    assert wire_ms(96, 9600) == 100 and wire_ms(1, 300) == 34


def test_sign_on_is_answered_after_the_reaction_time_at_300_baud():
    line = Line()
    line.send(b"\x00\x00garbage/?!\r\n")
    line.run(199)
    assert line.sent == []
    line.run(5)
    when, baud, ident = line.sent[0]
    assert ident == b"/PPM5PREPAY\r\n" and baud == 300 and when == 1200


def test_a_short_reaction_time_lowers_the_third_letter():
    line = Line(reaction_ms=20)
    line.send(b"/?!\r\n")
    line.run(100)
    assert line.take() == b"/PPm5PREPAY\r\n"


def test_addressed_sign_on_ignores_leading_zeros_and_other_meters():
    for request, answered in ((b"/?123456!\r\n", True), (b"/?00123456!\r\n", True),
                              (b"/?0000123456!\r\n", True), (b"/?123457!\r\n", False),
                              (b"/?12345!\r\n", False), (b"/!\r\n", False)):
        line = Line()
        line.send(request)
        line.run(1000)
        assert (line.take() != b"") == answered, request


def test_readout_at_the_new_baud_after_the_switch_delay_then_back_to_300():
    line = Line()
    sign_on(line)
    ack_at = line.now
    assert line.engine.baud == 9600          # the port switches at once
    line.run(299)
    assert line.sent == []
    line.run(2000)
    first = line.sent[0]
    assert first[0] == ack_at + 300 and first[1] == 9600
    data = line.take()
    body = b"0-0:96.1.0(123456)\r\n1-0:1.8.0(12.345*kWh)\r\n!\r\n"
    assert data == b"\x02" + body + b"\x03" + bytes((bcc(body + b"\x03"),))
    assert line.engine.baud == 300 and not line.engine.busy
    assert line.engine.readouts == 1


def test_a_lower_baud_is_honoured_a_higher_one_refused():
    line = Line()
    line.send(b"/?!\r\n")
    line.run(1000)
    line.take()
    line.send(b"\x06030\r\n")
    assert line.engine.baud == 2400
    line.run(2000)
    assert line.take().startswith(b"\x02") and line.engine.baud == 300
    line.send(b"/?!\r\n")
    line.run(1000)
    line.take()
    line.send(b"\x06060\r\n")           # 19200 > 9600 proposed
    line.run(2000)
    assert line.take() == b"" and line.engine.baud == 300 and line.engine.errors == 1


def test_no_option_select_returns_to_idle():
    line = Line()
    line.send(b"/?!\r\n")
    line.run(1000)
    assert line.engine.busy
    line.run(OPTION_WAIT_MS)
    assert not line.engine.busy


def test_programming_password_levels_read_and_write():
    line = Line()
    assert programming(line) == b"\x06"
    line.send(command_frame(b"R1", b"1-0:1.8.0()"))
    line.run(300)
    assert line.take() == data_frame(b"1-0:1.8.0(12.345*kWh)")
    line.send(command_frame(b"R1", b"0-0:99.98.0(2)"))
    line.run(300)
    assert line.take() == data_frame(b"0-0:99.98.0(2;x)\r\n0-0:99.98.0(1;y)")
    line.send(command_frame(b"W1", b"0-0:1.0.0(261123080000)"))
    line.run(300)
    assert line.take() == b"\x06"
    line.send(command_frame(b"W1", b"x(nak)"))
    line.run(300)
    assert line.take() == b"\x15"
    line.send(command_frame(b"B0"))
    line.run(300)
    assert line.take() == b"" and not line.engine.busy and line.engine.baud == 300
    calls = line.device.calls
    assert ("W1", "0-0:1.0.0", "261123080000", 2) in calls and calls[-1] == ("end", 2, "break")


def test_reader_level_reads_but_may_not_write():
    line = Line()
    assert programming(line, b"reader1") == b"\x06"
    line.send(command_frame(b"W1", b"0-0:1.0.0(261123080000)"))
    line.run(300)
    assert line.take() == data_frame(b"(NO ACCESS)")
    assert not [c for c in line.device.calls if c[0] == "W1"]


def test_without_a_password_nothing_is_read():
    line = Line()
    assert programming(line, b"wrong") == b"\x15"
    line.send(command_frame(b"R1", b"1-0:1.8.0()"))
    line.run(300)
    assert line.take() == data_frame(b"(NO ACCESS)")


def test_errors_are_answered_and_counted():
    line = Line()
    programming(line)
    good = command_frame(b"R1", b"1-0:1.8.0()")
    cases = (
        (good[:-1] + bytes(((good[-1] ^ 1),)), b"\x15"),                # wrong BCC
        (command_frame(b"R1", b"9-9:9.9.9()"), data_frame(b"(UNKNOWN REGISTER)")),
        (command_frame(b"E2", b"1-0:1.8.0()"), data_frame(b"(UNKNOWN COMMAND)")),
        (command_frame(b"R1", b"1-0:1.8.0"), data_frame(b"(FORMAT)")),   # no ( )
        (command_frame(b"R1", b"1-0(:1.8.0()"), data_frame(b"(FORMAT)")),
        (command_frame(b"W1", b"bad(7)"), data_frame(b"(RANGE: x must be 1..5)")),
        (command_frame(b"R1", b"boom()"), data_frame(b"(FAULT)")),
        (b"\x01R1\x02" + b"1" * 600 + b"\x03\x00", b"\x15"),             # overlong
        (b"\x01W1\x04" + bytes((bcc(b"W1\x04"),)), b"\x15"),             # EOT, no data
        (b"\x01R1\x03" + bytes((bcc(b"R1\x03"),)), b"\x15"),             # R1 without data
    )
    for frame, answer in cases:
        line.send(frame)
        line.run(300)
        assert line.take() == answer, (frame, answer)
        assert line.engine.busy
    assert line.engine.errors == len(cases)
    assert isinstance(line.engine.fault, RuntimeError)
    line.send(good)                     # still in programming mode
    line.run(300)
    assert line.take() == data_frame(b"1-0:1.8.0(12.345*kWh)")


def block(data, last):
    """STX data EOT|ETX BCC: a block after the first of a command in partial blocks."""
    body = data + (b"\x03" if last else b"\x04")
    return b"\x02" + body + bytes((bcc(body),))


def first_block(command, data):
    body = command + b"\x02" + data + b"\x04"
    return b"\x01" + body + bytes((bcc(body),))


def test_a_write_in_partial_blocks_runs_once_on_the_whole_value():
    line = Line()
    programming(line)
    value = b"x" * 700                          # more than one frame holds (256)
    blocks = [first_block(b"W1", b"0-0:128.20.1(" + value[:200])]
    blocks += [block(value[i:i + 200], False) for i in (200, 400)]
    blocks.append(block(value[600:] + b")", True))
    for i, frame in enumerate(blocks):
        if i == 2:                              # a block spoilt on the way is repeated
            line.send(frame[:-1] + bytes((frame[-1] ^ 1,)))
            line.run(300)
            assert line.take() == b"\x15"
        line.send(frame)
        line.run(300)
        assert line.take() == b"\x06"
    writes = [c for c in line.device.calls if c[0] == "W1"]
    assert writes == [("W1", "0-0:128.20.1", "x" * 700, 2)]
    assert line.engine.partial is None and line.engine.errors == 1


def test_partial_blocks_too_long_or_broken_off_change_nothing():
    line = Line()
    programming(line)
    line.send(first_block(b"W1", b"0-0:128.20.1(" + b"y" * 200))
    line.run(300)
    assert line.take() == b"\x06"
    for _ in range(9):
        line.send(block(b"y" * 200, False))
        line.run(300)
        assert line.take() == b"\x06"
    line.send(block(b"y" * 200 + b")", True))    # over MAX_MESSAGE (2048) in all
    line.run(300)
    assert line.take() == data_frame(b"(TOO LONG)")
    line.send(block(b")", True))                 # no command waits: a stray block
    line.run(300)
    assert line.take() == b""
    line.send(first_block(b"W1", b"0-0:1.0.0(2611"))
    line.run(300)
    line.take()
    line.send(command_frame(b"R1", b"1-0:1.8.0()"))   # a new command drops the blocks
    line.run(300)
    assert line.take() == data_frame(b"1-0:1.8.0(12.345*kWh)")
    line.send(block(b"23080000)", True))
    line.run(300)
    assert line.take() == b""
    assert not [c for c in line.device.calls if c[0] == "W1"]
    line.send(first_block(b"W1", b"0-0:1.0.0(2611"))
    line.run(300)
    line.send(command_frame(b"B0"))
    line.run(300)
    assert not line.engine.busy and line.engine.partial is None


class FullHeap:
    """Blocks gathered on a heap that has no room for the next one."""

    def __len__(self):
        return 300

    def extend(self, data):
        raise MemoryError("memory allocation failed")


def test_a_value_the_heap_cannot_take_is_refused_and_the_port_stays_open():
    line = Line()
    programming(line)
    line.send(first_block(b"W1", b"0-0:128.20.1(" + b"z" * 200))
    line.run(300)
    assert line.take() == b"\x06"
    line.engine.partial = FullHeap()
    line.send(block(b"z" * 200, False) + command_frame(b"R1", b"1-0:1.8.0()"))
    line.run(300)
    assert line.take() == data_frame(b"(NO MEMORY)")
    assert line.engine.partial is None and isinstance(line.engine.fault, MemoryError)
    line.send(command_frame(b"R1", b"1-0:1.8.0()"))
    line.run(300)
    assert line.take() == data_frame(b"1-0:1.8.0(12.345*kWh)")
    assert not [c for c in line.device.calls if c[0] == "W1"]


def test_a_locked_meter_answers_with_the_lock():
    line = Line()
    assert programming(line, b"LOCK") == data_frame(b"(LOCKED 300 S)")


def test_the_echo_of_the_meters_own_frames_is_ignored():
    line = Line()
    ident = sign_on(line, mode=b"1")
    line.run(500)
    p0 = line.take()
    line.send(p0)                                   # an optical head's echo
    line.send(command_frame(b"P1", b"(tech1234)"))
    line.run(300)
    assert line.take() == b"\x06"
    assert [c for c in line.device.calls if c[0] != "P1"] == []
    line = Line()
    line.send(b"/?!\r\n")
    line.run(1000)
    line.send(line.take())                          # the identification echoed
    line.send(b"\x06050\r\n")
    line.run(2000)
    assert line.take().startswith(b"\x02") and ident == b"/PPM5PREPAY\r\n"


def test_an_answer_sent_at_once_after_the_last_byte_is_taken():
    line = Line()
    line.send(b"/?!\r\n")
    line.run(200)                        # the identification is on its way (667 ms at 300 Bd)
    assert line.take() == b"/PPM5PREPAY\r\n"
    line.send(b"\x06051\r\n")            # a pty delivers it at once: the ACK is not lost
    line.run(400)
    assert line.take() == command_frame(b"P0", b"(00123456)")


def test_inactivity_ends_programming_mode():
    line = Line()
    programming(line)
    line.run(119000)
    assert line.engine.busy and line.engine.baud == 9600
    line.run(1001)
    assert not line.engine.busy and line.engine.baud == 300
    assert line.device.calls[-1] == ("end", 2, "timeout")


def test_a_half_received_frame_is_dropped_and_the_port_stays_open():
    line = Line()
    programming(line)
    line.send(b"\x01R1\x021-0:1.8")
    line.run(FRAME_GAP_MS)
    assert line.engine.n == 0 and line.engine.busy and line.engine.errors == 1
    line.send(command_frame(b"R1", b"1-0:1.8.0()"))
    line.run(300)
    assert line.take() == data_frame(b"1-0:1.8.0(12.345*kWh)")


def test_a_new_sign_on_restarts_after_a_readout():
    line = Line()
    sign_on(line)
    line.run(3000)
    line.take()
    line.send(b"/?!\r\n")
    line.run(1000)
    assert line.take() == b"/PPM5PREPAY\r\n"
