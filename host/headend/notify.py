"""Notifications: an outbox written in the alarm's own transaction, and pluggable channels
that send it (e-mail over SMTP, a webhook for SMS and chat gateways, a file, the console).

Who hears of what: ``notification_contacts`` rows, each a channel and an address, for one
customer (alarms of that customer's meters) or for staff (no customer: every meter), the
kinds wanted (``*`` or a comma list) and reminder days (seed 000's warnings repeated every
N days while the alarm is open and nobody has acknowledged it; 0: none). An alarm nobody
has asked for goes to the ``log`` channel (the file or console ``serve`` was given), so no
alarm is raised unseen.

A notification that fails stays pending and is tried again with a growing delay (30 s
doubling to an hour); it is never dropped. Several workers share one outbox: each claims
a row (moving its ``next_at``) before sending it.
"""
import datetime
import json
import smtplib
import sys
from email.message import EmailMessage

from sqlalchemy import and_, func, or_, select, update

from host.vending import schema

C, N, A = schema.notification_contacts, schema.notifications, schema.alarms
CHANNELS = ("email", "webhook", "file", "console", "log")
RETRY_S, RETRY_MAX_S, CLAIM_S = 30, 3600, 300


def _wants(kinds, kind):
    return kinds.strip() == "*" or kind in [k.strip() for k in kinds.split(",")]


def contacts_for(conn, pan, kind):
    customer = conn.execute(select(schema.meters.c.customer_id).where(schema.meters.c.pan == pan)).scalar()
    rows = conn.execute(select(C).where(and_(C.c.active == 1, or_(C.c.customer_id.is_(None),
                                                                  C.c.customer_id == customer)))).mappings()
    return [r for r in rows if _wants(r["kinds"], kind)]


def queue(conn, alarm_id, pan, kind, what, now):
    """Outbox rows for everyone who wants this alarm (the log channel when nobody does)."""
    rows = [{"alarm_id": alarm_id, "contact_id": c["id"], "channel": c["channel"], "address": c["address"],
             "what": what, "state": "pending", "attempts": 0, "next_at": now} for c in contacts_for(conn, pan, kind)]
    if not rows:
        rows = [{"alarm_id": alarm_id, "contact_id": None, "channel": "log", "address": "-", "what": what,
                 "state": "pending", "attempts": 0, "next_at": now}]
    conn.execute(N.insert(), rows)


def queue_reminders(conn, now):
    """A reminder for each open, unacknowledged alarm whose contact's reminder days passed."""
    count = 0
    open_alarms = conn.execute(select(A).where(A.c.state.in_(("raised", "notified")))).mappings().all()
    for alarm in open_alarms:
        since = alarm["reminded_at"] or alarm["raised_at"]
        due = [c for c in contacts_for(conn, alarm["pan"], alarm["kind"])
               if c["reminder_days"] > 0 and now - since >= datetime.timedelta(days=c["reminder_days"])]
        if not due:
            continue
        claimed = conn.execute(update(A).where(and_(A.c.id == alarm["id"], or_(
            A.c.reminded_at.is_(None), A.c.reminded_at == alarm["reminded_at"]))).values(reminded_at=now))
        if claimed.rowcount != 1:
            continue
        conn.execute(N.insert(), [{"alarm_id": alarm["id"], "contact_id": c["id"], "channel": c["channel"],
                                   "address": c["address"], "what": "reminder", "state": "pending",
                                   "attempts": 0, "next_at": now} for c in due])
        count += len(due)
    return count


def message(alarm, what):
    """The text every channel sends: the same facts, no secret."""
    detail = json.loads(alarm["detail"])
    title = {"raised": "Alarm", "reminder": "Reminder", "cleared": "Cleared"}[what]
    subject = "%s: %s on meter %s" % (title, alarm["kind"].replace("_", " "), alarm["pan"])
    lines = [subject, "raised at %sZ" % alarm["raised_at"].isoformat(timespec="seconds")]
    if alarm["cleared_at"]:
        lines.append("cleared at %sZ: %s" % (alarm["cleared_at"].isoformat(timespec="seconds"), alarm["cleared_why"]))
    if detail:
        lines.append("detail: " + json.dumps(detail, sort_keys=True))
    lines.append("alarm #%d" % alarm["id"])
    return {"subject": subject, "text": "\n".join(lines) + "\n",
            "json": {"alarm": alarm["id"], "meter": alarm["pan"], "kind": alarm["kind"], "what": what,
                     "state": alarm["state"], "raised_at": alarm["raised_at"].isoformat() + "Z", "detail": detail}}


class Email:
    def __init__(self, host, port, sender, starttls=False, user=None, password=None, timeout_s=30):
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.user, self.password, self.timeout_s = starttls, user, password, timeout_s

    def send(self, address, msg):
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, address, msg["subject"]
        email.set_content(msg["text"])
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(email)


class Webhook:
    def __init__(self, timeout_s=30):
        self.timeout_s = timeout_s

    def send(self, address, msg):
        import httpx
        response = httpx.post(address, json=msg["json"], timeout=self.timeout_s)
        if response.status_code >= 300:
            raise OSError("webhook answered HTTP %d" % response.status_code)


class File:
    """One JSON line per notification, appended to the file the contact names."""

    def send(self, address, msg):
        with open(address, "a", encoding="utf-8") as f:
            f.write(json.dumps(msg["json"], sort_keys=True) + "\n")


class Console:
    def __init__(self, stream=None):
        self.stream = stream

    def send(self, address, msg):
        stream = self.stream or sys.stdout
        stream.write(msg["subject"] + "\n")
        stream.flush()


def channels(smtp=None, log_file=None):
    """The channel table ``serve`` uses; ``smtp``: an ``Email``; ``log_file``: the log channel's file."""
    table = {"webhook": Webhook(), "file": File(), "console": Console()}
    if smtp:
        table["email"] = smtp
    table["log"] = _Log(log_file)
    return table


class _Log:
    def __init__(self, path):
        self.path = path

    def send(self, address, msg):
        if self.path:
            File().send(self.path, msg)
        else:
            Console().send(address, msg)


def dispatch(engine, table, now, limit=100):
    """Send what is due; returns (sent, failed). Each row is claimed in its own short
    transaction, sent outside it, then marked."""
    from host.vending.db import begin_write
    sent = failed = 0
    with engine.connect() as conn:
        due = conn.execute(select(N.c.id).where(and_(N.c.state == "pending", N.c.next_at <= now))
                           .order_by(N.c.next_at).limit(limit)).scalars().all()
    for nid in due:
        with begin_write(engine) as conn:
            claimed = conn.execute(update(N).where(and_(N.c.id == nid, N.c.state == "pending", N.c.next_at <= now))
                                   .values(next_at=now + datetime.timedelta(seconds=CLAIM_S),
                                           attempts=N.c.attempts + 1))
            if claimed.rowcount != 1:
                continue
            row = conn.execute(select(N).where(N.c.id == nid)).mappings().first()
            alarm = conn.execute(select(A).where(A.c.id == row["alarm_id"])).mappings().first()
        channel = table.get(row["channel"])
        error = None
        try:
            if channel is None:
                raise OSError("channel %s is not configured" % row["channel"])
            channel.send(row["address"], message(alarm, row["what"]))
        except Exception as exc:         # any failure of a channel: retried later, never dropped
            error = ("%s: %s" % (exc.__class__.__name__, exc))[:200]
        with begin_write(engine) as conn:
            if error is None:
                conn.execute(update(N).where(N.c.id == nid).values(state="sent", sent_at=now, last_error=None))
                sent += 1
                _mark_notified(conn, row["alarm_id"], now)
            else:
                delay = min(RETRY_S * 2 ** (row["attempts"] - 1), RETRY_MAX_S)
                conn.execute(update(N).where(N.c.id == nid).values(
                    next_at=now + datetime.timedelta(seconds=delay), last_error=error))
                failed += 1
    return sent, failed


def _mark_notified(conn, alarm_id, now):
    pending = conn.execute(select(func.count()).select_from(N).where(
        and_(N.c.alarm_id == alarm_id, N.c.state == "pending", N.c.what == "raised"))).scalar()
    if not pending:
        conn.execute(update(A).where(and_(A.c.id == alarm_id, A.c.state == "raised"))
                     .values(state="notified", notified_at=now))


def add_contact(conn, customer_id, channel, address, kinds="*", reminder_days=0):
    if channel not in CHANNELS[:4]:
        raise ValueError("channel must be one of %s" % ", ".join(CHANNELS[:4]))
    return conn.execute(C.insert().values(customer_id=customer_id, channel=channel, address=address,
                                          kinds=kinds, reminder_days=reminder_days, active=1)).inserted_primary_key[0]
