"""Make ``station-0001.json``: a station as the code of schema revision 0001 left it, for
``test_vend_upgrade.py``. Run with that code first on the path, once, by hand:

    git archive 239b840~1 host tokens | tar -x -C /tmp/old
    rm /tmp/old/host/vending/migrations/versions/0003_commissioning.py   # (made for 0002)
    PYTHONPATH=/tmp/old python3 tests/vending/data/make_station_0001.py

It sets up a station through that code's own functions (operators, keys, a tariff and its
revision, customers, meters, sales, a management token, a confirmed adjustment, debt, a
disabled operator), so every row and audit entry is what a station of that day wrote,
and writes every table's rows as JSON (times tagged, so both databases read them back).
"""
import datetime
import json
import os
import sys
import tempfile

from sqlalchemy import select

from host.vending import adjustments, bootstrap, db, mgmt, office, operators, sales, schema
from host.vending.station import Station

PASSPHRASE = "a station from revision 0001"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "station-0001.json")


class Clock:
    def __init__(self):
        self.now = datetime.datetime(2026, 3, 2, 8, 0)

    def __call__(self):
        self.now += datetime.timedelta(minutes=7)
        return self.now


def build(url):
    clock = Clock()
    engine = db.make_engine(url, create_dir=True)
    bootstrap.init(engine, PASSPHRASE, "Africa/Nairobi", clock())
    st = Station(engine, PASSPHRASE, clock=clock)
    office.add_operator(st, None, "root", "admin", "root-password")
    with engine.connect() as conn:
        root = operators.authenticate(conn, "root", "root-password", "admin")
    for name, role in (("alice", "clerk"), ("bob", "clerk"), ("sam", "supervisor"), ("sue", "supervisor")):
        office.add_operator(st, root, name, role, name + "-password")
    with engine.connect() as conn:
        ops = {n: operators.authenticate(conn, n, n + "-password") for n in ("alice", "sam", "sue")}
    office.add_vending_key(st, root, 201457, 1, "04", bytes.fromhex("abababababababab949494949494949401234567"))
    office.add_vending_key(st, root, 123456, 1, "02", bytes.fromhex("abababababababab"))
    office.add_tariff(st, ops["sam"], "home", {"blocks": [(500, 200000), (None, 250000)], "vat_bp": 1600})
    office.revise_tariff(st, ops["sam"], "home", {"blocks": [(None, 260000)], "vat_bp": 1600,
                                                   "effective_from": datetime.datetime(2026, 4, 1)})
    office.add_customer(st, ops["alice"], "A-001", "Jane Doe", phone="+254700000000")
    office.add_customer(st, ops["alice"], "A-002", "Ngũgĩ wa Thiong'o", address="Limuru")
    office.add_meter(st, ops["sam"], "600727000000000009", "A-001", 201457, 1, 1, 2, "sta", 2014,
                     "electricity", "home")
    office.add_meter(st, ops["sam"], "600727000000000017", "A-002", 123456, 1, 1, 2, "sta", 1993,
                     "electricity", "home")
    office.set_debt(st, ops["sam"], "A-001", 5000, 2500)
    first = sales.sell(st, ops["alice"], "600727000000000009", 10000, "cash")
    sales.sell(st, ops["alice"], "600727000000000009", 2500, "mobile", reference="MP-1")
    mgmt.issue_management(st, ops["sam"], "600727000000000009", "power-limit", 5000)
    adj = adjustments.request(st, ops["alice"], "refund", "paid twice", sale_id=first["receipt"],
                              amount_cents=1000)
    adjustments.decide(st, ops["sue"], adj["id"], True)
    office.disable_operator(st, root, "bob")
    tables = {}
    with engine.connect() as conn:
        assert db.schema_revision(conn) == "0001"
        for table in schema.metadata.sorted_tables:
            if table.name == "meter_commissionings":          # revision 0003's
                continue
            tables[table.name] = [{k: _tagged(v) for k, v in r.items()}
                                  for r in conn.execute(select(table)).mappings()]
    engine.dispose()
    return tables


def _tagged(value):
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    return value


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        data = build(os.path.join(tmp, "old.db"))
    data = {"revision": "0001", "passphrase": PASSPHRASE, "tables": data}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    print("wrote %s: %s" % (OUT, {k: len(v) for k, v in data["tables"].items()}), file=sys.stderr)
