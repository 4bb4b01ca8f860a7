"""Commissioning records: a meter ``prepay provision meter`` took into service, in the
vending database beside its sales, so the clerk sells to it at once and anyone can see
when, by whom and with what firmware and settings it was commissioned.

One transaction: the record, the meter set active when it was registered blocked
(waiting for its commissioning), and the audit entry naming both. A removed meter is
refused. The record holds hashes and results, never a key.
"""
import json

from sqlalchemy import insert, select

from host.vending import audit, records, schema
from host.vending.errors import VendError
from host.vending.text import field

ROLE = "supervisor"         # the least role that may commission a meter
RESULTS = ("ok", "skipped", "held off")


def record(station, technician, report):
    """Write the commissioning of ``report`` (``host.provisioning.meter``); one line
    saying what was recorded."""
    tests = [{"step": s["step"], "result": s["result"], "detail": s["detail"]}
             for s in report["steps"]]
    if any(s["result"] not in RESULTS for s in tests):
        raise VendError("a failed self-test is not commissioned")
    t = schema.meter_commissionings
    with station.begin() as conn:
        now = station.clock()
        meter = records.find_meter(conn, report["meter"])
        if meter["status"] == "removed":
            raise VendError("meter %s is removed at the vending station" % meter["pan"])
        activated = meter["status"] == "blocked"
        if activated:
            records.set_meter_status(conn, meter["pan"], "active")
        row_id = conn.execute(insert(t).values(
            meter_id=meter["id"], serial=field(report["serial"], t.c.serial, "serial"),
            firmware_hash=report["firmware_hash"], config_hash=report["config_hash"],
            self_test=json.dumps(tests), technician=technician["name"], at=now)).inserted_primary_key[0]
        audit.append(station, conn, now, technician["name"], "meter_commission", meter["pan"], {
            "serial": report["serial"], "firmware_hash": report["firmware_hash"],
            "config_hash": report["config_hash"], "activated": activated,
            "self_test": {s["step"]: s["result"] for s in tests}},
            rows=[(t, row_id), (schema.meters, meter["id"])])
    return "commissioning record %d for meter %s by %s%s" % (
        row_id, meter["pan"], technician["name"], ", meter activated" if activated else "")


def latest(conn, meter_id):
    """The meter's last commissioning (self_test parsed), or None."""
    t = schema.meter_commissionings
    row = conn.execute(select(t).where(t.c.meter_id == meter_id)
                       .order_by(t.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    found = dict(row)
    found["self_test"] = json.loads(found["self_test"])
    del found["meter_id"]
    return found
