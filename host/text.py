"""Text on its way to a terminal, a receipt or a file: what could move the cursor, colour
the screen, reorder a line or add one is made visible.

``UNSAFE`` matches C0 and C1 controls and DEL, line and paragraph separators, surrogates
(not text) and bidirectional embeddings, overrides and isolates; ``shown(value)`` writes
each as ``\\n``, ``\\x1b`` or ``\\u202e``. Every tool prints errors and stored or imported
text through it (``host/cli``, ``host/vending/text.py`` for the ledger's own rules).
"""
import os
import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return "\\x%02x" % ord(char) if ord(char) < 0x100 else "\\u%04x" % ord(char)


def shown(value):
    """``value`` as text that is safe to show: every ``UNSAFE`` character escaped."""
    return UNSAFE.sub(_escape, str(value))


def reason(exc):
    """An OS or serial error's cause said once, on one line: pyserial's "could not open port
    X: [Errno 2] could not open port X: [Errno 2] No such file..." is "No such file or
    directory" (the caller names the port)."""
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return os.strerror(errno)
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
