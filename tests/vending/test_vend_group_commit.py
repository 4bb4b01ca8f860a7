"""Group commit (the vending server's sales that arrive together commit together): each
sale of a group is whole or absent on its own, refusals leave no trace and do not stop the
others, TIDs stay distinct on one meter, a payment reference used twice in one group
vends once, the audit entries chain in order, and a failed commit leaves no sale at all.
On SQLite and PostgreSQL; through the server the concurrency and crash tests run it too."""
import threading

import pytest
from sqlalchemy import event, func, select

from host.vending import audit, schema, sales
from host.vending.errors import VendError
from host.vending.group_commit import GroupCommit


def order(world, pan, amount_cents, reference=None, who="alice"):
    return (world.ops[who], pan, amount_cents, "cash", reference)


def test_a_group_commits_its_good_sales_and_refuses_the_bad_ones_alone(world):
    p = world.pans[0]
    before = world.count(schema.audit_log)
    outcomes = sales.sell_together(world.station, [
        order(world, p, 1000),
        order(world, "600727000000000017", 1000),            # not a meter of this station
        order(world, p, 2000, reference="MP-7"),
        order(world, p, 10 ** 9),                             # more than a token carries
        order(world, p, 2000, reference="MP-7"),              # the same payment again
        order(world, p, 3000, reference="MP-7"),              # its reference, another amount
        order(world, p, 1500, who="bob"),
    ])
    first, unknown, paid, too_much, again, conflict, last = outcomes
    assert isinstance(unknown, VendError) and "unknown meter" in str(unknown)
    assert isinstance(too_much, VendError) and isinstance(conflict, VendError)
    assert again["duplicate"] and again["receipt"] == paid["receipt"] and again["tokens"] == paid["tokens"]
    assert [r["operator"] for r in (first, paid, last)] == ["alice", "alice", "bob"]
    tids = [r["tid"] for r in (first, paid, last)]
    assert tids == sorted(set(tids))
    assert world.count(schema.sales) == 3 and world.count(schema.tokens) == 3
    assert world.meter(p)["last_tid"] == tids[-1]
    with world.engine.connect() as conn:
        log = schema.audit_log
        subjects = conn.execute(select(log.c.subject).where(log.c.action == "sale").order_by(log.c.id)).scalars()
        assert [int(s) for s in subjects] == [first["receipt"], paid["receipt"], last["receipt"]]
        assert audit.verify(conn, world.station.custody())[0] == []
    assert world.count(schema.audit_log) == before + 3


def test_a_failed_commit_leaves_no_sale_of_the_group(world):
    p = world.pans[0]

    def refuse_commit(conn):
        raise RuntimeError("disk full")
    event.listen(world.engine, "commit", refuse_commit)
    try:
        outcomes = sales.sell_together(world.station, [order(world, p, 1000), order(world, p, 2000)])
    finally:
        event.remove(world.engine, "commit", refuse_commit)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert world.count(schema.sales) == 0 and world.count(schema.tokens) == 0
    assert world.meter(p)["last_tid"] == 0
    with world.engine.connect() as conn:
        assert audit.verify(conn, world.station.custody())[0] == []


def test_clerks_selling_at_once_through_the_group_commit(world):
    """Eight threads, as the server's request threads, each selling through one GroupCommit."""
    world.station.group_commit = together = GroupCommit(world.station)
    pans = world.pans
    done, failures = [], []

    def clerk(k):
        try:
            for i in range(25):
                r = sales.sell(world.station, world.ops["alice"], pans[0], 1000 + i % 20, "cash",
                               reference="T%d-%d" % (k, i % 20))          # 5 retries each
                done.append((r["receipt"], r["tid"], r.get("duplicate", False)))
        except Exception as exc:
            failures.append(exc)
    threads = [threading.Thread(target=clerk, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert failures == []
    fresh = [(r, tid) for r, tid, dup in done if not dup]
    assert len(fresh) == 8 * 20 and len({tid for _, tid in fresh}) == 8 * 20
    assert together.sales == 8 * 25 and 1 <= together.groups <= 8 * 25
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.sales)).scalar() == 8 * 20
        assert audit.verify(conn, world.station.custody())[0] == []


def test_an_error_inside_the_leader_reaches_every_waiting_clerk(world, monkeypatch):
    world.station.group_commit = GroupCommit(world.station)

    def broken(station, orders):
        raise RuntimeError("lost the database")
    monkeypatch.setattr(sales, "sell_together", broken)
    with pytest.raises(RuntimeError, match="lost the database"):
        sales.sell(world.station, world.ops["alice"], world.pans[0], 1000, "cash")
    monkeypatch.undo()
    assert sales.sell(world.station, world.ops["alice"], world.pans[0], 1000, "cash")["receipt"]
