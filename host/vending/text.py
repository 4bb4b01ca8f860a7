"""Free text at the station's edges: checked once on the way in, escaped on every way out.

* ``field``: what a person types (names, addresses, references, reasons) as it will be
  stored: stripped, no control characters (C0, DEL, C1), line or paragraph separators
  or bidirectional overrides, and no longer than its column holds. The length comes
  from the column in ``schema`` (``String(n)``, or ``info["max_chars"]`` for ``Text``),
  and is checked here, so SQLite and PostgreSQL refuse the same text with the same words.
* ``shown`` (from ``host.text``): any text on its way to a terminal, a receipt or a PDF,
  with those characters made visible, so that stored or imported text cannot move the
  cursor, colour the screen, reorder a line or add one.
* ``csv_cell``: a cell for a CSV file that a spreadsheet opens: shown, and a text
  starting with ``= + - @``, tab or CR gets a leading ``'`` so that it stays text
  (OWASP "CSV injection"); plain numbers such as ``-12.50`` are left as numbers.
"""
import re

from host.text import UNSAFE as _UNSAFE, shown
from host.vending.errors import VendError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


def max_chars(column):
    """The longest text ``column`` holds."""
    return column.type.length or column.info["max_chars"]


def field(value, column, what, required=True):
    """``value`` stripped and checked for ``column``; ``None`` when empty and not required."""
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise VendError("%s is empty" % what)
        return None
    bad = _UNSAFE.search(text)
    if bad:
        raise VendError("%s %s holds a control character (%s at character %d); type it without"
                        % (what, shown(text[:40]), shown(bad.group()), bad.start() + 1))
    limit = max_chars(column)
    if len(text) > limit:
        raise VendError("%s is %d characters long; at most %d fit" % (what, len(text), limit))
    return text


def csv_cell(value):
    """One CSV cell: empty for ``None``, numbers as they are, text shown and kept text."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    text = shown(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text
