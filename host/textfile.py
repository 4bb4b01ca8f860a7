"""Text the host tools read from files or stdin (payment statements, key files, simulator
scripts and load profiles, meter configurations): decoded one way, refused in one line.

Accepted: UTF-8, with or without a byte-order mark, and UTF-16 with its byte-order mark
(what spreadsheets save as "Unicode text"). Anything else (Latin-1, UTF-16 without a BOM,
binary data) is a ``TextFileError`` naming the file and the byte offset where it stops
being text; control characters other than tab, CR and LF count as not text. The offending
bytes are never echoed (a key file's bytes are secret), and nothing is written.
"""
import codecs
import json
import re

from host.errors import UserError

MAX_BYTES = 64 * 1024 * 1024
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SAVE_AS = "save it as UTF-8 (or UTF-16 with a byte-order mark)"


class TextFileError(UserError, ValueError):
    """A file that cannot be read as text; the message names it and the byte offset."""


def decode(data, name):
    """The text of ``data`` (bytes read from ``name``), by the rules above."""
    encoding, bom = "utf-8", b""
    for mark, marked in _BOMS:
        if data.startswith(mark):
            encoding, bom = marked, mark
            break
    body, stop = data[len(bom):], None
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:        # the first of the two faults is the one named
        text, stop = body[:exc.start].decode(encoding), exc.start
    control = _CONTROL.search(text)
    if control:
        offset = len(bom) + len(text[:control.start()].encode(encoding))
        raise TextFileError("%s: not text, a control character at byte %d; %s" % (name, offset, _SAVE_AS))
    if stop is not None:
        label = "UTF-16" if "16" in encoding else "UTF-8"
        raise TextFileError("%s: not %s text at byte %d; %s" % (name, label, len(bom) + stop, _SAVE_AS))
    return text


def read(path, what="file"):
    """The text of the file at ``path``; ``what`` says what it is for in the error line."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise TextFileError("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    if len(data) > MAX_BYTES:
        raise TextFileError("%s %s is larger than %d MB" % (what, path, MAX_BYTES >> 20))
    return decode(data, path)


def read_stream(stream, name="standard input"):
    """The text of a binary stream (``sys.stdin.buffer``)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TextFileError("%s is larger than %d MB" % (name, MAX_BYTES >> 20))
    return decode(data, name)


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError("the key %r appears twice in one object" % key)
        seen[key] = value
    return seen


def _no_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def read_json(path, what="file"):
    """A JSON file, strictly: no NaN or Infinity, no key twice in one object."""
    text = read(path, what)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as exc:
        raise TextFileError("%s %s is not valid JSON: %s" % (what, path, exc))
