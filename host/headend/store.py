"""Ingest: a batch of messages from the broker into the database in one transaction.

Readings go in with one multi-row INSERT ... ON CONFLICT DO NOTHING (a reading the meter
repeats after a reconnect has the same PAN, time and ``seq``, so it is stored once);
events likewise, once per (PAN, seq). Each meter's row in ``online_meters`` keeps its
presence, last-seen time, highest ``seq`` and its newest reading's figures, which decide
the reading alarms. Meters' rows are locked in PAN order, so workers that share a fleet
never deadlock. A malformed message is counted and dropped, never a crash.
"""
import datetime
import json
import logging

from sqlalchemy import select, update

from host.vending import schema
from host.headend import alarms, values, wire
from host.headend.sqlutil import insert_ignore, insert_rows, member, update_rows

log = logging.getLogger("prepay.headend")
M, R, E = schema.online_meters, schema.readings, schema.meter_events
EPOCH = datetime.datetime(1970, 1, 1)


def utc(seconds):
    return EPOCH + datetime.timedelta(seconds=seconds)


class Batch:
    """Messages parsed and grouped, ready for ``store``."""

    def __init__(self):
        self.readings, self.events, self.status, self.results = [], [], {}, []
        self.seen = {}                  # pan -> last received time
        self.bad = 0

    def add(self, topic, payload, received_at, retained=False):
        try:
            pan, kind = wire.split_topic(topic)
            if kind == "status":
                text = bytes(payload).decode("ascii", "replace")
                if text not in ("online", "offline"):
                    raise wire.WireError("status is not online/offline")
                self.status[pan] = (text, received_at, retained)
            elif kind == "reading":
                r = wire.reading(payload)
                self.readings.append((pan, r, received_at))
            elif kind == "event":
                self.events.append((pan, wire.event(payload), received_at))
            elif kind == "result":
                wire.split_signed(payload)
                self.results.append((pan, bytes(payload), received_at))
            else:
                raise wire.WireError("not a topic the head-end reads")
        except wire.WireError as exc:
            self.bad += 1
            log.warning("dropped a message on %r: %s", topic[:80], exc)
            return
        if not (kind == "status" and retained):
            self.seen[pan] = max(self.seen.get(pan, received_at), received_at)

    def __len__(self):
        return len(self.readings) + len(self.events) + len(self.status) + len(self.results)


def store(conn, batch, now, on_result=None):
    """Write a batch inside the caller's write transaction; ``on_result(conn, pan, payload,
    received_at)`` handles signed command results (commands.take_result). A fixed number
    of statements per batch, whatever its size, except for alarms that change."""
    pans = sorted(set(batch.seen) | set(batch.status) | {p for p, _, _ in batch.readings})
    state = _lock_meters(conn, pans)
    newest, top_seq, rows = {}, {}, []
    for pan, r, received_at in batch.readings:
        figures = values.summary(r["values"])
        t = utc(r["t"])
        rows.append({"pan": pan, "t": t, "seq": r["seq"], "period_s": r["period_s"], "received_at": received_at,
                     "energy_milli": figures["energy_milli"], "credit_milli": figures["credit_milli"],
                     "values": json.dumps(r["values"], sort_keys=True)})
        if pan not in newest or (t, r["seq"]) > newest[pan][:2]:
            newest[pan] = (t, r["seq"], figures)
        top_seq[pan] = max(top_seq.get(pan, -1), r["seq"])
    if rows:
        insert_rows(conn, R, _COLUMNS, rows)
    new_events = []
    for pan, e, received_at in batch.events:
        top_seq[pan] = max(top_seq.get(pan, -1), e["seq"])
        done = conn.execute(insert_ignore(conn, E).values(
            pan=pan, seq=e["seq"], t=utc(e["t"]), code=e["code"], data=json.dumps(e["data"], sort_keys=True),
            received_at=received_at).returning(E.c.seq)).scalar()
        if done is not None:
            new_events.append((pan, e))
    open_alarms = _open_alarms(conn, pans)
    changed = []
    for pan in pans:
        old = state[pan]
        new = dict(old)
        if pan in top_seq and (old["last_seq"] is None or top_seq[pan] > old["last_seq"]):
            new["last_seq"] = top_seq[pan]
        if pan in batch.seen and (old["last_seen"] is None or batch.seen[pan] > old["last_seen"]):
            new["last_seen"] = batch.seen[pan]
        if pan in batch.status:
            text, at, retained = batch.status[pan]
            if not (retained and old["status_at"] is not None):   # a retained copy is old news
                new.update(status=text, status_at=at)
        elif pan in batch.seen and old["status"] != "online":
            new.update(status="online", status_at=batch.seen[pan])
        if pan in newest and (old["reading_at"] is None or newest[pan][0] >= old["reading_at"]):
            t, _, figures = newest[pan]
            new.update(reading_at=t, credit_milli=figures["credit_milli"],
                       supply_state=figures["supply_state"], supply_reason=figures["supply_reason"],
                       alarm_bits=figures["alarm_bits"])
            if figures["last_purchase_milli"] is not None:
                new["last_purchase_milli"] = figures["last_purchase_milli"]
            alarms.apply_reading(conn, pan, new, open_alarms.get(pan, ()), now)
        if "comm_loss" in open_alarms.get(pan, ()) and (new["status"] == "online" or pan in batch.seen):
            alarms.clear(conn, pan, "comm_loss", "the meter is heard again", now)
        if new != old:
            changed.append(new)
    if changed:
        update_rows(conn, M, "pan", _STATE, changed)
    for pan, e in new_events:
        kind = alarms.from_event(e["code"])
        if kind:
            alarms.raise_alarm(conn, pan, kind, {"event": e["code"], "seq": e["seq"], "data": e["data"]}, now)
    if on_result:
        for pan, payload, received_at in batch.results:
            on_result(conn, pan, payload, received_at)
    return {"readings": len(rows), "events": len(new_events), "bad": batch.bad}


_COLUMNS = ("pan", "t", "seq", "period_s", "received_at", "energy_milli", "credit_milli", "values")


_STATE = ("status", "status_at", "last_seen", "last_seq", "reading_at", "credit_milli", "supply_state",
          "supply_reason", "alarm_bits", "last_purchase_milli")


def _lock_meters(conn, pans):
    """Each meter's row (made if new), locked on PostgreSQL in PAN order."""
    if not pans:
        return {}

    def read(which):
        query = select(*[M.c[c] for c in ("pan",) + _STATE]).where(member(conn, M.c.pan, which)).order_by(M.c.pan)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return {r["pan"]: dict(r) for r in conn.execute(query).mappings()}
    found = read(pans)
    missing = [p for p in pans if p not in found]
    if missing:
        insert_rows(conn, M, ("pan", "status", "command_ctr"),
                    [{"pan": p, "status": "unknown", "command_ctr": 0} for p in missing])
        found.update(read(missing))
    return found


def _open_alarms(conn, pans):
    found = {}
    if pans:
        A = schema.alarms
        for pan, kind in conn.execute(select(A.c.pan, A.c.kind).where(member(conn, A.c.pan, pans))
                                      .where(A.c.open_key.isnot(None))):
            found.setdefault(pan, set()).add(kind)
    return found


def mark_silent(conn, silence_s, now):
    """Raise communication loss for every meter not heard for ``silence_s``; how many."""
    cutoff = now - datetime.timedelta(seconds=silence_s)
    quiet = conn.execute(select(M.c.pan, M.c.last_seen, M.c.status).where(M.c.last_seen < cutoff)).all()
    raised = 0
    for pan, last_seen, status in quiet:
        if alarms.raise_alarm(conn, pan, "comm_loss", {"last_seen": last_seen.isoformat() + "Z",
                                                       "silence_s": silence_s, "status": status}, now):
            raised += 1
    if quiet:
        conn.execute(update(M).where(M.c.last_seen < cutoff).where(M.c.status == "online")
                     .values(status="offline", status_at=now))
    return raised


def ensure_partitions(engine, now, months_back=1, months_ahead=2):
    """PostgreSQL: monthly partitions of ``readings`` around now (rows outside them go to
    the default partition); nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return []
    made = []
    year, month = now.year, now.month
    for k in range(-months_back, months_ahead + 1):
        start = _month(year * 12 + month - 1 + k)
        end = _month(year * 12 + month + k)
        name = "readings_parts.readings_y%04dm%02d" % (start.year, start.month)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "CREATE TABLE IF NOT EXISTS %s PARTITION OF readings FOR VALUES FROM ('%s') TO ('%s')"
                    % (name, start.isoformat(), end.isoformat()))
            made.append(name)
        except Exception as exc:     # rows of that month already in the default partition, or a race
            log.warning("partition %s not made: %s", name, exc.__class__.__name__)
    return made


def _month(index):
    """The first day of month number ``index`` (year * 12 + month - 1)."""
    y, m = divmod(index, 12)
    return datetime.date(y, m + 1, 1)
