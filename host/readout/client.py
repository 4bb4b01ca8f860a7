"""An IEC 62056-21 mode C client over pyserial: sign-on, data readout and programming mode
(P1, R1, W1, B0), for a Prepay meter or any mode C meter.

``port`` is a device path or a pyserial URL (``socket://host:port``, ``rfc2217://``).
What real optical heads and converters do is expected: the echo of what the host sends
(detected at the sign-on, then dropped), a baud switch done on the open port (a re-open
would flush the meter's first bytes), a meter that answers late (up to ``timeout``
seconds per answer), a sign-on lost on the way (a meter waking up or rebooting drops
what came before it listens; a head not yet aligned): sent again ``retries`` times when
nothing at all came back. Every failure is a ``ReadoutError`` in one line.
"""
import time

import serial

from host.errors import UserError
from host.text import reason

SOH, STX, ETX, EOT, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x04", b"\x06", b"\x15"
BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200)
BLOCK = 200         # a W1 data set longer than this goes in partial blocks (the
                    # meter takes frames of 256 bytes)
RETRIES = 3         # a block the meter NAKs (a wrong BCC on the way) is sent again


class ReadoutError(UserError):
    """The meter did not answer, or answered what a mode C meter must not."""


class MeterRefused(ReadoutError):
    """The meter answered with an error message (its text) or a NAK."""


def bcc(data):
    acc = 0
    for b in data:
        acc ^= b
    return acc & 0x7F


def command(kind, data_set=None):
    body = kind.encode() + (STX + data_set.encode() if data_set is not None else b"") + ETX
    return SOH + body + bytes((bcc(body),))


def blocks(kind, data_set, size=BLOCK):
    """The frames of a command whose data goes in partial blocks of ``size`` bytes:
    SOH kind STX data EOT BCC, STX data EOT BCC ..., the last ending with ETX."""
    data = data_set.encode()
    parts = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    frames = []
    for i, part in enumerate(parts):
        end = ETX if i == len(parts) - 1 else EOT
        body = (kind.encode() + STX if i == 0 else b"") + part + end
        frames.append((SOH if i == 0 else STX) + body + bytes((bcc(body),)))
    return frames


def parse_data_set(text):
    """'1-0:1.8.0(12.5*kWh)' -> ('1-0:1.8.0', '12.5', 'kWh'); the unit may be ''."""
    if "(" not in text or not text.endswith(")"):
        raise ReadoutError("a data set the meter sent is malformed: %r" % text[:60])
    code, _, rest = text.partition("(")
    value, _, unit = rest[:-1].partition("*")
    return code, value, unit


class ModeCClient:
    def __init__(self, port, address="", timeout=3.0, echo="auto", switch_delay=0.0,
                 retries=2):
        self.port_name = port
        self.retries = retries
        self.address = address
        self.timeout = timeout
        self.echo = echo                # "auto" (found at the sign-on), "on", "off"
        self.switch_delay = switch_delay
        self.identification = None
        self.programming = False
        self._buf = b""
        try:
            self.serial = serial.serial_for_url(port, baudrate=300, bytesize=serial.SEVENBITS,
                                                parity=serial.PARITY_EVEN,
                                                stopbits=serial.STOPBITS_ONE, timeout=0.05)
        except (serial.SerialException, ValueError) as exc:
            raise ReadoutError("cannot open %s: %s" % (port, reason(exc)))

    # ------------------------------------------------------------------ bytes
    def _fill(self, deadline):
        while time.monotonic() < deadline:
            data = self.serial.read(self.serial.in_waiting or 1)
            if data:
                self._buf += data
                return True
        return False

    def _read_until(self, done, what):
        """Bytes up to where ``done(buf)`` says the answer ends (an index), waiting at
        most ``timeout`` after the last byte that came."""
        deadline = time.monotonic() + self.timeout
        while True:
            end = done(self._buf)
            if end:
                answer, self._buf = self._buf[:end], self._buf[end:]
                return answer
            if not self._fill(deadline):
                raise ReadoutError("no %s from the meter at %s within %.1f s"
                                   % (what, self.port_name, self.timeout))
            deadline = time.monotonic() + self.timeout

    def _send(self, data):
        self.serial.write(data)
        self.serial.flush()
        if self.echo == "on":
            echoed = self._read_until(lambda b: len(data) if len(b) >= len(data) else 0,
                                      "echo")
            if echoed != data:
                self._buf = echoed + self._buf   # not an echo after all: the answer

    # ------------------------------------------------------------------ messages
    def sign_on(self):
        """/?[address]! -> the identification; returns it (e.g. '/PPM5PREPAY')."""
        request = ("/?%s!\r\n" % self.address).encode()
        for _ in range(self.retries + 1):
            self.serial.reset_input_buffer()
            self._buf = b""
            try:
                return self._sign_on(request)
            except ReadoutError as exc:
                if self._buf or not str(exc).startswith("no identification"):
                    raise
        raise ReadoutError("no identification from the meter at %s within %.1f s (%d tries)"
                           % (self.port_name, self.timeout, self.retries + 1))

    def _sign_on(self, request):
        self._send(request)

        def line(b):
            start = b.find(b"/")
            if start > 0:
                del_noise = b[start:]
                self._buf = del_noise
                b = del_noise
            end = b.find(b"\n")
            return end + 1 if start >= 0 and end >= 0 else 0
        ident = self._read_until(line, "identification")
        if ident == request and self.echo != "off":      # an optical head echoes
            self.echo = "on"
            ident = self._read_until(line, "identification")
        elif self.echo == "auto":
            self.echo = "off"
        text = ident.decode("ascii", "replace").strip()
        if len(text) < 5 or not text[4].isdigit():
            raise ReadoutError("not a mode C identification: %r" % text)
        self.identification = text
        return text

    def _option(self, mode):
        proposed = int(self.identification[4])
        z = min(proposed, 5) if proposed <= 6 else 0
        self._send(ACK + b"0" + str(z).encode() + mode + b"\r\n")
        self.serial.baudrate = BAUDS[z]        # on the open port: nothing is flushed
        if self.switch_delay:
            time.sleep(self.switch_delay)

    def readout(self):
        """Sign on and read out: [(code, value, unit)] with the block check verified."""
        self.sign_on()
        self._option(b"0")
        block = self._read_block()
        lines = [x for x in block.decode("ascii", "replace").split("\r\n") if x]
        if not lines or lines[-1] != "!":
            raise ReadoutError("the readout does not end with '!'")
        return [parse_data_set(x) for x in lines[:-1]]

    def _read_block(self):
        """STX ... ETX BCC (checked) -> the bytes between STX and ETX."""
        def frame(b):
            start = b.find(STX)
            end = b.find(ETX, start + 1) if start >= 0 else -1
            return end + 2 if end >= 0 and len(b) >= end + 2 else 0
        raw = self._read_until(frame, "answer")
        start = raw.find(STX)
        body = raw[start + 1:-1]
        if bcc(body) != raw[-1]:
            raise ReadoutError("the meter's answer has a wrong block check (BCC): a noisy "
                               "optical link? try again")
        return body[:-1]

    def _read_reply(self):
        """ACK, NAK or a data block (an answer or an error message)."""
        def reply(b):
            for i in range(len(b)):
                c = b[i:i + 1]
                if c in (ACK, NAK):
                    return i + 1
                if c == STX:
                    end = b.find(ETX, i)
                    return end + 2 if end >= 0 and len(b) >= end + 2 else 0
            return 0
        raw = self._read_until(reply, "answer")
        last = raw[-1:]
        if raw[-2:-1] != ETX and last in (ACK, NAK):
            return last
        self._buf = raw[raw.find(STX):] + self._buf
        return self._read_block()

    def program(self, password):
        """Sign on into programming mode and give the password; MeterRefused if wrong."""
        self.sign_on()
        self._option(b"1")
        def frame(b):
            end = b.find(ETX)
            return end + 2 if b.find(SOH) >= 0 and end >= 0 and len(b) >= end + 2 else 0
        raw = self._read_until(frame, "password request (P0)")
        raw = raw[raw.find(SOH):]
        if bcc(raw[1:-1]) != raw[-1] or raw[1:3] != b"P0":
            raise ReadoutError("no valid password request (P0) from the meter")
        self.programming = True
        self._send(command("P1", "(%s)" % password))
        answer = self._read_reply()
        if answer == ACK:
            return
        if answer == NAK:
            raise MeterRefused("the meter refused the password")
        raise MeterRefused("the meter refused the password: %s" % error_text(answer))

    def read(self, code, arg=""):
        """R1 of one code -> [(code, value, unit)] (several lines for the logs)."""
        self._send(command("R1", "%s(%s)" % (code, arg)))
        answer = self._read_reply()
        if answer in (ACK, NAK):
            raise MeterRefused("the meter answered %s to R1 %s"
                               % ("NAK" if answer == NAK else "ACK", code))
        text = answer.decode("ascii", "replace")
        if text.startswith("("):
            raise MeterRefused("%s: %s" % (code, error_text(answer)))
        return [parse_data_set(x) for x in text.split("\r\n") if x]

    def write(self, code, value):
        """W1 -> True (ACK) or False (NAK); MeterRefused for an error message. A data set
        over ``BLOCK`` bytes goes in partial blocks, each ACKed by the meter."""
        frames = blocks("W1", "%s(%s)" % (code, value))
        for frame in frames[:-1]:
            for _ in range(RETRIES):
                self._send(frame)
                answer = self._read_reply()
                if answer != NAK:
                    break
            if answer != ACK:
                raise MeterRefused("%s: the meter refused a block of the value: %s"
                                   % (code, "NAK" if answer == NAK else error_text(answer)))
        self._send(frames[-1])
        answer = self._read_reply()
        if answer == ACK:
            return True
        if answer == NAK:
            return False
        raise MeterRefused("%s: %s" % (code, error_text(answer)))

    def close(self):
        try:
            if self.programming:
                self._send(command("B0"))
                self.programming = False
                time.sleep(0.05)
        finally:
            self.serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def error_text(answer):
    return answer.decode("ascii", "replace").strip("()")
