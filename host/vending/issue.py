"""Issuing tokens to a meter inside a transaction: fresh TIDs, token rows, key lookups.

The caller has locked the meter row (``db.lock_row``); TIDs come from the meter's
``last_tid`` and are written back before commit, and ``tokens`` has a unique constraint on
(meter, base date, TID), so two clerks can never hand out the same TID.
"""
from sqlalchemy import insert, update

from host.vending import schema
from host.vending.db import lock_row
from host.vending.errors import VendError


def locked_meter(conn, pan, allow_blocked=False):
    from host.vending.records import find_meter
    meter = find_meter(conn, pan)
    meter = lock_row(conn, schema.meters, meter["id"])
    if meter["status"] == "removed" or (meter["status"] == "blocked" and not allow_blocked):
        raise VendError("meter %s is %s; no tokens can be issued" % (meter["pan"], meter["status"]))
    return dict(meter)


def fresh_tids(meter, local_now, count):
    """``count`` increasing TIDs after the meter's last one; updates ``meter['last_tid']``."""
    from tokens.errors import TokenError
    from tokens.tid import next_tid
    last = meter["last_tid"] or None
    tids = []
    t = local_now
    try:
        for _ in range(count):
            last = next_tid(meter["base_year"], t.year, t.month, t.day, t.hour, t.minute, last)
            tids.append(last)
    except TokenError as exc:
        raise VendError("meter %s: %s" % (meter["pan"], exc))
    meter["last_tid"] = last
    return tids


def save_last_tid(conn, meter):
    conn.execute(update(schema.meters).where(schema.meters.c.id == meter["id"])
                 .values(last_tid=meter["last_tid"]))


def store_token(conn, meter, operator_id, kind, issued, now, sale_id=None, key_change_id=None):
    """One ``tokens`` row for an ``IssuedToken`` (or any object with digits/tid/value)."""
    tid = getattr(issued, "tid", None)
    token_id = conn.execute(insert(schema.tokens).values(
        meter_id=meter["id"], sale_id=sale_id, key_change_id=key_change_id, operator_id=operator_id,
        kind=kind, tid=tid, base_year=meter["base_year"], digits=issued.digits,
        value=getattr(issued, "value", None), issued_at=now)).inserted_primary_key[0]
    return {"id": token_id, "kind": kind, "tid": tid, "digits": issued.digits,
            "value": getattr(issued, "value", None)}


def token_error(meter, exc):
    return VendError("meter %s: %s" % (meter["pan"], exc))
