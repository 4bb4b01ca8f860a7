"""What a clerk types and the files the station reads, on SQLite and PostgreSQL (issue 11
items 7 and 9): every value goes through the one strict parser (a comma or other
scripts' digits is refused, never a different amount), and every file through the one
text reader (UTF-8, UTF-8 with a BOM and UTF-16 with a BOM are read; Latin-1, BOM-less
UTF-16 and binary data are one line naming the file and the byte offset). Refused means
exit status 2, one line on stderr and nothing written."""
import json

import pytest

from test_vend_cli import CLERK, PAN, Session, VK2_HEX, setup_station

ADMIN = {"operator": "root", "password": "root-password"}
SUPERVISOR = {"operator": "sam", "password": "sam-password"}
STATEMENT = "reference,date,account,amount,channel\nQK1,2026-05-04 10:02,%s,150.00,mobile\n" % PAN


@pytest.fixture
def session(db_url, mode, tmp_path, monkeypatch, capsys):
    s = Session(db_url if "://" in db_url else "sqlite:///" + db_url, tmp_path, monkeypatch, capsys, mode)
    try:
        setup_station(s)
        s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", **CLERK)
        yield s
    finally:
        s.close()


def refused(s, argv, who, said):
    before = s.counts()
    try:
        code, out, err = s.run(*argv, **who)
    except SystemExit as exc:             # refused by the argument parser
        out, err = s.capsys.readouterr()
        code = exc.code
    assert code == 2 and said in err, (argv, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and not out, (argv, err)
    assert s.counts() == before, argv
    return err


SELL = ("sell", "--meter", PAN, "--channel", "cash", "--amount")


TYPED = [
    (SELL + ("100,50",), CLERK, "comma"),
    (SELL + ("1,000",), CLERK, "comma"),
    (SELL + ("\u0661\u0660\u0660",), CLERK, "digits must be 0-9"),
    (SELL + ("\uff11\uff10\uff10",), CLERK, "digits must be 0-9"),
    (SELL + ("1e3",), CLERK, "not a number"),
    (SELL + ("NaN",), CLERK, "not a number"),
    (SELL + ("+-1",), CLERK, "not a number"),
    (SELL + ("  ",), CLERK, "empty"),
    (SELL + ("9" * 60,), CLERK, "too long"),
    (("reprint", "--receipt", "\u0661"), CLERK, "0-9"),
    (("adjust", "request", "--kind", "credit", "--meter", PAN, "--units", "2,5", "--reason", "x"), CLERK, "comma"),
    (("adjust", "request", "--kind", "refund", "--receipt", "1_0", "--amount", "1", "--reason", "x"), CLERK,
     "not a number"),
    (("debt", "set", "--account", "A-001", "--amount", "1,000", "--recovery", "10"), SUPERVISOR, "comma"),
    (("debt", "set", "--account", "A-001", "--amount", "100", "--recovery", "12,5"), SUPERVISOR, "comma"),
    (("tariff", "add", "cheap", "--flat", "0,25"), SUPERVISOR, "comma"),
    (("tariff", "add", "cheap", "--blocks", "50:0.10,*:0,30"), SUPERVISOR, "must look like"),
    (("tariff", "add", "cheap", "--blocks", "\u0665\u0660:0.10,*:0.30"), SUPERVISOR, "0-9"),
    (("tariff", "add", "cheap", "--flat", "0.25", "--vat", "16,5"), SUPERVISOR, "comma"),
    (("tariff", "add", "cheap", "--flat", "0.25", "--effective", "2026-7-1"), SUPERVISOR, "2026-05-31"),
    (("tariff", "add", "cheap", "--flat", "0.25", "--min", "\u0661"), SUPERVISOR, "0-9"),
    (("customer", "add", "--account", "A-9", "--name", "X", "--settlement-day", "\u0661\u0665"), CLERK, "0-9"),
    (("meter", "add", "--pan", "600727000000000025", "--customer", "A-001", "--sgc", "\u0662\u0660\u0661\u0664\u0665\u0667",
      "--ti", "1", "--krn", "1", "--algorithm", "sta", "--base-date", "2014", "--tariff", "home"), SUPERVISOR, "0-9"),
    (("token", "power-limit", "--meter", PAN, "--value", "5,000"), SUPERVISOR, "comma"),
    (("token", "test", "--control", "\u0660"), CLERK, "0-9"),
    (("report", "daily", "--from", "\u0662\u0660\u0662\u0666-05-01"), CLERK, "0-9"),
    (("report", "settlement", "--month", "2026-5"), CLERK, "2026-05"),
    (("report", "settlement", "--month", "2026-13"), CLERK, "no such"),
    (("audit", "show", "--last", "1e3"), CLERK, "not a number"),
    (("audit", "verify", "--anchor", "\u0661:" + "0" * 64), CLERK, "0-9"),
]


def test_typed_values_are_parsed_strictly(session):
    for argv, who, said in TYPED:
        refused(session, argv, who, said)


def test_grouped_thousands_with_a_decimal_point_are_thousands(session):
    sale = json.loads(session.ok(*SELL, "1,000.00", "--json", **CLERK))
    assert sale["amount_cents"] == 100000


def _import(s, data, name="statement.csv"):
    path = s.tmp / name
    path.write_bytes(data)
    return path, s.run("payments", "import", path, "--source", "mpesa", "--json", **CLERK)


def test_statements_in_utf8_or_utf16_with_bom_are_read(session):
    for n, encoding in enumerate(["utf-8", "utf-8-sig", "utf-16"]):
        text = STATEMENT.replace("mobile", "mobile,caf\u00e9").replace("channel", "channel,note")
        _, (code, out, err) = _import(session, text.replace("QK1", "QK%d" % n).encode(encoding))
        assert code == 0, err
        assert [v["reference"] for v in json.loads(out)["vended"]] == ["QK%d" % n]


STATEMENTS_REFUSED = [
    (STATEMENT.replace("mobile", "mobile,caf\u00e9").encode("latin-1"), "not UTF-8 text at byte %d"
     % STATEMENT.replace("mobile", "mobile,caf\u00e9").index("\u00e9")),
    (STATEMENT.encode("utf-16-le"), "not text, a control character at byte 1"),
    (bytes(range(256)) * 4, "not text, a control character at byte 0"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "not UTF-8 text at byte 0"),
]


def test_statements_in_other_encodings_are_one_line_and_nothing_written(session):
    path = session.tmp / "statement.csv"
    for data, said in STATEMENTS_REFUSED:
        path.write_bytes(data)
        refused(session, ("payments", "import", path, "--source", "mpesa"), CLERK, "%s: %s" % (path, said))


def test_statement_amounts_are_parsed_strictly(session):
    for n, (amount, said) in enumerate([("12,50", "1 cell(s) more than the header"), ('"12,50"', "comma"),
                                        ('"1,000"', "comma"), ("\u0661\u0662.50", "0-9"),
                                        ("1e3", "not a number"), ("-5.00", "negative")]):
        _, (code, out, err) = _import(session, ("reference,date,account,amount\nQ%d,2026-05-04,%s,%s\n"
                                                % (n, PAN, amount)).encode())
        result = json.loads(out)
        assert code == 0 and not result["vended"] and said in result["failed"][0]["note"], result
        assert session.counts()[0] == 1


def test_statement_dates_and_rows_longer_than_the_header(session):
    text = ("reference,date,account,amount\nQ1,\u0662\u0660\u0662\u0666-05-04,%s,5.00\nQ2,2026-05-04,%s,5.00,extra,cells\n"
            "Q3,2026-02-30,%s,5.00\n" % (PAN, PAN, PAN))
    _, (code, out, err) = _import(session, text.encode())
    result = json.loads(out)
    notes = {f["reference"]: f["note"] for f in result["failed"]}
    assert code == 0 and "0-9" in notes["Q1"] and "no such date" in notes["Q3"]
    assert "2 cell(s) more than the header" in notes["Q2"] and not result["vended"]


def test_key_files_in_utf8_or_utf16_with_bom_are_read(session):
    for krn, encoding in ((1, "utf-8-sig"), (2, "utf-16")):
        path = session.tmp / "vk3.hex"
        path.write_bytes(("%s\r\n" % VK2_HEX).encode(encoding))
        session.ok("key", "add", "--sgc", 999999, "--krn", krn, "--dkga", "04", "--key-file", path, **ADMIN)
    assert session.ok("key", "list").count("999999") == 2


KEY_FILES_REFUSED = [
    ((VK2_HEX + " # caf\u00e9").encode("latin-1"), "not UTF-8 text at byte 46"),
    (VK2_HEX.encode("utf-16-be"), "not text, a control character at byte 0"),
    (bytes.fromhex(VK2_HEX), "not text, a control character at byte 0"),           # the raw key
    (bytes.fromhex("ff" + VK2_HEX[2:]), "not UTF-8 text at byte 0"),
]


def test_key_files_in_other_encodings_are_one_line_that_leaks_no_key_byte(session):
    path = session.tmp / "vk3.hex"
    for data, said in KEY_FILES_REFUSED:
        path.write_bytes(data)
        err = refused(session, ("key", "add", "--sgc", 999999, "--krn", 1, "--dkga", "04", "--key-file", path),
                      ADMIN, "%s: %s" % (path, said))
        message = err.split(str(path), 1)[1]
        for i in range(0, len(VK2_HEX), 2):
            assert "\\x" + VK2_HEX[i:i + 2] not in message and "0x" + VK2_HEX[i:i + 2] not in message
        assert VK2_HEX not in err
