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
not have a free block that size, so nothing record-sized is allocated after boot. A save
formats the JSON into one buffer the store allocates at start-up (``_OUT_BYTES``) and
reuses, then takes its CRC and writes it to the file a piece at a time through a second
small buffer: no garbage, and no Python call per JSON token (the hot ``meter`` record,
about 1 KB, saves in about a tenth of the time). A record not saved since boot, or last
saved too close to the buffer's size (the history, the configuration), streams its JSON
twice instead, once for the CRC and once into the file, in pieces of a few bytes
(``_Stream``: slower, still no large block). A load reads the CRC in pieces into the
small buffer and parses the JSON from the file (``read_slot``).
"""
import json
import os
import sys
from binascii import crc32
from io import BytesIO, IOBase

from const import const

_OUT_BYTES = const(2048)     # the reused buffer a save formats its record in
_HEADROOM = const(512)       # a record last saved larger than _OUT_BYTES - this streams
_PIECE_BYTES = const(256)    # the CRC and file pieces of a save or a load
_NATIVE_JSON = sys.implementation.name == "micropython"   # json.dump writes bytes there

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
    """Where ``write_record`` writes a record (MicroPython's wants a stream): the CRC and
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


def _write_into(data, f):
    f.write(data)
    return f


def write_record(record, out):
    """The record's JSON bytes into the stream ``out``: its own ``dump(out)`` when it has
    one (the history, written straight from its arrays), else ``encode_record``'s."""
    dump = getattr(record, "dump", None)
    if dump is not None:
        dump(out)
    elif _NATIVE_JSON:
        json.dump(record, out, separators=(",", ":"))
    else:                       # CPython's json.dump writes text
        out.write(encode_record(record).encode())


def record_text(record):
    """The JSON text ``write_record`` gives (tools and tests' stores in RAM)."""
    out = BytesIO()
    write_record(record, out)
    return out.getvalue().decode()


def dump_record(record, file=None, crc=0):
    """``write_record`` streamed into ``file``; returns (the bytes' CRC, their size)."""
    out = _Stream(crc, file)
    write_record(record, out)
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
        self._size = {}    # name -> bytes of the JSON it was last saved with
        self._buf = bytearray(_PIECE_BYTES)   # CRC and file pieces
        # a save's JSON, reused (MicroPython's BytesIO takes the size to allocate)
        self._out = BytesIO(_OUT_BYTES) if _NATIVE_JSON else BytesIO()
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
        crc = crc32(b"%s %d " % (name.encode(), seq))
        size = None
        if self._size.get(name, _OUT_BYTES) <= _OUT_BYTES - _HEADROOM:
            size = self._format(record)         # None: it streams after all
        formatted = size is not None
        if formatted:
            crc = self._pieces(size, crc32, crc)
        else:
            crc, size = dump_record(record, None, crc)
        header = b"%08x %d " % (crc, seq)
        with self.files.open(self._slot_path(name, slot), "wb") as f:
            f.write(header)
            if formatted:
                self._pieces(size, _write_into, f)
            else:
                dump_record(record, f)
            f.write(b"\n")
        self._newest[name] = (seq, slot)
        self._size[name] = size
        self.writes += 1
        self.bytes_written += len(header) + size + 1

    def _format(self, record):
        """The record's JSON into the reused buffer; its size, or None when it outgrew
        the buffer in a heap with no larger block (the caller streams it instead)."""
        out = self._out
        out.seek(0)
        try:
            write_record(record, out)
        except MemoryError:
            return None
        return out.tell()

    def _pieces(self, size, take, acc):
        """``acc = take(piece, acc)`` over the buffer's first ``size`` bytes, a piece at a
        time; returns ``acc``."""
        out = self._out
        out.seek(0)
        buf = self._buf
        while size > 0:
            piece = buf if size >= _PIECE_BYTES else memoryview(buf)[:size]
            out.readinto(piece)         # all of it: the buffer holds ``size`` bytes
            acc = take(piece, acc)
            size -= _PIECE_BYTES
        return acc


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
        text = record_text(record)
        self.records[name] = text
        self.writes += 1
        self.bytes_written += len(text)
