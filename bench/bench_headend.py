"""Head-end figures (issue 16), printed with the load average (this machine is shared:
figures are noisy):

1. readings stored per second into PostgreSQL: the storage alone (batches of 2,000 from
   10,000 meters straight into ``store.store``), and end to end from the broker (gateway
   publishers -> mosquitto -> ``prepay headend serve`` workers on one shared subscription
   -> PostgreSQL), with 1 and 2 workers. Goal: >= 10,000/s.
2. the latency of a remote relay command on loopback, from the operator's request (signed,
   audited, committed) to the meter's verified result stored. Goal: p99 < 1 s.
3. the largest fleet the simulator sustains at one reading per meter per 15 minutes: its
   publishing rate x 900 s.

    python bench/bench_headend.py [--readings N] [--commands N] [--no-e2e]
PostgreSQL comes from PREPAY_TEST_PG_URL or a throw-away server (tests/vending/pgserver.py).
"""
import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "headend"), os.path.join(ROOT, "tests", "vending")]

from sqlalchemy import func, select  # noqa: E402

from host.headend import commands, fleet, store, wire  # noqa: E402
from host.vending import schema  # noqa: E402
from host.vending.db import begin_write  # noqa: E402
from host.vending.station import utc_now  # noqa: E402
import headend_kit as kit  # noqa: E402


def load():
    return "load average %.1f %.1f %.1f" % os.getloadavg()


def synthetic(count, start=800000000):
    return [fleet.SimMeter(fleet.synthetic_pan(start + i), b"k" * 32, clock=lambda: 1764403200 + 900)
            for i in range(count)]


def payloads(meters, rounds):
    out = []
    for r in range(rounds):
        for m in meters:
            m.clock = (lambda t: (lambda: t))(1764403200 + 900 * r)
            m.advance(900)
            out.append((wire.topic(m.pan, "reading"), m.reading()))
    return out


def count_readings(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.readings)).scalar()


def bench_store(url, total, meters=10000, batch=2000):
    """The storage alone: the first round of readings makes each meter's row (timed apart),
    the following rounds are the steady state."""
    world = kit.make_world(url, meters=1)
    rounds = max(1, total // meters)
    msgs = payloads(synthetic(meters), rounds + 1)
    now = utc_now()

    def stored(part):
        start = time.perf_counter()
        for i in range(0, len(part), batch):
            b = store.Batch()
            for topic, payload in part[i:i + batch]:
                b.add(topic, payload, now)
            with begin_write(world.engine) as conn:
                store.store(conn, b, now)
        return time.perf_counter() - start
    first = stored(msgs[:meters])
    steady = stored(msgs[meters:])
    assert count_readings(world.engine) == len(msgs)
    print("store only, first reading of %d meters (their rows made): %.0f readings/s (%s)"
          % (meters, meters / first, load()), flush=True)
    print("store only, steady state: %d readings from %d meters in batches of %d in %.2f s: %.0f readings/s (%s)"
          % (len(msgs) - meters, meters, batch, steady, (len(msgs) - meters) / steady, load()), flush=True)
    world.engine.dispose()


def _publisher(port, msgs, ready, go, done):
    from host.headend import mqtt
    c = mqtt.client("gateway", kit.GATEWAY_PW)
    c.max_inflight_messages_set(2000)
    mqtt.connect(c, "127.0.0.1", port)
    ready.set()
    go.wait()
    infos = [c.publish(topic, payload, qos=1) for topic, payload in msgs]
    for info in infos:
        info.wait_for_publish(300)
    done.put(len(infos))
    c.disconnect()
    c.loop_stop()


def bench_end_to_end(url, folder, total, workers, publishers=2, meters=10000):
    world = kit.make_world(url, meters=1)
    broker = kit.start_broker(os.path.join(folder, "broker-%d" % workers), world)
    env = dict(os.environ, PREPAY_DB=url, PREPAY_KEYSTORE_PASSPHRASE=kit_passphrase(),
               PREPAY_BROKER_PASSWORD=kit.HEADEND_PW)
    procs = [subprocess.Popen([sys.executable, "-m", "host.cli", "headend", "serve", "--broker",
                               "127.0.0.1:%d" % broker.port, "--client-id", "bench-%d" % i, "--no-delivery",
                               "--report-every", "3600", "--json"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for i in range(workers)]
    try:
        for p in procs:
            seen = ""
            while '"serving": true' not in seen:          # the --json start line, indented
                line = p.stdout.readline()
                if not line:
                    raise RuntimeError("worker did not start: %s" % seen[-2000:])
                seen += line
        msgs = payloads(synthetic(meters), max(1, total // meters))
        ctx = multiprocessing.get_context("fork")
        go, done = ctx.Event(), ctx.Queue()
        readies = [ctx.Event() for _ in range(publishers)]
        pubs = [ctx.Process(target=_publisher, args=(broker.port, msgs[i::publishers], readies[i], go, done))
                for i in range(publishers)]
        for p in pubs:
            p.start()
        if not all(r.wait(120) for r in readies):
            raise RuntimeError("a publisher did not connect")
        start = time.perf_counter()
        go.set()
        published = sum(done.get(timeout=600) for _ in pubs)
        publish_s = time.perf_counter() - start
        while count_readings(world.engine) < len(msgs):
            if time.perf_counter() - start > 900:
                raise RuntimeError("only %d of %d stored" % (count_readings(world.engine), len(msgs)))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        for p in pubs:
            p.join()
        assert count_readings(world.engine) == published == len(msgs)
        print("broker -> %d worker(s) -> PostgreSQL: %d readings in %.2f s: %.0f readings/s stored "
              "(publishers done after %.2f s: %.0f/s) (%s)" % (workers, len(msgs), seconds, len(msgs) / seconds,
                                                              publish_s, len(msgs) / publish_s, load()), flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
        broker.stop()
        world.engine.dispose()


def kit_passphrase():
    from vendworld import PASSPHRASE
    return PASSPHRASE


def bench_commands(url, folder, count):
    world = kit.make_world(url, meters=1)
    broker = kit.start_broker(os.path.join(folder, "broker-cmd"), world)
    worker = kit.start_worker(world, broker)
    meters = kit.sim_meters(world)
    sim = kit.start_fleet(world, broker, meters)
    try:
        times = []
        for i in range(count + 5):
            start = time.perf_counter()
            out = commands.request(world.station, world.ops["sam"], [meters[0].pan], "supply",
                                   ["off" if i % 2 == 0 else "on"], reason="bench")
            cid = out["commands"][0]
            while commands.show(world.engine, cid)["state"] in ("queued", "sent"):
                time.sleep(0.002)
            if i >= 5:                                    # after warming up
                times.append(time.perf_counter() - start)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print("remote relay command, request to verified result (PostgreSQL, loopback): n=%d p50 %.0f ms "
              "p99 %.0f ms max %.0f ms (%s)" % (len(times), statistics.median(times) * 1000, p99 * 1000,
                                                times[-1] * 1000, load()), flush=True)
    finally:
        sim.stop()
        worker.stop()
        broker.stop()
        world.engine.dispose()


def bench_fleet(url, folder, meters=20000, seconds=15):
    world = kit.make_world(url, meters=1)
    broker = kit.start_broker(os.path.join(folder, "broker-fleet"), world)
    try:
        sims = synthetic(meters)
        sim = fleet.Fleet(sims, "127.0.0.1", broker.port, gateway=("gateway", kit.GATEWAY_PW), connections=4).start()
        sent, took = fleet.run(sim, every_s=0.0, duration_s=seconds, jitter=False)
        for c in set(sim.clients.values()):
            c.loop_stop()
        rate = sent / took
        print("fleet simulator flat out (gateway, 4 connections, QoS 1, nothing subscribed): %.0f readings/s "
              "-> %.0f meters at one reading per 15 min (%s)" % (rate, rate * 900, load()), flush=True)
    finally:
        broker.stop()
        world.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=100000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args()
    from pgserver import Server
    server = Server().start()
    server.wait_ready()
    folder = tempfile.mkdtemp(prefix="prepay-bench-headend-")
    try:
        print(load(), flush=True)
        bench_store(server.new_database(), args.readings)
        if not args.no_e2e:
            for workers in (1, 2):
                bench_end_to_end(server.new_database(), folder, args.readings, workers)
        bench_commands(server.new_database(), folder, args.commands)
        bench_fleet(server.new_database(), folder)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
