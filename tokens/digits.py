"""The 20 digits a customer types, and the 66-bit number behind them.

A token is a 64-bit block with the 2 class bits inserted by transposition: block bits
28 and 27 move to token bits 65 and 64, and the class takes their place (sts.md 3.2).
The 66-bit value is written in decimal, zero-padded to 20 digits (sts.md 3.3).
"""
from tokens.errors import DecodeError

TOKEN_LIMIT = 1 << 66
_SEPARATORS = " -\t"


def parse_digits(text):
    """20 digits, optionally grouped with spaces or dashes -> the 66-bit token value."""
    if isinstance(text, int):
        value = text
    else:
        digits = "".join(c for c in str(text) if c not in _SEPARATORS)
        if len(digits) != 20 or not all("0" <= c <= "9" for c in digits):
            raise DecodeError("Format", "a token is exactly 20 digits, got %r" % text)
        value = int(digits)
    if not 0 <= value < TOKEN_LIMIT:
        raise DecodeError("Format", "%s is not a token: the value must be below 2^66" % text)
    return value


def render_digits(value):
    """The 66-bit token value as exactly 20 digits, leading zeros kept."""
    text = str(value)
    return "0" * (20 - len(text)) + text


def group_digits(digits, separator=" "):
    """'12345678901234567890' -> '1234 5678 9012 3456 7890' (as receipts and displays show it)."""
    digits = render_digits(parse_digits(digits))
    return separator.join(digits[i:i + 4] for i in range(0, 20, 4))


def insert_class(block, token_class):
    """Transpose the class bits into a 64-bit (encrypted) block -> 66-bit token value."""
    high = ((block >> 28) & 1) << 65 | ((block >> 27) & 1) << 64
    return high | (block & ~(3 << 27)) | (token_class & 3) << 27


def extract_class(value):
    """66-bit token value -> (token_class, 64-bit block with bits 28 and 27 restored)."""
    token_class = (value >> 27) & 3
    restored = ((value >> 65) & 1) << 28 | ((value >> 64) & 1) << 27
    return token_class, (value & 0xFFFFFFFFE7FFFFFF) | restored
