"""Vending over MQTT: a sale to an online simulated meter is delivered as a signed token
command, accepted and shown delivered on the sale; a token the meter refuses raises
recharge failure while the receipt keeps the token for the keypad; reconciliation lists
what the meters reported against the ledger."""
from sqlalchemy import select

from host.headend import delivery
from host.vending import sales, schema
from headend_kit import make_world, sim_meters, start_broker, start_fleet, start_worker, wait_for


def _delivered(world, receipt):
    out = delivery.sale_delivery(world.engine, receipt)["tokens"][0]
    return out if out["delivery"] in ("done", "refused", "expired") else None


def test_a_sale_to_an_online_meter_is_accepted_over_mqtt(db_url, tmp_path):
    world = make_world(db_url, meters=2)
    broker = start_broker(tmp_path / "broker", world)
    worker = fleet = None
    try:
        worker = start_worker(world, broker)
        good, bad = sim_meters(world)
        bad._decoder_key = bytes(8)                      # a meter whose key is not the ledger's
        fleet = start_fleet(world, broker, [good, bad])
        fleet.publish_readings()
        wait_for(lambda: _online(world) == 2, what="both meters online")
        wait_for(lambda: _cursor(world) is not None, what="the delivery cursor")
        before = good.credit_milli
        receipt = sales.sell(world.station, world.ops["alice"], good.pan, 10000, "cash")
        out = wait_for(lambda: _delivered(world, receipt["receipt"]), what="the delivery")
        assert (out["delivery"], out["result"]) == ("done", "Accept")
        assert good.credit_milli > before and good.tids == [receipt["tid"]]
        refused = sales.sell(world.station, world.ops["alice"], bad.pan, 10000, "cash")
        out = wait_for(lambda: _delivered(world, refused["receipt"]), what="the refusal")
        assert out["delivery"] == "refused" and out["result"] == "CRC"
        assert refused["tokens"][0]["digits"]                 # the keypad still has the token
        with world.engine.connect() as conn:
            alarm = conn.execute(select(schema.alarms).where(schema.alarms.c.pan == bad.pan)
                                 .where(schema.alarms.c.kind == "recharge_failure")).mappings().one()
        assert alarm["state"] in ("raised", "notified")
        # reconciliation: the accepted token matches; the refused one and a token the ledger
        # never sold are listed
        fleet.publish_event(good.pan, "token.result", {"tid": 1, "amount": 5, "result": "Accept"}).wait_for_publish(30)
        report = wait_for(lambda: (lambda r: r if len(r["problems"]) == 2 else None)(delivery.reconcile(world.engine)),
                          what="the mismatches")
        assert report["matched"] == 1
        assert sorted((p["meter"], p["tid"], p["problem"]) for p in report["problems"]) == [
            (good.pan, 1, "reported accepted, not sold here"),
            (bad.pan, refused["tid"], "sold, not reported accepted")]
        assert not worker.errors
    finally:
        if fleet:
            fleet.stop()
        if worker:
            worker.stop()
        broker.stop()
        world.engine.dispose()


def _online(world):
    with world.engine.connect() as conn:
        return len(conn.execute(select(schema.online_meters).where(schema.online_meters.c.status == "online")).all())


def _cursor(world):
    with world.engine.connect() as conn:
        return conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == delivery.CURSOR)).scalar()
