"""Signed commands to meters (docs/mqtt.md, "Head-end -> meter").

An operator's request is checked, given the meter's next counter, signed by the custody's
command key for that meter, written to ``meter_commands`` with an audit entry, all in one
transaction; a ``serve`` worker then claims it (``queued`` -> ``sent``, so only one worker
publishes it), publishes it with QoS 1 and never retained, and stores the meter's signed
result once it verifies. A command is signed once with one counter: a duplicate or a
replay of it is refused by the meter as ``replayed``, so it never executes twice.

Disconnecting more than one meter at once is a batch that a second person (supervisor or
admin, not the one who asked) must confirm before any command is signed.
"""
import datetime
import json
import logging
import re

from sqlalchemy import and_, select, update

from host.vending import audit, schema
from host.vending.errors import VendError
from host.headend import alarms, wire
from host.headend.sqlutil import insert_ignore

log = logging.getLogger("prepay.headend")
M, K, B = schema.online_meters, schema.meter_commands, schema.command_batches
DEFAULT_TTL_S = 300
NO_ANSWER_GRACE_S = 60
_OBIS = re.compile(r"[0-9]{1,3}-[0-9]{1,3}:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\Z")
_DIGITS = re.compile(r"[0-9]{1,12}\Z")


def check(cmd, args):
    """The command's arguments as strings, or VendError saying what is wrong."""
    args = [str(a) for a in args]
    ok = {
        "ping": lambda: args == [],
        "token": lambda: len(args) == 1 and re.fullmatch(r"[0-9]{20}", args[0]) is not None,
        "supply": lambda: args in (["off"], ["on"]),
        "keep-supply": lambda: args == ["off"] or (len(args) == 2 and args[0] == "on" and _DIGITS.match(args[1])),
        "tariff": lambda: len(args) == 2 and _json_object(args[0]) and _DIGITS.match(args[1]),
        "alarm-levels": lambda: len(args) == 1 and _json_object(args[0]),
        "clock": lambda: len(args) == 1 and _DIGITS.match(args[0]),
        "read": lambda: 1 <= len(args) <= 32 and all(_OBIS.match(a) for a in args),
    }.get(cmd)
    if ok is None:
        raise VendError("unknown command %r (one of %s)" % (cmd, ", ".join(wire.COMMANDS)))
    if not ok():
        raise VendError("bad arguments for %s: %s" % (cmd, USAGE[cmd]))
    return args


USAGE = {"ping": "none", "token": "20 digits", "supply": "off | on", "keep-supply": "on UNTIL | off",
         "tariff": "TABLE-JSON ACTIVATION", "alarm-levels": "LEVELS-JSON", "clock": "UNIX-SECONDS",
         "read": "one OBIS code or more"}


def _json_object(text):
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def is_bulk_disconnection(pans, cmd, args):
    return len(pans) > 1 and cmd == "supply" and args == ["off"]


def _unix(dt):
    return int((dt - datetime.datetime(1970, 1, 1)).total_seconds())


def queue(conn, custody, pan, cmd, args, who, now, reason=None, ttl_s=DEFAULT_TTL_S, batch_id=None, token_id=None):
    """Sign and queue one command inside the caller's write transaction; its row id."""
    conn.execute(insert_ignore(conn, M).values(pan=pan, status="unknown", command_ctr=0))
    query = select(M.c.command_ctr).where(M.c.pan == pan)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    ctr = conn.execute(query).scalar() + 1
    conn.execute(update(M).where(M.c.pan == pan).values(command_ctr=ctr))
    expires = now + datetime.timedelta(seconds=ttl_s)
    payload = wire.signed(custody.command_key(pan), wire.CMD_DOMAIN,
                          wire.command_body(ctr, pan, _unix(expires), cmd, args))
    return conn.execute(K.insert().values(
        pan=pan, ctr=ctr, cmd=cmd, payload=payload.decode("ascii"), expires_at=expires, state="queued",
        reason=reason, requested_by=who, requested_at=now, batch_id=batch_id, token_id=token_id)
    ).inserted_primary_key[0]


def _known_meter(conn, pan):
    if conn.execute(select(schema.meters.c.id).where(schema.meters.c.pan == pan)).first() is None:
        raise VendError("no meter %s in the ledger" % pan)


def request(station, actor, pans, cmd, args, reason=None, ttl_s=DEFAULT_TTL_S):
    """An operator's command to one meter or more: queued and signed now, or (a bulk
    disconnection) a batch awaiting a second person. Audited either way."""
    args = check(cmd, args)
    pans = list(dict.fromkeys(pans))
    if not pans:
        raise VendError("name at least one meter")
    if cmd in ("supply", "keep-supply") and not (reason or "").strip():
        raise VendError("say why (--reason): supply commands are audited with their reason")
    custody = station.ensure_command_root()
    now = station.clock()
    with station.begin() as conn:
        for pan in pans:
            _known_meter(conn, pan)
        if is_bulk_disconnection(pans, cmd, args):
            batch = conn.execute(B.insert().values(cmd=cmd, args=json.dumps(args), pans=json.dumps(pans),
                                                   reason=reason, state="pending", requested_by=actor["name"],
                                                   requested_at=now)).inserted_primary_key[0]
            audit.append(station, conn, now, actor["name"], "command_batch", "batch %d" % batch,
                         {"cmd": cmd, "args": args, "meters": pans, "reason": reason})
            return {"batch": batch, "state": "pending", "meters": len(pans),
                    "next": "a second supervisor confirms: prepay headend confirm %d" % batch}
        ids = []
        for pan in pans:
            ids.append(queue(conn, custody, pan, cmd, args, actor["name"], now, reason, ttl_s))
            audit.append(station, conn, now, actor["name"], "meter_command", pan,
                         {"cmd": cmd, "args": _shown_args(cmd, args), "reason": reason, "command": ids[-1]})
    return {"commands": ids, "state": "queued"}


def _shown_args(cmd, args):
    return ["<token>"] if cmd == "token" else args


def confirm(station, actor, batch_id, approve=True):
    """The second person's decision on a bulk batch; on approval its commands are queued."""
    custody = station.ensure_command_root()
    now = station.clock()
    with station.begin() as conn:
        query = select(B).where(B.c.id == batch_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        batch = conn.execute(query).mappings().first()
        if batch is None:
            raise VendError("no command batch %s" % batch_id)
        if batch["state"] != "pending":
            raise VendError("batch %d is already %s" % (batch_id, batch["state"]))
        if batch["requested_by"] == actor["name"]:
            raise VendError("a bulk disconnection needs a second person: %s asked for it" % actor["name"])
        state = "confirmed" if approve else "rejected"
        conn.execute(update(B).where(B.c.id == batch_id).values(state=state, confirmed_by=actor["name"],
                                                                confirmed_at=now))
        ids = []
        if approve:
            args = json.loads(batch["args"])
            for pan in json.loads(batch["pans"]):
                ids.append(queue(conn, custody, pan, batch["cmd"], args, batch["requested_by"], now,
                                 batch["reason"], batch_id=batch_id))
        audit.append(station, conn, now, actor["name"], "command_batch_" + state, "batch %d" % batch_id,
                     {"commands": ids})
    return {"batch": batch_id, "state": state, "commands": ids}


def claim_due(engine, now, limit=500):
    """Queued commands this worker will publish: (id, pan, payload) of each, claimed."""
    from host.vending.db import begin_write
    with engine.connect() as conn:
        due = conn.execute(select(K.c.id, K.c.pan, K.c.payload).where(
            and_(K.c.state == "queued", K.c.expires_at > now)).order_by(K.c.id).limit(limit)).all()
    if not due:
        return []
    claimed = []
    with begin_write(engine) as conn:
        for cid, pan, payload in due:
            done = conn.execute(update(K).where(and_(K.c.id == cid, K.c.state == "queued"))
                                .values(state="sent", sent_at=now))
            if done.rowcount == 1:
                claimed.append((cid, pan, payload.encode("ascii")))
    return claimed


def result_taker(custody):
    """``on_result`` for store.store: verify a meter's signed result and record it."""
    def take(conn, pan, payload, received_at):
        try:
            body = wire.verify(custody.command_key(pan), wire.RESULT_DOMAIN, payload)
        except (wire.WireError, VendError) as exc:
            log.warning("result from %s refused: %s", pan, exc)
            return None
        if body.get("pan") != pan or type(body.get("ctr")) is not int or not isinstance(body.get("code"), str):
            log.warning("result from %s names another meter or lacks its counter", pan)
            return None
        code = body["code"][:24]
        if code in ("forged", "wrong-meter"):       # never an answer to a command we signed
            log.warning("meter %s refused a command it could not verify (ctr %s): %s", pan, body["ctr"], code)
            return None
        row = conn.execute(select(K).where(and_(K.c.pan == pan, K.c.ctr == body["ctr"]))).mappings().first()
        if row is None or row["state"] not in ("queued", "sent", "expired"):
            return None                               # a duplicate result, or for no command of ours
        accepted = code in ("ok", "Accept")
        conn.execute(update(K).where(K.c.id == row["id"]).values(
            state="done" if accepted else "refused", result_code=code,
            result_data=json.dumps(body.get("data") or {}, sort_keys=True), result_at=received_at))
        if row["cmd"] == "token":
            _token_outcome(conn, pan, row, code, accepted, received_at)
        return row["id"]
    return take


def _token_outcome(conn, pan, row, code, accepted, now):
    if accepted:
        alarms.clear(conn, pan, "recharge_failure", "a token was accepted over MQTT", now)
    else:
        alarms.raise_alarm(conn, pan, "recharge_failure", {"command": row["id"], "token": row["token_id"],
                                                           "result": code}, now)


def expire(engine, now):
    """Commands with no answer after their expiry (and a grace) become ``expired``; a sale's
    token among them raises recharge failure. How many."""
    from host.vending.db import begin_write
    cutoff = now - datetime.timedelta(seconds=NO_ANSWER_GRACE_S)
    late = and_(K.c.state.in_(("queued", "sent")), K.c.expires_at < cutoff)
    with engine.connect() as conn:               # most seconds there is none: no write lock
        if conn.execute(select(K.c.id).where(late).limit(1)).first() is None:
            return 0
    with begin_write(engine) as conn:
        rows = conn.execute(select(K).where(late)).mappings().all()
        for row in rows:
            conn.execute(update(K).where(K.c.id == row["id"]).values(state="expired"))
            if row["cmd"] == "token":
                _token_outcome(conn, row["pan"], row, "no answer", False, now)
    return len(rows)


def show(engine, command_id):
    with engine.connect() as conn:
        row = conn.execute(select(K).where(K.c.id == command_id)).mappings().first()
    if row is None:
        raise VendError("no command %s" % command_id)
    out = {k: row[k] for k in ("id", "pan", "ctr", "cmd", "state", "reason", "requested_by", "requested_at",
                               "sent_at", "result_code", "result_at", "token_id", "batch_id")}
    out["result_data"] = json.loads(row["result_data"]) if row["result_data"] else None
    return out
