"""Eight clerks at once: 8 processes x 250 sales to the same 10 meters must give 2,000
complete sales and 2,000 distinct (meter, TID) pairs, on SQLite and on PostgreSQL, each
process opening the database itself (local) or, logged in as its own clerk, through the
vending server (server)."""
import multiprocessing

from sqlalchemy import func, select

from host.vending import audit, schema
from vendworld import PASSPHRASE, World, add_clerks, sell_worker, server_sell_worker
from vendserver import VendServer

PROCESSES = 8
SALES_EACH = 250
METERS = 10


def test_concurrent_sales_get_distinct_tids(db_url, mode, tmp_path):
    world = World(db_url, meters=METERS)
    server = None
    if mode == "server":
        clerks = add_clerks(world, PROCESSES)
        server = VendServer(db_url, PASSPHRASE, tmp_path).start()
        jobs = [(server.url, clerks[k], world.pans, SALES_EACH, k) for k in range(PROCESSES)]
    else:
        jobs = [(db_url, world.ops["alice"], world.pans, SALES_EACH, k) for k in range(PROCESSES)]
    world.engine.dispose()
    context = multiprocessing.get_context("spawn")
    try:
        with context.Pool(PROCESSES) as pool:
            results = pool.starmap(server_sell_worker if server else sell_worker, jobs)
    finally:
        if server:
            server.stop()
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
