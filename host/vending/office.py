"""The back office: changes to the station's records, each one transaction with its audit
entry (as a sale is), and what the counter looks up. Customers and their debt, tariffs,
vending keys, meters and operators.

Whichever door a user comes through (``prepay vend``, a web console), the rule and its
audit entry are here, not in the door. ``actor`` is the acting operator's row (``login``).
Rows come back with their unit in their names (``debt_cents``, ``vat_bp``,
``units_tenths``, ``price_micro``) and times as naive UTC datetimes.
"""
import json

from sqlalchemy import select

from host.vending import adjustments, audit, commissioning, operators, records, schema
from host.vending.db import lock_row
from host.vending.errors import VendError


def login(station, name, password, role="clerk"):
    """The operator's row, if the password is right and the role is enough."""
    with station.engine.connect() as conn:
        return operators.authenticate(conn, name, password, role)


# Changes ---------------------------------------------------------------------------------

def add_customer(station, actor, account, name, address=None, phone=None, contact=None,
                 id_number=None, settlement_day=1):
    with station.begin() as conn:
        now = station.clock()
        added = records.add_customer(conn, now, account, name, address, phone, contact,
                                     id_number, settlement_day)
        audit.append(conn, now, actor["name"], "customer_add", added["account"],
                     {"name": added["name"]})
    return added


def set_debt(station, actor, account, debt_cents, recovery_bp):
    with station.begin() as conn:
        customer = records.find_customer(conn, account)
        before = lock_row(conn, schema.customers, customer["id"])["debt_cents"]
        records.set_debt(conn, customer["id"], debt_cents, recovery_bp)
        audit.append(conn, station.clock(), actor["name"], "debt_set", customer["account"],
                     {"before_cents": before, "debt_cents": debt_cents, "recovery_bp": recovery_bp})
    return {"account": customer["account"], "debt_cents": debt_cents, "recovery_bp": recovery_bp}


def add_tariff(station, actor, name, version):
    with station.begin() as conn:
        now = station.clock()
        records.add_tariff(conn, now, name, version)
        audit.append(conn, now, actor["name"], "tariff_add", name, version)
    return {"tariff": name, "version": dict(version, blocks=named_blocks(version["blocks"]))}


def revise_tariff(station, actor, name, version):
    """New prices from ``version["effective_from"]`` on (a revision must say when)."""
    if version.get("effective_from") is None:
        raise VendError("a revision needs the date it takes effect (--effective DATE)")
    with station.begin() as conn:
        now = station.clock()
        tariff = records.find_tariff(conn, name)
        records.add_tariff_version(conn, now, tariff["id"], version)
        audit.append(conn, now, actor["name"], "tariff_revise", name, version)
    return {"tariff": name, "version": dict(version, blocks=named_blocks(version["blocks"]))}


def add_vending_key(station, actor, sgc, krn, dkga, key_bytes, expires_on=None):
    """Store a vending key sealed under the keystore; the audit entry has its identity only."""
    with station.begin() as conn:
        now = station.clock()
        records.add_vending_key(conn, station.keystore(conn), now, sgc, krn, dkga, key_bytes,
                                expires_on)
        audit.append(conn, now, actor["name"], "key_add", "%06d/%d" % (sgc, krn),
                     {"dkga": dkga, "expires": expires_on})
    return {"sgc": sgc, "krn": krn, "dkga": dkga, "expires_on": expires_on}


def add_meter(station, actor, pan, account, sgc, ti, krn, kt, algorithm, base_year, utility,
              tariff, credit_mode="unit", ken=255):
    with station.begin() as conn:
        now = station.clock()
        records.add_meter(conn, now, pan, account, sgc, ti, krn, kt, algorithm, base_year,
                          utility, tariff, credit_mode, ken)
        pan = records.normalise_pan(pan)
        audit.append(conn, now, actor["name"], "meter_add", pan, {
            "customer": account, "sgc": sgc, "ti": ti, "krn": krn, "kt": kt,
            "algorithm": algorithm, "base_year": base_year, "tariff": tariff})
    return {"meter": pan, "account": account}


def move_meter(station, actor, pan, account):
    with station.begin() as conn:
        now = station.clock()
        records.move_meter(conn, now, pan, account)
        pan = records.normalise_pan(pan)
        audit.append(conn, now, actor["name"], "meter_move", pan, {"customer": account})
    return {"meter": pan, "account": account}


def set_meter_status(station, actor, pan, status):
    with station.begin() as conn:
        meter = records.set_meter_status(conn, pan, status)
        audit.append(conn, station.clock(), actor["name"], "meter_status", meter["pan"],
                     {"status": status})
    return {"meter": meter["pan"], "status": status}


def _first_operator(conn, role):
    """Whether the next operator is the first: added by nobody, and only as an admin."""
    if operators.count(conn):
        return False
    if role != "admin":
        raise VendError("the first operator must be an admin (--role admin)")
    return True


def admin_needed(station, role):
    """Whether adding an operator with ``role`` needs an admin to act (asked before the
    new password is)."""
    with station.engine.connect() as conn:
        return not _first_operator(conn, role)


def add_operator(station, actor, name, role, password):
    """``actor``: an admin's row, or None for the first operator."""
    with station.begin() as conn:
        if _first_operator(conn, role):
            acting = "-"
        elif actor is None:
            raise VendError("say who is acting: --operator NAME or PREPAY_OPERATOR")
        else:
            operators.require(actor, "admin")
            acting = actor["name"]
        now = station.clock()
        operators.add(conn, name, role, password, now)
        audit.append(conn, now, acting, "operator_add", name, {"role": role})
    return {"operator": name, "role": role}


def disable_operator(station, actor, name):
    with station.begin() as conn:
        operators.set_active(conn, name, False)
        audit.append(conn, station.clock(), actor["name"], "operator_disable", name, {})
    return {"operator": name, "active": False}


# Look-ups ---------------------------------------------------------------------------------

def customer(station, account):
    """A customer with the meters they have."""
    m = schema.meters
    with station.engine.connect() as conn:
        row = dict(records.find_customer(conn, account))
        row["meters"] = [dict(r) for r in conn.execute(
            select(m.c.pan, m.c.utility, m.c.status).where(m.c.customer_id == row["id"])
            .order_by(m.c.pan)).mappings()]
    return row


def meter(station, pan):
    """A meter with its customer, tariff and the customers it had."""
    c = schema.customers
    with station.engine.connect() as conn:
        row = dict(records.find_meter(conn, pan))
        row["customer"] = dict(conn.execute(select(c.c.account, c.c.name)
                                            .where(c.c.id == row["customer_id"])).mappings().first())
        row["tariff"] = conn.execute(select(schema.tariffs.c.name)
                                     .where(schema.tariffs.c.id == row["tariff_id"])).scalar()
        row["history"] = records.meter_history(conn, row["id"])
        row["commissioning"] = commissioning.latest(conn, row["id"])
    return row


def tariffs(station):
    """Every tariff version; blocks as ``{"upto_tenths", "price_micro"}`` (the last
    block's limit None: no limit); ``effective_from`` None: in force since always."""
    with station.engine.connect() as conn:
        rows = records.list_tariffs(conn)
    for row in rows:
        row["blocks"] = named_blocks(json.loads(row["blocks"]))
        if row["effective_from"] == records.EPOCH:
            row["effective_from"] = None
    return rows


def named_blocks(blocks):
    """(limit in tenths or None, price in millionths) pairs with their units named."""
    return [{"upto_tenths": upto, "price_micro": price} for upto, price in blocks]


def vending_keys(station):
    """The stored keys' identities (never the keys)."""
    with station.engine.connect() as conn:
        return records.list_vending_keys(conn)


def operator_list(station):
    with station.engine.connect() as conn:
        rows = operators.listing(conn)
    for row in rows:
        row["active"] = bool(row["active"])
    return rows


def adjustment_list(station, pending_only=False):
    with station.engine.connect() as conn:
        return adjustments.listing(conn, pending_only=pending_only)


def audit_tail(station, last=20):
    """The last ``last`` entries, oldest first, payloads as objects; and the chain's head."""
    log = schema.audit_log
    with station.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            select(log.c.id, log.c.at, log.c.operator, log.c.action, log.c.subject, log.c.payload)
            .order_by(log.c.id.desc()).limit(last)).mappings()]
        head = audit.head(conn)
    rows.reverse()
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return {"entries": rows, "head": head}


def verify_audit(station, anchors=None):
    """The audit chain's problems (none: intact) and its entry count."""
    with station.engine.connect() as conn:
        return audit.verify(conn, anchors=anchors)
