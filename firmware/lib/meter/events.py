"""The meter's event log: a ring buffer of time-stamped, typed entries.

An entry is ``[seq, t, kind, detail, value]``: ``seq`` counts every event ever logged
(so a reader can see what was overwritten), ``t`` is meter time, ``kind`` one of KINDS,
``detail`` a short code (e.g. the supply-change reason), ``value`` an int (amount,
watts, state code...).

On flash the log is kept in pages of PAGE entries, records "ev0".."ev<n-1>" used in
turn (page of an entry = (seq - 1) // PAGE, record = page mod n). A save writes only the
pages that changed, so a save is small (about 2 KB) whatever the capacity, and with one
page more than the capacity needs, at least ``capacity`` entries always survive.
"""

KINDS = ("token", "credit", "alarm", "supply", "tamper", "power", "clock", "config",
         "tariff", "leak", "load")
PAGE = 50


def page_count(capacity):
    return (capacity + PAGE - 1) // PAGE + 1


class EventLog:
    def __init__(self, capacity=200):
        self.capacity = capacity
        self.items = []
        self.seq = 0
        self.dirty_from = None    # seq of the first entry not yet saved

    def add(self, t, kind, detail, value=0):
        self.seq += 1
        self.items.append([self.seq, t, kind, detail, value])
        if len(self.items) > self.capacity:
            self.items.pop(0)
        if self.dirty_from is None:
            self.dirty_from = self.seq

    @property
    def dirty(self):
        return self.dirty_from is not None

    def load(self, store):
        """Rebuild the log from the page records of a store."""
        items = []
        for i in range(page_count(self.capacity)):
            rec = store.load("ev%d" % i)
            if rec:
                items.extend(rec["items"])
        items.sort(key=lambda e: e[0])
        self.items = items[-self.capacity:]
        self.seq = self.items[-1][0] if self.items else 0

    def save(self, store):
        """Write the pages holding unsaved entries; returns the number of saves."""
        if self.dirty_from is None:
            return 0
        n = page_count(self.capacity)
        first_page = (self.dirty_from - 1) // PAGE
        last_page = (self.seq - 1) // PAGE
        saves = 0
        for page in range(max(first_page, last_page - n + 1), last_page + 1):
            lo = page * PAGE + 1
            entries = [e for e in self.items if lo <= e[0] < lo + PAGE]
            store.save("ev%d" % (page % n), {"page": page, "items": entries})
            saves += 1
        self.dirty_from = None
        return saves

    def last(self, kind=None):
        """The newest entry (of one kind if given), or None."""
        for e in reversed(self.items):
            if kind is None or e[2] == kind:
                return e
        return None

    def find(self, kind, detail=None):
        """All entries of one kind (and detail), oldest first."""
        return [e for e in self.items
                if e[2] == kind and (detail is None or e[3] == detail)]
