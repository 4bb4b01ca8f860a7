"""Issuing tokens to a meter inside a transaction: fresh TIDs, token rows, key lookups.

The caller has locked the meter row (``db.lock_row``); TIDs come from the meter's
``last_tid`` and are written back before commit, and ``tokens`` has a unique constraint on
(meter, base date, TID), so two clerks can never hand out the same TID.
"""
from sqlalchemy import bindparam, insert, select, update

from host.vending import schema
from host.vending.errors import VendError


_METER_BY_PAN = select(schema.meters).where(schema.meters.c.pan == bindparam("pan"))
_METER_BY_PAN_FOR_UPDATE = _METER_BY_PAN.with_for_update()
_INSERT_TOKEN = insert(schema.tokens)
_SAVE_METER = (update(schema.meters).where(schema.meters.c.id == bindparam("meter_id"))
               .values(last_tid=bindparam("new_last_tid"), service_paid_through=bindparam("new_paid_through")))


def locked_meter(conn, pan, allow_blocked=False):
    """The meter row, locked for this transaction (PostgreSQL: FOR UPDATE)."""
    from host.vending.records import normalise_pan
    pan = normalise_pan(pan)
    query = _METER_BY_PAN if conn.dialect.name == "sqlite" else _METER_BY_PAN_FOR_UPDATE
    meter = conn.execute(query, {"pan": pan}).mappings().first()
    if meter is None:
        raise VendError("unknown meter %s" % pan)
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
    """Write back ``last_tid`` (and ``service_paid_through``) of the locked meter dict."""
    conn.execute(_SAVE_METER, {"meter_id": meter["id"], "new_last_tid": meter["last_tid"],
                               "new_paid_through": meter["service_paid_through"]})


def store_token(conn, meter, operator_id, kind, issued, now, sale_id=None, key_change_id=None):
    """One ``tokens`` row for an ``IssuedToken`` (or any object with digits/tid/value)."""
    tid = getattr(issued, "tid", None)
    token_id = conn.execute(_INSERT_TOKEN, dict(
        meter_id=meter["id"], sale_id=sale_id, key_change_id=key_change_id, operator_id=operator_id,
        kind=kind, tid=tid, base_year=meter["base_year"], digits=issued.digits,
        value=getattr(issued, "value", None), issued_at=now)).inserted_primary_key[0]
    return {"id": token_id, "kind": kind, "tid": tid, "digits": issued.digits,
            "value": getattr(issued, "value", None)}


def token_error(meter, exc):
    return VendError("meter %s: %s" % (meter["pan"], exc))
