"""The daily and monthly history: the last rows of a few integer columns, in arrays
allocated once at start-up.

A list of lists takes a new block or two every day and, as the oldest day leaves, makes
a hole; months of that fragment a meter's heap, and 400 days of lists (the most the
configuration allows) would be about 25 KB on an ESP32. In arrays a day is 20 bytes
whatever the count. Rows are read as lists (indexing, slices, iteration: oldest first),
as the "history" record keeps them.
"""
from array import array

_ITEM_BYTES = {"i": 4, "q": 8}
DAILY = "iqq"       # day number, consumption (milli-units), money (credit micro)
MONTHLY = "iqqi"    # month key (YYYYMM), consumption, money, max demand (W or L/h)


class Rows:
    """The last ``capacity`` rows, one column per typecode of ``columns``."""

    def __init__(self, capacity, columns, rows=()):
        self.capacity = capacity
        self._columns = [array(code, bytes(_ITEM_BYTES[code] * capacity)) for code in columns]
        self._next = 0            # slot the next row goes to
        self.count = 0
        for row in rows[-capacity:]:
            self.append(row)

    def append(self, row):
        for column, value in zip(self._columns, row):
            column[self._next] = value
        self._next = (self._next + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1

    def __len__(self):
        return self.count

    def _row(self, i):
        slot = (self._next - self.count + i) % self.capacity
        return [column[slot] for column in self._columns]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self.count))]
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("history row out of range")
        return self._row(index)

    def __iter__(self):
        for i in range(self.count):
            yield self._row(i)

    def rows(self):
        """All rows, oldest first, as the record keeps them."""
        return [self._row(i) for i in range(self.count)]

    def dump(self, out):
        """``rows()`` as JSON into the stream ``out``, a row at a time: the list of lists
        would be ~80 bytes of heap a row at the day close, the meter's largest save."""
        out.write(b"[")
        for i in range(self.count):
            slot = (self._next - self.count + i) % self.capacity
            out.write(b",[" if i else b"[")
            out.write(b",".join([b"%d" % column[slot] for column in self._columns]))
            out.write(b"]")
        out.write(b"]")


class Record:
    """The "history" record, ``{"daily": rows, "monthly": rows}``, for ``Store.save``,
    which has it write its own JSON (``dump``)."""

    def __init__(self, daily, monthly):
        self.daily = daily
        self.monthly = monthly

    def dump(self, out):
        out.write(b'{"daily":')
        self.daily.dump(out)
        out.write(b',"monthly":')
        self.monthly.dump(out)
        out.write(b"}")
