"""A process killed in the middle of a sale leaves nothing half-written: the sale happened
with its tokens, its meter's ``last_tid`` and its audit entry, or not at all; every sale a
clerk was told of is there; the next sale goes on. On SQLite and PostgreSQL, for a clerk
selling locally (the clerk's process is killed) and for the vending server with clerks
selling through it (the server is killed, then started again).

The kill is aimed: the process is stopped (SIGSTOP), looked at from outside, and killed
(SIGKILL) only while it is inside a sale's write transaction: on SQLite while it holds the
ledger's write lock (``<db>.lock``), on PostgreSQL while one of its backends holds a
transaction id; otherwise it is resumed and looked at again a moment later.
"""
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select, text

from host.vending import audit, schema
from host.vending.client import Client
from host.vending.errors import VendError
from vendserver import ROOT, VendServer
from vendworld import PASSPHRASE, World, add_clerks

ROUNDS = 3
CLERKS = 4
AIM_TIMEOUT_S = 120


def clerk_loop(url, operator, pans):
    """Sell for ever in this process, printing each receipt once it is committed."""
    from host.vending import db, sales
    from host.vending.station import Station
    station = Station(db.make_engine(url), PASSPHRASE)
    i = 0
    while True:
        r = sales.sell(station, operator, pans[i % len(pans)], 1000 + i % 7 * 100, "cash")
        print(json.dumps(r["receipt"]), flush=True)
        i += 1


def in_write_transaction(world, pid):
    """Is process ``pid`` (stopped) inside a write transaction of the ledger?"""
    if world.engine.dialect.name == "sqlite":
        with open(world.engine.url.database + ".lock", "a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True          # the only other user of the lock is the stopped process
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            return False
    with world.engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")).scalar() > 0


def kill_mid_sale(world, process, ready):
    """Once ``ready()`` holds, SIGKILL ``process`` at an instant it is inside a sale."""
    deadline = time.monotonic() + AIM_TIMEOUT_S
    while not ready():
        assert process.poll() is None and time.monotonic() < deadline, "the clerks did not get going"
        time.sleep(0.05)
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process stopped by itself"
        os.kill(process.pid, signal.SIGSTOP)
        if in_write_transaction(world, process.pid):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        os.kill(process.pid, signal.SIGCONT)
        time.sleep(0.003)
    pytest.fail("never caught the process inside a sale in %d s" % AIM_TIMEOUT_S)


def check_ledger(world, told, in_flight):
    """Whole sales only, every sale a clerk was told of present, at most ``in_flight`` more."""
    with world.engine.connect() as conn:
        problems, entries = audit.verify(conn, world.station.custody())
        assert problems == []
        sale_ids = set(conn.execute(select(schema.sales.c.id)).scalars())
        t = schema.tokens
        per_sale = dict(conn.execute(select(t.c.sale_id, func.count()).where(t.c.sale_id.is_not(None))
                                     .group_by(t.c.sale_id)).all())
        log = schema.audit_log
        entries_of_sales = set(int(s) for s in conn.execute(select(log.c.subject).where(log.c.action == "sale"))
                               .scalars())
        for p in world.pans:
            m = world.meter(p)
            top = conn.execute(select(func.max(t.c.tid)).where(t.c.meter_id == m["id"])).scalar()
            assert m["last_tid"] == (top or 0)
    assert set(told) <= sale_ids
    assert len(sale_ids) - len(set(told)) <= in_flight
    assert per_sale == {sale_id: 1 for sale_id in sale_ids}
    assert entries_of_sales == sale_ids
    return len(sale_ids)


def test_a_clerk_killed_mid_sale_leaves_whole_sales_only(world, tmp_path):
    world.engine.dispose()
    operator = {"id": world.ops["alice"]["id"], "name": "alice"}
    told = []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.dirname(__file__)]))
    program = "import sys, json; from test_vend_crash import clerk_loop; clerk_loop(*json.loads(sys.argv[1]))"
    for _ in range(ROUNDS):
        before = len(told)
        clerk = subprocess.Popen([sys.executable, "-c", program, json.dumps([world.url, operator, world.pans])],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        reader = threading.Thread(target=lambda: told.extend(json.loads(line) for line in clerk.stdout))
        reader.start()
        try:
            kill_mid_sale(world, clerk, lambda: len(told) >= before + 5)
        finally:
            if clerk.poll() is None:
                clerk.kill()
                clerk.wait()
            reader.join(30)
        check_ledger(world, told, in_flight=1)
    world.engine.dispose()


def test_the_server_killed_mid_sale_leaves_whole_sales_only(world, tmp_path):
    clerks = add_clerks(world, CLERKS)
    world.engine.dispose()
    told, lost = [], []

    def clerk(url, name):
        try:
            with Client(url, timeout=60) as client:
                client.login(name, name + "-password")
                i = 0
                while True:
                    r = client.call("sell", meter=world.pans[i % len(world.pans)], amount_cents=1000 + i % 7 * 100,
                                    channel="cash")
                    told.append(r["receipt"])
                    i += 1
        except VendError as exc:                # the server went away, maybe with this sale
            lost.append(str(exc))

    for round_number in range(1, ROUNDS + 1):
        server = VendServer(world.url, PASSPHRASE, tmp_path).start()
        before, lost[:] = len(told), []
        threads = [threading.Thread(target=clerk, args=(server.url, name)) for name in clerks]
        for t in threads:
            t.start()
        try:
            kill_mid_sale(world, server.process, lambda: len(told) >= before + 10)
        finally:
            server.stop()
            for t in threads:
                t.join(90)
        assert len(lost) == CLERKS
        # each kill may take one sale per clerk its clerk was never told of, and they add up
        check_ledger(world, told, in_flight=CLERKS * round_number)
    server = VendServer(world.url, PASSPHRASE, tmp_path).start()       # and the station goes on
    try:
        with Client(server.url) as client:
            client.login(clerks[0], clerks[0] + "-password")
            told.append(client.call("sell", meter=world.pans[0], amount_cents=1000, channel="cash")["receipt"])
    finally:
        server.stop()
    check_ledger(world, told, in_flight=CLERKS * ROUNDS)
    world.engine.dispose()
