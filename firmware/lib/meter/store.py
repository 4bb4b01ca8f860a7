"""Power-cut-safe records: the one place the meter's state lives on flash.

Each record (a small JSON-able dict of ints, strings and lists) has two slot
files, ``<name>.a`` and ``<name>.b``. A save writes the slot that does *not*
hold the newest version, so the newest complete version is never touched
while it is being replaced. A slot file is one line::

    <crc32 hex> <seq> <json>\\n

The CRC covers the record name, ``seq`` and the JSON text. ``load`` reads both
slots, drops any that fails the CRC or does not parse (a torn write) and
returns the one with the highest sequence number. So a power cut during a save
leaves the previous version, and after ``save`` returns the new one is there:
no temp files, no reliance on rename, and it holds on any filesystem that
keeps a closed file's bytes (LittleFS commits a file atomically on close,
which makes a torn slot rare there; on FAT or a host disk the CRC catches it).

``writes`` and ``bytes_written`` count saves for the flash-wear figures
(docs/flash-wear.md); ``rejected`` counts slots refused at load.

Records are up to a few KB and a meter's heap, littered by boot or by months of use, may
not have a free block that size: a save streams the JSON twice, once for the CRC and
once into the file, in pieces of a few bytes (``_Stream``); a load reads the CRC in
pieces into a buffer of its own and parses the JSON from the file (``read_slot``).
"""
import json
import os
from binascii import crc32
from io import IOBase

SLOT_SUFFIXES = (".a", ".b")
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-"


def check_name(name):
    """Record names become file names: lower-case letters, digits, '_' and '-'. (Not a
    loop over the characters: MicroPython interns each one it meets as a name.)"""
    if not name or len(name) > 32:
        raise ValueError("record name must be 1..32 characters: %r" % (name,))
    if name.strip(NAME_CHARS):      # what is left has a character not allowed at each end
        raise ValueError("record name %r: use a-z, 0-9, '_' or '-'" % (name,))


def encode_record(record):
    """Canonical JSON text of a record (compact, so small records stay inline)."""
    return json.dumps(record, separators=(",", ":"))


def slot_header(name, seq, payload):
    """``<crc32 hex> <seq> `` for a slot whose JSON bytes are payload; the CRC
    covers ``<name> <seq> <json>``. Built in pieces to spare the heap."""
    crc = crc32(payload, crc32(b"%s %d " % (name.encode(), seq)))
    return b"%08x %d " % (crc, seq)


def encode_slot(name, seq, text):
    """The bytes of one slot file."""
    payload = text.encode()
    return slot_header(name, seq, payload) + payload + b"\n"


def decode_slot(name, data):
    """(seq, record) from a slot file's bytes, or None if torn or corrupt."""
    if len(data) < 12 or data[-1:] != b"\n" or data[8:9] != b" ":
        return None
    body = data[9:-1]
    try:
        if int(data[:8], 16) != crc32(body, crc32(name.encode() + b" ")):
            return None
        space = body.index(b" ")
        return int(body[:space]), json.loads(body[space + 1:])
    except ValueError:  # bad hex, no space, bad JSON
        return None


def read_slot(name, f, buf):
    """``decode_slot`` of an open slot file, read ``len(buf)`` bytes at a time."""
    size = f.seek(0, 2)
    if size < 12:
        return None
    f.seek(0)
    head = f.read(9)
    if head[8:9] != b" ":
        return None
    crc = crc32(name.encode() + b" ")
    view = memoryview(buf)
    left = size - 10                    # the body: between the header and the newline
    while left:
        n = f.readinto(view[:min(left, len(buf))])
        if not n:
            return None
        crc = crc32(view[:n], crc)
        left -= n
    if f.read(1) != b"\n":
        return None
    try:
        if int(head[:8], 16) != crc:
            return None
        f.seek(9)
        seq = 0
        digit = f.read(1)
        while digit != b" ":
            seq = seq * 10 + int(digit)
            digit = f.read(1)
        return seq, json.load(f)
    except ValueError:  # bad hex or seq, bad JSON
        return None


class _Stream(IOBase):
    """Where ``json.dump`` writes a record (MicroPython's wants a stream): the CRC and
    size of its bytes, and the file when one is given."""

    def __init__(self, crc, file=None):
        self.crc = crc
        self.size = 0
        self.file = file

    def write(self, data):
        if isinstance(data, str):           # CPython's json.dump writes text
            data = data.encode()
        self.crc = crc32(data, self.crc)
        self.size += len(data)
        if self.file is not None:
            self.file.write(data)
        return len(data)


def dump_record(record, file=None, crc=0):
    """``encode_record``'s bytes streamed into ``file``; returns (their CRC, size)."""
    out = _Stream(crc, file)
    json.dump(record, out, separators=(",", ":"))
    return out.crc, out.size


class _HostFiles:
    """The running interpreter's own filesystem (LittleFS on the meter)."""

    open = staticmethod(open)
    mkdir = staticmethod(os.mkdir)


class Store:
    """Records on a mounted filesystem, in two alternating CRC-checked slots.

    ``root`` is a directory (created if missing). ``files`` is for tests only:
    an object with ``open(path, mode)`` and ``mkdir(path)`` for a filesystem
    that is not mounted into the interpreter (littlefs-python on CPython).
    """

    def __init__(self, root, files=None):
        self.files = files or _HostFiles
        self.root = root.rstrip("/")
        self.writes = 0
        self.bytes_written = 0
        self.rejected = 0
        self._newest = {}  # name -> (seq, slot index) of the newest valid slot
        self._buf = bytearray(64)   # a load's CRC pieces
        self._make_dirs()

    def _make_dirs(self):
        path = "/" if self.root.startswith("/") else ""
        for part in self.root.split("/"):
            if part:
                path += part
                try:
                    self.files.mkdir(path)
                except OSError:  # exists already
                    pass
                path += "/"

    def _slot_path(self, name, slot):
        return self.root + "/" + name + SLOT_SUFFIXES[slot]

    def _read_slot(self, name, slot):
        try:
            f = self.files.open(self._slot_path(name, slot), "rb")
        except OSError:  # no such slot yet
            return None
        with f:
            found = read_slot(name, f, self._buf)
        if found is None:
            self.rejected += 1
        return found

    def load(self, name):
        """The last completely saved version of the record, or None."""
        check_name(name)
        best, best_slot = None, 1
        for slot in (0, 1):
            found = self._read_slot(name, slot)
            if found is not None and (best is None or found[0] > best[0]):
                best, best_slot = found, slot
        if best is None:
            self._newest[name] = (0, 1)  # first save goes to slot 0
            return None
        self._newest[name] = (best[0], best_slot)
        return best[1]

    def save(self, name, record):
        """Write a new version; when this returns it survives a power cut."""
        if name not in self._newest:
            self.load(name)
        seq, slot = self._newest[name]
        seq, slot = seq + 1, 1 - slot
        crc, size = dump_record(record, None, crc32(b"%s %d " % (name.encode(), seq)))
        header = b"%08x %d " % (crc, seq)
        with self.files.open(self._slot_path(name, slot), "wb") as f:
            f.write(header)
            dump_record(record, f)
            f.write(b"\n")
        self._newest[name] = (seq, slot)
        self.writes += 1
        self.bytes_written += len(header) + size + 1


class MemoryStore:
    """The Store API in RAM, for tests and tools. Records are kept as JSON text,
    so a caller changing its dict after ``save`` does not change what was saved."""

    def __init__(self):
        self.records = {}
        self.writes = 0
        self.bytes_written = 0
        self.rejected = 0

    def load(self, name):
        check_name(name)
        text = self.records.get(name)
        return None if text is None else json.loads(text)

    def save(self, name, record):
        check_name(name)
        text = encode_record(record)
        self.records[name] = text
        self.writes += 1
        self.bytes_written += len(text)
