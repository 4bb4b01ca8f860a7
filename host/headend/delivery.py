"""Vending integration: the token of a sale to an online meter is also sent to it over
MQTT (a signed ``token`` command), its delivery and acceptance tracked on the sale; a
refusal or no answer in time raises recharge failure (the receipt still carries the
token for the keypad). Reconciliation: the tokens the meters report accepted against the
tokens the ledger sold, every mismatch listed.
"""
import datetime
import json

from sqlalchemy import and_, insert, select, update

from host.vending import audit, schema
from host.vending.errors import VendError
from host.headend import commands

T, K, S, M = schema.tokens, schema.meter_commands, schema.settings, schema.online_meters
CURSOR = "headend_delivery_cursor"
DELIVERY_TTL_S = 600


def deliver_new_sales(station, now, ttl_s=DELIVERY_TTL_S):
    """Queue a token command for each new sale's credit token whose meter is online; the
    cursor moves in the same transaction, so each token is queued once (and ``token_id``
    is unique among commands besides). How many were queued."""
    with station.engine.connect() as conn:        # most seconds there is nothing new: no write lock
        cursor = conn.execute(select(S.c.value).where(S.c.key == CURSOR)).scalar()
        if cursor is not None and conn.execute(select(T.c.id).where(and_(
                T.c.id > int(cursor), T.c.sale_id.isnot(None))).limit(1)).first() is None:
            return 0
    custody = station.ensure_command_root()
    with station.begin() as conn:
        query = select(S.c.value).where(S.c.key == CURSOR)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        cursor = conn.execute(query).scalar()
        if cursor is None:
            start = conn.execute(select(T.c.id).order_by(T.c.id.desc()).limit(1)).scalar() or 0
            conn.execute(insert(S).values(key=CURSOR, value=str(start)))   # from now on, not the past
            return 0
        rows = conn.execute(select(T.c.id, T.c.digits, schema.meters.c.pan, M.c.status)
                            .select_from(T.join(schema.meters, schema.meters.c.id == T.c.meter_id)
                                         .outerjoin(M, M.c.pan == schema.meters.c.pan))
                            .where(and_(T.c.id > int(cursor), T.c.sale_id.isnot(None)))
                            .order_by(T.c.id).limit(1000)).all()
        queued = 0
        for token_id, digits, pan, status in rows:
            if status == "online":
                cid = commands.queue(conn, custody, pan, "token", [digits], "headend", now,
                                     reason="sale delivery", ttl_s=ttl_s, token_id=token_id)
                audit.append(station, conn, now, "headend", "token_delivery", pan, {"token": token_id, "command": cid})
                queued += 1
        if rows:
            conn.execute(update(S).where(S.c.key == CURSOR).values(value=str(rows[-1][0])))
    return queued


def sale_delivery(engine, receipt):
    """How the tokens of sale ``receipt`` went over MQTT."""
    with engine.connect() as conn:
        tokens = conn.execute(select(T.c.id, T.c.tid, T.c.kind, M.c.status)
                              .select_from(T.join(schema.meters, schema.meters.c.id == T.c.meter_id)
                                           .outerjoin(M, M.c.pan == schema.meters.c.pan))
                              .where(T.c.sale_id == receipt)).all()
        if not tokens:
            raise VendError("no sale with receipt %s" % receipt)
        cursor = conn.execute(select(S.c.value).where(S.c.key == CURSOR)).scalar()
        out = []
        for token_id, tid, kind, status in tokens:
            row = conn.execute(select(K).where(K.c.token_id == token_id)).mappings().first()
            if row is not None:
                state = row["state"]
            elif cursor is not None and token_id > int(cursor) and status == "online":
                state = "pending"                     # the head-end takes it within a second
            else:
                state = "not sent (meter offline: keypad)"
            out.append({"token": token_id, "tid": tid, "kind": kind, "delivery": state,
                        "result": row["result_code"] if row else None,
                        "sent_at": row["sent_at"] if row else None, "result_at": row["result_at"] if row else None})
    return {"receipt": receipt, "tokens": out}


def reconcile(engine, since=None):
    """Tokens the meters reported accepted (events with a TID) against the ledger's tokens of
    those meters: sold but not reported, reported but not sold, amounts that differ."""
    E = schema.meter_events
    since = since or datetime.datetime(1970, 1, 1)
    with engine.connect() as conn:
        reported = {}
        for pan, seq, code, data in conn.execute(select(E.c.pan, E.c.seq, E.c.code, E.c.data).where(
                and_(E.c.t >= since, E.c.code.like("token%")))):
            d = json.loads(data)
            if isinstance(d.get("tid"), int) and d.get("result", "Accept") == "Accept" and "refused" not in code:
                reported[(pan, d["tid"])] = {"seq": seq, "amount": d.get("amount")}
        # the firmware's token results carry no TID (docs/mqtt.md): a token delivered over MQTT
        # is reported by the meter's signed result to that token's command ('Used': it had it)
        for pan, tid in conn.execute(
                select(K.c.pan, T.c.tid).select_from(K.join(T, T.c.id == K.c.token_id)).where(and_(
                    K.c.result_code.in_(("Accept", "Used")), K.c.result_at >= since, T.c.tid.isnot(None)))):
            reported.setdefault((pan, tid), {"seq": None, "amount": None})
        pans = sorted({p for p, _ in reported} | set(conn.execute(select(E.c.pan).distinct()).scalars()))
        sold = {}
        if pans:
            for pan, tid, value, token_id, sale_id in conn.execute(
                    select(schema.meters.c.pan, T.c.tid, T.c.value, T.c.id, T.c.sale_id)
                    .select_from(T.join(schema.meters, schema.meters.c.id == T.c.meter_id))
                    .where(and_(schema.meters.c.pan.in_(pans), T.c.tid.isnot(None), T.c.issued_at >= since))):
                sold[(pan, tid)] = {"token": token_id, "sale": sale_id, "value": value}
    problems = []
    for key in sorted(set(sold) - set(reported)):
        problems.append({"meter": key[0], "tid": key[1], "problem": "sold, not reported accepted", **sold[key]})
    for key in sorted(set(reported) - set(sold)):
        problems.append({"meter": key[0], "tid": key[1], "problem": "reported accepted, not sold here",
                         **reported[key]})
    for key in sorted(set(sold) & set(reported)):
        amount = reported[key]["amount"]
        if amount is not None and amount != sold[key]["value"]:
            problems.append({"meter": key[0], "tid": key[1], "problem": "amount differs",
                             "ledger": sold[key]["value"], "meter_reported": amount})
    return {"meters": len(pans), "matched": len(set(sold) & set(reported)), "problems": problems}
