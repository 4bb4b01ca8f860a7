"""The head-end's operations in the vending server's table (host/vending/api.py): the same
authentication, roles and audit trail as a sale, by either door (local mode or the
server). Supply, keep-supply, tariff, alarm levels and clock are a supervisor's; reads and
pings a clerk's; a bulk disconnection needs a second supervisor's confirmation.
"""
import datetime
import json
from typing import Literal, Optional

from pydantic import Field
from sqlalchemy import select, update

from host.vending import audit, schema
from host.vending.api import Int, Params, operation
from host.vending.errors import VendError
from host.headend import commands, delivery, notify

A = schema.alarms
READS = ("ping", "read")


class Command(Params):
    meters: list[str] = Field(min_length=1, max_length=10000)
    cmd: Literal[tuple(commands.USAGE)]
    args: list[str] = []
    reason: Optional[str] = Field(default=None, max_length=500)
    ttl_s: Int = Field(default=commands.DEFAULT_TTL_S, ge=10, le=86400)


@operation("headend_command", "POST", "/headend/commands", "supervisor", Command)
def _command(station, actor, p):
    return commands.request(station, actor, p.meters, p.cmd, p.args, p.reason, p.ttl_s)


@operation("headend_read", "POST", "/headend/reads", "clerk", Command)
def _read(station, actor, p):
    if p.cmd not in READS:
        raise VendError("a clerk may only ping and read meters; %s needs a supervisor" % p.cmd)
    return commands.request(station, actor, p.meters, p.cmd, p.args, p.reason, p.ttl_s)


class Batch(Params):
    batch: Int
    approve: bool = True


@operation("headend_confirm", "POST", "/headend/batches/confirm", "supervisor", Batch)
def _confirm(station, actor, p):
    return commands.confirm(station, actor, p.batch, p.approve)


class CommandId(Params):
    command: Int


@operation("headend_command_show", "GET", "/headend/commands/show", "clerk", CommandId)
def _command_show(station, actor, p):
    return commands.show(station.engine, p.command)


class AlarmQuery(Params):
    meter: Optional[str] = None
    open_only: bool = True
    limit: Int = Field(default=200, ge=1, le=10000)


@operation("headend_alarms", "GET", "/headend/alarms", "clerk", AlarmQuery)
def _alarms(station, actor, p):
    query = select(A).order_by(A.c.id.desc()).limit(p.limit)
    if p.meter:
        query = query.where(A.c.pan == p.meter)
    if p.open_only:
        query = query.where(A.c.open_key.isnot(None))
    with station.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [dict(r, detail=json.loads(r["detail"]), open_key=None) for r in rows]


class AlarmNote(Params):
    alarm: Int
    note: str = Field(min_length=1, max_length=500)


@operation("headend_alarm_ack", "POST", "/headend/alarms/ack", "clerk", AlarmNote)
def _alarm_ack(station, actor, p):
    now = station.clock()
    with station.begin() as conn:
        row = conn.execute(select(A).where(A.c.id == p.alarm)).mappings().first()
        if row is None:
            raise VendError("no alarm %d" % p.alarm)
        if row["state"] not in ("raised", "notified"):
            raise VendError("alarm %d is already %s" % (p.alarm, row["state"]))
        conn.execute(update(A).where(A.c.id == p.alarm).values(state="acknowledged", acknowledged_at=now,
                                                               acknowledged_by=actor["name"], note=p.note))
        audit.append(station, conn, now, actor["name"], "alarm_ack", "alarm %d" % p.alarm,
                     {"meter": row["pan"], "kind": row["kind"], "note": p.note})
    return {"alarm": p.alarm, "state": "acknowledged", "meter": row["pan"], "kind": row["kind"]}


@operation("headend_alarm_clear", "POST", "/headend/alarms/clear", "supervisor", AlarmNote)
def _alarm_clear(station, actor, p):
    from host.headend import alarms
    now = station.clock()
    with station.begin() as conn:
        row = conn.execute(select(A).where(A.c.id == p.alarm)).mappings().first()
        if row is None or row["open_key"] is None:
            raise VendError("no open alarm %d" % p.alarm)
        alarms.clear(conn, row["pan"], row["kind"], "cleared by %s: %s" % (actor["name"], p.note), now)
        audit.append(station, conn, now, actor["name"], "alarm_clear", "alarm %d" % p.alarm,
                     {"meter": row["pan"], "kind": row["kind"], "note": p.note})
    return {"alarm": p.alarm, "state": "cleared"}


class Contact(Params):
    account: Optional[str] = Field(default=None, description="a customer's account; none: staff")
    channel: Literal["email", "webhook", "file", "console"]
    address: str = Field(min_length=1, max_length=500)
    kinds: str = Field(default="*", max_length=400)
    reminder_days: Int = Field(default=0, ge=0, le=365)


@operation("headend_contact_add", "POST", "/headend/contacts", "supervisor", Contact)
def _contact_add(station, actor, p):
    from host.headend import alarms
    wanted = [k.strip() for k in p.kinds.split(",")]
    if p.kinds.strip() != "*" and not all(k in alarms.KINDS for k in wanted):
        raise VendError("kinds: * or a comma list of %s" % ", ".join(alarms.KINDS))
    now = station.clock()
    with station.begin() as conn:
        customer = None
        if p.account:
            customer = conn.execute(select(schema.customers.c.id).where(schema.customers.c.account == p.account)).scalar()
            if customer is None:
                raise VendError("no customer %s" % p.account)
        cid = notify.add_contact(conn, customer, p.channel, p.address, p.kinds, p.reminder_days)
        audit.append(station, conn, now, actor["name"], "contact_add", p.account or "staff",
                     {"channel": p.channel, "kinds": p.kinds, "reminder_days": p.reminder_days, "contact": cid})
    return {"contact": cid, "account": p.account, "channel": p.channel, "kinds": p.kinds,
            "reminder_days": p.reminder_days}


class MeterQuery(Params):
    meter: Optional[str] = None
    limit: Int = Field(default=1000, ge=1, le=100000)


@operation("headend_meters", "GET", "/headend/meters", "clerk", MeterQuery)
def _meters(station, actor, p):
    M = schema.online_meters
    query = select(M.c.pan, M.c.status, M.c.status_at, M.c.last_seen, M.c.last_seq, M.c.reading_at,
                   M.c.credit_milli, M.c.supply_state, M.c.alarm_bits).order_by(M.c.pan).limit(p.limit)
    if p.meter:
        query = query.where(M.c.pan == p.meter)
    with station.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


class Receipt(Params):
    receipt: Int


@operation("headend_delivery", "GET", "/headend/delivery", "clerk", Receipt)
def _delivery(station, actor, p):
    return delivery.sale_delivery(station.engine, p.receipt)


class Since(Params):
    since: Optional[datetime.datetime] = None


@operation("headend_reconcile", "GET", "/headend/reconcile", "supervisor", Since)
def _reconcile(station, actor, p):
    since = p.since.replace(tzinfo=None) if p.since else None
    return delivery.reconcile(station.engine, since)
