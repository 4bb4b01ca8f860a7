"""Alarms: what raises them, and their life cycle.

raised -> notified (every notification of it sent) -> acknowledged (by a person, with a
note) -> cleared (the condition ended, or a person cleared it). At most one alarm per
meter and kind is open at a time (``open_key`` is unique while it is not cleared), so a
condition seen again, by any worker, does not raise a second one. Rows are never deleted:
an alarm is never lost, and its notifications wait in the outbox until they are sent.

Kinds (docs/headend.md):
* ``low_balance_1`` / ``low_balance_2``: the meter's own low-credit levels 1 and 2 (alarm
  bits 0 and 1), or credit at or below 30 % / 10 % of the last purchase (the seeds' rule);
* ``zero_balance_trip``: credit exhausted, supply off for credit;
* ``tamper``: cover open, magnet, tilt, reverse connection; ``leak``; ``gas_abnormal_flow``;
  ``low_battery``;
* ``comm_loss``: nothing heard for longer than the configured silence;
* ``recharge_failure``: a sale's token refused, or not accepted in time;
* ``consumption_anomaly``: use far below the meter's own history while its supply is on.
"""
import json

from sqlalchemy import select, update

from host.vending import schema
from host.headend.sqlutil import insert_ignore

KINDS = ("low_balance_1", "low_balance_2", "zero_balance_trip", "tamper", "leak", "gas_abnormal_flow",
         "low_battery", "comm_loss", "recharge_failure", "consumption_anomaly")
READING_KINDS = KINDS[:7]          # decided by each reading: raised when true, cleared when not

# alarm bits (0-0:128.97.0) and supply reasons (0-0:128.3.10), docs/obis.md
BIT = {"low1": 0, "low2": 1, "exhausted": 3, "cover": 4, "magnet": 5, "tilt": 12, "leak": 13,
       "battery": 14, "reverse": 15}
REASON = {"exhausted": 2, "tamper": 12, "battery": 13, "magnet": 14, "tilt": 15, "leak": 16, "over_flow": 17}
TAMPER_BITS = ("cover", "magnet", "tilt", "reverse")

A = schema.alarms


def from_reading(s):
    """{kind: detail} of the conditions a reading's summary (values.summary) shows."""
    bits = s.get("alarm_bits") or 0
    reason = s.get("supply_reason")
    on = lambda name: bool(bits >> BIT[name] & 1)
    found = {}
    credit, last = s.get("credit_milli"), s.get("last_purchase_milli")
    share = None
    if credit is not None and last:
        share = credit * 100 // last
    if on("low2") or (share is not None and credit * 10 <= last):
        found["low_balance_2"] = {"level": 2, "credit_milli": credit, "percent_of_last_purchase": share}
    if on("low1") or on("low2") or (share is not None and credit * 10 <= last * 3):
        found["low_balance_1"] = {"level": 1, "credit_milli": credit, "percent_of_last_purchase": share}
    if on("exhausted") or (s.get("supply_state") == 0 and reason == REASON["exhausted"]):
        found["zero_balance_trip"] = {"credit_milli": credit}
    tampers = [name for name in TAMPER_BITS if on(name)]
    if reason in (REASON["tamper"], REASON["magnet"], REASON["tilt"]):
        tampers.append({12: "tamper", 14: "magnet", 15: "tilt"}[reason] + "_supply_off")
    if tampers:
        found["tamper"] = {"what": tampers}
    if on("leak") or reason == REASON["leak"]:
        found["leak"] = {}
    if reason == REASON["over_flow"]:
        found["gas_abnormal_flow"] = {}
    if on("battery") or reason == REASON["battery"]:
        found["low_battery"] = {}
    return found


# Event codes (docs/mqtt.md: "<kind>.<detail>", firmware/lib/meter/core.py) that raise an
# alarm. Matched on the kind and detail, never on words anywhere in the code: words matched
# "token.refused_tamper" (a token refused, not a tamper) and missed "supply.low_battery" and
# "supply.tilt" (the supply opened for them).
EVENT_KINDS = {"tamper": "tamper", "leak": "leak"}           # every detail but clearing ones
EVENT_CODES = {"alarm.battery_low": "low_battery", "alarm.reverse_flow": "tamper",
               "supply.magnet": "tamper", "supply.tilt": "tamper", "supply.leak": "leak",
               "supply.low_battery": "low_battery", "supply.over_flow": "gas_abnormal_flow"}


def from_event(code):
    """The kind an event's code raises, if any (events raise; readings clear)."""
    kind, _, detail = code.partition(".")
    if not detail or detail.startswith("cleared"):
        return None
    if kind in EVENT_KINDS:
        return EVENT_KINDS[kind]
    if kind == "supply" and detail.startswith("tamper_"):      # the supply opened for a tamper
        return "tamper"
    return EVENT_CODES.get(code)


def open_key(pan, kind):
    return "%s:%s" % (pan, kind)


def raise_alarm(conn, pan, kind, detail, now):
    """Raise unless one is open; the new alarm's id (its notifications queued), else None."""
    key = open_key(pan, kind)
    alarm_id = conn.execute(insert_ignore(conn, A).values(
        pan=pan, kind=kind, state="raised", open_key=key, raised_at=now, detail=json.dumps(detail, sort_keys=True))
        .returning(A.c.id)).scalar()
    if alarm_id is None:
        return None
    from host.headend import notify
    notify.queue(conn, alarm_id, pan, kind, "raised", now)
    return alarm_id


def clear(conn, pan, kind, why, now, notify_people=True):
    """Clear the open alarm of this meter and kind, if any; its id."""
    row = conn.execute(select(A.c.id).where(A.c.open_key == open_key(pan, kind))).first()
    if row is None:
        return None
    conn.execute(update(A).where(A.c.id == row.id).values(state="cleared", open_key=None, cleared_at=now,
                                                          cleared_why=why[:200]))
    if notify_people:
        from host.headend import notify
        notify.queue(conn, row.id, pan, kind, "cleared", now)
    return row.id


def apply_reading(conn, pan, summary, open_kinds, now):
    """Raise what a meter's newest reading shows and clear what it no longer shows;
    ``open_kinds``: the kinds open for this meter now."""
    found = from_reading(summary)
    for kind in READING_KINDS:
        if kind in found and kind not in open_kinds:
            raise_alarm(conn, pan, kind, found[kind], now)
        elif kind not in found and kind in open_kinds:
            clear(conn, pan, kind, "the meter no longer reports it", now)


def acknowledge(conn, alarm_id, who, note, now):
    row = conn.execute(select(A).where(A.c.id == alarm_id)).mappings().first()
    if row is None:
        return None
    if row["state"] in ("raised", "notified"):
        conn.execute(update(A).where(A.c.id == alarm_id).values(state="acknowledged", acknowledged_at=now,
                                                                acknowledged_by=who, note=note))
    return dict(conn.execute(select(A).where(A.c.id == alarm_id)).mappings().first())
