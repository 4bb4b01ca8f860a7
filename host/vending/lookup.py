"""The counter's search: a customer or meter by any number or name a customer gives
(account, meter number, phone, ID number, a part of the name), for every door."""
from sqlalchemy import func, or_, select

from host.vending import schema

LIMIT = 25


def find(conn, text, limit=LIMIT):
    """Customers matching ``text`` with their meters: those with exactly this account, meter
    number, phone or ID number; else those with it in a part of their name, account or
    meter number (a scan of every customer, so only when no number matched whole)."""
    c, m = schema.customers, schema.meters
    text = (text or "").strip()
    if not text:
        return []
    digits = text.replace(" ", "").replace("-", "")
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    exact = (select(c.c.id).where(or_(c.c.account == text, c.c.phone == text, c.c.id_number == text))
             .union(select(m.c.customer_id).where(m.c.pan == digits)))
    exact_ids = set(conn.execute(exact).scalars())
    if exact_ids:       # a number given whole: no need to scan every name for a part of it
        return _with_meters(conn, sorted(exact_ids)[:limit])
    partial = (select(c.c.id).where(or_(func.lower(c.c.name).like(like, escape="\\"),
                                        func.lower(c.c.account).like(like, escape="\\")))
               .union(select(m.c.customer_id).where(m.c.pan.like("%" + digits + "%") if digits.isdigit()
                                                    else False)))
    return _with_meters(conn, list(conn.execute(partial.limit(limit)).scalars()))


def _with_meters(conn, ids):
    c, m = schema.customers, schema.meters
    if not ids:
        return []
    rows = {r["id"]: dict(r, meters=[]) for r in conn.execute(
        select(c.c.id, c.c.account, c.c.name, c.c.phone, c.c.debt_cents).where(c.c.id.in_(ids))).mappings()}
    for meter in conn.execute(select(m.c.customer_id, m.c.pan, m.c.utility, m.c.status)
                              .where(m.c.customer_id.in_(ids)).order_by(m.c.pan)).mappings():
        rows[meter["customer_id"]]["meters"].append(dict(meter))
    return [rows[i] for i in ids if i in rows]
