"""A payment reference buys one sale (issue 11 item 8), on SQLite and PostgreSQL: the
same reference, meter and amount again is a retry (the first receipt, nothing sold);
the same reference with another meter or amount is refused naming the conflict, with
nothing written; two processes with one reference at the same moment make one sale;
statement import keeps the same rule across statements."""
import json
import multiprocessing

import pytest

from host.vending import db, payments, sales, schema
from host.vending.errors import VendError
from host.vending.station import Station
from vendworld import PASSPHRASE, World

PROCESSES = 6


def _counts(world):
    return tuple(world.count(t) for t in (schema.sales, schema.tokens, schema.audit_log, schema.payments))


def test_retry_returns_the_first_receipt_and_a_conflict_is_refused(db_url):
    world = World(db_url, meters=2)
    a, b = world.pans
    alice = world.ops["alice"]
    first = sales.sell(world.station, alice, a, 2000, "mobile", reference="TX1")
    grouped = " ".join(a[i:i + 6] for i in range(0, 18, 6))
    retry = sales.sell(world.station, world.ops["bob"], grouped, 2000, "mobile", reference="TX1")
    assert retry["duplicate"] and retry["receipt"] == first["receipt"] and retry["tokens"] == first["tokens"]
    assert "duplicate" not in first
    before = _counts(world)
    for pan, amount in ((b, 2000), (a, 2500), (b, 2500)):
        with pytest.raises(VendError) as caught:
            sales.sell(world.station, alice, pan, amount, "mobile", reference="TX1")
        said = str(caught.value)
        assert said.startswith("payment reference TX1 is already used by receipt %d (meter %s, amount 20.00)"
                               % (first["receipt"], a)) and "meter %s of %.2f" % (pan, amount / 100) in said
    assert _counts(world) == before
    assert world.meter(b)["last_tid"] == 0
    world.engine.dispose()


def _sell_at_once(url, operator, pan, amount, barrier, out):
    engine = db.make_engine(url)
    station = Station(engine, PASSPHRASE)
    barrier.wait()
    try:
        sale = sales.sell(station, operator, pan, amount, "bank", reference="RACE-1")
        out.put(("sold", sale["receipt"], sale.get("duplicate", False), sale["tokens"][0]["digits"]))
    except VendError as exc:
        out.put(("refused", str(exc), None, None))
    finally:
        engine.dispose()


def _race(world, orders):
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(len(orders)), context.Queue()
    procs = [context.Process(target=_sell_at_once, args=(world.url, world.ops["alice"], pan, amount, barrier, out))
             for pan, amount in orders]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return results


def test_the_same_reference_at_the_same_moment_makes_one_sale(db_url):
    world = World(db_url, meters=2)
    world.engine.dispose()
    results = _race(world, [(world.pans[0], 3000)] * PROCESSES)
    assert {r[0] for r in results} == {"sold"}
    assert len({(r[1], r[3]) for r in results}) == 1                 # one receipt, one token, for all
    assert sorted(r[2] for r in results) == [False] + [True] * (PROCESSES - 1)
    assert world.count(schema.sales) == 1 and world.count(schema.tokens) == 1

    results = _race(world, [(world.pans[i % 2], 3100 + 100 * i) for i in range(PROCESSES)])
    assert [r[0] for r in results].count("sold") == 0                 # RACE-1 is taken: all conflicts
    assert all("already used by receipt" in r[1] for r in results)
    assert world.count(schema.sales) == 1
    world.engine.dispose()


def test_different_orders_racing_for_a_new_reference_make_one_sale(db_url):
    world = World(db_url, meters=2)
    world.engine.dispose()
    results = _race(world, [(world.pans[i % 2], 3000 + 100 * i) for i in range(PROCESSES)])
    sold = [r for r in results if r[0] == "sold"]
    assert len(sold) == 1 and not sold[0][2]
    assert all("already used by receipt %d" % sold[0][1] in r[1] for r in results if r[0] == "refused")
    assert world.count(schema.sales) == 1 and world.count(schema.tokens) == 1
    world.engine.dispose()


def test_statement_reference_reused_across_statements(world, tmp_path):
    p = world.pans[0]
    first = tmp_path / "may.csv"
    first.write_text("reference,date,account,amount\nTX1,2026-05-04,%s,20.00\n" % p)
    out = payments.import_statement(world.station, world.ops["alice"], first, "mpesa")
    assert len(out["vended"]) == 1
    receipt = out["vended"][0]["receipt"]
    before = _counts(world)
    again = tmp_path / "june.csv"
    again.write_text("reference,date,account,amount\nTX1,2026-06-01,%s,20.00\nTX1b,2026-06-01,%s,5.00\n" % (p, p))
    out = payments.import_statement(world.station, world.ops["alice"], again, "mpesa")
    assert [s["reference"] for s in out["skipped"]] == ["TX1"] and len(out["vended"]) == 1
    before = _counts(world)
    changed = tmp_path / "july.csv"
    changed.write_text("reference,date,account,amount\nTX1,2026-07-01,%s,25.00\nTX1b,2026-07-01,A-001,5.00\n" % p)
    out = payments.import_statement(world.station, world.ops["alice"], changed, "mpesa")
    notes = {f["reference"]: f["note"] for f in out["failed"]}
    assert notes["TX1"] == ("reference TX1 was vended before for account %s, amount 20.00 (receipt %d); this line "
                            "says account %s, amount 25.00: refused" % (p, receipt, p))
    assert "account A-001, amount 5.00: refused" in notes["TX1b"] and not out["vended"]
    assert _counts(world) == before                      # the vended lines stay as they were
    with world.engine.connect() as conn:
        from sqlalchemy import select
        row = conn.execute(select(schema.payments.c.status, schema.payments.c.amount_cents)
                           .where(schema.payments.c.line_ref == "TX1")).first()
    assert tuple(row) == ("vended", 2000)


def test_a_crash_between_sale_and_statement_line_vends_nothing_twice(world, tmp_path):
    """The sale committed but the run stopped before it recorded the statement line: the
    re-run finds the sale by its reference and records the line, selling nothing."""
    p = world.pans[0]
    sales.sell(world.station, world.ops["alice"], p, 2000, "bank", reference="pay:bank-kcb:K1")
    statement = tmp_path / "kcb.csv"
    statement.write_text("reference,date,account,amount\nK1,2026-05-04,%s,20.00\n" % p)
    out = payments.import_statement(world.station, world.ops["alice"], statement, "bank-kcb")
    assert out["vended"] == [] and out["skipped"][0]["receipt"] == 1
    assert world.count(schema.sales) == 1 and world.count(schema.payments) == 1


def test_the_cli_prints_the_conflict_in_one_line(db_url, tmp_path, monkeypatch, capsys):
    from test_vend_cli import CLERK, PAN, Session, setup_station
    s = Session(db_url if "://" in db_url else "sqlite:///" + db_url, tmp_path, monkeypatch, capsys)
    setup_station(s)
    first = json.loads(s.ok("sell", "--meter", PAN, "--amount", "20.00", "--channel", "cash", "--ref", "TX1",
                            "--json", **CLERK))
    code, out, err = s.run("sell", "--meter", PAN, "--amount", "20", "--channel", "cash", "--ref", "TX1", "--json",
                           **CLERK)
    retry = json.loads(out)
    assert retry["receipt"] == first["receipt"] and retry["duplicate"] and retry["tokens"] == first["tokens"]
    assert code == 0 and "payment reference TX1 was sold before: this is receipt %d again" % first["receipt"] in err
    before = s.counts()
    code, out, err = s.run("sell", "--meter", PAN, "--amount", "25.00", "--channel", "cash", "--ref", "TX1", **CLERK)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1
    assert "payment reference TX1 is already used by receipt %d" % first["receipt"] in err
    assert s.counts() == before
