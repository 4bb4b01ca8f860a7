"""The meter's STS PAN: IIN (6 digits, or 4 as '0000') + DRN + Luhn check digit, 18 digits."""
from tokens.errors import TokenError


def luhn_digit(digits):
    """The Luhn check digit for a string of digits."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def validate_pan(pan):
    """Return the 18-digit PAN if its check digit is right, else raise TokenError."""
    pan = str(pan).replace(" ", "").replace("-", "")
    if len(pan) != 18 or not all("0" <= c <= "9" for c in pan):     # isdigit takes other digits
        raise TokenError("a meter PAN is 18 digits (IIN + DRN + check digit), got %r" % pan)
    expected = luhn_digit(pan[:-1])
    if pan[-1] != expected:
        raise TokenError("PAN %s has a wrong check digit (expected %s)" % (pan, expected))
    return pan


def pan_block(pan, key_type):
    """The 16-digit PAN block used by DKGA02 (sts.md 9)."""
    pan = validate_pan(pan)
    if pan.startswith("0000"):
        iin, rest = pan[:4], pan[4:17]
        head = iin[1:]
    else:
        iin, rest = pan[:6], pan[6:17]
        head = iin[1:]
    if key_type == 3:
        return (head + "0" * 16)[:16]
    return head + rest


def drn(pan):
    """The decoder reference number (meter number) in a PAN: the digits between the IIN
    (6 digits, or 4 when it is '0000') and the check digit."""
    pan = validate_pan(pan)
    return pan[4:17] if pan.startswith("0000") else pan[6:17]
