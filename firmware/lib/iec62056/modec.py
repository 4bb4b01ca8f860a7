"""IEC 62056-21 protocol mode C, the meter's side, as a state machine fed with bytes.

The engine never blocks and never reads a clock: the caller hands it what the port
received (``feed(data, now)``), asks for what is due (``pump(now)`` -> bytes to write,
or None), sets the port to ``baud`` when it changes, and may sleep ``wait_ms(now)``.
``now`` is the board's ``ticks_ms()``; the board's ``ticks_diff`` is handed in, so a
wrapping tick counter is fine.

The exchange (docs/obis.md, ../shared/docs/iec62056-21.md sections 4-6):

* idle at 300 Bd: NULs and noise are dropped until ``/``; ``/?!`` or ``/?ADDRESS!``
  (leading zeros not significant; another meter's address is ignored) is answered
  after the reaction time with ``/XXXZident``;
* the ACK/option select ``ACK 0 Z Y``: Z at most the proposed baud (a lower one is
  honoured), Y ``0`` readout, ``1`` programming, anything else the readout; the port
  switches to Z at once and the meter speaks after ``switch_ms``;
* readout: ``STX lines ! CR LF ETX BCC``, streamed a line at a time at the pace of the
  wire, then back to idle at 300 Bd;
* programming: ``P0`` with the device address, then commands ``P1`` (password, two
  levels), ``R1``, ``W1`` (technician level) and ``B0`` (end). A wrong BCC, an
  overlong or broken frame is answered NAK; an unknown command or register, a read or
  write without the level, a value out of range with ``STX (TEXT) ETX BCC``. A
  ``P0`` received is the echo of the meter's own request and is ignored;
* partial blocks (section 2 of the standard): a command whose data ends with ``EOT``
  is ACKed and continued by ``STX data EOT|ETX BCC`` blocks, each ACKed, until the
  one ending with ``ETX``; the command then runs on the whole data (a W1 of a value
  longer than a block, e.g. a tariff table), at most ``MAX_MESSAGE`` bytes in all;
* no byte for ``inactivity_ms`` (the option select: ``OPTION_WAIT_MS``) ends the session
  and returns to 300 Bd; a frame left half-received for ``FRAME_GAP_MS`` is dropped,
  so a broken frame never holds the port.

The meter's data is the device's: ``readout()`` lines, ``password(text)`` -> level
(0: wrong), ``read(code, arg, level)`` lines, ``write(code, value, level)`` -> True
(ACK) or False (NAK), ``session_end(level, how)``; each may raise ``Refused(text)``
for an error message. Anything else a device raises is answered ``(FAULT)`` and kept in
``fault``: no exception leaves the engine.
"""
from iec62056.frame import (ACK, BAUDS, CR, EOT, ETX, LF, NAK, SOH, STX, bcc, clean_text,
                            command_frame, data_frame, wire_ms)

IDLE = 0        # 300 Bd, waiting for a sign-on
OPTION = 1      # identification sent, waiting for the ACK/option select
SENDING = 2     # the meter talks: identification, readout, an answer
PROG = 3        # programming mode, waiting for a command
START_BAUD = 300
MAX_REQUEST = 40            # "/?" + a 32-character address + "!\r\n", with room
MAX_FRAME = 256             # the standard's value is 32 characters; longer in blocks
MAX_MESSAGE = 2048          # a command sent in partial blocks, all blocks together
FRAME_GAP_MS = 1500
OPTION_WAIT_MS = 5000
SLASH = 0x2F
QUESTION = 0x3F
BANG = 0x21


class Refused(Exception):
    """An R1, W1 or P1 the meter answers with an error message: ``args[0]`` is its text."""


class ModeC:
    def __init__(self, device, settings, ticks_diff):
        self.device = device
        self.ticks_diff = ticks_diff
        mfr = settings["manufacturer"]
        if settings["reaction_ms"] < 200:        # a lower-case third letter: 20 ms
            mfr = mfr[:2] + mfr[2].lower()
        self.ident = ("/%s%d%s\r\n" % (mfr, settings["baud"], settings["ident"])).encode()
        self.address = settings["address"].encode()
        self.max_z = settings["baud"]
        self.reaction_ms = settings["reaction_ms"]
        self.switch_ms = settings["switch_ms"]
        self.inactivity_ms = settings["inactivity_s"] * 1000
        self.buf = bytearray(MAX_FRAME)
        self.n = 0                  # bytes in buf
        self.bcc_next = False       # the frame's ETX arrived: the next byte is its BCC
        self.partial = None         # a command's blocks so far (SOH C D STX data...)
        self.state = IDLE
        self.baud = START_BAUD
        self.level = 0              # 0 none, 1 reader, 2 technician
        self.out = None             # iterator of chunks to send
        self.pending = None         # its next chunk, fetched ahead
        self.after = IDLE           # the state once they are sent
        self.t0 = 0                 # the timer: due when ticks_diff(now, t0) >= wait
        self.wait = None
        self.last_rx = 0
        self.errors = 0             # frames refused (NAK, error message, dropped)
        self.readouts = 0
        self.sessions = 0           # programming sessions opened
        self.fault = None           # the last exception a device call raised

    # ------------------------------------------------------------------ the caller's side
    def feed(self, data, now):
        try:
            for b in data:
                self._byte(b & 0x7F, now)
        except MemoryError as exc:      # e.g. a value in partial blocks on a full heap:
            self.partial = None         # refused, the rest of what came dropped
            self.fault = exc
            self.n = 0
            self.bcc_next = False
            if self.state == PROG:
                self._error("NO MEMORY", now)
            elif self.state != SENDING:
                self._end("memory", now)

    def pump(self, now):
        """The next chunk to write now, or None; runs the timers."""
        if self.wait is None:
            self._timeouts(now)
            return None
        if self.ticks_diff(now, self.t0) < self.wait:
            return None
        self.wait = None
        if self.out is None:            # the last chunk has left the port
            if self.state == IDLE:
                self.baud = START_BAUD
            return None
        chunk = self.pending
        if chunk is None:
            chunk = self._next()
        self.pending = None if chunk is None else self._next()
        if chunk is None:               # nothing to say after all (or a device fault)
            self.out = None
            self._enter(self.after, now)
            if self.state == IDLE:
                self.baud = START_BAUD
            return None
        self.t0 = now
        self.wait = wire_ms(len(chunk), self.baud)
        if self.pending is None:        # the last chunk: what comes in now is for the
            self.out = None             # next state (a pty delivers the answer at once)
            self._enter(self.after, now)
        return chunk

    def _next(self):
        try:
            return next(self.out)
        except StopIteration:
            return None
        except Exception as exc:  # noqa: BLE001 - a device fault must not stop the port
            self.fault = exc
            self.errors += 1
            self.after = IDLE
            return None

    def wait_ms(self, now):
        """Milliseconds until the engine needs ``pump`` again; None while idle."""
        if self.wait is not None:
            left = self.wait - self.ticks_diff(now, self.t0)
            return left if left > 0 else 0
        if self.state == IDLE:
            return None
        quiet = self.ticks_diff(now, self.last_rx)
        limit = OPTION_WAIT_MS if self.state == OPTION else self.inactivity_ms
        if self.n and FRAME_GAP_MS < limit:
            limit = FRAME_GAP_MS
        left = limit - quiet
        return left if left > 0 else 0

    @property
    def busy(self):
        """A session is open (the task polls the port more often)."""
        return self.state != IDLE

    # ------------------------------------------------------------------ states
    def _enter(self, state, now):
        """The state; on IDLE the baud returns to 300 when the last chunk has drained
        (``pump``) or at once (``_end``)."""
        self.state = state
        self.last_rx = now
        self.n = 0
        self.bcc_next = False
        if state == IDLE:
            self.level = 0
            self.partial = None

    def _send(self, chunks, after, delay_ms, now):
        self.state = SENDING
        self.out = chunks
        self.pending = None
        self.after = after
        self.t0 = now
        self.wait = delay_ms

    def _timeouts(self, now):
        state = self.state
        if state == IDLE:
            return
        quiet = self.ticks_diff(now, self.last_rx)
        if state == PROG and self.n and quiet >= FRAME_GAP_MS:
            self.n = 0                  # half a frame: dropped, the port stays open
            self.bcc_next = False
            self.errors += 1
        limit = OPTION_WAIT_MS if state == OPTION else self.inactivity_ms
        if quiet >= limit:
            self._end("timeout", now)

    def _end(self, how, now):
        level = self.level
        if self.state == PROG:
            self._call(self.device.session_end, level, how)
        self._enter(IDLE, now)
        self.baud = START_BAUD
        self.wait = None
        self.out = None

    # ------------------------------------------------------------------ bytes in
    def _byte(self, b, now):
        state = self.state
        if state == SENDING:
            return                      # the meter's turn: an echo or noise
        self.last_rx = now
        if state == PROG:
            self._frame_byte(b, now)
            return
        buf = self.buf
        if b == SLASH or (b == ACK and state == OPTION):
            buf[0] = b
            self.n = 1
            return
        n = self.n
        if n == 0:
            return                      # NUL wake-up, noise
        if n >= MAX_REQUEST:
            self.n = 0
            self.errors += 1
            return
        buf[n] = b
        n += 1
        self.n = n
        if b == LF:
            self.n = 0
            if buf[0] == SLASH:
                self._request(n, now)
            else:
                self._option(n, now)

    def _request(self, n, now):
        buf = self.buf
        if n < 5 or buf[1] != QUESTION or buf[n - 3] != BANG or buf[n - 2] != CR:
            return                      # not a request (e.g. the echo of our identification)
        if self._addressed(2, n - 3):
            self.baud = START_BAUD
            self._send(iter((self.ident,)), OPTION, self.reaction_ms, now)

    def _addressed(self, start, end):
        """The request's address is empty or ours (leading zeros not significant)."""
        buf = self.buf
        while start < end and buf[start] == 0x30:
            start += 1
        if start == end:
            return True
        mine = self.address
        i = 0
        while i < len(mine) and mine[i] == 0x30:
            i += 1
        return bytes(buf[start:end]) == mine[i:]

    def _option(self, n, now):
        buf = self.buf
        z = buf[2] - 0x30
        if n != 6 or buf[4] != CR or buf[1] != 0x30 or not 0 <= z <= self.max_z:
            self.errors += 1
            self._end("option", now)
            return
        self.baud = BAUDS[z]
        if buf[3] == 0x31:
            self.sessions += 1
            self.level = 0
            frame = command_frame(b"P0", b"(" + self.address + b")")
            self._send(iter((frame,)), PROG, self.switch_ms, now)
        else:
            self.readouts += 1
            self._send(self._block(self.device.readout(), True), IDLE, self.switch_ms, now)

    def _frame_byte(self, b, now):
        buf = self.buf
        n = self.n
        if b == SOH or (b == STX and n == 0 and self.partial is not None):
            buf[0] = b                  # a new frame (SOH never occurs inside one), or
            self.n = 1                  # the next block of a command in partial blocks
            self.bcc_next = False
            return
        if n == 0:
            return                      # echo of our answers, noise
        if self.bcc_next:
            self.n = 0
            self.bcc_next = False
            if bcc(memoryview(buf)[1:n]) != b:
                self._refuse(now)       # the host repeats the block
            else:
                self._block_in(n, now)
            return
        if n >= MAX_FRAME:
            self.n = 0
            self._refuse(now)
            return
        buf[n] = b
        self.n = n + 1
        if b == ETX or b == EOT:
            self.bcc_next = True

    # ------------------------------------------------------------------ commands
    def _refuse(self, now):
        self.errors += 1
        self._answer(b"\x15", now)

    def _answer(self, frame, now):
        self._send(iter((frame,)), PROG, self.reaction_ms, now)

    def _error(self, text, now):
        self.errors += 1
        self._answer(data_frame(b"(" + clean_text(text).encode() + b")"), now)

    def _block_in(self, n, now):
        """A frame with a good BCC in buf[:n]: a command, or a block of one. The blocks
        gather in ``partial``, dropped before the command runs (the heap wants it back)."""
        buf = self.buf
        if buf[0] == SOH:
            self.partial = None         # a new command drops an unfinished one
            if buf[n - 1] == EOT:
                if n < 5 or buf[3] != STX:
                    self._refuse(now)
                    return
                self.partial = bytearray(buf[:n - 1])
                self._answer(b"\x06", now)
                return
            parsed = self._parse(buf, n, now)
        else:
            if self.partial is None:    # STX only starts a frame when a command waits
                return
            if len(self.partial) + n - 1 > MAX_MESSAGE:
                self.partial = None
                self._error("TOO LONG", now)
                return
            self.partial.extend(memoryview(buf)[1:n - 1])
            if buf[n - 1] == EOT:
                self._answer(b"\x06", now)
                return
            self.partial.append(ETX)
            parsed = self._parse(self.partial, len(self.partial), now)
            self.partial = None
        if parsed is not None:
            self._command(parsed[0], parsed[1], parsed[2], now)

    def _parse(self, buf, n, now):
        """(kind, code, value) of the command frame buf[:n] (code and value None
        without data), or None when it was answered as malformed."""
        kind = bytes(buf[1:3])
        if n == 4:
            return kind, None, None
        if n > 6 and buf[3] == STX:
            parsed = data_set(buf, 4, n - 1)
            if parsed is None:
                self._error("FORMAT", now)
                return None
            return kind, parsed[0], parsed[1]
        self._refuse(now)
        return None

    def _command(self, kind, code, value, now):
        if kind == b"P0":
            return                      # the echo of our own password request
        if kind[0] == 0x42:             # B0, B1: end of the session
            self._end("break", now)
            return
        if kind == b"P1":
            if value is None:
                self._refuse(now)
                return
            level = self._call(self.device.password, value, now=now)
            if level is None:
                return
            if level:
                self.level = level
                self._answer(b"\x06", now)
            else:
                self._refuse(now)
            return
        if kind == b"R1" or kind == b"W1":
            need = 1 if kind == b"R1" else 2
            if code is None:
                self._refuse(now)
            elif self.level < need:
                self._error("NO ACCESS", now)
            elif need == 1:
                lines = self._call(self.device.read, code, value, self.level, now=now)
                if lines is not None:
                    self._send(self._block(lines, False), PROG, self.reaction_ms, now)
            else:
                done = self._call(self.device.write, code, value, self.level, now=now)
                if done is not None:
                    self._answer(b"\x06" if done else b"\x15", now)
            return
        self._error("UNKNOWN COMMAND", now)

    def _call(self, fn, *args, now=None):
        """A device call; a refusal or a fault becomes the error message (None back)."""
        try:
            return fn(*args)
        except Refused as exc:
            if now is not None:
                self._error(exc.args[0], now)
        except Exception as exc:  # noqa: BLE001 - a device fault must not stop the port
            self.fault = exc
            if now is not None:
                self._error("FAULT", now)
        return None

    def _block(self, lines, readout):
        """STX lines [! CR LF] ETX BCC, a line per chunk, the BCC counted on the way."""
        acc = 0
        head = b"\x02"
        sep = b""
        for line in lines:
            data = sep + line.encode() + (b"\r\n" if readout else b"")
            acc = bcc(data, acc)
            yield head + data
            head = b""
            if not readout:
                sep = b"\r\n"
        tail = (b"!\r\n\x03" if readout else b"\x03")
        yield head + tail + bytes((bcc(tail, acc),))


def data_set(buf, start, end):
    """(code, value) of ``code(value)`` in buf[start:end], or None when malformed.
    The value keeps its ``*unit``; a control character anywhere is malformed."""
    if end - start < 2 or buf[end - 1] != 0x29:
        return None
    i = start
    while i < end and buf[i] != 0x28:
        if buf[i] < 0x20 or buf[i] == 0x29:
            return None
        i += 1
    if i >= end - 1:
        return None
    for j in range(i + 1, end - 1):
        c = buf[j]
        if c < 0x20 or c == 0x28 or c == 0x29:
            return None
    view = memoryview(buf)          # one copy of the value, straight into its str
    return str(view[start:i], "ascii"), str(view[i + 1:end - 1], "ascii")
