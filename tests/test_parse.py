"""The host's one strict parser (``host.parse``): what it takes, what it refuses (property
tests: it never takes what it should not), and that it reads back what it formats."""
import datetime
import string

import pytest
from hypothesis import assume, given, strategies as st

from host import parse
from host.parse import ParseError

PLACES = st.integers(0, 6)


@pytest.mark.parametrize("text, places, expected", [
    ("100.00", 2, 10000), ("100.5", 2, 10050), ("7", 2, 700), ("0.1", 2, 10), ("007.50", 2, 750),
    (" 12.50 ", 2, 1250), ("1,000.00", 2, 100000), ("12,345,678.9", 2, 1234567890), ("0.2537", 6, 253700),
])
def test_numbers_it_takes(text, places, expected):
    assert parse.fixed(text, places) == expected


@pytest.mark.parametrize("text, said", [
    ("100,50", "comma"), ("12,50", "comma"), ("1,000", "comma"), ("10,00.00", "comma"), ("1.000,50", "comma"),
    ("١٠٠", "digits must be 0-9"), ("１００", "digits must be 0-9"), ("100.٥", "digits must be 0-9"),
    ("1e3", "not a number"), ("NaN", "not a number"), ("inf", "not a number"), ("0x10", "not a number"),
    ("1_000", "not a number"), ("+-1", "not a number"), ("--1", "not a number"), ("+5", "not a number"),
    ("1 000", "not a number"), ("5.", "not a number"), (".5", "not a number"), ("1.2.3", "decimal point"),
    ("", "empty"), ("  ", "empty"), ("\t", "empty"), ("1" * 41, "too long"), ("-5", "negative"),
    ("12.345", "more than 2 decimal places"), ("9" * 17, "too large"),
])
def test_numbers_it_refuses_in_one_line(text, said):
    with pytest.raises(ParseError) as caught:
        parse.money(text)
    assert said in str(caught.value) and "\n" not in str(caught.value)


NOT_NUMBER_CHARS = st.text(st.characters(blacklist_characters="0123456789.,-"), min_size=1, max_size=3)


@given(st.text(max_size=parse.MAX_CHARS + 5))
def test_anything_taken_is_plain_ascii_digits(text):
    try:
        value, places = parse.decimal(text, negative=True)
    except ParseError:
        return
    body = text.strip().lstrip("-").replace(",", "")
    assert set(body) <= set(string.digits + ".") and body.count(".") <= 1
    assert abs(value) == int(body.replace(".", "")) and places == len(body.partition(".")[2])


@given(st.integers(0, 10 ** 9), NOT_NUMBER_CHARS, st.integers(0, 12))
def test_a_stray_character_anywhere_is_refused(value, junk, position):
    text = str(value)
    position = min(position, len(text))
    assume(not junk.isspace() or 0 < position < len(text))   # surrounding spaces are trimmed
    with pytest.raises(ParseError):
        parse.fixed(text[:position] + junk + text[position:], 2)


@given(st.integers(1, 10 ** 15), PLACES)
def test_non_ascii_digits_are_refused(value, places):
    for zero in ("\u0660", "\u06f0", "\u0966", "\uff10"):    # Arabic-Indic, Persian, Devanagari, full-width
        text = "".join(chr(ord(zero) + int(d)) for d in str(value))
        with pytest.raises(ParseError, match="0-9"):
            parse.fixed(text, places)


@given(st.integers(-(10 ** 17), 10 ** 17), PLACES)
def test_it_reads_back_what_it_formats(value, places):
    assume(abs(value) < parse.LIMIT // 10 ** places)
    assert parse.fixed(parse.format_fixed(value, places), places, negative=True) == value


@given(st.integers(1000, 10 ** 12), st.integers(0, 99))
def test_grouping_with_a_decimal_point_means_thousands(whole, cents):
    grouped = "{:,}.{:02d}".format(whole, cents)
    assert parse.money(grouped) == whole * 100 + cents
    with pytest.raises(ParseError, match="comma"):
        parse.money("{:,}".format(whole))          # 1,000 alone: a thousand, or one?


@given(st.integers(0, 10 ** 9), st.integers(1, 5))
def test_rounding_up_is_only_for_who_asks_and_favours_the_customer(value, extra):
    text = parse.format_fixed(value, 1 + extra)
    exact = value % 10 ** extra == 0
    if not exact:
        with pytest.raises(ParseError, match="decimal places"):
            parse.fixed(text, 1)
    up = parse.fixed(text, 1, round_up=True)
    assert up * 10 ** extra >= value and (up - 1) * 10 ** extra < value


def test_percent_integer_units_and_scaling():
    assert parse.percent_bp("16") == 1600 and parse.percent_bp("12.5%") == 1250
    with pytest.raises(ParseError, match="above 100"):
        parse.percent_bp("100.01")
    assert parse.integer("42") == 42 and parse.integer("0x1F", hex_ok=True) == 31
    for bad in ("4.0", "1_0", "٤٢", " ", "-1", "0x1F"):
        with pytest.raises(ParseError):
            parse.integer(bad)
    with pytest.raises(ParseError, match="out of range 1..9"):
        parse.integer("10", "krn", minimum=1, maximum=9)
    assert parse.number_and_unit("25.5kWh") == ("25.5", "kWh") and parse.number_and_unit("3 m3") == ("3", "m3")
    assert parse.scaled("2.5", 1000000) == 2500000 and parse.scaled("0.5", 60000) == 30000
    with pytest.raises(ParseError, match="too many decimals"):
        parse.scaled("0.0001", 1000)


def test_dates_and_times():
    assert parse.date("2026-05-31") == datetime.date(2026, 5, 31)
    assert parse.date_time("2026-05-04 10:02") == datetime.datetime(2026, 5, 4, 10, 2)
    assert parse.date_time("2026-05-04T10:02:07") == datetime.datetime(2026, 5, 4, 10, 2, 7)
    assert parse.date_time("2026-05-04", time_optional=True) == datetime.datetime(2026, 5, 4)
    assert parse.month("2026-05") == (2026, 5)
    for bad, said in (("2026-5-31", "2026-05-31"), ("٢٠٢٦-٠٥-٣١", "0-9"), ("2026-02-30", "no such date"),
                      ("31/05/2026", "2026-05-31"), ("2026-05-31x", "2026-05-31")):
        with pytest.raises(ParseError, match=said):
            parse.date(bad)
    with pytest.raises(ParseError):
        parse.date_time("2026-05-04 10:02:07", seconds=False)
    with pytest.raises(ParseError, match="no such"):
        parse.date_time("2026-05-04 24:00")
    with pytest.raises(ParseError):
        parse.month("2026-13")


@given(st.datetimes(min_value=datetime.datetime(1000, 1, 1)))
def test_times_read_back(when):
    when = when.replace(microsecond=0)
    assert parse.date_time(when.isoformat()) == when
    assert parse.date(when.date().isoformat()) == when.date()
