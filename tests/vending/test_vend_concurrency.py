"""Eight clerks at once: 8 processes x 250 sales to the same 10 meters must give 2,000
complete sales and 2,000 distinct (meter, TID) pairs, on SQLite and on PostgreSQL."""
import multiprocessing

from sqlalchemy import func, select

from host.vending import audit, schema
from vendworld import World, sell_worker

PROCESSES = 8
SALES_EACH = 250
METERS = 10


def test_concurrent_sales_get_distinct_tids(db_url):
    world = World(db_url, meters=METERS)
    operator = world.ops["alice"]
    world.engine.dispose()
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(sell_worker, [(db_url, operator, world.pans, SALES_EACH, k)
                                             for k in range(PROCESSES)])
    done = [row for chunk in results for row in chunk]
    assert len(done) == PROCESSES * SALES_EACH
    assert len({(p, tid) for p, tid, _ in done}) == PROCESSES * SALES_EACH
    assert len({receipt for _, _, receipt in done}) == PROCESSES * SALES_EACH
    with world.engine.connect() as conn:
        t = schema.tokens
        assert conn.execute(select(func.count()).select_from(schema.sales)).scalar() == 2000
        pairs = conn.execute(select(func.count()).select_from(
            select(t.c.meter_id, t.c.tid).distinct().subquery())).scalar()
        assert pairs == 2000
        assert conn.execute(select(func.count()).select_from(t).where(t.c.sale_id.is_(None))).scalar() == 0
        for p in world.pans:       # each meter's last_tid is its highest token TID
            m = world.meter(p)
            top = conn.execute(select(func.max(t.c.tid)).where(t.c.meter_id == m["id"])).scalar()
            assert m["last_tid"] == top
        problems, entries = audit.verify(conn)
    assert problems == [] and entries >= 2000
    world.engine.dispose()
