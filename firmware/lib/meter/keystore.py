"""The meter's secrets at rest: one record in a flash partition of their own, not in a file.

Why not ``meter.store``: LittleFS copies on write, so a record saved over leaves its old
version in blocks that are only marked free, readable in a dump of the flash until the
filesystem happens to reuse them. A replaced decoder key must be gone, so the secrets live
in two erase blocks (sectors) of a partition that this module erases itself:

* ``save``: erase the other sector, program the new version (``seq`` + 1) there, then
  erase the sector that held the old version.
* ``load``: the newest version whose CRC holds; the other sector, if it holds anything
  (the old version or a torn write left by a power cut), is erased.

So a cut at any instant leaves exactly one valid version, the old one until the new one
is whole and the new one after; and once ``load`` or ``save`` has returned, no other
version's bytes are left in the partition. A sector holds ``meter.store``'s slot line
(``<crc32> <seq> <json>``, name ``keys``) padded with spaces to a multiple of 32 bytes
(encrypted flash is written in 32-byte units), in its first ``AREA`` bytes.

The partition is any block device with MicroPython's extended protocol (an ESP32's
``esp32.Partition``, the simulator's ``boards.sim.partition.Partition``) of at least two
blocks. ``MemoryKeyStore`` keeps the record in RAM (tests, tools).
"""
from const import const
from meter.store import decode_slot, encode_record, slot_header

NAME = "keys"
AREA = const(512)   # bytes of a sector a record may use; the rest is never programmed
_UNIT = const(32)
_EIO = const(5)
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_BLOCK_ERASE = const(6)


def encode_sector(seq, record):
    """The bytes programmed into a sector for one version of the record."""
    payload = encode_record(record).encode()
    header = slot_header(NAME, seq, payload)
    pad = -(len(header) + len(payload) + 1) % _UNIT
    if pad:     # inside the JSON text (trailing spaces), so the CRC covers it
        payload += b" " * pad
        header = slot_header(NAME, seq, payload)
    data = header + payload + b"\n"
    if len(data) > AREA:
        raise ValueError("the key record is %d bytes, at most %d fit" % (len(data), AREA))
    return data


def decode_sector(area):
    """(seq, record) from a sector's first AREA bytes, or None: erased, torn or corrupt."""
    end = area.find(b"\n")
    return None if end < 0 else decode_slot(NAME, bytes(area[:end + 1]))


class KeyStore:
    """The secrets record in the first two blocks of a partition (see the module doc)."""

    def __init__(self, dev):
        if dev.ioctl(_IOCTL_BLOCK_COUNT, 0) < 2 or dev.ioctl(_IOCTL_BLOCK_SIZE, 0) < AREA:
            raise ValueError("the key partition needs two erase blocks of %d bytes or more"
                             % AREA)
        self.dev = dev
        self.current = None     # (seq, sector) of the valid version; seq 0: none yet
        self.writes = 0

    def _erase(self, sector):
        if self.dev.ioctl(_IOCTL_BLOCK_ERASE, sector):
            raise OSError(_EIO)
        self.writes += 1

    def load(self):
        """The record, or None before the first save; tidies the other sector."""
        area = bytearray(AREA)
        found, dirty = [None, None], [False, False]
        for sector in (0, 1):
            self.dev.readblocks(sector, area, 0)
            found[sector] = decode_sector(area)
            dirty[sector] = area.count(b"\xff") != AREA
        best = None
        for sector in (0, 1):
            if found[sector] is not None and (best is None or found[sector][0] > found[best][0]):
                best = sector
        for sector in (0, 1):
            if sector != best and dirty[sector]:
                self._erase(sector)
        if best is None:
            self.current = (0, 1)
            return None
        self.current = (found[best][0], best)
        return found[best][1]

    def save(self, record):
        """Replace the record; when this returns, only the new version is in flash."""
        if self.current is None:
            self.load()
        seq, old = self.current
        data = encode_sector(seq + 1, record)
        new = 1 - old
        self._erase(new)        # erased again: a torn erase may look erased and not be
        if self.dev.writeblocks(new, data, 0):
            raise OSError(_EIO)
        self.writes += 1
        self.current = (seq + 1, new)
        if seq:
            self._erase(old)


class MemoryKeyStore:
    """The KeyStore API in RAM, for tests and tools."""

    def __init__(self):
        self.text = None
        self.writes = 0

    def load(self):
        import json
        return None if self.text is None else json.loads(self.text)

    def save(self, record):
        self.text = encode_record(record)
        self.writes += 1
