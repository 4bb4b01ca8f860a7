"""The offline backlog: messages the broker has not acknowledged, oldest first, in one
file beside the store's records (``<data_dir>/outbox.log``), a line each::

    R <seq> <t> <period_s> <values JSON>      a reading (docs/mqtt.md)
    E <leaf> <payload>                        anything else, as published (events,
                                              results), on prepay/<PAN>/<leaf>

Power cuts: a line is appended and the file closed before the message counts as kept
(LittleFS commits a file atomically on close: a cut leaves the file without the line,
never half of it; a line without its newline, which another filesystem could leave, is
skipped). Coarsening writes a new file and renames it over the old one, atomic too.
What the broker acknowledged is counted in RAM (``sent``); the file goes when all of it
has been sent. A cut in between sends the acknowledged part again, with the same
``seq``, which the head-end stores once.

Bounded: when a line would take the file over ``limit`` bytes, readings are coarsened,
first to the last of each hour (``period_s`` 3600), and if the file is still over three
quarters of the limit, to the last of each day (86400). Events are never dropped: a
backlog of events alone may pass the limit (a meter offline for months with daily
readings, a few hundred bytes a day).

Heap: a line is read into the frame (``buf``, one buffer allocated at start, with ``HEAD``
bytes of room in front for the message's envelope), not into a new object: a reading is
about 1 KB and a meter's heap after months may have no free block that size. Messages are
composed in the same buffer (``online.messages``).
"""
import os

from const import const

HOUR = const(3600)
DAY = const(86400)
HEAD = const(96)
FRAME = const(1152)
NAME = "outbox.log"
_NL = const(10)
_TAB = const(9)


class Outbox:
    def __init__(self, data_dir, limit):
        self.path = data_dir.rstrip("/") + "/" + NAME
        self.limit = limit
        self.buf = bytearray(FRAME)
        self.mv = memoryview(self.buf)
        self.sent = 0               # bytes at the head of the file the broker has
        self.coarsened = 0          # readings dropped by coarsening, since start
        self.skipped = 0            # lines that were not whole, or longer than the frame
        try:
            self.size = os.stat(self.path)[6]
        except OSError:
            self.size = 0

    def add_reading(self, seq, t, period_s, values):
        """``values``: the JSON text, as bytes or a memoryview of the frame."""
        self._append(False, ("R %d %d %d " % (seq, t, period_s)).encode(), values, b"\n")

    def add(self, leaf, payload):
        """A message as published; a signed result's two lines are kept as one (a tab
        for the newline: JSON text never holds a raw tab)."""
        self._append(True, ("E %s " % leaf).encode(), payload.replace("\n", "\t").encode(),
                     b"\n")

    def _append(self, may_coarsen, *pieces):
        """``may_coarsen``: False when a piece is in the frame, which coarsening uses
        (the link makes room before it writes a reading there)."""
        n = 0
        for p in pieces:
            n += len(p)
        if may_coarsen and self.size + n > self.limit:
            self.coarsen()
        with open(self.path, "ab") as f:
            for p in pieces:
                f.write(p)
        self.size += n

    def pending(self):
        return self.size > self.sent

    def peek(self):
        """The oldest unsent line as (its length with the newline, kind, fields, body):
        ``"R", (seq, t, period_s)`` and the values' place in ``buf`` as (start, end);
        or ``"E", leaf`` and the payload's (start, end), newlines put back. None when
        nothing is left."""
        while self.size > self.sent:
            line = self._line(self.sent)
            if line is None:
                self.size = self.sent       # shorter than counted: nothing more to send
                break
            n, parsed = line
            if parsed is not None:
                return (n,) + parsed
            self.sent += n                  # not a line of ours: skipped
            self.skipped += 1
        self.done(0)
        return None

    def done(self, n):
        """The broker acknowledged ``n`` more bytes' worth; the file goes once all has."""
        self.sent += n
        if self.sent >= self.size:
            try:
                os.remove(self.path)
            except OSError:
                pass
            self.sent = self.size = 0

    def _line(self, offset, f=None):
        """(length with newline, parsed or None) of the line at ``offset``, read into
        the frame after its HEAD; None at the end of the file. A line longer than the
        frame is skipped (counted in ``skipped``): readings, events and results are
        built to fit it."""
        if f is None:
            with open(self.path, "rb") as f:
                return self._line(offset, f)
        f.seek(offset)
        got = f.readinto(self.mv[HEAD:])
        if not got:
            return None
        end = self.buf.find(b"\n", HEAD, HEAD + got)
        if end >= 0:
            return end - HEAD + 1, parse(self.buf, self.mv, HEAD, end)
        if HEAD + got < FRAME:
            return got, None                # the last line, not whole: skipped
        f.seek(offset)
        return len(f.readline()), None

    def coarsen(self):
        """Fewer readings (see the module doc); what was sent already is dropped too."""
        for bucket in (HOUR, DAY):
            self._rewrite(bucket)
            if self.size <= self.limit * 3 // 4:
                return

    def _rewrite(self, bucket):
        if self.size <= self.sent:
            return
        drop = []
        last = None                 # (seq, bucket number) of the previous reading
        with open(self.path, "rb") as f:
            offset = self.sent
            while True:
                line = self._line(offset, f)
                if line is None:
                    break
                offset += line[0]
                if line[1] is None or line[1][0] != "R":
                    continue
                seq, t, _ = line[1][1]
                if last is not None and last[1] == t // bucket:
                    drop.append(last[0])
                last = (seq, t // bucket)
            new = self.path + ".new"
            size = 0
            offset = self.sent
            with open(new, "wb") as out:
                while True:
                    line = self._line(offset, f)
                    if line is None:
                        break
                    offset += line[0]
                    parsed = line[1]
                    if parsed is None:
                        continue
                    a, b = parsed[2]
                    if parsed[0] == "R":
                        seq, t, period = parsed[1]
                        if seq in drop:
                            continue
                        prefix = ("R %d %d %d " % (seq, t, max(period, bucket))).encode()
                    else:
                        i = self.buf.find(b"\n", a, b)     # back to tabs (results)
                        while i >= 0:
                            self.buf[i] = _TAB
                            i = self.buf.find(b"\n", i + 1, b)
                        prefix = ("E %s " % parsed[1]).encode()
                    out.write(prefix)
                    out.write(self.mv[a:b])
                    out.write(b"\n")
                    size += len(prefix) + b - a + 1
        os.rename(new, self.path)
        self.coarsened += len(drop)
        self.size = size
        self.sent = 0


def parse(buf, mv, start, end):
    """A line's fields from ``buf[start:end]`` (no newline), or None."""
    kind = buf[start]
    try:
        if kind == 82 and buf[start + 1] == 32:             # "R "
            marks = [start + 1]             # the spaces after R, seq, t and period
            for _ in range(3):
                i = buf.find(b" ", marks[-1] + 1, end)
                if i < 0:
                    return None
                marks.append(i)
            seq = int(bytes(mv[marks[0] + 1:marks[1]]))
            t = int(bytes(mv[marks[1] + 1:marks[2]]))
            period = int(bytes(mv[marks[2] + 1:marks[3]]))
            return "R", (seq, t, period), (marks[3] + 1, end)
        if kind == 69 and buf[start + 1] == 32:             # "E "
            i = buf.find(b" ", start + 2, end)
            if i < 0:
                return None
            leaf = bytes(mv[start + 2:i]).decode()
            j = buf.find(b"\t", i + 1, end)
            while j >= 0:
                buf[j] = _NL
                j = buf.find(b"\t", j + 1, end)
            return "E", leaf, (i + 1, end)
    except ValueError:          # not numbers, not text: not a line of ours
        pass
    return None
