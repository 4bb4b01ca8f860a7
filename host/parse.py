"""Text people type or files hold -> exact integers, dates and times: the one strict parser
of the host tools. Every command-line value, statement cell, tariff step and script value
that means money, units, a percentage, a count or a date comes through here.

A number is ASCII digits with at most one decimal point between digits (``100.50``) and a
leading ``-`` only where a negative value makes sense. Thousands separators only where
they cannot be misread: commas between groups of three digits with a decimal point after
them (``1,000.00``). Refused, in one line that names the value and says what would do:
``1,000`` (a thousand, or one with three decimals?), a decimal comma (``100,50``), other
scripts' digits (``١٠٠``), exponents (``1e3``), ``NaN``, ``inf``, inner spaces, ``+`` or
doubled signs, more than ``MAX_CHARS`` characters, results of ``LIMIT`` or more. More
decimals than the unit holds is refused, never rounded, unless the caller rounds up in
the customer's favour (token amounts). Nothing here uses float.
"""
import argparse
import datetime
import re

from host.errors import UserError

MAX_CHARS = 40
LIMIT = 10 ** 18        # every result is below it: it fits the ledger's 64-bit columns

_NUMBER = re.compile(r"(-?)([0-9]+|[0-9]{1,3}(?:,[0-9]{3})+(?=\.))(?:\.([0-9]+))?\Z")
_WITH_UNIT = re.compile(r"([-0-9.,]+)\s*([A-Za-z%][A-Za-z0-9/]*)?\Z")
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME = r"[T ]([0-9]{2}):([0-9]{2})"
_SECONDS = r"(?::([0-9]{2}))?"


class ParseError(UserError, ValueError):
    """A refused value; the message names it and says what would do."""


def _checked(text, what):
    text = "" if text is None else str(text).strip()
    if not text:
        raise ParseError("%s is empty" % what)
    if len(text) > MAX_CHARS:
        raise ParseError("%s is too long (%d characters, at most %d)" % (what, len(text), MAX_CHARS))
    return text


def _other_digits(text):
    """Digits of other scripts ('١', '１'), which str.isdigit and int() take."""
    return any(c.isdigit() and not "0" <= c <= "9" for c in text)


def _refused(text, what, example):
    if _other_digits(text):
        why = "digits must be 0-9"
    elif text.count(".") > 1:
        why = "more than one decimal point"
    elif "," in text:
        why = "a comma is ambiguous here: no thousands separators, and '.' for decimals"
    else:
        why = "not a number"
    return ParseError("%s %r: %s (like %s)" % (what, text, why, example))


def decimal(text, what="number", negative=False, example="12.50"):
    """``'1,000.50'`` -> ``(100050, 2)``: the exact digits, and how many are decimals."""
    text = _checked(text, what)
    match = _NUMBER.match(text)
    if not match:
        raise _refused(text, what, example)
    sign, whole, frac = match.group(1), match.group(2).replace(",", ""), match.group(3) or ""
    if sign and not negative:
        raise ParseError("%s %s must not be negative" % (what, text))
    value = int(whole + frac)
    return (-value if sign else value), len(frac)


def fixed(text, places, what="amount", negative=False, round_up=False, example="100.00"):
    """A whole number of 10^-places units: ``fixed('100.5', 2) == 10050``. More decimals
    than ``places`` is an error, or with ``round_up`` rounded towards +infinity."""
    value, given = decimal(text, what, negative, example)
    if given > places and not round_up:
        raise ParseError("%s %s must be a whole number" % (what, text) if places == 0 else
                         "%s %s has more than %d decimal places" % (what, text, places))
    value = -(-value * 10 ** places // 10 ** given)      # exact unless rounding up
    if abs(value) >= LIMIT:
        raise ParseError("%s %s is too large" % (what, text))
    return value


def format_fixed(value, places):
    """The inverse of ``fixed``: ``format_fixed(10050, 2) == '100.50'``."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), 10 ** places)
    return "%s%d.%0*d" % (sign, whole, places, frac) if places else "%s%d" % (sign, whole)


def money(text, what="amount", negative=False):
    """Money as integer cents: ``money('100.00') == 10000``."""
    return fixed(text, 2, what, negative)


def percent_bp(text, what="percentage"):
    """``'16'``, ``'12.5'`` or ``'12.5%'`` percent as basis points (1600, 1250), 0..100 %."""
    text = _checked(text, what)
    value = fixed(text[:-1] if text.endswith("%") else text, 2, what, example="16")
    if value > 10000:
        raise ParseError("%s %s is above 100" % (what, text))
    return value


def integer(text, what="number", minimum=0, maximum=LIMIT - 1, hex_ok=False):
    """A whole number in ``minimum..maximum`` (``0x1F`` too with ``hex_ok``)."""
    text = _checked(text, what)
    if hex_ok and re.fullmatch(r"0[xX][0-9a-fA-F]{1,15}", text):
        value = int(text, 16)
    else:
        value = fixed(text, 0, what, negative=minimum < 0, example="12")
    if not minimum <= value <= maximum:
        raise ParseError("%s %s is out of range %d..%d" % (what, text, minimum, maximum))
    return value


def wait_seconds(text, what="seconds"):
    """A wait such as ``'0.5'`` (at most milliseconds) as float seconds, for timeouts only:
    money and energy never leave integers."""
    return fixed(text, 3, what, example="0.5") / 1000


def number_and_unit(text, what="amount", example="25.5kWh"):
    """``'25.5kWh'`` or ``'25.5 kWh'`` -> ``('25.5', 'kWh')``; the unit is ``''`` when absent."""
    text = _checked(text, what)
    match = _WITH_UNIT.match(text)
    if not match:
        raise _refused(text, what, example)
    return match.group(1), match.group(2) or ""


def scaled(text, scale, what="value"):
    """``text`` times the integer ``scale``, which must come out whole: ``scaled('2.5', 1000) == 2500``."""
    value, given = decimal(text, what)
    whole, rest = divmod(value * scale, 10 ** given)
    if rest:
        raise ParseError("%s %s has too many decimals" % (what, text))
    if whole >= LIMIT:
        raise ParseError("%s %s is too large" % (what, text))
    return whole


def _calendar(make, match, text, what, example):
    if match:
        try:
            return make(*(int(g) for g in match.groups() if g is not None))
        except ValueError:
            raise ParseError("%s %s: no such date or time" % (what, text))
    if _other_digits(text):
        raise ParseError("%s %r: digits must be 0-9 (like %s)" % (what, text, example))
    raise ParseError("%s %r must look like %s" % (what, text, example))


def date(text, what="date"):
    """``'2026-05-31'`` -> ``datetime.date``; exactly that form."""
    text = _checked(text, what)
    return _calendar(datetime.date, re.fullmatch(_DATE, text), text, what, "2026-05-31")


def date_time(text, what="time", seconds=True, time_optional=False):
    """``'2026-05-04 10:02'`` (or with ``T``; ``:SS`` allowed with ``seconds``; a bare date
    is midnight with ``time_optional``) -> naive ``datetime.datetime``."""
    text = _checked(text, what)
    clock = _TIME + (_SECONDS if seconds else "")
    pattern = _DATE + ("(?:%s)?" % clock if time_optional else clock)
    example = "2026-05-04 10:02" + (":00" if seconds else "")
    return _calendar(datetime.datetime, re.fullmatch(pattern, text), text, what, example)


def month(text, what="month"):
    """``'2026-05'`` -> ``(2026, 5)``."""
    text = _checked(text, what)
    first = _calendar(lambda y, m: datetime.date(y, m, 1), re.fullmatch(r"([0-9]{4})-([0-9]{2})", text),
                      text, what, "2026-05")
    return first.year, first.month


def arg(convert, *args, **kwargs):
    """``convert`` as an argparse ``type``: its refusal becomes argparse's error line."""
    def parse(text):
        try:
            return convert(text, "value", *args, **kwargs)
        except ParseError as exc:
            raise argparse.ArgumentTypeError(str(exc))
    parse.__name__ = convert.__name__
    return parse


int_arg = arg(integer)                  # for type=int, which takes ' 1_0' and '١٠' as 10
wait_arg = arg(wait_seconds)            # for type=float, which takes 'nan', '1e3' and '١'
