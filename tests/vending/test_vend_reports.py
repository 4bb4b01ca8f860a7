"""Reports and the audit log say what is true (issue 11 item 14): the settlement period for
``--month`` is the one that ends in that month (day 1: the calendar month) and every
report prints the days it covers; the audit head's hash, exported, catches a chain that
was rebuilt from scratch."""
import datetime

from sqlalchemy import select, update

from host.vending import audit, records, reports, sales, schema
from test_vend_cli import session  # noqa: F401  (the fixture)


def _customer_with_day(world, account, day):
    with world.station.begin() as conn:
        records.add_customer(conn, world.clock(), account, "Day %d" % day, settlement_day=day)
        conn.execute(update(schema.meters).where(schema.meters.c.pan == world.pans[0])
                     .values(customer_id=records.find_customer(conn, account)["id"]))


def _sell_on(world, when, cents):
    world.clock.now = when
    return sales.sell(world.station, world.ops["alice"], world.pans[0], cents, "cash")


def test_settlement_month_is_the_period_ending_in_it(world):
    _customer_with_day(world, "D-01", 1)
    _sell_on(world, datetime.datetime(2026, 11, 30, 23, 59), 1000)      # November
    _sell_on(world, datetime.datetime(2026, 12, 1, 0, 0), 2000)         # December
    _sell_on(world, datetime.datetime(2026, 12, 31, 23, 59), 4000)      # December
    _customer_with_day(world, "D-15", 15)
    _sell_on(world, datetime.datetime(2026, 12, 14, 12, 0), 8000)       # 15 Nov - 14 Dec
    _sell_on(world, datetime.datetime(2026, 12, 15, 0, 0), 16000)       # 15 Dec - 14 Jan
    with world.engine.connect() as conn:
        december = {r["account"]: r for r in reports.settlement(conn, 2026, 12)}
        november = {r["account"]: r for r in reports.settlement(conn, 2026, 11)}
        january = {r["account"]: r for r in reports.settlement(conn, 2027, 1)}
    assert december["D-01"]["amount_cents"] == 6000
    assert (december["D-01"]["period_from"], december["D-01"]["period_to"]) == ("2026-12-01", "2026-12-31")
    assert december["D-15"]["amount_cents"] == 8000
    assert (december["D-15"]["period_from"], december["D-15"]["period_to"]) == ("2026-11-15", "2026-12-14")
    assert november["D-01"]["amount_cents"] == 1000 and "D-15" not in november
    assert january["D-15"]["amount_cents"] == 16000 and "D-01" not in january
    assert reports.settlement_period(2026, 2, 1) == (datetime.datetime(2026, 2, 1), datetime.datetime(2026, 3, 1))
    assert reports.settlement_period(2026, 1, 28) == (datetime.datetime(2025, 12, 28),
                                                      datetime.datetime(2026, 1, 28))


def test_every_report_says_which_days_it_covers(session):
    s = session
    text = s.ok("report", "settlement", "--month", "2026-12")
    assert text.splitlines()[0] == ("settlement periods ending in 2026-12 (UTC days): "
                                    "day 1 covers 2026-12-01 to 2026-12-31")
    assert text.splitlines()[-1] == "(none)"
    daily = s.ok("report", "daily", "--from", "2026-05-01", "--to", "2026-05-31")
    assert daily.splitlines()[0] == "daily sales, 2026-05-01 to 2026-05-31 (UTC days)"
    meter = s.ok("report", "meter", "--meter", "600727000000000009", "--from", "2026-05-01", "--to", "2026-05-02")
    assert meter.splitlines()[0] == "purchases of meter 600727000000000009, 2026-05-01 to 2026-05-02 (UTC days)"


def _rebuild_chain(conn):
    """What someone who can write the whole database does: edit an entry, then recompute
    every hash after it and the head, so that the chain verifies again on its own."""
    log = schema.audit_log
    rows = conn.execute(select(log).order_by(log.c.id)).mappings().all()
    prev = audit.GENESIS
    for row in rows:
        payload = '{"rewritten":true}' if row["id"] == 1 else row["payload"]
        digest = audit.entry_hash(prev, row["id"], row["at"], row["operator"], row["action"], row["subject"], payload)
        conn.execute(update(log).where(log.c.id == row["id"]).values(payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    conn.execute(update(schema.audit_head).values(last_hash=prev))


def test_the_exported_head_hash_catches_a_rebuilt_chain(session):
    s = session
    s.ok("sell", "--meter", "600727000000000009", "--amount", "10.00", "--channel", "cash",
         operator="alice", password="alice-password")
    last = s.ok("audit", "show", "--last", "1").splitlines()[-1]
    assert last.startswith("head: entry ") and " sha256 " in last
    entry, digest = last.split()[2], last.split()[4]
    anchor = "%s:%s" % (entry, digest)
    import json
    shown = json.loads(s.ok("audit", "show", "--last", "1", "--json"))
    assert shown["head"]["hash"] == digest and shown["head"]["id"] == int(entry)
    assert "1 exported head(s) held" in s.ok("audit", "verify", "--anchor", anchor.upper())
    from host.vending import db
    engine = db.make_engine(s.url)
    with engine.begin() as conn:
        _rebuild_chain(conn)
    engine.dispose()
    code, out, _ = s.run("audit", "verify", "--json")   # consistent hashes, but no entry has the key's MAC
    assert code == 2 and "does not carry the audit key's MAC" in out
    code, out, _ = s.run("audit", "verify", "--anchor", anchor, "--json")
    assert code == 2 and "entry %s no longer has the hash of the exported head" % entry in out
    code, out, _ = s.run("audit", "verify", "--anchor", "999:" + digest, "--json")
    assert code == 2 and "not in the chain" in out
    code, _, err = s.run("audit", "verify", "--anchor", "nonsense")
    assert code == 2 and "--expect-head" in err          # --anchor: its older name
