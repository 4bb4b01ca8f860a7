"""Keypad state machine: keys in, plain actions out; no hardware, no callbacks.

Feed every key the board reports with ``key(now, k)`` and call ``tick(now)`` now and
then; both return an action tuple or None. ``now`` is integer seconds (any monotonic
count; pass ``timeout=20000`` to work in milliseconds that do not wrap).

Keys: '0'-'9'; '*' backspace; 'E' or 'D' Enter (4x4 matrix: 'D'); '#' starts a short
code on an empty entry, ends it, and is Enter after token digits (so a 4x3 keypad
without Enter works); 'C' clears the entry; 'B' shows the credit (#01#), or the next
history entry while browsing #08#; 'A' asks for emergency credit (#09#, the Secure
Liberty habit of a dedicated key).

Actions:
    ("token", "12345678901234567890")   20 digits and Enter
    ("short", "01")                     a known short code (table SHORT_CODES)
    ("history", n)                      next entry while browsing #08#: n = 1..9, then 0
                                        again (the caller shows entry n % its length)
    ("error", "too few digits", digits) Enter with 1..19 digits
    ("error", "unknown code", code)     '#99#' and other codes not in the table
    ("timeout", entry)                  no key for 20 s: the entry is cleared

Every key press, whatever it does, latches ``silence``: the caller takes it with
``take_silence()`` and silences the buzzer (any key silences the alarm).
"""
from const import const

_TOKEN_DIGITS = const(20)
_TIMEOUT_S = const(20)          # CLOU: 20 s per digit
_HISTORY_SIZE = const(10)       # token history entries browsed with #08#
_MAX_CODE_DIGITS = const(4)

SHORT_CODES = {
    "01": "credit",
    "02": "consumption_today",
    "03": "total",              # total energy or volume
    "04": "power_now",
    "05": "tariff_rate",
    "06": "debt",
    "07": "last_token",
    "08": "token_history",      # the last 10, newest first; Enter/'B' for the next
    "09": "emergency_credit",   # request emergency credit
    "10": "ready_confirm",      # READY confirmation, same as the push button
    "88": "display_test",
}

ENTER_KEYS = ("E", "D")
BACKSPACE = "*"
CLEAR = "C"
KEYS = "0123456789#*ABCDE"


def group(digits, size=4):
    """'1234567890' -> '1234 5678 90'."""
    return " ".join(digits[i:i + size] for i in range(0, len(digits), size))


class Keypad:
    def __init__(self, timeout=_TIMEOUT_S):
        self.timeout = timeout
        self.entry = ""          # token digits typed so far
        self.code = None         # short-code digits when a '#' started one, else None
        self.browse = None       # index of the history entry shown, or None
        self.last = None         # time of the last key
        self.silence = False

    # ----------------------------------------------------------------- input
    def key(self, now, k):
        """One key press; returns an action or None."""
        if not isinstance(k, str) or len(k) != 1 or k not in KEYS:
            raise ValueError("not a keypad key: %r" % (k,))
        self.silence = True
        self.tick(now)               # an entry left too long is gone before this key
        self.last = now
        if self.browse is not None:
            if k in ENTER_KEYS or k == "B":
                self.browse = (self.browse + 1) % _HISTORY_SIZE
                return ("history", self.browse)
            self.browse = None
        if self.code is not None:
            return self._code_key(k)
        if "0" <= k <= "9":
            if len(self.entry) < _TOKEN_DIGITS:
                self.entry += k
            return None
        if k == BACKSPACE:
            self.entry = self.entry[:-1]
            return None
        if k == CLEAR:
            self.entry = ""
            return None
        if k == "#" and not self.entry:
            self.code = ""
            return None
        if k in ENTER_KEYS or k == "#":
            return self._enter()
        if self.entry:               # 'A'/'B' during token entry: ignored
            return None
        if k == "A":
            return ("short", "09")
        return ("short", "01")       # 'B'

    def tick(self, now):
        """Clear an entry left alone for the timeout; returns ("timeout", entry)."""
        if self.last is None or now - self.last < self.timeout:
            return None
        self.last = None
        self.browse = None
        if self.code is not None:
            typed = "#" + self.code
        else:
            typed = self.entry
        self.entry = ""
        self.code = None
        return ("timeout", typed) if typed else None

    def take_silence(self):
        """True once after any key press (the caller silences the buzzer)."""
        s = self.silence
        self.silence = False
        return s

    # ----------------------------------------------------------------- display
    def active(self):
        """True while something is being typed (the display shows the entry)."""
        return bool(self.entry) or self.code is not None

    def entry_lines(self):
        """The entry in progress as two lines: '1234 5678 9012' / '3456 7890',
        or 'Code #01' for a short code; None when nothing is typed."""
        if self.code is not None:
            return ("Code #" + self.code, "")
        if not self.entry:
            return None
        g = group(self.entry)
        return (g[:14], g[15:])

    # ----------------------------------------------------------------- internals
    def _enter(self):
        digits = self.entry
        self.entry = ""
        if len(digits) < _TOKEN_DIGITS:
            return ("error", "too few digits", digits)
        return ("token", digits)

    def _code_key(self, k):
        if "0" <= k <= "9":
            if len(self.code) < _MAX_CODE_DIGITS:
                self.code += k
            return None
        if k == BACKSPACE:
            if self.code:
                self.code = self.code[:-1]
            else:
                self.code = None     # the '#' itself is rubbed out
            return None
        if k == CLEAR:
            self.code = None
            return None
        if k == "#" or k in ENTER_KEYS:
            code = self.code
            self.code = None
            if code not in SHORT_CODES:
                return ("error", "unknown code", code)
            if code == "08":
                self.browse = 0
            return ("short", code)
        return None                  # 'A'/'B' inside a code: ignored
