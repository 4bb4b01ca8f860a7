"""A station made by the code of schema revision 0001 (``data/station-0001.json``, written
by that code: see ``data/make_station_0001.py``) upgrades to the newest revision with
``init`` on SQLite and PostgreSQL: every row is still there, the audit chain it wrote is
unchanged and now keyed, ``verify`` finds it intact, and the station sells on from where
it stood (same operators and passwords, TIDs after the last one)."""
import datetime
import json
import os

from alembic import command
from sqlalchemy import MetaData, select, text

from host.vending import audit, bootstrap, db, office, operators, sales, schema
from host.vending.station import Station

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "station-0001.json")


def _value(v):
    if isinstance(v, dict) and "datetime" in v:
        return datetime.datetime.fromisoformat(v["datetime"])
    if isinstance(v, dict) and "date" in v:
        return datetime.date.fromisoformat(v["date"])
    return v


def station_at_0001(url):
    """The schema at revision 0001 and the old station's rows, as its code wrote them."""
    with open(DATA, encoding="utf-8") as f:
        data = json.load(f)
    engine = db.make_engine(url, create_dir=True)
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, data["revision"])
        conn.commit()
    old = MetaData()
    with engine.begin() as conn:
        old.reflect(conn)
        for table in reversed(old.sorted_tables):    # the migration's own first rows (audit_head)
            if table.name != "alembic_version":
                conn.execute(table.delete())
        for table in old.sorted_tables:
            rows = [{k: _value(v) for k, v in r.items()} for r in data["tables"].get(table.name, [])]
            if rows:
                conn.execute(table.insert(), rows)
            if conn.dialect.name == "postgresql" and "id" in table.c and rows:   # as if inserted one by one
                conn.execute(text("SELECT setval(pg_get_serial_sequence('%s', 'id'), %d)"
                                  % (table.name, max(r["id"] for r in rows))))
    return engine, data


def test_a_revision_0001_station_upgrades_with_its_data_and_audit_chain(db_url):
    engine, data = station_at_0001(db_url if "://" in db_url else "sqlite:///" + db_url)
    old = data["tables"]
    with engine.connect() as conn:
        assert db.schema_revision(conn) == "0001"
    now = datetime.datetime(2026, 6, 1, 8, 0)
    done = bootstrap.init(engine, data["passphrase"], None, now)
    assert done["audit_keyed"] == len(old["audit_log"]) and done["timezone"] == "Africa/Nairobi"

    station = Station(engine, data["passphrase"], clock=lambda: now)
    with engine.connect() as conn:
        from alembic.script import ScriptDirectory
        newest = ScriptDirectory.from_config(db.alembic_config(db_url)).get_current_head()
        assert db.schema_revision(conn) == newest
        for name, rows in old.items():               # every row there, its old columns unchanged
            table = schema.metadata.tables[name]
            key = list(table.primary_key.columns)[0]
            now_rows = {r[key.name]: dict(r) for r in conn.execute(select(table)).mappings()}
            for row in rows:
                have = now_rows[row[key.name]]
                for column, value in row.items():
                    if name != "audit_head":         # the head moved on: the keying entry
                        assert have[column] == _value(value), (name, row[key.name], column)
        log = [dict(r) for r in conn.execute(select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings()]
    assert [e["hash"] for e in log[:len(old["audit_log"])]] == [e["hash"] for e in old["audit_log"]]
    assert all(e["mac"] for e in log) and log[len(old["audit_log"])]["action"] == "audit_keyed"
    assert office.verify_audit(station)[0] == []
    assert office.verify_audit(station, heads=[(old["audit_head"][0]["last_id"],
                                                old["audit_head"][0]["last_hash"])])[0] == []

    alice = office.login(station, "alice", "alice-password")     # passwords hashed by the old code
    last_tid = next(m["last_tid"] for m in old["meters"] if m["pan"] == "600727000000000009")
    sale = sales.sell(station, alice, "600727000000000009", 5000, "cash")
    assert sale["receipt"] == len(old["sales"]) + 1 and sale["tid"] > last_tid
    debt = next(c for c in old["customers"] if c["account"] == "A-001")
    assert sale["deductions"]["debt_cents"] == 5000 * debt["debt_recovery_bp"] // 10000
    with engine.connect() as conn:
        bob, sam = operators.find(conn, "bob"), operators.find(conn, "sam")
    assert not bob["active"] and operators.usable(sam, now)       # approved when they were made
    assert office.verify_audit(station)[0] == []
    station.close()
    engine.dispose()
