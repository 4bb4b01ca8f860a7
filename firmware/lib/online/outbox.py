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
"""
import os

HOUR = 3600
DAY = 86400
NAME = "outbox.log"


class Outbox:
    def __init__(self, data_dir, limit):
        self.path = data_dir.rstrip("/") + "/" + NAME
        self.limit = limit
        self.sent = 0               # bytes at the head of the file the broker has
        self.coarsened = 0          # readings dropped by coarsening, since start
        try:
            self.size = os.stat(self.path)[6]
        except OSError:
            self.size = 0

    def add_reading(self, seq, t, period_s, values):
        self._append("R %d %d %d %s\n" % (seq, t, period_s, values))

    def add(self, topic, payload):
        """A message as published; a signed result's two lines are kept as one (a tab
        for the newline: JSON text never holds a raw tab)."""
        self._append("E %s %s\n" % (topic, payload.replace("\n", "\t")))

    def _append(self, line):
        data = line.encode()
        if self.size + len(data) > self.limit:
            self.coarsen()
        with open(self.path, "ab") as f:
            f.write(data)
        self.size += len(data)

    def pending(self):
        return self.size > self.sent

    def peek(self):
        """(line length in bytes, the line's fields) of the oldest unsent line, or None.
        Fields: ``("R", seq, t, period_s, values)`` or ``("E", topic, payload)``."""
        while self.size > self.sent:
            with open(self.path, "rb") as f:
                f.seek(self.sent)
                raw = f.readline()
            if not raw:
                self.size = self.sent       # shorter than counted: nothing more to send
                break
            fields = parse(raw)
            if fields is not None:
                return len(raw), fields
            self.sent += len(raw)           # not a whole line: skipped
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

    def coarsen(self):
        """Fewer readings (see the module doc); what was sent already is dropped too."""
        for bucket in (HOUR, DAY):
            self._rewrite(bucket)
            if self.size <= self.limit * 3 // 4:
                return

    def _lines(self):
        with open(self.path, "rb") as f:
            f.seek(self.sent)
            while True:
                raw = f.readline()
                if not raw:
                    return
                yield raw

    def _rewrite(self, bucket):
        if self.size <= self.sent:
            return
        drop = []
        last = None                 # (seq, bucket number) of the previous reading
        for raw in self._lines():
            fields = parse(raw)
            if fields is None or fields[0] != "R":
                continue
            here = fields[2] // bucket
            if last is not None and last[1] == here:
                drop.append(last[0])
            last = (fields[1], here)
        new = self.path + ".new"
        size = 0
        with open(new, "wb") as out:
            for raw in self._lines():
                fields = parse(raw)
                if fields is None:
                    continue
                if fields[0] == "R":
                    if fields[1] in drop:
                        continue
                    raw = ("R %d %d %d %s\n" % (fields[1], fields[2], max(fields[3], bucket),
                                                fields[4])).encode()
                out.write(raw)
                size += len(raw)
        os.rename(new, self.path)
        self.coarsened += len(drop)
        self.size = size
        self.sent = 0


def parse(raw):
    """A line's fields (see ``Outbox.peek``), or None for a line that is not whole."""
    if raw[-1:] != b"\n":
        return None
    try:
        text = raw[:-1].decode()
        if text[:2] == "R ":
            _, seq, t, period, values = text.split(" ", 4)
            return "R", int(seq), int(t), int(period), values
        if text[:2] == "E ":
            _, topic, payload = text.split(" ", 2)
            return "E", topic, payload.replace("\t", "\n")
    except ValueError:          # UnicodeError is one on both runtimes
        pass
    return None
