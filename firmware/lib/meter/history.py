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
        """All rows, oldest first, as the record saves them."""
        return [self._row(i) for i in range(self.count)]
