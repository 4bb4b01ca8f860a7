"""Vending station figures: complete sales per second (tariff + token + ledger commit +
audit entry) on SQLite and PostgreSQL in one process, and the monthly settlement report
over 1,000,000 sales (rows generated with a bulk insert); and sales per second through the
vending server (``prepay vend serve`` on a loopback port, each clerk a process with its own
session) against the same number of processes in local mode, with 1 and 8 clerks.

Also: the server's group commit alone (8 threads of one process selling through one
``GroupCommit`` against 8 threads each committing its own sale), and what a clerk's
``prepay vend sell`` command costs from start to exit in each mode (local mode unlocks the
keystore every time; through the server it logs in).

Goals from issue 6: >= 500 sales/s on SQLite, settlement <= 5 s; from issue 14: the server
costs < 30 % at one clerk and beats local mode at eight on PostgreSQL. Prints numbers only,
each with the load average (the machine is shared: figures move with it).
PostgreSQL comes from PREPAY_TEST_PG_URL or a throw-away server (tests/vending/pgserver.py)
that flushes every commit to disk, as a station's would.

    python bench/bench_vending.py [--sales N] [--rows N] [--server-sales N] [--no-pg]
"""
import argparse
import datetime
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "vending")]

from sqlalchemy import insert, select  # noqa: E402

from host.vending import reports, sales, schema  # noqa: E402
from vendworld import PASSPHRASE, PASSWORDS, Clock, World, add_clerks  # noqa: E402


def load():
    return "load %.1f" % os.getloadavg()[0]


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
    print("%-11s %6d complete sales in %6.2f s: %7.1f sales/s%s (%s)"
          % (label, count, elapsed, count / elapsed, " (goal >= 500/s)" if label == "sqlite" else "", load()),
          flush=True)
    world.engine.dispose()


def door_clerk(door, where, who, pans, count, offset, barrier, results):
    """One clerk's process: gets ready (local: opens the station and unlocks the keystore;
    server: logs in), waits for the others, sells ``count`` times, reports its TIDs."""
    from host.vending import db
    from host.vending.station import Station
    if door == "local":
        station = Station(db.make_engine(where), PASSPHRASE)
        station.custody()
        sell = lambda p, amount: sales.sell(station, who, p, amount, "cash")      # noqa: E731
    else:
        from host.vending.client import Client
        client = Client(where)
        client.login(who, who + "-password")
        sell = lambda p, amount: client.call("sell", meter=p, amount_cents=amount, channel="cash")  # noqa: E731
    sell(pans[offset % len(pans)], 1000)          # warm: caches, connections, the session
    barrier.wait()
    cpu = time.process_time()
    tids = [sell(pans[(i + offset) % len(pans)], 1000 + i % 7 * 100)["tid"] for i in range(count)]
    results.put((len(tids), time.process_time() - cpu))


def cpu_seconds(pid):
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_doors(url, count, label, tmp):
    """Sales/s with 1 and 8 clerks (processes), each ready before the clock starts: local
    mode, then through the server (each clerk logged in as itself)."""
    from vendserver import VendServer
    world = World(url, meters=10)
    clerks = add_clerks(world, 8)
    pans, operator = world.pans, world.ops["alice"]
    world.engine.dispose()
    server = VendServer(url, PASSPHRASE, tmp).start()
    context = multiprocessing.get_context("spawn")
    try:
        for processes in (1, 8):
            each = count // processes
            rates, cpu = [], []
            for door, where, who in (("local", url, [operator] * processes), ("server", server.url, clerks)):
                barrier, results = context.Barrier(processes + 1), context.Queue()
                workers = [context.Process(target=door_clerk, args=(door, where, who[k], pans, each, k, barrier,
                                                                    results)) for k in range(processes)]
                for w in workers:
                    w.start()
                barrier.wait(timeout=600)
                start, server_cpu = time.perf_counter(), cpu_seconds(server.process.pid)
                done = [results.get(timeout=1800) for _ in workers]
                rates.append(sum(n for n, _ in done) / (time.perf_counter() - start))
                sold = sum(n for n, _ in done)
                cpu.append((sum(c for _, c in done) / sold * 1000,
                            (cpu_seconds(server.process.pid) - server_cpu) / sold * 1000))
                for w in workers:
                    w.join()
            print("%-11s %d clerk%s, %5d sales: local %7.1f sales/s, server %7.1f sales/s (%+.0f %%; %s); CPU a "
                  "sale: local %.1f ms, server %.1f ms + its clerk %.1f ms"
                  % (label, processes, "s" if processes > 1 else " ", each * processes, rates[0], rates[1],
                     100 * (rates[1] / rates[0] - 1), load(), cpu[0][0], cpu[1][1], cpu[1][0]), flush=True)
    finally:
        server.stop()


def bench_group_commit(url, count, label, clerks=8):
    """Sales/s of ``clerks`` threads in one process, each sale its own commit, then all
    through one ``GroupCommit`` (as the server's request threads sell): the design alone,
    without HTTP."""
    from host.vending.group_commit import GroupCommit
    world = World(url, meters=10)
    operator = world.ops["alice"]
    sales.sell(world.station, operator, world.pans[0], 1000, "cash")
    rates = {}
    for grouped in (False, True, False, True):
        world.station.group_commit = together = GroupCommit(world.station) if grouped else None

        def clerk(k):
            for i in range(count // clerks):
                sales.sell(world.station, operator, world.pans[(i + k) % 10], 1000 + i % 7 * 100, "cash")
        threads = [threading.Thread(target=clerk, args=(k,)) for k in range(clerks)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rates.setdefault(grouped, []).append(count // clerks * clerks / (time.perf_counter() - start))
        if grouped:
            per_commit = together.sales / together.groups
    print("%-11s %d threads, one process: a commit each %7.1f sales/s, group commit %7.1f sales/s "
          "(%.1f sales a commit; best of 2; %s)" % (label, clerks, max(rates[False]), max(rates[True]), per_commit,
                                                    load()), flush=True)
    world.station.group_commit = None
    world.engine.dispose()


def bench_cli(url, label, tmp, count=3):
    """Seconds for one ``prepay vend sell`` command, start to exit, in local mode and
    through the server (each command a new process, as a clerk runs it)."""
    from vendserver import VendServer
    world = World(url, meters=1)
    world.engine.dispose()
    server = VendServer(url, PASSPHRASE, tmp).start()
    base = dict(os.environ, PYTHONPATH=ROOT, PREPAY_OPERATOR="alice", PREPAY_OPERATOR_PASSWORD=PASSWORDS["alice"])
    for name in ("PREPAY_SERVER", "PREPAY_DB", "PREPAY_KEYSTORE_PASSPHRASE"):
        base.pop(name, None)
    doors = {"local": dict(base, PREPAY_DB=url, PREPAY_KEYSTORE_PASSPHRASE=PASSPHRASE),
             "server": dict(base, PREPAY_SERVER=server.url)}
    took = {}
    try:
        for door, env in doors.items():
            start = time.perf_counter()
            for _ in range(count):
                subprocess.run([sys.executable, "-m", "host.cli", "vend", "sell", "--meter", world.pans[0], "--amount",
                                "10.00", "--channel", "cash", "--json"], cwd=ROOT, env=env, check=True,
                               stdout=subprocess.DEVNULL)
            took[door] = (time.perf_counter() - start) / count
    finally:
        server.stop()
    print("%-11s one 'prepay vend sell' command: local %.2f s, through the server %.2f s (mean of %d; %s)"
          % (label, took["local"], took["server"], count, load()), flush=True)


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
    parser.add_argument("--only", choices=("sales", "doors", "group", "cli", "settlement"), action="append",
                        help="run only these parts (repeatable; default: all)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="prepay-bench-")
    parts = args.only or ["sales", "doors", "group", "cli", "settlement"]
    server = None
    if not args.no_pg:
        from pgserver import Server
        try:
            server = Server(durable=True).start().wait_ready()
        except Exception as exc:
            print("postgresql  not measured: %s" % exc)
    databases = [("sqlite", lambda name: os.path.join(tmp, name + ".db"))]
    if server:
        databases.append(("postgresql", lambda name: server.new_database()))
    try:
        for label, new_url in databases:
            if "sales" in parts:
                bench_sales(new_url("sales"), args.sales, label)
            if "doors" in parts:
                bench_doors(new_url("doors"), args.server_sales, label, tmp)
            if "group" in parts:
                bench_group_commit(new_url("group"), args.server_sales, label)
            if "cli" in parts:
                bench_cli(new_url("cli"), label, tmp)
        for label, new_url in databases:
            if "settlement" in parts:
                bench_settlement(new_url("ledger"), args.rows, label)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
