"""Signed commands through mosquitto to simulated meters (the contract's refusal table):
an operator's command executes once and its signed result is stored; forged, replayed,
stale, cross-meter and retained commands are refused and logged by the meter; a bulk
disconnection waits for a second person."""
import json
import time

import pytest
from sqlalchemy import select

from host.headend import commands, wire
from host.vending import schema
from host.vending.errors import VendError
from headend_kit import (HEADEND_PW, make_world, sim_meters, start_broker, start_fleet, start_worker,
                         wait_for)
from host.headend import mqtt


@pytest.fixture
def rig(sqlite_url, tmp_path):
    world = make_world(sqlite_url, meters=2)
    broker = start_broker(tmp_path / "broker", world)
    worker = start_worker(world, broker)
    meters = sim_meters(world)
    fleet = start_fleet(world, broker, meters)
    yield world, broker, worker, meters, fleet
    fleet.stop()
    worker.stop()
    broker.stop()
    world.engine.dispose()


def _command(world, cid):
    return commands.show(world.engine, cid)


def _finished(world, cid):
    row = _command(world, cid)
    return row if row["state"] not in ("queued", "sent") else None


def test_an_operator_command_executes_once_with_a_verified_result(rig):
    world, broker, worker, meters, fleet = rig
    m = meters[0]
    out = commands.request(world.station, world.ops["sam"], [m.pan], "supply", ["off"], reason="unpaid bill")
    row = wait_for(lambda: _finished(world, out["commands"][0]), what="the result")
    assert (row["state"], row["result_code"], row["ctr"]) == ("done", "ok", 1)
    assert row["result_data"] == {"supply": "off"} and not m.supply_on
    out = commands.request(world.station, world.ops["alice"], [m.pan], "read", ["1-0:1.8.0", "0-0:19.0.0"])
    row = wait_for(lambda: _finished(world, out["commands"][0]), what="the readout")
    assert row["result_data"]["values"]["1-0:1.8.0"][1] == "kWh" and row["ctr"] == 2
    with world.engine.connect() as conn:
        entries = conn.execute(select(schema.audit_log.c.action, schema.audit_log.c.subject)
                               .where(schema.audit_log.c.action == "meter_command")).all()
    assert entries == [("meter_command", m.pan)] * 2
    # the same signed message delivered again (a broker's duplicate): the meter refuses it
    with world.engine.connect() as conn:
        payload = conn.execute(select(schema.meter_commands.c.payload)
                               .where(schema.meter_commands.c.ctr == 1)).scalar()
    _publish_as_headend(broker, m.pan, payload.encode())
    wait_for(lambda: m.log[-1] == ("replayed", 1), what="the replay refused")
    assert [code for code, _ in m.log] == ["ok", "ok", "replayed"]
    assert _command(world, out["commands"][0])["state"] == "done"      # an old result changes nothing


def _publish_as_headend(broker, pan, payload, retain=False):
    c = mqtt.connect(mqtt.client("headend", HEADEND_PW), "127.0.0.1", broker.port)
    c.publish(wire.topic(pan, "cmd"), payload, qos=1, retain=retain).wait_for_publish(30)
    c.disconnect()
    c.loop_stop()


def test_forged_replayed_stale_cross_meter_and_retained_commands_are_refused(rig):
    world, broker, worker, meters, fleet = rig
    a, b = meters
    key_a, key_b = world.station.command_key(a.pan), world.station.command_key(b.pan)
    now = int(time.time())
    good = wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(10, a.pan, now + 300, "supply", ["off"]))
    cases = [
        ("forged", wire.signed(b"\x00" * 32, wire.CMD_DOMAIN, wire.command_body(5, a.pan, now + 300, "supply", ["off"]))),
        ("forged", good[:-1] + (b"0" if good[-1:] != b"0" else b"1")),            # one MAC digit changed
        ("forged", wire.signed(key_b, wire.CMD_DOMAIN, wire.command_body(6, b.pan, now + 300, "supply", ["off"]))),
        ("wrong-meter", wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(7, b.pan, now + 300, "supply", ["off"]))),
        ("expired", wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(8, a.pan, now - 60, "supply", ["off"]))),
        ("ok", good),
        ("replayed", good),
        ("replayed", wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(9, a.pan, now + 300, "ping", []))),
        ("unknown", wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(11, a.pan, now + 300, "format", []))),
        ("bad-args", wire.signed(key_a, wire.CMD_DOMAIN, wire.command_body(12, a.pan, now + 300, "supply", ["x"]))),
    ]
    for expected, payload in cases:
        _publish_as_headend(broker, a.pan, payload)
        wait_for(lambda: len(a.log) and a.log[-1][0] == expected, what=expected)
        a.log.append(("-", None))                       # a marker, so the next case is seen
    assert [c for c, _ in a.log if c != "-"] == [e for e, _ in cases]
    assert not a.supply_on and b.supply_on and b.log == []
    # a retained copy: live it is a replay; sent again at the meter's next subscription it
    # arrives flagged retained and is ignored
    _publish_as_headend(broker, a.pan, good, retain=True)
    wait_for(lambda: a.log[-1] == ("replayed", 10), what="the live copy refused")
    fleet.clients[a.pan].subscribe(wire.topic(a.pan, "cmd"), qos=1)
    wait_for(lambda: a.log[-1][0] == "retained", what="the retained copy ignored")
    _publish_as_headend(broker, a.pan, b"", retain=True)                      # clears the broker's copy
    # every command is an event the head-end stores; none of these changes a command row
    def command_events():
        with world.engine.connect() as conn:
            return [code[len("command."):] for code, in conn.execute(
                select(schema.meter_events.c.code).where(schema.meter_events.c.code.like("command.%"))
                .where(schema.meter_events.c.pan == a.pan).order_by(schema.meter_events.c.seq))]
    # named as the firmware names them (docs/mqtt.md): command.<cmd> when it ran,
    # command.<refusal> when refused, command.retained for the ignored copy
    expected = [("supply" if e == "ok" else e) for e, _ in cases] + ["replayed", "retained"]
    wait_for(lambda: len(command_events()) == len(expected), what="the command events")
    assert command_events() == expected
    with world.engine.connect() as conn:
        assert conn.execute(select(schema.meter_commands)).all() == []


def test_a_bulk_disconnection_needs_a_second_person(rig):
    world, broker, worker, meters, fleet = rig
    pans = [m.pan for m in meters]
    out = commands.request(world.station, world.ops["sam"], pans, "supply", ["off"], reason="arrears campaign")
    assert out["state"] == "pending"
    with world.engine.connect() as conn:
        assert conn.execute(select(schema.meter_commands)).all() == []
    with pytest.raises(VendError, match="second person"):
        commands.confirm(world.station, world.ops["sam"], out["batch"])
    done = commands.confirm(world.station, world.ops["sue"], out["batch"])
    for cid in done["commands"]:
        assert wait_for(lambda: _finished(world, cid), what="disconnection")["result_code"] == "ok"
    assert not any(m.supply_on for m in meters)
    with pytest.raises(VendError, match="already confirmed"):
        commands.confirm(world.station, world.ops["root"], out["batch"])


def test_commands_are_checked_before_signing(rig):
    world = rig[0]
    pan = world.pans[0]
    for cmd, args in (("supply", ["maybe"]), ("read", ["not-obis"]), ("token", ["123"]), ("reboot", [])):
        with pytest.raises(VendError):
            commands.request(world.station, world.ops["sam"], [pan], cmd, args, reason="x")
    with pytest.raises(VendError, match="reason"):
        commands.request(world.station, world.ops["sam"], [pan], "supply", ["off"])
    with pytest.raises(VendError, match="no meter"):
        commands.request(world.station, world.ops["sam"], ["600727000000000025"], "ping", [])
