"""The two real sides together: the meter's firmware (frozen32 on the simulator, in the
72 KB an online meter needs, as tests/test_online_broker.py runs it) joins a real
`prepay headend` worker through Debian's mosquitto configured as in production (per-meter
passwords from the custody's ``broker_password``, ACLs), on a vending station whose
custody also holds the meter's command key. Nothing plays either side: the readings are
the firmware's optical-readout values, the commands are signed by the custody and checked
by the firmware, the results are verified by the head-end."""
import datetime
import json
import os
import shutil
import time

import pytest
from sqlalchemy import select

from host.headend import commands, delivery
from host.headend.values import milli as values_milli
from host.sim.runner import Sim
from host.sim.script import meter_seconds
from host.vending import sales, schema
from headend_kit import make_world, start_broker, start_worker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-unit.json")
HEAP = "72K"
WAIT_S = 120                  # generous: the machine is shared

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"),
                                reason="Debian's mosquitto is not installed")


def serve_until(sim, done, what, timeout_s=WAIT_S):
    """Let the meter run in real time (its MQTT task talks to the broker) until ``done()``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        sim.serve(300)


def _rows(world, table, pan, *where):
    q = select(table).where(table.c.pan == pan)
    for w in where:
        q = q.where(w)
    with world.engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings().all()]


def _state(world, pan):
    rows = _rows(world, schema.online_meters, pan)
    return rows[0] if rows else None


def _codes(world, pan):
    return [e["code"] for e in _rows(world, schema.meter_events, pan)]


def _open_alarms(world, pan):
    return {a["kind"]: a for a in _rows(world, schema.alarms, pan) if a["state"] != "cleared"}


def _newest_reading(world, pan):
    rows = sorted(_rows(world, schema.readings, pan), key=lambda r: r["seq"])
    return rows[-1] if rows else None


@pytest.fixture
def rig(db_url, tmp_path):
    world = make_world(db_url, meters=1)
    pan = world.pans[0]
    custody = world.station.ensure_command_root()
    broker = start_broker(tmp_path / "broker", world)
    worker = sim = None
    try:
        worker = start_worker(world, broker)
        with open(EXAMPLE) as f:
            config = json.load(f)
        m = world.meter(pan)
        config["identity"]["pan"] = pan
        config["sts"].update(key=world.decoder_key(pan).hex(), sgc=m["sgc"], krn=m["krn"], ti=m["ti"],
                             kt=m["kt"], algorithm=m["algorithm"], base_date=m["base_year"])
        config["online"] = {"broker": "127.0.0.1:%d" % broker.port, "utc_offset_s": 0,
                            "command_key": custody.command_key(pan).hex(),
                            "broker_password": custody.broker_password(pan)}
        state = str(tmp_path / "state")
        os.makedirs(state)
        with open(os.path.join(state, "meter.json"), "w") as f:
            json.dump(config, f)
        sim = Sim(state, heap=HEAP, runtime="frozen32", heap_mode="off", ir_link=str(tmp_path / "ir"))
        # the meter's clock half a day behind the station's: the hours the test advances it
        # stay before the commands' expiry (signed with the station's real clock)
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=12)
        sim.world.rtc_s = meter_seconds(now.strftime("%Y-%m-%dT%H:%M"))
        sim.power_on()
        yield world, pan, sim, worker
    finally:
        try:
            if sim is not None:
                sim.finish()
        finally:
            if worker is not None:
                worker.stop()
            broker.stop()
            world.engine.dispose()


def test_a_real_meter_and_the_head_end_work_together(rig):
    world, pan, sim, worker = rig
    # presence, then (1) a reading stored with its figures parsed from the firmware's values
    serve_until(sim, lambda: (_state(world, pan) or {}).get("status") == "online", "the meter online")
    sim.advance(15 * 60 * 1000)
    reading = serve_until(sim, lambda: _newest_reading(world, pan), "a reading stored")
    values = json.loads(reading["values"])
    assert values["0-0:96.1.0"][0] == "SIM-E-0002"
    status = sim.status()           # no load: the reading's figures are the meter's now
    assert (reading["credit_milli"], reading["energy_milli"]) == (values_milli(status["credit"]),
                                                                  values_milli(status["energy"])), values
    state = _state(world, pan)      # a new meter has no credit: off for credit, bit 3
    assert (state["supply_state"], state["supply_reason"], state["alarm_bits"]) == (0, 2, 1 << 3), state
    assert "zero_balance_trip" in _open_alarms(world, pan)

    # (2) a sale delivered over MQTT as a signed token command, accepted once by the firmware
    serve_until(sim, lambda: _cursor(world) is not None, "the delivery cursor")
    receipt = sales.sell(world.station, world.ops["alice"], pan, 500, "cash")
    out = serve_until(sim, lambda: _delivered(world, receipt["receipt"]), "the sale delivered")
    assert (out["delivery"], out["result"]) == ("done", "Accept"), out
    serve_until(sim, lambda: "token.result" in _codes(world, pan) and "token.credit" in _codes(world, pan),
                "the token's events")
    token_results = [json.loads(e["data"]) for e in _rows(world, schema.meter_events, pan,
                                                         schema.meter_events.c.code == "token.result")]
    assert [r["result"] for r in token_results] == ["Accept"]
    assert _codes(world, pan).count("token.credit") == 1
    sim.advance(15 * 60 * 1000)
    after_sale = serve_until(sim, lambda: (lambda r: r if r and r["seq"] > reading["seq"] else None)(
        _newest_reading(world, pan)), "a reading after the sale")
    assert after_sale["credit_milli"] > reading["credit_milli"]
    bought_milli = after_sale["credit_milli"] - reading["credit_milli"]
    assert _state(world, pan)["last_purchase_milli"] == bought_milli, (_state(world, pan), bought_milli)
    assert "zero_balance_trip" not in _open_alarms(world, pan)
    report = delivery.reconcile(world.engine)           # the meter's signed acceptance of that token
    assert (report["matched"], report["problems"]) == (1, []), report

    # (5) low balance from the meter's own readings: use most of what was bought
    sim.send("load 4000000")             # 4 kW (the link takes mW)
    hours = 0
    while not {"low_balance_1"} <= set(_open_alarms(world, pan)) and hours < 8:
        sim.advance(3600 * 1000)
        hours += 1
        serve_until(sim, lambda: _newest_reading(world, pan)["t"] >= _meter_utc(sim) - datetime.timedelta(
            minutes=16), "the hour's readings")
    low = _open_alarms(world, pan).get("low_balance_1")
    assert low, (hours, _state(world, pan))
    detail, state = json.loads(low["detail"]), _state(world, pan)
    assert detail["credit_milli"] * 10 <= bought_milli * 3 or state["alarm_bits"] & 1, (detail, state)
    newest = _newest_reading(world, pan)
    assert 0 < newest["energy_milli"] <= values_milli(sim.status()["energy"])       # the register counts on
    sim.send("load 0")

    # (3) a signed remote 'supply off': the firmware disconnects, the result is verified and stored
    out = commands.request(world.station, world.ops["sam"], [pan], "supply", ["off"], reason="test disconnection")
    row = serve_until(sim, lambda: (lambda r: r if r["state"] not in ("queued", "sent") else None)(
        commands.show(world.engine, out["commands"][0])), "the command's result")
    assert (row["state"], row["result_code"]) == ("done", "ok"), row
    status = sim.status()
    assert status["supply"] == "off" and status["supply_reason"] == "manual_off"
    serve_until(sim, lambda: "command.supply" in _codes(world, pan), "the command's event")

    # (4) a tamper on the real meter raises the head-end's alarm from its event
    sim.send("tamper cover 1")
    alarm = serve_until(sim, lambda: _open_alarms(world, pan).get("tamper"), "the tamper alarm")
    assert "tamper.cover" in _codes(world, pan)
    detail = json.loads(alarm["detail"])          # from the event, or a reading's bit 4 if one came first
    assert detail.get("event") == "tamper.cover" or "cover" in detail.get("what", ()), alarm
    # and a flat battery: the firmware's alarm.battery_low raises low_battery
    sim.send("battery 5")
    serve_until(sim, lambda: _open_alarms(world, pan).get("low_battery"), "the low battery alarm")
    assert "alarm.battery_low" in _codes(world, pan)
    assert not worker.errors and sim.status()["crashes"] == 0


def _meter_utc(sim):
    return datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=sim.world.rtc_s)


def _cursor(world):
    with world.engine.connect() as conn:
        return conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == delivery.CURSOR)).scalar()


def _delivered(world, receipt):
    out = delivery.sale_delivery(world.engine, receipt)["tokens"][0]
    return out if out["delivery"] in ("done", "refused", "expired") else None
