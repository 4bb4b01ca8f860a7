"""Consumption anomaly: a meter whose last day's use falls far below its own rate of the
two weeks before, while its supply is on, raises an alarm; a meter using as usual does
not; back to normal clears it (readings stored as the head-end stores them)."""
import datetime

from sqlalchemy import select

from host.headend import anomaly, fleet, store, wire
from host.vending import schema
from host.vending.db import begin_write
from headend_kit import make_world

START = 1764403200          # 2025-11-29 08:00 UTC


def _feed(world, meters, hours, watts_by_pan, start):
    """Hourly readings from each meter for ``hours`` hours from ``start``; returns the end."""
    now = datetime.datetime(2026, 1, 1)
    for h in range(hours):
        t = start + 3600 * h
        batch = store.Batch()
        for m in meters:
            m.clock = (lambda at: (lambda: at))(t)
            m.power_w = watts_by_pan[m.pan](h)
            m.advance(3600)
            batch.add(wire.topic(m.pan, "reading"), m.reading(3600), now)
        with begin_write(world.engine) as conn:
            store.store(conn, batch, now)
    return start + 3600 * hours


def _open(world):
    with world.engine.connect() as conn:
        return {r.pan for r in conn.execute(select(schema.alarms).where(schema.alarms.c.kind == "consumption_anomaly")
                                            .where(schema.alarms.c.open_key.isnot(None)))}


def test_a_meter_using_far_less_than_its_history_raises_an_anomaly(db_url):
    world = make_world(db_url, meters=1)
    try:
        thief, honest = [fleet.SimMeter(fleet.synthetic_pan(700 + i), b"k" * 32, credit_milli=10 ** 9)
                         for i in range(2)]
        history = {thief.pan: lambda h: 1000, honest.pan: lambda h: 1000}
        end = _feed(world, [thief, honest], 15 * 24, history, START)
        now = store.utc(end)
        with begin_write(world.engine) as conn:
            assert anomaly.check(conn, now) == []                    # both as usual
        bypassed = {thief.pan: lambda h: 50, honest.pan: lambda h: 1000}   # 5 % of its usual use
        end = _feed(world, [thief, honest], 24, bypassed, end)
        with begin_write(world.engine) as conn:
            assert anomaly.check(conn, store.utc(end)) == [thief.pan]
            assert anomaly.check(conn, store.utc(end)) == []         # raised once
        assert _open(world) == {thief.pan}
        end = _feed(world, [thief, honest], 24, history, end)
        with begin_write(world.engine) as conn:
            anomaly.check(conn, store.utc(end))
        assert _open(world) == set()
    finally:
        world.engine.dispose()
