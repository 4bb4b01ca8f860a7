"""What the technician's two operations do at the vending station (``prepay provision
meter``, locally or through the vending server, role ``technician``; a supervisor or
admin may too; their entries in ``host.vending.api``'s table: ``host/vending/technician.py``):

* ``provision_keys``: what the meter needs from the station, derived by its key custody
  for the meter's PAN: the decoder key and, for an online meter, the command key and
  broker password (docs/mqtt.md, "Keys"); with the floor of a new TID memory (by the
  station's clock, and above every TID sold) and the tokens sold to the meter since its
  last commissioning (Old on a meter whose TID memory is new: docs/meter-security.md). One audit entry says who
  was given which keys of which meter, never a key.
* ``meter_commission``: the commissioning record, in the vending database beside the
  meter's sales, so the clerk sells to it at once and anyone can see when, by whom and
  with what firmware and settings it was commissioned. One transaction: the record, the
  meter set active when it was registered blocked (waiting for its commissioning), and
  the audit entry naming both. A removed meter is refused. The record holds hashes and
  results, never a key.
"""
import datetime
import json

from sqlalchemy import insert, select

from host.vending import audit, records, schema
from host.vending.errors import VendError
from host.vending.text import field

ROLE = "technician"         # the least role that may provision and commission a meter
RESULTS = ("ok", "skipped", "held off")
METER_FIELDS = ("pan", "sgc", "ti", "krn", "kt", "ken", "algorithm", "base_year", "utility",
                "credit_mode", "status")


def issue_keys(station, technician, pan, online=False):
    """The meter's keys from the custody (hex; the broker password as text), its vending
    record, the TID memory's floor (a minute before now, the station's local time) and
    the tokens sold to it since its last commissioning. Audited: who, which meter, which
    keys (never their values)."""
    if online:
        station.ensure_command_root(technician["name"])     # before the transaction
    with station.begin() as conn:
        now = station.clock()
        meter = dict(records.find_meter(conn, pan))
        if meter["status"] == "removed":
            raise VendError("meter %s is removed at the vending station" % meter["pan"])
        local = station.local(now, conn)
        keys = {"decoder_key": station.decoder_key(conn, meter, local.date()).hex()}
        if online:
            keys["command_key"] = station.custody().command_key(meter["pan"]).hex()
            keys["broker_password"] = station.custody().broker_password(meter["pan"])
        since = latest(conn, meter["id"])
        sold = sold_since(conn, meter["id"], since["at"] if since else None)
        audit.append(station, conn, now, technician["name"], "meter_keys_issued", meter["pan"],
                     {"keys": sorted(keys), "sgc": meter["sgc"], "krn": meter["krn"]})
    return dict(keys, meter={k: meter[k] for k in METER_FIELDS}, timezone=station.zone().key,
                floor_tid=floor_tid(meter, local), sold_since_commissioning=sold)


def floor_tid(meter, local):
    """A new TID memory's floor (tokens at or below it are Old): a minute before now, so
    the clerk's first sale, this minute, is not Old; and not below the last TID the
    station issued to the meter, so no token sold before can credit a new board (the
    station's next TID is above it)."""
    from tokens.tid import tid_at
    t = local - datetime.timedelta(minutes=1)
    return max(tid_at(meter["base_year"], t.year, t.month, t.day, t.hour, t.minute), meter["last_tid"])


def sold_since(conn, meter_id, at):
    """Tokens with a TID issued to the meter after ``at`` (None: ever): receipt, TID, kind."""
    t = schema.tokens
    query = select(t.c.sale_id, t.c.tid, t.c.kind, t.c.issued_at).where(t.c.meter_id == meter_id,
                                                                          t.c.tid.is_not(None))
    if at is not None:
        query = query.where(t.c.issued_at > at)
    return [dict(r) for r in conn.execute(query.order_by(t.c.tid)).mappings()]


def record(station, technician, report):
    """Write the commissioning of ``report`` (``host.provisioning.meter``: meter, serial,
    firmware_hash, config_hash, steps); one line saying what was recorded."""
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
