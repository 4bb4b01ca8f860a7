"""The meter's event log: a ring buffer of time-stamped, typed entries.

An entry is ``[seq, t, kind, detail, value]``: ``seq`` counts every event ever logged
(so a reader can see what was overwritten), ``t`` is meter time, ``kind`` one of KINDS,
``detail`` a short code (e.g. the supply-change reason), ``value`` an int (amount,
watts, state code...).

On flash the log is kept in pages of 50 entries (``_PAGE``), records "ev0".."ev<n-1>"
used in turn (page of an entry = (seq - 1) // 50, record = page mod n). A save writes
only the pages that changed, so a save is small (about 2 KB) whatever the capacity, and
with one page more than the capacity needs, at least ``capacity`` entries always survive.
"""
from array import array

from const import const

KINDS = ("token", "credit", "alarm", "supply", "tamper", "power", "clock", "config",
         "tariff", "leak", "load")
_PAGE = const(50)


def page_count(capacity):
    return (capacity + _PAGE - 1) // _PAGE + 1


class EventLog:
    """The last ``capacity`` events in a ring allocated once at start-up: on a meter the
    heap fragments over months, and a list that grows (or shifts) needs a fresh block.

    The ring is packed in parallel arrays (seq, t, value) and bytearrays of indices into a
    small table of the kind and detail strings (a fixed vocabulary of the code): 18 bytes
    an entry instead of a 5-element list (about 100 bytes on a 64-bit port, 60 on the
    ESP32) plus its detail string after a load; 200 entries take 3.6 KB instead of
    about 20 KB. Entries are rebuilt as lists when read. ``t`` is unsigned 32-bit: meter
    time (seconds since 2000) reaches 2**32 in 2136."""

    def __init__(self, capacity=200):
        self.capacity = capacity
        self._seq = array("I", bytes(4 * capacity))
        self._t = array("I", bytes(4 * capacity))
        self._value = array("q", bytes(8 * capacity))
        self._kind = bytearray(capacity)
        self._detail = bytearray(capacity)
        self._names = list(KINDS)     # kind and detail strings, indexed by the bytearrays
        self._next = 0            # slot the next event goes to
        self.count = 0            # events held (at most capacity)
        self.seq = 0
        self.dirty_from = None    # seq of the first entry not yet saved

    def _name_index(self, name):
        names = self._names
        try:
            return names.index(name)
        except ValueError:
            pass
        if len(names) == 256:
            self._compact_names()
            names = self._names
            if len(names) == 256:
                raise ValueError("more than 256 event names in the log")
        names.append(name)
        return len(names) - 1

    def _compact_names(self):
        """Keep only the names the ring still uses (a code vocabulary never gets here)."""
        old = self._names
        new = []
        for column in (self._kind, self._detail):
            for i in range(self.count):
                slot = (self._next - 1 - i) % self.capacity
                name = old[column[slot]]
                if name not in new:
                    new.append(name)
                column[slot] = new.index(name)
        self._names = new

    def _put(self, slot, seq, t, kind, detail, value):
        self._seq[slot] = seq
        self._t[slot] = t
        self._kind[slot] = self._name_index(kind)
        self._detail[slot] = self._name_index(detail)
        self._value[slot] = value

    def _entry(self, slot):
        names = self._names
        return [self._seq[slot], self._t[slot], names[self._kind[slot]],
                names[self._detail[slot]], self._value[slot]]

    def add(self, t, kind, detail, value=0):
        self._append(self.seq + 1, t, kind, detail, value)
        if self.dirty_from is None:
            self.dirty_from = self.seq

    def _append(self, seq, t, kind, detail, value):
        self._put(self._next, seq, t, kind, detail, value)
        self.seq = seq
        self._next = (self._next + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1

    def entries(self):
        """The entries, oldest first (a generator: no list is built)."""
        first = (self._next - self.count) % self.capacity
        for i in range(self.count):
            yield self._entry((first + i) % self.capacity)

    def newest_first(self):
        for i in range(1, self.count + 1):
            yield self._entry((self._next - i) % self.capacity)

    @property
    def items(self):
        """The entries as a list, oldest first (for read-outs and tests)."""
        return list(self.entries())

    @property
    def dirty(self):
        return self.dirty_from is not None

    def load(self, store):
        """Rebuild the log from the page records of a store, oldest page first and one
        page in the heap at a time (each is read twice: for its number, then for its
        entries); a list of every entry would be a few times the ring's size at boot."""
        order = []
        for i in range(page_count(self.capacity)):
            rec = store.load("ev%d" % i)
            if rec:
                order.append((rec["page"], i))
        order.sort()
        for _, i in order:
            for entry in store.load("ev%d" % i)["items"]:
                self._append(*entry)

    def save(self, store):
        """Write the pages holding unsaved entries; returns the number of saves."""
        if self.dirty_from is None:
            return 0
        n = page_count(self.capacity)
        first_page = (self.dirty_from - 1) // _PAGE
        last_page = (self.seq - 1) // _PAGE
        saves = 0
        for page in range(max(first_page, last_page - n + 1), last_page + 1):
            lo = page * _PAGE + 1
            entries = [e for e in self.entries() if lo <= e[0] < lo + _PAGE]
            store.save("ev%d" % (page % n), {"page": page, "items": entries})
            saves += 1
        self.dirty_from = None
        return saves

    def last(self, kind=None):
        """The newest entry (of one kind if given), or None."""
        for e in self.newest_first():
            if kind is None or e[2] == kind:
                return e
        return None

    def find(self, kind, detail=None):
        """All entries of one kind (and detail), oldest first."""
        return [e for e in self.entries()
                if e[2] == kind and (detail is None or e[3] == detail)]
