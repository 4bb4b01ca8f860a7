"""Customers' self-service: a password an operator sets for the account, the customer's
login (throttled per account and per address, and audited, as operators' logins are), and
what a customer may see: their own meters, purchases and receipts, nobody else's.
"""
import datetime

from sqlalchemy import func, insert, select, update

from host.vending import audit, operators, records, schema, sales
from host.vending.errors import LoginThrottled, VendError
from host.vending.text import shown


def set_password(station, actor, account, password):
    """Give the customer ``account`` a self-service password (an operator's act, audited;
    the password itself is never stored or logged, only its scrypt hash)."""
    operators.require(actor, "clerk")
    operators.check_new_password(password)
    password_hash = operators.hash_password(password)          # scrypt, before the transaction
    cl = schema.customer_logins
    with station.begin() as conn:
        now = station.clock()
        customer = records.find_customer(conn, account)
        values = dict(password_hash=password_hash, set_at=now, set_by=actor["name"])
        if conn.execute(select(cl.c.customer_id).where(cl.c.customer_id == customer["id"])).first():
            conn.execute(update(cl).where(cl.c.customer_id == customer["id"]).values(**values))
        else:
            conn.execute(insert(cl).values(customer_id=customer["id"], **values))
        audit.append(station, conn, now, actor["name"], "customer_password", customer["account"], {})
    return {"account": customer["account"], "self_service": True}


def login(station, account, password, address=None):
    """The customer's row if the account has a self-service password and it is right."""
    now = station.clock()
    keys = ["customer:%s" % str(account)[:64]] + operators.throttle_keys("", address)[1:]
    cl, c = schema.customer_logins, schema.customers
    with station.engine.connect() as conn:
        until = operators.blocked_until(conn, keys, now)
        row = None if until else conn.execute(
            select(c.c.id, c.c.account, c.c.name, cl.c.password_hash).join(cl, cl.c.customer_id == c.c.id)
            .where(c.c.account == account)).mappings().first()
    if until:
        raise LoginThrottled("account %s: too many failed logins; try again after %s UTC"
                        % (shown(str(account)), until.strftime("%Y-%m-%d %H:%M:%S")))
    if row is None:
        operators.burn_time(password or "")
    if row is None or not operators.check_password(password or "", row["password_hash"]):
        with station.begin() as conn:
            failures, blocked = operators.record_failure(conn, keys, now)
            audit.append(station, conn, now, "-", "customer_login_failed", shown(str(account))[:64], {
                "address": address, "failures": failures,
                "blocked_until": blocked.isoformat() if blocked else None})
        raise VendError("unknown account or wrong password")
    with station.engine.connect() as conn:
        failed_before = conn.execute(select(schema.login_failures.c.key)
                                     .where(schema.login_failures.c.key == keys[0])).first()
    if failed_before:
        with station.begin() as conn:
            conn.execute(schema.login_failures.delete().where(schema.login_failures.c.key == keys[0]))
    return {"id": row["id"], "account": row["account"], "name": row["name"]}


def has_password(conn, customer_id):
    cl = schema.customer_logins
    return conn.execute(select(cl.c.set_at).where(cl.c.customer_id == customer_id)).scalar() is not None


def overview(station, customer_id, days=30):
    """The customer's meters, purchases (newest first) and units bought per local day over
    the last ``days`` days (from the ledger; a meter's own readings come from the head-end)."""
    c, m, s = schema.customers, schema.meters, schema.sales
    now = station.clock()
    with station.engine.connect() as conn:
        customer = dict(conn.execute(select(c.c.account, c.c.name, c.c.debt_cents)
                                     .where(c.c.id == customer_id)).mappings().one())
        meters = [dict(r) for r in conn.execute(select(m.c.pan, m.c.utility, m.c.credit_mode, m.c.status)
                                                .where(m.c.customer_id == customer_id).order_by(m.c.pan)).mappings()]
        purchases = [dict(r) for r in conn.execute(
            select(s.c.id.label("receipt"), s.c.sold_at, m.c.pan.label("meter"), s.c.amount_cents, s.c.channel,
                   s.c.units_tenths, s.c.credit_value, m.c.credit_mode)
            .join(m, m.c.id == s.c.meter_id).where(s.c.customer_id == customer_id)
            .order_by(s.c.id.desc()).limit(50)).mappings()]
        zone_today = station.local(now, conn).date()
        since = station.to_utc(datetime.datetime.combine(zone_today - datetime.timedelta(days=days - 1),
                                                         datetime.time()), conn)
        per_day = {}
        for sold_at, units in conn.execute(select(s.c.sold_at, s.c.units_tenths)
                                           .where(s.c.customer_id == customer_id, s.c.sold_at >= since)):
            day = station.local(sold_at, conn).date()
            per_day[day] = per_day.get(day, 0) + int(units)
    customer["meters"] = meters
    customer["purchases"] = purchases
    customer["daily_units_tenths"] = [(zone_today - datetime.timedelta(days=k), per_day.get(
        zone_today - datetime.timedelta(days=k), 0)) for k in range(days - 1, -1, -1)]
    return customer


def receipt(station, customer_id, sale_id):
    """One of the customer's own receipts (another customer's is 'no receipt')."""
    with station.engine.connect() as conn:
        owner = conn.execute(select(schema.sales.c.customer_id).where(schema.sales.c.id == sale_id)).scalar()
        if owner != customer_id:
            raise VendError("no receipt %s" % sale_id)
        return sales.receipt(station, conn, sale_id)


def latest_receipt(station, customer_id):
    with station.engine.connect() as conn:
        return conn.execute(select(func.max(schema.sales.c.id))
                            .where(schema.sales.c.customer_id == customer_id)).scalar()
