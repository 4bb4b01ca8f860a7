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

from host.vending import adjustments, audit, commissioning, operators, records, schema, sessions
from host.vending.db import lock_row
from host.vending.errors import LoginThrottled, PermissionDenied, VendError


def login(station, name, password, role=operators.ANY, address=None):
    """The operator's row, if the password is right, the account usable and the role enough.

    Failed logins are throttled per operator name and per client ``address`` (when the
    door knows one) and each one is an audit entry; the password is checked (scrypt)
    outside any transaction."""
    now = station.clock()
    keys = operators.throttle_keys(str(name), address)
    with station.engine.connect() as conn:
        until = operators.blocked_until(conn, keys, now)
        row = None if until else operators.find(conn, name)
    if until:
        raise LoginThrottled("operator %s: too many failed logins; try again after %s UTC"
                        % (name, until.strftime("%Y-%m-%d %H:%M:%S")))
    if row is None:
        operators.burn_time(password or "")
        right = False
    else:
        right = operators.check_password(password or "", row["password_hash"])
    if not right or not operators.usable(row, now):
        _failed_login(station, name, keys, address, "wrong password" if row is not None and not right else
                      "unknown operator" if row is None else "account disabled or awaiting approval")
        raise VendError("operator %s: unknown name or wrong password" % name)
    operators.require(row, role)
    with station.engine.connect() as conn:
        failed_before = operators.has_failures(conn, name)
    if failed_before:
        with station.begin() as conn:
            operators.clear_failures(conn, name)
    return dict(row)


def _failed_login(station, name, keys, address, reason):
    from host.vending.text import shown
    with station.begin() as conn:
        now = station.clock()
        failures, until = operators.record_failure(conn, keys, now)
        audit.append(station, conn, now, "-", "login_failed", shown(str(name))[:64], {
            "reason": reason, "address": address, "failures": failures,
            "blocked_until": until.isoformat() if until else None})


# Changes ---------------------------------------------------------------------------------

def add_customer(station, actor, account, name, address=None, phone=None, contact=None,
                 id_number=None, settlement_day=1):
    with station.begin() as conn:
        now = station.clock()
        added = records.add_customer(conn, now, account, name, address, phone, contact,
                                     id_number, settlement_day)
        audit.append(station, conn, now, actor["name"], "customer_add", added["account"],
                     {"name": added["name"]}, rows=[(schema.customers, added["id"])])
    return added


def set_debt(station, actor, account, debt_cents, recovery_bp):
    with station.begin() as conn:
        customer = records.find_customer(conn, account)
        before = lock_row(conn, schema.customers, customer["id"])["debt_cents"]
        records.set_debt(conn, customer["id"], debt_cents, recovery_bp)
        audit.append(station, conn, station.clock(), actor["name"], "debt_set", customer["account"],
                     {"before_cents": before, "debt_cents": debt_cents, "recovery_bp": recovery_bp},
                     rows=[(schema.customers, customer["id"])])
    return {"account": customer["account"], "debt_cents": debt_cents, "recovery_bp": recovery_bp}


def _tariff_rows(conn, tariff_id):
    tv = schema.tariff_versions
    return [(schema.tariffs, tariff_id)] + [
        (tv, v) for v in conn.execute(select(tv.c.id).where(tv.c.tariff_id == tariff_id)).scalars()]


def add_tariff(station, actor, name, version):
    with station.begin() as conn:
        now = station.clock()
        tariff_id = records.add_tariff(conn, now, name, version)
        audit.append(station, conn, now, actor["name"], "tariff_add", name, version,
                     rows=_tariff_rows(conn, tariff_id))
    return {"tariff": name, "version": dict(version, blocks=named_blocks(version["blocks"]))}


def revise_tariff(station, actor, name, version):
    """New prices from ``version["effective_from"]`` on (a revision must say when)."""
    if version.get("effective_from") is None:
        raise VendError("a revision needs the date it takes effect (--effective DATE)")
    with station.begin() as conn:
        now = station.clock()
        tariff = records.find_tariff(conn, name)
        records.add_tariff_version(conn, now, tariff["id"], version)
        audit.append(station, conn, now, actor["name"], "tariff_revise", name, version,
                     rows=_tariff_rows(conn, tariff["id"]))
    return {"tariff": name, "version": dict(version, blocks=named_blocks(version["blocks"]))}


def add_vending_key(station, actor, sgc, krn, dkga, key_bytes, expires_on=None):
    """Put a vending key in the custody; the audit entry has its identity only."""
    with station.begin() as conn:
        now = station.clock()
        key_id = records.add_vending_key(conn, station.custody(), now, sgc, krn, dkga, key_bytes, expires_on)
        audit.append(station, conn, now, actor["name"], "key_add", "%06d/%d" % (sgc, krn),
                     {"dkga": dkga, "expires": expires_on, "custody": station.custody().kind},
                     rows=[(schema.vending_keys, key_id)])
    return {"sgc": sgc, "krn": krn, "dkga": dkga, "expires_on": expires_on}


def add_meter(station, actor, pan, account, sgc, ti, krn, kt, algorithm, base_year, utility,
              tariff, credit_mode="unit", ken=255):
    with station.begin() as conn:
        now = station.clock()
        meter_id = records.add_meter(conn, now, pan, account, sgc, ti, krn, kt, algorithm, base_year,
                                     utility, tariff, credit_mode, ken)
        pan = records.normalise_pan(pan)
        audit.append(station, conn, now, actor["name"], "meter_add", pan, {
            "customer": account, "sgc": sgc, "ti": ti, "krn": krn, "kt": kt,
            "algorithm": algorithm, "base_year": base_year, "tariff": tariff},
            rows=[(schema.meters, meter_id)])
    return {"meter": pan, "account": account}


def move_meter(station, actor, pan, account):
    with station.begin() as conn:
        now = station.clock()
        records.move_meter(conn, now, pan, account)
        meter = records.find_meter(conn, pan)
        audit.append(station, conn, now, actor["name"], "meter_move", meter["pan"], {"customer": account},
                     rows=[(schema.meters, meter["id"])])
    return {"meter": meter["pan"], "account": account}


def set_meter_status(station, actor, pan, status):
    with station.begin() as conn:
        meter = records.set_meter_status(conn, pan, status)
        audit.append(station, conn, station.clock(), actor["name"], "meter_status", meter["pan"],
                     {"status": status}, rows=[(schema.meters, meter["id"])])
    return {"meter": meter["pan"], "status": status}


# Operators: separation of duties -------------------------------------------------------------

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


def approval_wait_s(conn):
    value = conn.execute(select(schema.settings.c.value)
                         .where(schema.settings.c.key == "approval_wait_s")).scalar()
    return operators.DEFAULT_APPROVAL_WAIT_S if value is None else int(value)


def _approval(conn, actor, role, now):
    """(approved_by, approved_at) of an account an admin is adding or enabling: a clerk at
    once; a supervisor or admin when a second admin approves it, or, when ``actor`` is
    the only admin, at the end of the station's waiting period."""
    if role not in operators.PRIVILEGED:
        return actor["name"], now
    others = [a for a in operators.usable_admins(conn, now) if a != actor["name"]]
    if others:
        return None, None
    import datetime
    return "wait", now + datetime.timedelta(seconds=approval_wait_s(conn))


def _state(approved_by, approved_at):
    if approved_at is None:
        return "awaiting a second admin's approval (operator approve)"
    if approved_by == "wait":
        return "usable from %s UTC (one-admin station: waiting period)" % approved_at.strftime("%Y-%m-%d %H:%M")
    return "active"


def add_operator(station, actor, name, role, password):
    """``actor``: an admin's row, or None for the first operator. A supervisor or admin
    account needs a second admin's approval (``approve_operator``) or, on a one-admin
    station, works once the waiting period is over."""
    operators.check_name(name)
    operators.check_new_password(password)
    if role not in operators.ROLES:
        raise VendError("role must be one of %s" % ", ".join(operators.ROLES))
    password_hash = operators.hash_password(password)       # scrypt, before the transaction
    with station.begin() as conn:
        now = station.clock()
        if _first_operator(conn, role):
            acting, approved = "-", ("-", now)
        elif actor is None:
            raise VendError("say who is acting: --operator NAME or PREPAY_OPERATOR")
        else:
            operators.require(actor, "admin")
            acting, approved = actor["name"], _approval(conn, actor, role, now)
        op_id = operators.add(conn, name, role, None, now, password_hash=password_hash, created_by=acting,
                              approved_by=approved[0], approved_at=approved[1])
        audit.append(station, conn, now, acting, "operator_add", name,
                     {"role": role, "approved_by": approved[0], "usable_from": approved[1]},
                     rows=[(schema.operators, op_id)])
    return {"operator": name, "role": role, "approved_by": approved[0], "usable_from": approved[1],
            "state": _state(*approved)}


def approve_operator(station, actor, name):
    """A second admin's approval of a supervisor or admin account (not the admin who added
    or enabled it, and not the account itself)."""
    with station.begin() as conn:
        operators.require(actor, "admin")
        now = station.clock()
        row = operators.find(conn, name)
        if row is None:
            raise VendError("no operator %s" % name)
        if row["approved_by"] not in (None, "wait") or not row["active"]:
            raise VendError("operator %s is not awaiting approval" % name)
        if actor["name"] in (row["created_by"], name):
            raise PermissionDenied("operator %s was added or enabled by %s; another admin must approve it"
                                   % (name, actor["name"]))
        conn.execute(schema.operators.update().where(schema.operators.c.id == row["id"])
                     .values(approved_by=actor["name"], approved_at=now))
        audit.append(station, conn, now, actor["name"], "operator_approve", name, {"role": row["role"]},
                     rows=[(schema.operators, row["id"])])
    return {"operator": name, "role": row["role"], "approved_by": actor["name"], "state": "active"}


def disable_operator(station, actor, name):
    """Disable an account; the last usable admin cannot be disabled (nobody could then
    manage the station)."""
    with station.begin() as conn:
        operators.require(actor, "admin")
        now = station.clock()
        row = operators.find(conn, name)
        if row is None:
            raise VendError("no operator %s" % name)
        if row["role"] == "admin" and operators.usable_admins(conn, now) == [name]:
            raise VendError("operator %s is the last active admin; add and approve another admin first" % name)
        operators.set_active(conn, name, False)
        sessions.revoke(conn, row["id"])              # logged out of the server at once
        audit.append(station, conn, now, actor["name"], "operator_disable", name, {},
                     rows=[(schema.operators, row["id"])])
    return {"operator": name, "active": False}


def enable_operator(station, actor, name):
    """Enable a disabled account; a supervisor or admin goes through approval again."""
    with station.begin() as conn:
        operators.require(actor, "admin")
        now = station.clock()
        row = operators.find(conn, name)
        if row is None:
            raise VendError("no operator %s" % name)
        if row["active"]:
            raise VendError("operator %s is not disabled" % name)
        approved = _approval(conn, actor, row["role"], now)
        operators.set_active(conn, name, True, created_by=actor["name"], approved_by=approved[0],
                             approved_at=approved[1])
        audit.append(station, conn, now, actor["name"], "operator_enable", name,
                     {"role": row["role"], "approved_by": approved[0], "usable_from": approved[1]},
                     rows=[(schema.operators, row["id"])])
    return {"operator": name, "active": True, "state": _state(*approved)}


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
    now = station.clock()
    with station.engine.connect() as conn:
        rows = operators.listing(conn)
    for row in rows:
        row["state"] = ("disabled" if not row["active"] else _state(row["approved_by"], row["approved_at"])
                        if row["approved_at"] is None or row["approved_at"] > now else "active")
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


def audit_head(station):
    """The chain's head ``{"id", "at", "hash", "mac"}``; ``audit.printable`` gives ``ID:HASH``."""
    with station.engine.connect() as conn:
        return audit.head(conn)


def verify_audit(station, anchors=None, heads=(), checkpoints=None, checkpoint_lines=()):
    """The audit trail's problems (none: intact) and its entry count, checked with the
    custody's audit key, against exported heads (``anchors`` ``{id: hash}``, or ``heads``
    ``[(id or None, hash)]``), the checkpoint file or folder ``checkpoints`` and
    ``checkpoint_lines`` (``audit.read_checkpoints`` done by a client)."""
    heads = [tuple(h) for h in heads] + sorted((anchors or {}).items())
    lines = list(checkpoint_lines) + (audit.read_checkpoints(checkpoints) if checkpoints else [])
    custody = station.custody()
    with station.engine.connect() as conn:
        return audit.verify(conn, custody, heads=heads, checkpoints=lines)


def checkpoint_lines(target):
    """The lines of a checkpoint file or folder, as a client reads them to have them
    checked (``verify_audit(checkpoint_lines=...)``); refused if it holds none."""
    lines = audit.read_checkpoints(target)
    if not lines:
        raise VendError("checkpoint file %s has no checkpoints" % audit.checkpoint_path(target))
    return lines


def parse_head(text):
    """An exported head as ``audit head`` prints it (``ID:HASH``, or a bare HASH)."""
    return audit.parse_head(text)


def audit_checkpoint(station, target):
    """Append the head, keyed, to the checkpoint file or folder ``target`` now."""
    return audit.write_checkpoint(station, target)
