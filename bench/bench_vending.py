"""Vending station figures: complete sales per second (tariff + token + ledger commit +
audit entry) on SQLite and PostgreSQL in one process, and the monthly settlement report
over 1,000,000 sales (rows generated with a bulk insert); and sales per second through the
vending server (``prepay vend serve`` on a loopback port, each clerk a process with its own
session) against the same number of processes in local mode, with 1 and 8 clerks.

Goals from issue 6: >= 500 sales/s on SQLite, settlement <= 5 s. Prints numbers only.
PostgreSQL comes from PREPAY_TEST_PG_URL or a throw-away server (tests/vending/pgserver.py).

    python bench/bench_vending.py [--sales N] [--rows N] [--server-sales N] [--no-pg]
"""
import argparse
import datetime
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "vending")]

from sqlalchemy import insert, select  # noqa: E402

from host.vending import reports, sales, schema  # noqa: E402
from vendworld import PASSPHRASE, Clock, World, add_clerks, sell_worker, server_sell_worker  # noqa: E402


def bench_sales(url, count, label):
    clock = Clock(datetime.datetime(2026, 5, 4, 9, 30))
    world = World(url, meters=10, clock=clock)
    operator = world.ops["alice"]
    sales.sell(world.station, operator, world.pans[0], 1000, "cash")    # warm the key caches
    start = time.perf_counter()
    for i in range(count):
        if i % 50 == 0:
            clock.advance(minutes=1)
        sales.sell(world.station, operator, world.pans[i % 10], 1000 + i % 9 * 100, "cash")
    elapsed = time.perf_counter() - start
    print("%-11s %6d complete sales in %6.2f s: %7.1f sales/s%s"
          % (label, count, elapsed, count / elapsed, " (goal >= 500/s)" if label == "sqlite" else ""), flush=True)
    world.engine.dispose()


def bench_doors(url, count, label, tmp):
    """Sales/s with 1 and 8 clerks (processes): local mode, then through the server."""
    from vendserver import VendServer
    world = World(url, meters=10)
    clerks = add_clerks(world, 8)
    pans, operator = world.pans, world.ops["alice"]
    world.engine.dispose()
    server = VendServer(url, PASSPHRASE, tmp).start()
    context = multiprocessing.get_context("spawn")
    try:
        for processes in (1, 8):
            with context.Pool(processes) as pool:       # started before the clock runs
                pool.starmap(sell_worker, [(url, operator, pans, 1, k) for k in range(processes)])
                rates = []
                for worker, who in ((sell_worker, [operator] * processes), (server_sell_worker, clerks)):
                    where = server.url if worker is server_sell_worker else url
                    start = time.perf_counter()
                    pool.starmap(worker, [(where, who[k], pans, count // processes, k) for k in range(processes)])
                    rates.append(count // processes * processes / (time.perf_counter() - start))
            print("%-11s %d clerk%s, %5d sales: local %7.1f sales/s, server %7.1f sales/s (%+.0f %%)"
                  % (label, processes, "s" if processes > 1 else " ", count // processes * processes, rates[0],
                     rates[1], 100 * (rates[1] / rates[0] - 1)), flush=True)
    finally:
        server.stop()


def fill_ledger(url, rows, customers=5000):
    """A world plus ``rows`` sales over April-May 2026 to ``customers`` one-meter customers."""
    world = World(url, meters=1)
    now = world.clock()
    rng = random.Random(6)
    engine = world.engine
    with world.station.begin() as conn:
        tariff_id = conn.execute(select(schema.tariffs.c.id)).scalar()
        version_id = conn.execute(select(schema.tariff_versions.c.id)).scalar()
        op_id = world.ops["alice"]["id"]
        conn.execute(insert(schema.customers), [
            {"account": "B-%05d" % i, "name": "Customer %d" % i, "settlement_day": 1 + i % 28, "debt_cents": 0,
             "debt_recovery_bp": 0, "created_at": now} for i in range(customers)])
        first_customer = conn.execute(select(schema.customers.c.id).where(
            schema.customers.c.account == "B-00000")).scalar()
        conn.execute(insert(schema.meters), [
            {"pan": "9%017d" % i, "customer_id": first_customer + i, "utility": "electricity", "credit_mode": "unit",
             "sgc": 201457, "ti": 1, "krn": 1, "kt": 2, "algorithm": "sta", "dkga": "04", "base_year": 2014,
             "ken": 255, "last_tid": 0, "tariff_id": tariff_id, "status": "active", "created_at": now}
            for i in range(customers)])
        first_meter = conn.execute(select(schema.meters.c.id).where(schema.meters.c.pan == "9%017d" % 0)).scalar()
    start_at = datetime.datetime(2026, 4, 1)
    span_s = 61 * 86400
    t0 = time.perf_counter()
    batch = 50000
    for offset in range(0, rows, batch):
        chunk = []
        for _ in range(min(batch, rows - offset)):
            k = rng.randrange(customers)
            amount = rng.randrange(500, 20000)
            vat = amount - amount * 10000 // 11600
            chunk.append({"meter_id": first_meter + k, "customer_id": first_customer + k, "operator_id": op_id,
                          "tariff_version_id": version_id, "channel": "cash",
                          "sold_at": start_at + datetime.timedelta(seconds=rng.randrange(span_s)),
                          "amount_cents": amount, "debt_cents": 0, "service_cents": 0, "vat_cents": vat,
                          "energy_cents": amount - vat, "units_tenths": (amount - vat) * 10 // 25,
                          "credit_value": (amount - vat) * 10 // 25, "free_tenths": 0, "detail": "{}"})
        with world.station.begin() as conn:
            conn.execute(insert(schema.sales), chunk)
    print("%-11s bulk insert of %d sales: %.1f s" % (engine.dialect.name, rows, time.perf_counter() - t0), flush=True)
    return world


def bench_settlement(url, rows, label):
    world = fill_ledger(url, rows)
    with world.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        start = time.perf_counter()
        result = reports.settlement(conn, 2026, 5)
        elapsed = time.perf_counter() - start
    total = sum(r["sales"] for r in result)
    print("%-11s settlement report for 2026-05 over %d sales: %d customers, %d sales in their periods, "
          "%.2f s (goal <= 5 s)" % (label, rows, len(result), total, elapsed), flush=True)
    world.engine.dispose()
    return json.dumps(result[:1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--server-sales", type=int, default=800, help="sales per run through each door")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="prepay-bench-")
    bench_sales(os.path.join(tmp, "sales.db"), args.sales, "sqlite")
    server = None
    if not args.no_pg:
        from pgserver import Server
        try:
            server = Server().start().wait_ready()
        except Exception as exc:
            print("postgresql  not measured: %s" % exc)
    if server:
        bench_sales(server.new_database(), args.sales, "postgresql")
    bench_doors(os.path.join(tmp, "doors.db"), args.server_sales, "sqlite", tmp)
    if server:
        bench_doors(server.new_database(), args.server_sales, "postgresql", tmp)
    bench_settlement(os.path.join(tmp, "ledger.db"), args.rows, "sqlite")
    if server:
        bench_settlement(server.new_database(), args.rows, "postgresql")
        server.stop()


if __name__ == "__main__":
    main()
