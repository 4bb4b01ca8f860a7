"""``prepay vend`` as a clerk uses it: the README session from an empty database to a
printed receipt, bad input (one line on stderr, exit 2, nothing written), and a search of
every file and output for the vending key. Each test runs in local mode and through the
vending server (``prepay vend --server``, the server started after ``init`` and the first
admin, which are done on the server machine)."""
import csv
import json
import os

import pytest
from sqlalchemy import func, select

from host.cli import main
from host.vending import db, schema
from vendserver import VendServer

VK_HEX = "abababababababab949494949494949401234567"
VK2_HEX = "00112233445566778899aabbccddeeff00112233"
VK02_HEX = "0123456789abcdef"
PAN = "600727000000000009"
PAN_1993 = "600727000000000017"
PASSPHRASE = "a long keystore passphrase"


class Session:
    """Runs ``prepay`` in this process with the clerk's environment; keeps every output."""

    def __init__(self, url, tmp_path, monkeypatch, capsys, mode="local"):
        self.url, self.tmp, self.capsys, self.mp, self.mode = url, tmp_path, capsys, monkeypatch, mode
        self.outputs = []
        self.server = None
        monkeypatch.setenv("PREPAY_DB", url)
        monkeypatch.setenv("PREPAY_KEYSTORE_PASSPHRASE", PASSPHRASE)
        for name in ("PREPAY_OPERATOR", "PREPAY_SERVER"):
            monkeypatch.delenv(name, raising=False)

    def serve(self):
        """From here on the CLI is a client: it has the server's URL and nothing else."""
        self.mp.setenv("PREPAY_AUDIT_CHECKPOINTS", str(self.tmp / "server-checkpoints.jsonl"))
        self.server = VendServer(self.url, PASSPHRASE, self.tmp).start()    # a checkpoint after each change
        self.mp.delenv("PREPAY_AUDIT_CHECKPOINTS")
        self.mp.setenv("PREPAY_SERVER", self.server.url)
        self.mp.delenv("PREPAY_DB")
        self.mp.delenv("PREPAY_KEYSTORE_PASSPHRASE")

    def close(self):
        if self.server:
            self.server.stop()

    def run(self, *argv, operator=None, password=None, new_password=None):
        if operator is None and password is None and argv[0] != "init":     # reads need an operator too
            operator, password = CLERK["operator"], CLERK["password"]
        env = {"PREPAY_OPERATOR": operator, "PREPAY_OPERATOR_PASSWORD": password,
               "PREPAY_NEW_OPERATOR_PASSWORD": new_password}
        for name, value in env.items():
            if value is None:
                self.mp.delenv(name, raising=False)
            else:
                self.mp.setenv(name, value)
        code = main(["vend"] + [str(a) for a in argv])
        out, err = self.capsys.readouterr()
        self.outputs.extend([out, err])
        return code, out, err

    def ok(self, *argv, **kw):
        code, out, err = self.run(*argv, **kw)
        assert code == 0, err
        return out

    def counts(self):
        engine = db.make_engine(self.url)
        try:
            with engine.connect() as conn:
                counts = tuple(conn.execute(select(func.count()).select_from(t)).scalar()
                               for t in (schema.sales, schema.tokens, schema.payments, schema.adjustments))
                audited = conn.execute(select(func.count()).select_from(schema.audit_log).where(
                    schema.audit_log.c.action != "login_failed")).scalar()   # a failed login is audited
                return counts[:2] + (audited,) + counts[2:]
        finally:
            engine.dispose()


def setup_station(s):
    key_file = s.tmp / "vk.hex"
    key_file.write_text(VK_HEX + "\n")
    (s.tmp / "vk2.hex").write_text(VK2_HEX.upper())
    (s.tmp / "vk02.hex").write_text(VK02_HEX)
    s.ok("init", "--timezone", "Africa/Nairobi", "--approval-wait", 0)   # supervisors work at once
    s.ok("operator", "add", "root", "--role", "admin", new_password="root-password")
    if s.mode == "server":
        s.serve()
    admin = {"operator": "root", "password": "root-password"}
    s.ok("operator", "add", "alice", "--role", "clerk", new_password="alice-password", **admin)
    s.ok("operator", "add", "sam", "--role", "supervisor", new_password="sam-password", **admin)
    s.ok("operator", "add", "sue", "--role", "supervisor", new_password="sue-password", **admin)
    s.ok("key", "add", "--sgc", 201457, "--krn", 1, "--dkga", "04", "--key-file", key_file, **admin)
    s.ok("key", "add", "--sgc", 201457, "--krn", 2, "--dkga", "04", "--key-file", s.tmp / "vk2.hex", **admin)
    s.ok("key", "add", "--sgc", 123456, "--krn", 1, "--dkga", "02", "--key-file", s.tmp / "vk02.hex", **admin)
    s.ok("tariff", "add", "home", "--flat", "0.25", "--vat", "16", **admin)
    s.ok("customer", "add", "--account", "A-001", "--name", "Jane Doe", "--phone", "+254700000000", **admin)
    s.ok("meter", "add", "--pan", PAN, "--customer", "A-001", "--sgc", 201457, "--ti", 1, "--krn", 1, "--kt", 2,
         "--algorithm", "sta", "--base-date", 2014, "--utility", "electricity", "--tariff", "home", **admin)
    s.ok("meter", "add", "--pan", PAN_1993, "--customer", "A-001", "--sgc", 123456, "--ti", 1, "--krn", 1,
         "--algorithm", "ea07", "--base-date", 1993, "--tariff", "home", **admin)


CLERK = {"operator": "alice", "password": "alice-password"}


@pytest.fixture
def session(db_url, mode, tmp_path, monkeypatch, capsys):
    s = Session(db_url if "://" in db_url else "sqlite:///" + db_url, tmp_path, monkeypatch, capsys, mode)
    try:
        setup_station(s)
        yield s
    finally:
        s.close()


def test_clerk_session_to_printed_receipt(session):
    s = session
    out = s.ok("sell", "--meter", PAN, "--amount", "100.00", "--channel", "cash", "--json", **CLERK)
    sale = json.loads(out)
    for field in ("receipt", "meter", "tokens", "units_tenths", "tid", "deductions"):
        assert field in sale
    assert sale["meter"] == PAN and len(sale["tokens"][0]["digits"]) == 20
    assert sale["units_credited_tenths"] == 3448 and sale["deductions"]["vat_cents"] == 1380
    assert sale["tokens"][0]["units_tenths"] == sale["tokens"][0]["value"] == 3448    # "value": the old name
    text = s.ok("sell", "--meter", PAN, "--amount", "50", "--channel", "mobile",
                "--receipt-file", s.tmp / "r.pdf", **CLERK)
    assert "CREDIT TOKEN" in text and "Jane Doe" in text and "alice" in text
    assert (s.tmp / "r.pdf").read_bytes().startswith(b"%PDF")
    again = s.ok("reprint", "--meter", PAN, "--receipt-file", s.tmp / "r.txt", **CLERK)
    assert "REPRINT" in again and (s.tmp / "r.txt").read_text().count("CREDIT TOKEN") == 1
    assert s.counts()[1] == 2           # a reprint issues no token
    assert "intact" in s.ok("audit", "verify")


def test_bad_input_one_line_nonzero_nothing_written(session):
    s = session
    s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", **CLERK)
    before = s.counts()
    cases = [
        (("sell", "--meter", "600727000000000066", "--amount", "10.00", "--channel", "cash"), CLERK, "unknown meter"),
        (("sell", "--meter", "600727000000000008", "--amount", "10.00", "--channel", "cash"), CLERK, "check digit"),
        (("sell", "--meter", PAN, "--amount", "0.50", "--channel", "cash"), CLERK, "minimum"),
        (("sell", "--meter", PAN, "--amount", "99999999999.00", "--channel", "cash"), CLERK, "token can carry"),
        (("sell", "--meter", PAN, "--amount", "12.345", "--channel", "cash"), CLERK, "decimal places"),
        (("sell", "--meter", PAN, "--amount", "ten", "--channel", "cash"), CLERK, "not a number"),
        (("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash"),
         {"operator": "alice", "password": "wrong-password"}, "wrong password"),
        (("sell", "--meter", PAN_1993, "--amount", "10.00", "--channel", "cash"), CLERK, "rolled over"),
        (("meter", "add", "--pan", "600727000000000025", "--customer", "A-001", "--sgc", 201457, "--ti", 1,
          "--krn", 1, "--algorithm", "sta", "--base-date", 2014, "--tariff", "home"), CLERK, "supervisor"),
        (("adjust", "confirm", 1), {"operator": "sam", "password": "sam-password"}, "no adjustment"),
    ]
    for argv, who, expected in cases:
        code, out, err = s.run(*argv, **who)
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and expected in err, (argv, err)
        assert s.counts() == before, argv
    if s.mode == "local":           # through the server a clerk has no passphrase to get wrong
        s.mp.setenv("PREPAY_KEYSTORE_PASSPHRASE", "not the passphrase")
        code, _, err = s.run("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", **CLERK)
        assert code == 2 and "wrong keystore passphrase" in err and s.counts() == before


def test_dual_confirmation(session):
    s = session
    sam = {"operator": "sam", "password": "sam-password"}
    sue = {"operator": "sue", "password": "sue-password"}
    s.ok("sell", "--meter", PAN, "--amount", "40.00", "--channel", "cash", **CLERK)
    out = s.ok("adjust", "request", "--kind", "refund", "--receipt", 1, "--amount", "40.00",
               "--reason", "wrong meter", "--json", **sam)
    refund = json.loads(out)["id"]
    code, _, err = s.run("adjust", "confirm", refund, **sam)
    assert code == 2 and "another supervisor" in err
    code, _, err = s.run("adjust", "confirm", refund, **CLERK)
    assert code == 2 and "supervisor" in err
    assert "confirmed" in s.ok("adjust", "confirm", refund, **sue)
    code, _, err = s.run("adjust", "request", "--kind", "refund", "--receipt", 1, "--amount", "0.01",
                         "--reason", "again", **CLERK)
    assert code == 2 and "at most 0.00" in err
    credit = json.loads(s.ok("adjust", "request", "--kind", "credit", "--meter", PAN, "--units", "25",
                             "--reason", "meter fault", "--json", **CLERK))["id"]
    out = json.loads(s.ok("adjust", "confirm", credit, "--json", **sam))
    assert out["token"]["units_tenths"] == out["token"]["value"] == 250
    assert s.counts()[0] == 1         # the refunded sale is still in the ledger


def test_payments_import_is_idempotent(session):
    s = session
    statement = s.tmp / "statement.csv"
    statement.write_text("reference,date,account,amount,channel\n"
                         "TX1,2026-05-04 10:00,%s,20.00,mobile\n"
                         "TX2,2026-05-04,A-001,15.00,\n"
                         "TX3,2026-05-04,NOBODY,10.00,bank\n" % PAN)
    out = json.loads(s.ok("payments", "import", statement, "--source", "mpesa", "--json", **CLERK))
    assert len(out["vended"]) == 1 and len(out["failed"]) == 0
    # A-001 has two active meters, so its account alone does not say which to vend to
    assert {u["reference"] for u in out["unmatched"]} == {"TX2", "TX3"}
    first = s.counts()
    again = json.loads(s.ok("payments", "import", statement, "--source", "mpesa", "--json", **CLERK))
    assert again["vended"] == [] and len(again["skipped"]) == 1 and len(again["unmatched"]) == 2
    assert s.counts()[0] == first[0]


def test_reports_csv_and_chart(session):
    s = session
    for amount in ("10.00", "20.00", "30.00"):
        s.ok("sell", "--meter", PAN, "--amount", amount, "--channel", "cash", **CLERK)
    daily = s.tmp / "daily.csv"
    rows = json.loads(s.ok("report", "daily", "--csv", daily, "--json"))
    assert rows[0]["sales"] == 3 and rows[0]["amount_cents"] == 6000
    with open(daily) as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["amount"] == "60.00" and table[0]["operator"] == "alice"
    import datetime
    today = datetime.datetime.now(datetime.timezone.utc)      # settlement day 1: the calendar month
    month = "%04d-%02d" % (today.year, today.month)
    settle = json.loads(s.ok("report", "settlement", "--month", month, "--json"))
    assert settle[0]["account"] == "A-001" and settle[0]["amount_cents"] == 6000
    chart = s.tmp / "meter.png"
    hist = json.loads(s.ok("report", "meter", "--meter", PAN, "--chart", chart, "--json"))
    assert len(hist) == 3 and chart.read_bytes().startswith(b"\x89PNG")


def test_vending_key_never_appears_in_clear(session, db_url):
    s = session
    s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", "--receipt-file", s.tmp / "a.txt", **CLERK)
    s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", "--receipt-file", s.tmp / "a.pdf",
         "--json", **CLERK)
    s.ok("token", "key-change", "--meter", PAN, "--krn", 2, "--operator", "sam", password="sam-password")
    s.ok("key", "list")
    s.ok("audit", "show", "--last", 100)
    s.ok("report", "daily", "--csv", s.tmp / "d.csv")
    needles = []
    for hexkey in (VK_HEX, VK2_HEX, VK02_HEX):
        raw = bytes.fromhex(hexkey)
        needles += [hexkey.lower().encode(), hexkey.upper().encode(), raw]
    blobs = [o.encode() for o in s.outputs]
    for name in os.listdir(s.tmp):
        if name.endswith(".hex"):
            continue
        path = os.path.join(s.tmp, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                blobs.append(handle.read())
    if "://" not in db_url:                  # the SQLite file and its WAL
        assert any(os.path.basename(db_url) in n for n in os.listdir(s.tmp))
    else:                                     # PostgreSQL: every text column of every table
        engine = db.make_engine(s.url)
        with engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    blobs.append(repr(tuple(row)).encode())
        engine.dispose()
    for blob in blobs:
        for needle in needles:
            assert needle not in blob


def test_one_vocabulary_and_lists_as_people_write_them(session):
    """The same flags as ``prepay token`` (old spellings kept), flags a command would
    ignore refused, and lists in money, percentages and local time as people write them
    while --json keeps exact integers under unit-named keys."""
    import re
    s = session
    admin = {"operator": "root", "password": "root-password"}
    sam = {"operator": "sam", "password": "sam-password"}
    s.ok("meter", "add", "--meter", "600727000000000025", "--account", "A-001", "--sgc", 201457,
         "--ti", 1, "--krn", 1, "--algorithm", "sta", "--base-date", 2014, "--tariff", "home", **admin)
    new = json.loads(s.ok("token", "power-limit", "--meter", PAN, "--watts", 5000, "--json", **sam))
    old = json.loads(s.ok("token", "power-limit", "--meter", PAN, "--value", 5000, "--json", **sam))
    assert new["kind"] == old["kind"] and new["value"] == old["value"] == new["watts"] == 5000
    assert json.loads(s.ok("token", "test", "--mfr-code", 7, "--control", "0x1", "--json", **CLERK))["digits"] \
        == json.loads(s.ok("token", "test", "--mfr", 7, "--control", "1", "--json", **CLERK))["digits"]
    before = s.counts()
    for argv, who, said in [
            (("token", "power-limit", "--meter", PAN, "--watts", 1, "--value", 2), sam, "not allowed with"),
            (("adjust", "request", "--kind", "refund", "--receipt", 1, "--amount", "1.00", "--units", "2",
              "--reason", "x"), CLERK, "--kind refund takes --receipt and --amount, not --units"),
            (("tariff", "add", "x", "--flat", "1", "--service-period", "day"), admin,
             "--service-period goes with a --service charge")]:
        try:
            code, _, err = s.run(*argv, **who)
        except SystemExit as exc:          # argparse refuses before the command runs
            code, err = exc.code, s.capsys.readouterr().err
        assert code == 2 and said in err, (argv, err)
    assert s.counts() == before
    s.ok("sell", "--meter", PAN, "--amount", "9950.00", "--channel", "cash", **CLERK)
    s.ok("adjust", "request", "--kind", "refund", "--receipt", 1, "--amount", "100.00", "--reason", "twice", **CLERK)
    s.ok("debt", "set", "--account", "A-001", "--amount", "250", "--recovery", "12.5", **sam)
    text = s.ok("adjust", "list")
    assert re.search(r"^1 +refund +pending +A-001 +1 +100\.00 +0\.0 +alice +20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d +- +twice$",
                     text, re.M), text
    rows = json.loads(s.ok("adjust", "list", "--json"))
    assert rows[0]["amount_cents"] == 10000 and rows[0]["requested_at"].endswith("Z")
    import datetime
    import zoneinfo
    utc = datetime.datetime.fromisoformat(rows[0]["requested_at"][:-1] + "+00:00")
    local = utc.astimezone(zoneinfo.ZoneInfo("Africa/Nairobi"))     # the station's time zone
    assert local.strftime("%Y-%m-%dT%H:%M:%S") in text
    assert "16%" in s.ok("tariff", "list") and "0.25" in s.ok("tariff", "list")
    tariff = json.loads(s.ok("tariff", "list", "--json"))[0]
    assert tariff["vat_bp"] == 1600 and tariff["blocks"] == [{"upto_tenths": None, "price_micro": 250000}]
    assert "recovery 12.5%" in s.ok("customer", "show", "--account", "A-001")
    assert re.search(r"^alice +clerk +yes +20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d$", s.ok("operator", "list"), re.M)
    assert json.loads(s.ok("operator", "list", "--json"))[0]["active"] is True
    shown = json.loads(s.ok("audit", "show", "--last", 1, "--json"))["entries"][0]
    assert shown["payload"]["recovery_bp"] == 1250 and shown["at"].endswith("Z")


def test_second_admin_approves_enable_and_audit_checkpoints_through_the_cli(session):
    """Separation of duties and the audit trail's anchors as an admin and a supervisor use
    them from the command line: approve, disable, enable; a checkpoint and an exported head
    that show the removal of the last entry, which the database alone cannot."""
    s = session
    root = {"operator": "root", "password": "root-password"}
    ada = {"operator": "ada", "password": "ada-password"}
    sam = {"operator": "sam", "password": "sam-password"}
    s.ok("operator", "add", "ada", "--role", "admin", new_password="ada-password", **root)   # waiting 0 s
    added = json.loads(s.ok("operator", "add", "sid", "--role", "supervisor", "--json",
                            new_password="sid-password", **ada))
    assert added["state"].startswith("awaiting a second admin")
    code, _, err = s.run("operator", "approve", "sid", **ada)
    assert code == 2 and "another admin must approve it" in err and len(err.splitlines()) == 1
    code, _, err = s.run("operator", "approve", "sid", **CLERK)
    assert code == 2 and "needs a admin" in err
    assert "sid: active" in s.ok("operator", "approve", "sid", **root)
    s.ok("operator", "disable", "sid", **root)
    code, _, err = s.run("audit", "head", operator="sid", password="sid-password")
    assert code == 2 and "wrong password" in err
    assert json.loads(s.ok("operator", "enable", "sid", "--json", **root))["state"].startswith("awaiting")
    assert json.loads(s.ok("operator", "approve", "sid", "--json", **ada))["state"] == "active"
    s.ok("audit", "head", operator="sid", password="sid-password")

    s.ok("sell", "--meter", PAN, "--amount", "10.00", "--channel", "cash", **CLERK)
    s.ok("reprint", "--meter", PAN, **CLERK)
    if s.mode == "local":
        target = s.tmp / "checkpoints"
        target.mkdir()
        code, _, err = s.run("audit", "checkpoint", "--to", target, **CLERK)
        assert code == 2 and "needs a supervisor" in err
        done = json.loads(s.ok("audit", "checkpoint", "--to", target, "--json", **sam))
    else:                                   # the server's own target; a client names no path there
        target = s.tmp / "server-checkpoints.jsonl"
        code, _, err = s.run("audit", "checkpoint", "--to", s.tmp, **sam)
        assert code == 2 and "--to is for local mode" in err
        done = json.loads(s.ok("audit", "checkpoint", "--json", **sam))
    head = s.ok("audit", "head").strip()
    assert head == "%d:%s" % (done["id"], done["hash"])
    out = s.ok("audit", "verify", "--expect-head", head, "--checkpoints", target)
    assert "1 exported head(s) held" in out and "checkpoint(s) held" in out
    code, _, err = s.run("audit", "verify", "--expect-head", "12:abc")
    assert code == 2 and "--expect-head '12:abc' must look like" in err

    log = schema.audit_log              # the reprint's entry removed and the head moved back
    engine = db.make_engine(s.url)
    with db.begin_write(engine) as conn:
        last = conn.execute(select(log).order_by(log.c.id.desc()).limit(1)).mappings().first()
        assert last["action"] == "reprint"
        conn.execute(log.delete().where(log.c.id == last["id"]))
        conn.execute(schema.audit_head.update().values(last_id=last["id"] - 1, last_hash=last["prev_hash"]))
    engine.dispose()
    assert "intact" in s.ok("audit", "verify")          # nothing inside the database shows it
    for anchor in (("--expect-head", head), ("--expect-head", head.split(":")[1]), ("--checkpoints", target)):
        code, _, err = s.run("audit", "verify", *anchor)
        assert code == 2 and "not in the chain" in err and len(err.splitlines()) == 1, (anchor, err)


def test_reads_need_an_authenticated_operator_by_either_door(session):
    """Customers' details, reports, operators and the audit trail: no operator, a wrong
    password or a disabled account gets one line and nothing, locally as through a server."""
    s = session
    reads = [("customer", "show", "--account", "A-001"), ("meter", "show", "--meter", PAN),
             ("report", "daily"), ("operator", "list"), ("audit", "show"), ("audit", "head"),
             ("audit", "verify"), ("adjust", "list"), ("tariff", "list"), ("key", "list")]
    s.ok("operator", "add", "carl", "--role", "clerk", new_password="carl-password",
         operator="root", password="root-password")
    s.ok("operator", "disable", "carl", operator="root", password="root-password")
    refused = [(argv, {"operator": ""}, "say who is acting") for argv in reads] + [
        (("customer", "show", "--account", "A-001"), {"operator": "alice", "password": "not-her-password"},
         "wrong password"),
        (("audit", "show"), {"operator": "carl", "password": "carl-password"}, "wrong password")]
    for argv, who, said in refused:      # (few wrong passwords: the 6th would be throttled)
        code, out, err = s.run(*argv, **who)
        assert code == 2 and said in err and len(err.strip().splitlines()) == 1, (argv, who, err)
        assert out == "" and "Jane" not in err, (argv, out)
    for argv in reads:
        assert s.run(*argv, **CLERK)[0] == 0, argv
