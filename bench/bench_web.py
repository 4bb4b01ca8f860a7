"""Web console figures (issue 17): the dashboard and a meter's year chart (35,040
quarter-hour readings) served by ``prepay web serve`` on a loopback port with 100,000
meters in PostgreSQL (p50 and p95 over repeated requests, goal p95 < 300 ms), and sales
per second through the web counter's form (one operator, one browser session).

Rows are generated with bulk inserts (customers, meters, their online state, open alarms
on 2 % of them, today's sales, one meter's year of readings); operators' passwords are
hashed at scrypt N=2^12 here, since logins are not what is measured. Prints figures and
the load average beside them (the machine is shared: figures are noisy). No pass/fail.
PostgreSQL comes from PREPAY_TEST_PG_URL or a throw-away server (tests/vending/pgserver.py).

    python bench/bench_web.py [--meters N] [--requests N] [--sales N] [--sqlite]
"""
import argparse
import datetime
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "vending"), os.path.join(ROOT, "tests", "web")]

from sqlalchemy import insert, select  # noqa: E402

from host.vending import keystore, operators, schema  # noqa: E402

READINGS_A_YEAR = 365 * 96


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def fill(url, meters):
    from vendworld import World
    keystore.SCRYPT = operators.SCRYPT = {"n": 2 ** 12, "r": 8, "p": 1}
    world = World(url, meters=1, clock=utc_now)
    now = utc_now()
    rng = random.Random(17)
    t0 = time.perf_counter()
    with world.station.begin() as conn:
        tariff_id = conn.execute(select(schema.tariffs.c.id)).scalar()
        version_id = conn.execute(select(schema.tariff_versions.c.id)).scalar()
        for start in range(0, meters, 20000):
            count = min(20000, meters - start)
            conn.execute(insert(schema.customers), [
                {"account": "B-%06d" % i, "name": "Customer %d" % i, "settlement_day": 1 + i % 28, "debt_cents": 0,
                 "debt_recovery_bp": 0, "created_at": now} for i in range(start, start + count)])
        first_customer = conn.execute(select(schema.customers.c.id).where(
            schema.customers.c.account == "B-000000")).scalar()
        for start in range(0, meters, 20000):
            count = min(20000, meters - start)
            conn.execute(insert(schema.meters), [
                {"pan": "9%017d" % i, "customer_id": first_customer + i, "utility": "electricity",
                 "credit_mode": "unit", "sgc": 201457, "ti": 1, "krn": 1, "kt": 2, "algorithm": "sta", "dkga": "04",
                 "base_year": 2014, "ken": 255, "last_tid": 0, "tariff_id": tariff_id, "status": "active",
                 "created_at": now} for i in range(start, start + count)])
            conn.execute(insert(schema.online_meters), [
                {"pan": "9%017d" % i, "status": "online" if rng.random() < 0.97 else "offline", "status_at": now,
                 "last_seen": now, "last_seq": 1, "credit_milli": rng.randrange(-1000, 90000), "supply_state": 1,
                 "command_ctr": 0} for i in range(start, start + count)])
        conn.execute(insert(schema.alarms), [
            {"pan": "9%017d" % i, "kind": kind, "state": "raised", "open_key": "9%017d:%s" % (i, kind),
             "raised_at": now, "detail": "{}"}
            for i in range(0, meters, 50) for kind in [("low_balance_1", "zero_balance_trip", "tamper")[i // 50 % 3]]])
        op_id = world.ops["alice"]["id"]
        first_meter = conn.execute(select(schema.meters.c.id).where(schema.meters.c.pan == "9%017d" % 0)).scalar()
        conn.execute(insert(schema.sales), [
            {"meter_id": first_meter + k, "customer_id": first_customer + k, "operator_id": op_id,
             "tariff_version_id": version_id, "channel": rng.choice(("cash", "bank", "mobile", "card")),
             "sold_at": now - datetime.timedelta(seconds=rng.randrange(3600)), "amount_cents": 1000,
             "debt_cents": 0, "service_cents": 0, "vat_cents": 138, "energy_cents": 862, "units_tenths": 34,
             "credit_value": 34, "free_tenths": 0, "detail": "{}"} for k in range(min(meters, 20000))])
    pan = world.pans[0]
    energy, rows = 0, []
    first = now - datetime.timedelta(minutes=15 * READINGS_A_YEAR)
    for k in range(READINGS_A_YEAR):
        energy += rng.randrange(0, 400)
        rows.append({"pan": pan, "t": first + datetime.timedelta(minutes=15 * k), "seq": k + 1, "period_s": 900,
                     "received_at": now, "energy_milli": energy, "credit_milli": 50000, "values": "{}"})
    with world.station.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(schema.readings), rows[start:start + 5000])
        conn.execute(insert(schema.online_meters).values(pan=pan, status="online", status_at=now, last_seen=now,
                                                         reading_at=now, credit_milli=50000, supply_state=1,
                                                         command_ctr=0))
    with world.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    print("%-11s %d meters, %d open alarms, %d sales today, %d readings of meter %s: filled in %.1f s"
          % (world.engine.dialect.name, meters, meters // 50, min(meters, 20000), READINGS_A_YEAR, pan,
             time.perf_counter() - t0), flush=True)
    world.engine.dispose()
    return pan


def timed(client, path, count):
    client.get(path)                                   # warm: templates, caches
    times = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def bench(url, label, meters, requests, sales, tmp):
    import httpx
    from vendworld import PASSPHRASE
    from webkit import WebServer
    pan = fill(url, meters)
    server = WebServer(url, PASSPHRASE, tmp, providers=()).start()
    try:
        # TCP_NODELAY as a browser sets it: else a form post's body waits on a delayed ACK (~40 ms)
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        with httpx.Client(base_url=server.url, timeout=120, transport=transport) as client:
            page = client.get("/web/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            client.post("/web/login", data={"operator": "alice", "password": "alice-password", "csrf": token})
            home = client.get("/web/")
            csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
            for name, path in (("dashboard", "/web/"), ("year chart", "/web/meters/%s?days=366" % pan),
                               ("counter search", "/web/counter?q=Customer%2099999")):
                p50, p95 = timed(client, path, requests)
                print("%-11s %-15s p50 %6.1f ms, p95 %6.1f ms over %d requests (goal p95 < 300 ms)  [load %s]"
                      % (label, name, p50, p95, requests, load()), flush=True)
            client.post("/web/sales", data={"meter": pan, "amount": "10.00", "channel": "cash", "csrf": csrf})
            start = time.perf_counter()
            for i in range(sales):
                answer = client.post("/web/sales", data={"meter": pan, "amount": "%d.00" % (10 + i % 7),
                                                         "channel": "cash", "csrf": csrf})
                assert answer.status_code == 200, answer.text[-300:]
            elapsed = time.perf_counter() - start
            print("%-11s web counter: %d sales in %.1f s: %.1f sales/s (one operator, form posts)  [load %s]"
                  % (label, sales, elapsed, sales / elapsed, load()), flush=True)
    finally:
        server.stop()


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--sales", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="prepay-bench-web-")
    if args.sqlite:
        bench(os.path.join(tmp, "web.db"), "sqlite", args.meters, args.requests, args.sales, tmp)
        return
    from pgserver import Server
    server = Server().start()
    server.wait_ready()
    try:
        bench(server.new_database(), "postgresql", args.meters, args.requests, args.sales, tmp)
    finally:
        server.stop()

if __name__ == "__main__":
    main()
