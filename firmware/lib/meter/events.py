"""The meter's event log: a ring buffer of time-stamped, typed entries.

An entry is ``[seq, t, kind, detail, value]``: ``seq`` counts every event ever logged
(so a reader can see what was overwritten), ``t`` is meter time, ``kind`` one of KINDS,
``detail`` a short code (e.g. the supply-change reason), ``value`` an int (amount,
watts, new state code...). The list is what the store saves as the "events" record.
"""

KINDS = ("token", "credit", "alarm", "supply", "tamper", "power", "clock", "config",
         "tariff", "leak", "load")


class EventLog:
    def __init__(self, capacity=200, record=None):
        self.capacity = capacity
        self.items = []
        self.seq = 0
        if record:
            self.items = record["items"][-capacity:]
            self.seq = record["seq"]
        self.dirty = False

    def add(self, t, kind, detail, value=0):
        self.seq += 1
        self.items.append([self.seq, t, kind, detail, value])
        if len(self.items) > self.capacity:
            self.items.pop(0)
        self.dirty = True

    def record(self):
        return {"seq": self.seq, "items": self.items}

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
