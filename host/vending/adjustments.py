"""Refunds, offsets and manual credit adjustments, under dual confirmation.

A token once delivered cannot be revoked, so nothing here deletes or edits a sale:
* **refund**: money paid back against a sale (at most what the sale took, less earlier refunds);
  an accounting entry that the settlement report subtracts.
* **offset**: an amount set against the customer's debt (positive reduces it, negative adds
  to it), e.g. a payment made elsewhere or a correction.
* **credit**: free units for a meter (a goodwill or fault credit); the token is issued, with a
  fresh TID, when the adjustment is confirmed.
One operator requests; a different operator with the supervisor role confirms or rejects.
"""
from sqlalchemy import func, insert, select, update

from host.vending import audit, schema
from host.vending.db import lock_row
from host.vending.errors import PermissionDenied, VendError
from host.vending.issue import fresh_tids, locked_meter, save_last_tid, store_token, token_error
from host.vending.money import fmt_cents
from host.vending.records import find_customer, find_meter
from host.vending.text import field


def request(station, operator, kind, reason, sale_id=None, account=None, pan=None, amount_cents=0, units_tenths=0):
    reason = field(reason, schema.adjustments.c.reason, "the adjustment's reason")
    with station.begin() as conn:
        meter_id = None
        if kind == "refund":
            if sale_id is None or amount_cents <= 0:
                raise VendError("a refund needs --receipt and a positive --amount")
            sale = conn.execute(select(schema.sales).where(schema.sales.c.id == sale_id)).mappings().first()
            if sale is None:
                raise VendError("no receipt %d" % sale_id)
            refunded = _refunded(conn, sale_id, statuses=("pending", "confirmed"))
            if refunded + amount_cents > sale["amount_cents"]:
                raise VendError("receipt %d took %s; refunds requested so far %s leave at most %s" % (
                    sale_id, fmt_cents(sale["amount_cents"]), fmt_cents(refunded),
                    fmt_cents(sale["amount_cents"] - refunded)))
            customer_id, meter_id = sale["customer_id"], sale["meter_id"]
        elif kind == "offset":
            if account is None or amount_cents == 0:
                raise VendError("an offset needs --account and a non-zero --amount")
            customer_id = find_customer(conn, account)["id"]
        elif kind == "credit":
            if pan is None or units_tenths <= 0:
                raise VendError("a credit adjustment needs --meter and positive --units")
            meter = find_meter(conn, pan)
            customer_id, meter_id = meter["customer_id"], meter["id"]
        else:
            raise VendError("adjustment kind must be refund, offset or credit")
        now = station.clock()
        adj_id = conn.execute(insert(schema.adjustments).values(
            kind=kind, sale_id=sale_id if kind == "refund" else None, meter_id=meter_id, customer_id=customer_id,
            amount_cents=amount_cents, units_tenths=units_tenths, reason=reason, status="pending",
            requested_by=operator["id"], requested_at=now)).inserted_primary_key[0]
        audit.append(station, conn, now, operator["name"], "adjust_request", adj_id, {
            "kind": kind, "sale": sale_id, "amount_cents": amount_cents, "units_tenths": units_tenths,
            "reason": reason}, rows=[(schema.adjustments, adj_id)])
    return {"id": adj_id, "kind": kind, "status": "pending"}


def _refunded(conn, sale_id, statuses=("confirmed",)):
    a = schema.adjustments
    return int(conn.execute(select(func.coalesce(func.sum(a.c.amount_cents), 0)).where(
        a.c.kind == "refund", a.c.sale_id == sale_id, a.c.status.in_(statuses))).scalar())


def decide(station, operator, adj_id, confirm):
    """Confirm (and carry out) or reject a pending adjustment."""
    from tokens import sts
    from tokens.errors import TokenError
    if operator["role"] not in ("supervisor", "admin"):
        raise PermissionDenied("only a supervisor can confirm or reject adjustments")
    with station.begin() as conn:
        row = lock_row(conn, schema.adjustments, adj_id)
        if row is None:
            raise VendError("no adjustment %d" % adj_id)
        if row["status"] != "pending":
            raise VendError("adjustment %d is already %s" % (adj_id, row["status"]))
        if row["requested_by"] == operator["id"]:
            raise PermissionDenied("adjustment %d was entered by %s; another supervisor must confirm it"
                                   % (adj_id, operator["name"]))
        now = station.clock()
        result = {"id": adj_id, "kind": row["kind"], "status": "confirmed" if confirm else "rejected"}
        token_id = None
        touched = [(schema.adjustments, adj_id)]
        if confirm and row["kind"] == "credit":
            pan = conn.execute(select(schema.meters.c.pan).where(schema.meters.c.id == row["meter_id"])).scalar()
            local_now = station.local(now, conn)
            meter = locked_meter(conn, pan)
            key = station.decoder_key(conn, meter, local_now.date())
            (tid,) = fresh_tids(meter, local_now, 1)
            try:
                issued = sts.credit_token(key, meter["algorithm"], meter["utility"], tid, row["units_tenths"])
            except TokenError as exc:
                raise token_error(meter, exc)
            token = store_token(conn, meter, operator["id"], "adjustment", issued, now)
            save_last_tid(conn, meter)
            token_id = token["id"]
            result["token"] = dict(token, meter=pan)
            touched.append((schema.meters, meter["id"]))
        if confirm and row["kind"] == "offset":
            customer = lock_row(conn, schema.customers, row["customer_id"])
            conn.execute(update(schema.customers).where(schema.customers.c.id == customer["id"])
                         .values(debt_cents=customer["debt_cents"] - row["amount_cents"]))
            touched.append((schema.customers, customer["id"]))
        conn.execute(update(schema.adjustments).where(schema.adjustments.c.id == adj_id).values(
            status=result["status"], confirmed_by=operator["id"], confirmed_at=now, token_id=token_id))
        audit.append(station, conn, now, operator["name"], "adjust_" + ("confirm" if confirm else "reject"),
                     adj_id, {"kind": row["kind"], "token": result.get("token", {}).get("digits")}, rows=touched)
    return result


def listing(conn, pending_only=False):
    a, c, o1, o2 = (schema.adjustments, schema.customers, schema.operators.alias("req"),
                    schema.operators.alias("conf"))
    query = (select(a.c.id, a.c.kind, a.c.status, c.c.account, a.c.sale_id, a.c.amount_cents, a.c.units_tenths,
                    o1.c.name.label("requested_by"), o2.c.name.label("confirmed_by"), a.c.reason,
                    a.c.requested_at, a.c.confirmed_at)
             .join(c, c.c.id == a.c.customer_id).join(o1, o1.c.id == a.c.requested_by)
             .outerjoin(o2, o2.c.id == a.c.confirmed_by).order_by(a.c.id))
    if pending_only:
        query = query.where(a.c.status == "pending")
    return [dict(r) for r in conn.execute(query).mappings()]
