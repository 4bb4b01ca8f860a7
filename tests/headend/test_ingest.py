"""Readings, events and presence from simulated meters through mosquitto into the
database: stored once per (PAN, seq), each meter's last state kept, reading alarms raised
and cleared, a silent meter raising communication loss."""
import json

from sqlalchemy import func, select

from host.vending import schema
from headend_kit import make_world, sim_meters, start_broker, start_fleet, start_worker, wait_for


def _count(world, table, *where):
    with world.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def _alarms(world, pan):
    with world.engine.connect() as conn:
        return {r.kind: r for r in conn.execute(select(schema.alarms).where(schema.alarms.c.pan == pan))}


def test_readings_are_stored_once_and_state_kept(db_url, tmp_path):
    world = make_world(db_url)
    broker = start_broker(tmp_path / "broker", world)
    worker = fleet = None
    try:
        worker = start_worker(world, broker)
        meters = sim_meters(world)
        fleet = start_fleet(world, broker, meters)
        for _ in range(3):
            for m in meters:
                m.advance(900)
            fleet.publish_readings()
        wait_for(lambda: _count(world, schema.readings) == 9, what="9 readings")
        # a reading the meter sends again after a reconnect (same seq and time) is stored once
        m = meters[0]
        repeated = m.reading()
        for _ in range(2):
            fleet.clients[m.pan].publish("prepay/%s/reading" % m.pan, repeated, qos=1).wait_for_publish(30)
        fleet.publish_event(m.pan, "tamper.cover", {"value": 1, "log": 1}).wait_for_publish(30)
        wait_for(lambda: _count(world, schema.meter_events) == 1, what="the event")
        assert _count(world, schema.readings) == 10
        with world.engine.connect() as conn:
            state = conn.execute(select(schema.online_meters).where(schema.online_meters.c.pan == m.pan)).first()
        assert state.status == "online" and state.last_seq == m.seq
        with world.engine.connect() as conn:
            newest = conn.execute(select(schema.readings.c["values"]).where(schema.readings.c.pan == m.pan)
                                  .where(schema.readings.c.t == state.reading_at)
                                  .order_by(schema.readings.c.seq.desc()).limit(1)).scalar()
        assert json.loads(newest)["1-0:1.8.0"][0] == "%d.%03d" % divmod(m.energy_milli, 1000)
        assert state.credit_milli == m.credit_milli
        assert "tamper" in _alarms(world, m.pan)
        assert not worker.errors
    finally:
        if fleet:
            fleet.stop()
        if worker:
            worker.stop()
        broker.stop()
        world.engine.dispose()


def _world_broker(url, tmp_path, meters=3):
    world = make_world(url, meters)
    return world, start_broker(tmp_path / "broker", world)


def test_low_balance_levels_zero_trip_and_clearing(sqlite_url, tmp_path):
    world, broker = _world_broker(sqlite_url, tmp_path, meters=1)
    worker = fleet = None
    try:
        worker = start_worker(world, broker)
        m, = sim_meters(world, credit_milli=20000)
        m.last_purchase_milli = 100000                 # 20 % of the last purchase left: level 1
        fleet = start_fleet(world, broker, [m])
        fleet.publish_readings()
        wait_for(lambda: "low_balance_1" in _alarms(world, m.pan), what="low balance 1")
        assert "low_balance_2" not in _alarms(world, m.pan)
        m.credit_milli = 9000                           # 9 %: level 2 as well
        fleet.publish_readings()
        wait_for(lambda: "low_balance_2" in _alarms(world, m.pan), what="low balance 2")
        m.credit_milli = -5
        m.advance(1)                                   # the supply trips for credit
        fleet.publish_readings()
        wait_for(lambda: "zero_balance_trip" in _alarms(world, m.pan), what="zero balance trip")
        m.credit_milli, m.supply_on, m.alarm_bits = 80000, True, 0
        fleet.publish_readings()
        wait_for(lambda: all(a.state == "cleared" for a in _alarms(world, m.pan).values()), what="all cleared")
        assert set(_alarms(world, m.pan)) == {"low_balance_1", "low_balance_2", "zero_balance_trip"}
        assert not worker.errors
    finally:
        if fleet:
            fleet.stop()
        if worker:
            worker.stop()
        broker.stop()
        world.engine.dispose()


def test_a_silent_meter_raises_communication_loss(sqlite_url, tmp_path):
    world, broker = _world_broker(sqlite_url, tmp_path, meters=2)
    worker = fleet = None
    try:
        worker = start_worker(world, broker, silence_s=2)
        meters = sim_meters(world)
        fleet = start_fleet(world, broker, meters)
        fleet.publish_readings()
        quiet, talking = meters
        for _ in range(40):                            # one keeps talking, the other is silent
            fleet.publish_readings([talking.pan])
            if "comm_loss" in _alarms(world, quiet.pan):
                break
            import time
            time.sleep(0.25)
        alarm = wait_for(lambda: _alarms(world, quiet.pan).get("comm_loss"), what="communication loss")
        assert alarm.state in ("raised", "notified") and "comm_loss" not in _alarms(world, talking.pan)
        with world.engine.connect() as conn:
            status = conn.execute(select(schema.online_meters.c.status)
                                  .where(schema.online_meters.c.pan == quiet.pan)).scalar()
        assert status == "offline"
        fleet.publish_readings([quiet.pan])            # heard again: cleared
        wait_for(lambda: _alarms(world, quiet.pan)["comm_loss"].state == "cleared", what="cleared")
    finally:
        if fleet:
            fleet.stop()
        if worker:
            worker.stop()
        broker.stop()
        world.engine.dispose()


def test_two_workers_on_one_shared_subscription_store_every_reading_once(db_url, tmp_path):
    world, broker = _world_broker(db_url, tmp_path)
    workers, fleet = [], None
    try:
        workers = [start_worker(world, broker, client_id="worker-%d" % i, batch_max=50) for i in range(2)]
        meters = sim_meters(world)
        fleet = start_fleet(world, broker, meters)
        for _ in range(100):
            fleet.publish_readings()
        wait_for(lambda: _count(world, schema.readings) >= 300, timeout_s=120, what="300 readings")
        for w in workers:
            w.stop()
        assert _count(world, schema.readings) == 300
        with world.engine.connect() as conn:
            per_meter = dict(conn.execute(select(schema.readings.c.pan, func.count())
                                          .group_by(schema.readings.c.pan)).all())
        assert per_meter == {m.pan: 100 for m in meters}
        assert all(w.stats["readings"] > 0 for w in workers), [w.stats for w in workers]   # both took a share
        assert sum(w.stats["readings"] for w in workers) == 300
        assert not any(w.errors for w in workers)
    finally:
        if fleet:
            fleet.stop()
        for w in workers:
            if not w.stopping.is_set():
                w.stop()
        broker.stop()
        world.engine.dispose()
